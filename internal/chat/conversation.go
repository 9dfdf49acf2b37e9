package chat

import (
	"encoding/json"
	"errors"
	"fmt"
)

// State is where a one-on-one conversation stands.
type State int

// The states of a conversation; they mirror the API's ConversationState.
const (
	StateNone State = iota
	StateRequested
	StateAccepted
	StateDeclined
)

// Conversation is the record of a one-on-one conversation between two users.
type Conversation struct {
	// State is where the handshake stands.
	State State `json:"state"`
	// Requester is the user who asked last (REQUESTED and DECLINED).
	Requester string `json:"requester,omitempty"`
	// PendingAfter marks where this request's waiting messages start: they
	// are the events of the pair's PendingLog after this sequence number.
	// The messages live in a log, not in this record, so that a send that
	// waits costs one append however many wait, and reading the record
	// (Login does, for every pair) reads no message bodies.
	PendingAfter uint64 `json:"pending_after,omitempty"`
	// Pending held the waiting messages inside the record before they had a
	// log of their own; it is read from old stores and never written.
	Pending []Event `json:"pending,omitempty"`
}

// pairKey orders two user names so that a pair has one key whoever asks.
func pairKey(a, b string) string {
	if a > b {
		a, b = b, a
	}
	return a + "\x00" + b
}

// conversationKey is the Store record of the pair's conversation.
func conversationKey(a, b string) string { return "conv/" + pairKey(a, b) }

// DirectLog is the log that holds the history of the pair's conversation.
func DirectLog(a, b string) string { return "dm/" + pairKey(a, b) }

// PendingLog is the log of the messages sent to the pair's requests before
// they were answered; Conversation.PendingAfter says which are waiting.
func PendingLog(a, b string) string { return "pending/" + pairKey(a, b) }

// InboxLog is the log of everything delivered to user.
func InboxLog(user string) string { return "inbox/" + user }

// cursorKey is the record of the last inbox sequence number user acknowledged.
func cursorKey(user string) string { return "cursor/" + user }

func getConversation(tx Tx, a, b string) (Conversation, error) {
	raw, err := tx.Get(conversationKey(a, b))
	if errors.Is(err, ErrNoKey) {
		return Conversation{}, nil
	}
	if err != nil {
		return Conversation{}, fmt.Errorf("read conversation %s/%s: %w", a, b, err)
	}
	var c Conversation
	if err := json.Unmarshal(raw, &c); err != nil {
		return Conversation{}, fmt.Errorf("decode conversation %s/%s: %w", a, b, err)
	}
	return c, nil
}

func putConversation(tx Tx, a, b string, c Conversation) error {
	raw, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("encode conversation %s/%s: %w", a, b, err)
	}
	if err := tx.Put(conversationKey(a, b), raw); err != nil {
		return fmt.Errorf("write conversation %s/%s: %w", a, b, err)
	}
	return nil
}

// startConversation writes the pair's record anew, in state, with no
// waiting messages: they start after the pair's pending log as it stands,
// and whatever that log holds (now answered or dropped) is trimmed.
func startConversation(tx Tx, a, b string, state State, requester string) error {
	log := PendingLog(a, b)
	head, err := tx.Head(log)
	if err != nil {
		return fmt.Errorf("read the pending log of %s/%s: %w", a, b, err)
	}
	if head > 0 {
		if err := tx.Trim(log, head+1); err != nil {
			return fmt.Errorf("trim the pending log of %s/%s: %w", a, b, err)
		}
	}
	return putConversation(tx, a, b, Conversation{State: state, Requester: requester, PendingAfter: head})
}

// pendingCount is how many messages wait for the answer to c's request.
func pendingCount(tx Tx, a, b string, c Conversation) (int, error) {
	head, err := tx.Head(PendingLog(a, b))
	if err != nil {
		return 0, fmt.Errorf("read the pending log of %s/%s: %w", a, b, err)
	}
	return len(c.Pending) + int(head-min(head, c.PendingAfter)), nil
}

// pendingEvents returns the messages waiting for the answer to c's request,
// oldest first.
func pendingEvents(tx Tx, a, b string, c Conversation) ([]Event, error) {
	n, err := pendingCount(tx, a, b, c)
	if err != nil || n == len(c.Pending) {
		return c.Pending, err
	}
	evs, err := tx.Read(PendingLog(a, b), c.PendingAfter, n-len(c.Pending), 0)
	if err != nil {
		return nil, fmt.Errorf("read the pending log of %s/%s: %w", a, b, err)
	}
	return append(c.Pending, evs...), nil
}
