package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/spartan-messenger/spartan/internal/caller"
)

// addressClass is the class whose calls are counted per remote address,
// not per user: logging in proves nothing about who calls yet.
const addressClass = "login"

// Interceptor is the @rate decorator: a full connect.Interceptor that counts
// each call of an RPC with a rate class (a stream when it opens) against its
// caller's limit, and refuses one past it with ResourceExhausted, a
// sentence with the wait, and a google.rpc.RetryInfo detail.
type Interceptor struct {
	classes map[string]string // procedure -> class
	limits  map[string]Limit  // class -> limit
	limiter Limiter
	caller  func(ctx context.Context, request any) string
}

var _ connect.Interceptor = (*Interceptor)(nil)

// New returns the interceptor for the RPCs of services, with a limit for
// each class they declare (an error names a class without one).
func New(services []protoreflect.ServiceDescriptor, limits map[string]Limit, limiter Limiter) (*Interceptor, error) {
	classes, err := Classes(services...)
	if err != nil {
		return nil, err
	}
	for procedure, class := range classes {
		l, ok := limits[class]
		if !ok {
			return nil, fmt.Errorf("%s has rate class %q, which has no limit configured", procedure, class)
		}
		if l.Rate < 1 || l.Period <= 0 || l.Burst < 1 {
			return nil, fmt.Errorf("rate class %q: %d per %s with a burst of %d is not a limit", class, l.Rate, l.Period, l.Burst)
		}
	}
	return &Interceptor{classes: classes, limits: limits, limiter: limiter, caller: caller.Of}, nil
}

// WrapUnary checks unary calls.
func (i *Interceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		if req.Spec().IsClient {
			return next(ctx, req)
		}
		if err := i.check(ctx, req.Spec().Procedure, req.Any(), req.Peer()); err != nil {
			return nil, err
		}
		return next(ctx, req)
	}
}

// WrapStreamingClient leaves client streams alone.
func (i *Interceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

// WrapStreamingHandler counts a stream when it opens, its caller read from
// the first request message; a stream of requests (a client or bidi stream)
// counts each request, as that many unary calls would.
func (i *Interceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		if _, ok := i.classes[conn.Spec().Procedure]; !ok {
			return next(ctx, conn)
		}
		return next(ctx, &checkedConn{StreamingHandlerConn: conn, ctx: ctx, i: i})
	}
}

// checkedConn checks the rate limit when the stream's request arrives, or
// each request of a stream of them.
type checkedConn struct {
	connect.StreamingHandlerConn
	ctx     context.Context
	i       *Interceptor
	checked bool
}

func (c *checkedConn) Receive(msg any) error {
	if err := c.StreamingHandlerConn.Receive(msg); err != nil {
		return err
	}
	if c.checked && c.Spec().StreamType&connect.StreamTypeClient == 0 {
		return nil
	}
	c.checked = true
	return c.i.check(c.ctx, c.Spec().Procedure, msg, c.Peer())
}

// check counts one call of procedure, whose request message is msg, and
// refuses it past its limit.
func (i *Interceptor) check(ctx context.Context, procedure string, msg any, peer connect.Peer) error {
	class, ok := i.classes[procedure]
	if !ok {
		return nil
	}
	l := i.limits[class]
	who := i.caller(ctx, msg)
	key := class + "/user/" + who
	if class == addressClass || who == "" {
		who = ""
		key = class + "/addr/" + caller.Address(peer)
	}
	res, err := i.limiter.Allow(ctx, key, l)
	if errors.Is(err, ErrUnavailable) {
		return connect.NewError(connect.CodeUnavailable, errors.New("the server cannot check the rate limit right now; try again shortly"))
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return connect.NewError(connect.CodeDeadlineExceeded, errors.New("the call's deadline passed while checking its rate limit"))
	case errors.Is(err, context.Canceled):
		return connect.NewError(connect.CodeCanceled, errors.New("the call was cancelled while checking its rate limit"))
	case err != nil:
		return connect.NewError(connect.CodeInternal, fmt.Errorf("rate limit: %w", err))
	}
	if res.Allowed {
		return nil
	}
	return refusal(class, who, l, res.RetryAfter)
}

// refusal is the ResourceExhausted error for a call past its limit.
func refusal(class, who string, l Limit, wait time.Duration) error {
	if who == "" {
		who = "this address"
	}
	wait = max(wait, time.Millisecond)
	err := connect.NewError(connect.CodeResourceExhausted, fmt.Errorf("%s may %s; try again in %s s",
		who, allowance(class, l), seconds(wait)))
	if detail, derr := connect.NewErrorDetail(&errdetails.RetryInfo{RetryDelay: durationpb.New(wait)}); derr == nil {
		err.AddDetail(detail)
	}
	return err
}

// verbs say what a class's calls do, for the refusal's sentence.
var verbs = map[string][3]string{ // class -> {verb, one, many}
	"send":    {"send", "message", "messages"},
	"request": {"make", "chat request or answer", "chat requests or answers"},
	"login":   {"log in", "time", "times"},
	"stream":  {"open", "stream", "streams"},
	"ack":     {"acknowledge", "time", "times"},
	"keys":    {"publish or fetch", "key", "keys"},
}

// allowance words a limit: "send 15 messages a second".
func allowance(class string, l Limit) string {
	v, ok := verbs[class]
	if !ok {
		v = [3]string{"make", class + " call", class + " calls"}
	}
	rate, period := l.Rate, l.Period
	// 450 per 30 s reads better as 15 a second.
	for _, unit := range []time.Duration{time.Second, time.Minute} {
		if n := int(period / unit); period > unit && period%unit == 0 && rate%n == 0 {
			rate, period = rate/n, unit
			break
		}
	}
	noun := v[2]
	if rate == 1 {
		noun = v[1]
	}
	return fmt.Sprintf("%s %d %s %s", v[0], rate, noun, per(period))
}

// per words a period: "a second", "per 30 seconds", "a minute".
func per(d time.Duration) string {
	switch d {
	case time.Second:
		return "a second"
	case time.Minute:
		return "a minute"
	case time.Hour:
		return "an hour"
	}
	return "per " + d.String()
}

// seconds is a wait rounded up to a tenth of a second: "0.4".
func seconds(d time.Duration) string {
	return fmt.Sprintf("%.1f", math.Ceil(d.Seconds()*10)/10)
}
