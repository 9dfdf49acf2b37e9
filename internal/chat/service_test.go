package chat_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spartan-messenger/spartan/internal/chat"
	"github.com/spartan-messenger/spartan/internal/memory"
)

// users are the configured users of every test service, in configuration order.
var users = []string{"alice", "bob", "carol", "dave"}

// now is the test services' clock.
var now = time.Date(2026, 11, 23, 12, 0, 0, 0, time.FixedZone("CET", 3600))

const (
	maxPayload = 16
	maxPending = 3
)

// newService returns a service over a fresh memory store and broker, with
// small limits and ids id-1, id-2... (unless opts names a NewID) The store is returned to look inside.
func newService(tb testing.TB, opts chat.Options) (*chat.Service, *memory.Store) {
	tb.Helper()
	if opts.Users == nil {
		opts.Users = users
	}
	if opts.MaxPayload == 0 {
		opts.MaxPayload = maxPayload
	}
	if opts.MaxPending == 0 {
		opts.MaxPending = maxPending
	}
	if opts.NewID == nil {
		var n atomic.Int64
		opts.NewID = func() string { return fmt.Sprintf("id-%d", n.Add(1)) }
	}
	opts.Now = func() time.Time { return now }
	store := memory.NewStore()
	return chat.NewService(store, memory.NewBroker(), memory.NewPresence(), opts), store
}

// stored returns every event of the log, read from the store.
func stored(tb testing.TB, store *memory.Store, log string) []chat.Event {
	tb.Helper()
	var evs []chat.Event
	err := store.View(context.Background(), func(tx chat.Tx) error {
		var err error
		evs, err = tx.Read(log, 0, 1<<20, 0)
		return err
	})
	if err != nil {
		tb.Fatalf("read %s: %v", log, err)
	}
	return evs
}

// summary describes an event in a line, for comparing logs.
func summary(ev chat.Event) string {
	switch ev.Kind {
	case chat.KindText:
		return fmt.Sprintf("text %s: %s", ev.Sender, ev.Payload)
	case chat.KindChatRequest:
		return "request " + ev.Sender
	case chat.KindChatAccepted:
		return "accepted " + ev.Sender
	case chat.KindChatDeclined:
		return fmt.Sprintf("declined %s: %s", ev.Sender, ev.Note)
	default:
		return fmt.Sprintf("kind %d from %s: %s", ev.Kind, ev.Sender, ev.Note)
	}
}

// inbox summarises user's inbox and checks that it is well formed.
func inbox(tb testing.TB, store *memory.Store, user string) []string {
	tb.Helper()
	out := []string{}
	for i, ev := range stored(tb, store, chat.InboxLog(user)) {
		if ev.Seq != uint64(i+1) {
			tb.Errorf("%s's inbox: event %d has seq %d", user, i, ev.Seq)
		}
		if ev.Receiver != user {
			tb.Errorf("%s's inbox: event %d is addressed to %s", user, ev.Seq, ev.Receiver)
		}
		if !ev.SentAt.Equal(now) || ev.SentAt.Location() != time.UTC {
			tb.Errorf("%s's inbox: event %d was sent at %v, want %v in UTC", user, ev.Seq, ev.SentAt, now)
		}
		out = append(out, summary(ev))
	}
	return out
}

// wantCode fails unless err is a core error with code and a message holding
// every one of words.
func wantCode(tb testing.TB, err error, code chat.Code, words ...string) {
	tb.Helper()
	var ce *chat.Error
	if !errors.As(err, &ce) {
		tb.Errorf("error = %v, want a *chat.Error with code %d", err, code)
		return
	}
	if ce.Code != code {
		tb.Errorf("error %q has code %d, want %d", err, ce.Code, code)
	}
	if chat.ErrorCode(err) != code {
		tb.Errorf("ErrorCode(%q) = %d, want %d", err, chat.ErrorCode(err), code)
	}
	for _, w := range words {
		if !strings.Contains(ce.Message, w) {
			tb.Errorf("error message %q does not mention %q", ce.Message, w)
		}
	}
}

// step is one call of a handshake scenario and what it must return.
type step struct {
	op         string // request, accept, decline or send
	user, peer string
	payload    string
	state      chat.State // request, accept, decline: the state returned
	moved      int        // accept, decline: the messages released or dropped
	pending    bool       // send: whether the message waits
	fail       bool       // the call must fail with code
	code       chat.Code
	words      []string // words the error message must hold
}

func request(user, peer string, state chat.State) step {
	return step{op: "request", user: user, peer: peer, state: state}
}

func accept(user, peer string, moved int) step {
	return step{op: "accept", user: user, peer: peer, state: chat.StateAccepted, moved: moved}
}

