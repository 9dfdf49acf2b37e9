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
	// Pending holds the requester's messages sent before the answer.
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
