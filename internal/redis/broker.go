package redis

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/spartan-messenger/spartan/internal/memory"
)

// publishTimeout bounds a publish, which outlives the request that made it.
const publishTimeout = 5 * time.Second

// Broker is a chat.Broker across servers. Publish wakes this server's
// readers at once and PUBLISHes on Redis; each server holds one
// subscription connection (PSUBSCRIBE), not one per reader, and fans what
// arrives out to its readers through a memory.Broker. Wake-ups carry no
// data, so one that is lost costs nothing but a wait; and after the
// subscription was lost and came back, every local reader is woken once,
// so that none waits for a wake-up that went by meanwhile. The same
// connection carries "changed" notices, which keep every server's response
// cache from serving what another server's write made stale.
type Broker struct {
	c      goredis.UniversalClient
	prefix string
	local  *memory.Broker
	log    *slog.Logger
	on     Callbacks

	ps   *goredis.PubSub
	stop context.CancelFunc
	done chan struct{}

	mu           sync.Mutex
	subscribed   chan struct{} // closed once the first subscription is confirmed
	resubscribed int           // confirmations seen (1 + reconnects)
}

// Callbacks are what a Broker calls for the notices it carries besides
// wake-ups; each may be nil.
type Callbacks struct {
	// Changed gets the users of every change any server published with
	// PublishChanged (this one's included).
	Changed func(users []string)
	// Presence gets a user whose presence changed on any server.
	Presence func(user string)
}

// NewBroker subscribes to the wake-ups and notices of every server on
// client, until Close.
func NewBroker(client goredis.UniversalClient, prefix string, on Callbacks, log *slog.Logger) *Broker {
	ctx, stop := context.WithCancel(context.Background())
	b := &Broker{
		c: client, prefix: prefix, local: memory.NewBroker(), log: log, on: on,
		stop: stop, done: make(chan struct{}), subscribed: make(chan struct{}),
	}
	// The subscription is made here, so that Close can always close it: a
	// Receive blocked on the connection does not notice a cancelled context.
	b.ps = client.PSubscribe(ctx, b.wakeChannel("*"), b.changedChannel(), presenceChannel(prefix))
	go b.run(ctx)
	return b
}

// Ready returns a channel closed once the subscription is in place: from
// then on no wake-up of another server is missed.
func (b *Broker) Ready() <-chan struct{} { return b.subscribed }

// Close ends the subscription.
func (b *Broker) Close() {
	b.stop()
	_ = b.ps.Close()
	<-b.done
}

func (b *Broker) wakeChannel(log string) string { return b.prefix + "wake:" + log }
func (b *Broker) changedChannel() string        { return b.prefix + "changed" }

// Publish wakes the log's readers on every server. It outlives ctx: a
// change that is committed must wake its readers even if the call that
// made it was cancelled meanwhile.
func (b *Broker) Publish(ctx context.Context, log string, head uint64) error {
	_ = b.local.Publish(ctx, log, head) // this server's readers, without the round trip
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), publishTimeout)
	defer cancel()
	return b.c.Publish(pctx, b.wakeChannel(log), head).Err()
}

// Subscribe returns a channel that receives a value after the log grows,
// on any server.
func (b *Broker) Subscribe(ctx context.Context, log string) (<-chan struct{}, func(), error) {
	return b.local.Subscribe(ctx, log)
}

// PublishChanged tells every server that a change involved users.
func (b *Broker) PublishChanged(ctx context.Context, users []string) {
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), publishTimeout)
	defer cancel()
	if err := b.c.Publish(pctx, b.changedChannel(), strings.Join(users, "\x00")).Err(); err != nil {
		b.log.Warn("redis broker: publish a change", "err", err)
	}
}

// run receives until Close; after an error it waits a little longer each
// time (only while Redis is unreachable) and subscribes again.
func (b *Broker) run(ctx context.Context) {
	defer close(b.done)
	backoff := 50 * time.Millisecond
	for {
		msg, err := b.ps.Receive(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			b.log.Warn("redis broker: subscription lost; subscribing again", "err", err, "in", backoff)
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 5*time.Second)
			continue
		}
		backoff = 50 * time.Millisecond
		switch m := msg.(type) {
		case *goredis.Subscription:
			b.confirmed(m)
		case *goredis.Message:
			switch m.Channel {
			case b.changedChannel():
				if b.on.Changed != nil {
					b.on.Changed(strings.Split(m.Payload, "\x00"))
				}
				continue
			case presenceChannel(b.prefix):
				if b.on.Presence != nil {
					b.on.Presence(m.Payload)
				}
				continue
			}
			_ = b.local.Publish(ctx, strings.TrimPrefix(m.Channel, b.prefix+"wake:"), 0)
		case *goredis.Pong:
		default:
			b.log.Warn("redis broker: unexpected message", "type", fmt.Sprintf("%T", msg))
		}
	}
}

// confirmed handles a subscription's confirmation: the first says the
// broker is ready; every later one follows a reconnect, after which every
// local reader looks at the store again.
func (b *Broker) confirmed(m *goredis.Subscription) {
	if m.Kind != "psubscribe" || m.Channel != b.wakeChannel("*") {
		return
	}
	b.mu.Lock()
	b.resubscribed++
	first := b.resubscribed == 1
	b.mu.Unlock()
	if first {
		close(b.subscribed)
		return
	}
	b.log.Info("redis broker: subscribed again; waking every reader")
	b.local.WakeAll()
}
