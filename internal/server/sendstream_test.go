package server_test

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"

	spartanv1 "github.com/spartan-messenger/spartan/gen/spartan/v1"
	"github.com/spartan-messenger/spartan/gen/spartan/v1/spartanv1connect"
	"github.com/spartan-messenger/spartan/internal/servertest"
)

// chatting makes alice and bob chat on c.
func chatting(tb testing.TB, c spartanv1connect.ChatServiceClient) {
	tb.Helper()
	if _, err := c.RequestChat(tb.Context(), connect.NewRequest(&spartanv1.RequestChatRequest{User: "alice", Peer: "bob"})); err != nil {
		tb.Fatal(err)
	}
	if _, err := c.AnswerChat(tb.Context(), connect.NewRequest(&spartanv1.AnswerChatRequest{User: "bob", Peer: "alice", Accept: true})); err != nil {
		tb.Fatal(err)
	}
}

// streamSends sends reqs on one SendMsgStream without waiting for answers,
// closes it, and returns the answers and the error the stream ended with
// (nil for a clean end).
func streamSends(tb testing.TB, c spartanv1connect.ChatServiceClient, reqs []*spartanv1.SendMsgRequest) ([]*spartanv1.SendMsgResponse, error) {
	tb.Helper()
	s := c.SendMsgStream(tb.Context())
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		for _, r := range reqs {
			if s.Send(r) != nil {
				return // the stream ended: Receive says why
			}
		}
		_ = s.CloseRequest()
	}()
	var answers []*spartanv1.SendMsgResponse
	for {
		res, err := s.Receive()
		if err != nil {
			<-sent
			_ = s.CloseResponse()
			if errors.Is(err, io.EOF) {
				err = nil
			}
			return answers, err
		}
		answers = append(answers, res)
	}
}

// texts are n requests from alice to bob, "<prefix>0".."<prefix>n-1".
func texts(prefix string, n int) []*spartanv1.SendMsgRequest {
	reqs := make([]*spartanv1.SendMsgRequest, n)
	for i := range reqs {
		reqs[i] = &spartanv1.SendMsgRequest{User: "alice", Receiver: "bob", Payload: fmt.Appendf(nil, "%s%d", prefix, i), ClientMsgId: fmt.Sprintf("%s-%d", prefix, i)}
	}
	return reqs
}

// bobsTexts is bob's history with alice, as texts, oldest first.
func bobsTexts(tb testing.TB, c spartanv1connect.ChatServiceClient) []string {
	tb.Helper()
	res, err := c.History(tb.Context(), connect.NewRequest(&spartanv1.HistoryRequest{User: "bob", Peer: "alice", PageSize: 500}))
	if err != nil {
		tb.Fatal(err)
	}
	var out []string
	for _, m := range res.Msg.GetMessages() {
		if m.GetType() == spartanv1.MessageType_MESSAGE_TYPE_TEXT {
			out = append(out, string(m.GetPayload()))
		}
	}
	return out
}

// TestSendMsgStream: a burst of sends on one stream is answered in order,
// one answer each, and reaches the receiver's live stream in that order; a
// retried message (same client_msg_id) is stored once.
func TestSendMsgStream(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, servertest.Config())
	c := rawClient(t, srv.Addr)
	chatting(t, c)
	inbox, err := c.ReceiveMsg(t.Context(), connect.NewRequest(&spartanv1.Message{Receiver: "bob"}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = inbox.Close() })

	reqs := texts("m", 300)
	answers, err := streamSends(t, c, append(reqs, reqs[7])) // the last repeats m7
	if err != nil || len(answers) != len(reqs)+1 {
		t.Fatalf("%d answers, %v; want %d and a clean end", len(answers), err, len(reqs)+1)
	}
	ids := map[string]bool{}
	for i, a := range answers[:len(reqs)] {
		if a.GetId() == "" || ids[a.GetId()] || a.GetPending() {
			t.Fatalf("answer %d: %v (duplicate id or pending)", i, a)
		}
		ids[a.GetId()] = true
	}
	if answers[len(reqs)].GetId() != answers[7].GetId() {
		t.Errorf("the repeat of m7 was answered %s, first %s", answers[len(reqs)].GetId(), answers[7].GetId())
	}
	for i := 0; i < len(reqs); {
		if !inbox.Receive() {
			t.Fatalf("bob's stream ended after %d: %v", i, inbox.Err())
		}
		m := inbox.Msg()
		if m.GetType() != spartanv1.MessageType_MESSAGE_TYPE_TEXT {
			continue
		}
		if want := fmt.Sprintf("m%d", i); string(m.GetPayload()) != want || m.GetId() != answers[i].GetId() {
			t.Fatalf("bob's message %d: %q %s, want %q %s", i, m.GetPayload(), m.GetId(), want, answers[i].GetId())
		}
		i++
	}
	if got := bobsTexts(t, c); len(got) != len(reqs) {
		t.Errorf("bob's history has %d texts, want %d (the repeat stored once)", len(got), len(reqs))
	}
}

