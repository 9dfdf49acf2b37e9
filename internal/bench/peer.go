package bench

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	spartan "github.com/spartan-messenger/spartan/clients/go"
	"github.com/spartan-messenger/spartan/clients/go/e2e"
	"github.com/spartan-messenger/spartan/clients/go/keystore"
	spartanv1 "github.com/spartan-messenger/spartan/gen/spartan/v1"
	"github.com/spartan-messenger/spartan/gen/spartan/v1/spartanv1connect"
)

// stampDigits is the width of the send time written at the start of every
// text: nanoseconds since 1970, zero-padded.
const stampDigits = 20

// Stamp is the text of a message sent at t: t in nanoseconds since 1970,
// then dots up to size bytes (at least the stamp).
func Stamp(t time.Time, size int) []byte {
	b := make([]byte, max(size, stampDigits))
	copy(b, fmt.Sprintf("%0*d", stampDigits, t.UnixNano()))
	for i := stampDigits; i < len(b); i++ {
		b[i] = '.'
	}
	return b
}

// ParseStamp reads the send time at the start of a text.
func ParseStamp(b []byte) (time.Time, error) {
	if len(b) < stampDigits {
		return time.Time{}, fmt.Errorf("a text of %d bytes has no send time", len(b))
	}
	ns, err := strconv.ParseInt(string(b[:stampDigits]), 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("send time %q: %w", b[:stampDigits], err)
	}
	return time.Unix(0, ns), nil
}

// peer is one user's connection, as the driver uses it.
type peer interface {
	// send sends to the user to a text stamped with at.
	send(ctx context.Context, to string, at time.Time) error
	// receive follows the user's inbox until ctx ends: ready is called once
	// the stream is open, got with the send time of every text that arrives.
	receive(ctx context.Context, ready func(), got func(at time.Time)) error
	// close lets the connection go, once receive has returned.
	close()
}

// groupPeer is a peer that can post to a group.
type groupPeer interface {
	peer
	post(ctx context.Context, group string, at time.Time) error
}

// spartanPeer is a user of spartan-server on clients/go, as a real client:
// it logs in with its Ed25519 key (bound on first use), publishes its
// identity key, seals every text for its receiver (Crypto.SendText,
// Crypto.PostText) and opens every text it gets (Crypto.Open) before it
// reads the send time in it.
type spartanPeer struct {
	c    *spartan.Client
	x    *spartan.Crypto
	size int
}

// dialSpartan opens user's keystore in keys (made on first use) and a client
// of the server at addr.
func dialSpartan(ctx context.Context, addr, user, keys string, size int, opts ...spartan.Option) (*spartanPeer, error) {
	ks, _, err := keystore.Open(filepath.Join(keys, user), user)
	if err != nil {
		return nil, fmt.Errorf("keystore of %s: %w", user, err)
	}
	c := spartan.New(addr, user, append([]spartan.Option{spartan.WithSigner(ks.Signer())}, opts...)...)
	x := spartan.NewCrypto(c, ks, nil)
	if err := x.Publish(ctx); err != nil {
		return nil, fmt.Errorf("%s logs in and publishes a key on %s: %w", user, addr, err)
	}
	return &spartanPeer{c: c, x: x, size: size}, nil
}

// befriend makes from and to able to write each other: from asks, to
// accepts.
func befriend(ctx context.Context, from, to *spartanPeer) error {
	if _, err := from.c.RequestChat(ctx, to.c.User()); err != nil {
		return fmt.Errorf("%s asks %s to chat: %w", from.c.User(), to.c.User(), err)
	}
	if _, err := to.c.AnswerChat(ctx, from.c.User(), true); err != nil {
		return fmt.Errorf("%s accepts %s: %w", to.c.User(), from.c.User(), err)
	}
	return nil
}

func (p *spartanPeer) send(ctx context.Context, to string, at time.Time) error {
	_, err := p.x.SendText(ctx, to, string(Stamp(at, p.size)), spartan.NewMessageID())
	return err
}

func (p *spartanPeer) post(ctx context.Context, group string, at time.Time) error {
	_, err := p.x.PostText(ctx, group, string(Stamp(at, p.size)), spartan.NewMessageID())
	return err
}

// close does nothing: clients/go has no Close; the connection goes with
// the server, or idle.
func (p *spartanPeer) close() {}

func (p *spartanPeer) receive(ctx context.Context, ready func(), got func(time.Time)) error {
	sub := p.c.Subscribe(ctx, spartan.SubscribeOptions{})
	first := true
	for u := range sub.C {
		m := u.Message
		if m == nil {
			continue
		}
		if first {
			// The stream opens with the others' presence.
			first = false
			ready()
		}
		switch m.GetType() {
		case spartanv1.MessageType_MESSAGE_TYPE_GROUP_KEY:
			if err := p.x.AcceptGroupKey(ctx, m); err != nil {
				return fmt.Errorf("%s takes a group key from %s: %w", p.c.User(), m.GetSender(), err)
			}
		case spartanv1.MessageType_MESSAGE_TYPE_TEXT:
			if m.GetSender() == p.c.User() {
				continue
			}
			opened, err := p.x.Open(ctx, m)
			if err != nil {
				return fmt.Errorf("%s opens a text from %s: %w", p.c.User(), m.GetSender(), err)
			}
			at, err := ParseStamp([]byte(opened.Text))
			if err != nil {
				return err
			}
			got(at)
			sub.Ack(m)
		}
	}
	return sub.Err()
}

