package ratelimit_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/spartan-messenger/spartan/internal/ratelimit"
)

// clock is a test clock that moves only when told.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

// TestMemoryGCRA: a burst at once, then one event per interval, with the
// exact wait when refused; keys are independent.
func TestMemoryGCRA(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := &clock{t: time.Unix(1000, 0)}
	m, err := ratelimit.NewMemory(100, c.now)
	if err != nil {
		t.Fatal(err)
	}
	l := ratelimit.Limit{Rate: 15, Period: time.Second, Burst: 15} // the brief's 15 a second
	interval := time.Second / 15
	allow := func(key string) ratelimit.Result {
		t.Helper()
		res, err := m.Allow(ctx, key, l)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	for i := range 15 {
		if !allow("alice").Allowed {
			t.Fatalf("event %d of the burst refused", i+1)
		}
	}
	res := allow("alice")
	if res.Allowed || res.RetryAfter != interval {
		t.Fatalf("16th event: %+v, want refused with a wait of one interval (%s)", res, interval)
	}
	if !allow("bob").Allowed {
		t.Fatal("bob is limited by alice's events")
	}
	c.advance(interval / 2)
	if res := allow("alice"); res.Allowed || res.RetryAfter != interval-interval/2 {
		t.Fatalf("half an interval on: %+v, want a wait of the other half", res)
	}
	c.advance(interval / 2)
	if !allow("alice").Allowed {
		t.Fatal("one interval on: refused")
	}
	if allow("alice").Allowed {
		t.Fatal("a second event within the same interval allowed")
	}
	// A smooth rate over a long run: 15 a second, not 2x at a window edge.
	allowed := 0
	for range 3000 { // 10 s in steps of 1/300 s
		c.advance(time.Second / 300)
		if allow("carol").Allowed {
			allowed++
		}
	}
	if allowed < 15*10 || allowed > 15*10+15 {
		t.Fatalf("%d events allowed in 10 s at 15 a second with a burst of 15", allowed)
	}
}

// TestMemoryIsBounded: the limiter never holds more keys than it was given.
func TestMemoryIsBounded(t *testing.T) {
	t.Parallel()
	m, err := ratelimit.NewMemory(50, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 1000 {
		if _, err := m.Allow(context.Background(), fmt.Sprint("k", i), ratelimit.Limit{Rate: 1, Period: time.Second, Burst: 1}); err != nil {
			t.Fatal(err)
		}
	}
	if n := m.Len(); n != 50 {
		t.Fatalf("%d keys held, want the bound, 50", n)
	}
}

func BenchmarkMemoryAllow(b *testing.B) {
	m, err := ratelimit.NewMemory(100_000, nil)
	if err != nil {
		b.Fatal(err)
	}
	l := ratelimit.Limit{Rate: 1 << 30, Period: time.Second, Burst: 1 << 30}
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := m.Allow(ctx, keys[i%len(keys)], l); err != nil {
			b.Fatal(err)
		}
	}
}

var keys = func() []string {
	out := make([]string, 1000)
	for i := range out {
		out[i] = fmt.Sprint("send/user/u", i)
	}
	return out
}()
