// Package ratelimit is the brief's @rate decorator: a per-caller limit on
// how often an RPC may be called, declared in the proto with
// `option (spartan.v1.rate) = {class: "send"}` and enforced by one Connect
// interceptor, with GCRA semantics (a smooth rate plus a burst) on either
// of two backends: in-process, or shared by every server through Redis.
package ratelimit

import (
	"context"
	"time"
)

// Limit is Rate events per Period, of which Burst may come at once.
type Limit struct {
	Rate   int
	Period time.Duration
	Burst  int
}

// interval is the time one event uses up.
func (l Limit) interval() time.Duration { return l.Period / time.Duration(l.Rate) }

// Result is a limiter's decision.
type Result struct {
	// Allowed says whether the event may happen now.
	Allowed bool
	// RetryAfter is how long to wait before the next event may, when it
	// may not happen now.
	RetryAfter time.Duration
}

// Limiter decides whether one more event of key may happen now under l.
type Limiter interface {
	Allow(ctx context.Context, key string, l Limit) (Result, error)
}
