package chat_test

import (
	"strings"
	"testing"

	"github.com/spartan-messenger/spartan/internal/chat"
)

// TestSendBatch: a batch is sent in order in one transaction; the first
// message refused ends it, with its error, and what came before is taken
// while what comes after is not; a repeat of a client id inside a batch is
// answered with the first answer.
func TestSendBatch(t *testing.T) {
	t.Parallel()
	text := func(to, body, cid string) chat.Outgoing {
		return chat.Outgoing{Receiver: to, Payload: []byte(body), ClientID: cid}
	}
	post := func(group, body string) chat.Outgoing {
		return chat.Outgoing{Group: group, Payload: []byte(body)}
	}
	tests := []struct {
		name     string
		msgs     []chat.Outgoing
		taken    int
		code     chat.Code // of the refusal; 0 for none
		words    string
		bobTexts string // bob's inbox texts afterwards, oldest first
		sameID   bool   // the two answers are one message's
	}{
		{"all taken", []chat.Outgoing{text("bob", "a", ""), post("team", "b"), text("bob", "c", "")}, 3, 0, "", "a b c", false},
		{"refused before the store", []chat.Outgoing{text("bob", "a", ""), text("mallory", "b", ""), text("bob", "c", "")}, 1, chat.CodeNotFound, "mallory", "a", false},
		{"refused by the store's state", []chat.Outgoing{text("bob", "a", ""), post("others", "b"), text("bob", "c", "")}, 1, chat.CodePermissionDenied, "not a member of others", "a", false},
		{"too long", []chat.Outgoing{text("bob", "a", ""), text("bob", strings.Repeat("x", maxPayload+1), "")}, 1, chat.CodeInvalid, "limit", "a", false},
		{"receiver and group", []chat.Outgoing{{Receiver: "bob", Group: "team", Payload: []byte("x")}}, 0, chat.CodeInvalid, "not both", "", false},
		{"a repeat inside the batch", []chat.Outgoing{text("bob", "a", "m1"), text("bob", "a", "m1")}, 2, 0, "", "a", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			svc, store := newService(t, chat.Options{Groups: map[string][]string{"team": {"alice", "bob"}, "others": {"bob", "carol"}}})
			accepted(t, svc, "alice", "bob")
			sent, err := svc.SendBatch(t.Context(), "alice", tt.msgs)
			if len(sent) != tt.taken {
				t.Errorf("%d taken, want %d (%v)", len(sent), tt.taken, err)
			}
			if tt.code == 0 && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if tt.code != 0 {
				wantCode(t, err, tt.code, tt.words)
			}
			var texts []string
			for _, ev := range stored(t, store, chat.InboxLog("bob")) {
				if ev.Kind == chat.KindText {
					texts = append(texts, string(ev.Payload))
				}
			}
			if got := strings.Join(texts, " "); got != tt.bobTexts {
				t.Errorf("bob's inbox %q, want %q", got, tt.bobTexts)
			}
			if tt.sameID && sent[0].Event.ID != sent[1].Event.ID {
				t.Errorf("the repeat was answered %s, the first %s", sent[1].Event.ID, sent[0].Event.ID)
			}
		})
	}
}
