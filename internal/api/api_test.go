package api_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"

	spartanv1 "github.com/spartan-messenger/spartan/gen/spartan/v1"
	"github.com/spartan-messenger/spartan/gen/spartan/v1/spartanv1connect"
	"github.com/spartan-messenger/spartan/internal/servertest"
)

// users are the test servers' users, in configuration order.
var users = []string{"alice", "bob", "carol", "dave"}

const (
	maxBytes   = 1024 // the test servers' max_message_bytes
	maxPending = 3    // the test servers' max_pending_messages
	// waitLimit bounds every wait of a test.
	waitLimit = 20 * time.Second
)

// protocol is one of the three wire protocols a client may speak.
type protocol struct {
	name string
	opts []connect.ClientOption
}

var protocols = []protocol{
	{name: "connect"},
	{name: "grpc", opts: []connect.ClientOption{connect.WithGRPC()}},
	{name: "grpcweb", opts: []connect.ClientOption{connect.WithGRPCWeb()}},
}

// startServer starts a server with the test configuration. It stops when the
// test ends; a failed test shows its log.
func startServer(tb testing.TB) *servertest.Server {
	tb.Helper()
	cfg := servertest.Config()
	cfg.Users = users
	cfg.MaxMessageBytes = maxBytes
	cfg.MaxPendingMessages = maxPending
	return servertest.Start(tb, cfg)
}

// h2cClient is an HTTP client that speaks only cleartext HTTP/2, as gRPC needs.
func h2cClient(tb testing.TB) *http.Client {
	tb.Helper()
	var protos http.Protocols
	protos.SetUnencryptedHTTP2(true)
	tr := &http.Transport{Protocols: &protos}
	tb.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// env is one test's server and a client of it speaking one protocol.
type env struct {
	srv *servertest.Server
	c   spartanv1connect.ChatServiceClient
}

// eachProtocol runs fn in parallel subtests, one per protocol, each with its
// own server.
func eachProtocol(t *testing.T, fn func(t *testing.T, e *env)) {
	t.Helper()
	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) {
			t.Parallel()
			srv := startServer(t)
			fn(t, &env{srv: srv, c: spartanv1connect.NewChatServiceClient(h2cClient(t), srv.URL, p.opts...)})
		})
	}
}

// testCtx returns a context that ends with the test or after waitLimit.
func testCtx(tb testing.TB) context.Context {
	tb.Helper()
	c, cancel := context.WithTimeout(tb.Context(), waitLimit)
	tb.Cleanup(cancel)
	return c
}

func (e *env) request(tb testing.TB, user, peer string) spartanv1.ConversationState {
	tb.Helper()
	res, err := e.c.RequestChat(testCtx(tb), connect.NewRequest(&spartanv1.RequestChatRequest{User: user, Peer: peer}))
	if err != nil {
		tb.Fatalf("%s asks %s to chat: %v", user, peer, err)
	}
	return res.Msg.GetState()
}

func (e *env) answer(tb testing.TB, user, peer string, accept bool) *spartanv1.AnswerChatResponse {
	tb.Helper()
	res, err := e.c.AnswerChat(testCtx(tb), connect.NewRequest(&spartanv1.AnswerChatRequest{User: user, Peer: peer, Accept: accept}))
	if err != nil {
		tb.Fatalf("%s answers %s (accept %t): %v", user, peer, accept, err)
	}
	return res.Msg
}

// chatting makes user and peer chat.
func (e *env) chatting(tb testing.TB, user, peer string) {
	tb.Helper()
	e.request(tb, user, peer)
	e.answer(tb, peer, user, true)
}

func (e *env) send(tb testing.TB, from, to, text string) *spartanv1.SendMsgResponse {
	tb.Helper()
	res, err := e.c.SendMsg(testCtx(tb), connect.NewRequest(&spartanv1.SendMsgRequest{User: from, Receiver: to, Payload: []byte(text)}))
	if err != nil {
		tb.Fatalf("send %s->%s %q: %v", from, to, text, err)
	}
	return res.Msg
}

// stream is an open ReceiveMsg stream and the function that cancels it.
type stream struct {
	*connect.ServerStreamForClient[spartanv1.Message]
	cancel context.CancelFunc
	// presence collects the presence events Receive skipped.
	presence []*spartanv1.Message
}

// Receive receives the next inbox message, setting presence events aside.
func (s *stream) Receive() bool {
	for s.ServerStreamForClient.Receive() {
		if s.Msg().GetType() != spartanv1.MessageType_MESSAGE_TYPE_PRESENCE {
			return true
		}
		s.presence = append(s.presence, s.Msg())
	}
	return false
}

// openLimit bounds the wait for a stream's response headers, which the
// server sends at once, whether or not anything waits for the receiver.
const openLimit = 5 * time.Second

