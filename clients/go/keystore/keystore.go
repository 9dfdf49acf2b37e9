// Package keystore is what a Spartan client keeps on the user's disk for
// end-to-end encryption: the user's identity key, the contacts' keys
// trusted on first use, and the messages that wait for a receiver's key.
// The files are the ones docs/SECURITY.md describes, shared with the Python
// client: JSON, mode 0600, in a directory of mode 0700, each written whole
// to a temporary file and renamed over the old one.
package keystore

import (
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spartan-messenger/spartan/clients/go/e2e"
)

// The files of a key directory.
const (
	identityFile = "identity.json"
	contactsFile = "contacts.json"
	outboxFile   = "outbox.json"
	formatV1     = 1
)

// DefaultDir is the key directory of user on server when no flag names
// one: <config dir>/spartan/<server>/<user>, with server's characters other
// than letters, digits, '.' and '-' made '_'.
func DefaultDir(server, user string) (string, error) {
	base, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("find your config directory for the encryption keys (use -key-dir): %w", err)
	}
	return filepath.Join(base, "spartan", safeName(server), safeName(user)), nil
}

// safeName makes s one path element: letters, digits, '.' and '-' stay,
// anything else becomes '_', as does every dot of a name of dots only ("",
// "." and ".." are no names).
func safeName(s string) string {
	if strings.Trim(s, ".") == "" {
		return "_" + strings.Repeat("_", len(s))
	}
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-':
			return r
		}
		return '_'
	}, s)
}

// Store is one key directory, open for one user. It is safe for concurrent
// use.
type Store struct {
	dir    string
	user   string
	key    *ecdh.PrivateKey
	signer ed25519.PrivateKey

	mu       sync.Mutex
	contacts map[string]Contact
	outbox   []Waiting
	groups   map[string]GroupState // read on first use
}

// Contact is a contact's key as recorded.
type Contact struct {
	// PublicKey is the key trusted now.
	PublicKey []byte `json:"public_key"`
	// FirstSeen is when a key of the contact was first recorded.
	FirstSeen time.Time `json:"first_seen"`
	// PreviousKeys are the keys it replaced, newest first.
	PreviousKeys [][]byte `json:"previous_keys,omitempty"`
}

// Waiting is a message that waits for its receiver's key.
type Waiting struct {
	To          string `json:"to"`
	ClientMsgID string `json:"client_msg_id"`
	Text        string `json:"text"`
}

// identity is identity.json.
type identity struct {
	Version    int    `json:"version"`
	User       string `json:"user"`
	PrivateKey []byte `json:"private_key"`
	PublicKey  []byte `json:"public_key"`
	// SigningKey is the seed of the Ed25519 key the user logs in with,
	// SigningPublicKey its public half. Files from before logging in
	// existed lack them; they are added, the rest kept.
	SigningKey       []byte `json:"signing_key,omitempty"`
	SigningPublicKey []byte `json:"signing_public_key,omitempty"`
}

// contacts is contacts.json.
type contacts struct {
	Version  int                `json:"version"`
	Contacts map[string]Contact `json:"contacts"`
}

// outbox is outbox.json.
type outbox struct {
	Version  int       `json:"version"`
	Messages []Waiting `json:"messages"`
}

// Open opens the key directory dir for user, making it and the user's
// identity key on first use. created says the key is new.
func Open(dir, user string) (s *Store, created bool, err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, false, fmt.Errorf("make the key directory: %w", err)
	}
	s = &Store{dir: dir, user: user, contacts: map[string]Contact{}}
	if s.key, s.signer, created, err = s.loadIdentity(); err != nil {
		return nil, false, err
	}
	if err := s.reloadContacts(); err != nil {
		return nil, false, err
	}
	if err := s.reloadOutbox(); err != nil {
		return nil, false, err
	}
	return s, created, nil
}

// reloadContacts reads contacts.json again: another client of the user
// (the Python one, say) may have changed it. Every change starts with it.
func (s *Store) reloadContacts() error {
	var c contacts
	if _, err := s.read(contactsFile, &c); err != nil {
		return err
	}
	s.contacts = c.Contacts
	if s.contacts == nil {
		s.contacts = map[string]Contact{}
	}
	return nil
}

// reloadOutbox reads outbox.json again, as reloadContacts.
func (s *Store) reloadOutbox() error {
	var o outbox
	if _, err := s.read(outboxFile, &o); err != nil {
		return err
	}
	s.outbox = o.Messages
	return nil
}

// Dir is the key directory.
func (s *Store) Dir() string { return s.dir }

// Key is the user's identity key.
func (s *Store) Key() *ecdh.PrivateKey { return s.key }

// Signer is the Ed25519 key the user logs in with.
func (s *Store) Signer() ed25519.PrivateKey { return s.signer }

