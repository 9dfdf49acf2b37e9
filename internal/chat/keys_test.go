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

// TestKeysToGroupMembers: a key tells the members of the user's groups
// (configured or made), who may have no conversation with the user.
func TestKeysToGroupMembers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc, store := newService(t, chat.Options{Groups: map[string][]string{"staff": {"bob", "carol"}}})
	if _, err := svc.CreateGroup(ctx, "dave", "team", []string{"bob"}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.PublishKey(ctx, "bob", key(3)); err != nil {
		t.Fatal(err)
	}
	for user, want := range map[string]int{"carol": 1, "dave": 1, "alice": 0} {
		n := 0
		for _, ev := range stored(t, store, chat.InboxLog(user)) {
			if ev.Kind == chat.KindKeyPublished && ev.Sender == "bob" {
				n++
			}
		}
		if n != want {
			t.Errorf("%s heard of bob's key %d times, want %d", user, n, want)
		}
	}
}

// TestGetKeys: several keys at once, those without one left out; bad
// names and too many refused.
func TestGetKeys(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc, _ := newService(t, chat.Options{})
	for i, u := range []string{"bob", "dave"} {
		if _, err := svc.PublishKey(ctx, u, key(byte(i+1))); err != nil {
			t.Fatal(err)
		}
	}
	keys, err := svc.GetKeys(ctx, "alice", []string{"bob", "carol", "dave", "bob"})
	if err != nil || len(keys) != 2 || !bytes.Equal(keys["bob"], key(1)) || !bytes.Equal(keys["dave"], key(2)) {
		t.Fatalf("GetKeys = %x, %v; want bob's and dave's", keys, err)
	}
	_, err = svc.GetKeys(ctx, "alice", []string{"bob", "zed"})
	wantCode(t, err, chat.CodeNotFound, "zed")
	_, err = svc.GetKeys(ctx, "alice", make([]string, chat.MaxKeysAsked+1))
	wantCode(t, err, chat.CodeInvalid, "at most 1000")
}
