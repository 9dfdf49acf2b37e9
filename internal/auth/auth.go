// Package auth proves who calls (docs/SECURITY.md, "Authentication"): a
// user signs a fresh challenge with the Ed25519 key their client keeps
// beside the encryption key, and gets a short-lived session token, which
// every later call carries as "Authorization: Bearer <token>". Challenges
// and tokens are MACs under a secret every node of a cluster shares, so any
// node checks what another issued, and none keeps them.
package auth

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"
)

// SecretSize is the size of the shared secret.
const SecretSize = 32

// Errors of the checks; the interceptor and handlers say them as Unauthenticated.
var (
	// ErrExpired is a challenge or token past its time.
	ErrExpired = errors.New("expired")
	// ErrInvalid is a challenge or token this server did not issue, or issued for another user.
	ErrInvalid = errors.New("not one this server issued")
)

// tokenPrefix starts every token: its format's version.
const tokenPrefix = "v1."

// Authority issues and checks challenges and session tokens.
type Authority struct {
	secret       []byte
	tokenTTL     time.Duration
	challengeTTL time.Duration
	now          func() time.Time
}

// Options tune an Authority; zero fields take the defaults.
type Options struct {
	// TokenTTL is how long a session token is good for (default 1h).
	TokenTTL time.Duration
	// ChallengeTTL is how long a challenge may wait for its signature
	// (default 1m).
	ChallengeTTL time.Duration
	// Now tells the time (default time.Now).
	Now func() time.Time
}

// New returns an Authority over secret (SecretSize bytes, the same on
// every node).
func New(secret []byte, opts Options) (*Authority, error) {
	if len(secret) != SecretSize {
		return nil, fmt.Errorf("the authentication secret is %d bytes, not %d", len(secret), SecretSize)
	}
	if opts.TokenTTL <= 0 {
		opts.TokenTTL = time.Hour
	}
	if opts.ChallengeTTL <= 0 {
		opts.ChallengeTTL = time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Authority{secret: bytes.Clone(secret), tokenTTL: opts.TokenTTL, challengeTTL: opts.ChallengeTTL, now: opts.Now}, nil
}

// NewSecret makes a random secret.
func NewSecret() ([]byte, error) {
	s := make([]byte, SecretSize)
	if _, err := rand.Read(s); err != nil {
		return nil, fmt.Errorf("make the authentication secret: %w", err)
	}
	return s, nil
}

// mac is the MAC of the parts, each after its length, under purpose.
func (a *Authority) mac(purpose string, parts ...[]byte) []byte {
	h := hmac.New(sha256.New, a.secret)
	h.Write([]byte(purpose))
	for _, p := range parts {
		h.Write(binary.BigEndian.AppendUint32(nil, uint32(len(p))))
		h.Write(p)
	}
	return h.Sum(nil)
}

// expiry encodes a time as 8 bytes.
func expiry(t time.Time) []byte { return binary.BigEndian.AppendUint64(nil, uint64(t.Unix())) }

// Challenge returns a fresh challenge for user: 16 random bytes, its
// expiry (8) and a MAC (32) binding both to user.
func (a *Authority) Challenge(user string) ([]byte, error) {
	nonce := make([]byte, 16)
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("make a challenge: %w", err)
	}
	exp := expiry(a.now().Add(a.challengeTTL))
	out := append(append(nonce, exp...), a.mac("challenge", []byte(user), nonce, exp)...)
	return out, nil
}

// CheckChallenge says whether challenge is one this server (or another node
// of its cluster) gave user, still in time.
func (a *Authority) CheckChallenge(user string, challenge []byte) error {
	if len(challenge) != 16+8+sha256.Size {
		return fmt.Errorf("challenge: %w", ErrInvalid)
	}
	nonce, exp, mac := challenge[:16], challenge[16:24], challenge[24:]
	if !hmac.Equal(mac, a.mac("challenge", []byte(user), nonce, exp)) {
		return fmt.Errorf("challenge: %w", ErrInvalid)
	}
	if a.now().Unix() > int64(binary.BigEndian.Uint64(exp)) {
		return fmt.Errorf("challenge: %w", ErrExpired)
	}
	return nil
}

// SignedMessage is what a client signs to answer challenge as user.
func SignedMessage(user string, challenge []byte) []byte {
	return append([]byte("spartan-auth-v1\x00"+user+"\x00"), challenge...)
}

// Token issues a session token for user and says until when it is good.
func (a *Authority) Token(user string) (string, time.Time) {
	until := a.now().Add(a.tokenTTL).Truncate(time.Second)
	exp := expiry(until)
	raw := append(append([]byte(user), 0), exp...)
	raw = append(raw, a.mac("token", []byte(user), exp)...)
	return tokenPrefix + base64.RawURLEncoding.EncodeToString(raw), until
}

// notBase64URL says r is not of the base64url alphabet.
func notBase64URL(r rune) bool {
	return (r < 'A' || r > 'Z') && (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-' && r != '_'
}

// User checks a session token and returns the user it proves.
func (a *Authority) User(token string) (string, error) {
	user, _, err := a.Session(token)
	return user, err
}

// Session checks a session token and returns the user it proves and how
// long it stays good (by the Authority's clock).
func (a *Authority) Session(token string) (string, time.Duration, error) {
	rest, ok := strings.CutPrefix(token, tokenPrefix)
	// Only the base64url alphabet: the decoder would skip a newline, and a
	// token must have one spelling.
	if !ok || strings.ContainsFunc(rest, notBase64URL) {
		return "", 0, fmt.Errorf("session token: %w", ErrInvalid)
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(rest)
	if err != nil || len(raw) < 1+8+sha256.Size {
		return "", 0, fmt.Errorf("session token: %w", ErrInvalid)
	}
	body, mac := raw[:len(raw)-sha256.Size], raw[len(raw)-sha256.Size:]
	user, exp := body[:len(body)-9], body[len(body)-8:]
	if body[len(body)-9] != 0 || !hmac.Equal(mac, a.mac("token", user, exp)) {
		return "", 0, fmt.Errorf("session token: %w", ErrInvalid)
	}
	// Good through its last second: refused from the next one on.
	end := time.Unix(int64(binary.BigEndian.Uint64(exp))+1, 0)
	left := end.Sub(a.now())
	if left <= 0 {
		return "", 0, fmt.Errorf("session token: %w", ErrExpired)
	}
	return string(user), left, nil
}
