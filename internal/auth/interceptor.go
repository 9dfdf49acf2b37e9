package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"connectrpc.com/connect"

	"github.com/spartan-messenger/spartan/gen/spartan/v1/spartanv1connect"
	"github.com/spartan-messenger/spartan/internal/caller"
)

// Header is the request header that carries a session token.
const Header = "Authorization"

// OpenProcedures need no session token: the log-in steps, and the list of
// users a client shows before it logs in (names, no one's data). The
// server's interceptor and the Go client both go by it.
var OpenProcedures = []string{
	spartanv1connect.ChatServiceChallengeProcedure,
	spartanv1connect.ChatServiceAuthenticateProcedure,
	spartanv1connect.ChatServiceListUsersProcedure,
}

// Interceptor proves the caller of every call but the open ones (the
// log-in steps) from its session token, puts the user in the context
// (caller.WithUser), and makes the request's identity field (its "user",
// or ReceiveMsg's "receiver") that user: a request that names someone else
// is PermissionDenied. It is first in the chain, so the rate limit and the
// response cache key on the proven user.
type Interceptor struct {
	a        *Authority
	required bool
	open     map[string]bool
}

// NewInterceptor returns the interceptor. open are the procedures that need
// no token. With required false, a call without a token is let through
// with the user its request names (for tests and trusted networks only); a
// token that is there is checked all the same.
func NewInterceptor(a *Authority, required bool, open ...string) *Interceptor {
	i := &Interceptor{a: a, required: required, open: map[string]bool{}}
	for _, p := range open {
		i.open[p] = true
	}
	return i
}

// prove returns the user the call's token proves, "" for none (allowed
// only when not required), and how long the token stays good.
func (i *Interceptor) prove(header interface{ Get(string) string }) (string, time.Duration, error) {
	value := header.Get(Header)
	if value == "" {
		if i.required {
			return "", 0, connect.NewError(connect.CodeUnauthenticated, errors.New("log in first: this call needs a session token (Challenge, then Authenticate)"))
		}
		return "", 0, nil
	}
	token, ok := strings.CutPrefix(value, "Bearer ")
	if !ok {
		return "", 0, connect.NewError(connect.CodeUnauthenticated, errors.New(`the Authorization header is not "Bearer <token>"`))
	}
	user, left, err := i.a.Session(token)
	if err != nil {
		return "", 0, connect.NewError(connect.CodeUnauthenticated, fmt.Errorf("%w: log in again", err))
	}
	return user, left, nil
}

// bind makes msg's identity field user's.
func bind(msg any, user string) error {
	named, err := caller.Bind(msg, user)
	if err != nil {
		return connect.NewError(connect.CodePermissionDenied, fmt.Errorf("you are %s: a request cannot name %s", user, named))
	}
	return nil
}

// WrapUnary checks unary calls.
func (i *Interceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		if req.Spec().IsClient || i.open[req.Spec().Procedure] {
			return next(ctx, req)
		}
		user, _, err := i.prove(req.Header())
		if err != nil {
			return nil, err
		}
		if user == "" {
			return next(ctx, req)
		}
		if err := bind(req.Any(), user); err != nil {
			return nil, err
		}
		return next(caller.WithUser(ctx, user), req)
	}
}

// WrapStreamingClient leaves client streams alone.
func (i *Interceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

// WrapStreamingHandler checks a stream when it opens, binds its request
// messages as they arrive, and ends it when its token expires: its context
// ends with cause ErrStreamExpired, and the stream with Unauthenticated, so
// that a stolen token does not read for ever through a stream opened while
// it was good. The clients log in again and reopen the stream at once.
func (i *Interceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		if i.open[conn.Spec().Procedure] {
			return next(ctx, conn)
		}
		user, left, err := i.prove(conn.RequestHeader())
		if err != nil {
			return err
		}
		if user == "" {
			return next(ctx, conn)
		}
		sessionCtx, cancel := context.WithTimeoutCause(ctx, left, ErrStreamExpired)
		defer cancel()
		err = next(caller.WithUser(sessionCtx, user), &boundConn{StreamingHandlerConn: conn, user: user})
		if ctx.Err() == nil && errors.Is(context.Cause(sessionCtx), ErrStreamExpired) {
			return connect.NewError(connect.CodeUnauthenticated, ErrStreamExpired)
		}
		return err
	}
}

// ErrStreamExpired is the cause of a stream's context, and its error, when
// the session token it was opened with expires.
var ErrStreamExpired = fmt.Errorf("the session token %w while the stream was open: log in again and reopen it", ErrExpired)

// boundConn binds every request message to the proven user.
type boundConn struct {
	connect.StreamingHandlerConn
	user string
}

func (c *boundConn) Receive(msg any) error {
	if err := c.StreamingHandlerConn.Receive(msg); err != nil {
		return err
	}
	return bind(msg, c.user)
}
