package server_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"connectrpc.com/connect"

	spartanv1 "github.com/spartan-messenger/spartan/gen/spartan/v1"
	"github.com/spartan-messenger/spartan/gen/spartan/v1/spartanv1connect"
)

// A browser page's origins, as its Origin header names them.
const (
	allowedOrigin = "http://localhost:5173"
	otherOrigin   = "https://evil.example"
)

// runCORS starts a server on the memory store with cors.allowed_origins set
// to origins (none: CORS off).
func runCORS(tb testing.TB, origins ...string) *running {
	tb.Helper()
	yaml := "host: 127.0.0.1\nport: 0\nusers: [alice, bob]\nauth:\n  required: false\nstore:\n  kind: memory\n"
	if len(origins) > 0 {
		yaml += "cors:\n  allowed_origins: [" + strings.Join(quoteAll(origins), ", ") + "]\n"
	}
	return run(tb, []string{"-config", writeConfig(tb, yaml)}, nil)
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = fmt.Sprintf("%q", s)
	}
	return out
}

// reply is an HTTP response, its body read.
type reply struct {
	StatusCode int
	Header     http.Header
	Body       []byte
}

// do sends req over HTTP/1.1, as a browser does to a plaintext server
// (browsers do not speak cleartext HTTP/2), and returns the reply.
func do(tb testing.TB, req *http.Request) reply {
	tb.Helper()
	tr := &http.Transport{}
	tb.Cleanup(tr.CloseIdleConnections)
	res, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer func() { _ = res.Body.Close() }()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return reply{StatusCode: res.StatusCode, Header: res.Header, Body: body}
}

// headerList splits a comma-separated header's values into lower-case names.
func headerList(h http.Header, key string) []string {
	var out []string
	for _, v := range h.Values(key) {
		for _, name := range strings.Split(v, ",") {
			if name = strings.ToLower(strings.TrimSpace(name)); name != "" {
				out = append(out, name)
			}
		}
	}
	return out
}

