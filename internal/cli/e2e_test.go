package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	spartan "github.com/spartan-messenger/spartan/clients/go"
	spartanv1 "github.com/spartan-messenger/spartan/gen/spartan/v1"
	"github.com/spartan-messenger/spartan/internal/config"
	"github.com/spartan-messenger/spartan/internal/servertest"
)

// chattingWithPeer makes alice and bob accept each other, bob a peer with
// a key, and alice's CLI chat with him.
func chattingWithPeer(tb testing.TB, addr string) (*session, *peer) {
	tb.Helper()
	chatting(tb, addr, "alice", "bob")
	bob := newPeer(tb, addr, "bob")
	alice := startCLI(tb, "alice", "-server", addr)
	alice.typeLine(tb, "bob")
	alice.screen.Expect(tb, wait, "[alice] > ")
	return alice, bob
}

// TestKeyChangeWarning: when bob comes back with another key, alice's CLI
// warns loudly, with both fingerprints, and then reads what he sends.
func TestKeyChangeWarning(t *testing.T) {
	t.Parallel()
	addr, _ := startServer(t)
	alice, old := chattingWithPeer(t, addr)
	old.say(t, "alice", "first")
	alice.screen.Expect(t, wait, "[bob] first\n")
	alice.typeLine(t, "/whois bob")
	alice.screen.Expect(t, wait, "[Spartan] bob's key fingerprint: "+old.crypto.Fingerprint()+" (first seen ")

	renewed := newPeer(t, addr, "bob") // a new key directory: a new key
	alice.screen.Expect(t, wait, "[Spartan] WARNING: bob's encryption key has changed (was "+old.crypto.Fingerprint()+", now "+renewed.crypto.Fingerprint()+
		"). bob may have set up Spartan again, or someone may be trying to read your messages: compare fingerprints with bob (/whois bob) before you share anything secret.\n")
	renewed.say(t, "alice", "second")
	alice.screen.Expect(t, wait, "[bob] second\n")
	alice.typeLine(t, "/history 2") // the first, sealed under the old key, still opens
	alice.screen.Expect(t, wait, "The last 2 messages with bob:\n[bob] first\n[bob] second\n")
	if n := strings.Count(alice.screen.String(), "WARNING"); n != 1 {
		t.Errorf("%d warnings, want 1:\n%s", n, alice.screen)
	}
}

// TestKeyChangedWhileApart: a key on file from before is checked when the
// chat opens; bob's new key, made while the two did not chat (nobody was
// told), is warned of and used, so bob reads what alice sends.
func TestKeyChangedWhileApart(t *testing.T) {
	t.Parallel()
	keys := t.TempDir()
	first, _ := startServer(t)
	chatting(t, first, "alice", "bob")
	old := newPeer(t, first, "bob")
	alice := startCLI(t, "alice", "-server", first, "-key-dir", keys)
	alice.typeLine(t, "bob")
	alice.screen.Expect(t, wait, "[alice] > ")
	old.say(t, "alice", "before")
	alice.screen.Expect(t, wait, "[bob] before\n")
	alice.typeLine(t, "/quit")
	alice.wantExit(t, 0)

	// Another server, where bob set up again, with a new key, before the
	// two chat there: no KEY_PUBLISHED reaches alice.
	second, _ := startServer(t)
	renewed := newPeer(t, second, "bob")
	alice = startCLI(t, "alice", "-server", second, "-key-dir", keys)
	alice.typeLine(t, "bob")
	alice.screen.Expect(t, wait, "[Spartan] WARNING: bob's encryption key has changed (was "+old.crypto.Fingerprint()+", now "+renewed.crypto.Fingerprint()+")")
	alice.typeLine(t, "after")
	if _, err := renewed.AnswerChat(t.Context(), "alice", true); err != nil {
		t.Fatal(err)
	}
	wantTexts(t, renewed.texts(t), "[alice] after")
}

