// Package redis keeps the chat core's state in Redis, so that several
// servers sharing one Redis serve every user as one: a chat.Store (logs as
// Redis Streams, records as strings) and a chat.Broker (pub/sub).
package redis

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

	goredis "github.com/redis/go-redis/v9"

	"github.com/spartan-messenger/spartan/internal/chat"
	"github.com/spartan-messenger/spartan/internal/eventcodec"
)

// maxAttempts bounds how often an Update runs again after another writer
// changed what it read.
const maxAttempts = 1000

// ErrContended is what Update returns when other writers kept changing what
// it read for maxAttempts attempts.
var ErrContended = errors.New("too much contention: the transaction was retried too often")

// Store is a chat.Store in Redis. A log is a Stream whose entry IDs are
// "seq-0", with its head in a string of its own (so that a log trimmed to
// nothing keeps counting); a record is a string. An Update reads under
// WATCH, buffers its writes and commits them in one MULTI/EXEC; when a
// watched key changed meanwhile, it runs fn again (chat.Store allows that).
// Every key starts with the store's prefix.
type Store struct {
	c      goredis.UniversalClient
	prefix string

	commits, retries atomic.Uint64
}

// New returns a store on client whose keys start with prefix (say "spartan:").
func New(client goredis.UniversalClient, prefix string) *Store {
	return &Store{c: client, prefix: prefix}
}

// Stats are a store's counters: commits, and the runs of fn repeated
// because another writer got there first.
type Stats struct{ Commits, Retries uint64 }

// Stats returns the store's counters.
func (s *Store) Stats() Stats { return Stats{Commits: s.commits.Load(), Retries: s.retries.Load()} }

func (s *Store) recordKey(key string) string { return s.prefix + "kv:" + key }
func (s *Store) logKey(log string) string    { return s.prefix + "log:" + log }
func (s *Store) headKey(log string) string   { return s.prefix + "head:" + log }

