package spartan_test

import (
	"errors"
	"slices"
	"testing"

	spartan "github.com/spartan-messenger/spartan/clients/go"
	spartanv1 "github.com/spartan-messenger/spartan/gen/spartan/v1"
	"github.com/spartan-messenger/spartan/internal/servertest"
)

// member follows u's inbox: it takes in the sender keys it brings and
// returns its group posts as they read ("sender: text", or "sender: !err").
func (u *user) member(tb testing.TB) <-chan string {
	tb.Helper()
	sub := u.c.Subscribe(tb.Context(), spartan.SubscribeOptions{})
	out := make(chan string, 100)
	go func() {
		for up := range sub.C {
			m := up.Message
			switch {
			case m == nil:
			case m.GetType() == spartanv1.MessageType_MESSAGE_TYPE_GROUP_KEY:
				if err := u.x.AcceptGroupKey(tb.Context(), m); err != nil {
					out <- "key from " + m.GetSender() + ": !" + err.Error()
				}
			case m.GetType() == spartanv1.MessageType_MESSAGE_TYPE_TEXT && m.GetGroup() != "":
				u.posts = append(u.posts, m)
				if o, err := u.x.Open(tb.Context(), m); err != nil {
					out <- m.GetSender() + ": !" + err.Error()
				} else {
					out <- m.GetSender() + ": " + o.Text
				}
			}
		}
	}()
	return out
}

func want(tb testing.TB, got <-chan string, lines ...string) {
	tb.Helper()
	for _, w := range lines {
		select {
		case g := <-got:
			if g != w {
				tb.Fatalf("got %q, want %q", g, w)
			}
		case <-tb.Context().Done():
			tb.Fatalf("no %q", w)
		}
	}
}

func post(tb testing.TB, u *user, group, text string) []string {
	tb.Helper()
	unreadable, err := u.x.PostText(tb.Context(), group, text, spartan.NewMessageID())
	if err != nil {
		tb.Fatalf("%s posts %q: %v", u.c.User(), text, err)
	}
	return unreadable
}

// TestGroupSenderKeys: members read each other's posts; a member who left
// cannot read what follows with any key they hold; one who joined gets the
// key of what follows only; a member without an identity key is named.
func TestGroupSenderKeys(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, servertest.Config())
	alice := newUser(t, srv.Addr, "alice", t.TempDir())
	bob := newUser(t, srv.Addr, "bob", t.TempDir())
	carol := newUser(t, srv.Addr, "charlie", t.TempDir())
	if _, err := alice.c.CreateGroup(t.Context(), "team", []string{"bob", "charlie", "eve"}); err != nil {
		t.Fatal(err)
	}
	aliceReads, bobReads, carolReads := alice.member(t), bob.member(t), carol.member(t)
	if got := post(t, alice, "team", "one"); !slices.Equal(got, []string{"eve"}) {
		t.Errorf("unreadable for %q, want eve (no key)", got)
	}
	want(t, bobReads, "alice: one")
	want(t, carolReads, "alice: one")
	post(t, bob, "team", "two")
	want(t, carolReads, "bob: two")
	want(t, aliceReads, "bob: two")

	if err := carol.c.LeaveGroup(t.Context(), "team"); err != nil {
		t.Fatal(err)
	}
	post(t, alice, "team", "three")
	want(t, bobReads, "alice: three")
	// charlie gets no copy; had he one, none of his keys opens it.
	three := bob.posts[len(bob.posts)-1]
	if _, err := carol.x.Open(t.Context(), three); !errors.Is(err, spartan.ErrNoGroupKey) {
		t.Errorf("charlie opens a post after he left: %v, want ErrNoGroupKey", err)
	}

	dave := newUser(t, srv.Addr, "foo", t.TempDir())
	if _, err := bob.c.AddMember(t.Context(), "team", "foo"); err != nil {
		t.Fatal(err)
	}
	daveReads := dave.member(t)
	post(t, alice, "team", "four")
	want(t, daveReads, "alice: four")
	want(t, bobReads, "alice: four")
	if _, err := dave.x.Open(t.Context(), three); !errors.Is(err, spartan.ErrNoGroupKey) {
		t.Errorf("foo opens a post from before he joined: %v, want ErrNoGroupKey", err)
	}
	msgs, _, err := alice.c.GroupHistory(t.Context(), "team", 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, m := range msgs {
		o, err := alice.x.Open(t.Context(), m)
		if err != nil {
			t.Fatalf("alice opens %s's post from history: %v", m.GetSender(), err)
		}
		texts = append(texts, o.Text)
	}
	if w := []string{"one", "two", "three", "four"}; !slices.Equal(texts, w) {
		t.Errorf("alice's group history %q, want %q", texts, w)
	}
}

