// Package spartan is the Go client library of Spartan Messenger: a typed
// wrapper over the generated Connect client that speaks plain gRPC over
// HTTP/2, logs a user in, and follows the user's inbox across dropped
// connections without gaps or duplicates.
package spartan

import (
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"net"
	"net/http"
	"strings"
	"sync/atomic"

	"connectrpc.com/connect"
	"github.com/google/uuid"

	spartanv1 "github.com/spartan-messenger/spartan/gen/spartan/v1"
	"github.com/spartan-messenger/spartan/gen/spartan/v1/spartanv1connect"
)

// Client talks to a Spartan server, or to any of the servers of one
// cluster, as one user. It is safe for concurrent use.
type Client struct {
	servers []server
	cur     atomic.Int64 // index of the server in use
	user    string
	session *session
	sends   *sendPipe
}

// server is one server the client may use.
type server struct {
	addr string
	rpc  spartanv1connect.ChatServiceClient
}

// Option configures a Client.
type Option func(*options)

type options struct {
	signer ed25519.PrivateKey
	tls    *tls.Config
	http   *http.Client
	unary  bool
}

// WithSigner logs the user in with key, their Ed25519 identity key
// (docs/SECURITY.md, "Authentication"): the client asks for a challenge,
// signs it, and sends the session token with every call, logging in again
// before it ends or when a server no longer takes it. Without it, calls go
// without a token (a server that does not require one).
func WithSigner(key ed25519.PrivateKey) Option { return func(o *options) { o.signer = key } }

