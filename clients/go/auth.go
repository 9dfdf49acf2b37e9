package spartan

import (
	"context"
	"crypto/ed25519"
	"net/http"
	"slices"
	"sync"
	"time"

	"connectrpc.com/connect"

	spartanv1 "github.com/spartan-messenger/spartan/gen/spartan/v1"
	"github.com/spartan-messenger/spartan/gen/spartan/v1/spartanv1connect"
	"github.com/spartan-messenger/spartan/internal/auth"
)

// renewBefore is how long before its end a session token is renewed at
// most; a token that lives less than four times as long is renewed after
// three quarters of its life.
const renewBefore = time.Minute

// session logs the client's user in (docs/SECURITY.md, "Authentication")
// and keeps the session token that every call carries. Without a signer it
// adds nothing (a server that does not require logging in).
type session struct {
	c      *Client
	signer ed25519.PrivateKey

	mu      sync.Mutex
	token   string
	renewAt time.Time
}

// current returns a token good for a while, logging in when there is none.
func (s *session) current(ctx context.Context) (string, error) {
	if s.signer == nil {
		return "", nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.token != "" && time.Now().Before(s.renewAt) {
		return s.token, nil
	}
	token, until, err := s.logIn(ctx)
	if err != nil {
		return "", err
	}
	s.token, s.renewAt = token, until.Add(-min(renewBefore, time.Until(until)/4))
	return token, nil
}

// drop forgets token, which the server refused (its secret changed, say).
func (s *session) drop(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.token == token {
		s.token = ""
	}
}

// logIn signs a fresh challenge.
func (s *session) logIn(ctx context.Context) (string, time.Time, error) {
	user := s.c.user
	ch, err := call(s.c, func(r spartanv1connect.ChatServiceClient) func(context.Context, *connect.Request[spartanv1.ChallengeRequest]) (*connect.Response[spartanv1.ChallengeResponse], error) {
		return r.Challenge
	}, ctx, &spartanv1.ChallengeRequest{User: user})
	if err != nil {
		return "", time.Time{}, err
	}
	sig := ed25519.Sign(s.signer, SignedChallenge(user, ch.GetChallenge()))
	res, err := call(s.c, func(r spartanv1connect.ChatServiceClient) func(context.Context, *connect.Request[spartanv1.AuthenticateRequest]) (*connect.Response[spartanv1.AuthenticateResponse], error) {
		return r.Authenticate
	}, ctx, &spartanv1.AuthenticateRequest{User: user, Challenge: ch.GetChallenge(), PublicKey: s.signer.Public().(ed25519.PublicKey), Signature: sig})
	if err != nil {
		return "", time.Time{}, err
	}
	return res.GetToken(), res.GetExpireTime().AsTime(), nil
}

// SignedChallenge is what a client signs to log in as user: the bytes the
// server checks the signature against (docs/SECURITY.md).
func SignedChallenge(user string, challenge []byte) []byte {
	return auth.SignedMessage(user, challenge)
}

// setToken puts the session token in h.
func setToken(h http.Header, token string) {
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
}

// WrapUnary adds the token, and logs in again once when the server no
// longer takes it.
func (s *session) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		if slices.Contains(auth.OpenProcedures, req.Spec().Procedure) {
			return next(ctx, req)
		}
		token, err := s.current(ctx)
		if err != nil {
			return nil, err
		}
		setToken(req.Header(), token)
		res, err := next(ctx, req)
		if token == "" || connect.CodeOf(err) != connect.CodeUnauthenticated {
			return res, err
		}
		s.drop(token)
		if token, err = s.current(ctx); err != nil {
			return nil, err
		}
		setToken(req.Header(), token)
		return next(ctx, req)
	}
}

// WrapStreamingClient adds the token to a stream; a stream the server
// refuses drops it, so that the reconnection logs in again.
func (s *session) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return func(ctx context.Context, spec connect.Spec) connect.StreamingClientConn {
		conn := next(ctx, spec)
		token, err := s.current(ctx)
		if err != nil {
			return &failedConn{StreamingClientConn: conn, err: err}
		}
		setToken(conn.RequestHeader(), token)
		return &tokenConn{StreamingClientConn: conn, s: s, token: token}
	}
}

// WrapStreamingHandler is not used by a client.
func (s *session) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return next
}

// tokenConn drops its token when the server refuses it.
type tokenConn struct {
	connect.StreamingClientConn
	s     *session
	token string
}

func (c *tokenConn) Receive(msg any) error {
	err := c.StreamingClientConn.Receive(msg)
	if connect.CodeOf(err) == connect.CodeUnauthenticated && c.token != "" {
		c.s.drop(c.token)
	}
	return err
}

// failedConn is a stream that could not log in: it fails as logging in did.
type failedConn struct {
	connect.StreamingClientConn
	err error
}

func (c *failedConn) Send(any) error    { return c.err }
func (c *failedConn) Receive(any) error { return c.err }
