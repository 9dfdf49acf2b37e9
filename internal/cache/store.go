package cache

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/golang-lru/v2/simplelru"

	"github.com/spartan-messenger/spartan/internal/chat"
)

// Options bound a Store. Every field must be positive.
type Options struct {
	// MessagesPerLog is how many of the newest events of one log are kept.
	MessagesPerLog int
	// MaxEntries bounds the number of events kept, over all logs.
	MaxEntries int
	// MaxBytes bounds the events' total size (chat.Event.Size), over all logs.
	MaxBytes int64
}

// Store is a chat.Store that caches the newest events of each log in front
// of another chat.Store, least recently used logs evicted first. It is safe
// for concurrent use.
type Store struct {
	next chat.Store
	opts Options

	mu      sync.Mutex
	lru     *simplelru.LRU[string, *tail]
	entries int
	bytes   int64

	hits, misses, evictions atomic.Uint64
}

var _ chat.Store = (*Store)(nil)

// New returns a Store in front of next.
func New(next chat.Store, opts Options) (*Store, error) {
	if opts.MessagesPerLog < 1 || opts.MaxEntries < 1 || opts.MaxBytes < 1 {
		return nil, fmt.Errorf("cache bounds must be positive: %d messages per log, %d entries, %d bytes", opts.MessagesPerLog, opts.MaxEntries, opts.MaxBytes)
	}
	s := &Store{next: next, opts: opts}
	// A cached tail holds at least one event, so there are never more tails
	// than MaxEntries: the LRU's own bound never bites before ours.
	lru, err := simplelru.NewLRU(opts.MaxEntries, func(_ string, t *tail) {
		s.entries -= t.events.Len()
		s.bytes -= t.bytes
	})
	if err != nil {
		return nil, fmt.Errorf("new LRU of %d entries: %w", opts.MaxEntries, err)
	}
	s.lru = lru
	return s, nil
}

// Update runs fn in the wrapped store's Update and, once that has committed,
// adds the events fn appended to the cached tails.
func (s *Store) Update(ctx context.Context, fn func(tx chat.Tx) error) error {
	rec := recorders.Get().(*recorder)
	defer rec.release()
	err := s.next.Update(ctx, func(tx chat.Tx) error {
		// The wrapped store may run fn more than once: only the last run,
		// the one committed, counts.
		rec.reset(tx)
		return fn(rec)
	})
	if err != nil {
		return err
	}
	if len(rec.appended) > 0 || len(rec.trims) > 0 {
		s.mu.Lock()
		for _, a := range rec.appended {
			s.addLocked(a.log, a.ev)
		}
		for log, before := range rec.trims {
			s.trimLocked(log, before)
		}
		s.mu.Unlock()
	}
	return nil
}

// trimLocked drops the cached events of log before sequence number before,
// as the wrapped store did.
func (s *Store) trimLocked(log string, before uint64) {
	t, ok := s.lru.Peek(log)
	if !ok || t.first() >= before {
		return
	}
	if t.last() < before {
		s.lru.Remove(log) // the eviction callback keeps the counts
		return
	}
	n := int(before - t.first())
	s.entries -= n
	s.bytes -= t.dropFront(n)
}

// View runs fn in the wrapped store's View; its Read and ReadBefore are
// answered from the cache when it can.
func (s *Store) View(ctx context.Context, fn func(tx chat.Tx) error) error {
	return s.next.View(ctx, func(tx chat.Tx) error {
		return fn(&viewTx{Tx: tx, s: s})
	})
}

// recorder passes an Update's calls through and remembers what it appended
// and trimmed.
type recorder struct {
	chat.Tx
	appended []appended
	trims    map[string]uint64
}

// recorders are reused from Update to Update: a busy server's batches
// would otherwise grow a new list of appended events each time.
var recorders = sync.Pool{New: func() any { return new(recorder) }}

// reset makes r a recorder of tx with nothing recorded.
func (r *recorder) reset(tx chat.Tx) {
	clear(r.appended) // no payload outlives its Update here
	r.appended = r.appended[:0]
	clear(r.trims)
	r.Tx = tx
}

// release gives r back for another Update, unless it grew too large to keep.
func (r *recorder) release() {
	r.reset(nil)
	if cap(r.appended) <= 1024 {
		recorders.Put(r)
	}
}

// Trim trims the wrapped store's log and remembers it for the cached tail.
func (r *recorder) Trim(log string, before uint64) error {
	if err := r.Tx.Trim(log, before); err != nil {
		return err
	}
	if r.trims == nil {
		r.trims = map[string]uint64{}
	}
	r.trims[log] = max(r.trims[log], before)
	return nil
}

type appended struct {
	log string
	ev  chat.Event
}

// Append appends ev and remembers it under the sequence number it got.
func (r *recorder) Append(log string, ev chat.Event) (uint64, error) {
	seq, err := r.Tx.Append(log, ev)
	if err != nil {
		return 0, err
	}
	ev.Seq = seq
	ev.Payload = append([]byte(nil), ev.Payload...)
	r.appended = append(r.appended, appended{log: log, ev: ev})
	return seq, nil
}

// viewTx answers reads from the cache when it holds the range and is current.
type viewTx struct {
	chat.Tx
	s *Store
}

// Put fails: a View is read-only, whatever the wrapped store's tx does.
func (v *viewTx) Put(string, []byte) error { return chat.ErrReadOnly }

// Trim fails: a View is read-only.
func (v *viewTx) Trim(string, uint64) error { return chat.ErrReadOnly }

// Delete fails: a View is read-only.
func (v *viewTx) Delete(string) error { return chat.ErrReadOnly }