// relayPayload is the size of what a relay peer sends: a sealed text of the
// same length as Spartan's, so that the same bytes cross the wire.
func relayPayload(size int) int { return size + e2e.Overhead }

// h2cClient is an HTTP client of its own (one connection) speaking HTTP/2
// without TLS.
func h2cClient() *http.Client {
	protocols := new(http.Protocols)
	protocols.SetUnencryptedHTTP2(true)
	return &http.Client{Transport: &http.Transport{Protocols: protocols}}
}

// connectPeer drives the relay with the generated connect-go client (gRPC
// protocol): no log-in, no encryption, payloads sent as they are.
type connectPeer struct {
	user string
	http *http.Client
	rpc  spartanv1connect.ChatServiceClient
	size int
}

func dialConnect(addr, user string, size int) *connectPeer {
	h := h2cClient()
	return &connectPeer{user: user, size: relayPayload(size), http: h,
		rpc: spartanv1connect.NewChatServiceClient(h, "http://"+addr, connect.WithGRPC())}
}

func (p *connectPeer) close() { p.http.CloseIdleConnections() }

func (p *connectPeer) send(ctx context.Context, to string, at time.Time) error {
	_, err := p.rpc.SendMsg(ctx, connect.NewRequest(&spartanv1.SendMsgRequest{User: p.user, Receiver: to, Payload: Stamp(at, p.size)}))
	return err
}

func (p *connectPeer) receive(ctx context.Context, ready func(), got func(time.Time)) error {
	st, err := p.rpc.ReceiveMsg(ctx, connect.NewRequest(&spartanv1.Message{Receiver: p.user}))
	if err != nil {
		return fmt.Errorf("%s opens a stream: %w", p.user, err)
	}
	defer func() { _ = st.Close() }()
	first := true
	for st.Receive() {
		if first {
			first = false
			ready()
		}
		if m := st.Msg(); m.GetType() == spartanv1.MessageType_MESSAGE_TYPE_TEXT {
			at, err := ParseStamp(m.GetPayload())
			if err != nil {
				return err
			}
			got(at)
		}
	}
	return streamEnded(ctx, p.user, st.Err())
}

// grpcPeer drives the relay with grpc-go's client (one ClientConn per user),
// calling by method name with the generated message types.
type grpcPeer struct {
	user string
	cc   *grpc.ClientConn
	size int
}

func dialGRPC(addr, user string, size int) (*grpcPeer, error) {
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, fmt.Errorf("grpc client of %s: %w", addr, err)
	}
	return &grpcPeer{user: user, cc: cc, size: relayPayload(size)}, nil
}

func (p *grpcPeer) send(ctx context.Context, to string, at time.Time) error {
	var res spartanv1.SendMsgResponse
	return p.cc.Invoke(ctx, spartanv1connect.ChatServiceSendMsgProcedure,
		&spartanv1.SendMsgRequest{User: p.user, Receiver: to, Payload: Stamp(at, p.size)}, &res)
}

func (p *grpcPeer) receive(ctx context.Context, ready func(), got func(time.Time)) error {
	desc := &grpc.StreamDesc{StreamName: "ReceiveMsg", ServerStreams: true}
	st, err := p.cc.NewStream(ctx, desc, spartanv1connect.ChatServiceReceiveMsgProcedure)
	if err != nil {
		return fmt.Errorf("%s opens a stream: %w", p.user, err)
	}
	if err := st.SendMsg(&spartanv1.Message{Receiver: p.user}); err != nil {
		return fmt.Errorf("%s opens a stream: %w", p.user, err)
	}
	if err := st.CloseSend(); err != nil {
		return fmt.Errorf("%s opens a stream: %w", p.user, err)
	}
	first := true
	for {
		var m spartanv1.Message
		if err := st.RecvMsg(&m); err != nil {
			return streamEnded(ctx, p.user, err)
		}
		if first {
			first = false
			ready()
		}
		if m.GetType() == spartanv1.MessageType_MESSAGE_TYPE_TEXT {
			at, err := ParseStamp(m.GetPayload())
			if err != nil {
				return err
			}
			got(at)
		}
	}
}

func (p *grpcPeer) close() { _ = p.cc.Close() }

// streamEnded is why user's stream ended with err: nil when ctx ended (the
// driver stopped it), err otherwise.
func streamEnded(ctx context.Context, user string, err error) error {
	select {
	case <-ctx.Done():
		return nil
	default:
	}
	if err == nil {
		err = errors.New("the server ended it")
	}
	return fmt.Errorf("%s's stream ended: %w", user, err)
}
