// Package server wires the Spartan server together: configuration, the chat
// core over its store and broker, the Connect handlers, gRPC reflection and
// health, CORS for browsers on other origins, and one HTTP server that speaks
// gRPC, Connect and gRPC-Web on one port, plaintext HTTP/2 included.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"connectrpc.com/connect"
	"connectrpc.com/grpchealth"
	"connectrpc.com/grpcreflect"
	"github.com/google/uuid"
	goredis "github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/reflect/protoreflect"

	spartanv1 "github.com/spartan-messenger/spartan/gen/spartan/v1"
	"github.com/spartan-messenger/spartan/gen/spartan/v1/spartanv1connect"
	"github.com/spartan-messenger/spartan/internal/api"
	"github.com/spartan-messenger/spartan/internal/auth"
	"github.com/spartan-messenger/spartan/internal/cache"
	"github.com/spartan-messenger/spartan/internal/chat"
	"github.com/spartan-messenger/spartan/internal/config"
	"github.com/spartan-messenger/spartan/internal/metrics"
	"github.com/spartan-messenger/spartan/internal/readbuf"
	spartanredis "github.com/spartan-messenger/spartan/internal/redis"
	"github.com/spartan-messenger/spartan/internal/rpccache"
	"github.com/spartan-messenger/spartan/internal/streamflush"
	"github.com/spartan-messenger/spartan/internal/webui"
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
	resetKey := fs.String("reset-key", "", "forget the log-in key of this user, so that the next one is taken as theirs (a user who lost theirs), and exit; with a bolt store, stop the server first")
	flags.NotConfig("reset-key")
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
	if *resetKey != "" {
		err := s.core.ResetAuthKey(ctx, *resetKey)
		if err == nil {
			_, err = fmt.Fprintf(stdout, "The log-in key of %s is forgotten: the next key %s logs in with is taken as theirs.\n", *resetKey, *resetKey)
		}
		return errors.Join(err, s.Close())
	}
	if err := s.Listen(); err != nil {
		return errors.Join(err, s.Close())
	}
	if _, err := fmt.Fprintf(stdout, "Spartan server started on port %d.\n", s.Port()); err != nil {
		return fmt.Errorf("write start-up line: %w", err)
	}
	return s.Serve(ctx)
}

// Server is one Spartan server: New builds it, Listen binds its port, Serve
// runs it until its context ends and closes it; Close closes a server that
// is not served.
type Server struct {
	cfg      config.Config
	log      *slog.Logger
	http     *http.Server
	ln       net.Listener
	stopping context.Context
	stop     context.CancelFunc
	core     *chat.Service
	metrics  *metrics.Metrics

	// closeStore closes the durable store, if any.
	closeStore func() error
	messages   *cache.Store
	responses  *rpccache.Interceptor
	closeOnce  sync.Once
	// redis is the client of redis.url, if set; redisBroker the broker on
	// it, when the store is there too.
	redis         goredis.UniversalClient
	redisBroker   *spartanredis.Broker
	redisPresence *spartanredis.Presence
	// admin serves pprof and runtime statistics on admin.addr, if set.
	admin    *http.Server
	adminLn  net.Listener
	closeErr error
}

