package memory

import (
	"context"
	"slices"
	"sync"

	"github.com/spartan-messenger/spartan/internal/chat"
)

// Presence is a chat.Presence within one process: a count of open streams
// per user, and watchers that collect the users whose count went to or from
// zero. A watcher's memory is bounded by the number of users, however slow
// its reader: changes of one user merge.
type Presence struct {
	mu       sync.Mutex
	streams  map[string]int
	watchers map[*presenceWatch]struct{}
}

// NewPresence returns a Presence with nobody online.
func NewPresence() *Presence {
	return &Presence{streams: map[string]int{}, watchers: map[*presenceWatch]struct{}{}}
}

// Connect counts one more stream of user until the returned function is called.
func (p *Presence) Connect(_ context.Context, user string) (func(), error) {
	p.mu.Lock()
	p.streams[user]++
	if p.streams[user] == 1 {
		p.changed(user)
	}
	p.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			p.mu.Lock()
			defer p.mu.Unlock()
			p.streams[user]--
			if p.streams[user] <= 0 {
				delete(p.streams, user)
				p.changed(user)
			}
		})
	}, nil
}

// Online reports which of users have a stream open.
func (p *Presence) Online(_ context.Context, users []string) (map[string]bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	on := make(map[string]bool, len(users))
	for _, u := range users {
		on[u] = p.streams[u] > 0
	}
	return on, nil
}

// Watch follows changes until the watch is closed.
func (p *Presence) Watch(context.Context) (chat.PresenceWatch, error) {
	w := &presenceWatch{p: p, kick: make(chan struct{}, 1), dirty: map[string]struct{}{}}
	p.mu.Lock()
	p.watchers[w] = struct{}{}
	p.mu.Unlock()
	return w, nil
}

// changed records user as changed in every watcher; p.mu is held.
func (p *Presence) changed(user string) {
	for w := range p.watchers {
		w.mu.Lock()
		w.dirty[user] = struct{}{}
		w.mu.Unlock()
		select {
		case w.kick <- struct{}{}:
		default:
		}
	}
}

type presenceWatch struct {
	p    *Presence
	kick chan struct{}

	mu    sync.Mutex
	dirty map[string]struct{}
}

func (w *presenceWatch) C() <-chan struct{} { return w.kick }

func (w *presenceWatch) Changed() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	users := make([]string, 0, len(w.dirty))
	for u := range w.dirty {
		users = append(users, u)
	}
	clear(w.dirty)
	slices.Sort(users)
	return users
}

func (w *presenceWatch) Close() {
	w.p.mu.Lock()
	delete(w.p.watchers, w)
	w.p.mu.Unlock()
}

// Touch tells every watcher that user's presence may have changed
// elsewhere (another server of a cluster): they look again.
func (p *Presence) Touch(user string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.changed(user)
}
