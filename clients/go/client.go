// Package spartan is the Go client library of Spartan Messenger: a typed
// wrapper over the generated Connect client that speaks plain gRPC over
// HTTP/2, logs a user in, and follows the user's inbox across dropped
// connections without gaps or duplicates.
package spartan

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"strings"

	"connectrpc.com/connect"
	"github.com/google/uuid"

	spartanv1 "github.com/spartan-messenger/spartan/gen/spartan/v1"
	"github.com/spartan-messenger/spartan/gen/spartan/v1/spartanv1connect"
)

// Client talks to one Spartan server as one user. It is safe for concurrent use.
type Client struct {
	rpc  spartanv1connect.ChatServiceClient
	user string
	addr string
}

// New returns a client of the server at addr (host:port, or a URL) acting as user.
// It does not connect until the first call.
func New(addr, user string) *Client {
	protocols := new(http.Protocols)
	protocols.SetUnencryptedHTTP2(true)
	httpClient := &http.Client{Transport: &http.Transport{
		Protocols:   protocols,
		DialContext: (&net.Dialer{}).DialContext,
		// Plaintext until TLS lands; the field is here so that switch is one line.
		TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS12},
	}}
	base := addr
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	return &Client{
		rpc:  spartanv1connect.NewChatServiceClient(httpClient, base, connect.WithGRPC()),
		user: user,
		addr: addr,
	}
}

// User is the user this client acts as.
func (c *Client) User() string { return c.user }

// Addr is the server address the client was made with.
func (c *Client) Addr() string { return c.addr }

// Login checks the user and returns the other users and the open chat requests.
func (c *Client) Login(ctx context.Context) (*spartanv1.LoginResponse, error) {
	res, err := c.rpc.Login(ctx, connect.NewRequest(&spartanv1.LoginRequest{User: c.user}))
	if err != nil {
		return nil, err
	}
	return res.Msg, nil
}

// ListUsers returns every user of the server, in configuration order.
func (c *Client) ListUsers(ctx context.Context) ([]string, error) {
	res, err := c.rpc.ListUsers(ctx, connect.NewRequest(&spartanv1.ListUsersRequest{}))
	if err != nil {
		return nil, err
	}
	return res.Msg.GetUsers(), nil
}

// RequestChat asks peer to chat and returns where the conversation stands
// and whether peer is online.
func (c *Client) RequestChat(ctx context.Context, peer string) (*spartanv1.RequestChatResponse, error) {
	res, err := c.rpc.RequestChat(ctx, connect.NewRequest(&spartanv1.RequestChatRequest{User: c.user, Peer: peer}))
	if err != nil {
		return nil, err
	}
	return res.Msg, nil
}

// AnswerChat accepts or declines peer's chat request.
func (c *Client) AnswerChat(ctx context.Context, peer string, accept bool) (*spartanv1.AnswerChatResponse, error) {
	res, err := c.rpc.AnswerChat(ctx, connect.NewRequest(&spartanv1.AnswerChatRequest{User: c.user, Peer: peer, Accept: accept}))
	if err != nil {
		return nil, err
	}
	return res.Msg, nil
}

// NewMessageID returns a fresh id for a message to send (a random UUID).
// Make one per message and send it again with every retry of that message:
// the server stores the message once however often it arrives.
func NewMessageID() string { return uuid.NewString() }

// SendText sends a text message to receiver. id is the message's
// NewMessageID, the same on every retry of it ("" for none).
func (c *Client) SendText(ctx context.Context, receiver, text, id string) (*spartanv1.SendMsgResponse, error) {
	res, err := c.rpc.SendMsg(ctx, connect.NewRequest(&spartanv1.SendMsgRequest{
		User:        c.user,
		Receiver:    receiver,
		Payload:     []byte(text),
		Encryption:  spartanv1.Encryption_ENCRYPTION_PLAINTEXT,
		ClientMsgId: id,
	}))
	if err != nil {
		return nil, err
	}
	return res.Msg, nil
}

// History returns up to n of the newest messages of the conversation with
// peer before sequence number before (0: the newest), oldest first, and the
// before of the next older page (0 if none).
func (c *Client) History(ctx context.Context, peer string, before uint64, n int) ([]*spartanv1.Message, uint64, error) {
	res, err := c.rpc.History(ctx, connect.NewRequest(&spartanv1.HistoryRequest{
		User: c.user, Peer: peer, BeforeSeq: before, PageSize: uint32(max(n, 0)),
	}))
	if err != nil {
		return nil, 0, err
	}
	return res.Msg.GetMessages(), res.Msg.GetNextBeforeSeq(), nil
}

// Ack records that the user has shown the inbox up to seq, counted in epoch
// (Message.epoch; "" skips the check).
func (c *Client) Ack(ctx context.Context, epoch string, seq uint64) error {
	_, err := c.rpc.Ack(ctx, connect.NewRequest(&spartanv1.AckRequest{User: c.user, Seq: seq, Epoch: epoch}))
	return err
}

// Text returns a text message's payload as text.
func Text(m *spartanv1.Message) string { return string(m.GetPayload()) }
