// Package server wires the Spartan server together: configuration, the chat
// core over its store and broker, the Connect handlers, gRPC reflection and
// health, and one HTTP server that speaks gRPC, Connect and gRPC-Web on one
// port, plaintext HTTP/2 included.
package server

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"connectrpc.com/connect"
	"connectrpc.com/grpchealth"
	"connectrpc.com/grpcreflect"
	"github.com/google/uuid"

	"github.com/spartan-messenger/spartan/gen/spartan/v1/spartanv1connect"
	"github.com/spartan-messenger/spartan/internal/api"
	"github.com/spartan-messenger/spartan/internal/chat"
	"github.com/spartan-messenger/spartan/internal/config"
	"github.com/spartan-messenger/spartan/internal/memory"
)

// shutdownGrace is how long in-flight calls get to finish on shutdown.
const shutdownGrace = 5 * time.Second

// Run starts the server as the command line says and serves until ctx ends.
// It prints the brief's start-up line to stdout once it accepts connections,
// and logs to stderr. It returns nil after a graceful shutdown.
func Run(ctx context.Context, args, environ []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("spartan-server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	flags := config.NewFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q: the server takes only flags", fs.Arg(0))
	}
	cfg, err := config.Load(flags, environ)
	if err != nil {
		return err
	}
	s, err := New(cfg, stderr)
	if err != nil {
		return err
	}
	if err := s.Listen(); err != nil {
		return err
	}
	if _, err := fmt.Fprintf(stdout, "Spartan server started on port %d.\n", s.Port()); err != nil {
		return fmt.Errorf("write start-up line: %w", err)
	}
	return s.Serve(ctx)
}

// Server is one Spartan server: New builds it, Listen binds its port, Serve
// runs it until its context ends.
type Server struct {
	cfg      config.Config
	log      *slog.Logger
	http     *http.Server
	ln       net.Listener
	stopping context.Context
	stop     context.CancelFunc
}

// New builds a server from a validated configuration; it logs to logOut.
func New(cfg config.Config, logOut io.Writer) (*Server, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		return nil, fmt.Errorf("log level %q: %w", cfg.LogLevel, err)
	}
	log := slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: level}))
	core := chat.NewService(memory.NewStore(), memory.NewBroker(), chat.Options{
		Users:      cfg.Users,
		MaxPayload: cfg.MaxMessageBytes,
		MaxPending: cfg.MaxPendingMessages,
		NewID:      func() string { return uuid.Must(uuid.NewV7()).String() },
		Logger:     log,
	})
	stopping, stop := context.WithCancel(context.Background())
	mux := http.NewServeMux()
	// A request carries one payload plus its envelope; anything larger is refused unread.
	readMax := connect.WithReadMaxBytes(cfg.MaxMessageBytes + 4096)
	mux.Handle(spartanv1connect.NewChatServiceHandler(api.NewHandler(core, stopping, log), readMax))
	reflector := grpcreflect.NewStaticReflector(spartanv1connect.ChatServiceName, grpchealth.HealthV1ServiceName)
	mux.Handle(grpcreflect.NewHandlerV1(reflector))
	mux.Handle(grpcreflect.NewHandlerV1Alpha(reflector))
	mux.Handle(grpchealth.NewHandler(grpchealth.NewStaticChecker(spartanv1connect.ChatServiceName)))

	protocols := new(http.Protocols)
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true)
	srv := &http.Server{
		Handler:           mux,
		Protocols:         protocols,
		ReadHeaderTimeout: 10 * time.Second,
		MaxHeaderBytes:    64 << 10,
		// No ReadTimeout or WriteTimeout: they would cut the long-lived streams.
		// Pings notice a peer that is gone without a word.
		HTTP2: &http.HTTP2Config{
			SendPingTimeout: time.Minute,
			PingTimeout:     20 * time.Second,
		},
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	return &Server{cfg: cfg, log: log, http: srv, stopping: stopping, stop: stop}, nil
}

// Listen binds the configured address.
func (s *Server) Listen() error {
	addr := net.JoinHostPort(s.cfg.Host, strconv.Itoa(s.cfg.Port))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	s.ln = ln
	return nil
}

// Port is the TCP port the server listens on, once Listen has returned.
func (s *Server) Port() int { return s.ln.Addr().(*net.TCPAddr).Port }

// Serve serves until ctx ends, then closes the streams, lets in-flight calls
// finish for a few seconds and returns.
func (s *Server) Serve(ctx context.Context) error {
	s.log.Info("serving", "addr", s.ln.Addr().String(), "users", len(s.cfg.Users))
	errc := make(chan error, 1)
	go func() { errc <- s.http.Serve(s.ln) }()
	select {
	case err := <-errc:
		s.stop()
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	s.log.Info("shutting down")
	s.stop()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	err := s.http.Shutdown(shutdownCtx)
	if err2 := <-errc; !errors.Is(err2, http.ErrServerClosed) && err == nil {
		err = err2
	}
	if err != nil {
		return fmt.Errorf("shut down: %w", err)
	}
	s.log.Info("stopped")
	return nil
}
