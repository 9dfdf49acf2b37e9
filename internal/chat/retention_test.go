package chat_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/spartan-messenger/spartan/internal/chat"
	"github.com/spartan-messenger/spartan/internal/memory"
)

// TestRetention: conversations keep their newest PerLog messages; an inbox
// keeps what its user has not acknowledged, up to MaxUnread, and a
// receiver whose unread messages went is told how many.
func TestRetention(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc, store := newService(t, chat.Options{Retention: chat.Retention{PerLog: 5, MaxUnread: 8}})
	accepted(t, svc, "alice", "bob") // bob's inbox: alice's request (1)
	send := func(n int) {
		for i := range n {
			if _, _, err := svc.Send(ctx, "alice", "bob", fmt.Appendf(nil, "m%d", i), 0, ""); err != nil {
				t.Fatal(err)
			}
		}
	}
	send(6) // bob's inbox: 1..7, none acknowledged: all kept (7 <= MaxUnread)
	if got := seqsOf(stored(t, store, chat.DirectLog("alice", "bob"))); !slices.Equal(got, seqRange(2, 6)) {
		t.Fatalf("conversation kept %v, want the newest 5", got)
	}
	if got := seqsOf(stored(t, store, chat.InboxLog("bob"))); !slices.Equal(got, seqRange(1, 7)) {
		t.Fatalf("bob's unread inbox kept %v, want all of 1..7", got)
	}
	if err := svc.Ack(ctx, "bob", 7, ""); err != nil {
		t.Fatal(err)
	}
	send(1) // 8; acknowledged ones may go now: the newest 5 stay
	if got := seqsOf(stored(t, store, chat.InboxLog("bob"))); !slices.Equal(got, seqRange(4, 8)) {
		t.Fatalf("bob's inbox after his ack kept %v, want 4..8", got)
	}
	send(12) // 9..20 unread: only the newest MaxUnread (8) stay
	if got := seqsOf(stored(t, store, chat.InboxLog("bob"))); !slices.Equal(got, seqRange(13, 20)) {
		t.Fatalf("bob's inbox past MaxUnread kept %v, want 13..20", got)
	}
	got, err := receive(t, svc, "bob", 0, 9)
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Kind != chat.KindSystem || got[0].Note != "5 messages or notices sent to you were dropped unread: the server keeps a bounded number of messages (retention)." {
		t.Fatalf("first event %+v, want the notice of the 5 unread messages (8..12) that went", got[0])
	}
	if !slices.Equal(seqsOf(got[1:]), seqRange(13, 20)) {
		t.Fatalf("then %v, want 13..20", seqsOf(got[1:]))
	}
}

// TestRetentionByAge: a message older than MaxAge goes when its log is
// written to; an unread one stays in its inbox.
func TestRetentionByAge(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	byAge := chat.Retention{MaxAge: 24 * time.Hour}
	svc, store := newService(t, chat.Options{Retention: byAge})
	accepted(t, svc, "alice", "bob")
	if _, _, err := svc.Send(ctx, "alice", "bob", []byte("old"), 0, ""); err != nil {
		t.Fatal(err)
	}
	// Two days on, over the same store.
	later := chat.NewService(store, memory.NewBroker(), memory.NewPresence(), chat.Options{
		Users: users, NewID: func() string { return "later" },
		Now:       func() time.Time { return now.Add(48 * time.Hour) },
		Retention: byAge,
	})
	if _, _, err := later.Send(ctx, "alice", "bob", []byte("new"), 0, ""); err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, ev := range stored(t, store, chat.DirectLog("alice", "bob")) {
		texts = append(texts, string(ev.Payload))
	}
	if len(texts) != 1 || texts[0] != "new" {
		t.Fatalf("conversation kept %q, want only the new message", texts)
	}
	if n := len(stored(t, store, chat.InboxLog("bob"))); n != 3 {
		t.Fatalf("bob's unread inbox holds %d, want all 3 (request, old, new)", n)
	}
}

// TestReceiveReadsOnPastTheByteBound: a stored backlog bigger than one
// read's byte bound reaches the stream whole, with no wake-up in between.
func TestReceiveReadsOnPastTheByteBound(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc, _ := newService(t, chat.Options{MaxPayload: 1000, ReadBatchBytes: 2500})
	accepted(t, svc, "alice", "bob") // bob's inbox: the request (1)
	for i := range 9 {
		if _, _, err := svc.Send(ctx, "alice", "bob", make([]byte, 900+i), 0, ""); err != nil {
			t.Fatal(err)
		}
	}
	got, err := receive(t, svc, "bob", 0, 10) // two messages a read at most
	if err != nil || !slices.Equal(seqsOf(got), seqRange(1, 10)) {
		t.Fatalf("received %v, %v; want 1..10", seqsOf(got), err)
	}
}
