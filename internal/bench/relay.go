package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/grpc"

	spartanv1 "github.com/spartan-messenger/spartan/gen/spartan/v1"
	"github.com/spartan-messenger/spartan/gen/spartan/v1/spartanv1connect"
)

// Relay transports.
const (
	// RelayConnect serves the relay with connect-go on net/http (HTTP/2
	// without TLS), as spartan-server serves.
	RelayConnect = "connect"
	// RelayGRPC serves the relay with grpc-go's own transport.
	RelayGRPC = "grpc"
)

// relayBox is how many messages wait for a receiver before a send blocks.
const relayBox = 4096

// hub is the bare relay: one channel per user, nothing else. It checks
// nothing (no users, no authentication, no limits), stores nothing and
// never looks into payloads.
type hub struct {
	mu    sync.Mutex
	boxes map[string]chan *spartanv1.Message
}

func newHub() *hub { return &hub{boxes: map[string]chan *spartanv1.Message{}} }

func (h *hub) box(user string) chan *spartanv1.Message {
	h.mu.Lock()
	defer h.mu.Unlock()
	b, ok := h.boxes[user]
	if !ok {
		b = make(chan *spartanv1.Message, relayBox)
		h.boxes[user] = b
	}
	return b
}

// send puts req in its receiver's channel, waiting while it is full.
func (h *hub) send(ctx context.Context, req *spartanv1.SendMsgRequest) (*spartanv1.SendMsgResponse, error) {
	m := &spartanv1.Message{
		Type: spartanv1.MessageType_MESSAGE_TYPE_TEXT, Sender: req.GetUser(), Receiver: req.GetReceiver(),
		Payload: req.GetPayload(), Encryption: req.GetEncryption(), ClientMsgId: req.GetClientMsgId(),
	}
	select {
	case h.box(req.GetReceiver()) <- m:
		return &spartanv1.SendMsgResponse{}, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// receive sends user one system event (so the client knows the stream is
// open), then what arrives in the user's channel, until ctx ends.
func (h *hub) receive(ctx context.Context, user string, send func(*spartanv1.Message) error) error {
	if err := send(&spartanv1.Message{Type: spartanv1.MessageType_MESSAGE_TYPE_SYSTEM, Receiver: user}); err != nil {
		return err
	}
	b := h.box(user)
	for {
		select {
		case m := <-b:
			if err := send(m); err != nil {
				return err
			}
		case <-ctx.Done():
			return nil
		}
	}
}

// connectRelay is the hub as a connect-go handler.
type connectRelay struct {
	spartanv1connect.UnimplementedChatServiceHandler
	h *hub
}

// Login answers with the user's name and nothing else.
func (r connectRelay) Login(_ context.Context, req *connect.Request[spartanv1.LoginRequest]) (*connect.Response[spartanv1.LoginResponse], error) {
	return connect.NewResponse(&spartanv1.LoginResponse{User: req.Msg.GetUser()}), nil
}

// SendMsg puts the message in its receiver's channel.
func (r connectRelay) SendMsg(ctx context.Context, req *connect.Request[spartanv1.SendMsgRequest]) (*connect.Response[spartanv1.SendMsgResponse], error) {
	res, err := r.h.send(ctx, req.Msg)
	if err != nil {
		return nil, connect.NewError(connect.CodeCanceled, err)
	}
	return connect.NewResponse(res), nil
}

// ReceiveMsg streams the receiver's channel.
func (r connectRelay) ReceiveMsg(ctx context.Context, req *connect.Request[spartanv1.Message], stream *connect.ServerStream[spartanv1.Message]) error {
	return r.h.receive(ctx, req.Msg.GetReceiver(), stream.Send)
}

// grpcRelayDesc is the relay's part of spartan.v1.ChatService for grpc-go,
// written by hand (the project generates no grpc-go stubs): the generated
// message types, grpc-go's default protobuf codec.
func grpcRelayDesc(h *hub) *grpc.ServiceDesc {
	return &grpc.ServiceDesc{
		ServiceName: spartanv1connect.ChatServiceName,
		HandlerType: (*any)(nil),
		Methods: []grpc.MethodDesc{
			{MethodName: "Login", Handler: func(_ any, _ context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
				var req spartanv1.LoginRequest
				if err := dec(&req); err != nil {
					return nil, err
				}
				return &spartanv1.LoginResponse{User: req.GetUser()}, nil
			}},
			{MethodName: "SendMsg", Handler: func(_ any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
				var req spartanv1.SendMsgRequest
				if err := dec(&req); err != nil {
					return nil, err
				}
				return h.send(ctx, &req)
			}},
		},
		Streams: []grpc.StreamDesc{{
			StreamName:    "ReceiveMsg",
			ServerStreams: true,
			Handler: func(_ any, stream grpc.ServerStream) error {
				var req spartanv1.Message
				if err := stream.RecvMsg(&req); err != nil {
					return err
				}
				return h.receive(stream.Context(), req.GetReceiver(), func(m *spartanv1.Message) error { return stream.SendMsg(m) })
			},
		}},
	}
}

// RunRelay serves the bare relay over transport (RelayConnect or
// RelayGRPC) on addr until ctx ends, and pprof and the runtime's
// statistics on admin (a loopback address; "" for none). Once it listens
// it writes "relay listening on HOST:PORT" and a newline to out.
func RunRelay(ctx context.Context, transport, addr, admin string, out io.Writer) error {
	if admin != "" {
		aln, err := net.Listen("tcp", admin)
		if err != nil {
			return fmt.Errorf("relay: admin: listen on %s: %w", admin, err)
		}
		asrv := &http.Server{Handler: adminHandler(), ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = asrv.Serve(aln) }()
		defer func() { _ = asrv.Close() }()
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("relay: listen on %s: %w", addr, err)
	}
	h := newHub()
	var serve, stop func() error
	switch transport {
	case RelayConnect:
		mux := http.NewServeMux()
		mux.Handle(spartanv1connect.NewChatServiceHandler(connectRelay{h: h}))
		protocols := new(http.Protocols)
		protocols.SetHTTP1(true)
		protocols.SetUnencryptedHTTP2(true)
		srv := &http.Server{Handler: mux, Protocols: protocols, ReadHeaderTimeout: 10 * time.Second}
		serve = func() error { return srv.Serve(ln) }
		stop = func() error {
			sctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			if err := srv.Shutdown(sctx); err != nil {
				return srv.Close()
			}
			return nil
		}
	case RelayGRPC:
		srv := grpc.NewServer()
		srv.RegisterService(grpcRelayDesc(h), nil)
		serve = func() error { return srv.Serve(ln) }
		stop = func() error { srv.Stop(); return nil }
	default:
		_ = ln.Close()
		return fmt.Errorf("relay transport %q: want %s or %s", transport, RelayConnect, RelayGRPC)
	}
	if _, err := fmt.Fprintf(out, "relay listening on %s\n", ln.Addr()); err != nil {
		_ = ln.Close()
		return fmt.Errorf("relay: %w", err)
	}
	errc := make(chan error, 1)
	go func() { errc <- serve() }()
	select {
	case err := <-errc:
		return fmt.Errorf("relay: serve: %w", err)
	case <-ctx.Done():
	}
	_ = stop()
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, grpc.ErrServerStopped) {
		return fmt.Errorf("relay: serve: %w", err)
	}
	return nil
}
