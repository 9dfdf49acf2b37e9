package spartan_test

import (
	"errors"
	"testing"

	spartan "github.com/spartan-messenger/spartan/clients/go"
	"github.com/spartan-messenger/spartan/clients/go/e2e"
	"github.com/spartan-messenger/spartan/clients/go/keystore"
	spartanv1 "github.com/spartan-messenger/spartan/gen/spartan/v1"
	"github.com/spartan-messenger/spartan/internal/servertest"
)

// user is one side of an encrypted chat in these tests.
type user struct {
	c       *spartan.Client
	x       *spartan.Crypto
	changes []spartan.KeyChange
	posts   []*spartanv1.Message // group posts received (member)
}

// newUser opens user's keys in dir and publishes them on the server.
func newUser(tb testing.TB, addr, name, dir string) *user {
	tb.Helper()
	ks, _, err := keystore.Open(dir, name)
	if err != nil {
		tb.Fatal(err)
	}
	u := &user{c: spartan.New(addr, name)}
	u.x = spartan.NewCrypto(u.c, ks, func(k spartan.KeyChange) { u.changes = append(u.changes, k) })
	if err := u.x.Publish(tb.Context()); err != nil {
		tb.Fatal(err)
	}
	return u
}

// sealed sends text from u to "to" and returns the message as History has it.
func (u *user) sealed(tb testing.TB, to, text string) *spartanv1.Message {
	tb.Helper()
	if _, err := u.x.SendText(tb.Context(), to, text, spartan.NewMessageID()); err != nil {
		tb.Fatalf("send %q: %v", text, err)
	}
	msgs, _, err := u.c.History(tb.Context(), to, 0, 1)
	if err != nil || len(msgs) != 1 {
		tb.Fatalf("history: %v %v", msgs, err)
	}
	return msgs[0]
}

// TestCryptoOpens: what alice seals opens for bob, and for alice (her own
// history); the server holds no plaintext; anything altered, readdressed or
// of another scheme is refused with the right error; plaintext is marked.
func TestCryptoOpens(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, servertest.Config())
	alice := newUser(t, srv.Addr, "alice", t.TempDir())
	bob := newUser(t, srv.Addr, "bob", t.TempDir())
	if _, err := alice.c.RequestChat(t.Context(), "bob"); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.c.AnswerChat(t.Context(), "alice", true); err != nil {
		t.Fatal(err)
	}
	m := alice.sealed(t, "bob", "secret words")
	if m.GetEncryption() != spartanv1.Encryption_ENCRYPTION_E2E || len(m.GetPayload()) != len("secret words")+e2e.Overhead {
		t.Fatalf("stored as %v, %d bytes; want E2E, %d bytes", m.GetEncryption(), len(m.GetPayload()), len("secret words")+e2e.Overhead)
	}
	for _, u := range []*user{bob, alice} {
		got, err := u.x.Open(t.Context(), m)
		if err != nil || got.Text != "secret words" || got.Plain {
			t.Errorf("%s opens %+v, %v; want the text, encrypted", u.c.User(), got, err)
		}
	}

	altered := func(f func(m *spartanv1.Message)) *spartanv1.Message {
		c := &spartanv1.Message{
			Sender: m.GetSender(), Receiver: m.GetReceiver(), Encryption: m.GetEncryption(),
			Payload: append([]byte(nil), m.GetPayload()...), ClientMsgId: m.GetClientMsgId(),
		}
		f(c)
		return c
	}
	tests := []struct {
		name string
		m    *spartanv1.Message
		want error
	}{
		{"a flipped bit", altered(func(m *spartanv1.Message) { m.Payload[len(m.Payload)-1] ^= 1 }), e2e.ErrNotAuthentic},
		{"cut short", altered(func(m *spartanv1.Message) { m.Payload = m.Payload[:10] }), e2e.ErrNotAuthentic},
		{"another id", altered(func(m *spartanv1.Message) { m.ClientMsgId = "other" }), e2e.ErrNotAuthentic},
		{"claimed for a group", altered(func(m *spartanv1.Message) { m.Group = "g" }), e2e.ErrUnknownScheme},
		{"scheme 2", altered(func(m *spartanv1.Message) { m.Payload[0] = 2 }), e2e.ErrUnknownScheme},
		{"empty", altered(func(m *spartanv1.Message) { m.Payload = nil }), e2e.ErrUnknownScheme},
		{"encryption 99", altered(func(m *spartanv1.Message) { m.Encryption = 99 }), e2e.ErrUnknownScheme},
		{"from a user without a key", altered(func(m *spartanv1.Message) { m.Sender = "charlie" }), spartan.ErrNoKey},
	}
	for _, tt := range tests {
		if got, err := bob.x.Open(t.Context(), tt.m); !errors.Is(err, tt.want) {
			t.Errorf("%s: Open = %+v, %v; want %v", tt.name, got, err, tt.want)
		}
	}
	plain := altered(func(m *spartanv1.Message) {
		m.Encryption, m.Payload = spartanv1.Encryption_ENCRYPTION_PLAINTEXT, []byte("hi")
	})
	if got, err := bob.x.Open(t.Context(), plain); err != nil || got.Text != "hi" || !got.Plain {
		t.Errorf("plaintext: Open = %+v, %v; want hi, marked plain", got, err)
	}
	if _, err := alice.x.SendText(t.Context(), "charlie", "hi", spartan.NewMessageID()); !errors.Is(err, spartan.ErrNoKey) {
		t.Errorf("send to a user without a key: %v, want ErrNoKey", err)
	}
}

// TestCryptoKeyChange: bob makes a new key; alice is told once, with both
// keys, and still opens what bob sealed under his old one.
func TestCryptoKeyChange(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, servertest.Config())
	alice := newUser(t, srv.Addr, "alice", t.TempDir())
	oldBob := newUser(t, srv.Addr, "bob", t.TempDir())
	if _, err := oldBob.c.RequestChat(t.Context(), "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.c.AnswerChat(t.Context(), "bob", true); err != nil {
		t.Fatal(err)
	}
	before := oldBob.sealed(t, "alice", "under the old key")
	if got, err := alice.x.Open(t.Context(), before); err != nil || got.Text != "under the old key" {
		t.Fatalf("Open = %+v, %v", got, err)
	}
	newBob := newUser(t, srv.Addr, "bob", t.TempDir()) // bob lost his key directory
	after := newBob.sealed(t, "alice", "under the new key")
	// alice has not heard of the change: opening finds it.
	if got, err := alice.x.Open(t.Context(), after); err != nil || got.Text != "under the new key" {
		t.Fatalf("Open after the change = %+v, %v", got, err)
	}
	if len(alice.changes) != 1 || alice.changes[0].User != "bob" {
		t.Fatalf("changes reported: %+v, want one, bob's", alice.changes)
	}
	if got, err := alice.x.Open(t.Context(), before); err != nil || got.Text != "under the old key" {
		t.Errorf("the old message after the change: Open = %+v, %v", got, err)
	}
	if _, err := alice.x.Refresh(t.Context(), "bob"); err != nil || len(alice.changes) != 1 {
		t.Errorf("Refresh with no change: %v, %d changes; want nil, still 1", err, len(alice.changes))
	}
}