func decline(user, peer string, moved int) step {
	return step{op: "decline", user: user, peer: peer, state: chat.StateDeclined, moved: moved}
}

func send(user, peer, payload string, pending bool) step {
	return step{op: "send", user: user, peer: peer, payload: payload, pending: pending}
}

// fails turns s into a call that must fail with code and a message holding words.
func fails(s step, code chat.Code, words ...string) step {
	s.fail, s.code, s.words = true, code, words
	return s
}

func (s step) String() string { return fmt.Sprintf("%s %s->%s %q", s.op, s.user, s.peer, s.payload) }

func (s step) run(tb testing.TB, ctx context.Context, svc *chat.Service) {
	tb.Helper()
	var (
		state   chat.State
		moved   int
		pending bool
		err     error
	)
	switch s.op {
	case "request":
		state, err = svc.RequestChat(ctx, s.user, s.peer)
	case "accept", "decline":
		state, moved, err = svc.AnswerChat(ctx, s.user, s.peer, s.op == "accept")
	case "send":
		var ev chat.Event
		ev, pending, err = svc.Send(ctx, s.user, s.peer, []byte(s.payload), 0, "")
		if err == nil && (ev.ID == "" || ev.Sender != s.user || ev.Receiver != s.peer || ev.Kind != chat.KindText) {
			tb.Errorf("%v returned the event %+v", s, ev)
		}
	default:
		tb.Fatalf("unknown op %q", s.op)
	}
	if s.fail {
		if err == nil {
			tb.Errorf("%v succeeded, want code %d", s, s.code)
			return
		}
		wantCode(tb, err, s.code, s.words...)
		return
	}
	if err != nil {
		tb.Errorf("%v: %v", s, err)
		return
	}
	switch s.op {
	case "request":
		if state != s.state {
			tb.Errorf("%v: state %d, want %d", s, state, s.state)
		}
	case "accept", "decline":
		if state != s.state || moved != s.moved {
			tb.Errorf("%v: state %d moved %d, want state %d moved %d", s, state, moved, s.state, s.moved)
		}
	case "send":
		if pending != s.pending {
			tb.Errorf("%v: pending %t, want %t", s, pending, s.pending)
		}
	}
}

