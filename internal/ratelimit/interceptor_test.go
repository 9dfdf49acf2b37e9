package ratelimit_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"

	spartanv1 "github.com/spartan-messenger/spartan/gen/spartan/v1"
	"github.com/spartan-messenger/spartan/gen/spartan/v1/spartanv1connect"
	"github.com/spartan-messenger/spartan/internal/config"
	"github.com/spartan-messenger/spartan/internal/ratelimit"
	"github.com/spartan-messenger/spartan/internal/servertest"
)

// TestClassesOfTheProto: every RPC of ChatService that writes declares a
// class, as the proto says.
func TestClassesOfTheProto(t *testing.T) {
	t.Parallel()
	got, err := ratelimit.Classes(spartanv1.File_spartan_v1_chat_proto.Services().ByName("ChatService"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"Login": "login", "RequestChat": "request", "AnswerChat": "request",
		"SendMsg": "send", "SendMsgStream": "send", "ReceiveMsg": "stream", "Ack": "ack",
		"PublishKey": "keys", "GetKey": "keys", "GetKeys": "keys",
		"CreateGroup": "request", "AddMember": "request", "LeaveGroup": "request", "ShareGroupKey": "keys",
		"Challenge": "login", "Authenticate": "login",
	}
	for m, class := range want {
		if got["/spartan.v1.ChatService/"+m] != class {
			t.Errorf("%s: class %q, want %q", m, got["/spartan.v1.ChatService/"+m], class)
		}
	}
	if len(got) != len(want) {
		t.Errorf("classes %v, want exactly %v", got, want)
	}
}

// TestClassesRefuses: a writing RPC with neither a class nor an exemption,
// or with both, stops the server from starting.
func TestClassesRefuses(t *testing.T) {
	t.Parallel()
	rate := func(ro *spartanv1.RateOptions) *descriptorpb.MethodOptions {
		o := &descriptorpb.MethodOptions{}
		if ro != nil {
			proto.SetExtension(o, spartanv1.E_Rate, ro)
		}
		return o
	}
	readOnly := &descriptorpb.MethodOptions{IdempotencyLevel: descriptorpb.MethodOptions_NO_SIDE_EFFECTS.Enum()}
	tests := []struct {
		name string
		opts *descriptorpb.MethodOptions
		want string // "" for no error
	}{
		{"writes, no option", rate(nil), "has no (spartan.v1.rate) option"},
		{"both", rate(&spartanv1.RateOptions{Class: "send", Exempt: "because"}), "both a rate class and an exemption"},
		{"exempt with a reason", rate(&spartanv1.RateOptions{Exempt: "clients coalesce it"}), ""},
		{"reads only", readOnly, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := ratelimit.Classes(service(t, tt.opts))
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("error %v, want none", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("error %v, want one saying %q", err, tt.want)
			}
		})
	}
}

// service builds a service of one method Do with opts.
func service(tb testing.TB, opts *descriptorpb.MethodOptions) protoreflect.ServiceDescriptor {
	tb.Helper()
	fd, err := protodesc.NewFile(&descriptorpb.FileDescriptorProto{
		Name:       proto.String("t.proto"),
		Package:    proto.String("t"),
		Syntax:     proto.String("proto3"),
		Dependency: []string{"google/protobuf/empty.proto"},
		Service: []*descriptorpb.ServiceDescriptorProto{{
			Name: proto.String("S"),
			Method: []*descriptorpb.MethodDescriptorProto{{
				Name: proto.String("Do"), InputType: proto.String(".google.protobuf.Empty"),
				OutputType: proto.String(".google.protobuf.Empty"), Options: opts,
			}},
		}},
	}, protoregistryFiles())
	if err != nil {
		tb.Fatal(err)
	}
	return fd.Services().Get(0)
}

// limited starts a server whose classes are as given (others unlimited)
// and returns a gRPC client of it.
func limited(tb testing.TB, sendPerSecond int, classes map[string]config.RateClass) spartanv1connect.ChatServiceClient {
	tb.Helper()
	cfg := servertest.Config()
	cfg.Rate.Calls, cfg.Rate.WindowSeconds, cfg.Rate.Burst = sendPerSecond, 1, sendPerSecond
	for name, c := range classes {
		cfg.Rate.Classes[name] = c
	}
	srv := servertest.Start(tb, cfg)
	return spartanv1connect.NewChatServiceClient(h2c(), srv.URL, connect.WithGRPC())
}