// Append fails: a View is read-only.
func (v *viewTx) Append(string, chat.Event) (uint64, error) { return 0, chat.ErrReadOnly }

// Read returns up to limit events (and maxBytes of them) after after, from
// the cache when its tail of the log starts at or before after+1 and ends at
// the store's head.
func (v *viewTx) Read(log string, after uint64, limit, maxBytes int) ([]chat.Event, error) {
	if limit <= 0 {
		return v.Tx.Read(log, after, limit, maxBytes)
	}
	head, err := v.Head(log)
	if err != nil {
		return nil, err
	}
	if after >= head {
		return nil, nil
	}
	last := head
	if head-after > uint64(limit) {
		last = after + uint64(limit)
	}
	if evs, ok := v.s.lookup(log, head, after+1, last); ok {
		budget := chat.NewBudget(maxBytes)
		for i := range evs {
			if !budget.Take(&evs[i]) {
				return evs[:i:i], nil
			}
		}
		return evs, nil
	}
	evs, err := v.Tx.Read(log, after, limit, maxBytes)
	if err != nil {
		return nil, err
	}
	if n := len(evs); n > 0 && evs[n-1].Seq == head {
		v.s.fill(log, evs)
	}
	return evs, nil
}

// ReadBefore returns up to limit events (and maxBytes of them) before before
// (0: the newest), from the cache when it holds them and ends at the store's
// head.
func (v *viewTx) ReadBefore(log string, before uint64, limit, maxBytes int) ([]chat.Event, error) {
	if limit <= 0 {
		return v.Tx.ReadBefore(log, before, limit, maxBytes)
	}
	head, err := v.Head(log)
	if err != nil {
		return nil, err
	}
	end := before // one past the last event returned
	if end == 0 || end > head+1 {
		end = head + 1
	}
	if end <= 1 {
		return nil, nil
	}
	first := uint64(1)
	if end > uint64(limit) {
		first = end - uint64(limit)
	}
	if evs, ok := v.s.lookup(log, head, first, end-1); ok {
		budget := chat.NewBudget(maxBytes)
		for i := len(evs) - 1; i >= 0; i-- {
			if !budget.Take(&evs[i]) {
				return evs[i+1:], nil
			}
		}
		return evs, nil
	}
	evs, err := v.Tx.ReadBefore(log, before, limit, maxBytes)
	if err != nil {
		return nil, err
	}
	if n := len(evs); n > 0 && evs[n-1].Seq == head {
		v.s.fill(log, evs)
	}
	return evs, nil
}

// lookup returns copies of the log's events first..last if the cached tail
// holds them and ends at head, and counts a hit or a miss.
func (s *Store) lookup(log string, head, first, last uint64) ([]chat.Event, bool) {
	s.mu.Lock()
	t, ok := s.lru.Get(log)
	if !ok || t.last() != head || t.first() > first {
		s.mu.Unlock()
		s.misses.Add(1)
		return nil, false
	}
	evs := t.slice(first, last)
	s.mu.Unlock()
	s.hits.Add(1)
	return evs, true
}

// fill caches evs, the newest events of the log as the store had them, unless
// the cache already holds a tail at least as new and as long.
func (s *Store) fill(log string, evs []chat.Event) {
	if len(evs) > s.opts.MessagesPerLog {
		evs = evs[len(evs)-s.opts.MessagesPerLog:]
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.lru.Peek(log); ok {
		if t.last() > evs[len(evs)-1].Seq || (t.last() == evs[len(evs)-1].Seq && t.first() <= evs[0].Seq) {
			s.lru.Get(log) // a use all the same
			return
		}
		s.lru.Remove(log)
	}
	t := newTail(evs)
	s.lru.Add(log, t)
	s.entries += t.events.Len()
	s.bytes += t.bytes
	s.enforceLocked()
}

// addLocked adds a just-committed event to the log's tail: at its end if it
// follows it (with the events held ahead that then follow), held ahead if
// it leaves a short gap (commits of one log can finish out of order: the
// event of the gap is on its way), as a new tail if the gap is long, not at
// all if the tail holds it already.
func (s *Store) addLocked(log string, ev chat.Event) {
	t, ok := s.lru.Get(log)
	switch {
	case ok && ev.Seq <= t.last():
		return
	case ok && ev.Seq == t.last()+1:
		for ; ok; ev, ok = t.takeAhead(t.last() + 1) {
			t.push(ev)
			s.entries++
			s.bytes += int64(ev.Size())
		}
		if over := t.events.Len() - s.opts.MessagesPerLog; over > 0 {
			s.entries -= over
			s.bytes -= t.dropFront(over)
		}
	case ok && ev.Seq-t.last() <= uint64(s.opts.MessagesPerLog):
		t.holdAhead(ev)
	default:
		if ok {
			s.lru.Remove(log)
		}
		t = newTail([]chat.Event{ev})
		s.lru.Add(log, t)
		s.entries++
		s.bytes += t.bytes
	}
	s.enforceLocked()
}

// enforceLocked evicts least recently used tails until the cache is within
// its bounds; a last tail too big on its own loses its oldest events.
func (s *Store) enforceLocked() {
	for s.entries > s.opts.MaxEntries || s.bytes > s.opts.MaxBytes {
		if s.lru.Len() > 1 {
			_, t, _ := s.lru.RemoveOldest()
			s.evictions.Add(uint64(t.events.Len()))
			continue
		}
		log, t, ok := s.lru.GetOldest()
		if !ok {
			return
		}
		if t.events.Len() == 1 {
			s.lru.Remove(log)
			s.evictions.Add(1)
			continue
		}
		s.entries--
		s.bytes -= t.dropFront(1)
		s.evictions.Add(1)
	}
}
