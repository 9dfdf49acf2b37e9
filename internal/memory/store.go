package memory

import (
	"context"
	"sync"

	"github.com/spartan-messenger/spartan/internal/chat"
)

// Store is a chat.Store in memory. Transactions are serialised by a lock;
// an Update's writes become visible only when fn returns nil.
type Store struct {
	mu   sync.RWMutex
	kv   map[string][]byte
	logs map[string][]chat.Event
}

// NewStore returns an empty Store.
func NewStore() *Store {
	return &Store{kv: map[string][]byte{}, logs: map[string][]chat.Event{}}
}

// Update runs fn with the store locked for writing and applies its writes if it returns nil.
func (s *Store) Update(ctx context.Context, fn func(tx chat.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	tx := &tx{s: s, writable: true, kv: map[string][]byte{}, logs: map[string][]chat.Event{}}
	if err := fn(tx); err != nil {
		return err
	}
	for k, v := range tx.kv {
		s.kv[k] = v
	}
	for name, evs := range tx.logs {
		s.logs[name] = append(s.logs[name], evs...)
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
	logs     map[string][]chat.Event
}

func (t *tx) Get(key string) ([]byte, error) {
	if v, ok := t.kv[key]; ok {
		return append([]byte(nil), v...), nil
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

func (t *tx) Head(log string) (uint64, error) {
	return uint64(len(t.s.logs[log]) + len(t.logs[log])), nil
}

// event returns the event at seq (1-based) as this transaction sees it.
func (t *tx) event(log string, seq uint64) chat.Event {
	committed := t.s.logs[log]
	if seq <= uint64(len(committed)) {
		return committed[seq-1]
	}
	return t.logs[log][seq-1-uint64(len(committed))]
}

func (t *tx) Read(log string, after uint64, limit int) ([]chat.Event, error) {
	head, _ := t.Head(log)
	if after >= head {
		// Nothing to read; checked first because after+1 wraps around at the maximum.
		return nil, nil
	}
	var out []chat.Event
	for seq := after + 1; seq <= head && len(out) < limit; seq++ {
		out = append(out, t.event(log, seq))
	}
	return out, nil
}

func (t *tx) ReadBefore(log string, before uint64, limit int) ([]chat.Event, error) {
	head, _ := t.Head(log)
	if before == 0 || before > head+1 {
		before = head + 1
	}
	first := uint64(1)
	if before > uint64(limit) {
		first = before - uint64(limit)
	}
	var out []chat.Event
	for seq := first; seq < before; seq++ {
		out = append(out, t.event(log, seq))
	}
	return out, nil
}
