package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	spartanv1 "github.com/spartan-messenger/spartan/gen/spartan/v1"
	"github.com/spartan-messenger/spartan/gen/spartan/v1/spartanv1connect"
	"github.com/spartan-messenger/spartan/internal/auth"
	"github.com/spartan-messenger/spartan/internal/chat"
	"github.com/spartan-messenger/spartan/internal/streamflush"
)

// Handler implements spartanv1connect.ChatServiceHandler over the chat core.
type Handler struct {
	core *chat.Service
	// stopping ends every open stream when it is done: the server is shutting down.
	stopping context.Context
	log      *slog.Logger
	auth     *auth.Authority
}

var _ spartanv1connect.ChatServiceHandler = (*Handler)(nil)

// NewHandler returns a Handler over core, logging users in with authority.
// Streams end, with the code Unavailable, once stopping is done. Internal
// errors are logged to log.
func NewHandler(core *chat.Service, authority *auth.Authority, stopping context.Context, log *slog.Logger) *Handler {
	return &Handler{core: core, auth: authority, stopping: stopping, log: log}
}

// Login checks the user and returns the other users and open chat requests.
func (h *Handler) Login(ctx context.Context, req *connect.Request[spartanv1.LoginRequest]) (*connect.Response[spartanv1.LoginResponse], error) {
	sess, err := h.core.Login(ctx, req.Msg.GetUser())
	if err != nil {
		return nil, h.fail(ctx, err)
	}
	groups, err := h.core.Groups(ctx, req.Msg.GetUser())
	if err != nil {
		return nil, h.fail(ctx, err)
	}
	names := make([]string, len(groups))
	for i, g := range groups {
		names[i] = g.Name
	}
	return connect.NewResponse(&spartanv1.LoginResponse{
		User:            req.Msg.GetUser(),
		Others:          sess.Others,
		MaxMessageBytes: uint32(h.core.MaxPayload()),
		ChatRequests:    sess.Requests,
		Online:          sess.Online,
		Groups:          names,
	}), nil
}

// ListUsers returns every configured user.
func (h *Handler) ListUsers(_ context.Context, _ *connect.Request[spartanv1.ListUsersRequest]) (*connect.Response[spartanv1.ListUsersResponse], error) {
	return connect.NewResponse(&spartanv1.ListUsersResponse{Users: h.core.Users()}), nil
}

// RequestChat asks a peer to chat.
func (h *Handler) RequestChat(ctx context.Context, req *connect.Request[spartanv1.RequestChatRequest]) (*connect.Response[spartanv1.RequestChatResponse], error) {
	state, err := h.core.RequestChat(ctx, req.Msg.GetUser(), req.Msg.GetPeer())
	if err != nil {
		return nil, h.fail(ctx, err)
	}
	online, err := h.core.Online(ctx, req.Msg.GetPeer())
	if err != nil {
		return nil, h.fail(ctx, err)
	}
	return connect.NewResponse(&spartanv1.RequestChatResponse{State: conversationState(state), PeerOnline: online}), nil
}

// AnswerChat accepts or declines a chat request.
func (h *Handler) AnswerChat(ctx context.Context, req *connect.Request[spartanv1.AnswerChatRequest]) (*connect.Response[spartanv1.AnswerChatResponse], error) {
	state, n, err := h.core.AnswerChat(ctx, req.Msg.GetUser(), req.Msg.GetPeer(), req.Msg.GetAccept())
	if err != nil {
		return nil, h.fail(ctx, err)
	}
	return connect.NewResponse(&spartanv1.AnswerChatResponse{State: conversationState(state), Released: uint32(n)}), nil
}

// SendMsg stores and delivers one message.
func (h *Handler) SendMsg(ctx context.Context, req *connect.Request[spartanv1.SendMsgRequest]) (*connect.Response[spartanv1.SendMsgResponse], error) {
	res, err := h.send(ctx, req.Msg)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(res), nil
}

// send stores and delivers one message, to a receiver or to a group.
func (h *Handler) send(ctx context.Context, m *spartanv1.SendMsgRequest) (*spartanv1.SendMsgResponse, error) {
	res, err := h.sendBatch(ctx, m.GetUser(), []*spartanv1.SendMsgRequest{m})
	if err != nil {
		return nil, err
	}
	return res[0], nil
}

// sendBatch stores and delivers user's messages in one store transaction
// (chat.Service.SendBatch): it answers a prefix of msgs, all of them or
// those before the first refused, whose refusal is the error.
func (h *Handler) sendBatch(ctx context.Context, user string, msgs []*spartanv1.SendMsgRequest) ([]*spartanv1.SendMsgResponse, error) {
	// payload and encryption are the clients' business (docs/SECURITY.md):
	// the server checks the payload's size, and keeps both as they came.
	out := make([]chat.Outgoing, len(msgs))
	for i, m := range msgs {
		out[i] = chat.Outgoing{Receiver: m.GetReceiver(), Group: m.GetGroup(), Payload: m.GetPayload(), Encryption: int32(m.GetEncryption()), ClientID: m.GetClientMsgId()}
	}
	sent, err := h.core.SendBatch(ctx, user, out)
	res := make([]*spartanv1.SendMsgResponse, len(sent))
	for i, s := range sent {
		res[i] = &spartanv1.SendMsgResponse{Id: s.Event.ID, SentTime: timestamppb.New(s.Event.SentAt), Pending: s.Pending}
	}
	return res, h.fail(ctx, err)
}