func TestHandshake(t *testing.T) {
	t.Parallel()
	const (
		requested = chat.StateRequested
		accepted  = chat.StateAccepted
		fp        = chat.CodeFailedPrecondition
	)
	tests := []struct {
		name  string
		steps []step
		// inboxes are the expected inboxes of alice and bob at the end.
		alice, bob []string
	}{
		{
			name:  "request",
			steps: []step{request("alice", "bob", requested)},
			alice: []string{},
			bob:   []string{"request alice"},
		},
		{
			name:  "asking again changes nothing",
			steps: []step{request("alice", "bob", requested), request("alice", "bob", requested)},
			alice: []string{},
			bob:   []string{"request alice"},
		},
		{
			name: "mutual request accepts",
			steps: []step{
				request("alice", "bob", requested),
				request("bob", "alice", accepted),
				send("alice", "bob", "hi bob", false),
				send("bob", "alice", "hi alice", false),
			},
			alice: []string{"accepted bob", "text bob: hi alice"},
			bob:   []string{"request alice", "text alice: hi bob"},
		},
		{
			name: "mutual request delivers the waiting messages",
			steps: []step{
				request("alice", "bob", requested),
				send("alice", "bob", "one", true),
				request("bob", "alice", accepted),
			},
			alice: []string{"accepted bob"},
			bob:   []string{"request alice", "text alice: one"},
		},
		{
			name: "request after acceptance changes nothing",
			steps: []step{
				request("alice", "bob", requested),
				accept("bob", "alice", 0),
				request("alice", "bob", accepted),
				request("bob", "alice", accepted),
			},
			alice: []string{"accepted bob"},
			bob:   []string{"request alice"},
		},
		{
			name: "accept delivers waiting messages in order, then tells the requester",
			steps: []step{
				request("alice", "bob", requested),
				send("alice", "bob", "one", true),
				send("alice", "bob", "two", true),
				send("alice", "bob", "three", true),
				accept("bob", "alice", 3),
				send("alice", "bob", "four", false),
				send("bob", "alice", "hello", false),
			},
			alice: []string{"accepted bob", "text bob: hello"},
			bob:   []string{"request alice", "text alice: one", "text alice: two", "text alice: three", "text alice: four"},
		},
		{
			name: "accepting twice is harmless",
			steps: []step{
				request("alice", "bob", requested),
				accept("bob", "alice", 0),
				accept("bob", "alice", 0),
			},
			alice: []string{"accepted bob"},
			bob:   []string{"request alice"},
		},
		{
			name: "decline drops waiting messages and tells the requester",
			steps: []step{
				request("alice", "bob", requested),
				send("alice", "bob", "one", true),
				send("alice", "bob", "two", true),
				decline("bob", "alice", 2),
			},
			alice: []string{"declined bob: bob declined your chat request; 2 waiting messages were not delivered."},
			bob:   []string{"request alice"},
		},
		{
			name: "decline with one waiting message",
			steps: []step{
				request("alice", "bob", requested),
				send("alice", "bob", "one", true),
				decline("bob", "alice", 1),
			},
			alice: []string{"declined bob: bob declined your chat request; 1 waiting message was not delivered."},
			bob:   []string{"request alice"},
		},
		{
			name:  "decline with nothing waiting",
			steps: []step{request("alice", "bob", requested), decline("bob", "alice", 0)},
			alice: []string{"declined bob: bob declined your chat request."},
			bob:   []string{"request alice"},
		},
		{
			name: "re-request after decline",
			steps: []step{
				request("alice", "bob", requested),
				send("alice", "bob", "dropped", true),
				decline("bob", "alice", 1),
				request("alice", "bob", requested),
				send("alice", "bob", "kept", true),
				accept("bob", "alice", 1),
			},
			alice: []string{"declined bob: bob declined your chat request; 1 waiting message was not delivered.", "accepted bob"},
			bob:   []string{"request alice", "request alice", "text alice: kept"},
		},
		{
			name: "the one who declined may ask",
			steps: []step{
				request("alice", "bob", requested),
				decline("bob", "alice", 0),
				request("bob", "alice", requested),
				accept("alice", "bob", 0),
			},
			alice: []string{"declined bob: bob declined your chat request.", "request bob"},
			bob:   []string{"request alice", "accepted alice"},
		},
		{
			name: "answering without a request",
			steps: []step{
				fails(accept("bob", "alice", 0), fp, "alice has not asked to chat with bob"),
				fails(decline("bob", "alice", 0), fp, "alice has not asked to chat with bob"),
			},
			alice: []string{},
			bob:   []string{},
		},
		{
			name: "answering one's own request",
			steps: []step{
				request("alice", "bob", requested),
				fails(accept("alice", "bob", 0), fp, "bob has not asked to chat with alice"),
				fails(decline("alice", "bob", 0), fp, "bob has not asked to chat with alice"),
			},
			alice: []string{},
			bob:   []string{"request alice"},
		},
		{
			name: "answering again after declining",
			steps: []step{
				request("alice", "bob", requested),
				decline("bob", "alice", 0),
				fails(accept("bob", "alice", 0), fp, "alice has not asked"),
				fails(decline("bob", "alice", 0), fp, "alice has not asked"),
			},
			alice: []string{"declined bob: bob declined your chat request."},
			bob:   []string{"request alice"},
		},
		{
			name: "declining an accepted chat",
			steps: []step{
				request("alice", "bob", requested),
				accept("bob", "alice", 0),
				fails(decline("bob", "alice", 0), fp, "alice has not asked"),
			},
			alice: []string{"accepted bob"},
			bob:   []string{"request alice"},
		},
		{
			name: "send without a request",
			steps: []step{
				fails(send("alice", "bob", "hi", false), fp, "alice has not asked bob to chat yet"),
			},
			alice: []string{},
			bob:   []string{},
		},
		{
			name: "send after decline",
			steps: []step{
				request("alice", "bob", requested),
				decline("bob", "alice", 0),
				fails(send("alice", "bob", "hi", false), fp, "bob declined alice's chat request"),
				fails(send("bob", "alice", "hi", false), fp, "bob has not asked alice to chat yet"),
			},
			alice: []string{"declined bob: bob declined your chat request."},
			bob:   []string{"request alice"},
		},
		{
			name: "send to someone who asked you",
			steps: []step{
				request("alice", "bob", requested),
				fails(send("bob", "alice", "hi", false), fp, "alice asked to chat with bob: answer the request first"),
			},
			alice: []string{},
			bob:   []string{"request alice"},
		},
		{
			name: "pending limit",
			steps: []step{
				request("alice", "bob", requested),
				send("alice", "bob", "1", true),
				send("alice", "bob", "2", true),
				send("alice", "bob", "3", true),
				fails(send("alice", "bob", "4", true), chat.CodeExhausted, "bob has not answered", "3 messages already wait"),
				accept("bob", "alice", 3),
				send("alice", "bob", "5", false),
				send("alice", "bob", "6", false),
				send("alice", "bob", "7", false),
				send("alice", "bob", "8", false),
			},
			alice: []string{"accepted bob"},
			bob: []string{
				"request alice", "text alice: 1", "text alice: 2", "text alice: 3",
				"text alice: 5", "text alice: 6", "text alice: 7", "text alice: 8",
			},
		},
		{
			name: "other pairs are separate",
			steps: []step{
				request("alice", "bob", requested),
				request("carol", "bob", requested),
				accept("bob", "carol", 0),
				fails(send("alice", "carol", "hi", false), fp),
				send("alice", "bob", "waits", true),
				send("carol", "bob", "at once", false),
			},
			alice: []string{},
			bob:   []string{"request alice", "request carol", "text carol: at once"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			svc, store := newService(t, chat.Options{})
			for _, s := range tt.steps {
				s.run(t, t.Context(), svc)
			}
			if got := inbox(t, store, "alice"); !slices.Equal(got, tt.alice) {
				t.Errorf("alice's inbox:\n got %q\nwant %q", got, tt.alice)
			}
			if got := inbox(t, store, "bob"); !slices.Equal(got, tt.bob) {
				t.Errorf("bob's inbox:\n got %q\nwant %q", got, tt.bob)
			}
		})
	}
}

