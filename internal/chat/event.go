package chat

import "time"

// Kind says what an Event is.
type Kind int

// The kinds of Event; they mirror the API's MessageType.
const (
	KindText Kind = iota + 1
	KindChatRequest
	KindChatAccepted
	KindChatDeclined
	KindSystem
	// KindPresence says that Sender came online or went offline (Online).
	// It is live only: never stored, so its Seq is 0 and its ID empty.
	KindPresence
	// KindKeyPublished says that Sender published a new identity key.
	KindKeyPublished
	// KindGroupChanged says that Sender changed Group's members (Note: how).
	KindGroupChanged
	// KindGroupKey carries Sender's sender key for Group, sealed for Receiver.
	KindGroupKey
)

// Event is one entry in a log: a text message or a typed event. The same event
// may stand in several logs (the receiver's inbox and the conversation's
// history), each time with that log's own sequence number.
type Event struct {
	// ID is unique per event and the same in every log that holds it.
	ID string `json:"id"`
	// Seq is the event's position in the log it was read from, from 1, gap-free.
	Seq uint64 `json:"seq"`
	// Kind says what the event is.
	Kind Kind `json:"kind"`
	// Sender is the user the event comes from.
	Sender string `json:"sender"`
	// Receiver is the user the event is addressed to.
	Receiver string `json:"receiver"`
	// Group is the group the event was sent to, empty for one-on-one.
	Group string `json:"group,omitempty"`
	// SentAt is when the server accepted the event.
	SentAt time.Time `json:"sent_at"`
	// Payload is the opaque body; the server never interprets it.
	Payload []byte `json:"payload,omitempty"`
	// Encryption is the API's code for how Payload is encoded.
	Encryption int32 `json:"encryption,omitempty"`
	// Note is a human sentence for system and declined events.
	Note string `json:"note,omitempty"`
	// ClientID is the id the sender's client gave a text, if any.
	ClientID string `json:"client_id,omitempty"`
	// Online is, for KindPresence, whether Sender now has a stream open.
	Online bool `json:"online,omitempty"`
	// Epoch is the store's epoch that Seq counts in; set on events read
	// for a stream, never stored with them.
	Epoch string `json:"-"`
}

// Size is the number of bytes the event holds, an estimate used for memory bounds.
func (e *Event) Size() int {
	return len(e.ID) + len(e.Sender) + len(e.Receiver) + len(e.Group) + len(e.Payload) + len(e.Note) + len(e.ClientID) + 64
}
