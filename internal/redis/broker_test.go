package redis_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/spartan-messenger/spartan/internal/redis"
	"github.com/spartan-messenger/spartan/internal/redistest"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func broker(tb testing.TB, srv *redistest.Server, changed func([]string)) *redis.Broker {
	tb.Helper()
	b := redis.NewBroker(client(tb, srv), prefix(tb), redis.Callbacks{Changed: changed}, quiet)
	tb.Cleanup(b.Close)
	select {
	case <-b.Ready():
	case <-time.After(10 * time.Second):
		tb.Fatal("the broker did not subscribe")
	}
	return b
}

func woken(tb testing.TB, ch <-chan struct{}, what string) {
	tb.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		tb.Fatalf("no wake-up: %s", what)
	}
}

// TestBrokerAcrossServers: a publish on one server wakes the log's readers
// on another, even when the publishing call's context is already gone;
// changes reach every server's callback.
func TestBrokerAcrossServers(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	changes := make(chan []string, 10)
	a := broker(t, srv, nil)
	b := broker(t, srv, func(users []string) { changes <- users })
	wake, unsubscribe, err := b.Subscribe(context.Background(), "inbox/bob")
	if err != nil {
		t.Fatal(err)
	}
	defer unsubscribe()
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the call that committed has gone
	if err := a.Publish(ctx, "inbox/bob", 7); err != nil {
		t.Fatalf("Publish with a cancelled context: %v", err)
	}
	woken(t, wake, "a publish on another server")
	a.PublishChanged(context.Background(), []string{"alice", "bob"})
	select {
	case users := <-changes:
		if len(users) != 2 || users[0] != "alice" || users[1] != "bob" {
			t.Fatalf("changed %q, want alice and bob", users)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no change notice")
	}
}

// TestBrokerWakesAllAfterReconnect: when the subscription connection is
// cut, the broker subscribes again and wakes every local reader once, so
// that no reader waits for a wake-up published while it was gone.
func TestBrokerWakesAllAfterReconnect(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	b := broker(t, srv, nil)
	wake, unsubscribe, err := b.Subscribe(context.Background(), "inbox/carol")
	if err != nil {
		t.Fatal(err)
	}
	defer unsubscribe()
	// Kill every pub/sub connection on the server: the broker's.
	if err := client(t, srv).Do(context.Background(), "CLIENT", "KILL", "TYPE", "pubsub").Err(); err != nil {
		t.Fatal(err)
	}
	woken(t, wake, "after the subscription came back")
	// And it still delivers.
	other := broker(t, srv, nil)
	if err := other.Publish(context.Background(), "inbox/carol", 1); err != nil {
		t.Fatal(err)
	}
	woken(t, wake, "a publish after the reconnect")
}
