package server_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	spartan "github.com/spartan-messenger/spartan/clients/go"
	spartanv1 "github.com/spartan-messenger/spartan/gen/spartan/v1"
	"github.com/spartan-messenger/spartan/gen/spartan/v1/spartanv1connect"
	"github.com/spartan-messenger/spartan/internal/config"
	"github.com/spartan-messenger/spartan/internal/server"
	"github.com/spartan-messenger/spartan/internal/servertest"
)

// runLimits starts a server on the memory store with the given limits.
func runLimits(tb testing.TB, bodySeconds, connsPerAddress int) *running {
	tb.Helper()
	yaml := fmt.Sprintf("host: 127.0.0.1\nport: 0\nusers: [alice, bob]\nauth:\n  required: false\nstore:\n  kind: memory\nlimits:\n  body_seconds: %d\n  conns_per_address: %d\n",
		bodySeconds, connsPerAddress)
	return run(tb, []string{"-config", writeConfig(tb, yaml)}, nil)
}

// TestSlowBodyIsCut: a request whose body never finishes arriving is
// answered with an error once limits.body_seconds have passed, over
// HTTP/1.1 and HTTP/2, instead of holding the call open for ever.
func TestSlowBodyIsCut(t *testing.T) {
	t.Parallel()
	r := runLimits(t, 1, 0)
	t.Run("http/1.1", func(t *testing.T) {
		t.Parallel()
		conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", r.port))
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = conn.Close() }()
		// Content-Length promises 100 bytes; 3 come.
		_, err = fmt.Fprintf(conn, "POST /spartan.v1.ChatService/Login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"u")
		if err != nil {
			t.Fatal(err)
		}
		_ = conn.SetReadDeadline(time.Now().Add(waitLimit)) // a bound for the test, not the server's
		res, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("no answer: %v", err)
		}
		defer func() { _ = res.Body.Close() }()
		body, _ := io.ReadAll(res.Body)
		if res.StatusCode < 400 {
			t.Fatalf("status %d (%s), want an error", res.StatusCode, body)
		}
	})
	t.Run("http/2", func(t *testing.T) {
		t.Parallel()
		body, w := io.Pipe()
		defer func() { _ = w.Close() }()
		go func() { _, _ = w.Write([]byte{0, 0, 0, 0, 50, 0x0a}) }() // a gRPC frame promising 50 bytes; 1 comes
		req, err := http.NewRequestWithContext(testCtx(t), http.MethodPost, r.url()+"/spartan.v1.ChatService/Login", body)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/grpc")
		req.Header.Set("Te", "trailers")
		res, err := h2cClient(t).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = res.Body.Close() }()
		_, _ = io.Copy(io.Discard, res.Body)
		status := res.Trailer.Get("Grpc-Status")
		if status == "" {
			status = res.Header.Get("Grpc-Status")
		}
		if status == "" || status == "0" {
			t.Fatalf("grpc-status %q, want an error", status)
		}
	})
}

// TestStreamOutlivesTheBodyDeadline: the body deadline ends with the body;
// a stream over HTTP/1.1 (the Connect protocol) lives on and delivers.
func TestStreamOutlivesTheBodyDeadline(t *testing.T) {
	t.Parallel()
	r := runLimits(t, 1, 0)
	ctx := testCtx(t)
	h1 := spartanv1connect.NewChatServiceClient(http.DefaultClient, r.url())
	stream, err := h1.ReceiveMsg(ctx, connect.NewRequest(&spartanv1.Message{Receiver: "bob"}))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = stream.Close() }()
	time.Sleep(2500 * time.Millisecond) // past body_seconds
	c := r.client(t)
	if _, err := c.RequestChat(ctx, connect.NewRequest(&spartanv1.RequestChatRequest{User: "alice", Peer: "bob"})); err != nil {
		t.Fatal(err)
	}
	for stream.Receive() {
		if stream.Msg().GetType() == spartanv1.MessageType_MESSAGE_TYPE_CHAT_REQUEST {
			return
		}
	}
	t.Fatalf("the stream ended: %v", stream.Err())
}

