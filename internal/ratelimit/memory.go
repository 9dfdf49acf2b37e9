package ratelimit

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// Memory is a Limiter within one process: GCRA, as the Redis backend's
// script computes it, keeping per key only its theoretical arrival time
// (TAT). Keys live in an LRU of at most maxKeys: a key whose TAT has passed
// is as good as absent, and the least recently used go first when it is
// full, so memory stays bounded with no sweeper running.
type Memory struct {
	now func() time.Time
	mu  sync.Mutex
	tat *simplelru.LRU[string, time.Time]
}

// NewMemory returns a Memory of at most maxKeys keys; now tells the time
// (nil: time.Now).
func NewMemory(maxKeys int, now func() time.Time) (*Memory, error) {
	if now == nil {
		now = time.Now
	}
	lru, err := simplelru.NewLRU[string, time.Time](maxKeys, nil)
	if err != nil {
		return nil, fmt.Errorf("rate limiter of %d keys: %w", maxKeys, err)
	}
	return &Memory{now: now, tat: lru}, nil
}

// Allow decides, and counts the event if it is allowed.
func (m *Memory) Allow(_ context.Context, key string, l Limit) (Result, error) {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	tat, ok := m.tat.Get(key)
	if !ok || tat.Before(now) {
		tat = now
	}
	next := tat.Add(l.interval())
	// The event may happen if, with it, the TAT stays within Burst
	// intervals of now.
	if allowAt := next.Add(-time.Duration(l.Burst) * l.interval()); allowAt.After(now) {
		return Result{RetryAfter: allowAt.Sub(now)}, nil
	}
	m.tat.Add(key, next)
	return Result{Allowed: true}, nil
}

// Len is how many keys the limiter holds.
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.tat.Len()
}