// TestSendMsgStreamRefusals: the first request that fails ends the stream
// with SendMsg's error for it; those before it are answered and stored,
// those after it are not processed.
func TestSendMsgStreamRefusals(t *testing.T) {
	t.Parallel()
	cfg := servertest.Config()
	cfg.MaxMessageBytes = 64
	srv := servertest.Start(t, cfg)
	c := rawClient(t, srv.Addr)
	chatting(t, c)
	tests := []struct {
		name string
		bad  *spartanv1.SendMsgRequest
		code connect.Code
		says string
	}{
		{"unknown receiver", &spartanv1.SendMsgRequest{User: "alice", Receiver: "mallory", Payload: []byte("hi")}, connect.CodeNotFound, "mallory"},
		{"receiver and group", &spartanv1.SendMsgRequest{User: "alice", Receiver: "bob", Group: "group1", Payload: []byte("hi")}, connect.CodeInvalidArgument, "not both"},
		{"too long", &spartanv1.SendMsgRequest{User: "alice", Receiver: "bob", Payload: []byte(strings.Repeat("x", 65))}, connect.CodeInvalidArgument, "64"},
		{"empty", &spartanv1.SendMsgRequest{User: "alice", Receiver: "bob"}, connect.CodeInvalidArgument, "empty"},
		{"unknown sender", &spartanv1.SendMsgRequest{User: "nobody", Receiver: "bob", Payload: []byte("hi")}, connect.CodeNotFound, "nobody"},
	}
	for i, tt := range tests {
		before := len(bobsTexts(t, c))
		reqs := texts(fmt.Sprintf("r%d-", i), 4)
		reqs = append(reqs[:2], tt.bad, reqs[2], reqs[3])
		answers, err := streamSends(t, c, reqs)
		if len(answers) != 2 || connect.CodeOf(err) != tt.code || !strings.Contains(err.Error(), tt.says) {
			t.Errorf("%s: %d answers, %v; want 2, then %v saying %q", tt.name, len(answers), err, tt.code, tt.says)
		}
		if got := bobsTexts(t, c)[before:]; len(got) != 2 || got[1] != fmt.Sprintf("r%d-1", i) {
			t.Errorf("%s: bob got %q, want the two before the refusal", tt.name, got)
		}
	}
}

// TestSendMsgStreamRateLimit: each message on the stream counts against
// the sender's limit, like a SendMsg call: past the burst the stream ends
// with ResourceExhausted and the wait.
func TestSendMsgStreamRateLimit(t *testing.T) {
	t.Parallel()
	cfg := servertest.Config()
	cfg.Rate.Calls, cfg.Rate.WindowSeconds, cfg.Rate.Burst = 5, 60, 5
	srv := servertest.Start(t, cfg)
	c := rawClient(t, srv.Addr)
	chatting(t, c)
	answers, err := streamSends(t, c, texts("burst", 8))
	if len(answers) != 5 || connect.CodeOf(err) != connect.CodeResourceExhausted {
		t.Fatalf("%d answers, %v; want 5, then ResourceExhausted", len(answers), err)
	}
	var ce *connect.Error
	if !errors.As(err, &ce) {
		t.Fatalf("%T is not a Connect error", err)
	}
	var retry bool
	for _, d := range ce.Details() {
		if v, derr := d.Value(); derr == nil {
			_, retry = v.(*errdetails.RetryInfo)
		}
	}
	if !retry || !strings.Contains(err.Error(), "alice may send") {
		t.Errorf("refusal %v: want a RetryInfo detail and the sentence", err)
	}
	if got := bobsTexts(t, c); len(got) != 5 {
		t.Errorf("bob has %d texts, want the 5 within the limit", len(got))
	}
}
