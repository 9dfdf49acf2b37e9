package memory

import (
	"context"
	"sync"
)

// Broker is a chat.Broker within one process.
type Broker struct {
	mu   sync.Mutex
	subs map[string]map[chan struct{}]struct{}
}

// NewBroker returns a Broker with no subscribers.
func NewBroker() *Broker {
	return &Broker{subs: map[string]map[chan struct{}]struct{}{}}
}

// Publish wakes every subscriber of log without blocking: a subscriber that
// has a wake-up pending already needs no second one.
func (b *Broker) Publish(_ context.Context, log string, _ uint64) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch := range b.subs[log] {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
	return nil
}

// Subscribe registers a subscriber of log until the returned function is called.
func (b *Broker) Subscribe(_ context.Context, log string) (<-chan struct{}, func(), error) {
	ch := make(chan struct{}, 1)
	b.mu.Lock()
	if b.subs[log] == nil {
		b.subs[log] = map[chan struct{}]struct{}{}
	}
	b.subs[log][ch] = struct{}{}
	b.mu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			b.mu.Lock()
			defer b.mu.Unlock()
			delete(b.subs[log], ch)
			if len(b.subs[log]) == 0 {
				delete(b.subs, log)
			}
		})
	}, nil
}

// WakeAll wakes every subscriber of every log: after a Redis broker lost its
// subscription for a while, none of them may wait for a wake-up that went
// by meanwhile.
func (b *Broker) WakeAll() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, subs := range b.subs {
		for ch := range subs {
			select {
			case ch <- struct{}{}:
			default:
			}
		}
	}
}
