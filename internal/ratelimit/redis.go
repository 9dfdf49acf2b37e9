package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
)

// OnError says what Redis does when it cannot be asked.
type OnError int

// What a Redis limiter does when Redis cannot be reached.
const (
	// Allow lets the call through (and logs a warning, at most once a
	// minute): the messenger keeps working without its limit.
	Allow OnError = iota
	// Deny refuses the call (Unavailable): no call goes unlimited.
	Deny
)

// ErrUnavailable is what a Deny limiter returns while Redis is unreachable.
var ErrUnavailable = errors.New("the rate limiter's Redis is unreachable")

// Redis is a Limiter shared by every server that uses the same Redis: GCRA
// as one atomic script on the Redis server's clock (redis_rate), so the
// servers' own clocks do not matter.
type Redis struct {
	limiter *redis_rate.Limiter
	onError OnError
	log     *slog.Logger

	mu     sync.Mutex
	warned time.Time
}

// NewRedis returns a limiter on client (a redis.UniversalClient, so a single
// server, a Sentinel setup or a cluster all work).
func NewRedis(client redis.UniversalClient, onError OnError, log *slog.Logger) *Redis {
	return &Redis{limiter: redis_rate.NewLimiter(client), onError: onError, log: log}
}

// Allow asks Redis. When Redis cannot answer, it allows or denies as
// configured; it recovers by itself once Redis answers again.
func (r *Redis) Allow(ctx context.Context, key string, l Limit) (Result, error) {
	res, err := r.limiter.Allow(ctx, key, redis_rate.Limit{Rate: l.Rate, Period: l.Period, Burst: l.Burst})
	if err != nil {
		if ctx.Err() != nil {
			return Result{}, fmt.Errorf("rate limit %s: %w", key, ctx.Err())
		}
		r.warn(err)
		if r.onError == Deny {
			return Result{}, fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		return Result{Allowed: true}, nil
	}
	if res.Allowed > 0 {
		return Result{Allowed: true}, nil
	}
	return Result{RetryAfter: res.RetryAfter}, nil
}

// warn logs a Redis failure, at most once a minute.
func (r *Redis) warn(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if now := time.Now(); now.Sub(r.warned) >= time.Minute {
		r.warned = now
		what := "calls are let through unlimited"
		if r.onError == Deny {
			what = "calls are refused"
		}
		r.log.Warn("rate limiter: Redis is unreachable; "+what+" until it answers (rate.on_redis_error)", "err", err)
	}
}
