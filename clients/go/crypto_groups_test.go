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
