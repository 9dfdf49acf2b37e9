package chat

import (
	"bytes"
	"context"
	"errors"
	"fmt"
)

// KeySize is the size of a public identity key: X25519's.
const KeySize = 32

// keyKey is the record of user's public identity key.
func keyKey(user string) string { return "key/" + user }

// PublishKey records user's public identity key and says whether it
// changed. A key that differs from the one stored replaces it, and every
// user who has a conversation with user (in any state) gets a
// KindKeyPublished event, as does every member of a group user is in: a
// sender whose messages wait for the key sends them, one that knew another
// key warns. The key must be 32 bytes with its
// top bit clear (X25519 ignores that bit; allowing it would give one key
// two spellings, and two fingerprints).
func (s *Service) PublishKey(ctx context.Context, user string, key []byte) (bool, error) {
	if err := s.checkUser("user", user); err != nil {
		return false, err
	}
	if len(key) != KeySize {
		return false, Errorf(CodeInvalid, "a public key is %d bytes (X25519), not %d", KeySize, len(key))
	}
	if key[KeySize-1]&0x80 != 0 {
		return false, Errorf(CodeInvalid, "the public key's top bit is set: send it as X25519 encodes it, with that bit clear")
	}
	var changed bool
	err := s.update(ctx, func(w *writer) error {
		old, err := w.tx.Get(keyKey(user))
		if err != nil && !errors.Is(err, ErrNoKey) {
			return err
		}
		if changed = !bytes.Equal(old, key); !changed {
			return nil
		}
		if err := w.tx.Put(keyKey(user), key); err != nil {
			return err
		}
		fellows, err := s.fellows(w.tx, user)
		if err != nil {
			return err
		}
		for _, other := range s.opts.Users {
			if other == user {
				continue
			}
			c, err := getConversation(w.tx, user, other)
			if err != nil {
				return err
			}
			if c.State == StateNone && !fellows[other] {
				continue
			}
			if err := w.deliver(s.event(KindKeyPublished, user, other, "", nil, 0)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("publish the key of %s: %w", user, err)
	}
	return changed, nil
}

// MaxKeysAsked is how many users' keys one GetKeys may ask for.
const MaxKeysAsked = 1000

// GetKeys returns the public identity keys of peers, by user; those
// without one are left out.
func (s *Service) GetKeys(ctx context.Context, user string, peers []string) (map[string][]byte, error) {
	if err := s.checkUser("user", user); err != nil {
		return nil, err
	}
	if len(peers) > MaxKeysAsked {
		return nil, Errorf(CodeInvalid, "%d users asked for; at most %d at once", len(peers), MaxKeysAsked)
	}
	for _, p := range peers {
		if err := s.checkUser("peer", p); err != nil {
			return nil, err
		}
	}
	keys := make(map[string][]byte, len(peers))
	err := s.store.View(ctx, func(tx Tx) error {
		for _, p := range peers {
			key, err := tx.Get(keyKey(p))
			switch {
			case errors.Is(err, ErrNoKey):
			case err != nil:
				return err
			default:
				keys[p] = key
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("get the keys of %d users: %w", len(peers), err)
	}
	return keys, nil
}

// GetKey returns peer's public identity key; NotFound until peer has
// published one.
func (s *Service) GetKey(ctx context.Context, user, peer string) ([]byte, error) {
	if err := s.checkRoles(user, "peer", peer); err != nil {
		return nil, err
	}
	var key []byte
	err := s.store.View(ctx, func(tx Tx) error {
		var err error
		key, err = tx.Get(keyKey(peer))
		if errors.Is(err, ErrNoKey) {
			return Errorf(CodeNotFound, "%s has not set up encryption yet", peer)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("get the key of %s: %w", peer, err)
	}
	return key, nil
}