func TestCORSPreflight(t *testing.T) {
	t.Parallel()
	on := runCORS(t, allowedOrigin, "https://chat.example.com")
	every := runCORS(t, "*")
	off := runCORS(t)
	// What browsers send before a cross-origin call: Connect-Web (unary and
	// streaming over POST, side-effect-free unary over GET) and grpc-web.
	connectPost := "content-type,connect-protocol-version,connect-timeout-ms"
	grpcWebPost := "content-type,x-grpc-web,x-user-agent,grpc-timeout"
	tests := []struct {
		name    string
		server  *running
		origin  string
		method  string
		headers string
		// status is the preflight's status; allowOrigin is the
		// Access-Control-Allow-Origin wanted, "" for no CORS headers at all.
		status      int
		allowOrigin string
	}{
		{name: "Connect from an allowed origin", server: on, origin: allowedOrigin, method: http.MethodPost, headers: connectPost, status: http.StatusNoContent, allowOrigin: allowedOrigin},
		{name: "Connect GET from an allowed origin", server: on, origin: allowedOrigin, method: http.MethodGet, headers: "connect-protocol-version", status: http.StatusNoContent, allowOrigin: allowedOrigin},
		{name: "gRPC-Web from an allowed origin", server: on, origin: allowedOrigin, method: http.MethodPost, headers: grpcWebPost, status: http.StatusNoContent, allowOrigin: allowedOrigin},
		{name: "the second allowed origin", server: on, origin: "https://chat.example.com", method: http.MethodPost, headers: grpcWebPost, status: http.StatusNoContent, allowOrigin: "https://chat.example.com"},
		{name: "a disallowed origin", server: on, origin: otherOrigin, method: http.MethodPost, headers: connectPost, status: http.StatusNoContent},
		{name: "an allowed origin on another port", server: on, origin: "http://localhost:5174", method: http.MethodPost, headers: connectPost, status: http.StatusNoContent},
		{name: "the session token's header", server: on, origin: allowedOrigin, method: http.MethodPost, headers: connectPost + ",authorization", status: http.StatusNoContent, allowOrigin: allowedOrigin},
		{name: "a header no protocol uses", server: on, origin: allowedOrigin, method: http.MethodPost, headers: "content-type,x-custom", status: http.StatusNoContent},
		{name: "a method no protocol uses", server: on, origin: allowedOrigin, method: http.MethodDelete, headers: "content-type", status: http.StatusNoContent},
		{name: "every origin with *", server: every, origin: otherOrigin, method: http.MethodPost, headers: grpcWebPost, status: http.StatusNoContent, allowOrigin: "*"},
		{name: "CORS off by default", server: off, origin: allowedOrigin, method: http.MethodPost, headers: connectPost, status: http.StatusMethodNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req, err := http.NewRequestWithContext(testCtx(t), http.MethodOptions, tt.server.url()+spartanv1connect.ChatServiceListUsersProcedure, http.NoBody)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Origin", tt.origin)
			req.Header.Set("Access-Control-Request-Method", tt.method)
			// A browser lists the headers in lower case, sorted, comma-separated
			// (Fetch standard, "CORS-unsafe request-header names").
			names := strings.Split(tt.headers, ",")
			slices.Sort(names)
			req.Header.Set("Access-Control-Request-Headers", strings.Join(names, ","))
			res := do(t, req)
			if res.StatusCode != tt.status {
				t.Errorf("status %d, want %d", res.StatusCode, tt.status)
			}
			if got := res.Header.Get("Access-Control-Allow-Origin"); got != tt.allowOrigin {
				t.Errorf("Access-Control-Allow-Origin %q, want %q", got, tt.allowOrigin)
			}
			if tt.allowOrigin == "" {
				for key := range res.Header {
					if strings.HasPrefix(key, "Access-Control-") {
						t.Errorf("%s: %q, want no Access-Control headers", key, res.Header.Values(key))
					}
				}
				return
			}
			if got := headerList(res.Header, "Access-Control-Allow-Methods"); !slices.Contains(got, strings.ToLower(tt.method)) {
				t.Errorf("Access-Control-Allow-Methods %q, want %s among them", got, tt.method)
			}
			allowed := headerList(res.Header, "Access-Control-Allow-Headers")
			for _, h := range strings.Split(tt.headers, ",") {
				if !slices.Contains(allowed, h) {
					t.Errorf("Access-Control-Allow-Headers %q, want %s among them", allowed, h)
				}
			}
			if got := res.Header.Get("Access-Control-Max-Age"); got != "7200" {
				t.Errorf("Access-Control-Max-Age %q, want 7200", got)
			}
			if got := res.Header.Get("Access-Control-Allow-Credentials"); got != "" {
				t.Errorf("Access-Control-Allow-Credentials %q, want none", got)
			}
		})
	}
}

// grpcWebFrame is a gRPC-Web message frame: flags, length, message.
func grpcWebFrame(msg []byte) []byte {
	frame := make([]byte, 5, 5+len(msg))
	binary.BigEndian.PutUint32(frame[1:], uint32(len(msg)))
	return append(frame, msg...)
}