// open opens receiver's stream after seq; it ends with the test or waitLimit.
func (e *env) open(tb testing.TB, receiver string, seq uint64) *stream {
	tb.Helper()
	sctx, cancel := context.WithCancel(testCtx(tb))
	type opened struct {
		s   *connect.ServerStreamForClient[spartanv1.Message]
		err error
	}
	done := make(chan opened, 1)
	go func() {
		s, err := e.c.ReceiveMsg(sctx, connect.NewRequest(&spartanv1.Message{Receiver: receiver, Seq: seq}))
		done <- opened{s, err}
	}()
	wait, cancelWait := context.WithTimeout(sctx, openLimit)
	defer cancelWait()
	var o opened
	select {
	case o = <-done:
	case <-wait.Done():
		cancel()
		tb.Fatalf("open %s's stream after %d: no response headers within %s", receiver, seq, openLimit)
	}
	s, err := o.s, o.err
	if err != nil {
		cancel()
		tb.Fatalf("open %s's stream after %d: %v", receiver, seq, err)
	}
	tb.Cleanup(func() {
		cancel()
		_ = s.Close()
	})
	return &stream{ServerStreamForClient: s, cancel: cancel}
}

// next receives n messages; the stream's deadline bounds the wait.
func (s *stream) next(tb testing.TB, n int) []*spartanv1.Message {
	tb.Helper()
	out := make([]*spartanv1.Message, 0, n)
	for len(out) < n {
		if !s.Receive() {
			tb.Fatalf("stream ended after %d of %d messages: %v", len(out), n, s.Err())
		}
		out = append(out, s.Msg())
	}
	return out
}

// summary describes a message in a line, for comparing streams.
func summary(m *spartanv1.Message) string {
	switch m.GetType() {
	case spartanv1.MessageType_MESSAGE_TYPE_TEXT:
		return fmt.Sprintf("%d text %s: %s", m.GetSeq(), m.GetSender(), m.GetPayload())
	case spartanv1.MessageType_MESSAGE_TYPE_CHAT_DECLINED:
		return fmt.Sprintf("%d declined %s: %s", m.GetSeq(), m.GetSender(), m.GetNote())
	default:
		return fmt.Sprintf("%d %s %s", m.GetSeq(), m.GetType(), m.GetSender())
	}
}

func summaries(ms []*spartanv1.Message) []string {
	out := []string{}
	for _, m := range ms {
		out = append(out, summary(m))
	}
	return out
}

// wantError fails unless err is a Connect error with code whose message is a
// sentence holding every one of words.
func wantError(tb testing.TB, err error, code connect.Code, words ...string) {
	tb.Helper()
	if err == nil {
		tb.Errorf("no error, want %v", code)
		return
	}
	var ce *connect.Error
	if !errors.As(err, &ce) {
		tb.Errorf("error %v is not a *connect.Error", err)
		return
	}
	if ce.Code() != code {
		tb.Errorf("code %v (%q), want %v", ce.Code(), ce.Message(), code)
	}
	msg := ce.Message()
	if len(strings.Fields(msg)) < 3 || strings.HasPrefix(msg, code.String()) {
		tb.Errorf("message %q is not a sentence", msg)
	}
	for _, w := range words {
		if !strings.Contains(msg, w) {
			tb.Errorf("message %q does not mention %q", msg, w)
		}
	}
}

// wantCanceled fails unless err is the Canceled error of a client that
// cancelled its own call (its message is the client's, not the server's).
func wantCanceled(tb testing.TB, err error) {
	tb.Helper()
	if code := connect.CodeOf(err); code != connect.CodeCanceled || !errors.Is(err, context.Canceled) {
		tb.Errorf("error %v (code %v), want the client's Canceled", err, code)
	}
}

func TestLoginAndListUsers(t *testing.T) {
	t.Parallel()
	eachProtocol(t, func(t *testing.T, e *env) {
		list, err := e.c.ListUsers(testCtx(t), connect.NewRequest(&spartanv1.ListUsersRequest{}))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(list.Msg.GetUsers(), users) {
			t.Errorf("ListUsers = %q, want %q", list.Msg.GetUsers(), users)
		}
		e.request(t, "carol", "bob")
		e.request(t, "alice", "bob")
		e.request(t, "bob", "dave")
		tests := []struct {
			user             string
			others, requests []string
		}{
			{user: "bob", others: []string{"alice", "carol", "dave"}, requests: []string{"alice", "carol"}},
			{user: "dave", others: []string{"alice", "bob", "carol"}, requests: []string{"bob"}},
			{user: "alice", others: []string{"bob", "carol", "dave"}},
		}
		for _, tt := range tests {
			res, err := e.c.Login(testCtx(t), connect.NewRequest(&spartanv1.LoginRequest{User: tt.user}))
			if err != nil {
				t.Fatal(err)
			}
			m := res.Msg
			if m.GetUser() != tt.user || !slices.Equal(m.GetOthers(), tt.others) ||
				!slices.Equal(m.GetChatRequests(), tt.requests) || m.GetMaxMessageBytes() != maxBytes {
				t.Errorf("Login(%s) = %v; want others %q, requests %q, max %d", tt.user, m, tt.others, tt.requests, maxBytes)
			}
		}
	})
}

