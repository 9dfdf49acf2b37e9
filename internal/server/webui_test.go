package server_test

import (
	"net/http"
	"strings"
	"testing"

	"connectrpc.com/connect"

	spartanv1 "github.com/spartan-messenger/spartan/gen/spartan/v1"
	"github.com/spartan-messenger/spartan/gen/spartan/v1/spartanv1connect"
	"github.com/spartan-messenger/spartan/internal/servertest"
)

// The public port serves the browser client at GET / beside the RPCs, which
// keep working, with log-in required.
func TestWebUIOnThePublicPort(t *testing.T) {
	t.Parallel()
	cfg := servertest.Config()
	cfg.Auth.Required = true
	srv := servertest.Start(t, cfg)

	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	page := do(t, req)
	if page.StatusCode != http.StatusOK || !strings.Contains(string(page.Body), "<title>Spartan Messenger</title>") {
		t.Fatalf("GET /: status %d, body %.200q", page.StatusCode, page.Body)
	}
	if ct := page.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("GET /: Content-Type %q, want text/html", ct)
	}
	req, err = http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/app.js", nil)
	if err != nil {
		t.Fatal(err)
	}
	if script := do(t, req); script.StatusCode != http.StatusOK || len(script.Body) == 0 {
		t.Fatalf("GET /app.js: status %d, %d bytes", script.StatusCode, len(script.Body))
	}

	// The same port still serves the API: the page's first call, over
	// Connect and HTTP/1.1 as a browser makes it.
	client := spartanv1connect.NewChatServiceClient(http.DefaultClient, srv.URL)
	res, err := client.ListUsers(t.Context(), connect.NewRequest(&spartanv1.ListUsersRequest{}))
	if err != nil {
		t.Fatalf("ListUsers next to the page: %v", err)
	}
	if len(res.Msg.GetUsers()) == 0 {
		t.Fatal("ListUsers returned no users")
	}
	if _, err := client.Login(t.Context(), connect.NewRequest(&spartanv1.LoginRequest{User: "alice"})); connect.CodeOf(err) != connect.CodeUnauthenticated {
		t.Fatalf("Login without a token: %v, want Unauthenticated", err)
	}
	// A call this server does not have is still Unimplemented, over gRPC
	// and Connect, not taken for a request of the page.
	for _, opts := range [][]connect.ClientOption{{connect.WithGRPC()}, nil} {
		missing := connect.NewClient[spartanv1.LoginRequest, spartanv1.LoginResponse](h2cClient(t), srv.URL+"/spartan.v1.ChatService/NoSuchCall", opts...)
		if _, err := missing.CallUnary(t.Context(), connect.NewRequest(&spartanv1.LoginRequest{})); connect.CodeOf(err) != connect.CodeUnimplemented {
			t.Errorf("a call of no RPC (%d options): %v, want Unimplemented", len(opts), err)
		}
	}
}
