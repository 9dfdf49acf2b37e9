package chat_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spartan-messenger/spartan/internal/chat"
)

// TestEpoch: a position from a store that was lost (another epoch) does not
// skip the new inbox's first messages: the stream says messages were lost
// and starts from the new store's acknowledged position. Acks of the old
// epoch are refused; without an epoch the old check (OutOfRange) stands.
func TestEpoch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	before, _ := newService(t, chat.Options{})
	accepted(t, before, "alice", "bob")
	for _, text := range []string{"one", "two", "three", "four"} {
		if _, _, err := before.Send(ctx, "alice", "bob", []byte(text), 0, ""); err != nil {
			t.Fatal(err)
		}
	}
	evs, _ := receive(t, before, "bob", 0, 5)
	old := evs[len(evs)-1]
	if old.Epoch == "" || old.Seq != 5 {
		t.Fatalf("last event %+v, want seq 5 with an epoch", old)
	}

	// The server lost its data: a new store, where alice asks again.
	var n atomic.Int64
	after, _ := newService(t, chat.Options{NewID: func() string { return fmt.Sprintf("new-%d", n.Add(1)) }})
	if _, err := after.RequestChat(ctx, "alice", "bob"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, after.Ack(ctx, "bob", 1, old.Epoch), chat.CodeFailedPrecondition, "lost")

	got := receiveFrom(t, after, "bob", old.Seq, old.Epoch, 2)
	if got[0].Kind != chat.KindSystem || got[0].Seq != 0 || got[0].Note == "" {
		t.Fatalf("first event %+v, want a system notice that messages were lost", got[0])
	}
	if got[1].Kind != chat.KindChatRequest || got[1].Seq != 1 || got[1].Epoch == "" || got[1].Epoch == old.Epoch {
		t.Fatalf("second event %+v, want the new request at seq 1 of a new epoch", got[1])
	}
	if got[0].Epoch != got[1].Epoch {
		t.Fatalf("the notice carries epoch %q, want the new one %q", got[0].Epoch, got[1].Epoch)
	}
	if err := after.Ack(ctx, "bob", 1, got[1].Epoch); err != nil {
		t.Fatalf("ack in the new epoch: %v", err)
	}

	// The same epoch resumes as before; no epoch keeps the range check.
	if got := receiveFrom(t, after, "bob", 0, got[1].Epoch, 0); len(got) != 0 {
		t.Fatalf("after the ack: %+v, want nothing", got)
	}
	err := after.Receive(ctx, "bob", old.Seq, "", func([]chat.Event) error { return nil })
	wantCode(t, err, chat.CodeOutOfRange, "past the end")
}

// receiveFrom runs Receive for user after seq of epoch until it has at
// least n events (n 0: until the first yield or a short wait).
func receiveFrom(tb testing.TB, svc *chat.Service, user string, seq uint64, epoch string, n int) []chat.Event {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	if n > 0 {
		ctx, cancel = context.WithTimeout(context.Background(), 5*time.Second)
	}
	defer cancel()
	var got []chat.Event
	_ = svc.Receive(ctx, user, seq, epoch, inboxOnly(func(batch []chat.Event) error {
		got = append(got, batch...)
		if n > 0 && len(got) >= n {
			cancel()
		}
		return nil
	}))
	if len(got) < n {
		tb.Fatalf("receive for %s after %d: %d events, want %d", user, seq, len(got), n)
	}
	return got
}

// TestErrorsQuoteInputShortly: an error quotes at most a short prefix of
// what the client sent, however long that was.
func TestErrorsQuoteInputShortly(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc, _ := newService(t, chat.Options{})
	long := strings.Repeat("n", 200<<10)
	_, err := svc.Login(ctx, long)
	wantCode(t, err, chat.CodeNotFound, "there is no user named \""+strings.Repeat("n", 40)+"...\"")
	if len(err.Error()) > 200 {
		t.Fatalf("the error is %d bytes long", len(err.Error()))
	}
	err = svc.Ack(ctx, "bob", 1, strings.Repeat("e", 10000))
	if err == nil || len(err.Error()) > 200 {
		t.Fatalf("Ack with a long epoch: %d bytes of error (%v)", len(fmt.Sprint(err)), err != nil)
	}
}

// TestEpochOfAnEmptyStore: a client from another epoch that reconnects to a
// store that has stored nothing yet gets a notice with the new store's
// epoch (made for it), so a second reconnect is not told again.
func TestEpochOfAnEmptyStore(t *testing.T) {
	t.Parallel()
	svc, _ := newService(t, chat.Options{})
	first := receiveFrom(t, svc, "bob", 7, "gone", 1)
	if first[0].Kind != chat.KindSystem || first[0].Epoch == "" {
		t.Fatalf("first event %+v, want the notice with the new epoch", first[0])
	}
	if again := receiveFrom(t, svc, "bob", 0, first[0].Epoch, 0); len(again) != 0 {
		t.Fatalf("reconnecting in the new epoch: %+v, want no second notice", again)
	}
}
