package main

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	spartan "github.com/spartan-messenger/spartan/clients/go"
	spartanv1 "github.com/spartan-messenger/spartan/gen/spartan/v1"
	"github.com/spartan-messenger/spartan/internal/redistest"
)

// TestReceiverNodeKilled: three real server processes share a Redis; the
// receiver follows on node 3, with node 1 as its next; two senders send
// through nodes 1 and 2. Node 3 is killed (SIGKILL) mid-run: the receiver's
// client moves to node 1 and goes on from its last position. The test
// reports acknowledged / delivered / lost / shown twice; lost and twice
// must be 0.
func TestReceiverNodeKilled(t *testing.T) {
	t.Parallel()
	redis := redistest.StartDurable(t)
	cfg := unlimited + "store:\n  kind: redis\nredis:\n  url: " + redis.URL + "\n"
	users := []string{"alice", "bob", "eve"}
	var nodes []binServer
	for range 3 {
		nodes = append(nodes, startBinaryUsers(t, users, cfg))
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	for i, s := range []string{"alice", "bob"} {
		if _, err := spartan.New(nodes[i].addr, s).RequestChat(ctx, "eve"); err != nil {
			t.Fatal(err)
		}
		if _, err := spartan.New(nodes[2].addr, "eve").AnswerChat(ctx, s, true); err != nil {
			t.Fatal(err)
		}
	}
	eve := spartan.New(nodes[2].addr+","+nodes[0].addr, "eve")
	sub := eve.Subscribe(ctx, spartan.SubscribeOptions{GiveUp: time.Minute, MaxBackoff: 200 * time.Millisecond})

	const each = 150
	acked := make(chan string, 2*each)
	for i, s := range []string{"alice", "bob"} {
		go func() {
			c := spartan.New(nodes[i].addr, s)
			for n := range each {
				text, id := fmt.Sprintf("%s %03d", s, n), spartan.NewMessageID()
				for ctx.Err() == nil { // the same id on every retry: stored once
					if _, err := c.SendText(ctx, "eve", text, id); err == nil {
						acked <- text
						break
					}
					time.Sleep(20 * time.Millisecond)
				}
				time.Sleep(2 * time.Millisecond)
			}
		}()
	}
	delivered := map[string]int{}
	acknowledged, moved, killed := 0, "", false
	deadline := time.After(90 * time.Second)
	for acknowledged < 2*each || len(delivered) < acknowledged {
		select {
		case <-acked:
			acknowledged++
			if acknowledged == 2*each/3 && !killed {
				killed = true
				if err := syscall.Kill(nodes[2].pid, syscall.SIGKILL); err != nil {
					t.Fatal(err)
				}
			}
		case u := <-sub.C:
			if u.Reconnected {
				moved = u.Server
			}
			if m := u.Message; m != nil && m.GetType() == spartanv1.MessageType_MESSAGE_TYPE_TEXT {
				delivered[spartan.Text(m)]++
				sub.Ack(m)
			}
		case <-deadline:
			t.Fatalf("after 90 s: acknowledged %d, delivered %d", acknowledged, len(delivered))
		}
	}
	twice := 0
	for _, n := range delivered {
		if n > 1 {
			twice++
		}
	}
	lost := acknowledged - len(delivered)
	t.Logf("receiver's node killed mid-run: acknowledged %d, delivered %d, lost %d, shown twice %d; moved to %s", acknowledged, len(delivered), lost, twice, moved)
	if lost != 0 || twice != 0 || moved != nodes[0].addr {
		t.Fatalf("lost %d, shown twice %d, moved to %q; want 0, 0 and %s", lost, twice, moved, nodes[0].addr)
	}
}
