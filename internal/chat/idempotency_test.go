package chat_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/spartan-messenger/spartan/internal/chat"
)

// TestSendIsIdempotent: a retried send (same client_msg_id) is stored once
// and answered with the first answer, within the window of each sender's
// newest ids; bad ids are refused.
func TestSendIsIdempotent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc, store := newService(t, chat.Options{})
	accepted(t, svc, "alice", "bob")
	first, pending, err := svc.Send(ctx, "alice", "bob", []byte("once"), 0, "c-1")
	if err != nil || pending {
		t.Fatal(pending, err)
	}
	again, pending, err := svc.Send(ctx, "alice", "bob", []byte("once"), 0, "c-1")
	if err != nil || pending || again.ID != first.ID || !again.SentAt.Equal(first.SentAt) {
		t.Fatalf("retry = %+v, %t, %v; want the first answer %s", again, pending, err, first.ID)
	}
	if n := len(stored(t, store, chat.DirectLog("alice", "bob"))); n != 1 {
		t.Fatalf("history holds %d messages, want 1", n)
	}
	inbox := stored(t, store, chat.InboxLog("bob"))
	if last := inbox[len(inbox)-1]; last.ClientID != "c-1" || string(last.Payload) != "once" {
		t.Fatalf("bob's inbox ends with %+v, want the message with its client id", last)
	}
	// The same id from another sender is another message.
	accepted(t, svc, "carol", "bob")
	if other, _, err := svc.Send(ctx, "carol", "bob", []byte("mine"), 0, "c-1"); err != nil || other.ID == first.ID {
		t.Fatalf("carol's c-1 = %+v, %v; want a message of its own", other, err)
	}

	tests := []struct {
		name, receiver, id string
		code               chat.Code
		words              []string
	}{
		{"reused for someone else", "carol", "c-1", chat.CodeInvalid, []string{"c-1", "bob"}},
		{"too long", "bob", strings.Repeat("a", 65), chat.CodeInvalid, []string{"65 bytes"}},
		{"a slash", "bob", "a/b", chat.CodeInvalid, []string{"byte 2"}},
		{"a space", "bob", "a b", chat.CodeInvalid, []string{"letters, digits"}},
	}
	accepted(t, svc, "alice", "carol")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := svc.Send(ctx, "alice", tt.receiver, []byte("x"), 0, tt.id)
			wantCode(t, err, tt.code, tt.words...)
		})
	}
}

// TestSendWindow: ids older than the sender's newest SendWindow are
// forgotten, so what is remembered stays bounded.
func TestSendWindow(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc, store := newService(t, chat.Options{})
	accepted(t, svc, "alice", "bob")
	for i := range chat.SendWindow + 1 {
		if _, _, err := svc.Send(ctx, "alice", "bob", []byte("m"), 0, fmt.Sprint("id-", i)); err != nil {
			t.Fatal(err)
		}
	}
	if raw := recordOrNil(t, store, "sent/alice/id-0"); raw != nil {
		t.Fatalf("id-0 is still remembered: %s", raw)
	}
	if raw := recordOrNil(t, store, "sent/alice/id-1"); raw == nil {
		t.Fatal("id-1 is forgotten, but it is in the window")
	}
	before := len(stored(t, store, chat.DirectLog("alice", "bob")))
	if _, _, err := svc.Send(ctx, "alice", "bob", []byte("m"), 0, "id-1"); err != nil {
		t.Fatal(err)
	}
	if after := len(stored(t, store, chat.DirectLog("alice", "bob"))); after != before {
		t.Fatalf("a retry inside the window stored a message (%d -> %d)", before, after)
	}
}

func recordOrNil(tb testing.TB, store chat.Store, key string) []byte {
	tb.Helper()
	var raw []byte
	_ = store.View(context.Background(), func(tx chat.Tx) error {
		raw, _ = tx.Get(key)
		return nil
	})
	return raw
}