// WithTLS talks to the servers over TLS with cfg (nil: the system's roots),
// for addresses given as host:port; an https:// URL is TLS anyway.
func WithTLS(cfg *tls.Config) Option {
	return func(o *options) {
		if cfg == nil {
			cfg = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		o.tls = cfg
	}
}

// WithUnarySend makes every send a SendMsg call of its own, even while
// others are in flight (by default those share one SendMsgStream).
func WithUnarySend() Option { return func(o *options) { o.unary = true } }

// WithHTTPClient makes the calls with h instead of the client's own (which
// speaks HTTP/2, cleartext or TLS as the address says).
func WithHTTPClient(h *http.Client) Option { return func(o *options) { o.http = h } }

// New returns a client acting as user of the server at addr (host:port, or
// a URL). A comma-separated list names several servers of one cluster: the
// client uses the first, and moves to the next when the one it uses cannot
// be reached. It does not connect until the first call.
func New(addr, user string, opts ...Option) *Client {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	scheme := "http://"
	if o.tls != nil {
		scheme = "https://"
	}
	httpClient := o.http
	if httpClient == nil {
		protocols := new(http.Protocols)
		protocols.SetUnencryptedHTTP2(true)
		protocols.SetHTTP2(true)
		tlsConfig := o.tls
		if tlsConfig == nil {
			tlsConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		httpClient = &http.Client{Transport: &http.Transport{
			Protocols:       protocols,
			DialContext:     (&net.Dialer{}).DialContext,
			TLSClientConfig: tlsConfig,
		}}
	}
	c := &Client{user: user}
	c.session = &session{c: c, signer: o.signer}
	c.sends = &sendPipe{c: c, unary: o.unary}
	clientOpts := []connect.ClientOption{connect.WithGRPC(), connect.WithInterceptors(c.session)}
	for _, a := range strings.Split(addr, ",") {
		a = strings.TrimSpace(a)
		if a == "" {
			continue
		}
		base := a
		if !strings.Contains(base, "://") {
			base = scheme + base
		}
		c.servers = append(c.servers, server{addr: a, rpc: spartanv1connect.NewChatServiceClient(httpClient, base, clientOpts...)})
	}
	if len(c.servers) == 0 {
		c.servers = []server{{addr: addr, rpc: spartanv1connect.NewChatServiceClient(httpClient, scheme+addr, clientOpts...)}}
	}
	return c
}

// User is the user this client acts as.
func (c *Client) User() string { return c.user }

// Addr is the address of the server the client uses now.
func (c *Client) Addr() string { return c.servers[c.cur.Load()].addr }

// rpc is the server in use.
func (c *Client) rpc() spartanv1connect.ChatServiceClient { return c.servers[c.cur.Load()].rpc }

// invoke calls fn on the server in use; when that server cannot be reached
// (Unavailable), it moves to the next one and calls again, once around the
// list. Every call of ours may be repeated on another server: sends carry
// their client_msg_id.
func invoke[T any](c *Client, fn func(rpc spartanv1connect.ChatServiceClient) (T, error)) (T, error) {
	var (
		res T
		err error
	)
	for range len(c.servers) {
		at := c.cur.Load()
		if res, err = fn(c.servers[at].rpc); connect.CodeOf(err) != connect.CodeUnavailable || len(c.servers) == 1 {
			return res, err
		}
		c.cur.CompareAndSwap(at, (at+1)%int64(len(c.servers)))
	}
	return res, err
}

// Login checks the user and returns the other users and the open chat requests.
func (c *Client) Login(ctx context.Context) (*spartanv1.LoginResponse, error) {
	return invoke(c, func(rpc spartanv1connect.ChatServiceClient) (*spartanv1.LoginResponse, error) {
		res, err := rpc.Login(ctx, connect.NewRequest(&spartanv1.LoginRequest{User: c.user}))
		if err != nil {
			return nil, err
		}
		return res.Msg, nil
	})
}

// ListUsers returns every user of the server, in configuration order.
func (c *Client) ListUsers(ctx context.Context) ([]string, error) {
	return invoke(c, func(rpc spartanv1connect.ChatServiceClient) ([]string, error) {
		res, err := rpc.ListUsers(ctx, connect.NewRequest(&spartanv1.ListUsersRequest{}))
		if err != nil {
			return nil, err
		}
		return res.Msg.GetUsers(), nil
	})
}

// RequestChat asks peer to chat and returns where the conversation stands
// and whether peer is online.
func (c *Client) RequestChat(ctx context.Context, peer string) (*spartanv1.RequestChatResponse, error) {
	return invoke(c, func(rpc spartanv1connect.ChatServiceClient) (*spartanv1.RequestChatResponse, error) {
		res, err := rpc.RequestChat(ctx, connect.NewRequest(&spartanv1.RequestChatRequest{User: c.user, Peer: peer}))
		if err != nil {
			return nil, err
		}
		return res.Msg, nil
	})
}

// AnswerChat accepts or declines peer's chat request.
func (c *Client) AnswerChat(ctx context.Context, peer string, accept bool) (*spartanv1.AnswerChatResponse, error) {
	return invoke(c, func(rpc spartanv1connect.ChatServiceClient) (*spartanv1.AnswerChatResponse, error) {
		res, err := rpc.AnswerChat(ctx, connect.NewRequest(&spartanv1.AnswerChatRequest{User: c.user, Peer: peer, Accept: accept}))
		if err != nil {
			return nil, err
		}
		return res.Msg, nil
	})
}

// NewMessageID returns a fresh id for a message to send (a random UUID).
// Make one per message and send it again with every retry of that message:
// the server stores the message once however often it arrives.
func NewMessageID() string { return uuid.NewString() }

// SendText sends a text message to receiver, unencrypted: the server can
// read it (Crypto.SendText seals it). id is the message's NewMessageID, the
// same on every retry of it ("" for none).
func (c *Client) SendText(ctx context.Context, receiver, text, id string) (*spartanv1.SendMsgResponse, error) {
	return c.Send(ctx, &spartanv1.SendMsgRequest{
		Receiver:    receiver,
		Payload:     []byte(text),
		Encryption:  spartanv1.Encryption_ENCRYPTION_PLAINTEXT,
		ClientMsgId: id,
	})
}

// Send sends req as the client's user (it sets req.User). It is safe to call
// from many goroutines: while more than one send is in flight, they share
// one SendMsgStream (unless the client was made WithUnarySend), with the same
// answers and errors as SendMsg's.
func (c *Client) Send(ctx context.Context, req *spartanv1.SendMsgRequest) (*spartanv1.SendMsgResponse, error) {
	req.User = c.user
	return c.sends.send(ctx, req)
}

// sendUnary sends req with one SendMsg call.
func (c *Client) sendUnary(ctx context.Context, req *spartanv1.SendMsgRequest) (*spartanv1.SendMsgResponse, error) {
	return invoke(c, func(rpc spartanv1connect.ChatServiceClient) (*spartanv1.SendMsgResponse, error) {
		res, err := rpc.SendMsg(ctx, connect.NewRequest(req))
		if err != nil {
			return nil, err
		}
		return res.Msg, nil
	})
}

// History returns up to n of the newest messages of the conversation with
// peer before sequence number before (0: the newest), oldest first, and the
// before of the next older page (0 if none).
func (c *Client) History(ctx context.Context, peer string, before uint64, n int) ([]*spartanv1.Message, uint64, error) {
	req := &spartanv1.HistoryRequest{User: c.user, Peer: peer, BeforeSeq: before, PageSize: uint32(max(n, 0))}
	res, err := invoke(c, func(rpc spartanv1connect.ChatServiceClient) (*spartanv1.HistoryResponse, error) {
		res, err := rpc.History(ctx, connect.NewRequest(req))
		if err != nil {
			return nil, err
		}
		return res.Msg, nil
	})
	if err != nil {
		return nil, 0, err
	}
	return res.GetMessages(), res.GetNextBeforeSeq(), nil
}

// Ack records that the user has shown the inbox up to seq, counted in epoch
// (Message.epoch; "" skips the check).
func (c *Client) Ack(ctx context.Context, epoch string, seq uint64) error {
	_, err := invoke(c, func(rpc spartanv1connect.ChatServiceClient) (*connect.Response[spartanv1.AckResponse], error) {
		return rpc.Ack(ctx, connect.NewRequest(&spartanv1.AckRequest{User: c.user, Seq: seq, Epoch: epoch}))
	})
	return err
}

// PublishKey publishes the user's public identity key (docs/SECURITY.md)
// and says whether the server's copy changed.
func (c *Client) PublishKey(ctx context.Context, public []byte) (bool, error) {
	return invoke(c, func(rpc spartanv1connect.ChatServiceClient) (bool, error) {
		res, err := rpc.PublishKey(ctx, connect.NewRequest(&spartanv1.PublishKeyRequest{User: c.user, PublicKey: public}))
		if err != nil {
			return false, err
		}
		return res.Msg.GetChanged(), nil
	})
}

// GetKey fetches peer's public identity key; NotFound until peer has one.
func (c *Client) GetKey(ctx context.Context, peer string) ([]byte, error) {
	return invoke(c, func(rpc spartanv1connect.ChatServiceClient) ([]byte, error) {
		res, err := rpc.GetKey(ctx, connect.NewRequest(&spartanv1.GetKeyRequest{User: c.user, Peer: peer}))
		if err != nil {
			return nil, err
		}
		return res.Msg.GetPublicKey(), nil
	})
}

// Text returns a text message's payload as text.
func Text(m *spartanv1.Message) string { return string(m.GetPayload()) }
