package rpccache_test

import (
	"context"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"testing"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/reflect/protoreflect"

	spartanv1 "github.com/spartan-messenger/spartan/gen/spartan/v1"
	"github.com/spartan-messenger/spartan/gen/spartan/v1/spartanv1connect"
	"github.com/spartan-messenger/spartan/internal/api"
	"github.com/spartan-messenger/spartan/internal/chat"
	"github.com/spartan-messenger/spartan/internal/memory"
	"github.com/spartan-messenger/spartan/internal/rpccache"
)

func chatService() []protoreflect.ServiceDescriptor {
	return []protoreflect.ServiceDescriptor{spartanv1.File_spartan_v1_chat_proto.Services().ByName("ChatService")}
}

func TestCacheableReadsTheProto(t *testing.T) {
	t.Parallel()
	got, err := rpccache.Cacheable(chatService()...)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]spartanv1.CacheScope{
		spartanv1connect.ChatServiceListUsersProcedure: spartanv1.CacheScope_CACHE_SCOPE_STATIC,
		spartanv1connect.ChatServiceHistoryProcedure:   spartanv1.CacheScope_CACHE_SCOPE_CALLER,
	}
	if !maps.Equal(got, want) {
		t.Errorf("Cacheable = %v, want %v", got, want)
	}
}

// counter counts the calls that reach the handlers, per procedure.
type counter struct {
	mu    sync.Mutex
	calls map[string]int
}

func (c *counter) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		c.mu.Lock()
		c.calls[req.Spec().Procedure]++
		c.mu.Unlock()
		return next(ctx, req)
	}
}

func (c *counter) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

func (c *counter) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return next
}

func (c *counter) of(procedure string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls[procedure]
}

type fixture struct {
	client spartanv1connect.ChatServiceClient
	cache  *rpccache.Interceptor
	calls  *counter
}

// serve runs the real core and handlers behind the response cache (when
// withCache) on an in-process HTTP server.
func serve(tb testing.TB, withCache bool) fixture {
	tb.Helper()
	versions := rpccache.NewVersions()
	var n int
	core := chat.NewService(memory.NewStore(), memory.NewBroker(), memory.NewPresence(), chat.Options{
		Users:   []string{"alice", "bob", "carol"},
		NewID:   func() string { n++; return "id-" + strconv.Itoa(n) },
		Changed: versions.Bump,
	})
	calls := &counter{calls: map[string]int{}}
	f := fixture{calls: calls}
	interceptors := []connect.Interceptor{calls}
	if withCache {
		ic, err := rpccache.New(chatService(), versions, rpccache.Options{MaxEntries: 100, MaxBytes: 1 << 20})
		if err != nil {
			tb.Fatal(err)
		}
		f.cache = ic
		interceptors = []connect.Interceptor{ic, calls}
	}
	ctx, cancel := context.WithCancel(context.Background())
	tb.Cleanup(cancel)
	mux := http.NewServeMux()
	mux.Handle(spartanv1connect.NewChatServiceHandler(
		api.NewHandler(core, nil, ctx, slog.New(slog.NewTextHandler(io.Discard, nil))), // no log-in here
		connect.WithInterceptors(interceptors...)))
	srv := httptest.NewServer(mux)
	tb.Cleanup(srv.Close)
	f.client = spartanv1connect.NewChatServiceClient(srv.Client(), srv.URL)
	return f
}

func (f fixture) send(tb testing.TB, from, to, text string) {
	tb.Helper()
	_, err := f.client.SendMsg(tb.Context(), connect.NewRequest(&spartanv1.SendMsgRequest{User: from, Receiver: to, Payload: []byte(text)}))
	if err != nil {
		tb.Fatalf("send %s->%s: %v", from, to, err)
	}
}

func (f fixture) history(tb testing.TB, user, peer string) []string {
	tb.Helper()
	resp, err := f.client.History(tb.Context(), connect.NewRequest(&spartanv1.HistoryRequest{User: user, Peer: peer}))
	if err != nil {
		tb.Fatalf("history %s/%s: %v", user, peer, err)
	}
	var out []string
	for _, m := range resp.Msg.GetMessages() {
		out = append(out, string(m.GetPayload()))
	}
	return out
}

func (f fixture) connect(tb testing.TB, a, b string) {
	tb.Helper()
	ctx := tb.Context()
	if _, err := f.client.RequestChat(ctx, connect.NewRequest(&spartanv1.RequestChatRequest{User: a, Peer: b})); err != nil {
		tb.Fatal(err)
	}
	if _, err := f.client.AnswerChat(ctx, connect.NewRequest(&spartanv1.AnswerChatRequest{User: b, Peer: a, Accept: true})); err != nil {
		tb.Fatal(err)
	}
}

