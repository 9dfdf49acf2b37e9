package keystore_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spartan-messenger/spartan/clients/go/e2e"
	"github.com/spartan-messenger/spartan/clients/go/keystore"
)

func open(tb testing.TB, dir, user string) (*keystore.Store, bool) {
	tb.Helper()
	s, created, err := keystore.Open(dir, user)
	if err != nil {
		tb.Fatalf("Open(%s, %s): %v", dir, user, err)
	}
	return s, created
}

func mode(tb testing.TB, path string) os.FileMode {
	tb.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		tb.Fatal(err)
	}
	return fi.Mode().Perm()
}

// TestIdentityMadeOnceAndKept: the first Open makes the key, 0600 in a
// 0700 directory; the next finds the same key.
func TestIdentityMadeOnceAndKept(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "spartan", "alice")
	s, created := open(t, dir, "alice")
	if !created {
		t.Fatal("a new directory: created = false")
	}
	if m := mode(t, dir); m != 0o700 {
		t.Errorf("directory mode %o, want 700", m)
	}
	if m := mode(t, filepath.Join(dir, "identity.json")); m != 0o600 {
		t.Errorf("identity.json mode %o, want 600", m)
	}
	again, created := open(t, dir, "alice")
	if created || !again.Key().Equal(s.Key()) {
		t.Fatalf("reopened: created %v, same key %v; want false, true", created, again.Key().Equal(s.Key()))
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("the directory holds %d entries, want identity.json alone (no temporary file left)", len(entries))
	}
}

// TestBadIdentityIsNotReplaced: a damaged identity file, or another user's,
// is an error, and the file stays as it was.
func TestBadIdentityIsNotReplaced(t *testing.T) {
	t.Parallel()
	other := t.TempDir()
	open(t, other, "bob")
	good, err := os.ReadFile(filepath.Join(other, "identity.json"))
	if err != nil {
		t.Fatal(err)
	}
	mismatched := strings.Replace(string(good), `"public_key": "`, `"public_key": "AAAA`, 1)
	tests := []struct {
		name, content, user, words string
	}{
		{"not JSON", "{", "alice", "not a file this client wrote"},
		{"another user's", string(good), "alice", `the key of "bob", not of "alice"`},
		{"halves that differ", mismatched, "bob", "the public key is not the private key's"},
		{"a later version", `{"version": 2, "user": "alice"}`, "alice", "version 2"},
		{"a short private key", `{"version": 1, "user": "alice", "private_key": "AAAA"}`, "alice", "the private key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			path := filepath.Join(dir, "identity.json")
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, _, err := keystore.Open(dir, tt.user)
			if err == nil || !strings.Contains(err.Error(), tt.words) {
				t.Fatalf("Open = %v, want an error saying %q", err, tt.words)
			}
			if b, _ := os.ReadFile(path); string(b) != tt.content {
				t.Fatalf("the identity file was rewritten: %q", b)
			}
		})
	}
}

