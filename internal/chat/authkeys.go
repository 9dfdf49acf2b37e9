package chat

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
)

// authKeyKey is the record of the Ed25519 key user logs in with.
func authKeyKey(user string) string { return "authkey/" + user }

// CheckUser says whether user is a configured user (NotFound if not).
func (s *Service) CheckUser(user string) error { return s.checkUser("user", user) }

// BindAuthKey checks that user logs in with key: the key the configuration
// pins for user, else the one recorded, else (trust on first use) it is
// recorded now. Another key is PermissionDenied.
func (s *Service) BindAuthKey(ctx context.Context, user string, key []byte) error {
	if err := s.checkUser("user", user); err != nil {
		return err
	}
	if len(key) != ed25519.PublicKeySize {
		return Errorf(CodeInvalid, "a public key is %d bytes (Ed25519), not %d", ed25519.PublicKeySize, len(key))
	}
	denied := Errorf(CodePermissionDenied, "%s logs in with another key; if %s set up Spartan again, an operator resets the key (spartan-server -reset-key %s)", user, user, user)
	if pinned, ok := s.opts.AuthKeys[user]; ok {
		if !bytes.Equal(pinned, key) {
			return denied
		}
		return nil
	}
	err := s.store.Update(ctx, func(tx Tx) error {
		old, err := tx.Get(authKeyKey(user))
		switch {
		case errors.Is(err, ErrNoKey):
			return tx.Put(authKeyKey(user), key)
		case err != nil:
			return err
		case !bytes.Equal(old, key):
			return denied
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("log in %s: %w", user, err)
	}
	return nil
}

// ResetAuthKey forgets the key user logs in with, so that the next one is
// taken: for a user who lost theirs. A key the configuration pins stays.
func (s *Service) ResetAuthKey(ctx context.Context, user string) error {
	if err := s.checkUser("user", user); err != nil {
		return err
	}
	if err := s.store.Update(ctx, func(tx Tx) error { return tx.Delete(authKeyKey(user)) }); err != nil {
		return fmt.Errorf("reset the key of %s: %w", user, err)
	}
	return nil
}

// secretKey is the record of the secret that signs log-in challenges and
// session tokens, shared by every server of a store.
const secretKey = "auth/secret"

// Secret returns the store's authentication secret, keeping fresh as it
// when there is none yet: the first server of a cluster makes it, the
// others read it.
func (s *Service) Secret(ctx context.Context, fresh []byte) ([]byte, error) {
	var secret []byte
	err := s.store.Update(ctx, func(tx Tx) error {
		old, err := tx.Get(secretKey)
		switch {
		case errors.Is(err, ErrNoKey):
			secret = fresh
			return tx.Put(secretKey, fresh)
		case err != nil:
			return err
		}
		secret = old
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("the authentication secret: %w", err)
	}
	return secret, nil
}
