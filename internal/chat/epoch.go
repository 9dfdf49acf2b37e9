package chat

import (
	"context"
	"errors"
	"fmt"
)

// epochKey is the record naming the store's epoch: an id made when the
// first event is stored. Inbox sequence numbers count within an epoch, so a
// client's position from another epoch (the server lost its data: a memory
// store restarted, a bolt file removed, a Redis flushed) is recognised as
// such instead of silently skipping the new inbox's first messages.
const epochKey = "meta/epoch"

// readEpoch returns the store's epoch, "" if nothing was ever stored.
func readEpoch(tx Tx) (string, error) {
	raw, err := tx.Get(epochKey)
	if errors.Is(err, ErrNoKey) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read the epoch: %w", err)
	}
	return string(raw), nil
}

// ensureEpoch makes the store's epoch if it has none yet.
func (w *writer) ensureEpoch() error {
	if w.epochKnown {
		return nil
	}
	epoch, err := readEpoch(w.tx)
	if err != nil {
		return err
	}
	if epoch == "" {
		if err := w.tx.Put(epochKey, []byte(w.s.opts.NewID())); err != nil {
			return fmt.Errorf("make the epoch: %w", err)
		}
	}
	w.epochKnown = true
	return nil
}

// lostNote is the notice a stream starts with when the client's position
// is from another epoch.
const lostNote = "The server has lost the messages it had stored; any sent to you before it did are gone."

// ensureEpoch returns the store's epoch, making it if there is none yet.
func (s *Service) ensureEpoch(ctx context.Context) (string, error) {
	var epoch string
	err := s.store.Update(ctx, func(tx Tx) error {
		w := &writer{s: s, tx: tx}
		if err := w.ensureEpoch(); err != nil {
			return err
		}
		var err error
		epoch, err = readEpoch(tx)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("make the epoch: %w", err)
	}
	return epoch, nil
}