func TestCORSCalls(t *testing.T) {
	t.Parallel()
	r := runCORS(t, allowedOrigin)
	exposes := func(t *testing.T, h http.Header) {
		t.Helper()
		exposed := headerList(h, "Access-Control-Expose-Headers")
		for _, name := range []string{"grpc-status", "grpc-message", "grpc-status-details-bin"} {
			if !slices.Contains(exposed, name) {
				t.Errorf("Access-Control-Expose-Headers %q, want %s among them", exposed, name)
			}
		}
	}
	// Login{user: "mallory"}: field 1, a string; an unknown user.
	unknownUser := []byte{0x0a, 7, 'm', 'a', 'l', 'l', 'o', 'r', 'y'}
	tests := []struct {
		name        string
		origin      string
		procedure   string
		contentType string
		body        []byte
		allowOrigin string
		// grpcStatus is the grpc-status header wanted: a trailers-only
		// error answer carries it in the headers, which the page must read.
		grpcStatus string
	}{
		{name: "gRPC-Web from the allowed origin", origin: allowedOrigin, procedure: spartanv1connect.ChatServiceListUsersProcedure,
			contentType: "application/grpc-web+proto", body: grpcWebFrame(nil), allowOrigin: allowedOrigin},
		{name: "gRPC-Web error from the allowed origin", origin: allowedOrigin, procedure: spartanv1connect.ChatServiceLoginProcedure,
			contentType: "application/grpc-web+proto", body: grpcWebFrame(unknownUser), allowOrigin: allowedOrigin, grpcStatus: "5"},
		{name: "Connect from the allowed origin", origin: allowedOrigin, procedure: spartanv1connect.ChatServiceListUsersProcedure,
			contentType: "application/json", body: []byte("{}"), allowOrigin: allowedOrigin},
		{name: "gRPC-Web from another origin", origin: otherOrigin, procedure: spartanv1connect.ChatServiceListUsersProcedure,
			contentType: "application/grpc-web+proto", body: grpcWebFrame(nil)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req, err := http.NewRequestWithContext(testCtx(t), http.MethodPost, r.url()+tt.procedure, bytes.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Origin", tt.origin)
			req.Header.Set("Content-Type", tt.contentType)
			if strings.HasPrefix(tt.contentType, "application/grpc-web") {
				req.Header.Set("X-Grpc-Web", "1")
			}
			res := do(t, req)
			if res.StatusCode != http.StatusOK {
				t.Fatalf("status %d, want 200; body %q", res.StatusCode, res.Body)
			}
			if got := res.Header.Get("Grpc-Status"); got != tt.grpcStatus {
				t.Errorf("grpc-status header %q, want %q", got, tt.grpcStatus)
			}
			if got := res.Header.Get("Access-Control-Allow-Origin"); got != tt.allowOrigin {
				t.Errorf("Access-Control-Allow-Origin %q, want %q", got, tt.allowOrigin)
			}
			if !slices.Contains(headerList(res.Header, "Vary"), "origin") {
				t.Errorf("Vary %q, want Origin among them", res.Header.Values("Vary"))
			}
			if tt.allowOrigin != "" {
				exposes(t, res.Header)
			} else if got := res.Header.Values("Access-Control-Expose-Headers"); got != nil {
				t.Errorf("Access-Control-Expose-Headers %q for a disallowed origin, want none", got)
			}
		})
	}

	t.Run("gRPC-Web client", func(t *testing.T) {
		t.Parallel()
		// connect-go's own gRPC-Web client, with the Origin a browser adds.
		var seen http.Header
		base := &http.Transport{}
		t.Cleanup(base.CloseIdleConnections)
		client := spartanv1connect.NewChatServiceClient(&http.Client{Transport: originTransport{base: base, origin: allowedOrigin, seen: &seen}},
			r.url(), connect.WithGRPCWeb())
		res, err := client.ListUsers(testCtx(t), connect.NewRequest(&spartanv1.ListUsersRequest{}))
		if err != nil {
			t.Fatalf("ListUsers over gRPC-Web: %v", err)
		}
		if want := []string{"alice", "bob"}; !slices.Equal(res.Msg.GetUsers(), want) {
			t.Errorf("users %q, want %q", res.Msg.GetUsers(), want)
		}
		if got := seen.Get("Access-Control-Allow-Origin"); got != allowedOrigin {
			t.Errorf("Access-Control-Allow-Origin %q, want %q", got, allowedOrigin)
		}
		exposes(t, seen)
		_, err = client.Login(testCtx(t), connect.NewRequest(&spartanv1.LoginRequest{User: "mallory"}))
		if connect.CodeOf(err) != connect.CodeNotFound {
			t.Errorf("Login of an unknown user over gRPC-Web: %v, want NotFound", err)
		}
	})

	// connect-go serves binary gRPC-Web only: the README says so, and that
	// browser clients must not use grpc-web-text. If this changes, so does it.
	t.Run("grpc-web-text is not served", func(t *testing.T) {
		t.Parallel()
		req, err := http.NewRequestWithContext(testCtx(t), http.MethodPost, r.url()+spartanv1connect.ChatServiceListUsersProcedure,
			strings.NewReader("AAAAAAA="))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Origin", allowedOrigin)
		req.Header.Set("Content-Type", "application/grpc-web-text")
		req.Header.Set("X-Grpc-Web", "1")
		res := do(t, req)
		if res.StatusCode != http.StatusUnsupportedMediaType {
			t.Errorf("status %d for application/grpc-web-text, want 415", res.StatusCode)
		}
	})
}

// originTransport adds a browser's Origin header to every request over
// HTTP/1.1 and keeps the last response's headers.
type originTransport struct {
	base   *http.Transport
	origin string
	seen   *http.Header
}

func (o originTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.Header.Set("Origin", o.origin)
	res, err := o.base.RoundTrip(req)
	if err != nil {
		return nil, fmt.Errorf("round trip: %w", err)
	}
	*o.seen = res.Header.Clone()
	return res, nil
}
