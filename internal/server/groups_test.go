package server_test

import (
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"connectrpc.com/connect"

	spartan "github.com/spartan-messenger/spartan/clients/go"
	spartanv1 "github.com/spartan-messenger/spartan/gen/spartan/v1"
	"github.com/spartan-messenger/spartan/internal/config"
	"github.com/spartan-messenger/spartan/internal/redistest"
	"github.com/spartan-messenger/spartan/internal/servertest"
)

// postsOf reads user's inbox until it holds n group posts, and returns
// their ids in order.
func postsOf(tb testing.TB, addr, user string, n int) []string {
	tb.Helper()
	sub := spartan.New(addr, user).Subscribe(tb.Context(), spartan.SubscribeOptions{})
	var ids []string
	for len(ids) < n {
		u, ok := <-sub.C
		if !ok {
			tb.Fatalf("%s's stream ended: %v", user, sub.Err())
		}
		if m := u.Message; m != nil && m.GetType() == spartanv1.MessageType_MESSAGE_TYPE_TEXT && m.GetGroup() != "" {
			ids = append(ids, m.GetId())
		}
	}
	return ids
}

// TestGroupAcrossNodesInOneOrder: three members post at once from three
// nodes of a cluster; every member, reading on yet another node, sees
// every post once, all in the same order.
func TestGroupAcrossNodesInOneOrder(t *testing.T) {
	t.Parallel()
	redis := redistest.Start(t)
	nodes := cluster(t, redis, 4)
	members := []string{"alice", "bob", "charlie", "eve"}
	if _, err := spartan.New(nodes[0], "alice").CreateGroup(t.Context(), "team", members[1:]); err != nil {
		t.Fatal(err)
	}
	const each = 30
	errs := make(chan error, 3)
	for i, from := range members[:3] {
		go func() {
			c := spartan.New(nodes[i], from)
			for j := range each {
				_, err := c.Send(t.Context(), &spartanv1.SendMsgRequest{Group: "team", Payload: []byte(fmt.Sprint(from, j)), ClientMsgId: fmt.Sprintf("%s-%d", from, j)})
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range 3 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	// eve got all 90; each sender got the 60 of the others, in eve's order.
	order := postsOf(t, nodes[3], "eve", 3*each)
	for _, m := range members[:3] {
		got := postsOf(t, nodes[3], m, 2*each)
		var want []string
		for _, id := range order {
			if slices.Contains(got, id) {
				want = append(want, id)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s saw the posts in another order than eve", m)
		}
	}
}

// TestGroupsSurviveARestart: a group made at run time, its members and its
// posts are still there after the server restarts on its bolt file.
func TestGroupsSurviveARestart(t *testing.T) {
	t.Parallel()
	cfg := servertest.Config()
	cfg.Store = config.Store{Kind: config.StoreBolt, Path: filepath.Join(t.TempDir(), "spartan.db")}
	srv := servertest.Start(t, cfg)
	alice := spartan.New(srv.Addr, "alice")
	if _, err := alice.CreateGroup(t.Context(), "team", []string{"bob"}); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.Send(t.Context(), &spartanv1.SendMsgRequest{Group: "team", Payload: []byte("kept")}); err != nil {
		t.Fatal(err)
	}
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	cfg.Port = srv.Port
	srv = servertest.Start(t, cfg)
	bob := spartan.New(srv.Addr, "bob")
	g, err := bob.GetGroup(t.Context(), "team")
	if err != nil || !slices.Equal(g.GetMembers(), []string{"alice", "bob"}) {
		t.Fatalf("after the restart: %v, %v", g, err)
	}
	msgs, _, err := bob.GroupHistory(t.Context(), "team", 0, 10)
	if err != nil || len(msgs) != 1 || string(msgs[0].GetPayload()) != "kept" {
		t.Fatalf("history after the restart: %v, %v", msgs, err)
	}
}

// TestGroupPostCountsOnce: the rate limit counts a post to 300 members as
// one send.
func TestGroupPostCountsOnce(t *testing.T) {
	t.Parallel()
	cfg := servertest.Config()
	for i := range 300 {
		cfg.Users = append(cfg.Users, fmt.Sprintf("u%03d", i))
	}
	cfg.Groups = map[string][]string{"all": cfg.Users}
	cfg.Rate.Calls, cfg.Rate.WindowSeconds, cfg.Rate.Burst = 5, 60, 5
	srv := servertest.Start(t, cfg)
	c := spartan.New(srv.Addr, "u000")
	for i := range 5 {
		if _, err := c.Send(t.Context(), &spartanv1.SendMsgRequest{Group: "all", Payload: []byte("hi")}); err != nil {
			t.Fatalf("post %d of 5: %v", i+1, err)
		}
	}
	_, err := c.Send(t.Context(), &spartanv1.SendMsgRequest{Group: "all", Payload: []byte("one too many")})
	if connect.CodeOf(err) != connect.CodeResourceExhausted {
		t.Fatalf("the sixth post: %v, want ResourceExhausted", err)
	}
}
