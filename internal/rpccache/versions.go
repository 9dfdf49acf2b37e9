package rpccache

import (
	"sync"
	"sync/atomic"
)

// Versions counts committed writes per user. A response cached at one
// version of its caller is stale once the version has moved. It is safe for
// concurrent use.
type Versions struct {
	all   atomic.Uint64
	mu    sync.RWMutex
	users map[string]*atomic.Uint64
}

// NewVersions returns Versions at zero for everyone.
func NewVersions() *Versions {
	return &Versions{users: map[string]*atomic.Uint64{}}
}

// Bump records a committed write that involved users. The chat core calls
// it after every commit, before the writer's call returns, so a read that
// follows a write never sees a response cached before it.
func (v *Versions) Bump(users []string) {
	v.all.Add(1)
	for _, u := range users {
		v.counter(u).Add(1)
	}
}

// Of returns user's version; for the empty user, the count of all writes.
func (v *Versions) Of(user string) uint64 {
	if user == "" {
		return v.all.Load()
	}
	return v.counter(user).Load()
}

// counter returns user's counter, making it on first use.
func (v *Versions) counter(user string) *atomic.Uint64 {
	v.mu.RLock()
	c, ok := v.users[user]
	v.mu.RUnlock()
	if ok {
		return c
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if c, ok = v.users[user]; !ok {
		c = new(atomic.Uint64)
		v.users[user] = c
	}
	return c
}