func TestHTTP2Cleartext(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	http1 := &http.Transport{}
	t.Cleanup(http1.CloseIdleConnections)
	tests := []struct {
		name   string
		client *http.Client
		proto  int
	}{
		{name: "h2c", client: h2cClient(t), proto: 2},
		{name: "http1", client: &http.Client{Transport: http1}, proto: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req, err := http.NewRequestWithContext(testCtx(t), http.MethodPost, srv.URL+spartanv1connect.ChatServiceListUsersProcedure, strings.NewReader("{}"))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			res, err := tt.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = res.Body.Close() }()
			if res.ProtoMajor != tt.proto || res.StatusCode != http.StatusOK {
				t.Fatalf("%s %d, want HTTP/%d 200", res.Proto, res.StatusCode, tt.proto)
			}
			var body struct{ Users []string }
			if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(body.Users, users) {
				t.Errorf("users %q, want %q", body.Users, users)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		setup func(t *testing.T, e *env)
		call  func(ctx context.Context, c spartanv1connect.ChatServiceClient) error
		code  connect.Code
		words []string
	}{
		{
			name: "login of an unknown user",
			call: func(ctx context.Context, c spartanv1connect.ChatServiceClient) error {
				_, err := c.Login(ctx, connect.NewRequest(&spartanv1.LoginRequest{User: "zed"}))
				return err
			},
			code: connect.CodeNotFound, words: []string{`there is no user named "zed"`},
		},
		{
			name: "login without a name",
			call: func(ctx context.Context, c spartanv1connect.ChatServiceClient) error {
				_, err := c.Login(ctx, connect.NewRequest(&spartanv1.LoginRequest{}))
				return err
			},
			code: connect.CodeInvalidArgument, words: []string{"no user given"},
		},
		{
			name: "request to an unknown peer",
			call: func(ctx context.Context, c spartanv1connect.ChatServiceClient) error {
				_, err := c.RequestChat(ctx, connect.NewRequest(&spartanv1.RequestChatRequest{User: "alice", Peer: "zed"}))
				return err
			},
			code: connect.CodeNotFound, words: []string{`"zed"`},
		},
		{
			name: "request to oneself",
			call: func(ctx context.Context, c spartanv1connect.ChatServiceClient) error {
				_, err := c.RequestChat(ctx, connect.NewRequest(&spartanv1.RequestChatRequest{User: "alice", Peer: "alice"}))
				return err
			},
			code: connect.CodeInvalidArgument, words: []string{"alice cannot chat with themselves"},
		},
		{
			name: "answer without a request",
			call: func(ctx context.Context, c spartanv1connect.ChatServiceClient) error {
				_, err := c.AnswerChat(ctx, connect.NewRequest(&spartanv1.AnswerChatRequest{User: "bob", Peer: "alice", Accept: true}))
				return err
			},
			code: connect.CodeFailedPrecondition, words: []string{"alice has not asked to chat with bob"},
		},
		{
			name: "send without a request",
			call: sendCall("alice", "bob", "hi", 0),
			code: connect.CodeFailedPrecondition, words: []string{"alice has not asked bob to chat yet"},
		},
		{
			name: "send after decline",
			setup: func(t *testing.T, e *env) {
				e.request(t, "alice", "bob")
				e.answer(t, "bob", "alice", false)
			},
			call: sendCall("alice", "bob", "hi", 0),
			code: connect.CodeFailedPrecondition, words: []string{"bob declined alice's chat request"},
		},
		{
			name:  "send to someone who asked you",
			setup: func(t *testing.T, e *env) { e.request(t, "alice", "bob") },
			call:  sendCall("bob", "alice", "hi", 0),
			code:  connect.CodeFailedPrecondition, words: []string{"alice asked to chat with bob: answer the request first"},
		},
		{
			name: "too many waiting messages",
			setup: func(t *testing.T, e *env) {
				e.request(t, "alice", "bob")
				for i := range maxPending {
					if !e.send(t, "alice", "bob", fmt.Sprint(i)).GetPending() {
						t.Fatal("a message to a user who has not answered is not pending")
					}
				}
			},
			call: sendCall("alice", "bob", "one too many", 0),
			code: connect.CodeResourceExhausted, words: []string{"bob has not answered alice's chat request yet", "3 messages already wait"},
		},
		{
			name:  "empty payload",
			setup: func(t *testing.T, e *env) { e.chatting(t, "alice", "bob") },
			call:  sendCall("alice", "bob", "", 0),
			code:  connect.CodeInvalidArgument, words: []string{"the message from alice to bob is empty"},
		},
		{
			name:  "payload over max_message_bytes",
			setup: func(t *testing.T, e *env) { e.chatting(t, "alice", "bob") },
			call:  sendCall("alice", "bob", strings.Repeat("x", maxBytes+1), 0),
			code:  connect.CodeInvalidArgument, words: []string{"1025 bytes", "the limit is 1024"},
		},
		{
			name:  "payload several times max_message_bytes",
			setup: func(t *testing.T, e *env) { e.chatting(t, "alice", "bob") },
			call:  sendCall("alice", "bob", strings.Repeat("x", 3*maxBytes), 0),
			code:  connect.CodeInvalidArgument, words: []string{"3072 bytes", "the limit is 1024"},
		},
		{
			// A request far larger than any valid one is refused unread, by
			// Connect's read limit, with Connect's own code and sentence.
			name:  "payload far beyond the read limit",
			setup: func(t *testing.T, e *env) { e.chatting(t, "alice", "bob") },
			call:  sendCall("alice", "bob", strings.Repeat("x", 1<<20), 0),
			code:  connect.CodeResourceExhausted, words: []string{"larger than configured max"},
		},
		{
			name: "a group of a user's name",
			call: createGroupCall("alice", "bob"),
			code: connect.CodeAlreadyExists, words: []string{`"bob" is a user's name`},
		},
		{
			name:  "a group taken",
			setup: func(t *testing.T, e *env) { e.createGroup(t, "alice", "team") },
			call:  createGroupCall("bob", "team"),
			code:  connect.CodeAlreadyExists, words: []string{"there is a group named team already"},
		},
		{
			name:  "a post by an outsider",
			setup: func(t *testing.T, e *env) { e.createGroup(t, "alice", "team") },
			call: func(ctx context.Context, c spartanv1connect.ChatServiceClient) error {
				_, err := c.SendMsg(ctx, connect.NewRequest(&spartanv1.SendMsgRequest{User: "bob", Group: "team", Payload: []byte("x")}))
				return err
			},
			code: connect.CodePermissionDenied, words: []string{"bob is not a member of team"},
		},
		{
			name: "a post to no group",
			call: func(ctx context.Context, c spartanv1connect.ChatServiceClient) error {
				_, err := c.SendMsg(ctx, connect.NewRequest(&spartanv1.SendMsgRequest{User: "bob", Group: "nope", Payload: []byte("x")}))
				return err
			},
			code: connect.CodeNotFound, words: []string{`there is no group named "nope"`},
		},
		{
			name: "a message to a user and a group",
			call: func(ctx context.Context, c spartanv1connect.ChatServiceClient) error {
				_, err := c.SendMsg(ctx, connect.NewRequest(&spartanv1.SendMsgRequest{User: "bob", Receiver: "alice", Group: "team", Payload: []byte("x")}))
				return err
			},
			code: connect.CodeInvalidArgument, words: []string{"not both"},
		},
		{
			name: "history of a peer and a group",
			call: func(ctx context.Context, c spartanv1connect.ChatServiceClient) error {
				_, err := c.History(ctx, connect.NewRequest(&spartanv1.HistoryRequest{User: "bob", Peer: "alice", Group: "team"}))
				return err
			},
			code: connect.CodeInvalidArgument, words: []string{"not both"},
		},
		{
			name: "send to an unknown user",
			call: sendCall("alice", "zed", "hi", 0),
			code: connect.CodeNotFound, words: []string{`"zed"`},
		},
		{
			name:  "ack past the head",
			setup: func(t *testing.T, e *env) { e.request(t, "alice", "bob") },
			call: func(ctx context.Context, c spartanv1connect.ChatServiceClient) error {
				_, err := c.Ack(ctx, connect.NewRequest(&spartanv1.AckRequest{User: "bob", Seq: 2}))
				return err
			},
			code: connect.CodeOutOfRange, words: []string{"sequence number 2 is past the end of bob's inbox, whose last is 1"},
		},
		{
			name:  "receive past the head",
			setup: func(t *testing.T, e *env) { e.request(t, "alice", "bob") },
			call:  receiveCall("bob", 5),
			code:  connect.CodeOutOfRange, words: []string{"sequence number 5 is past the end of bob's inbox, whose last is 1"},
		},
		{
			name: "receive for an unknown user",
			call: receiveCall("zed", 0),
			code: connect.CodeNotFound, words: []string{`there is no user named "zed"`},
		},
		{
			name: "receive without a receiver",
			call: receiveCall("", 0),
			code: connect.CodeInvalidArgument, words: []string{"no receiver given"},
		},
		{
			name: "history with a bad page size",
			call: func(ctx context.Context, c spartanv1connect.ChatServiceClient) error {
				_, err := c.History(ctx, connect.NewRequest(&spartanv1.HistoryRequest{User: "alice", Peer: "bob", PageSize: 501}))
				return err
			},
			code: connect.CodeInvalidArgument, words: []string{"page size 501 is out of range (1 to 500)"},
		},
		{
			name: "history with an unknown peer",
			call: func(ctx context.Context, c spartanv1connect.ChatServiceClient) error {
				_, err := c.History(ctx, connect.NewRequest(&spartanv1.HistoryRequest{User: "alice", Peer: "zed"}))
				return err
			},
			code: connect.CodeNotFound, words: []string{`"zed"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			eachProtocol(t, func(t *testing.T, e *env) {
				if tt.setup != nil {
					tt.setup(t, e)
				}
				wantError(t, tt.call(testCtx(t), e.c), tt.code, tt.words...)
			})
		})
	}
}

func (e *env) createGroup(tb testing.TB, user, group string) {
	tb.Helper()
	if err := createGroupCall(user, group)(testCtx(tb), e.c); err != nil {
		tb.Fatal(err)
	}
}

func createGroupCall(user, group string) func(context.Context, spartanv1connect.ChatServiceClient) error {
	return func(ctx context.Context, c spartanv1connect.ChatServiceClient) error {
		_, err := c.CreateGroup(ctx, connect.NewRequest(&spartanv1.CreateGroupRequest{User: user, Group: group}))
		return err
	}
}

func sendCall(from, to, text string, enc spartanv1.Encryption) func(context.Context, spartanv1connect.ChatServiceClient) error {
	return func(ctx context.Context, c spartanv1connect.ChatServiceClient) error {
		_, err := c.SendMsg(ctx, connect.NewRequest(&spartanv1.SendMsgRequest{User: from, Receiver: to, Payload: []byte(text), Encryption: enc}))
		return err
	}
}

// receiveCall opens a stream and returns how it ends; it must end at once.
func receiveCall(receiver string, seq uint64) func(context.Context, spartanv1connect.ChatServiceClient) error {
	return func(ctx context.Context, c spartanv1connect.ChatServiceClient) error {
		s, err := c.ReceiveMsg(ctx, connect.NewRequest(&spartanv1.Message{Receiver: receiver, Seq: seq}))
		if err != nil {
			return err
		}
		defer func() { _ = s.Close() }()
		if s.Receive() {
			return fmt.Errorf("received %v, want the stream to fail", s.Msg())
		}
		return s.Err()
	}
}

func TestHandshake(t *testing.T) {
	t.Parallel()
	eachProtocol(t, func(t *testing.T, e *env) {
		requested := spartanv1.ConversationState_CONVERSATION_STATE_REQUESTED
		accepted := spartanv1.ConversationState_CONVERSATION_STATE_ACCEPTED
		declined := spartanv1.ConversationState_CONVERSATION_STATE_DECLINED
		bob := e.open(t, "bob", 0)
		alice := e.open(t, "alice", 0)

		// alice asks bob and writes while she waits; bob accepts.
		if got := e.request(t, "alice", "bob"); got != requested {
			t.Errorf("request state %v, want %v", got, requested)
		}
		waiting := e.send(t, "alice", "bob", "are you there?")
		if !waiting.GetPending() || waiting.GetId() == "" || waiting.GetSentTime() == nil {
			t.Errorf("send before acceptance = %v, want pending with an id and a time", waiting)
		}
		if got := e.answer(t, "bob", "alice", true); got.GetState() != accepted || got.GetReleased() != 1 {
			t.Errorf("accept = %v, want ACCEPTED with 1 released", got)
		}
		if got := e.send(t, "bob", "alice", "yes"); got.GetPending() {
			t.Error("a message in an accepted chat is pending")
		}
		// carol asks bob and is declined, with one message dropped.
		if got := e.request(t, "carol", "bob"); got != requested {
			t.Errorf("request state %v, want %v", got, requested)
		}
		e.send(t, "carol", "bob", "dropped")
		if got := e.answer(t, "bob", "carol", false); got.GetState() != declined || got.GetReleased() != 1 {
			t.Errorf("decline = %v, want DECLINED with 1 dropped", got)
		}
		// A mutual request is an acceptance.
		e.request(t, "dave", "alice")
		if got := e.request(t, "alice", "dave"); got != accepted {
			t.Errorf("mutual request state %v, want %v", got, accepted)
		}

		gotBob := bob.next(t, 3)
		wantBob := []string{
			"1 MESSAGE_TYPE_CHAT_REQUEST alice",
			"2 text alice: are you there?",
			"3 MESSAGE_TYPE_CHAT_REQUEST carol",
		}
		if got := summaries(gotBob); !slices.Equal(got, wantBob) {
			t.Errorf("bob's stream:\n got %q\nwant %q", got, wantBob)
		}
		if m := gotBob[1]; m.GetId() != waiting.GetId() || m.GetReceiver() != "bob" ||
			m.GetEncryption() != spartanv1.Encryption_ENCRYPTION_UNSPECIFIED || !m.GetSentTime().AsTime().Equal(waiting.GetSentTime().AsTime()) {
			t.Errorf("delivered %v; want the id and time SendMsg returned, the encryption as sent (none)", m)
		}
		wantAlice := []string{
			"1 MESSAGE_TYPE_CHAT_ACCEPTED bob",
			"2 text bob: yes",
			"3 MESSAGE_TYPE_CHAT_REQUEST dave",
		}
		if got := summaries(alice.next(t, 3)); !slices.Equal(got, wantAlice) {
			t.Errorf("alice's stream:\n got %q\nwant %q", got, wantAlice)
		}
		wantCarol := []string{"1 declined bob: bob declined your chat request; 1 waiting message was not delivered."}
		if got := summaries(e.open(t, "carol", 0).next(t, 1)); !slices.Equal(got, wantCarol) {
			t.Errorf("carol's stream:\n got %q\nwant %q", got, wantCarol)
		}
		wantDave := []string{"1 MESSAGE_TYPE_CHAT_ACCEPTED alice"}
		if got := summaries(e.open(t, "dave", 0).next(t, 1)); !slices.Equal(got, wantDave) {
			t.Errorf("dave's stream:\n got %q\nwant %q", got, wantDave)
		}
	})
}

// TestPayloadAndEncryptionAreOpaque: the server stores and returns a
// payload and its encryption as they came, whatever they are (a scheme it
// does not know, bytes that are not text), on the stream and in History.
func TestPayloadAndEncryptionAreOpaque(t *testing.T) {
	t.Parallel()
	eachProtocol(t, func(t *testing.T, e *env) {
		e.chatting(t, "alice", "bob")
		bob := e.open(t, "bob", 0)
		bob.next(t, 1) // the chat request
		tests := []struct {
			enc     spartanv1.Encryption
			payload []byte
		}{
			{spartanv1.Encryption_ENCRYPTION_UNSPECIFIED, []byte("hi")},
			{spartanv1.Encryption_ENCRYPTION_PLAINTEXT, []byte("hi")},
			{spartanv1.Encryption_ENCRYPTION_E2E, append([]byte{1}, bytes.Repeat([]byte{0, 0xff, 0x80}, 20)...)},
			{spartanv1.Encryption(99), []byte{9, 0, 1}},
			{spartanv1.Encryption(-1), []byte{0xc3, 0x28}},
		}
		for i, tt := range tests {
			id := fmt.Sprintf("m-%d", i)
			req := &spartanv1.SendMsgRequest{User: "alice", Receiver: "bob", Payload: tt.payload, Encryption: tt.enc, ClientMsgId: id}
			if _, err := e.c.SendMsg(testCtx(t), connect.NewRequest(req)); err != nil {
				t.Fatalf("send %v %x: %v", tt.enc, tt.payload, err)
			}
		}
		got := bob.next(t, len(tests))
		res, err := e.c.History(testCtx(t), connect.NewRequest(&spartanv1.HistoryRequest{User: "alice", Peer: "bob"}))
		if err != nil {
			t.Fatal(err)
		}
		hist := res.Msg.GetMessages()
		if len(hist) != len(tests) {
			t.Fatalf("history has %d messages, want %d", len(hist), len(tests))
		}
		for i, tt := range tests {
			for _, m := range []*spartanv1.Message{got[i], hist[i]} {
				if m.GetEncryption() != tt.enc || !bytes.Equal(m.GetPayload(), tt.payload) || m.GetClientMsgId() != fmt.Sprintf("m-%d", i) {
					t.Errorf("message %d came back as %v %x %q, want %v %x", i, m.GetEncryption(), m.GetPayload(), m.GetClientMsgId(), tt.enc, tt.payload)
				}
			}
		}
	})
}

func TestHistory(t *testing.T) {
	t.Parallel()
	eachProtocol(t, func(t *testing.T, e *env) {
		e.chatting(t, "alice", "bob")
		const n = 5
		for i := 1; i <= n; i++ {
			from, to := "alice", "bob"
			if i%2 == 0 {
				from, to = to, from
			}
			e.send(t, from, to, fmt.Sprintf("m%d", i))
		}
		tests := []struct {
			user   string
			before uint64
			size   uint32
			want   []string
			next   uint64
		}{
			{user: "alice", want: []string{"1 text alice: m1", "2 text bob: m2", "3 text alice: m3", "4 text bob: m4", "5 text alice: m5"}},
			{user: "bob", size: 2, want: []string{"4 text bob: m4", "5 text alice: m5"}, next: 4},
			{user: "alice", before: 4, size: 2, want: []string{"2 text bob: m2", "3 text alice: m3"}, next: 2},
			{user: "bob", before: 2, size: 2, want: []string{"1 text alice: m1"}},
		}
		for _, tt := range tests {
			peer := "bob"
			if tt.user == "bob" {
				peer = "alice"
			}
			res, err := e.c.History(testCtx(t), connect.NewRequest(&spartanv1.HistoryRequest{User: tt.user, Peer: peer, BeforeSeq: tt.before, PageSize: tt.size}))
			if err != nil {
				t.Fatal(err)
			}
			if got := summaries(res.Msg.GetMessages()); !slices.Equal(got, tt.want) || res.Msg.GetNextBeforeSeq() != tt.next {
				t.Errorf("History(%s, before %d, size %d) = %q next %d, want %q next %d",
					tt.user, tt.before, tt.size, got, res.Msg.GetNextBeforeSeq(), tt.want, tt.next)
			}
		}
	})
}

func TestAckResumesAfterTheAck(t *testing.T) {
	t.Parallel()
	eachProtocol(t, func(t *testing.T, e *env) {
		e.chatting(t, "alice", "bob") // bob's inbox: 1 the request.
		for i := 2; i <= 6; i++ {
			e.send(t, "alice", "bob", fmt.Sprintf("m%d", i))
		}
		if _, err := e.c.Ack(testCtx(t), connect.NewRequest(&spartanv1.AckRequest{User: "bob", Seq: 4})); err != nil {
			t.Fatal(err)
		}
		got := e.open(t, "bob", 0).next(t, 2)
		want := []string{"5 text alice: m5", "6 text alice: m6"}
		if !slices.Equal(summaries(got), want) {
			t.Errorf("after ack 4, stream with seq 0 = %q, want %q", summaries(got), want)
		}
		// An explicit seq wins over the ack.
		if got := e.open(t, "bob", 1).next(t, 1); got[0].GetSeq() != 2 {
			t.Errorf("stream after 1 starts at %d, want 2", got[0].GetSeq())
		}
	})
}

func TestReceiveManyMessages(t *testing.T) {
	t.Parallel()
	const perPair = 300
	senders := []string{"alice", "bob"}
	receivers := []string{"carol", "dave"}
	eachProtocol(t, func(t *testing.T, e *env) {
		for _, s := range senders {
			for _, r := range receivers {
				e.chatting(t, s, r) // Each receiver's inbox: 1, 2 the requests.
			}
		}
		streams := map[string]*stream{}
		for _, r := range receivers {
			streams[r] = e.open(t, r, 0)
		}
		ctx := testCtx(t)
		var wg sync.WaitGroup
		for _, s := range senders {
			wg.Go(func() {
				for i := range perPair {
					for _, r := range receivers {
						_, err := e.c.SendMsg(ctx, connect.NewRequest(&spartanv1.SendMsgRequest{
							User: s, Receiver: r, Payload: fmt.Appendf(nil, "%s %d", s, i),
						}))
						if err != nil {
							t.Errorf("send %s->%s #%d: %v", s, r, i, err)
							return
						}
					}
				}
			})
		}
		for _, r := range receivers {
			wg.Go(func() {
				ms := streams[r]
				ids := map[string]bool{}
				next := map[string]int{}
				for seq := uint64(1); seq <= uint64(2+len(senders)*perPair); seq++ {
					if !ms.Receive() {
						t.Errorf("%s's stream ended at %d: %v", r, seq, ms.Err())
						return
					}
					m := ms.Msg()
					if m.GetSeq() != seq {
						t.Errorf("%s received seq %d, want %d", r, m.GetSeq(), seq)
						return
					}
					if ids[m.GetId()] {
						t.Errorf("%s received id %s twice", r, m.GetId())
					}
					ids[m.GetId()] = true
					if m.GetType() != spartanv1.MessageType_MESSAGE_TYPE_TEXT {
						continue
					}
					if want := fmt.Sprintf("%s %d", m.GetSender(), next[m.GetSender()]); string(m.GetPayload()) != want {
						t.Errorf("%s received %q, want %q", r, m.GetPayload(), want)
						return
					}
					next[m.GetSender()]++
				}
				for _, s := range senders {
					if next[s] != perPair {
						t.Errorf("%s received %d messages from %s, want %d", r, next[s], s, perPair)
					}
				}
			})
		}
		wg.Wait()
	})
}

func TestReceiveReplayThenLive(t *testing.T) {
	t.Parallel()
	eachProtocol(t, func(t *testing.T, e *env) {
		e.chatting(t, "alice", "bob")
		for i := 2; i <= 4; i++ {
			e.send(t, "alice", "bob", fmt.Sprintf("m%d", i))
		}
		// bob was offline: his stream replays, then follows live.
		s := e.open(t, "bob", 0)
		want := []string{"1 MESSAGE_TYPE_CHAT_REQUEST alice", "2 text alice: m2", "3 text alice: m3", "4 text alice: m4"}
		if got := summaries(s.next(t, 4)); !slices.Equal(got, want) {
			t.Errorf("replay = %q, want %q", got, want)
		}
		for i := 5; i <= 7; i++ {
			sent := e.send(t, "alice", "bob", fmt.Sprintf("m%d", i))
			got := s.next(t, 1)[0]
			if summary(got) != fmt.Sprintf("%d text alice: m%d", i, i) || got.GetId() != sent.GetId() {
				t.Errorf("live = %s (id %s), want m%d at %d (id %s)", summary(got), got.GetId(), i, i, sent.GetId())
			}
		}
	})
}

func TestReceiveResume(t *testing.T) {
	t.Parallel()
	eachProtocol(t, func(t *testing.T, e *env) {
		e.chatting(t, "alice", "bob")
		var last uint64
		var seen []uint64
		for round := range 3 {
			for i := range 4 {
				e.send(t, "alice", "bob", fmt.Sprintf("r%d m%d", round, i))
			}
			// Reconnect after the last seq seen; messages sent while away come first.
			s := e.open(t, "bob", last)
			for _, m := range s.next(t, 1+4*(round+1)-int(last)) {
				seen = append(seen, m.GetSeq())
				last = m.GetSeq()
			}
			s.cancel()
		}
		var want []uint64
		for seq := uint64(1); seq <= 13; seq++ {
			want = append(want, seq)
		}
		if !slices.Equal(seen, want) {
			t.Errorf("seqs over three connections = %v, want 1..13 without gaps or repeats", seen)
		}
	})
}

// receiveAsync receives one message in the background.
func receiveAsync(s *stream) <-chan bool {
	got := make(chan bool, 1)
	go func() { got <- s.Receive() }()
	return got
}

func TestReceiveEmptyStream(t *testing.T) {
	t.Parallel()
	eachProtocol(t, func(t *testing.T, e *env) {
		s := e.open(t, "bob", 0)
		got := receiveAsync(s)
		// Nothing to deliver: the stream stays open.
		quiet, cancel := context.WithTimeout(testCtx(t), 200*time.Millisecond)
		defer cancel()
		select {
		case ok := <-got:
			t.Fatalf("an empty stream returned (message %t): %v", ok, s.Err())
		case <-quiet.Done():
		}
		s.cancel()
		select {
		case ok := <-got:
			if ok {
				t.Fatalf("received %v after cancelling", s.Msg())
			}
		case <-testCtx(t).Done():
			t.Fatal("the stream did not end after cancelling")
		}
		wantCanceled(t, s.Err())
		// The server is fine afterwards.
		e.request(t, "alice", "bob")
		if m := e.open(t, "bob", 0).next(t, 1)[0]; m.GetType() != spartanv1.MessageType_MESSAGE_TYPE_CHAT_REQUEST {
			t.Errorf("after a cancelled stream, received %v", m)
		}
	})
}

func TestReceiveCancelMidStream(t *testing.T) {
	t.Parallel()
	eachProtocol(t, func(t *testing.T, e *env) {
		e.chatting(t, "alice", "bob")
		for i := 2; i <= 40; i++ {
			e.send(t, "alice", "bob", fmt.Sprintf("m%d", i))
		}
		s := e.open(t, "bob", 0)
		got := s.next(t, 10)
		s.cancel()
		// Whatever was in flight may still come, in order, then the stream ends.
		last := got[len(got)-1].GetSeq()
		for s.Receive() {
			if s.Msg().GetSeq() != last+1 {
				t.Fatalf("after %d received %d", last, s.Msg().GetSeq())
			}
			last++
		}
		wantCanceled(t, s.Err())
		// Live messages keep coming in to a new stream, which resumes without a gap.
		e.send(t, "alice", "bob", "m41")
		rest := e.open(t, "bob", last).next(t, int(41-last))
		for i, m := range rest {
			if m.GetSeq() != last+1+uint64(i) {
				t.Fatalf("resumed stream: message %d has seq %d, want %d", i, m.GetSeq(), last+1+uint64(i))
			}
		}
		if p := string(rest[len(rest)-1].GetPayload()); p != "m41" {
			t.Errorf("last message %q, want m41", p)
		}
	})
}

func TestReceiveServerShutdown(t *testing.T) {
	t.Parallel()
	for _, delivered := range []bool{false, true} {
		t.Run(fmt.Sprintf("delivered=%t", delivered), func(t *testing.T) {
			t.Parallel()
			eachProtocol(t, func(t *testing.T, e *env) {
				s := e.open(t, "bob", 0)
				if delivered {
					e.request(t, "alice", "bob")
					s.next(t, 1)
				}
				got := receiveAsync(s)
				stopped := make(chan error, 1)
				go func() { stopped <- e.srv.Stop() }()
				select {
				case ok := <-got:
					if ok {
						t.Fatalf("received %v during shutdown", s.Msg())
					}
				case <-testCtx(t).Done():
					t.Fatal("the stream did not end on shutdown")
				}
				wantError(t, s.Err(), connect.CodeUnavailable, "the server is shutting down; reconnect to resume")
				select {
				case err := <-stopped:
					if err != nil {
						t.Errorf("Serve = %v, want nil after a graceful shutdown", err)
					}
				case <-testCtx(t).Done():
					t.Fatal("the server did not stop")
				}
			})
		})
	}
}

// TestResponsesAreNotCompressed: a gRPC client that accepts gzip (grpcio
// does) still gets plain responses; compressing small messages and
// ciphertext only costs CPU. A gzip-compressed request is still understood.
func TestResponsesAreNotCompressed(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	for _, compressRequest := range []bool{false, true} {
		body := []byte{0, 0, 0, 0, 0} // an empty ListUsersRequest, not compressed
		if compressRequest {
			var gz bytes.Buffer
			zw := gzip.NewWriter(&gz)
			if err := zw.Close(); err != nil {
				t.Fatal(err)
			}
			body = append([]byte{1, 0, 0, 0, byte(gz.Len())}, gz.Bytes()...)
		}
		req, err := http.NewRequestWithContext(testCtx(t), http.MethodPost,
			srv.URL+spartanv1connect.ChatServiceListUsersProcedure, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/grpc")
		req.Header.Set("Te", "trailers")
		req.Header.Set("Grpc-Accept-Encoding", "identity,deflate,gzip")
		if compressRequest {
			req.Header.Set("Grpc-Encoding", "gzip")
		}
		res, err := h2cClient(t).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := io.ReadAll(res.Body)
		_ = res.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if status := res.Trailer.Get("Grpc-Status"); status != "0" {
			t.Fatalf("compressed request %v: grpc-status %q (%s)", compressRequest, status, res.Trailer.Get("Grpc-Message"))
		}
		// The grpc-encoding header may name gzip: it only says which algorithm
		// compressed messages would use. Each message's flag byte decides.
		if len(raw) < 5 || raw[0] != 0 {
			t.Errorf("compressed request %v: response envelope %x, want the uncompressed flag", compressRequest, raw[:min(len(raw), 5)])
		}
	}
}
