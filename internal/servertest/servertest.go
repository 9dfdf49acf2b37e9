// Package servertest runs a whole Spartan server in-process on a loopback
// port for tests, and stops it when the test ends.
package servertest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/spartan-messenger/spartan/internal/config"
	"github.com/spartan-messenger/spartan/internal/server"
)

// stopLimit is how long a server may take to stop.
const stopLimit = 10 * time.Second

// Config is the default configuration for a test server: the brief's users,
// a free loopback port, an in-memory store (nothing lands in the working
// tree), debug logs, and rate limits no test reaches.
func Config() config.Config {
	cfg := config.Default()
	cfg.Host, cfg.Port = "127.0.0.1", 0
	cfg.Store = config.Store{Kind: config.StoreMemory}
	cfg.LogLevel = "debug"
	// Tests send as fast as they can; those about the rate limit set their own.
	cfg.Rate = Unlimited()
	// Tests act as any user through the client library without keys; those
	// about logging in require it.
	cfg.Auth.Required = false
	return cfg
}

// Unlimited is a rate configuration that no test reaches.
func Unlimited() config.Rate {
	r := config.Default().Rate
	r.Calls, r.WindowSeconds, r.Burst = 1_000_000, 1, 1_000_000
	r.Classes = map[string]config.RateClass{}
	for name := range config.DefaultRateClasses() {
		r.Classes[name] = config.RateClass{Calls: 1_000_000, WindowSeconds: 1, Burst: 1_000_000}
	}
	return r
}

// Server is a running test server.
type Server struct {
	// Addr is host:port.
	Addr string
	// URL is the base URL, http://host:port.
	URL string
	// Port is the TCP port.
	Port int

	once sync.Once
	err  error
	stop func() error
}

// Start runs a server with cfg until the test ends (or Stop). If the test
// fails, the server's log is shown.
func Start(tb testing.TB, cfg config.Config) *Server {
	tb.Helper()
	if err := cfg.Validate(); err != nil {
		tb.Fatalf("test config: %v", err)
	}
	logs := &syncBuffer{}
	srv, err := server.New(cfg, logs)
	if err != nil {
		tb.Fatal(err)
	}
	if err := srv.Listen(); err != nil {
		_ = srv.Close()
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	s := &Server{
		Addr: fmt.Sprintf("127.0.0.1:%d", srv.Port()),
		URL:  fmt.Sprintf("http://127.0.0.1:%d", srv.Port()),
		Port: srv.Port(),
		stop: func() error {
			cancel()
			select {
			case err := <-done:
				return err
			case <-time.After(stopLimit):
				return errors.New("the server did not stop in time")
			}
		},
	}
	tb.Cleanup(func() {
		if err := s.Stop(); err != nil {
			tb.Errorf("serve: %v", err)
		}
		if tb.Failed() {
			tb.Logf("server log:\n%s", logs)
		}
	})
	return s
}

// Stop stops the server (streams end, calls finish) and returns what Serve
// returned; calling it again returns the same.
func (s *Server) Stop() error {
	s.once.Do(func() { s.err = s.stop() })
	return s.err
}

// syncBuffer is a bytes.Buffer safe for concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