// Update runs fn and commits what it wrote, all or nothing.
func (s *Store) Update(ctx context.Context, fn func(tx chat.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	for range maxAttempts {
		err := s.c.Watch(ctx, func(rtx *goredis.Tx) error {
			t := &tx{s: s, ctx: ctx, r: rtx, watch: rtx, writable: true}
			if err := fn(t); err != nil {
				return err
			}
			if t.w.empty() {
				return nil
			}
			_, err := rtx.TxPipelined(ctx, func(p goredis.Pipeliner) error {
				t.apply(p)
				return nil
			})
			return err
		})
		if errors.Is(err, goredis.TxFailedErr) {
			s.retries.Add(1)
			continue
		}
		if err == nil {
			s.commits.Add(1)
		}
		return err
	}
	return ErrContended
}

// View runs fn with reads straight from Redis.
func (s *Store) View(ctx context.Context, fn func(tx chat.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return fn(&tx{s: s, ctx: ctx, r: s.c})
}

// reader is what a transaction reads through: the WATCHing connection of
// an Update, the client in a View.
type reader interface {
	Get(ctx context.Context, key string) *goredis.StringCmd
	MGet(ctx context.Context, keys ...string) *goredis.SliceCmd
	XRangeN(ctx context.Context, stream, start, stop string, count int64) *goredis.XMessageSliceCmd
	XRevRangeN(ctx context.Context, stream, start, stop string, count int64) *goredis.XMessageSliceCmd
}

// tx is a chat.Tx on Redis. In an Update it watches every key it reads and
// keeps its writes in w until the commit.
type tx struct {
	s        *Store
	ctx      context.Context
	r        reader
	watch    *goredis.Tx // nil in a View
	writable bool
	w        writes
	heads    map[string]uint64 // stored heads read so far
}

// writes are an Update's buffered writes.
type writes struct {
	puts    map[string][]byte
	deleted map[string]bool
	appends map[string][]chat.Event // per log, in order, with their seqs
	trims   map[string]uint64
}

func (w *writes) empty() bool {
	return len(w.puts) == 0 && len(w.deleted) == 0 && len(w.appends) == 0 && len(w.trims) == 0
}

// get reads the string under key; in an Update it watches key first, in
// the same round trip (WATCH and GET pipelined on the transaction's
// connection).
func (t *tx) get(key string) *goredis.StringCmd {
	if t.watch == nil {
		return t.r.Get(t.ctx, key)
	}
	p := t.watch.Pipeline()
	watch := p.Do(t.ctx, "watch", key)
	get := p.Get(t.ctx, key)
	_, _ = p.Exec(t.ctx) // each command keeps its own error
	if err := watch.Err(); err != nil {
		failed := goredis.NewStringCmd(t.ctx)
		failed.SetErr(fmt.Errorf("watch %s: %w", key, err))
		return failed
	}
	return get
}

func (t *tx) Get(key string) ([]byte, error) {
	if v, ok := t.w.puts[key]; ok {
		return slices.Clone(v), nil
	}
	if t.w.deleted[key] {
		return nil, chat.ErrNoKey
	}
	v, err := t.get(t.s.recordKey(key)).Bytes()
	if errors.Is(err, goredis.Nil) {
		return nil, chat.ErrNoKey
	}
	if err != nil {
		return nil, fmt.Errorf("get %q: %w", key, err)
	}
	return v, nil
}

func (t *tx) Put(key string, value []byte) error {
	if !t.writable {
		return chat.ErrReadOnly
	}
	if t.w.puts == nil {
		t.w.puts = map[string][]byte{}
	}
	t.w.puts[key] = slices.Clone(value)
	if t.w.puts[key] == nil {
		t.w.puts[key] = []byte{}
	}
	delete(t.w.deleted, key)
	return nil
}

func (t *tx) Delete(key string) error {
	if !t.writable {
		return chat.ErrReadOnly
	}
	if t.w.deleted == nil {
		t.w.deleted = map[string]bool{}
	}
	delete(t.w.puts, key)
	t.w.deleted[key] = true
	return nil
}

// storedHead is the head of log as Redis has it, watched in an Update.
func (t *tx) storedHead(log string) (uint64, error) {
	if h, ok := t.heads[log]; ok {
		return h, nil
	}
	v, err := t.get(t.s.headKey(log)).Uint64()
	if errors.Is(err, goredis.Nil) {
		v, err = 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("head of %q: %w", log, err)
	}
	if t.heads == nil {
		t.heads = map[string]uint64{}
	}
	t.heads[log] = v
	return v, nil
}

// PrefetchHeads reads the heads of logs not read yet, watching them in an
// Update, in one round trip.
func (t *tx) PrefetchHeads(logs []string) error {
	var want []string
	for _, log := range logs {
		if _, ok := t.heads[log]; !ok && !slices.Contains(want, log) {
			want = append(want, log)
		}
	}
	if len(want) == 0 {
		return nil
	}
	keys := make([]string, len(want))
	for i, log := range want {
		keys[i] = t.s.headKey(log)
	}
	var (
		watch *goredis.StatusCmd
		get   *goredis.SliceCmd
	)
	if t.watch == nil {
		get = t.r.MGet(t.ctx, keys...)
	} else {
		p := t.watch.Pipeline()
		watch = goredis.NewStatusCmd(t.ctx, append([]any{"watch"}, anys(keys)...)...)
		_ = p.Process(t.ctx, watch)
		get = p.MGet(t.ctx, keys...)
		_, _ = p.Exec(t.ctx) // each command keeps its own error
		if err := watch.Err(); err != nil {
			return fmt.Errorf("watch the heads of %d logs: %w", len(keys), err)
		}
	}
	values, err := get.Result()
	if err != nil {
		return fmt.Errorf("heads of %d logs: %w", len(keys), err)
	}
	if t.heads == nil {
		t.heads = make(map[string]uint64, len(want))
	}
	for i, v := range values {
		var head uint64
		if v != nil {
			s, _ := v.(string)
			if head, err = strconv.ParseUint(s, 10, 64); err != nil {
				return fmt.Errorf("head of %q: %q is not a number", want[i], s)
			}
		}
		t.heads[want[i]] = head
	}
	return nil
}

// anys is keys as command arguments.
func anys(keys []string) []any {
	out := make([]any, len(keys))
	for i, k := range keys {
		out[i] = k
	}
	return out
}

func (t *tx) Head(log string) (uint64, error) {
	h, err := t.storedHead(log)
	if err != nil {
		return 0, err
	}
	return h + uint64(len(t.w.appends[log])), nil
}

func (t *tx) Append(log string, ev chat.Event) (uint64, error) {
	if !t.writable {
		return 0, chat.ErrReadOnly
	}
	head, err := t.Head(log)
	if err != nil {
		return 0, err
	}
	ev.Seq = head + 1
	ev.Payload = slices.Clone(ev.Payload)
	if t.w.appends == nil {
		t.w.appends = map[string][]chat.Event{}
	}
	t.w.appends[log] = append(t.w.appends[log], ev)
	return ev.Seq, nil
}

func (t *tx) Trim(log string, before uint64) error {
	if !t.writable {
		return chat.ErrReadOnly
	}
	if t.w.trims == nil {
		t.w.trims = map[string]uint64{}
	}
	t.w.trims[log] = max(t.w.trims[log], before)
	return nil
}

// apply queues the buffered writes in the commit's MULTI.
func (t *tx) apply(p goredis.Pipeliner) {
	for k := range t.w.deleted {
		p.Del(t.ctx, t.s.recordKey(k))
	}
	for k, v := range t.w.puts {
		p.Set(t.ctx, t.s.recordKey(k), v, 0)
	}
	for log, evs := range t.w.appends {
		for i := range evs {
			p.XAdd(t.ctx, &goredis.XAddArgs{
				Stream: t.s.logKey(log),
				ID:     strconv.FormatUint(evs[i].Seq, 10) + "-0",
				Values: []any{"e", eventcodec.Encode(make([]byte, 0, eventcodec.Size(&evs[i])), &evs[i])},
			})
		}
		p.Set(t.ctx, t.s.headKey(log), evs[len(evs)-1].Seq, 0)
	}
	for log, before := range t.w.trims {
		p.XTrimMinID(t.ctx, t.s.logKey(log), strconv.FormatUint(before, 10))
	}
}

// first is the first sequence number this transaction may read of log.
func (t *tx) first(log string) uint64 { return max(t.w.trims[log], 1) }

func (t *tx) Read(log string, after uint64, limit, maxBytes int) ([]chat.Event, error) {
	head, err := t.Head(log)
	if err != nil {
		return nil, err
	}
	if after >= head || limit <= 0 {
		return nil, nil
	}
	from := max(after+1, t.first(log))
	stored, err := t.stored(log)
	if err != nil {
		return nil, err
	}
	var out []chat.Event
	budget := chat.NewBudget(maxBytes)
	if from <= stored {
		msgs, err := t.r.XRangeN(t.ctx, t.s.logKey(log), strconv.FormatUint(from, 10), strconv.FormatUint(stored, 10), int64(limit)).Result()
		if err != nil {
			return nil, fmt.Errorf("read %q after %d: %w", log, after, err)
		}
		for _, m := range msgs {
			ev, err := decode(m)
			if err != nil {
				return nil, fmt.Errorf("read %q: %w", log, err)
			}
			if !budget.Take(&ev) {
				return out, nil
			}
			out = append(out, ev)
		}
	}
	for _, ev := range t.w.appends[log] {
		if len(out) >= limit {
			break
		}
		if ev.Seq < from {
			continue
		}
		if !budget.Take(&ev) {
			break
		}
		out = append(out, ev)
	}
	return out, nil
}

func (t *tx) ReadBefore(log string, before uint64, limit, maxBytes int) ([]chat.Event, error) {
	head, err := t.Head(log)
	if err != nil {
		return nil, err
	}
	if before == 0 || before > head+1 {
		before = head + 1
	}
	first := t.first(log)
	if before <= first || limit <= 0 {
		return nil, nil
	}
	var out []chat.Event // newest first
	budget := chat.NewBudget(maxBytes)
	pending := t.w.appends[log]
	for i := len(pending) - 1; i >= 0 && len(out) < limit; i-- {
		ev := pending[i]
		if ev.Seq >= before {
			continue
		}
		if !budget.Take(&ev) {
			slices.Reverse(out)
			return out, nil
		}
		out = append(out, ev)
	}
	stored, err := t.stored(log)
	if err != nil {
		return nil, err
	}
	if top := min(before-1, stored); len(out) < limit && top >= first {
		msgs, err := t.r.XRevRangeN(t.ctx, t.s.logKey(log), strconv.FormatUint(top, 10), strconv.FormatUint(first, 10), int64(limit-len(out))).Result()
		if err != nil {
			return nil, fmt.Errorf("read %q before %d: %w", log, before, err)
		}
		for _, m := range msgs {
			ev, err := decode(m)
			if err != nil {
				return nil, fmt.Errorf("read %q: %w", log, err)
			}
			if !budget.Take(&ev) {
				break
			}
			out = append(out, ev)
		}
	}
	slices.Reverse(out)
	return out, nil
}

// stored is the head of log before this transaction's appends.
func (t *tx) stored(log string) (uint64, error) { return t.storedHead(log) }

// decode turns a stream entry back into its event.
func decode(m goredis.XMessage) (chat.Event, error) {
	idSeq, _, _ := strings.Cut(m.ID, "-")
	seq, err := strconv.ParseUint(idSeq, 10, 64)
	if err != nil {
		return chat.Event{}, fmt.Errorf("entry id %q: %w", m.ID, err)
	}
	raw, ok := m.Values["e"].(string)
	if !ok {
		return chat.Event{}, fmt.Errorf("entry %s has no event", m.ID)
	}
	ev, err := eventcodec.Decode([]byte(raw), seq)
	if err != nil {
		return chat.Event{}, fmt.Errorf("entry %s: %w", m.ID, err)
	}
	return ev, nil
}
