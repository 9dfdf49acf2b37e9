package main

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"

	spartanv1 "github.com/spartan-messenger/spartan/gen/spartan/v1"
	"github.com/spartan-messenger/spartan/gen/spartan/v1/spartanv1connect"
	"github.com/spartan-messenger/spartan/internal/redistest"
)

// The brief's limit: 15 messages a second, with a burst of one second's
// worth. tolerance allows for the calls in flight at the edges of a run
// (one per sender), which the server counts when they arrive.
const (
	briefRate  = 15
	briefBurst = 15
	runFor     = 3 * time.Second
)

// tally counts what a run of sends got.
type tally struct {
	accepted, refused, retryInfo, other atomic.Int64
	lastOther                           atomic.Value
}

// flood sends alice's messages to bob as fast as senders can, through
// clients (one per node), until runFor has passed; it returns the tally and
// how long the run took.
func flood(tb testing.TB, from, to string, clients []spartanv1connect.ChatServiceClient, perNode int) (*tally, time.Duration) {
	tb.Helper()
	var t tally
	ctx, cancel := context.WithTimeout(tb.Context(), runFor)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	for _, c := range clients {
		for range perNode {
			wg.Go(func() {
				for ctx.Err() == nil {
					_, err := c.SendMsg(ctx, connect.NewRequest(&spartanv1.SendMsgRequest{User: from, Receiver: to, Payload: []byte("x")}))
					count(&t, ctx, err)
				}
			})
		}
	}
	wg.Wait()
	return &t, time.Since(start)
}

func count(t *tally, ctx context.Context, err error) {
	var cerr *connect.Error
	switch {
	case err == nil:
		t.accepted.Add(1)
	case errors.As(err, &cerr) && cerr.Code() == connect.CodeResourceExhausted:
		t.refused.Add(1)
		for _, d := range cerr.Details() {
			if v, derr := d.Value(); derr == nil {
				if ri, ok := v.(*errdetails.RetryInfo); ok && ri.GetRetryDelay().AsDuration() > 0 {
					t.retryInfo.Add(1)
					break
				}
			}
		}
	case ctx.Err() != nil || connect.CodeOf(err) == connect.CodeDeadlineExceeded || connect.CodeOf(err) == connect.CodeCanceled:
		// The run ended during the call (the server may see the deadline,
		// which travels with the call, a moment before the client does).
	default:
		t.other.Add(1)
		t.lastOther.Store(err.Error())
	}
}

// wantWithinLimit checks a run's tally against the limit: no more accepted
// than the rate allows over the run plus the burst (and one in flight per
// sender), no fewer than most of it, every refusal with a RetryInfo.
func wantWithinLimit(tb testing.TB, who string, t *tally, took time.Duration, senders int) {
	tb.Helper()
	most := int64(briefRate*took.Seconds()) + briefBurst + int64(senders)
	least := int64(0.8 * briefRate * took.Seconds())
	got := t.accepted.Load()
	tb.Logf("%s: %d accepted, %d refused in %.2f s (bound %d)", who, got, t.refused.Load(), took.Seconds(), most)
	if got > most || got < least {
		tb.Errorf("%s: %d sends accepted in %.2f s; want between %d and %d", who, got, took.Seconds(), least, most)
	}
	if t.refused.Load() == 0 || t.retryInfo.Load() != t.refused.Load() {
		tb.Errorf("%s: %d refused, %d of them with a RetryInfo; want refusals, each with one", who, t.refused.Load(), t.retryInfo.Load())
	}
	if n := t.other.Load(); n > 0 {
		tb.Errorf("%s: %d other errors, the last: %v", who, n, t.lastOther.Load())
	}
}

// nodes starts n servers with the given extra configuration and returns a
// client of each, alice and bob chatting on each. (Until the store is shared
// too, each node keeps its own: the test makes the two chat on every one.)
func nodes(tb testing.TB, n int, extra string) []spartanv1connect.ChatServiceClient {
	tb.Helper()
	var out []spartanv1connect.ChatServiceClient
	for range n {
		out = append(out, aliceAndBob(tb, startBinary(tb, extra)))
	}
	return out
}

// TestRateAcrossThreeServers: one user sending as fast as possible through
// three servers that share a real Redis is held to the brief's 15 messages
// a second across them all, each refusal with a RetryInfo.
func TestRateAcrossThreeServers(t *testing.T) {
	t.Parallel()
	redis := redistest.Start(t)
	clients := nodes(t, 3, "store:\n  kind: memory\nredis:\n  url: "+redis.URL+"\n")
	tl, took := flood(t, "alice", "bob", clients, 3)
	wantWithinLimit(t, "alice through 3 servers", tl, took, 9)
}