// TestTrustOnFirstUse: the first key is trusted; the same again changes
// nothing; another replaces it, reports the old one and keeps it among the
// previous keys, on disk.
func TestTrustOnFirstUse(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s, _ := open(t, dir, "alice")
	k1, k2 := publicKey(t), publicKey(t)
	now := time.Date(2026, 11, 27, 13, 0, 0, 5, time.UTC)
	steps := []struct {
		key      []byte
		replaced []byte
	}{
		{k1, nil},
		{k1, nil},
		{k2, k1},
		{k1, k2}, // back to the first: not listed twice among the previous
	}
	for i, st := range steps {
		replaced, err := s.Trust("bob", st.key, now.Add(time.Duration(i)*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(replaced, st.replaced) {
			t.Fatalf("step %d: replaced %x, want %x", i, replaced, st.replaced)
		}
	}
	reopened, _ := open(t, dir, "alice")
	c, ok := reopened.Contact("bob")
	if !ok || !slices.Equal(c.PublicKey, k1) || len(c.PreviousKeys) != 1 || !slices.Equal(c.PreviousKeys[0], k2) {
		t.Fatalf("bob on disk: %+v, want key k1 and previous [k2]", c)
	}
	if !c.FirstSeen.Equal(now.Truncate(time.Second)) {
		t.Errorf("first seen %v, want %v", c.FirstSeen, now.Truncate(time.Second))
	}
	if m := mode(t, filepath.Join(dir, "contacts.json")); m != 0o600 {
		t.Errorf("contacts.json mode %o, want 600", m)
	}
}

// TestOutboxKeepsOrderOnDisk: held messages come back in order, per
// receiver, after a reopen; a released one is gone.
func TestOutboxKeepsOrderOnDisk(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s, _ := open(t, dir, "alice")
	for _, w := range []keystore.Waiting{{"bob", "1", "one"}, {"eve", "2", "two"}, {"bob", "3", "three"}} {
		if err := s.Hold(w); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Release("1"); err != nil {
		t.Fatal(err)
	}
	reopened, _ := open(t, dir, "alice")
	if got, want := reopened.Waiting("bob"), []keystore.Waiting{{"bob", "3", "three"}}; !slices.Equal(got, want) {
		t.Errorf("waiting for bob: %v, want %v", got, want)
	}
	if got := reopened.Waiting(""); len(got) != 2 || got[0].ClientMsgID != "2" {
		t.Errorf("all waiting: %v, want ids 2 and 3", got)
	}
	if m := mode(t, filepath.Join(dir, "outbox.json")); m != 0o600 {
		t.Errorf("outbox.json mode %o, want 600", m)
	}
}

// TestDefaultDir: one directory per server and user, safe as a path.
func TestDefaultDir(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", "/config")
	dir, err := keystore.DefaultDir("127.0.0.1:3000", "alice")
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join("/config", "spartan", "127.0.0.1_3000", "alice"); dir != want {
		t.Errorf("DefaultDir = %q, want %q", dir, want)
	}
	for _, tt := range []struct{ server, user, want string }{
		{"http://[::1]:3000/x/../y", "a/../b", "http______1__3000_x_.._y/a_.._b"},
		{"..", ".", "___/__"},
		{"", "..", "_/___"},
	} {
		dir, err := keystore.DefaultDir(tt.server, tt.user)
		if err != nil {
			t.Fatal(err)
		}
		if want := filepath.Join("/config", "spartan", filepath.FromSlash(tt.want)); dir != want {
			t.Errorf("DefaultDir(%q, %q) = %q, want %q", tt.server, tt.user, dir, want)
		}
	}
}

func publicKey(tb testing.TB) []byte {
	tb.Helper()
	k, err := e2e.GenerateKey()
	if err != nil {
		tb.Fatal(err)
	}
	return k.PublicKey().Bytes()
}

// TestTwoClientsShareTheFiles: two stores of one directory (the Go CLI and
// client.py at once) each keep what the other wrote.
func TestTwoClientsShareTheFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	one, _ := open(t, dir, "alice")
	two, _ := open(t, dir, "alice")
	if _, err := one.Trust("bob", publicKey(t), time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := two.Trust("eve", publicKey(t), time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := one.Hold(keystore.Waiting{To: "bob", ClientMsgID: "1", Text: "one"}); err != nil {
		t.Fatal(err)
	}
	if err := two.Hold(keystore.Waiting{To: "eve", ClientMsgID: "2", Text: "two"}); err != nil {
		t.Fatal(err)
	}
	three, _ := open(t, dir, "alice")
	if _, ok := three.Contact("bob"); !ok {
		t.Error("bob, trusted by the first, was lost by the second")
	}
	if _, ok := three.Contact("eve"); !ok {
		t.Error("eve was not kept")
	}
	if got := three.Waiting(""); len(got) != 2 {
		t.Errorf("waiting: %v, want both messages", got)
	}
}
