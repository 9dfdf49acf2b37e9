package chat_test

import (
	"context"
	"slices"
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
