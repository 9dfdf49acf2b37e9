package chat

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// SendWindow is how many of a sender's newest client message ids the store
// remembers: a retry of any of them is answered with the first result. A
// client retries within seconds or minutes; a window of messages rather
// than of time keeps the cost bounded however fast a sender sends.
const SendWindow = 1024

// maxClientID bounds a client message id.
const maxClientID = 64

// sent is what the first send of a client message id answered.
type sent struct {
	ID       string    `json:"id"`
	SentAt   time.Time `json:"sent_at"`
	Pending  bool      `json:"pending,omitempty"`
	Receiver string    `json:"receiver"`
}

// sentKey is the record of user's message with client id cid; sentLog is
// the log of user's client ids, oldest first, that bounds those records.
// A client id holds no '/', so the key is unambiguous.
func sentKey(user, cid string) string { return "sent/" + user + "/" + cid }

func sentLog(user string) string { return "sent/" + user }

// checkClientID refuses an id that is too long or holds other characters
// than letters, digits, '-' and '_'.
func checkClientID(cid string) error {
	if len(cid) > maxClientID {
		return Errorf(CodeInvalid, "client_msg_id is %d bytes; at most %d", len(cid), maxClientID)
	}
	for i := 0; i < len(cid); i++ {
		if !idByte(cid[i]) {
			return Errorf(CodeInvalid, "client_msg_id may hold only letters, digits, '-' and '_'; byte %d is not one", i+1)
		}
	}
	return nil
}

// idByte says whether c may stand in a client message id.
func idByte(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_':
		return true
	}
	return false
}

// readSent returns the first answer to user's message cid, if remembered.
// repeated says whether user's message cid (to target, a user or a group)
// was stored already, and returns its record; an id used for another
// target is an error. No cid: never a repeat.
func repeated(tx Tx, user, cid, target string) (sent, bool, error) {
	if cid == "" {
		return sent{}, false, nil
	}
	prev, ok, err := readSent(tx, user, cid)
	if err != nil || !ok {
		return sent{}, false, err
	}
	if prev.Receiver != target {
		return sent{}, false, Errorf(CodeInvalid, "client_msg_id %q of %s was used for a message to %s", quoteInput(cid), user, prev.Receiver)
	}
	return prev, true, nil
}

func readSent(tx Tx, user, cid string) (sent, bool, error) {
	raw, err := tx.Get(sentKey(user, cid))
	if errors.Is(err, ErrNoKey) {
		return sent{}, false, nil
	}
	if err != nil {
		return sent{}, false, fmt.Errorf("read sent %s/%s: %w", user, cid, err)
	}
	var rec sent
	if err := json.Unmarshal(raw, &rec); err != nil {
		return sent{}, false, fmt.Errorf("decode sent %s/%s: %w", user, cid, err)
	}
	return rec, true, nil
}

// rememberSent records the answer to user's message cid and forgets the id
// that falls out of the window.
func (w *writer) rememberSent(user, cid string, rec sent) error {
	raw, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encode sent %s/%s: %w", user, cid, err)
	}
	if err := w.tx.Put(sentKey(user, cid), raw); err != nil {
		return fmt.Errorf("write sent %s/%s: %w", user, cid, err)
	}
	seq, err := w.tx.Append(sentLog(user), Event{ID: cid})
	if err != nil {
		return fmt.Errorf("append to %s: %w", sentLog(user), err)
	}
	if seq <= SendWindow {
		return nil
	}
	old, err := w.tx.Read(sentLog(user), seq-SendWindow-1, 1, 0)
	if err != nil {
		return fmt.Errorf("read %s: %w", sentLog(user), err)
	}
	if len(old) == 1 && old[0].Seq == seq-SendWindow {
		if err := w.tx.Delete(sentKey(user, old[0].ID)); err != nil {
			return fmt.Errorf("forget sent %s/%s: %w", user, old[0].ID, err)
		}
	}
	if err := w.tx.Trim(sentLog(user), seq-SendWindow+1); err != nil {
		return fmt.Errorf("trim %s: %w", sentLog(user), err)
	}
	return nil
}
