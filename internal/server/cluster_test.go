package server_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	spartan "github.com/spartan-messenger/spartan/clients/go"
	spartanv1 "github.com/spartan-messenger/spartan/gen/spartan/v1"
	"github.com/spartan-messenger/spartan/internal/config"
	"github.com/spartan-messenger/spartan/internal/redistest"
	"github.com/spartan-messenger/spartan/internal/servertest"
)

// cluster starts n servers on the Redis store of one real redis-server and
// returns their addresses.
func cluster(tb testing.TB, redis *redistest.Server, n int) []string {
	tb.Helper()
	var addrs []string
	for range n {
		cfg := servertest.Config()
		cfg.Store = config.Store{Kind: config.StoreRedis}
		cfg.Redis.URL = redis.URL
		addrs = append(addrs, servertest.Start(tb, cfg).Addr)
	}
	return addrs
}

// accept makes a and b chat, a asking on one node, b answering on another.
func accept(tb testing.TB, a, b string, askAt, answerAt string) {
	tb.Helper()
	if _, err := spartan.New(askAt, a).RequestChat(tb.Context(), b); err != nil {
		tb.Fatal(err)
	}
	if _, err := spartan.New(answerAt, b).AnswerChat(tb.Context(), a, true); err != nil {
		tb.Fatal(err)
	}
}

