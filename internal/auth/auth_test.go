package auth_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/spartan-messenger/spartan/internal/auth"
)

func authority(tb testing.TB, secret []byte, now *time.Time) *auth.Authority {
	tb.Helper()
	a, err := auth.New(secret, auth.Options{Now: func() time.Time { return *now }})
	if err != nil {
		tb.Fatal(err)
	}
	return a
}

// TestTokens: a token proves its user on any authority of the same secret,
// until it expires; anything altered, or from another secret, is refused.
func TestTokens(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	secret := bytes.Repeat([]byte{7}, auth.SecretSize)
	a, b := authority(t, secret, &now), authority(t, secret, &now)
	other := authority(t, bytes.Repeat([]byte{8}, auth.SecretSize), &now)
	token, until := a.Token("alice")
	if !until.Equal(now.Add(time.Hour)) {
		t.Errorf("good until %v, want an hour on", until)
	}
	if user, err := b.User(token); err != nil || user != "alice" {
		t.Fatalf("another node: %q, %v", user, err)
	}
	flipped := []byte(token)
	flipped[len(flipped)-3] ^= 1
	for name, tok := range map[string]string{
		"another secret's": "", "altered": string(flipped), "empty": "", "no version": strings.TrimPrefix(token, "v1."),
		"not base64": "v1.!!!", "short": "v1.AAAA",
	} {
		check := a
		if name == "another secret's" {
			check, tok = other, token
		}
		if _, err := check.User(tok); !errors.Is(err, auth.ErrInvalid) {
			t.Errorf("%s token: %v, want ErrInvalid", name, err)
		}
	}
	now = now.Add(time.Hour + time.Second)
	if _, err := a.User(token); !errors.Is(err, auth.ErrExpired) {
		t.Errorf("an hour later: %v, want ErrExpired", err)
	}
}

// TestChallenges: a challenge is good for its user, a minute, on any node.
func TestChallenges(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	secret := bytes.Repeat([]byte{7}, auth.SecretSize)
	a, b := authority(t, secret, &now), authority(t, secret, &now)
	ch, err := a.Challenge("alice")
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := a.Challenge("alice"); bytes.Equal(ch, again) {
		t.Error("two challenges are equal: they must be fresh")
	}
	if err := b.CheckChallenge("alice", ch); err != nil {
		t.Fatalf("another node: %v", err)
	}
	if err := a.CheckChallenge("bob", ch); !errors.Is(err, auth.ErrInvalid) {
		t.Errorf("alice's challenge for bob: %v, want ErrInvalid", err)
	}
	if err := a.CheckChallenge("alice", ch[:20]); !errors.Is(err, auth.ErrInvalid) {
		t.Errorf("a cut challenge: %v, want ErrInvalid", err)
	}
	now = now.Add(time.Minute + time.Second)
	if err := a.CheckChallenge("alice", ch); !errors.Is(err, auth.ErrExpired) {
		t.Errorf("a minute later: %v, want ErrExpired", err)
	}
	if _, err := auth.New([]byte("short"), auth.Options{}); err == nil {
		t.Error("a short secret was taken")
	}
}

// FuzzUser: no token, however malformed, panics the parser or proves a user
// it was not issued for.
func FuzzUser(f *testing.F) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	a := authority(f, bytes.Repeat([]byte{7}, auth.SecretSize), &now)
	token, _ := a.Token("alice")
	for _, seed := range []string{token, "", "v1.", "v1.AAAA", "Bearer x", token + "x"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, tok string) {
		user, err := a.User(tok)
		if err == nil && (user != "alice" || tok != token) { // one spelling: Strict base64
			t.Fatalf("%q proves %q", tok, user)
		}
	})
}
