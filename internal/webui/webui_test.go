package webui_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/spartan-messenger/spartan/internal/webui"
)

func TestHandler(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	mux.Handle(webui.Pattern, webui.Handler())
	mux.Handle("/spartan.v1.ChatService/", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "rpc")
	}))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	tests := []struct {
		name, method, path string
		status             int
		contentType, body  string
	}{
		{name: "the page", method: http.MethodGet, path: "/", status: http.StatusOK, contentType: "text/html", body: "<title>Spartan Messenger</title>"},
		{name: "its script", method: http.MethodGet, path: "/app.js", status: http.StatusOK, contentType: "text/javascript", body: ""},
		{name: "its style", method: http.MethodGet, path: "/app.css", status: http.StatusOK, contentType: "text/css", body: ""},
		{name: "head", method: http.MethodHead, path: "/", status: http.StatusOK, contentType: "text/html"},
		{name: "index.html by name", method: http.MethodGet, path: "/index.html", status: http.StatusNotFound},
		{name: "no such file", method: http.MethodGet, path: "/nope.js", status: http.StatusNotFound},
		{name: "a post", method: http.MethodPost, path: "/", status: http.StatusNotFound},
		{name: "a call of a service the server does not have", method: http.MethodPost, path: "/other.v1.Service/Call", status: http.StatusNotFound},
		{name: "the RPCs keep their paths", method: http.MethodPost, path: "/spartan.v1.ChatService/Login", status: http.StatusOK, body: "rpc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req, err := http.NewRequestWithContext(t.Context(), tt.method, srv.URL+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			res, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = res.Body.Close() }()
			body, err := io.ReadAll(res.Body)
			if err != nil {
				t.Fatal(err)
			}
			if res.StatusCode != tt.status {
				t.Fatalf("%s %s: status %d, want %d (%s)", tt.method, tt.path, res.StatusCode, tt.status, body)
			}
			if ct := res.Header.Get("Content-Type"); tt.contentType != "" && !strings.HasPrefix(ct, tt.contentType) {
				t.Errorf("%s %s: Content-Type %q, want %s", tt.method, tt.path, ct, tt.contentType)
			}
			if !strings.Contains(string(body), tt.body) {
				t.Errorf("%s %s: body %.200q lacks %q", tt.method, tt.path, body, tt.body)
			}
			if tt.status == http.StatusOK && tt.path != "/spartan.v1.ChatService/Login" {
				if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
					t.Errorf("%s: Content-Security-Policy %q", tt.path, csp)
				}
			}
		})
	}
}
