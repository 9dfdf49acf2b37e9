package chat_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/spartan-messenger/spartan/internal/chat"
)

func key(b byte) []byte { return bytes.Repeat([]byte{b}, chat.KeySize) }

// TestKeys: a user's public key is published, fetched, replaced; its
// contacts (and only they) hear of each change; bad keys are refused.
func TestKeys(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc, store := newService(t, chat.Options{})
	_, err := svc.GetKey(ctx, "alice", "bob")
	wantCode(t, err, chat.CodeNotFound, "bob has not set up encryption yet")
	if _, err := svc.RequestChat(ctx, "alice", "bob"); err != nil { // alice waits for bob
		t.Fatal(err)
	}
	for _, tt := range []struct {
		key     []byte
		changed bool
	}{{key(1), true}, {key(1), false}, {key(2), true}} {
		changed, err := svc.PublishKey(ctx, "bob", tt.key)
		if err != nil || changed != tt.changed {
			t.Fatalf("publish %x: changed %t, %v; want %t", tt.key[:1], changed, err, tt.changed)
		}
		if got, err := svc.GetKey(ctx, "alice", "bob"); err != nil || !bytes.Equal(got, tt.key) {
			t.Fatalf("get after publishing %x: %x, %v", tt.key[:1], got, err)
		}
	}
	var told []string
	for _, ev := range stored(t, store, chat.InboxLog("alice")) {
		if ev.Kind == chat.KindKeyPublished {
			told = append(told, ev.Sender)
		}
	}
	if len(told) != 2 || told[0] != "bob" {
		t.Fatalf("alice heard of %v key changes, want bob's 2", told)
	}
	if n := len(stored(t, store, chat.InboxLog("carol"))); n != 0 {
		t.Fatalf("carol, who has no conversation with bob, got %d events", n)
	}
	tests := []struct {
		name  string
		user  string
		key   []byte
		code  chat.Code
		words string
	}{
		{"short", "bob", key(1)[:31], chat.CodeInvalid, "32"},
		{"top bit", "bob", append(key(1)[:31], 0x80), chat.CodeInvalid, "top bit"},
		{"unknown user", "zed", key(1), chat.CodeNotFound, "zed"},
	}
	for _, tt := range tests {
		_, err := svc.PublishKey(ctx, tt.user, tt.key)
		wantCode(t, err, tt.code, tt.words)
	}
	_, err = svc.GetKey(ctx, "alice", "alice")
	wantCode(t, err, chat.CodeInvalid, "themselves")
}