// ReceiveMsg streams the receiver's inbox after the request's seq, then live.
func (h *Handler) ReceiveMsg(ctx context.Context, req *connect.Request[spartanv1.Message], stream *connect.ServerStream[spartanv1.Message]) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(h.stopping, cancel)
	defer stop()
	// Send the response headers at once, not with the first message: clients
	// such as connect-go's block in ReceiveMsg until headers arrive, and an
	// inbox with nothing new would otherwise leave them hanging there.
	if err := stream.Send(nil); err != nil {
		return h.fail(ctx, fmt.Errorf("open the stream of %s: %w", req.Msg.GetReceiver(), err))
	}
	err := h.core.Receive(ctx, req.Msg.GetReceiver(), req.Msg.GetSeq(), req.Msg.GetEpoch(), func(batch []chat.Event) error {
		// One flush for the batch, not one per message.
		release := streamflush.Hold(ctx)
		defer release()
		for i := range batch {
			if batch[i].Kind == chat.KindPresence && h.stopping.Err() != nil {
				// The server is stopping and its streams close one by one:
				// that is not their users going offline.
				continue
			}
			if err := stream.Send(toMessage(&batch[i])); err != nil {
				return fmt.Errorf("send to %s: %w", req.Msg.GetReceiver(), err)
			}
		}
		return nil
	})
	if h.stopping.Err() != nil || ctx.Err() != nil {
		return h.ended(ctx)
	}
	return h.fail(ctx, err)
}

// Ack records how far a user has read.
func (h *Handler) Ack(ctx context.Context, req *connect.Request[spartanv1.AckRequest]) (*connect.Response[spartanv1.AckResponse], error) {
	if err := h.core.Ack(ctx, req.Msg.GetUser(), req.Msg.GetSeq(), req.Msg.GetEpoch()); err != nil {
		return nil, h.fail(ctx, err)
	}
	return connect.NewResponse(&spartanv1.AckResponse{}), nil
}

// PublishKey records the caller's public identity key.
func (h *Handler) PublishKey(ctx context.Context, req *connect.Request[spartanv1.PublishKeyRequest]) (*connect.Response[spartanv1.PublishKeyResponse], error) {
	changed, err := h.core.PublishKey(ctx, req.Msg.GetUser(), req.Msg.GetPublicKey())
	if err != nil {
		return nil, h.fail(ctx, err)
	}
	return connect.NewResponse(&spartanv1.PublishKeyResponse{Changed: changed}), nil
}

// GetKey returns a user's public identity key.
func (h *Handler) GetKey(ctx context.Context, req *connect.Request[spartanv1.GetKeyRequest]) (*connect.Response[spartanv1.GetKeyResponse], error) {
	key, err := h.core.GetKey(ctx, req.Msg.GetUser(), req.Msg.GetPeer())
	if err != nil {
		return nil, h.fail(ctx, err)
	}
	return connect.NewResponse(&spartanv1.GetKeyResponse{PublicKey: key}), nil
}

// GetKeys returns several users' public identity keys.
func (h *Handler) GetKeys(ctx context.Context, req *connect.Request[spartanv1.GetKeysRequest]) (*connect.Response[spartanv1.GetKeysResponse], error) {
	keys, err := h.core.GetKeys(ctx, req.Msg.GetUser(), req.Msg.GetPeers())
	if err != nil {
		return nil, h.fail(ctx, err)
	}
	return connect.NewResponse(&spartanv1.GetKeysResponse{Keys: keys}), nil
}

// History returns one page of a conversation.
func (h *Handler) History(ctx context.Context, req *connect.Request[spartanv1.HistoryRequest]) (*connect.Response[spartanv1.HistoryResponse], error) {
	m := req.Msg
	var (
		page []chat.Event
		next uint64
		err  error
	)
	switch {
	case m.GetGroup() != "" && m.GetPeer() != "":
		return nil, connect.NewError(connect.CodeInvalidArgument, errors.New("history is of a peer or of a group, not both"))
	case m.GetGroup() != "":
		page, next, err = h.core.GroupHistory(ctx, m.GetUser(), m.GetGroup(), m.GetBeforeSeq(), int(m.GetPageSize()))
	default:
		page, next, err = h.core.History(ctx, m.GetUser(), m.GetPeer(), m.GetBeforeSeq(), int(m.GetPageSize()))
	}
	if err != nil {
		return nil, h.fail(ctx, err)
	}
	out := &spartanv1.HistoryResponse{NextBeforeSeq: next, Messages: make([]*spartanv1.Message, len(page))}
	for i := range page {
		out.Messages[i] = toMessage(&page[i])
	}
	return connect.NewResponse(out), nil
}
