package cli_test

import (
	"context"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"

	spartan "github.com/spartan-messenger/spartan/clients/go"
	"github.com/spartan-messenger/spartan/internal/cli"
	"github.com/spartan-messenger/spartan/internal/clitest"
)

// ttySession is one CLI run on a pseudo-terminal, as a person runs it.
type ttySession struct {
	screen *clitest.Screen
	keys   *os.File // the terminal's master side: what is written here is typed
	exit   chan int
}

func startTTY(tb testing.TB, args ...string) *ttySession {
	tb.Helper()
	args = withKeyDir(tb, args)
	master, slave, err := pty.Open()
	if err != nil {
		tb.Fatalf("open a pseudo-terminal: %v", err)
	}
	if err := pty.Setsize(master, &pty.Winsize{Rows: 40, Cols: 100}); err != nil {
		tb.Fatal(err)
	}
	s := &ttySession{screen: clitest.NewScreen(), keys: master, exit: make(chan int, 1)}
	go s.screen.Copy(master)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { s.exit <- cli.Run(ctx, args, slave, slave, slave) }()
	tb.Cleanup(func() {
		cancel()
		select {
		case <-s.exit:
		case <-time.After(wait):
			tb.Errorf("the CLI did not stop")
		}
		_ = slave.Close()
		_ = master.Close()
	})
	return s
}

func (s *ttySession) typeKeys(tb testing.TB, keys string) {
	tb.Helper()
	if _, err := io.WriteString(s.keys, keys); err != nil {
		tb.Fatalf("type %q: %v", keys, err)
	}
}

func (s *ttySession) wantExit(tb testing.TB, want int) {
	tb.Helper()
	wantExit(tb, s.exit, s.screen, want)
}

// TestTTYPasteLongLine: a pasted 12,000-character line arrives whole.
// (internal/lineedit's BenchmarkPaste12000 measures how fast.)
func TestTTYPasteLongLine(t *testing.T) {
	t.Parallel()
	addr, _ := startServer(t)
	chatting(t, addr, "alice", "bob")
	bob := newPeer(t, addr, "bob").texts(t)
	alice := startTTY(t, "alice", "-server", addr)
	alice.typeKeys(t, "bob\r")
	alice.screen.Expect(t, wait, "[alice] > ")
	long := strings.Repeat("pasted text, ", 1000)[:12000]
	alice.typeKeys(t, long+"\r")
	wantTexts(t, bob, "[alice] "+long)
}

// TestTTYMessageWhileTyping: a message that arrives while the user types
// prints above the input line, which stays as it was.
func TestTTYMessageWhileTyping(t *testing.T) {
	t.Parallel()
	addr, _ := startServer(t)
	chatting(t, addr, "alice", "bob")
	bob := newPeer(t, addr, "bob")
	alice := startTTY(t, "alice", "-server", addr)
	alice.typeKeys(t, "bob\r")
	alice.screen.Expect(t, wait, "[alice] > ")
	alice.typeKeys(t, "half typ")
	alice.screen.Expect(t, wait, "half typ")
	bob.say(t, "alice", "hi there")
	alice.screen.Expect(t, wait, "\r\x1b[J[bob] hi there\r\n[alice] > half typ")
}

// TestTTYPromptChangeWhileTyping: a name half typed at "Enter a user" when a
// request replaces the prompt is not taken as the answer: charlie is not
// declined and bar is not asked.
func TestTTYPromptChangeWhileTyping(t *testing.T) {
	t.Parallel()
	addr, _ := startServer(t)
	ctx := t.Context()
	alice := startTTY(t, "alice", "-server", addr)
	alice.screen.Expect(t, wait, "Enter a user whom you want to chat with: ")
	alice.typeKeys(t, "ba")
	alice.screen.Expect(t, wait, "ba")
	if _, err := spartan.New(addr, "charlie").RequestChat(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	alice.screen.Expect(t, wait, "charlie is requesting to chat with you. Enter 'yes' to accept or different user: ba")
	alice.typeKeys(t, "r\r")
	alice.screen.Expect(t, wait,
		`[Spartan] The prompt changed while you were typing, so "bar" was not used.`,
		"charlie is requesting to chat with you. Enter 'yes' to accept or different user: ")
	login, err := spartan.New(addr, "alice").Login(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := login.GetChatRequests(); len(got) != 1 || got[0] != "charlie" {
		t.Fatalf("alice's waiting requests %q, want charlie's still waiting", got)
	}
	if login, err := spartan.New(addr, "bar").Login(ctx); err != nil || len(login.GetChatRequests()) != 0 {
		t.Fatalf("bar's waiting requests %q (%v), want none", login.GetChatRequests(), err)
	}
	// Typed afresh, the answer counts.
	alice.typeKeys(t, "yes\r")
	alice.screen.Expect(t, wait, "You are now ready to chat with charlie.")
}

// TestTTYHistoryAndExit: Up recalls the last line; Ctrl-D leaves without
// printing ^D, and so does Ctrl-C without ^C.
func TestTTYHistoryAndExit(t *testing.T) {
	t.Parallel()
	for _, key := range []string{"\x04", "\x03"} {
		addr, _ := startServer(t)
		alice := startTTY(t, "alice", "-server", addr)
		alice.screen.Expect(t, wait, "Enter a user whom you want to chat with: ")
		alice.typeKeys(t, "/users\r")
		alice.screen.Expect(t, wait, "Nobody else is online.")
		alice.typeKeys(t, "\x1b[A\r") // Up, Enter: /users again
		alice.screen.Expect(t, wait, "/users", "Nobody else is online.")
		alice.typeKeys(t, key)
		alice.wantExit(t, 0)
		if s := alice.screen.String(); strings.Contains(s, "^D") || strings.Contains(s, "^C") {
			t.Fatalf("%q shows on exit:\n%q", key, s)
		}
	}
}
