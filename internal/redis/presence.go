package redis

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"
	goredis "github.com/redis/go-redis/v9"

	"github.com/spartan-messenger/spartan/internal/chat"
	"github.com/spartan-messenger/spartan/internal/memory"
)

// How long a server's presence record lives without being refreshed, and
// how often a server refreshes it. A server that dies without a word
// leaves its users online for at most nodeTTL.
const (
	nodeTTL     = 3 * time.Minute
	nodeRefresh = time.Minute
)

func presenceChannel(prefix string) string { return prefix + "presence" }

// Presence is a chat.Presence across servers. Each server counts its own
// streams and keeps, in Redis, a hash of the users it has a stream of
// (prefix+"presence:<server id>", which expires unless the server refreshes
// it once a minute: the one periodic task, so that a server that died does
// not keep its users online for ever), listed in the set
// prefix+"presence:servers". A user is online when any live server's hash
// names them. Changes are published; every server's Broker hands them to
// Touch, which nudges its watchers. Presence is a hint: when Redis cannot
// be reached, a server goes on with what it knows itself.
type Presence struct {
	c       goredis.UniversalClient
	prefix  string
	node    string
	log     *slog.Logger
	watches *memory.Presence // its watchers; its counts are not used

	mu     sync.Mutex
	counts map[string]int

	stop chan struct{}
	done chan struct{}
}

var _ chat.Presence = (*Presence)(nil)

// NewPresence returns this server's presence on client, until Close.
func NewPresence(client goredis.UniversalClient, prefix string, log *slog.Logger) *Presence {
	p := &Presence{
		c: client, prefix: prefix, node: uuid.NewString(), log: log, watches: memory.NewPresence(),
		counts: map[string]int{}, stop: make(chan struct{}), done: make(chan struct{}),
	}
	go p.refresh()
	return p
}

func (p *Presence) serversKey() string         { return p.prefix + "presence:servers" }
func (p *Presence) nodeKey(node string) string { return p.prefix + "presence:" + node }

// Connect counts one more stream of user on this server.
func (p *Presence) Connect(ctx context.Context, user string) (func(), error) {
	p.mu.Lock()
	p.counts[user]++
	first := p.counts[user] == 1
	p.mu.Unlock()
	if first {
		p.write(ctx, func(pipe goredis.Pipeliner) {
			pipe.HSet(ctx, p.nodeKey(p.node), user, 1)
			pipe.Expire(ctx, p.nodeKey(p.node), nodeTTL)
			pipe.SAdd(ctx, p.serversKey(), p.node)
		}, user)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			p.mu.Lock()
			p.counts[user]--
			last := p.counts[user] <= 0
			if last {
				delete(p.counts, user)
			}
			p.mu.Unlock()
			if last {
				ctx := context.WithoutCancel(ctx) // the stream that ends has its context done
				p.write(ctx, func(pipe goredis.Pipeliner) { pipe.HDel(ctx, p.nodeKey(p.node), user) }, user)
			}
		})
	}, nil
}

// write applies a change of this server's record and tells every server.
func (p *Presence) write(ctx context.Context, change func(goredis.Pipeliner), user string) {
	ctx, cancel := context.WithTimeout(ctx, publishTimeout)
	defer cancel()
	_, err := p.c.TxPipelined(ctx, func(pipe goredis.Pipeliner) error {
		change(pipe)
		pipe.Publish(ctx, presenceChannel(p.prefix), user)
		return nil
	})
	if err != nil {
		p.log.Warn("redis presence: cannot record a change; other servers may not see it", "user", user, "err", err)
	}
	p.watches.Touch(user) // this server's watchers at once
}

// Online reports which of users have a stream open on any live server.
func (p *Presence) Online(ctx context.Context, users []string) (map[string]bool, error) {
	on := make(map[string]bool, len(users))
	p.mu.Lock()
	for _, u := range users {
		on[u] = p.counts[u] > 0
	}
	p.mu.Unlock()
	servers, err := p.c.SMembers(ctx, p.serversKey()).Result()
	if err != nil {
		p.log.Warn("redis presence: cannot read the servers; answering for this one", "err", err)
		return on, nil
	}
	for _, node := range servers {
		if node == p.node {
			continue
		}
		vals, err := p.c.HMGet(ctx, p.nodeKey(node), users...).Result()
		if err != nil {
			p.log.Warn("redis presence: cannot read a server's users", "server", node, "err", err)
			continue
		}
		for i, v := range vals {
			if v != nil {
				on[users[i]] = true
			}
		}
	}
	return on, nil
}

// Watch follows changes on every server.
func (p *Presence) Watch(ctx context.Context) (chat.PresenceWatch, error) {
	return p.watches.Watch(ctx)
}

// Touch is the Broker's callback: user's presence changed on some server.
func (p *Presence) Touch(user string) { p.watches.Touch(user) }

// refresh keeps this server's record alive, rewriting it whole (a Redis
// that restarted empty learns it again), and drops the servers whose
// record expired from the set.
func (p *Presence) refresh() {
	defer close(p.done)
	t := time.NewTicker(nodeRefresh)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
		}
		p.mu.Lock()
		users := make([]any, 0, 2*len(p.counts))
		for u := range p.counts {
			users = append(users, u, 1)
		}
		p.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), publishTimeout)
		_, err := p.c.TxPipelined(ctx, func(pipe goredis.Pipeliner) error {
			key := p.nodeKey(p.node)
			pipe.Del(ctx, key)
			if len(users) > 0 {
				pipe.HSet(ctx, key, users...)
				pipe.Expire(ctx, key, nodeTTL)
				pipe.SAdd(ctx, p.serversKey(), p.node)
			}
			return nil
		})
		if err == nil {
			p.forgetDead(ctx)
		}
		cancel()
	}
}

// forgetDead removes from the set the servers whose record is gone.
func (p *Presence) forgetDead(ctx context.Context) {
	servers, err := p.c.SMembers(ctx, p.serversKey()).Result()
	if err != nil {
		return
	}
	for _, node := range servers {
		if n, err := p.c.Exists(ctx, p.nodeKey(node)).Result(); err == nil && n == 0 && node != p.node {
			p.c.SRem(ctx, p.serversKey(), node)
		}
	}
}

// Close stops the refresh and removes this server's record.
func (p *Presence) Close() {
	close(p.stop)
	<-p.done
	ctx, cancel := context.WithTimeout(context.Background(), publishTimeout)
	defer cancel()
	p.c.Del(ctx, p.nodeKey(p.node))
	p.c.SRem(ctx, p.serversKey(), p.node)
}