// loadIdentity reads identity.json, or makes it when there is none. A file
// that is there but wrong is an error: replacing it would change the user's
// key behind their back. A file without a signing key gets one.
func (s *Store) loadIdentity() (*ecdh.PrivateKey, ed25519.PrivateKey, bool, error) {
	var id identity
	found, err := s.read(identityFile, &id)
	switch {
	case err != nil:
		return nil, nil, false, err
	case !found:
		key, err := e2e.GenerateKey()
		if err != nil {
			return nil, nil, false, err
		}
		id = identity{Version: formatV1, User: s.user, PrivateKey: key.Bytes(), PublicKey: key.PublicKey().Bytes()}
	case id.Version != formatV1:
		return nil, nil, false, fmt.Errorf("%s is of version %d; this client knows version %d", s.path(identityFile), id.Version, formatV1)
	case id.User != s.user:
		return nil, nil, false, fmt.Errorf("%s is the key of %q, not of %q", s.path(identityFile), id.User, s.user)
	}
	key, err := ecdh.X25519().NewPrivateKey(id.PrivateKey)
	if err != nil {
		return nil, nil, false, fmt.Errorf("%s: the private key: %w", s.path(identityFile), err)
	}
	if !slices.Equal(key.PublicKey().Bytes(), id.PublicKey) {
		return nil, nil, false, fmt.Errorf("%s: the public key is not the private key's", s.path(identityFile))
	}
	if id.SigningKey == nil {
		_, signer, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, nil, false, fmt.Errorf("make a signing key: %w", err)
		}
		id.SigningKey, id.SigningPublicKey = signer.Seed(), signer.Public().(ed25519.PublicKey)
		if err := s.write(identityFile, id); err != nil {
			return nil, nil, false, err
		}
	}
	if len(id.SigningKey) != ed25519.SeedSize {
		return nil, nil, false, fmt.Errorf("%s: the signing key is %d bytes, not %d", s.path(identityFile), len(id.SigningKey), ed25519.SeedSize)
	}
	signer := ed25519.NewKeyFromSeed(id.SigningKey)
	if !slices.Equal([]byte(signer.Public().(ed25519.PublicKey)), id.SigningPublicKey) {
		return nil, nil, false, fmt.Errorf("%s: the signing public key is not the signing key's", s.path(identityFile))
	}
	return key, signer, !found, nil
}

// Contact returns the key recorded for user.
func (s *Store) Contact(user string) (Contact, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.contacts[user]
	return c, ok
}

// Trust records key as user's, trusting the first key seen (TOFU). It
// returns the key it replaces, nil if none did (a first key, or the same).
func (s *Store) Trust(user string, key []byte, now time.Time) (replaced []byte, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.reloadContacts(); err != nil {
		return nil, err
	}
	c, ok := s.contacts[user]
	switch {
	case ok && slices.Equal(c.PublicKey, key):
		return nil, nil
	case ok:
		replaced = c.PublicKey
		c.PreviousKeys = append([][]byte{c.PublicKey}, slices.DeleteFunc(c.PreviousKeys, func(k []byte) bool { return slices.Equal(k, key) })...)
		c.PublicKey = key
	default:
		c = Contact{PublicKey: key, FirstSeen: now.UTC().Truncate(time.Second)}
	}
	next := maps.Clone(s.contacts)
	next[user] = c
	if err := s.write(contactsFile, contacts{Version: formatV1, Contacts: next}); err != nil {
		return nil, err
	}
	s.contacts = next
	return replaced, nil
}

// Waiting returns the messages that wait for to's key, in the order typed
// ("" for everyone's).
func (s *Store) Waiting(to string) []Waiting {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Waiting
	for _, w := range s.outbox {
		if to == "" || w.To == to {
			out = append(out, w)
		}
	}
	return out
}

// Hold adds w to the messages that wait for a key, on disk before it
// returns.
func (s *Store) Hold(w Waiting) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.reloadOutbox(); err != nil {
		return err
	}
	return s.setOutbox(append(slices.Clip(s.outbox), w))
}

// Release removes the waiting message of id: it has been sent.
func (s *Store) Release(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.reloadOutbox(); err != nil {
		return err
	}
	return s.setOutbox(slices.DeleteFunc(slices.Clone(s.outbox), func(w Waiting) bool { return w.ClientMsgID == id }))
}

func (s *Store) setOutbox(msgs []Waiting) error {
	if err := s.write(outboxFile, outbox{Version: formatV1, Messages: msgs}); err != nil {
		return err
	}
	s.outbox = msgs
	return nil
}

func (s *Store) path(name string) string { return filepath.Join(s.dir, name) }

// read decodes the file name into v and says whether there was one.
func (s *Store) read(name string, v any) (bool, error) {
	b, err := os.ReadFile(s.path(name))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read %s: %w", s.path(name), err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, fmt.Errorf("%s is not a file this client wrote: %w", s.path(name), err)
	}
	return true, nil
}

// write replaces the file name with v, whole: a crash leaves the old file
// or the new one.
func (s *Store) write(name string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", name, err)
	}
	f, err := os.CreateTemp(s.dir, "."+name+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", s.path(name), err)
	}
	tmp := f.Name()
	defer func() { _ = os.Remove(tmp) }() // after a successful rename, there is nothing to remove
	_, err = f.Write(append(b, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, s.path(name))
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", s.path(name), err)
	}
	return nil
}