// TestClusterDelivery: 1,000 messages from three senders, each on a node of
// its own, reach a receiver following on a fourth: all of them, each
// sender's in its order, under gap-free sequence numbers.
func TestClusterDelivery(t *testing.T) {
	t.Parallel()
	redis := redistest.Start(t)
	nodes := cluster(t, redis, 4)
	senders := []string{"alice", "bob", "charlie"}
	for i, s := range senders {
		accept(t, s, "eve", nodes[i], nodes[3])
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	sub := spartan.New(nodes[3], "eve").Subscribe(ctx, spartan.SubscribeOptions{})
	const total = 1000
	var wg sync.WaitGroup
	for i, s := range senders {
		wg.Go(func() {
			c := spartan.New(nodes[i], s)
			for n := i; n < total; n += len(senders) {
				if _, err := c.SendText(ctx, "eve", fmt.Sprintf("%s %04d", s, n), spartan.NewMessageID()); err != nil {
					t.Errorf("%s: %v", s, err)
					return
				}
			}
		})
	}
	last := map[string]string{}
	var lastSeq uint64
	got := 0
	deadline := time.After(60 * time.Second)
	for got < total {
		select {
		case u, ok := <-sub.C:
			if !ok {
				t.Fatalf("subscription ended: %v", sub.Err())
			}
			m := u.Message
			if m == nil || m.GetSeq() == 0 {
				continue
			}
			if m.GetSeq() != lastSeq+1 {
				t.Fatalf("seq %d after %d", m.GetSeq(), lastSeq)
			}
			lastSeq = m.GetSeq()
			if m.GetType() != spartanv1.MessageType_MESSAGE_TYPE_TEXT {
				continue
			}
			text := spartan.Text(m)
			who := m.GetSender()
			if !strings.HasPrefix(text, who+" ") || text <= last[who] {
				t.Fatalf("%q from %s after %q: out of order", text, who, last[who])
			}
			last[who] = text
			got++
		case <-deadline:
			t.Fatalf("%d of %d messages within 60 s", got, total)
		}
	}
	wg.Wait()
}

// TestClusterTranscript: alice on one node and bob on another chat as if
// they were on one server.
func TestClusterTranscript(t *testing.T) {
	t.Parallel()
	redis := redistest.Start(t)
	nodes := cluster(t, redis, 2)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	alice, bob := spartan.New(nodes[0], "alice"), spartan.New(nodes[1], "bob")
	bobs := bob.Subscribe(ctx, spartan.SubscribeOptions{})
	if _, err := alice.RequestChat(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.SendText(ctx, "bob", "Hey Bob!", spartan.NewMessageID()); err != nil {
		t.Fatal(err)
	}
	login, err := bob.Login(ctx)
	if err != nil || len(login.GetChatRequests()) != 1 || login.GetChatRequests()[0] != "alice" {
		t.Fatalf("bob's waiting requests on the other node: %v, %v", login.GetChatRequests(), err)
	}
	if _, err := bob.AnswerChat(ctx, "alice", true); err != nil {
		t.Fatal(err)
	}
	want := []spartanv1.MessageType{spartanv1.MessageType_MESSAGE_TYPE_CHAT_REQUEST, spartanv1.MessageType_MESSAGE_TYPE_TEXT}
	for len(want) > 0 {
		select {
		case u := <-bobs.C:
			if u.Message == nil || u.Message.GetSeq() == 0 {
				continue
			}
			if u.Message.GetType() != want[0] {
				t.Fatalf("bob received %v, want %v", u.Message.GetType(), want[0])
			}
			want = want[1:]
		case <-time.After(10 * time.Second):
			t.Fatalf("bob is still waiting for %v", want)
		}
	}
}

// TestClusterHistoryNotStale: a History cached on one node is dropped when a
// message is sent on another.
func TestClusterHistoryNotStale(t *testing.T) {
	t.Parallel()
	redis := redistest.Start(t)
	nodes := cluster(t, redis, 2)
	accept(t, "alice", "bob", nodes[0], nodes[1])
	ctx := t.Context()
	history := func() int {
		msgs, _, err := spartan.New(nodes[1], "bob").History(ctx, "alice", 0, 50)
		if err != nil {
			t.Fatal(err)
		}
		return len(msgs)
	}
	if n := history(); n != 0 || history() != 0 { // the second is a cache hit
		t.Fatalf("history holds %d before any message", n)
	}
	if _, err := spartan.New(nodes[0], "alice").SendText(ctx, "bob", "new", spartan.NewMessageID()); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second) // the change notice travels through Redis
	for history() != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the other node still serves the History from before the message")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestClusterRedisFlushed: a flushed Redis is a new epoch: a stream that
// was following says messages were lost and goes on in the new store
// without skipping its first messages.
func TestClusterRedisFlushed(t *testing.T) {
	t.Parallel()
	redis := redistest.Start(t)
	nodes := cluster(t, redis, 1)
	accept(t, "alice", "bob", nodes[0], nodes[0])
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	alice := spartan.New(nodes[0], "alice")
	bob := spartan.New(nodes[0], "bob").Subscribe(ctx, spartan.SubscribeOptions{})
	for i := range 3 {
		if _, err := alice.SendText(ctx, "bob", fmt.Sprint("before ", i), spartan.NewMessageID()); err != nil {
			t.Fatal(err)
		}
	}
	next := func() *spartanv1.Message {
		t.Helper()
		for {
			select {
			case u := <-bob.C:
				if u.Message != nil && u.Message.GetType() != spartanv1.MessageType_MESSAGE_TYPE_PRESENCE {
					return u.Message
				}
			case <-time.After(10 * time.Second):
				t.Fatal("bob received nothing")
			}
		}
	}
	for texts := 0; texts < 3; { // the request, then "before 0".."before 2"
		if next().GetType() == spartanv1.MessageType_MESSAGE_TYPE_TEXT {
			texts++
		}
	}
	c := goredis.NewClient(&goredis.Options{Addr: redis.Addr})
	defer func() { _ = c.Close() }()
	if err := c.FlushAll(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	// The conversation went with the rest: alice asks again, bob accepts, she sends.
	accept(t, "alice", "bob", nodes[0], nodes[0])
	if _, err := alice.SendText(ctx, "bob", "after", spartan.NewMessageID()); err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for {
		m := next()
		kinds = append(kinds, m.GetType().String())
		if m.GetType() == spartanv1.MessageType_MESSAGE_TYPE_TEXT {
			if spartan.Text(m) != "after" {
				t.Fatalf("bob received %q, want the message sent after the flush", spartan.Text(m))
			}
			break
		}
	}
	if kinds[0] != spartanv1.MessageType_MESSAGE_TYPE_SYSTEM.String() || !strings.Contains(kinds[1], "CHAT_REQUEST") {
		t.Fatalf("after the flush bob received %v; want the lost notice, then the new request, ...", kinds)
	}
}

// TestClusterRedisRestarts: Redis (append-only file, fsync always) is
// killed and started again while a sender sends through one node and a
// receiver follows on another. The nodes recover by themselves; every
// acknowledged message is delivered, none twice. The test reports
// acknowledged / delivered / lost / shown twice.
func TestClusterRedisRestarts(t *testing.T) {
	t.Parallel()
	redis := redistest.StartDurable(t)
	nodes := cluster(t, redis, 2)
	accept(t, "alice", "bob", nodes[0], nodes[1])
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	sub := spartan.New(nodes[1], "bob").Subscribe(ctx, spartan.SubscribeOptions{GiveUp: time.Minute, MaxBackoff: 200 * time.Millisecond})
	alice := spartan.New(nodes[0], "alice")

	const total = 300
	acked := make(chan string, total)
	go func() {
		defer close(acked)
		for i := range total {
			text, id := fmt.Sprintf("m%03d", i), spartan.NewMessageID()
			for ctx.Err() == nil { // retried with the same id until acknowledged: stored once
				if _, err := alice.SendText(ctx, "bob", text, id); err == nil {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			acked <- text
			if i == total/3 {
				redis.Stop()
				time.Sleep(300 * time.Millisecond)
				redis.Restart()
			}
		}
	}()
	delivered := map[string]int{}
	acknowledged := 0
	deadline := time.After(90 * time.Second)
	for done := false; !done || len(delivered) < acknowledged; {
		select {
		case text, ok := <-acked:
			if !ok {
				done, acked = true, nil
				continue
			}
			acknowledged++
			_ = text
		case u := <-sub.C:
			if m := u.Message; m != nil && m.GetType() == spartanv1.MessageType_MESSAGE_TYPE_TEXT {
				delivered[spartan.Text(m)]++
			}
		case <-deadline:
			t.Fatalf("acknowledged %d, delivered %d after 90 s", acknowledged, len(delivered))
		}
	}
	twice := 0
	for _, n := range delivered {
		if n > 1 {
			twice++
		}
	}
	lost := acknowledged - len(delivered)
	t.Logf("Redis killed and restarted mid-run: acknowledged %d, delivered %d, lost %d, shown twice %d", acknowledged, len(delivered), lost, twice)
	if acknowledged != total || lost != 0 || twice != 0 {
		t.Fatalf("acknowledged %d of %d, lost %d, shown twice %d; want all, 0, 0", acknowledged, total, lost, twice)
	}
}

// TestClusterPresence: a user online on one node is online on the others,
// and the others' streams hear when that changes.
func TestClusterPresence(t *testing.T) {
	t.Parallel()
	redis := redistest.Start(t)
	nodes := cluster(t, redis, 2)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	alice := spartan.New(nodes[0], "alice").Subscribe(ctx, spartan.SubscribeOptions{})
	presence := func(who string, online bool) {
		t.Helper()
		for {
			select {
			case u := <-alice.C:
				if m := u.Message; m != nil && m.GetType() == spartanv1.MessageType_MESSAGE_TYPE_PRESENCE && m.GetSender() == who && m.GetOnline() == online {
					return
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("alice did not hear that %s is online=%t", who, online)
			}
		}
	}
	presence("bob", false) // the snapshot
	bobCtx, bobGone := context.WithCancel(ctx)
	bob := spartan.New(nodes[1], "bob").Subscribe(bobCtx, spartan.SubscribeOptions{})
	presence("bob", true)
	login, err := spartan.New(nodes[0], "charlie").Login(ctx)
	if err != nil || len(login.GetOnline()) != 2 {
		t.Fatalf("Login on node 1 says online %v (%v); want alice and bob", login.GetOnline(), err)
	}
	bobGone()
	_ = bob.Err()
	presence("bob", false)
}