// New builds a server from a validated configuration; it logs to logOut. It
// opens the configured store, which Serve or Close closes.
func New(cfg config.Config, logOut io.Writer) (*Server, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		return nil, fmt.Errorf("log level %q: %w", cfg.LogLevel, err)
	}
	log := slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: level}))
	s := &Server{cfg: cfg, log: log, closeStore: func() error { return nil }, metrics: metrics.New()}
	var versions *rpccache.Versions
	if cfg.Cache.RPCEntries > 0 {
		versions = rpccache.NewVersions()
	}
	store, broker, presence, err := s.openEngines(versions)
	if err != nil {
		return nil, errors.Join(err, s.closeEngines())
	}
	messages, err := cache.New(store, cache.Options{
		MessagesPerLog: cfg.Cache.MessagesPerLog,
		MaxEntries:     cfg.Cache.MaxEntries,
		MaxBytes:       cfg.Cache.MaxBytes,
	})
	if err != nil {
		return nil, errors.Join(err, s.closeEngines())
	}
	s.messages = messages
	opts := chat.Options{
		Users:      cfg.Users,
		Groups:     cfg.Groups,
		MaxStreams: cfg.Limits.StreamsPerUser,
		MaxPayload: cfg.MaxMessageBytes,
		MaxPending: cfg.MaxPendingMessages,
		NewID:      func() string { return uuid.Must(uuid.NewV7()).String() },
		// A stream cut because its session token expired comes back at once.
		Reopening: func(ctx context.Context) bool { return errors.Is(context.Cause(ctx), auth.ErrStreamExpired) },
		Retention: chat.Retention{
			PerLog:    cfg.Retention.MessagesPerLog,
			MaxAge:    time.Duration(cfg.Retention.MaxAgeDays) * 24 * time.Hour,
			MaxUnread: cfg.Retention.MaxUnread,
		},
		Logger: log,
	}
	if opts.AuthKeys, err = cfg.Auth.PinnedKeys(); err != nil {
		return nil, errors.Join(err, s.closeEngines())
	}
	// A payload somewhat over max_message_bytes still gets the core's
	// InvalidArgument sentence; one over four times the limit is refused
	// unread (ResourceExhausted), so nobody can make the server buffer more.
	handlerOpts := []connect.HandlerOption{
		connect.WithReadMaxBytes(4*cfg.MaxMessageBytes + 64<<10),
		// Compressed requests are still accepted, but responses are never
		// compressed: messages are small, and end-to-end encrypted payloads do
		// not compress. (connect-go would otherwise gzip every response to a
		// client that merely accepts gzip, as grpcio does.)
		connect.WithCompressMinBytes(math.MaxInt),
	}
	handlerOpts = append(handlerOpts, api.CodecOptions()...)
	services := []protoreflect.ServiceDescriptor{spartanv1.File_spartan_v1_chat_proto.Services().ByName("ChatService")}
	rate, err := s.rateLimit(services)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("rate limit: %w", err), s.closeEngines())
	}
	if versions != nil {
		// The @lru_cache decorator: the RPCs it caches are declared in the proto.
		opts.Changed = s.changed(versions)
		s.responses, err = rpccache.New(services, versions, rpccache.Options{
			MaxEntries: cfg.Cache.RPCEntries,
			MaxBytes:   cfg.Cache.RPCMaxBytes,
		})
		if err != nil {
			return nil, errors.Join(fmt.Errorf("response cache: %w", err), s.closeEngines())
		}
	}
	core := chat.NewService(s.metrics.Store(messages), broker, presence, opts)
	s.cacheMetrics()
	s.core = core
	authority, err := s.authority(core)
	if err != nil {
		return nil, errors.Join(err, s.closeEngines())
	}
	authn := auth.NewInterceptor(authority, cfg.Auth.Required, auth.OpenProcedures...)
	handlerOpts = append(handlerOpts, connect.WithInterceptors(chain(s.metrics.Interceptor(), authn, rate, s.responses)...))
	s.stopping, s.stop = context.WithCancel(context.Background())
	mux := http.NewServeMux()
	mux.Handle(spartanv1connect.NewChatServiceHandler(api.NewHandler(core, authority, s.stopping, log), handlerOpts...))
	reflector := grpcreflect.NewStaticReflector(spartanv1connect.ChatServiceName, grpchealth.HealthV1ServiceName)
	mux.Handle(grpcreflect.NewHandlerV1(reflector))
	mux.Handle(grpcreflect.NewHandlerV1Alpha(reflector))
	mux.Handle(grpchealth.NewHandler(grpchealth.NewStaticChecker(spartanv1connect.ChatServiceName)))
	mux.Handle(webui.Pattern, webui.Handler()) // the browser client at GET /

	protocols := new(http.Protocols)
	protocols.SetHTTP1(true)
	var tlsConfig *tls.Config
	if cfg.TLS.On() {
		cert, err := tls.LoadX509KeyPair(cfg.TLS.CertFile, cfg.TLS.KeyFile)
		if err != nil {
			return nil, errors.Join(fmt.Errorf("tls: %w", err), s.closeEngines())
		}
		tlsConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		protocols.SetHTTP2(true)
	} else {
		protocols.SetUnencryptedHTTP2(true)
	}
	silent := &silentConns{}
	srv := &http.Server{
		TLSConfig:         tlsConfig,
		Handler:           withCORS(withBodyDeadline(withEnvelopeCheck(streamflush.Handler(mux, spartanv1connect.ChatServiceReceiveMsgProcedure, spartanv1connect.ChatServiceSendMsgStreamProcedure)), time.Duration(cfg.Limits.BodySeconds)*time.Second), cfg.CORS.AllowedOrigins),
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
		// net/http's HTTP/2 code logs some connection errors without the
		// peer ("timeout waiting for PING response"); these lines name it,
		// so a warning can be matched with the connection it was about.
		ConnState: func(c net.Conn, state http.ConnState) {
			silent.track(c, state)
			switch state {
			case http.StateNew, http.StateClosed, http.StateHijacked:
				log.Debug("connection "+strings.ToLower(state.String()), "remote", c.RemoteAddr().String())
			}
		},
	}
	srv.RegisterOnShutdown(silent.closeAll)
	s.http = srv
	return s, nil
}