// TestShareOwedKeys: a member without an identity key when a post was
// sealed gets the poster's sender key once they publish one (and the post
// opens); the key goes once; a member who left since gets nothing.
func TestShareOwedKeys(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, servertest.Config())
	alice := newUser(t, srv.Addr, "alice", t.TempDir())
	if _, err := alice.c.CreateGroup(t.Context(), "team", []string{"bob", "charlie"}); err != nil {
		t.Fatal(err)
	}
	if got := post(t, alice, "team", "before you came"); !slices.Equal(got, []string{"bob", "charlie"}) {
		t.Fatalf("unreadable for %q, want bob and charlie (no keys)", got)
	}
	bob := newUser(t, srv.Addr, "bob", t.TempDir())
	carol := newUser(t, srv.Addr, "charlie", t.TempDir())
	if err := carol.c.LeaveGroup(t.Context(), "team"); err != nil {
		t.Fatal(err)
	}
	for _, who := range []string{"bob", "charlie"} {
		if _, err := alice.x.Refresh(t.Context(), who); err != nil {
			t.Fatal(err)
		}
	}
	for _, tt := range []struct {
		user string
		want []string
	}{
		{"bob", []string{"team"}},
		{"bob", nil},     // he has it now
		{"charlie", nil}, // left the group
	} {
		got, err := alice.x.ShareOwedKeys(t.Context(), tt.user)
		if err != nil || !slices.Equal(got, tt.want) {
			t.Fatalf("ShareOwedKeys(%s) = %q, %v; want %q", tt.user, got, err, tt.want)
		}
	}
	// Bob's inbox: the post, which does not open yet, then the key, one.
	var earlier *spartanv1.Message
	keys := 0
	sub := bob.c.Subscribe(t.Context(), spartan.SubscribeOptions{})
	for up := range sub.C {
		m := up.Message
		switch m.GetType() {
		case spartanv1.MessageType_MESSAGE_TYPE_TEXT:
			earlier = m
			if _, err := bob.x.Open(t.Context(), m); !errors.Is(err, spartan.ErrNoGroupKey) {
				t.Fatalf("bob opens the post before the key came: %v, want ErrNoGroupKey", err)
			}
		case spartanv1.MessageType_MESSAGE_TYPE_GROUP_KEY:
			keys++
			if err := bob.x.AcceptGroupKey(t.Context(), m); err != nil {
				t.Fatal(err)
			}
		}
		if keys == 1 && earlier != nil {
			break
		}
	}
	if earlier == nil || keys != 1 {
		t.Fatalf("bob's inbox ended (%v) with the post %v and %d keys", sub.Err(), earlier, keys)
	}
	if o, err := bob.x.Open(t.Context(), earlier); err != nil || o.Text != "before you came" {
		t.Fatalf("bob opens the earlier post: %q, %v", o.Text, err)
	}
	// The key went once: the next post needs no new copy for bob.
	if got, err := alice.x.ShareOwedKeys(t.Context(), "bob"); err != nil || got != nil {
		t.Fatalf("ShareOwedKeys(bob) again = %q, %v; want nothing", got, err)
	}
}
