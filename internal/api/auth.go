package api

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	spartanv1 "github.com/spartan-messenger/spartan/gen/spartan/v1"
	"github.com/spartan-messenger/spartan/internal/auth"
)

// Challenge returns a challenge for the user to sign.
func (h *Handler) Challenge(ctx context.Context, req *connect.Request[spartanv1.ChallengeRequest]) (*connect.Response[spartanv1.ChallengeResponse], error) {
	if err := h.core.CheckUser(req.Msg.GetUser()); err != nil {
		return nil, h.fail(ctx, err)
	}
	ch, err := h.auth.Challenge(req.Msg.GetUser())
	if err != nil {
		return nil, h.fail(ctx, err)
	}
	return connect.NewResponse(&spartanv1.ChallengeResponse{Challenge: ch}), nil
}

// Authenticate checks a signed challenge and issues a session token.
func (h *Handler) Authenticate(ctx context.Context, req *connect.Request[spartanv1.AuthenticateRequest]) (*connect.Response[spartanv1.AuthenticateResponse], error) {
	m := req.Msg
	user := m.GetUser()
	if err := h.core.CheckUser(user); err != nil {
		return nil, h.fail(ctx, err)
	}
	if err := h.auth.CheckChallenge(user, m.GetChallenge()); err != nil {
		if errors.Is(err, auth.ErrExpired) {
			return nil, connect.NewError(connect.CodeUnauthenticated, fmt.Errorf("%w: ask for another", err))
		}
		return nil, connect.NewError(connect.CodeUnauthenticated, fmt.Errorf("%w: sign the one Challenge returned for %s", err, user))
	}
	if len(m.GetPublicKey()) != ed25519.PublicKeySize || !ed25519.Verify(m.GetPublicKey(), auth.SignedMessage(user, m.GetChallenge()), m.GetSignature()) {
		return nil, connect.NewError(connect.CodeUnauthenticated, errors.New("the signature is not the challenge's, signed with that key"))
	}
	if err := h.core.BindAuthKey(ctx, user, m.GetPublicKey()); err != nil {
		return nil, h.fail(ctx, err)
	}
	token, until := h.auth.Token(user)
	return connect.NewResponse(&spartanv1.AuthenticateResponse{Token: token, ExpireTime: timestamppb.New(until)}), nil
}