// TestHistoryIsNeverStale: History is cached, a SendMsg changes the
// conversation, and the next History returns the new message.
func TestHistoryIsNeverStale(t *testing.T) {
	t.Parallel()
	f := serve(t, true)
	f.connect(t, "alice", "bob")
	f.connect(t, "carol", "bob")
	f.send(t, "alice", "bob", "one")
	const history = spartanv1connect.ChatServiceHistoryProcedure
	steps := []struct {
		name     string
		act      func()
		user     string
		peer     string
		want     []string
		handlers int // calls of the History handler so far
	}{
		{"first read runs the handler", nil, "alice", "bob", []string{"one"}, 1},
		{"second read is a hit", nil, "alice", "bob", []string{"one"}, 1},
		{"the peer's read is its own entry", nil, "bob", "alice", []string{"one"}, 2},
		{"after alice sends, alice's read is fresh", func() { f.send(t, "alice", "bob", "two") }, "alice", "bob", []string{"one", "two"}, 3},
		{"and so is bob's", nil, "bob", "alice", []string{"one", "two"}, 4},
		{"after bob replies, fresh again", func() { f.send(t, "bob", "alice", "three") }, "alice", "bob", []string{"one", "two", "three"}, 5},
		{"a write between others leaves alice's entry", func() { f.send(t, "carol", "bob", "hi") }, "alice", "bob", []string{"one", "two", "three"}, 5},
	}
	for _, s := range steps {
		if s.act != nil {
			s.act()
		}
		got := f.history(t, s.user, s.peer)
		if !slices.Equal(got, s.want) {
			t.Fatalf("%s: history = %q, want %q", s.name, got, s.want)
		}
		if n := f.calls.of(history); n != s.handlers {
			t.Fatalf("%s: History handler ran %d times, want %d", s.name, n, s.handlers)
		}
	}
	if st := f.cache.Stats(); st.Hits != 2 || st.Stale == 0 {
		t.Errorf("stats %+v", st)
	}
}

// TestOnlyDeclaredRPCsAreCached: ListUsers (declared) runs once; Login
// (not declared) runs every time; errors are not cached.
func TestOnlyDeclaredRPCsAreCached(t *testing.T) {
	t.Parallel()
	f := serve(t, true)
	ctx := t.Context()
	for range 3 {
		if _, err := f.client.ListUsers(ctx, connect.NewRequest(&spartanv1.ListUsersRequest{})); err != nil {
			t.Fatal(err)
		}
		if _, err := f.client.Login(ctx, connect.NewRequest(&spartanv1.LoginRequest{User: "alice"})); err != nil {
			t.Fatal(err)
		}
		if _, err := f.client.History(ctx, connect.NewRequest(&spartanv1.HistoryRequest{User: "alice", Peer: "nobody"})); connect.CodeOf(err) != connect.CodeNotFound {
			t.Fatalf("History with an unknown peer: %v", err)
		}
	}
	tests := []struct {
		procedure string
		want      int
	}{
		{spartanv1connect.ChatServiceListUsersProcedure, 1},
		{spartanv1connect.ChatServiceLoginProcedure, 3},
		{spartanv1connect.ChatServiceHistoryProcedure, 3},
	}
	for _, tt := range tests {
		if got := f.calls.of(tt.procedure); got != tt.want {
			t.Errorf("%s ran %d times, want %d", tt.procedure, got, tt.want)
		}
	}
}

func TestBoundsHold(t *testing.T) {
	t.Parallel()
	versions := rpccache.NewVersions()
	core := chat.NewService(memory.NewStore(), memory.NewBroker(), memory.NewPresence(), chat.Options{
		Users: []string{"alice", "bob"}, NewID: func() string { return "x" }, Changed: versions.Bump,
	})
	ic, err := rpccache.New(chatService(), versions, rpccache.Options{MaxEntries: 5, MaxBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(spartanv1connect.NewChatServiceHandler(api.NewHandler(core, nil, t.Context(), slog.New(slog.NewTextHandler(io.Discard, nil))), connect.WithInterceptors(ic)))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	client := spartanv1connect.NewChatServiceClient(srv.Client(), srv.URL)
	for i := range 20 {
		if _, err := client.History(t.Context(), connect.NewRequest(&spartanv1.HistoryRequest{User: "alice", Peer: "bob", BeforeSeq: uint64(i + 1)})); err != nil {
			t.Fatal(err)
		}
		if st := ic.Stats(); st.Entries > 5 {
			t.Fatalf("call %d: %d entries", i, st.Entries)
		}
	}
}
