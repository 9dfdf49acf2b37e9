package memory

import (
	"context"
	"slices"
	"sync"

	"github.com/spartan-messenger/spartan/internal/chat"
	"github.com/spartan-messenger/spartan/internal/window"
)

// Store is a chat.Store in memory. Transactions are serialised by a lock;
// an Update's writes become visible only when fn returns nil.
type Store struct {
	mu   sync.RWMutex
	kv   map[string][]byte
	logs map[string]*mlog
}

// mlog is one log: its events from sequence number first on (those before
// were trimmed). A log trimmed as it grows keeps its array
// (internal/window).
type mlog struct {
	first  uint64
	events window.Window[chat.Event]
}

func (l *mlog) head() uint64 {
	if l == nil {
		return 0
	}
	return l.first + uint64(l.events.Len()) - 1
}

// trim drops the events before seq, releasing their memory.
func (l *mlog) trim(before uint64) {
	if before <= l.first {
		return
	}
	n := min(before-l.first, uint64(l.events.Len()))
	l.events.DropFront(int(n))
	l.first += n
}

// NewStore returns an empty Store.
func NewStore() *Store {
	return &Store{kv: map[string][]byte{}, logs: map[string]*mlog{}}
}

// Update runs fn with the store locked for writing and applies its writes if it returns nil.
func (s *Store) Update(ctx context.Context, fn func(tx chat.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	tx := &tx{s: s, writable: true, kv: map[string][]byte{}, deleted: map[string]bool{}, logs: map[string][]chat.Event{}, trims: map[string]uint64{}}
	if err := fn(tx); err != nil {
		return err
	}
	for k := range tx.deleted {
		delete(s.kv, k)
	}
	for k, v := range tx.kv {
		s.kv[k] = v
	}
	for name, evs := range tx.logs {
		l := s.logs[name]
		if l == nil {
			l = &mlog{first: 1}
			s.logs[name] = l
		}
		if l.events.Len() == 0 {
			l.first = evs[0].Seq
		}
		l.events.Append(evs...)
	}
	for name, before := range tx.trims {
		if l := s.logs[name]; l != nil {
			l.trim(before)
		}
	}
	return nil
}

// View runs fn with the store locked for reading.
func (s *Store) View(ctx context.Context, fn func(tx chat.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return fn(&tx{s: s})
}

// tx overlays an Update's writes on the store until they are committed.
type tx struct {
	s        *Store
	writable bool
	kv       map[string][]byte
	deleted  map[string]bool // keys deleted and not put again
	logs     map[string][]chat.Event
	trims    map[string]uint64 // log -> the first sequence number kept
}

func (t *tx) Get(key string) ([]byte, error) {
	if v, ok := t.kv[key]; ok {
		return append([]byte(nil), v...), nil
	}
	if t.deleted[key] {
		return nil, chat.ErrNoKey
	}
	if v, ok := t.s.kv[key]; ok {
		return append([]byte(nil), v...), nil
	}
	return nil, chat.ErrNoKey
}

func (t *tx) Put(key string, value []byte) error {
	if !t.writable {
		return chat.ErrReadOnly
	}
	t.kv[key] = append([]byte(nil), value...)
	delete(t.deleted, key)
	return nil
}

func (t *tx) Delete(key string) error {
	if !t.writable {
		return chat.ErrReadOnly
	}
	delete(t.kv, key)
	t.deleted[key] = true
	return nil
}

func (t *tx) Append(log string, ev chat.Event) (uint64, error) {
	if !t.writable {
		return 0, chat.ErrReadOnly
	}
	head, _ := t.Head(log)
	ev.Seq = head + 1
	ev.Payload = append([]byte(nil), ev.Payload...)
	t.logs[log] = append(t.logs[log], ev)
	return ev.Seq, nil
}

func (t *tx) Trim(log string, before uint64) error {
	if !t.writable {
		return chat.ErrReadOnly
	}
	t.trims[log] = max(t.trims[log], before)
	return nil
}

func (t *tx) Head(log string) (uint64, error) {
	return t.s.logs[log].head() + uint64(len(t.logs[log])), nil
}

// first is the first sequence number of the log this transaction can read.
func (t *tx) first(log string) uint64 {
	first := uint64(1)
	if l := t.s.logs[log]; l != nil {
		first = l.first
	}
	return max(first, t.trims[log])
}

// event returns the event at seq as this transaction sees it; seq is
// between first and the head.
func (t *tx) event(log string, seq uint64) chat.Event {
	l := t.s.logs[log]
	if committed := l.head(); seq <= committed {
		return l.events.Items()[seq-l.first]
	}
	return t.logs[log][seq-1-l.head()]
}

func (t *tx) Read(log string, after uint64, limit, maxBytes int) ([]chat.Event, error) {
	head, _ := t.Head(log)
	if after >= head {
		// Nothing to read; checked first because after+1 wraps around at the maximum.
		return nil, nil
	}
	var out []chat.Event
	budget := chat.NewBudget(maxBytes)
	for seq := max(after+1, t.first(log)); seq <= head && len(out) < limit; seq++ {
		ev := t.event(log, seq)
		if !budget.Take(&ev) {
			break
		}
		out = append(out, ev)
	}
	return out, nil
}

func (t *tx) ReadBefore(log string, before uint64, limit, maxBytes int) ([]chat.Event, error) {
	head, _ := t.Head(log)
	if before == 0 || before > head+1 {
		before = head + 1
	}
	var out []chat.Event
	budget := chat.NewBudget(maxBytes)
	for seq, first := before-1, t.first(log); seq >= first && seq >= 1 && len(out) < limit; seq-- {
		ev := t.event(log, seq)
		if !budget.Take(&ev) {
			break
		}
		out = append(out, ev)
	}
	slices.Reverse(out)
	return out, nil
}
