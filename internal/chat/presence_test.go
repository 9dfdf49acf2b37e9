package chat_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/spartan-messenger/spartan/internal/chat"
)

// follow runs Receive for user until the test ends and sends every event it
// yields on the returned channel.
func follow(tb testing.TB, svc *chat.Service, user string) (<-chan chat.Event, context.CancelFunc) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := make(chan chat.Event, 100)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = svc.Receive(ctx, user, 0, "", func(batch []chat.Event) error {
			for _, ev := range batch {
				out <- ev
			}
			return nil
		})
	}()
	stop := func() {
		cancel()
		<-done
	}
	tb.Cleanup(stop)
	return out, stop
}

func nextEvent(tb testing.TB, evs <-chan chat.Event) chat.Event {
	tb.Helper()
	select {
	case ev := <-evs:
		return ev
	case <-time.After(5 * time.Second):
		tb.Fatal("no event")
	}
	return chat.Event{}
}

func wantPresence(tb testing.TB, ev chat.Event, who string, online bool) {
	tb.Helper()
	if ev.Kind != chat.KindPresence || ev.Sender != who || ev.Online != online || ev.Seq != 0 || ev.ID != "" {
		tb.Fatalf("event %+v, want presence of %s online=%t with no seq or id", ev, who, online)
	}
}

// TestPresence: a stream starts with who is online, then tells when others
// come and go (a user with two streams goes offline with the last); Login
// and Online say the same.
func TestPresence(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	svc, _ := newService(t, chat.Options{})
	carol, stopCarol := follow(t, svc, "carol")
	nextEvent(t, carol)
	// carol is online before bob connects: bob's stream starts with
	// everyone's presence, in configuration order.
	bob, _ := follow(t, svc, "bob")
	wantPresence(t, nextEvent(t, bob), "alice", false)
	wantPresence(t, nextEvent(t, bob), "carol", true)
	wantPresence(t, nextEvent(t, bob), "dave", false)

	_, stopAlice1 := follow(t, svc, "alice")
	wantPresence(t, nextEvent(t, bob), "alice", true)
	alice2, stopAlice2 := follow(t, svc, "alice") // a second client of alice's
	nextEvent(t, alice2)                          // its stream has started: alice counts twice
	stopAlice1()
	stopCarol()
	wantPresence(t, nextEvent(t, bob), "carol", false) // alice is still online
	sess, err := svc.Login(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"alice"}; !slices.Equal(sess.Online, want) {
		t.Fatalf("Login(bob).Online = %q, want %q", sess.Online, want)
	}
	stopAlice2()
	wantPresence(t, nextEvent(t, bob), "alice", false)
	for _, u := range []string{"alice", "carol", "dave"} {
		if on, err := svc.Online(ctx, u); err != nil || on {
			t.Errorf("Online(%s) = %t, %v; want false", u, on, err)
		}
	}
	if on, err := svc.Online(ctx, "bob"); err != nil || !on {
		t.Errorf("Online(bob) = %t, %v; want true", on, err)
	}
	_, err = svc.Online(ctx, "zed")
	wantCode(t, err, chat.CodeNotFound, "zed")
	select {
	case ev := <-bob:
		t.Fatalf("unexpected event %+v", ev)
	default:
	}
}

// errReopen is the cause TestPresenceLingers's streams end with when their
// client is to reopen them at once.
var errReopen = errors.New("reopen")

// TestPresenceLingers: a stream that ends with a cause Reopening names
// leaves its user online for Linger (nobody is told anything when the
// client reopens in time) and offline after it if it does not; a stream
// that ends otherwise goes offline at once.
func TestPresenceLingers(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	svc, _ := newService(t, chat.Options{
		Reopening: func(ctx context.Context) bool { return errors.Is(context.Cause(ctx), errReopen) },
		Linger:    200 * time.Millisecond,
	})
	// receive runs a stream of user; end ends it with a cause and returns
	// once Receive has.
	receive := func(user string) (end func(cause error)) {
		sctx, cancel := context.WithCancelCause(ctx)
		started, done := make(chan struct{}), make(chan struct{})
		var once sync.Once
		go func() {
			defer close(done)
			_ = svc.Receive(sctx, user, 0, "", func([]chat.Event) error {
				once.Do(func() { close(started) })
				return nil
			})
		}()
		<-started // its presence events: it counts online
		return func(cause error) {
			cancel(cause)
			<-done
		}
	}
	bob, _ := follow(t, svc, "bob")
	for range 3 { // alice, carol, dave: offline
		nextEvent(t, bob)
	}
	cancel := receive("alice")
	wantPresence(t, nextEvent(t, bob), "alice", true)

	cancel(errReopen)
	if on, err := svc.Online(ctx, "alice"); err != nil || !on {
		t.Fatalf("Online(alice) right after her stream ended to be reopened = %t, %v; want true", on, err)
	}
	cancel = receive("alice") // reopened within the linger
	time.Sleep(400 * time.Millisecond)
	if on, err := svc.Online(ctx, "alice"); err != nil || !on {
		t.Fatalf("Online(alice) after her stream was reopened = %t, %v; want true", on, err)
	}
	select {
	case ev := <-bob:
		t.Fatalf("bob was told %+v while alice's stream was reopened", ev)
	default:
	}

	cancel(errReopen) // not reopened: offline once the linger is over
	wantPresence(t, nextEvent(t, bob), "alice", false)

	cancel = receive("alice")
	wantPresence(t, nextEvent(t, bob), "alice", true)
	cancel(context.Canceled) // the client went away: offline at once
	wantPresence(t, nextEvent(t, bob), "alice", false)
}
