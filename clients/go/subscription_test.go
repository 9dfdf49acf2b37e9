package spartan_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	spartan "github.com/spartan-messenger/spartan/clients/go"
	spartanv1 "github.com/spartan-messenger/spartan/gen/spartan/v1"
	"github.com/spartan-messenger/spartan/internal/config"
	"github.com/spartan-messenger/spartan/internal/servertest"
)

const wait = 10 * time.Second

// serve runs a server with a bolt store at dbPath on port until the
// returned function stops it; port 0 picks one.
func serve(tb testing.TB, dbPath string, port int) (int, func()) {
	tb.Helper()
	cfg := servertest.Config()
	cfg.Port = port
	cfg.Store = config.Store{Kind: config.StoreBolt, Path: dbPath}
	srv := servertest.Start(tb, cfg)
	return srv.Port, func() {
		if err := srv.Stop(); err != nil {
			tb.Errorf("server: %v", err)
		}
	}
}

func next(tb testing.TB, sub *spartan.Subscription) spartan.Update {
	tb.Helper()
	select {
	case u, ok := <-sub.C:
		if !ok {
			tb.Fatalf("subscription ended: %v", sub.Err())
		}
		return u
	case <-time.After(wait):
		tb.Fatal("no update")
	}
	return spartan.Update{}
}

// TestSubscriptionResumesAcrossRestart: messages sent before, during and
// after a server restart all arrive, in order, once, and the subscription
// says when it lost and regained the server.
func TestSubscriptionResumesAcrossRestart(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := filepath.Join(t.TempDir(), "spartan.db")
	port, stop := serve(t, db, 0)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	alice, bob := spartan.New(addr, "alice"), spartan.New(addr, "bob")
	if _, err := alice.RequestChat(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.AnswerChat(ctx, "alice", true); err != nil {
		t.Fatal(err)
	}
	sub := alice.Subscribe(ctx, spartan.SubscribeOptions{GiveUp: wait, MaxBackoff: 50 * time.Millisecond})
	var texts []string
	var lastSeq uint64
	take := func(n int) {
		for len(texts) < n {
			u := next(t, sub)
			if u.Message == nil || u.Message.GetType() == spartanv1.MessageType_MESSAGE_TYPE_PRESENCE {
				continue
			}
			if u.Message.GetSeq() != lastSeq+1 {
				t.Fatalf("seq %d after %d", u.Message.GetSeq(), lastSeq)
			}
			lastSeq = u.Message.GetSeq()
			if u.Message.GetType() == spartanv1.MessageType_MESSAGE_TYPE_TEXT {
				texts = append(texts, spartan.Text(u.Message))
			}
		}
	}
	for i := range 5 {
		if _, err := bob.SendText(ctx, "alice", fmt.Sprint("before ", i), spartan.NewMessageID()); err != nil {
			t.Fatal(err)
		}
	}
	take(5)

	stop()
	if u := next(t, sub); u.Disconnected == nil {
		t.Fatalf("want Disconnected, got %+v", u)
	}
	_, stop2 := serve(t, db, port)
	defer stop2()
	for i := range 5 {
		if _, err := bob.SendText(ctx, "alice", fmt.Sprint("after ", i), spartan.NewMessageID()); err != nil {
			t.Fatal(err)
		}
	}
	for u := next(t, sub); !u.Reconnected; u = next(t, sub) {
		if u.Message.GetType() != spartanv1.MessageType_MESSAGE_TYPE_PRESENCE {
			t.Fatalf("want Reconnected, got %+v", u)
		}
	}
	take(10)
	for i, want := range []string{"before 0", "before 1", "before 2", "before 3", "before 4", "after 0", "after 1", "after 2", "after 3", "after 4"} {
		if texts[i] != want {
			t.Fatalf("message %d is %q, want %q (all: %q)", i, texts[i], want, texts)
		}
	}
	for {
		select {
		case u := <-sub.C:
			if u.Message.GetType() != spartanv1.MessageType_MESSAGE_TYPE_PRESENCE {
				t.Fatalf("unexpected extra update %+v", u)
			}
			continue
		case <-time.After(100 * time.Millisecond):
		}
		break
	}
}

// TestSubscriptionGivesUp: a server that stays gone ends the subscription
// with an error after GiveUp.
func TestSubscriptionGivesUp(t *testing.T) {
	t.Parallel()
	port, stop := serve(t, filepath.Join(t.TempDir(), "spartan.db"), 0)
	c := spartan.New(fmt.Sprintf("127.0.0.1:%d", port), "alice")
	sub := c.Subscribe(t.Context(), spartan.SubscribeOptions{GiveUp: 200 * time.Millisecond, MaxBackoff: 50 * time.Millisecond})
	stop()
	for range sub.C {
	}
	if err := sub.Err(); err == nil {
		t.Fatal("subscription ended without an error")
	}
}

// TestSubscriptionUnknownUser ends at once: retrying cannot help.
func TestSubscriptionUnknownUser(t *testing.T) {
	t.Parallel()
	port, _ := serve(t, filepath.Join(t.TempDir(), "spartan.db"), 0)
	sub := spartan.New(fmt.Sprintf("127.0.0.1:%d", port), "zed").Subscribe(t.Context(), spartan.SubscribeOptions{})
	for range sub.C {
	}
	if err := sub.Err(); err == nil || errors.Is(err, context.Canceled) {
		t.Fatalf("Err() = %v, want NotFound", err)
	}
}