// accepted makes user and peer chat.
func accepted(tb testing.TB, svc *chat.Service, user, peer string) {
	tb.Helper()
	ctx := context.Background()
	if _, err := svc.RequestChat(ctx, user, peer); err != nil {
		tb.Fatal(err)
	}
	if _, _, err := svc.AnswerChat(ctx, peer, user, true); err != nil {
		tb.Fatal(err)
	}
}

func TestAcceptKeepsWaitingMessages(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	svc, store := newService(t, chat.Options{})
	if _, err := svc.RequestChat(ctx, "alice", "bob"); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, p := range []string{"one", "two"} {
		ev, pending, err := svc.Send(ctx, "alice", "bob", []byte(p), 1, "")
		if err != nil || !pending {
			t.Fatalf("send %s: pending %t, %v", p, pending, err)
		}
		ids = append(ids, ev.ID)
	}
	// Waiting messages are in neither the inbox nor the history.
	if page, _, err := svc.History(ctx, "bob", "alice", 0, 0); err != nil || len(page) != 0 {
		t.Fatalf("history before acceptance = %v, %v; want empty", page, err)
	}
	if _, _, err := svc.AnswerChat(ctx, "bob", "alice", true); err != nil {
		t.Fatal(err)
	}
	evs := stored(t, store, chat.InboxLog("bob"))[1:]
	if len(evs) != 2 {
		t.Fatalf("bob's inbox holds %d texts, want 2", len(evs))
	}
	for i, ev := range evs {
		if ev.ID != ids[i] || ev.Encryption != 1 || ev.Sender != "alice" {
			t.Errorf("delivered %+v, want the message with id %s as sent", ev, ids[i])
		}
	}
	page, _, err := svc.History(ctx, "bob", "alice", 0, 0)
	if err != nil || len(page) != 2 || page[0].ID != ids[0] || page[1].ID != ids[1] {
		t.Errorf("history after acceptance = %+v, %v; want the two messages", page, err)
	}
}

