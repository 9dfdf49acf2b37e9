package api_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"

	spartanv1 "github.com/spartan-messenger/spartan/gen/spartan/v1"
	"github.com/spartan-messenger/spartan/gen/spartan/v1/spartanv1connect"
	"github.com/spartan-messenger/spartan/internal/servertest"
)

// TestHistoryPageStaysUnder4MiB: a page of large messages holds fewer of
// them, whatever page_size asks, so that a stock gRPC client (4 MiB receive
// limit) reads every page; next_before_seq leads through all of them.
func TestHistoryPageStaysUnder4MiB(t *testing.T) {
	t.Parallel()
	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) {
			t.Parallel()
			cfg := servertest.Config()
			cfg.Users = users
			cfg.MaxMessageBytes = 64 << 10
			srv := servertest.Start(t, cfg)
			historyPages(t, &env{srv: srv, c: spartanv1connect.NewChatServiceClient(h2cClient(t), srv.URL, p.opts...)})
		})
	}
}

func historyPages(t *testing.T, e *env) {
	e.chatting(t, "alice", "bob")
	const n = 100
	for i := range n {
		payload := fmt.Sprintf("%03d %s", i, strings.Repeat("x", 64<<10-4))
		if _, err := e.c.SendMsg(testCtx(t), connect.NewRequest(&spartanv1.SendMsgRequest{User: "alice", Receiver: "bob", Payload: []byte(payload)})); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	seen := 0
	pages := 0
	for before := uint64(0); ; {
		res, err := e.c.History(testCtx(t), connect.NewRequest(&spartanv1.HistoryRequest{User: "bob", Peer: "alice", BeforeSeq: before, PageSize: 500}))
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if size := proto.Size(res.Msg); size >= 4<<20 {
			t.Fatalf("page %d is %d bytes encoded, want under 4 MiB", pages, size)
		}
		msgs := res.Msg.GetMessages()
		if len(msgs) == 0 {
			t.Fatalf("page %d is empty", pages)
		}
		for i := len(msgs) - 1; i >= 0; i-- {
			if want := fmt.Sprintf("%03d ", n-1-seen); !strings.HasPrefix(string(msgs[i].GetPayload()), want) {
				t.Fatalf("message %d starts %q, want %q", seen, msgs[i].GetPayload()[:4], want)
			}
			seen++
		}
		before = res.Msg.GetNextBeforeSeq()
		if before == 0 {
			break
		}
	}
	if seen != n || pages < 3 {
		t.Fatalf("%d messages in %d pages, want %d in 3 or more", seen, pages, n)
	}
}

// TestMalformedRequestNamesTheMessage: a request that does not decode is
// InvalidArgument and names the message as the proto does, not a Go type.
func TestMalformedRequestNamesTheMessage(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	tests := []struct {
		name, contentType string
		body              []byte
	}{
		{"binary", "application/proto", []byte{0x0a, 0xff, 0xff}}, // field 1, a length past the end
		{"json", "application/json", []byte(`{"user": 7`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req, err := http.NewRequestWithContext(testCtx(t), http.MethodPost, srv.URL+"/spartan.v1.ChatService/Login", bytes.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", tt.contentType)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = res.Body.Close() }()
			body, _ := io.ReadAll(res.Body)
			if res.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "invalid_argument") ||
				!strings.Contains(string(body), "spartan.v1.LoginRequest") || strings.Contains(string(body), "spartanv1") {
				t.Fatalf("status %d, body %s; want invalid_argument naming spartan.v1.LoginRequest", res.StatusCode, body)
			}
		})
	}
}
