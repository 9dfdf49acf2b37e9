// Package e2e is Spartan Messenger's end-to-end encryption scheme, version
// 1: what a client does to a message so that the server stores and
// forwards only ciphertext. Only primitives WebCrypto also has: X25519 for
// the pair's shared secret, HKDF-SHA256 to make it a key, AES-256-GCM for
// each message with a fresh 96-bit nonce and, as associated data, the
// sender, the receiver, the group and the client's message id (so a
// ciphertext cannot be replayed under another name or id). testdata/e2e
// holds vectors that the Go and the Python implementations both check.
package e2e

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// Version is the scheme's version, the first byte of every payload.
const Version byte = 1

// NonceSize and KeySize are AES-256-GCM's.
const (
	NonceSize = 12
	KeySize   = 32
	// Overhead is what a payload adds to its plaintext: the version byte,
	// the nonce and GCM's 16-byte tag.
	Overhead = 1 + NonceSize + 16
)

// salt and label fix the key derivation of version 1.
const (
	salt  = "spartan-e2e-v1"
	label = "spartan-e2e-v1 pair"
)

// Errors of Open.
var (
	// ErrUnknownScheme: the payload is of a version this code does not know.
	ErrUnknownScheme = errors.New("the message uses an encryption scheme this client does not know")
	// ErrNotAuthentic: the payload was altered, or sealed with another key
	// or for other names or id.
	ErrNotAuthentic = errors.New("the message could not be decrypted: altered, or sealed with another key")
)

// AD is what a message's ciphertext is bound to besides its key.
type AD struct {
	Sender, Receiver, Group, ClientMsgID string
}

// bytes is the associated data: the version's label and the fields, each
// after a NUL (names and ids never hold one).
func (a AD) bytes() []byte {
	return []byte(strings.Join([]string{salt, a.Sender, a.Receiver, a.Group, a.ClientMsgID}, "\x00"))
}

// GenerateKey makes an identity key pair.
func GenerateKey() (*ecdh.PrivateKey, error) {
	k, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("make an identity key: %w", err)
	}
	return k, nil
}

// PairKey is the key two users share: HKDF-SHA256 of their X25519 secret,
// with both names, in sorted order, in the info, so both derive the same.
func PairKey(mine *ecdh.PrivateKey, theirs *ecdh.PublicKey, me, them string) ([]byte, error) {
	secret, err := mine.ECDH(theirs)
	if err != nil {
		return nil, fmt.Errorf("X25519 with %s's key: %w", them, err)
	}
	a, b := me, them
	if a > b {
		a, b = b, a
	}
	key, err := hkdf.Key(sha256.New, secret, []byte(salt), label+"\x00"+a+"\x00"+b, KeySize)
	if err != nil {
		return nil, fmt.Errorf("derive the key of %s and %s: %w", a, b, err)
	}
	return key, nil
}

// Seal encrypts plaintext under key for ad. nonce is nil for a fresh
// random one (always, but in test vectors).
func Seal(key, nonce, plaintext []byte, ad AD) ([]byte, error) {
	gcm, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	if nonce == nil {
		nonce = make([]byte, NonceSize)
		if _, err := rand.Read(nonce); err != nil {
			return nil, fmt.Errorf("make a nonce: %w", err)
		}
	}
	if len(nonce) != NonceSize {
		return nil, fmt.Errorf("a nonce is %d bytes, not %d", NonceSize, len(nonce))
	}
	out := make([]byte, 0, Overhead+len(plaintext))
	out = append(out, Version)
	out = append(out, nonce...)
	return gcm.Seal(out, nonce, plaintext, ad.bytes()), nil
}

// Open decrypts a payload made by Seal with the same key and ad.
func Open(key, payload []byte, ad AD) ([]byte, error) {
	if len(payload) == 0 || payload[0] != Version {
		return nil, ErrUnknownScheme
	}
	if len(payload) < Overhead {
		return nil, ErrNotAuthentic
	}
	gcm, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	nonce := payload[1 : 1+NonceSize]
	plain, err := gcm.Open(nil, nonce, payload[1+NonceSize:], ad.bytes())
	if err != nil {
		return nil, ErrNotAuthentic
	}
	return plain, nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("a key is %d bytes, not %d", KeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("AES: %w", err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("GCM: %w", err)
	}
	return gcm, nil
}

// Fingerprint is a short, readable digest of a public key for people to
// compare: the first 10 bytes of its SHA-256, in five groups of four hex
// digits.
func Fingerprint(pub *ecdh.PublicKey) string {
	sum := sha256.Sum256(pub.Bytes())
	h := hex.EncodeToString(sum[:10])
	return strings.Join([]string{h[0:4], h[4:8], h[8:12], h[12:16], h[16:20]}, " ")
}

// Group posts (docs/SECURITY.md): each member seals what it posts to a
// group with a sender key of its own, which it sends every other member
// over their pair's channel (Seal); the key changes whenever the members do.

// GroupVersion is the first byte of a group post's payload.
const GroupVersion byte = 2

// KeyIDSize is the size of a sender key's id, which a post names its key by.
const KeyIDSize = 8

// GroupOverhead is what a group post's payload adds to its plaintext: the
// version byte, the key's id, the nonce and GCM's tag.
const GroupOverhead = 1 + KeyIDSize + NonceSize + 16

// SenderKey is one member's key for its posts to one group.
type SenderKey struct {
	ID  []byte `json:"id"`
	Key []byte `json:"key"`
}

// NewSenderKey makes a sender key: a random AES-256 key and a random id.
func NewSenderKey() (SenderKey, error) {
	k := SenderKey{ID: make([]byte, KeyIDSize), Key: make([]byte, KeySize)}
	if _, err := rand.Read(k.ID); err != nil {
		return SenderKey{}, fmt.Errorf("make a sender key: %w", err)
	}
	if _, err := rand.Read(k.Key); err != nil {
		return SenderKey{}, fmt.Errorf("make a sender key: %w", err)
	}
	return k, nil
}

// SealGroup encrypts a post under sender key k for ad (whose Receiver is
// empty: one payload serves every member). nonce is nil for a fresh random
// one (always, but in test vectors).
func SealGroup(k SenderKey, nonce, plaintext []byte, ad AD) ([]byte, error) {
	if len(k.ID) != KeyIDSize {
		return nil, fmt.Errorf("a sender key's id is %d bytes, not %d", KeyIDSize, len(k.ID))
	}
	inner, err := Seal(k.Key, nonce, plaintext, ad)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, 1+KeyIDSize+len(inner)-1)
	out = append(out, GroupVersion)
	out = append(out, k.ID...)
	return append(out, inner[1:]...), nil
}

// GroupKeyID returns the id of the sender key a group post was sealed
// with; ErrUnknownScheme for a payload that is not a group post.
func GroupKeyID(payload []byte) ([]byte, error) {
	if len(payload) == 0 || payload[0] != GroupVersion {
		return nil, ErrUnknownScheme
	}
	if len(payload) < GroupOverhead {
		return nil, ErrNotAuthentic
	}
	return payload[1 : 1+KeyIDSize], nil
}

// OpenGroup decrypts a group post sealed with the sender key key.
func OpenGroup(key, payload []byte, ad AD) ([]byte, error) {
	if _, err := GroupKeyID(payload); err != nil {
		return nil, err
	}
	inner := append([]byte{Version}, payload[1+KeyIDSize:]...)
	return Open(key, inner, ad)
}