// TestUnreadableMessagesWarnInPlace: a tampered payload, an unknown scheme,
// an unknown encryption and plaintext each show as a clear line, and the
// CLI carries on to the next message.
func TestUnreadableMessagesWarnInPlace(t *testing.T) {
	t.Parallel()
	addr, _ := startServer(t)
	alice, bob := chattingWithPeer(t, addr)

	send := func(payload []byte, enc spartanv1.Encryption) {
		t.Helper()
		req := &spartanv1.SendMsgRequest{Receiver: "alice", Payload: payload, Encryption: enc, ClientMsgId: spartan.NewMessageID()}
		if _, err := bob.Send(t.Context(), req); err != nil {
			t.Fatal(err)
		}
	}
	// A genuine message, then the same bytes altered in flight.
	bob.say(t, "alice", "genuine")
	msgs, _, err := bob.History(t.Context(), "alice", 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	tampered := append([]byte(nil), msgs[0].GetPayload()...)
	tampered[20] ^= 0x40
	send(tampered, spartanv1.Encryption_ENCRYPTION_E2E)
	send(append([]byte{9}, tampered[1:]...), spartanv1.Encryption_ENCRYPTION_E2E)
	send(tampered, 42)
	send([]byte("plain words"), spartanv1.Encryption_ENCRYPTION_UNSPECIFIED)
	bob.say(t, "alice", "still fine")
	alice.screen.Expect(t, wait,
		"[bob] genuine\n",
		"[Spartan] WARNING: a message from bob could not be decrypted: it was altered, or sealed with another key.\n",
		"[Spartan] WARNING: a message from bob uses an encryption scheme this client does not know; update Spartan to read it.\n",
		"[Spartan] WARNING: a message from bob uses an encryption scheme this client does not know; update Spartan to read it.\n",
		"[bob] (not encrypted) plain words\n",
		"[bob] still fine\n")
	alice.typeLine(t, "still here")
	if got := <-bob.texts(t); got != "[alice] still here" {
		t.Errorf("bob received %q", got)
	}
}

// TestHeldMessagesSurviveARestart: messages typed for a user without a key
// stay on disk when the CLI quits, are told of at the next start, and go,
// in order, once the user has a key.
func TestHeldMessagesSurviveARestart(t *testing.T) {
	t.Parallel()
	addr, _ := startServer(t)
	keys := t.TempDir()
	alice := startCLI(t, "alice", "-server", addr, "-key-dir", keys)
	alice.typeLine(t, "bob")
	alice.screen.Expect(t, wait, "[Spartan] bob has not set up encryption yet; your messages will be sent when bob connects.\n")
	alice.typeLine(t, "one")
	alice.typeLine(t, "two")
	alice.typeLine(t, "/quit")
	alice.wantExit(t, 0)
	alice.screen.Lacks(t, "not sent") // kept, not lost
	b, err := os.ReadFile(filepath.Join(keys, "outbox.json"))
	if err != nil || !strings.Contains(string(b), `"text": "two"`) {
		t.Fatalf("outbox.json: %s, %v; want the two messages", b, err)
	}

	alice = startCLI(t, "alice", "-server", addr, "-key-dir", keys)
	alice.screen.Expect(t, wait, "[Spartan] 2 messages to bob wait until bob sets up encryption.\n")
	bob := newPeer(t, addr, "bob")
	alice.screen.Expect(t, wait, "[Spartan] bob has set up encryption; sent 2 waiting messages.\n")
	if _, err := bob.AnswerChat(t.Context(), "alice", true); err != nil {
		t.Fatal(err)
	}
	wantTexts(t, bob.texts(t), "[alice] one", "[alice] two")
	if b, err := os.ReadFile(filepath.Join(keys, "outbox.json")); err != nil || strings.Contains(string(b), "one") {
		t.Errorf("outbox.json after sending: %s, %v; want it empty", b, err)
	}
}

// TestTooLongForOneMessage: a line that does not fit one message once
// sealed is refused before sending, with both numbers.
func TestTooLongForOneMessage(t *testing.T) {
	t.Parallel()
	cfg := servertest.Config()
	cfg.MaxMessageBytes = 100
	srv := servertest.Start(t, cfg)
	chatting(t, srv.Addr, "alice", "bob")
	bob := newPeer(t, srv.Addr, "bob").texts(t)
	alice := startCLI(t, "alice", "-server", srv.Addr)
	alice.typeLine(t, "bob")
	alice.typeLine(t, strings.Repeat("x", 72))
	alice.screen.Expect(t, wait, "[Spartan] Not sent: the message is 72 bytes; the limit is 71.\n")
	alice.typeLine(t, strings.Repeat("y", 71))
	wantTexts(t, bob, "[alice] "+strings.Repeat("y", 71))
}

// TestWhoisAndABadKeyFile: /whois shows one's own fingerprint, the same in
// every run; a damaged key file stops the CLI with a sentence, untouched.
func TestWhoisAndABadKeyFile(t *testing.T) {
	t.Parallel()
	addr, _ := startServer(t)
	keys := t.TempDir()
	var prints []string
	for range 2 {
		alice := startCLI(t, "alice", "-server", addr, "-key-dir", keys)
		alice.typeLine(t, "/whois")
		alice.screen.Expect(t, wait, "[Spartan] Your key fingerprint: ")
		alice.typeLine(t, "/quit")
		alice.wantExit(t, 0)
		s := alice.screen.String()
		i := strings.Index(s, "Your key fingerprint: ") + len("Your key fingerprint: ")
		prints = append(prints, s[i:i+24])
	}
	if prints[0] != prints[1] || len(strings.Fields(prints[0])) != 5 {
		t.Fatalf("fingerprints %q: want one, of five groups", prints)
	}
	path := filepath.Join(keys, "identity.json")
	if err := os.WriteFile(path, []byte("{oops"), 0o600); err != nil {
		t.Fatal(err)
	}
	alice := startCLI(t, "alice", "-server", addr, "-key-dir", keys)
	alice.screen.Expect(t, wait, "[Spartan] Cannot use your encryption keys: "+path+" is not a file this client wrote")
	alice.wantExit(t, 1)
	if b, _ := os.ReadFile(path); string(b) != "{oops" {
		t.Errorf("the damaged key file was replaced: %q", b)
	}
}

// TestTranscriptWithLogInAndTLS: on a server that requires logging in and
// speaks TLS only, two CLIs started with -tls -ca log in without the users
// noticing and play the brief's transcript.
func TestTranscriptWithLogInAndTLS(t *testing.T) {
	t.Parallel()
	cert, key := servertest.TLSFiles(t)
	cfg := servertest.Config()
	cfg.Auth.Required = true
	cfg.TLS = config.TLS{CertFile: cert, KeyFile: key}
	srv := servertest.Start(t, cfg)
	alice := startCLI(t, "alice", "-server", srv.Addr, "-tls", "-ca", cert)
	alice.screen.Expect(t, wait, "Enter a user whom you want to chat with: ")
	alice.typeLine(t, "bob")
	alice.typeLine(t, "Hey Bob!")
	bob := startCLI(t, "bob", "-server", srv.Addr, "-tls", "-ca", cert)
	bob.screen.Expect(t, wait, "alice is requesting to chat with you. Enter 'yes' to accept or different user: ")
	bob.typeLine(t, "yes")
	bob.screen.Expect(t, wait, "[alice] Hey Bob!\n")
	bob.typeLine(t, "Hi Alice!")
	alice.screen.Expect(t, wait, "[bob] Hi Alice!\n")

	plain := startCLI(t, "charlie", "-server", srv.Addr)
	plain.screen.Expect(t, wait, "[Spartan] Cannot connect to Spartan Server at "+srv.Addr)
	plain.wantExit(t, 1)
	untrusted := startCLI(t, "charlie", "-server", srv.Addr, "-tls")
	untrusted.screen.Expect(t, wait, "[Spartan] Cannot connect to Spartan Server at "+srv.Addr+": the TLS handshake failed (",
		"certificate", "). Is it a TLS server whose certificate you trust (-ca FILE)?\n")
	untrusted.wantExit(t, 1)
}