func TestBadInput(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	svc, _ := newService(t, chat.Options{})
	accepted(t, svc, "alice", "bob")
	tests := []struct {
		name  string
		call  func() error
		code  chat.Code
		words []string
	}{
		{
			name: "empty payload",
			call: func() error { _, _, err := svc.Send(ctx, "alice", "bob", nil, 0, ""); return err },
			code: chat.CodeInvalid, words: []string{"alice", "bob", "empty"},
		},
		{
			name: "oversized payload",
			call: func() error {
				_, _, err := svc.Send(ctx, "alice", "bob", make([]byte, maxPayload+1), 0, "")
				return err
			},
			code: chat.CodeInvalid, words: []string{"17 bytes", "the limit is 16"},
		},
		{
			name: "self chat request",
			call: func() error { _, err := svc.RequestChat(ctx, "alice", "alice"); return err },
			code: chat.CodeInvalid, words: []string{"alice cannot chat with themselves"},
		},
		{
			name: "self chat answer",
			call: func() error { _, _, err := svc.AnswerChat(ctx, "alice", "alice", true); return err },
			code: chat.CodeInvalid, words: []string{"themselves"},
		},
		{
			name: "self chat send",
			call: func() error { _, _, err := svc.Send(ctx, "alice", "alice", []byte("x"), 0, ""); return err },
			code: chat.CodeInvalid, words: []string{"themselves"},
		},
		{
			name: "self chat history",
			call: func() error { _, _, err := svc.History(ctx, "alice", "alice", 0, 0); return err },
			code: chat.CodeInvalid, words: []string{"themselves"},
		},
		{
			name: "no user",
			call: func() error { _, err := svc.RequestChat(ctx, "", "bob"); return err },
			code: chat.CodeInvalid, words: []string{"no user given"},
		},
		{
			name: "no peer",
			call: func() error { _, err := svc.RequestChat(ctx, "alice", ""); return err },
			code: chat.CodeInvalid, words: []string{"no peer given"},
		},
		{
			name: "no receiver",
			call: func() error { _, _, err := svc.Send(ctx, "alice", "", []byte("hi"), 0, ""); return err },
			code: chat.CodeInvalid, words: []string{"no receiver given"},
		},
		{
			name: "name not UTF-8",
			call: func() error { _, err := svc.Login(ctx, "\xff"); return err },
			code: chat.CodeInvalid, words: []string{"not valid UTF-8"},
		},
		{
			name: "unknown user",
			call: func() error { _, err := svc.Login(ctx, "zed"); return err },
			code: chat.CodeNotFound, words: []string{`there is no user named "zed"`},
		},
		{
			name: "unknown peer of a request",
			call: func() error { _, err := svc.RequestChat(ctx, "alice", "zed"); return err },
			code: chat.CodeNotFound, words: []string{`"zed"`},
		},
		{
			name: "unknown sender",
			call: func() error { _, _, err := svc.Send(ctx, "zed", "bob", []byte("x"), 0, ""); return err },
			code: chat.CodeNotFound, words: []string{`"zed"`},
		},
		{
			name: "unknown receiver",
			call: func() error { _, _, err := svc.Send(ctx, "alice", "zed", []byte("x"), 0, ""); return err },
			code: chat.CodeNotFound, words: []string{`"zed"`},
		},
		{
			name: "unknown user answers",
			call: func() error { _, _, err := svc.AnswerChat(ctx, "zed", "alice", true); return err },
			code: chat.CodeNotFound, words: []string{`"zed"`},
		},
		{
			name: "unknown user acks",
			call: func() error { return svc.Ack(ctx, "zed", 0, "") },
			code: chat.CodeNotFound, words: []string{`"zed"`},
		},
		{
			name: "unknown receiver receives",
			call: func() error { return svc.Receive(ctx, "zed", 0, "", func([]chat.Event) error { return nil }) },
			code: chat.CodeNotFound, words: []string{`"zed"`},
		},
		{
			name: "no receiver",
			call: func() error { return svc.Receive(ctx, "", 0, "", func([]chat.Event) error { return nil }) },
			code: chat.CodeInvalid, words: []string{"no receiver given"},
		},
		{
			name: "unknown peer's history",
			call: func() error { _, _, err := svc.History(ctx, "alice", "zed", 0, 0); return err },
			code: chat.CodeNotFound, words: []string{`"zed"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.call()
			if err == nil {
				t.Fatalf("succeeded, want code %d", tt.code)
			}
			wantCode(t, err, tt.code, tt.words...)
		})
	}
	t.Run("largest payload", func(t *testing.T) {
		t.Parallel()
		if _, _, err := svc.Send(ctx, "alice", "bob", make([]byte, maxPayload), 0, ""); err != nil {
			t.Errorf("a payload of exactly %d bytes: %v", maxPayload, err)
		}
	})
}

func TestErrorCodeOfOtherErrors(t *testing.T) {
	t.Parallel()
	if got := chat.ErrorCode(errors.New("disk on fire")); got != chat.CodeInternal {
		t.Errorf("ErrorCode of a plain error = %d, want CodeInternal", got)
	}
	err := fmt.Errorf("wrapped: %w", chat.Errorf(chat.CodeNotFound, "no %s", "thing"))
	if got := chat.ErrorCode(err); got != chat.CodeNotFound {
		t.Errorf("ErrorCode of a wrapped error = %d, want CodeNotFound", got)
	}
}

func TestLoginRequests(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	svc, _ := newService(t, chat.Options{})
	login := func(user string, wantRequests ...string) {
		t.Helper()
		sess, err := svc.Login(ctx, user)
		if err != nil {
			t.Fatalf("login %s: %v", user, err)
		}
		others := slices.DeleteFunc(slices.Clone(users), func(u string) bool { return u == user })
		if !slices.Equal(sess.Others, others) {
			t.Errorf("login %s: others %q, want %q", user, sess.Others, others)
		}
		if wantRequests == nil {
			wantRequests = []string{}
		}
		if got := append([]string{}, sess.Requests...); !slices.Equal(got, wantRequests) {
			t.Errorf("login %s: requests %q, want %q", user, got, wantRequests)
		}
	}
	login("alice")
	// Asked by carol first, then bob: listed in configuration order.
	for _, from := range []string{"carol", "bob"} {
		if _, err := svc.RequestChat(ctx, from, "alice"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := svc.RequestChat(ctx, "alice", "dave"); err != nil {
		t.Fatal(err)
	}
	login("alice", "bob", "carol")
	login("dave", "alice")
	login("bob")
	if _, _, err := svc.AnswerChat(ctx, "alice", "bob", true); err != nil {
		t.Fatal(err)
	}
	login("alice", "carol")
	if _, _, err := svc.AnswerChat(ctx, "alice", "carol", false); err != nil {
		t.Fatal(err)
	}
	login("alice")
	if _, err := svc.Login(ctx, "zed"); err == nil {
		t.Error("login of an unknown user succeeded")
	}
}

// receive runs Receive for user after seq until it has yielded at least n
// events or the deadline passes, and returns the events and Receive's error.
func receive(tb testing.TB, svc *chat.Service, user string, after uint64, n int) ([]chat.Event, error) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var got []chat.Event
	err := svc.Receive(ctx, user, after, "", inboxOnly(func(batch []chat.Event) error {
		got = append(got, batch...)
		if len(got) >= n {
			cancel()
		}
		return nil
	}))
	if ctx.Err() == nil {
		return got, err
	}
	if len(got) < n {
		tb.Fatalf("receive for %s after %d: got %d events before the deadline, want %d (%v)", user, after, len(got), n, err)
	}
	if !errors.Is(err, context.Canceled) {
		tb.Errorf("Receive ended with %v, want context.Canceled", err)
	}
	return got, nil
}

// seqRange returns first..last.
func seqRange(first, last uint64) []uint64 {
	out := []uint64{}
	for s := first; s <= last; s++ {
		out = append(out, s)
	}
	return out
}

func seqsOf(evs []chat.Event) []uint64 {
	out := []uint64{}
	for _, ev := range evs {
		out = append(out, ev.Seq)
	}
	return out
}

func TestAckAndCursor(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	svc, _ := newService(t, chat.Options{})
	accepted(t, svc, "alice", "bob") // bob's inbox: 1 the request.
	for i := range 4 {               // 2..5
		if _, _, err := svc.Send(ctx, "alice", "bob", fmt.Appendf(nil, "m%d", i), 0, ""); err != nil {
			t.Fatal(err)
		}
	}
	const head = 5

	// Receive yields every stored event in one batch here, so exactly n
	// events means nothing else was stored after them.
	check := func(after uint64, want []uint64) {
		t.Helper()
		got, err := receive(t, svc, "bob", after, len(want))
		if err != nil {
			t.Fatalf("receive after %d: %v", after, err)
		}
		if !slices.Equal(seqsOf(got), want) {
			t.Errorf("receive after %d = %v, want %v", after, seqsOf(got), want)
		}
	}
	check(0, seqRange(1, head)) // Nothing acknowledged: everything.
	if err := svc.Ack(ctx, "bob", 3, ""); err != nil {
		t.Fatal(err)
	}
	check(0, seqRange(4, head)) // 0 resumes after the ack.
	check(1, seqRange(2, head)) // An explicit seq ignores the ack.
	if err := svc.Ack(ctx, "bob", 2, ""); err != nil {
		t.Fatalf("ack behind the cursor: %v", err)
	}
	check(0, seqRange(4, head)) // The cursor never moves back.
	if err := svc.Ack(ctx, "bob", head, ""); err != nil {
		t.Fatalf("ack at the head: %v", err)
	}
	// Acked up to the head: nothing stored to deliver, the next event is live.
	got := make(chan []chat.Event, 1)
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		errc <- svc.Receive(rctx, "bob", 0, "", inboxOnly(func(b []chat.Event) error {
			got <- b
			cancel()
			return nil
		}))
	}()
	ev, _, err := svc.Send(ctx, "alice", "bob", []byte("live"), 0, "")
	if err != nil {
		t.Fatal(err)
	}
	// Receive ends when the callback cancels it, having handed over the
	// batch, or when the 5 s run out.
	rerr := <-errc
	select {
	case b := <-got:
		if len(b) != 1 || b[0].ID != ev.ID || b[0].Seq != head+1 {
			t.Errorf("after acking the head, received %+v; want only the live message at %d", b, head+1)
		}
	default:
		t.Fatalf("the live message did not arrive: %v", rerr)
	}
	if !errors.Is(rerr, context.Canceled) {
		t.Errorf("Receive ended with %v, want context.Canceled", rerr)
	}

	// Past the head is out of range, for Ack and for Receive.
	err = svc.Ack(ctx, "bob", head+2, "")
	wantCode(t, err, chat.CodeOutOfRange, "sequence number 7 is past the end of bob's inbox, whose last is 6")
	_, err = receive(t, svc, "bob", head+2, 1)
	wantCode(t, err, chat.CodeOutOfRange, "sequence number 7 is past the end of bob's inbox, whose last is 6")
	// An empty inbox: acking 0 is fine, 1 is past the end.
	if err := svc.Ack(ctx, "carol", 0, ""); err != nil {
		t.Errorf("ack 0 of an empty inbox: %v", err)
	}
	wantCode(t, svc.Ack(ctx, "carol", 1, ""), chat.CodeOutOfRange, "carol")
}

func TestReceive(t *testing.T) {
	t.Parallel()

	t.Run("stored then live, in batches", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		svc, _ := newService(t, chat.Options{ReadBatch: 2})
		accepted(t, svc, "alice", "bob")
		for i := range 4 {
			if _, _, err := svc.Send(ctx, "alice", "bob", fmt.Appendf(nil, "stored %d", i), 0, ""); err != nil {
				t.Fatal(err)
			}
		}
		batches := make(chan []chat.Event)
		errc := make(chan error, 1)
		go func() {
			errc <- svc.Receive(ctx, "bob", 0, "", inboxOnly(func(b []chat.Event) error {
				select {
				case batches <- b:
					return nil
				case <-ctx.Done():
					return ctx.Err()
				}
			}))
		}()
		next := func() []chat.Event {
			t.Helper()
			select {
			case b := <-batches:
				return b
			case err := <-errc:
				t.Fatalf("Receive ended: %v", err)
			case <-ctx.Done():
				t.Fatal("no batch before the deadline")
			}
			return nil
		}
		// Five stored events, two at a time.
		for _, want := range [][]uint64{{1, 2}, {3, 4}, {5}} {
			if got := seqsOf(next()); !slices.Equal(got, want) {
				t.Fatalf("batch %v, want %v", got, want)
			}
		}
		// Then live, each send woken up for.
		for i := uint64(6); i <= 8; i++ {
			if _, _, err := svc.Send(ctx, "alice", "bob", []byte("live"), 0, ""); err != nil {
				t.Fatal(err)
			}
			if got := seqsOf(next()); !slices.Equal(got, []uint64{i}) {
				t.Fatalf("live batch %v, want [%d]", got, i)
			}
		}
		cancel()
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Errorf("Receive ended with %v, want context.Canceled", err)
		}
	})

	t.Run("a failing yield ends it", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		svc, _ := newService(t, chat.Options{})
		if _, err := svc.RequestChat(ctx, "alice", "bob"); err != nil {
			t.Fatal(err)
		}
		errGone := errors.New("client gone")
		err := svc.Receive(ctx, "bob", 0, "", inboxOnly(func([]chat.Event) error { return errGone }))
		if !errors.Is(err, errGone) {
			t.Errorf("Receive = %v, want the yield's error", err)
		}
	})

	t.Run("a done context ends it", func(t *testing.T) {
		t.Parallel()
		svc, _ := newService(t, chat.Options{})
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		err := svc.Receive(ctx, "bob", 0, "", inboxOnly(func([]chat.Event) error {
			t.Error("yield called with a done context")
			return nil
		}))
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Receive = %v, want context.Canceled", err)
		}
	})

	t.Run("concurrent senders, gap-free", func(t *testing.T) {
		t.Parallel()
		svc, _ := newService(t, chat.Options{ReadBatch: 7})
		for _, from := range []string{"alice", "carol", "dave"} {
			accepted(t, svc, from, "bob") // bob's inbox: 1..3 the requests.
		}
		const each = 50
		done := make(chan struct{})
		for _, from := range []string{"alice", "carol", "dave"} {
			go func() {
				defer func() { done <- struct{}{} }()
				for i := range each {
					if _, _, err := svc.Send(context.Background(), from, "bob", fmt.Appendf(nil, "%03d", i), 0, ""); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		got, err := receive(t, svc, "bob", 3, 3*each)
		for range 3 {
			<-done
		}
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(seqsOf(got), seqRange(4, 3+3*each)) {
			t.Fatalf("received seqs %v, want 4..%d", seqsOf(got), 3+3*each)
		}
		next := map[string]int{}
		for _, ev := range got {
			if want := fmt.Sprintf("%03d", next[ev.Sender]); string(ev.Payload) != want {
				t.Fatalf("from %s got %s, want %s", ev.Sender, ev.Payload, want)
			}
			next[ev.Sender]++
		}
	})
}

func TestHistory(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	svc, _ := newService(t, chat.Options{})
	accepted(t, svc, "alice", "bob")
	const n = 7
	for i := 1; i <= n; i++ {
		from, to := "alice", "bob"
		if i%2 == 0 {
			from, to = to, from
		}
		if _, _, err := svc.Send(ctx, from, to, fmt.Appendf(nil, "m%d", i), 0, ""); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name       string
		user, peer string
		before     uint64
		size       int
		want       []uint64
		next       uint64
	}{
		{name: "default page size", user: "alice", peer: "bob", want: seqRange(1, 7)},
		{name: "newest page", user: "alice", peer: "bob", size: 3, want: []uint64{5, 6, 7}, next: 5},
		{name: "either side", user: "bob", peer: "alice", size: 3, want: []uint64{5, 6, 7}, next: 5},
		{name: "second page", user: "alice", peer: "bob", before: 5, size: 3, want: []uint64{2, 3, 4}, next: 2},
		{name: "last page", user: "alice", peer: "bob", before: 2, size: 3, want: []uint64{1}},
		{name: "page ends at the first", user: "alice", peer: "bob", before: 4, size: 3, want: []uint64{1, 2, 3}},
		{name: "before the first", user: "alice", peer: "bob", before: 1, size: 3, want: []uint64{}},
		{name: "before past the end", user: "alice", peer: "bob", before: 100, size: 2, want: []uint64{6, 7}, next: 6},
		{name: "largest page", user: "alice", peer: "bob", size: chat.MaxPageSize, want: seqRange(1, 7)},
		{name: "no messages", user: "alice", peer: "carol", want: []uint64{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			page, next, err := svc.History(ctx, tt.user, tt.peer, tt.before, tt.size)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(seqsOf(page), tt.want) || next != tt.next {
				t.Errorf("History(before %d, size %d) = %v next %d, want %v next %d", tt.before, tt.size, seqsOf(page), next, tt.want, tt.next)
			}
			for _, ev := range page {
				if want := fmt.Sprintf("m%d", ev.Seq); string(ev.Payload) != want {
					t.Errorf("message %d holds %q, want %q", ev.Seq, ev.Payload, want)
				}
			}
		})
	}
	t.Run("walking back pages", func(t *testing.T) {
		t.Parallel()
		var all []uint64
		var before uint64
		for range n + 1 {
			page, next, err := svc.History(ctx, "bob", "alice", before, 2)
			if err != nil {
				t.Fatal(err)
			}
			all = append(seqsOf(page), all...)
			if next == 0 {
				break
			}
			before = next
		}
		if !slices.Equal(all, seqRange(1, n)) {
			t.Errorf("pages put together = %v, want 1..%d", all, n)
		}
	})
	for _, size := range []int{-1, chat.MaxPageSize + 1} {
		t.Run(fmt.Sprintf("bad page size %d", size), func(t *testing.T) {
			t.Parallel()
			_, _, err := svc.History(ctx, "alice", "bob", 0, size)
			wantCode(t, err, chat.CodeInvalid, fmt.Sprintf("page size %d is out of range (1 to 500)", size))
		})
	}
}

// inboxOnly passes yield the inbox's events, without the presence events a
// stream also carries.
func inboxOnly(yield func([]chat.Event) error) func([]chat.Event) error {
	return func(batch []chat.Event) error {
		batch = slices.DeleteFunc(batch, func(ev chat.Event) bool { return ev.Kind == chat.KindPresence })
		if len(batch) == 0 {
			return nil
		}
		return yield(batch)
	}
}

// TestStreamsPerUser: past MaxStreams, another stream of the same user is
// refused (ResourceExhausted); another user's is not; one that ends frees
// its place.
func TestStreamsPerUser(t *testing.T) {
	t.Parallel()
	svc, _ := newService(t, chat.Options{MaxStreams: 2})
	open := func(user string) (context.CancelFunc, <-chan error) {
		ctx, cancel := context.WithCancel(t.Context())
		started := make(chan struct{})
		done := make(chan error, 1)
		var once sync.Once
		go func() {
			done <- svc.Receive(ctx, user, 0, "", func([]chat.Event) error { once.Do(func() { close(started) }); return nil })
		}()
		select {
		case <-started:
		case err := <-done:
			done <- err
		}
		return cancel, done
	}
	stop1, done1 := open("alice")
	defer stop1()
	stop2, _ := open("alice")
	defer stop2()
	stop3, third := open("alice")
	defer stop3()
	wantCode(t, <-third, chat.CodeExhausted, "alice has 2 streams open")
	stopBob, bobDone := open("bob")
	select {
	case err := <-bobDone:
		t.Fatalf("bob's stream ended: %v", err)
	default:
	}
	stopBob()
	stop1()
	if err := <-done1; !errors.Is(err, context.Canceled) { // the first stream has ended: its place is free
		t.Errorf("the first stream ended with %v, want context.Canceled", err)
	}
	stop4, fourth := open("alice")
	defer stop4()
	select {
	case err := <-fourth:
		t.Fatalf("a stream after one ended: %v", err)
	default:
	}
}
