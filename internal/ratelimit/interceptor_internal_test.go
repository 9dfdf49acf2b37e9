package ratelimit

import (
	"context"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/reflect/protoreflect"

	spartanv1 "github.com/spartan-messenger/spartan/gen/spartan/v1"
)

// BenchmarkInterceptorAllowed is the interceptor's own cost on an allowed
// call: finding the class, naming the caller, the in-process decision.
func BenchmarkInterceptorAllowed(b *testing.B) {
	mem, err := NewMemory(100_000, nil)
	if err != nil {
		b.Fatal(err)
	}
	i, err := New([]protoreflect.ServiceDescriptor{spartanv1.File_spartan_v1_chat_proto.Services().ByName("ChatService")},
		map[string]Limit{
			"send": {Rate: 1 << 30, Period: time.Second, Burst: 1 << 30}, "request": {Rate: 1, Period: time.Second, Burst: 1},
			"login": {Rate: 1, Period: time.Second, Burst: 1}, "stream": {Rate: 1, Period: time.Second, Burst: 1},
			"ack": {Rate: 1, Period: time.Second, Burst: 1}, "keys": {Rate: 1, Period: time.Second, Burst: 1},
		}, mem)
	if err != nil {
		b.Fatal(err)
	}
	msg := &spartanv1.SendMsgRequest{User: "alice", Receiver: "bob", Payload: []byte("hi")}
	peer := connect.Peer{Addr: "127.0.0.1:40000"}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := i.check(ctx, "/spartan.v1.ChatService/SendMsg", msg, peer); err != nil {
			b.Fatal(err)
		}
	}
}

// TestAllowance: the limit as the refusal words it.
func TestAllowance(t *testing.T) {
	t.Parallel()
	tests := []struct {
		class string
		l     Limit
		want  string
	}{
		{"send", Limit{Rate: 450, Period: 30 * time.Second}, "send 15 messages a second"},
		{"send", Limit{Rate: 5, Period: 30 * time.Second}, "send 5 messages per 30s"},
		{"stream", Limit{Rate: 1, Period: time.Minute}, "open 1 stream a minute"},
		{"login", Limit{Rate: 120, Period: 2 * time.Minute}, "log in 1 time a second"},
		{"other", Limit{Rate: 3, Period: time.Hour}, "make 3 other calls an hour"},
	}
	for _, tt := range tests {
		if got := allowance(tt.class, tt.l); got != tt.want {
			t.Errorf("allowance(%s, %+v) = %q, want %q", tt.class, tt.l, got, tt.want)
		}
	}
}