// wantRefused checks a refusal: ResourceExhausted, the sentence, and a
// RetryInfo with a wait of at most maxWait.
func wantRefused(tb testing.TB, err error, sentence string, maxWait time.Duration) {
	tb.Helper()
	var cerr *connect.Error
	if !errors.As(err, &cerr) || cerr.Code() != connect.CodeResourceExhausted || !strings.HasPrefix(cerr.Message(), sentence) {
		tb.Fatalf("error %v, want ResourceExhausted saying %q...", err, sentence)
	}
	for _, d := range cerr.Details() {
		if v, err := d.Value(); err == nil {
			if ri, ok := v.(*errdetails.RetryInfo); ok {
				if w := ri.GetRetryDelay().AsDuration(); w <= 0 || w > maxWait {
					tb.Fatalf("RetryInfo %s, want a wait up to %s", w, maxWait)
				}
				return
			}
		}
	}
	tb.Fatalf("no RetryInfo in %v", cerr.Details())
}

// TestRefusal: past the limit a send is refused with the sentence and the
// wait, and nothing is stored; another user is not affected.
func TestRefusal(t *testing.T) {
	t.Parallel()
	c := limited(t, 2, nil)
	ctx := t.Context()
	if _, err := c.RequestChat(ctx, connect.NewRequest(&spartanv1.RequestChatRequest{User: "alice", Peer: "bob"})); err != nil {
		t.Fatal(err)
	}
	if _, err := c.AnswerChat(ctx, connect.NewRequest(&spartanv1.AnswerChatRequest{User: "bob", Peer: "alice", Accept: true})); err != nil {
		t.Fatal(err)
	}
	send := func(from, to string) error {
		_, err := c.SendMsg(ctx, connect.NewRequest(&spartanv1.SendMsgRequest{User: from, Receiver: to, Payload: []byte("hi")}))
		return err
	}
	for range 2 {
		if err := send("alice", "bob"); err != nil {
			t.Fatal(err)
		}
	}
	wantRefused(t, send("alice", "bob"), "alice may send 2 messages a second; try again in ", time.Second/2)
	if err := send("bob", "alice"); err != nil {
		t.Fatalf("bob's send, with alice over her limit: %v", err)
	}
	res, err := c.History(ctx, connect.NewRequest(&spartanv1.HistoryRequest{User: "alice", Peer: "bob"}))
	if err != nil || len(res.Msg.GetMessages()) != 3 {
		t.Fatalf("history holds %d messages (%v), want 3: nothing of the refused send", len(res.Msg.GetMessages()), err)
	}
}

// TestStreamCountedWhenItOpens: a stream counts once, when it opens.
func TestStreamCountedWhenItOpens(t *testing.T) {
	t.Parallel()
	c := limited(t, 100, map[string]config.RateClass{"stream": {Calls: 1, WindowSeconds: 60, Burst: 1}})
	ctx := t.Context()
	first, err := c.ReceiveMsg(ctx, connect.NewRequest(&spartanv1.Message{Receiver: "bob"}))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = first.Close() }()
	if !first.Receive() { // its presence snapshot: the stream is open
		t.Fatalf("first stream: %v", first.Err())
	}
	second, err := c.ReceiveMsg(ctx, connect.NewRequest(&spartanv1.Message{Receiver: "bob"}))
	if err == nil {
		defer func() { _ = second.Close() }()
		if second.Receive() {
			t.Fatal("a second stream opened past the limit")
		}
		err = second.Err()
	}
	wantRefused(t, err, "bob may open 1 stream a minute; try again in ", time.Minute)
}

// TestLoginCountedPerAddress: logging in counts per remote address, whoever
// it names.
func TestLoginCountedPerAddress(t *testing.T) {
	t.Parallel()
	c := limited(t, 100, map[string]config.RateClass{"login": {Calls: 2, WindowSeconds: 60, Burst: 2}})
	ctx := t.Context()
	for _, u := range []string{"alice", "bob"} {
		if _, err := c.Login(ctx, connect.NewRequest(&spartanv1.LoginRequest{User: u})); err != nil {
			t.Fatal(err)
		}
	}
	_, err := c.Login(ctx, connect.NewRequest(&spartanv1.LoginRequest{User: "charlie"}))
	wantRefused(t, err, "this address may log in 2 times a minute; try again in ", time.Minute)
}
