package chat

import (
	"context"
	"errors"
	"fmt"
)

// Outgoing is one message of a sender's batch: to a receiver, or posted to
// a group.
type Outgoing struct {
	Receiver   string // empty for a post to Group
	Group      string
	Payload    []byte
	Encryption int32
	ClientID   string
}

// Sent is what became of a message the service took.
type Sent struct {
	Event Event
	// Pending says the message waits for the receiver to accept the chat.
	Pending bool
}

// SendBatch sends user's messages in order, as Send and Post would one by
// one, in one store transaction: one commit (one fsync on bolt, one MULTI
// on Redis) for the lot, and one wake-up per inbox. It returns what became
// of a prefix of msgs: all of them, or those before the first refused,
// whose refusal is the error (a *Error); those after it are not processed.
// A store failure takes none of them.
func (s *Service) SendBatch(ctx context.Context, user string, msgs []Outgoing) ([]Sent, error) {
	if err := s.checkUser("user", user); err != nil {
		return nil, err
	}
	// Checks that need no store first: the first message that fails them
	// ends the batch there.
	var checked error // the refusal of the first message that fails them
	events := make([]Event, 0, len(msgs))
	for _, m := range msgs {
		if err := s.checkOutgoing(user, m); err != nil {
			checked = err
			break
		}
		var ev Event
		if m.Group != "" {
			ev = s.groupEvent(KindText, user, "", m.Group, "")
		} else {
			ev = s.event(KindText, user, m.Receiver, "", nil, 0)
		}
		ev.Payload, ev.Encryption, ev.ClientID = m.Payload, m.Encryption, m.ClientID
		events = append(events, ev)
	}
	var (
		out     []Sent
		refused error
	)
	err := s.update(ctx, func(w *writer) error {
		// The store may run this again: each run starts afresh.
		out, refused = out[:0], checked
		for _, ev := range events {
			sent, err := w.sendOne(ev)
			var ce *Error
			if errors.As(err, &ce) {
				// Refused: what came before is taken, this one and the rest are not.
				refused = err
				return nil
			}
			if err != nil {
				return err
			}
			out = append(out, sent)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("send %d messages of %s: %w", len(events), user, err)
	}
	return out, refused
}

// checkOutgoing checks a message of user's before it meets the store.
func (s *Service) checkOutgoing(user string, m Outgoing) error {
	to := m.Receiver
	switch {
	case m.Group != "" && m.Receiver != "":
		return Errorf(CodeInvalid, "a message goes to a receiver or to a group, not both")
	case m.Group != "":
		to = m.Group
	default:
		if err := s.checkRoles(user, "receiver", m.Receiver); err != nil {
			return err
		}
	}
	if err := s.checkPayload(user, to, m.Payload); err != nil {
		return err
	}
	return checkClientID(m.ClientID)
}

// sendOne sends ev, a text to a receiver or a post to a group, unless its
// client id says it was sent already: then it returns the first answer.
func (w *writer) sendOne(ev Event) (Sent, error) {
	if ev.Group != "" {
		return w.post(ev)
	}
	user, receiver, cid := ev.Sender, ev.Receiver, ev.ClientID
	if prev, ok, err := repeated(w.tx, user, cid, receiver); err != nil || ok {
		return Sent{Event: Event{ID: prev.ID, SentAt: prev.SentAt, Kind: KindText, Sender: user, Receiver: receiver, ClientID: cid}, Pending: prev.Pending}, err
	}
	pending, err := w.send(ev)
	if err != nil {
		return Sent{}, err
	}
	if cid != "" {
		if err := w.rememberSent(user, cid, sent{ID: ev.ID, SentAt: ev.SentAt, Pending: pending, Receiver: receiver}); err != nil {
			return Sent{}, err
		}
	}
	return Sent{Event: ev, Pending: pending}, nil
}
