package chat_test

import (
	"context"
	"strings"
	"testing"

	"github.com/spartan-messenger/spartan/internal/chat"
)

// TestPendingIsALog: messages waiting for an answer go to a log of their
// own; the conversation record (read by every Login) stays small however
// many wait, and accepting delivers them in order.
func TestPendingIsALog(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc, store := newService(t, chat.Options{MaxPending: 50, MaxPayload: 4096})
	if _, err := svc.RequestChat(ctx, "alice", "bob"); err != nil {
		t.Fatal(err)
	}
	big := strings.Repeat("x", 4000)
	for range 50 {
		if _, pending, err := svc.Send(ctx, "alice", "bob", []byte(big), 0, ""); err != nil || !pending {
			t.Fatalf("send: pending %t, %v", pending, err)
		}
	}
	_, _, err := svc.Send(ctx, "alice", "bob", []byte("one too many"), 0, "")
	wantCode(t, err, chat.CodeExhausted, "50 messages already wait")
	if rec := record(t, store, "conv/alice\x00bob"); len(rec) > 100 {
		t.Fatalf("the conversation record is %d bytes with 50 messages waiting: %s", len(rec), rec)
	}
	if got := len(stored(t, store, chat.PendingLog("alice", "bob"))); got != 50 {
		t.Fatalf("pending log holds %d, want 50", got)
	}
	if _, moved, err := svc.AnswerChat(ctx, "bob", "alice", true); err != nil || moved != 50 {
		t.Fatalf("accept: moved %d, %v; want 50", moved, err)
	}
	if got := len(stored(t, store, chat.DirectLog("alice", "bob"))); got != 50 {
		t.Fatalf("history holds %d, want 50", got)
	}
	// Sent after acceptance: straight through, nothing waits any more.
	if _, pending, err := svc.Send(ctx, "alice", "bob", []byte("now"), 0, ""); err != nil || pending {
		t.Fatalf("send after accept: pending %t, %v", pending, err)
	}

	// A new request after a decline starts with nothing waiting.
	if _, err := svc.RequestChat(ctx, "carol", "dave"); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, _, err := svc.Send(ctx, "carol", "dave", []byte("hi"), 0, ""); err != nil {
			t.Fatal(err)
		}
	}
	if _, dropped, err := svc.AnswerChat(ctx, "dave", "carol", false); err != nil || dropped != 3 {
		t.Fatalf("decline: dropped %d, %v; want 3", dropped, err)
	}
	if _, err := svc.RequestChat(ctx, "carol", "dave"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.Send(ctx, "carol", "dave", []byte("again"), 0, ""); err != nil {
		t.Fatal(err)
	}
	if _, moved, err := svc.AnswerChat(ctx, "dave", "carol", true); err != nil || moved != 1 {
		t.Fatalf("accept after a decline: moved %d, %v; want only the 1 sent since", moved, err)
	}
}

// TestPendingFromAnOldStore: a record written before waiting messages had
// a log (inline "pending") still delivers them on acceptance.
func TestPendingFromAnOldStore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc, store := newService(t, chat.Options{})
	old := `{"state":1,"requester":"alice","pending":[{"id":"old-1","seq":0,"kind":1,"sender":"alice","receiver":"bob","sent_at":"2026-11-20T10:00:00Z","payload":"aGk="}]}`
	if err := store.Update(ctx, func(tx chat.Tx) error { return tx.Put("conv/alice\x00bob", []byte(old)) }); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.Send(ctx, "alice", "bob", []byte("new"), 0, ""); err != nil {
		t.Fatal(err)
	}
	if _, moved, err := svc.AnswerChat(ctx, "bob", "alice", true); err != nil || moved != 2 {
		t.Fatalf("accept: moved %d, %v; want 2", moved, err)
	}
	var texts []string
	for _, ev := range stored(t, store, chat.DirectLog("alice", "bob")) {
		texts = append(texts, string(ev.Payload))
	}
	if strings.Join(texts, ",") != "hi,new" {
		t.Fatalf("history %q, want hi,new", texts)
	}
}

func record(tb testing.TB, store chat.Store, key string) []byte {
	tb.Helper()
	var raw []byte
	err := store.View(context.Background(), func(tx chat.Tx) error {
		var err error
		raw, err = tx.Get(key)
		return err
	})
	if err != nil {
		tb.Fatalf("read %s: %v", key, err)
	}
	return raw
}