// TestConnsPerAddress: past limits.conns_per_address, a new connection from
// the same address is closed at once; one closed makes room again.
func TestConnsPerAddress(t *testing.T) {
	t.Parallel()
	r := runLimits(t, 10, 2)
	addr := fmt.Sprintf("127.0.0.1:%d", r.port)
	dial := func() net.Conn {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	// alive says whether the server answers a request on c.
	alive := func(c net.Conn) bool {
		_ = c.SetDeadline(time.Now().Add(waitLimit))
		if _, err := io.WriteString(c, "POST /spartan.v1.ChatService/ListUsers HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"); err != nil {
			return false
		}
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			return false
		}
		_ = res.Body.Close()
		return res.StatusCode == http.StatusOK
	}
	a, b := dial(), dial()
	if !alive(a) || !alive(b) {
		t.Fatal("the first two connections are not served")
	}
	if third := dial(); alive(third) {
		t.Fatal("a third connection from the same address was served")
	}
	_ = a.Close()
	// The server notices the close when it reads; give it the time it needs.
	deadline := time.Now().Add(waitLimit)
	for !alive(dial()) {
		if time.Now().After(deadline) {
			t.Fatal("no room after a connection closed")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestAdminAddress: pprof and the runtime statistics are served on the
// admin address, and not on the public port; so do the Prometheus metrics.
func TestAdminAddress(t *testing.T) {
	t.Parallel()
	cfg := config.Default()
	cfg.Host, cfg.Port = "127.0.0.1", 0
	cfg.Store = config.Store{Kind: config.StoreMemory}
	cfg.Admin.Addr = "127.0.0.1:0"
	srv, err := server.New(cfg, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	get := func(url string) (int, string) {
		req, _ := http.NewRequestWithContext(testCtx(t), http.MethodGet, url, nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = res.Body.Close() }()
		body, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(body)
	}
	admin := "http://" + srv.AdminAddr()
	if code, body := get(admin + "/debug/vars"); code != http.StatusOK || !strings.Contains(body, `"memstats"`) {
		t.Fatalf("/debug/vars: %d %.200s", code, body)
	}
	if code, body := get(admin + "/debug/pprof/goroutine?debug=1"); code != http.StatusOK || !strings.Contains(body, "goroutine profile") {
		t.Fatalf("pprof goroutine: %d %.200s", code, body)
	}
	// Sends, SendMsg's and SendMsgStream's, and a refused call show in the
	// metrics.
	addr := fmt.Sprintf("127.0.0.1:%d", srv.Port())
	key := newSigner(t)
	alice := spartan.New(addr, "alice", spartan.WithSigner(key))
	if _, err := alice.RequestChat(testCtx(t), "bob"); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.SendText(testCtx(t), "bob", "hi", spartan.NewMessageID()); err != nil {
		t.Fatal(err)
	}
	raw := rawClient(t, addr)
	token, err := logIn(t, raw, "alice", key)
	if err != nil {
		t.Fatal(err)
	}
	sends := raw.SendMsgStream(testCtx(t))
	sends.RequestHeader().Set("Authorization", "Bearer "+token)
	for i := range 3 {
		if err := sends.Send(&spartanv1.SendMsgRequest{Receiver: "bob", Payload: fmt.Appendf(nil, "streamed %d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := sends.CloseRequest(); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := sends.Receive(); err != nil {
			t.Fatalf("answer %d on the stream: %v", i, err)
		}
	}
	_ = sends.CloseResponse()
	if _, err := spartan.New(fmt.Sprintf("127.0.0.1:%d", srv.Port()), "bob").Login(testCtx(t)); err == nil {
		t.Fatal("Login without a session worked")
	}
	code, body := get(admin + "/metrics")
	for _, want := range []string{
		`spartan_messages_sent_total{kind="direct"} 4`,
		`spartan_calls_refused_total{code="unauthenticated"} 1`,
		"spartan_streams_open 0",
		"spartan_store_commit_seconds_count",
		"spartan_message_cache_hits_total",
		"go_goroutines",
	} {
		if code != http.StatusOK || !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q: %d %.300s", want, code, body)
		}
	}
	public := fmt.Sprintf("http://127.0.0.1:%d", srv.Port())
	for _, path := range []string{"/debug/vars", "/debug/pprof/", "/metrics"} {
		if code, _ := get(public + path); code != http.StatusNotFound {
			t.Errorf("public port %s: %d, want 404", path, code)
		}
	}
}

// TestLyingLengthPrefix: a gRPC request whose length prefix promises more
// than the body holds is InvalidArgument, with a sentence, not Internal.
func TestLyingLengthPrefix(t *testing.T) {
	t.Parallel()
	r := runLimits(t, 10, 0)
	tests := []struct {
		name string
		body []byte
		want string
	}{
		{"message cut short", []byte{0, 0, 0, 0, 50, 0x0a, 0x01, 'a'}, "3 bytes into a message whose length prefix promised 50"},
		{"prefix cut short", []byte{0, 0, 0}, "inside a message's 5-byte length prefix"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req, err := http.NewRequestWithContext(testCtx(t), http.MethodPost, r.url()+"/spartan.v1.ChatService/Login", bytes.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/grpc")
			req.Header.Set("Te", "trailers")
			res, err := h2cClient(t).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, res.Body)
			_ = res.Body.Close()
			status, msg := res.Trailer.Get("Grpc-Status"), res.Trailer.Get("Grpc-Message")
			if status == "" {
				status, msg = res.Header.Get("Grpc-Status"), res.Header.Get("Grpc-Message")
			}
			if status != "3" || !strings.Contains(msg, strings.ReplaceAll(tt.want, " ", "%20")) && !strings.Contains(msg, tt.want) {
				t.Fatalf("grpc-status %s, message %q; want 3 (InvalidArgument) saying %q", status, msg, tt.want)
			}
		})
	}
}

// TestSilentConnectionDoesNotHoldUpShutdown: a connection that never sends a
// byte (a client that connected a moment before the shutdown, a port check)
// is closed on shutdown at once; net/http alone would count it as busy for
// five seconds and the shutdown would run out of grace.
func TestSilentConnectionDoesNotHoldUpShutdown(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, servertest.Config())
	silent, err := net.Dial("tcp", srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = silent.Close() })
	// Connections are accepted in order: once this call is answered, the
	// server has accepted the silent one too.
	if _, err := spartan.New(srv.Addr, "alice").ListUsers(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := srv.Stop(); err != nil {
		t.Fatalf("shutdown with a silent connection open: %v", err)
	}
	if err := silent.SetReadDeadline(time.Now().Add(waitLimit)); err != nil {
		t.Fatal(err)
	}
	if n, err := silent.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Errorf("the silent connection after the shutdown: read %d bytes, %v; want it closed (EOF)", n, err)
	}
}
