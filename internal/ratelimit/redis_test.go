package ratelimit_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/spartan-messenger/spartan/internal/ratelimit"
	"github.com/spartan-messenger/spartan/internal/redistest"
)

func newClient(tb testing.TB, addr string) redis.UniversalClient {
	tb.Helper()
	c := redis.NewUniversalClient(&redis.UniversalOptions{Addrs: []string{addr}, MaxRetries: -1, DialTimeout: 500 * time.Millisecond})
	tb.Cleanup(func() { _ = c.Close() })
	return c
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// TestRedisBurstThenRefuse: the same GCRA as in-process, on the Redis
// server's clock, with the wait when refused (miniredis: unit test).
func TestRedisBurstThenRefuse(t *testing.T) {
	t.Parallel()
	mr := miniredis.RunT(t)
	r := ratelimit.NewRedis(newClient(t, mr.Addr()), ratelimit.Allow, quiet)
	l := ratelimit.Limit{Rate: 10, Period: time.Second, Burst: 3}
	for i := range 3 {
		if res, err := r.Allow(t.Context(), "k", l); err != nil || !res.Allowed {
			t.Fatalf("event %d: %+v, %v", i+1, res, err)
		}
	}
	res, err := r.Allow(t.Context(), "k", l)
	if err != nil || res.Allowed || res.RetryAfter <= 0 || res.RetryAfter > 100*time.Millisecond {
		t.Fatalf("4th event: %+v, %v; want refused with a wait of at most one interval", res, err)
	}
}

// TestRedisUnreachable: with Redis stopped, "allow" lets calls through and
// "deny" refuses them with ErrUnavailable; both recover, with no restart of
// theirs, once Redis is back (a real redis-server, stopped and started).
func TestRedisUnreachable(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	l := ratelimit.Limit{Rate: 1, Period: time.Hour, Burst: 1}
	for _, tt := range []struct {
		name    string
		onError ratelimit.OnError
	}{{"allow", ratelimit.Allow}, {"deny", ratelimit.Deny}} {
		r := ratelimit.NewRedis(newClient(t, srv.Addr), tt.onError, quiet)
		ctx := context.Background()
		if res, err := r.Allow(ctx, tt.name+"-before", l); err != nil || !res.Allowed {
			t.Fatalf("%s, Redis up: %+v, %v", tt.name, res, err)
		}
		srv.Stop()
		res, err := r.Allow(ctx, tt.name+"-down", l)
		switch tt.onError {
		case ratelimit.Allow:
			if err != nil || !res.Allowed {
				t.Fatalf("allow, Redis down: %+v, %v; want allowed", res, err)
			}
		case ratelimit.Deny:
			if !errors.Is(err, ratelimit.ErrUnavailable) {
				t.Fatalf("deny, Redis down: %+v, %v; want ErrUnavailable", res, err)
			}
		}
		srv.Restart()
		// Back: the limit holds again (the server restarted empty: one event allowed, the next refused).
		if res, err := r.Allow(ctx, tt.name+"-after", l); err != nil || !res.Allowed {
			t.Fatalf("%s, Redis back: %+v, %v", tt.name, res, err)
		}
		if res, err := r.Allow(ctx, tt.name+"-after", l); err != nil || res.Allowed {
			t.Fatalf("%s, Redis back, second event: %+v, %v; want refused", tt.name, res, err)
		}
	}
}

// BenchmarkRedisAllow measures one decision on a real redis-server: one
// round trip (EVALSHA) per call.
func BenchmarkRedisAllow(b *testing.B) {
	srv := redistest.Start(b)
	r := ratelimit.NewRedis(newClient(b, srv.Addr), ratelimit.Deny, quiet)
	l := ratelimit.Limit{Rate: 1 << 30, Period: time.Second, Burst: 1 << 30}
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := r.Allow(ctx, keys[i%len(keys)], l); err != nil {
			b.Fatal(err)
		}
	}
}