// TestRateOneServer: without Redis the limit is the process's own.
func TestRateOneServer(t *testing.T) {
	t.Parallel()
	clients := nodes(t, 1, "store:\n  kind: memory\n")
	tl, took := flood(t, "alice", "bob", clients, 4)
	wantWithinLimit(t, "alice on one server", tl, took, 4)
}

// TestRatePerUser: a second user at full speed alongside is held to a limit
// of its own; neither takes from the other.
func TestRatePerUser(t *testing.T) {
	t.Parallel()
	redis := redistest.Start(t)
	clients := nodes(t, 2, "store:\n  kind: memory\nredis:\n  url: "+redis.URL+"\n")
	var wg sync.WaitGroup
	var alice, bob *tally
	var aliceTook, bobTook time.Duration
	wg.Go(func() { alice, aliceTook = flood(t, "alice", "bob", clients, 2) })
	wg.Go(func() { bob, bobTook = flood(t, "bob", "alice", clients, 2) })
	wg.Wait()
	wantWithinLimit(t, "alice", alice, aliceTook, 4)
	wantWithinLimit(t, "bob", bob, bobTook, 4)
}

// TestRateWhileRedisRestarts: with Redis stopped mid-run, "allow" lets sends
// through (unlimited) and "deny" refuses them with Unavailable; once Redis
// is back both limit again, with no restart of the servers.
func TestRateWhileRedisRestarts(t *testing.T) {
	t.Parallel()
	for _, policy := range []string{"allow", "deny"} {
		t.Run(policy, func(t *testing.T) {
			t.Parallel()
			redis := redistest.Start(t)
			clients := nodes(t, 1, "store:\n  kind: memory\nredis:\n  url: "+redis.URL+"\nrate:\n  on_redis_error: "+policy+"\n")
			c := clients[0]
			send := func() error {
				ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
				defer cancel()
				_, err := c.SendMsg(ctx, connect.NewRequest(&spartanv1.SendMsgRequest{User: "alice", Receiver: "bob", Payload: []byte("x")}))
				return err
			}
			// burst sends 3 bursts' worth at once; limit is what the limit
			// allows in the time that took: the burst, what refilled, and
			// one at the edge.
			// The sends go at once, in parallel, so that a busy machine does
			// not stretch the burst over enough time to refill the limit.
			burst := func() (accepted int, codes map[connect.Code]int, limit int) {
				codes = map[connect.Code]int{}
				start := time.Now()
				errs := make(chan error, 3*briefBurst)
				for range 3 * briefBurst {
					go func() { errs <- send() }()
				}
				for range 3 * briefBurst {
					if err := <-errs; err != nil {
						codes[connect.CodeOf(err)]++
					} else {
						accepted++
					}
				}
				return accepted, codes, briefBurst + int(briefRate*time.Since(start).Seconds()) + 1
			}
			if got, codes, limit := burst(); got > limit || codes[connect.CodeResourceExhausted] == 0 {
				t.Fatalf("Redis up: %d of %d accepted at once (%v); want at most %d", got, 3*briefBurst, codes, limit)
			}
			redis.Stop()
			got, codes, _ := burst()
			switch policy {
			case "allow":
				if got != 3*briefBurst {
					t.Fatalf("Redis down, allow: %d of %d accepted (%v); want all", got, 3*briefBurst, codes)
				}
			case "deny":
				if got != 0 || codes[connect.CodeUnavailable] != 3*briefBurst {
					t.Fatalf("Redis down, deny: %d accepted, codes %v; want all Unavailable", got, codes)
				}
			}
			redis.Restart()
			deadline := time.Now().Add(10 * time.Second)
			for send() != nil { // the client reconnects to Redis by itself
				if time.Now().After(deadline) {
					t.Fatal("no send accepted within 10 s of Redis's return")
				}
				time.Sleep(100 * time.Millisecond)
			}
			// With "allow", a send goes through before the server's Redis
			// client is back too: burst until the limit shows again.
			// (A burst while it comes back may be half allowed, half limited:
			// the one after the first refusal is the one that counts.)
			for {
				got, codes, _ := burst()
				if codes[connect.CodeResourceExhausted] > 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("Redis back: %d of %d accepted (%v) 10 s after its return; want the limit again", got, 3*briefBurst, codes)
				}
				time.Sleep(time.Second) // a full burst again before the next try
			}
			time.Sleep(time.Second) // a full burst again
			if got, codes, limit := burst(); got > limit || codes[connect.CodeResourceExhausted] == 0 {
				t.Fatalf("Redis back: %d of %d accepted (%v); want the limit again, at most %d", got, 3*briefBurst, codes, limit)
			}
		})
	}
}