// Close closes the store and Redis, quietly: a server that failed to start
// says only why. Serve calls it on its way out; calling it again does
// nothing.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		if s.stop != nil {
			s.stop()
		}
		s.closeErr = s.closeEngines()
	})
	return s.closeErr
}

// cacheMetrics exposes the caches' counters as metrics.
func (s *Server) cacheMetrics() {
	s.metrics.Counter("spartan_message_cache_hits_total", "Log reads answered by the message cache.", func() float64 { return float64(s.messages.Stats().Hits) })
	s.metrics.Counter("spartan_message_cache_misses_total", "Log reads the message cache passed to the store.", func() float64 { return float64(s.messages.Stats().Misses) })
	if s.responses != nil {
		s.metrics.Counter("spartan_response_cache_hits_total", "Calls answered by the response cache.", func() float64 { return float64(s.responses.Stats().Hits) })
		s.metrics.Counter("spartan_response_cache_misses_total", "Cacheable calls that ran their handler.", func() float64 { return float64(s.responses.Stats().Misses) })
	}
}

// logStats logs the caches' counters; Serve calls it once it has stopped
// serving, when they describe a run.
func (s *Server) logStats() {
	st := s.messages.Stats()
	s.log.Info("message cache", "hits", st.Hits, "misses", st.Misses, "evictions", st.Evictions,
		"logs", st.Logs, "entries", st.Entries, "bytes", st.Bytes)
	if s.responses != nil {
		rs := s.responses.Stats()
		s.log.Info("response cache", "hits", rs.Hits, "misses", rs.Misses, "stale", rs.Stale,
			"entries", rs.Entries, "bytes", rs.Bytes)
	}
}

// Listen binds the configured address.
func (s *Server) Listen() error {
	addr := net.JoinHostPort(s.cfg.Host, strconv.Itoa(s.cfg.Port))
	ln, err := net.Listen("tcp", addr)
	if errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Errorf("listen on %s: port %d is in use (by another spartan-server?): stop that or choose another port with -port: %w",
			addr, s.cfg.Port, err)
	}
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	if s.cfg.Limits.ConnsPerAddress > 0 {
		ln = newLimitListener(ln, s.cfg.Limits.ConnsPerAddress, s.log)
	}
	// HTTP/2 frames read in one system call a burst, not two a frame.
	ln = readbuf.Listener(ln)
	if err := s.listenAdmin(); err != nil {
		_ = ln.Close()
		return err
	}
	s.ln = ln
	return nil
}

// Port is the TCP port the server listens on, once Listen has returned.
func (s *Server) Port() int { return s.ln.Addr().(*net.TCPAddr).Port }

// Serve serves until ctx ends, then closes the streams, lets in-flight calls
// finish for a few seconds and returns.
func (s *Server) Serve(ctx context.Context) error {
	s.log.Info("serving", "addr", s.ln.Addr().String(), "users", len(s.cfg.Users), "tls", s.http.TLSConfig != nil, "auth_required", s.cfg.Auth.Required)
	if origins := s.cfg.CORS.AllowedOrigins; len(origins) > 0 {
		s.log.Info("CORS on: web pages of these origins may call the server", "allowed_origins", origins)
		if slices.Contains(origins, "*") {
			s.log.Warn(`CORS allows every origin ("*"): for development only`)
		}
	}
	s.serveAdmin()
	errc := make(chan error, 1)
	go func() {
		if s.http.TLSConfig != nil {
			errc <- s.http.ServeTLS(s.ln, "", "") // the certificate is in TLSConfig
			return
		}
		errc <- s.http.Serve(s.ln)
	}()
	select {
	case err := <-errc:
		s.stop()
		s.shutdownAdmin(context.Background())
		s.logStats()
		return errors.Join(fmt.Errorf("serve: %w", err), s.Close())
	case <-ctx.Done():
	}
	s.log.Info("shutting down")
	s.stop()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	err := s.http.Shutdown(shutdownCtx)
	s.shutdownAdmin(shutdownCtx)
	if err2 := <-errc; !errors.Is(err2, http.ErrServerClosed) && err == nil {
		err = err2
	}
	s.logStats()
	if err != nil {
		return errors.Join(fmt.Errorf("shut down: %w", err), s.Close())
	}
	if err := s.Close(); err != nil {
		return err
	}
	s.log.Info("stopped")
	return nil
}
