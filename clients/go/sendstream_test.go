package spartan_test

import (
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"

	"connectrpc.com/connect"

	spartan "github.com/spartan-messenger/spartan/clients/go"
	spartanv1 "github.com/spartan-messenger/spartan/gen/spartan/v1"
	"github.com/spartan-messenger/spartan/gen/spartan/v1/spartanv1connect"
	"github.com/spartan-messenger/spartan/internal/servertest"
)

// countingTransport counts the calls of SendMsg and SendMsgStream. The
// first SendMsg waits until a stream opens (when streamFirst is set), so
// that the sends after it are surely in flight beside it. With noStream,
// it answers SendMsgStream as a server without it would: 404.
type countingTransport struct {
	base        http.RoundTripper
	unary       atomic.Int64
	streams     atomic.Int64
	streamFirst bool
	noStream    bool
	opened      chan struct{}
	openOnce    sync.Once
}

func (t *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	switch req.URL.Path {
	case spartanv1connect.ChatServiceSendMsgProcedure:
		if t.unary.Add(1) == 1 && t.streamFirst {
			select {
			case <-t.opened:
			case <-req.Context().Done():
				return nil, req.Context().Err()
			}
		}
	case spartanv1connect.ChatServiceSendMsgStreamProcedure:
		t.streams.Add(1)
		t.openOnce.Do(func() { close(t.opened) })
		if t.noStream {
			return &http.Response{StatusCode: http.StatusNotFound, Body: http.NoBody, Header: http.Header{}, Request: req}, nil
		}
	}
	return t.base.RoundTrip(req)
}

// countedClient is a client of alice's on addr whose sends are counted.
func countedClient(tb testing.TB, addr string, t *countingTransport, opts ...spartan.Option) *spartan.Client {
	tb.Helper()
	protocols := new(http.Protocols)
	protocols.SetUnencryptedHTTP2(true)
	base := &http.Transport{Protocols: protocols}
	tb.Cleanup(base.CloseIdleConnections)
	t.base, t.opened = base, make(chan struct{})
	return spartan.New(addr, "alice", append(opts, spartan.WithHTTPClient(&http.Client{Transport: t}))...)
}

// sendAll sends reqs from one goroutine each and returns each one's error.
func sendAll(tb testing.TB, c *spartan.Client, reqs []*spartanv1.SendMsgRequest) []error {
	tb.Helper()
	errs := make([]error, len(reqs))
	var wg sync.WaitGroup
	for i, r := range reqs {
		wg.Go(func() {
			_, errs[i] = c.Send(tb.Context(), r)
		})
	}
	wg.Wait()
	return errs
}

func textsTo(receiver string, n int) []*spartanv1.SendMsgRequest {
	reqs := make([]*spartanv1.SendMsgRequest, n)
	for i := range reqs {
		reqs[i] = &spartanv1.SendMsgRequest{Receiver: receiver, Payload: fmt.Appendf(nil, "t%d", i), ClientMsgId: spartan.NewMessageID()}
	}
	return reqs
}

// historyOf is bob's number of texts from alice.
func historyOf(tb testing.TB, addr string) int {
	tb.Helper()
	msgs, _, err := spartan.New(addr, "bob").History(tb.Context(), "alice", 0, 500)
	if err != nil {
		tb.Fatal(err)
	}
	n := 0
	for _, m := range msgs {
		if m.GetType() == spartanv1.MessageType_MESSAGE_TYPE_TEXT {
			n++
		}
	}
	return n
}

// TestSendsShareAStream: sends in flight together go on one SendMsgStream,
// with the answers SendMsg would give each: a refused one gets its own
// error and the others go through; WithUnarySend keeps to SendMsg; a server
// without the stream gets SendMsg, and is not asked again.
func TestSendsShareAStream(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, servertest.Config())
	bob := spartan.New(srv.Addr, "bob")
	if _, err := spartan.New(srv.Addr, "alice").RequestChat(t.Context(), "bob"); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.AnswerChat(t.Context(), "alice", true); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		transport   *countingTransport
		opts        []spartan.Option
		wantStreams func(n int64) bool
		wantUnary   func(n int64) bool
	}{
		{"shared stream", &countingTransport{streamFirst: true}, nil,
			func(n int64) bool { return n >= 1 }, func(n int64) bool { return n >= 1 && n < 40 }},
		{"unary only", &countingTransport{}, []spartan.Option{spartan.WithUnarySend()},
			func(n int64) bool { return n == 0 }, func(n int64) bool { return n == 40 }},
		{"server without the stream", &countingTransport{streamFirst: true, noStream: true}, nil,
			func(n int64) bool { return n == 1 }, func(n int64) bool { return n == 40 }},
	}
	for _, tt := range tests {
		before := historyOf(t, srv.Addr)
		alice := countedClient(t, srv.Addr, tt.transport, tt.opts...)
		for i, err := range sendAll(t, alice, textsTo("bob", 40)) {
			if err != nil {
				t.Errorf("%s: send %d: %v", tt.name, i, err)
			}
		}
		if s, u := tt.transport.streams.Load(), tt.transport.unary.Load(); !tt.wantStreams(s) || !tt.wantUnary(u) {
			t.Errorf("%s: %d streams and %d SendMsg calls for 40 sends", tt.name, s, u)
		}
		// A refused send among others gets its own error, wherever it
		// stands on the stream; the others go through.
		reqs := append(textsTo("bob", 20), &spartanv1.SendMsgRequest{Receiver: "mallory", Payload: []byte("hi"), ClientMsgId: spartan.NewMessageID()})
		errs := sendAll(t, alice, reqs)
		for i, err := range errs[:20] {
			if err != nil {
				t.Errorf("%s: send %d beside a refused one: %v", tt.name, i, err)
			}
		}
		if connect.CodeOf(errs[20]) != connect.CodeNotFound {
			t.Errorf("%s: the send to mallory: %v, want NotFound", tt.name, errs[20])
		}
		if got := historyOf(t, srv.Addr) - before; got != 60 {
			t.Errorf("%s: bob got %d new texts, want 60", tt.name, got)
		}
	}
}

// TestManySendsInFlight: thousands of sends in flight at once on one client
// share its stream, and each is answered once, with an id of its own.
func TestManySendsInFlight(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, servertest.Config())
	if _, err := spartan.New(srv.Addr, "alice").RequestChat(t.Context(), "bob"); err != nil {
		t.Fatal(err)
	}
	if _, err := spartan.New(srv.Addr, "bob").AnswerChat(t.Context(), "alice", true); err != nil {
		t.Fatal(err)
	}
	alice := spartan.New(srv.Addr, "alice")
	reqs := textsTo("bob", 3000)
	for i := range reqs {
		reqs[i].Payload = make([]byte, 200)
	}
	ids := map[string]bool{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, r := range reqs {
		wg.Go(func() {
			res, err := alice.Send(t.Context(), r)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			ids[res.GetId()] = true
			mu.Unlock()
		})
	}
	wg.Wait()
	if len(ids) != len(reqs) {
		t.Errorf("%d distinct ids for %d sends", len(ids), len(reqs))
	}
}
