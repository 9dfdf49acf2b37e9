package chat_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/spartan-messenger/spartan/internal/chat"
)

// sealed is one made-up sealed key for each receiver.
func sealed(receivers ...string) []chat.SealedKey {
	var out []chat.SealedKey
	for _, r := range receivers {
		out = append(out, chat.SealedKey{Receiver: r, Payload: []byte("k"), Encryption: 2})
	}
	return out
}

// TestGroupMembershipRules: who may make, join, leave, read and post, and
// the code of every refusal.
func TestGroupMembershipRules(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	svc, _ := newService(t, chat.Options{Groups: map[string][]string{"staff": {"alice", "bob"}}})
	if _, err := svc.CreateGroup(ctx, "alice", "team", []string{"bob", "bob", "alice"}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		call  func() error
		code  chat.Code
		words []string
	}{
		{"a user's name", func() error { _, err := svc.CreateGroup(ctx, "alice", "carol", nil); return err }, chat.CodeAlreadyExists, []string{`"carol" is a user's name`}},
		{"a taken name", func() error { _, err := svc.CreateGroup(ctx, "carol", "team", nil); return err }, chat.CodeAlreadyExists, []string{"team"}},
		{"a configured group's name", func() error { _, err := svc.CreateGroup(ctx, "carol", "staff", nil); return err }, chat.CodeAlreadyExists, []string{"staff"}},
		{"a bad name", func() error { _, err := svc.CreateGroup(ctx, "alice", "a b", nil); return err }, chat.CodeInvalid, []string{"not allowed"}},
		{"an unknown member", func() error { _, err := svc.CreateGroup(ctx, "alice", "new", []string{"zed"}); return err }, chat.CodeNotFound, []string{`"zed"`}},
		{"an unknown caller", func() error { _, err := svc.CreateGroup(ctx, "zed", "new", nil); return err }, chat.CodeNotFound, []string{`"zed"`}},
		{"add by an outsider", func() error { _, err := svc.AddMember(ctx, "carol", "team", "dave"); return err }, chat.CodePermissionDenied, []string{"carol is not a member of team"}},
		{"add twice", func() error { _, err := svc.AddMember(ctx, "alice", "team", "bob"); return err }, chat.CodeAlreadyExists, []string{"bob is a member of team already"}},
		{"add to no group", func() error { _, err := svc.AddMember(ctx, "alice", "nope", "bob"); return err }, chat.CodeNotFound, []string{`"nope"`}},
		{"add an unknown user", func() error { _, err := svc.AddMember(ctx, "alice", "team", "zed"); return err }, chat.CodeNotFound, []string{`"zed"`}},
		{"add to a configured group", func() error { _, err := svc.AddMember(ctx, "alice", "staff", "carol"); return err }, chat.CodeFailedPrecondition, []string{"configuration"}},
		{"leave a configured group", func() error { return svc.LeaveGroup(ctx, "alice", "staff") }, chat.CodeFailedPrecondition, []string{"configuration"}},
		{"leave as an outsider", func() error { return svc.LeaveGroup(ctx, "carol", "team") }, chat.CodePermissionDenied, nil},
		{"post as an outsider", func() error { _, err := svc.Post(ctx, "carol", "team", []byte("hi"), 2, ""); return err }, chat.CodePermissionDenied, nil},
		{"post to no group", func() error { _, err := svc.Post(ctx, "alice", "nope", []byte("hi"), 2, ""); return err }, chat.CodeNotFound, nil},
		{"post nothing", func() error { _, err := svc.Post(ctx, "alice", "team", nil, 2, ""); return err }, chat.CodeInvalid, []string{"empty"}},
		{"post too much", func() error { _, err := svc.Post(ctx, "alice", "team", make([]byte, maxPayload+1), 2, ""); return err }, chat.CodeInvalid, []string{"the limit is 16"}},
		{"read as an outsider", func() error { _, _, err := svc.GroupHistory(ctx, "carol", "team", 0, 0); return err }, chat.CodePermissionDenied, nil},
		{"show to an outsider", func() error { _, err := svc.GetGroup(ctx, "carol", "team"); return err }, chat.CodePermissionDenied, nil},
		{"a key to an outsider", func() error { return svc.ShareGroupKey(ctx, "alice", "team", sealed("bob", "carol")) }, chat.CodePermissionDenied, []string{"carol is not a member"}},
		{"a key from an outsider", func() error { return svc.ShareGroupKey(ctx, "carol", "team", sealed("alice")) }, chat.CodePermissionDenied, []string{"carol is not a member"}},
		{"a key to oneself", func() error { return svc.ShareGroupKey(ctx, "alice", "team", sealed("alice")) }, chat.CodeInvalid, nil},
		{"no key", func() error { return svc.ShareGroupKey(ctx, "alice", "team", nil) }, chat.CodeInvalid, []string{"no key"}},
		{"an empty key", func() error {
			return svc.ShareGroupKey(ctx, "alice", "team", []chat.SealedKey{{Receiver: "bob"}})
		}, chat.CodeInvalid, []string{"empty"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { wantCode(t, tt.call(), tt.code, tt.words...) })
	}

	groups, err := svc.Groups(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, g := range groups {
		names = append(names, fmt.Sprintf("%s%v", g.Name, g.Names()))
	}
	if want := []string{"staff[alice bob]", "team[alice bob]"}; !slices.Equal(names, want) {
		t.Errorf("bob's groups %q, want %q", names, want)
	}
}

// TestGroupPostsReachEveryMemberInOneOrder: every post is in every other
// member's inbox, in the group's order, once; a member who leaves gets no
// more; one who joins reads only what follows; the last to leave frees the
// name.
func TestGroupPostsReachEveryMemberInOneOrder(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	svc, store := newService(t, chat.Options{})
	if _, err := svc.CreateGroup(ctx, "alice", "team", []string{"bob", "carol"}); err != nil {
		t.Fatal(err)
	}
	post := func(from, text string) {
		t.Helper()
		if _, err := svc.Post(ctx, from, "team", []byte(text), 2, ""); err != nil {
			t.Fatalf("%s posts %q: %v", from, text, err)
		}
	}
	post("alice", "a1")
	post("bob", "b1")
	post("carol", "c1")
	if err := svc.LeaveGroup(ctx, "carol", "team"); err != nil {
		t.Fatal(err)
	}
	post("alice", "a2")
	if _, err := svc.AddMember(ctx, "bob", "team", "dave"); err != nil {
		t.Fatal(err)
	}
	post("bob", "b2")

	made := "kind 8 from alice: alice made the group team: alice, bob, carol."
	left := "kind 8 from carol: carol left team."
	added := "kind 8 from bob: bob added dave to team."
	want := map[string][]string{
		"alice": {made, "text bob: b1", "text carol: c1", left, added, "text bob: b2"},
		"bob":   {made, "text alice: a1", "text carol: c1", left, "text alice: a2", added},
		"carol": {made, "text alice: a1", "text bob: b1", left},
		"dave":  {added, "text bob: b2"},
	}
	for user, w := range want {
		if got := inbox(t, store, user); !slices.Equal(got, w) {
			t.Errorf("%s's inbox:\n got %q\nwant %q", user, got, w)
		}
	}
	page, next, err := svc.GroupHistory(ctx, "alice", "team", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ev := range page {
		got = append(got, fmt.Sprintf("%d %s", ev.Seq, ev.Payload))
	}
	if w := []string{"1 a1", "2 b1", "3 c1", "4 a2", "5 b2"}; !slices.Equal(got, w) || next != 0 {
		t.Errorf("alice's group history %q next %d, want %q next 0", got, next, w)
	}
	page, next, err = svc.GroupHistory(ctx, "dave", "team", 0, 0)
	if err != nil || len(page) != 1 || string(page[0].Payload) != "b2" || next != 0 {
		t.Errorf("dave's group history: %v next %d err %v; want b2 alone", page, next, err)
	}
	page, next, err = svc.GroupHistory(ctx, "bob", "team", 5, 2)
	if err != nil || len(page) != 2 || page[0].Seq != 3 || next != 3 {
		t.Errorf("bob's page before 5: %v next %d err %v; want 3 and 4, next 3", page, next, err)
	}

	for _, u := range []string{"alice", "bob", "dave"} {
		if err := svc.LeaveGroup(ctx, u, "team"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := svc.GetGroup(ctx, "alice", "team"); chat.ErrorCode(err) != chat.CodeNotFound {
		t.Fatalf("the group after everyone left: %v, want NotFound", err)
	}
	if _, err := svc.CreateGroup(ctx, "carol", "team", nil); err != nil {
		t.Fatalf("the name after everyone left: %v", err)
	}
	if page, _, err := svc.GroupHistory(ctx, "carol", "team", 0, 0); err != nil || len(page) != 0 {
		t.Errorf("a new group of an old name shows %d old posts (err %v), want none", len(page), err)
	}
}

// TestGroupPostIsIdempotent: a retried post (same client_msg_id) is stored
// once; the id cannot be reused for another receiver.
func TestGroupPostIsIdempotent(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	svc, store := newService(t, chat.Options{})
	if _, err := svc.CreateGroup(ctx, "alice", "team", []string{"bob"}); err != nil {
		t.Fatal(err)
	}
	first, err := svc.Post(ctx, "alice", "team", []byte("once"), 2, "m-1")
	if err != nil {
		t.Fatal(err)
	}
	again, err := svc.Post(ctx, "alice", "team", []byte("once"), 2, "m-1")
	if err != nil || again.ID != first.ID {
		t.Fatalf("retry: %v %v, want the first id %s", again.ID, err, first.ID)
	}
	if n := len(stored(t, store, chat.GroupLog("team"))); n != 1 {
		t.Errorf("the group log holds %d posts, want 1", n)
	}
	_, _, err = svc.Send(ctx, "alice", "bob", []byte("x"), 2, "m-1")
	wantCode(t, err, chat.CodeInvalid, "was used for a message to team")
}
