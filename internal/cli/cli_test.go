package cli_test

import (
	"context"
	"fmt"
	"io"
	"slices"
	"testing"
	"time"

	spartan "github.com/spartan-messenger/spartan/clients/go"
	"github.com/spartan-messenger/spartan/internal/cli"
	"github.com/spartan-messenger/spartan/internal/clitest"
	"github.com/spartan-messenger/spartan/internal/servertest"
)

const wait = 10 * time.Second

// startServer runs a server on a free loopback port until the test ends and
// returns its address and a function that stops it early.
func startServer(tb testing.TB) (string, func()) {
	tb.Helper()
	srv := servertest.Start(tb, servertest.Config())
	return srv.Addr, func() {
		if err := srv.Stop(); err != nil {
			tb.Errorf("server: %v", err)
		}
	}
}

// session is one CLI run driven through a pipe.
type session struct {
	screen *clitest.Screen
	in     *io.PipeWriter
	exit   chan int
}

// withKeyDir adds to args, unless they have one, a -key-dir of a new
// directory of the test's, so that no test writes to the user's config.
func withKeyDir(tb testing.TB, args []string) []string {
	if slices.Contains(args, "-key-dir") {
		return args
	}
	return append(slices.Clip(args), "-key-dir", tb.TempDir())
}

// startCLI runs the CLI with args (and withKeyDir).
func startCLI(tb testing.TB, args ...string) *session {
	tb.Helper()
	args = withKeyDir(tb, args)
	r, w := io.Pipe()
	s := &session{screen: clitest.NewScreen(), in: w, exit: make(chan int, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { s.exit <- cli.Run(ctx, args, r, s.screen, s.screen) }()
	tb.Cleanup(func() {
		cancel()
		_ = w.Close()
		select {
		case <-s.exit:
		case <-time.After(wait):
			tb.Errorf("the CLI did not stop")
		}
	})
	return s
}

func (s *session) typeLine(tb testing.TB, line string) {
	tb.Helper()
	if _, err := io.WriteString(s.in, line+"\n"); err != nil {
		tb.Fatalf("type %q: %v", line, err)
	}
}

func (s *session) wantExit(tb testing.TB, want int) {
	tb.Helper()
	wantExit(tb, s.exit, s.screen, want)
}

// wantExit waits for the CLI's exit status on exit and checks it.
func wantExit(tb testing.TB, exit chan int, screen *clitest.Screen, want int) {
	tb.Helper()
	select {
	case got := <-exit:
		if got != want {
			tb.Fatalf("exit status %d, want %d; screen:\n%s", got, want, screen)
		}
		exit <- got // for the cleanup
	case <-time.After(wait):
		tb.Fatalf("the CLI did not exit; screen:\n%q", screen)
	}
}

func TestBriefTranscript(t *testing.T) {
	t.Parallel()
	addr, _ := startServer(t)
	alice := startCLI(t, "alice", "-server", addr)
	alice.screen.Expect(t, wait,
		"[Spartan] Connected to Spartan Server at port ",
		"[Spartan] User list: bob,charlie,eve,foo,bar,baz,qux\n",
		"[Spartan] Enter a user whom you want to chat with: ")
	alice.typeLine(t, "bob")
	alice.screen.Expect(t, wait, "[Spartan] You are now ready to chat with bob.\n", "[Spartan] bob has not set up encryption yet; your messages will be sent when bob connects.\n", "[alice] > ")
	// alice types before bob has even connected: the message waits for him
	// (for his key, on alice's disk, then for his answer, on the server).
	alice.typeLine(t, "Hey Bob!")
	alice.screen.Expect(t, wait, "Hey Bob!\n[alice] > ")

	bob := startCLI(t, "-server", addr, "bob")
	bob.screen.Expect(t, wait,
		"[Spartan] Connected to Spartan Server at port ",
		"[Spartan] User list: alice,charlie,eve,foo,bar,baz,qux\n",
		"[Spartan] alice is requesting to chat with you. Enter 'yes' to accept or different user: ")
	bob.screen.Lacks(t, "Enter a user")
	bob.typeLine(t, "yes")
	bob.screen.Expect(t, wait, "[Spartan] You are now ready to chat with alice.\n", "[alice] Hey Bob!\n", "[bob] > ")
	bob.typeLine(t, "Hi Alice!")
	alice.screen.Expect(t, wait, "[Spartan] bob accepted your chat request.\n", "[bob] Hi Alice!\n", "[alice] > ")

	alice.typeLine(t, "/history 5")
	alice.screen.Expect(t, wait, "The last 2 messages with bob:", "[alice] Hey Bob!\n", "[bob] Hi Alice!\n")

	alice.typeLine(t, "/quit")
	alice.wantExit(t, 0)
	if err := bob.in.Close(); err != nil { // Ctrl-D
		t.Fatal(err)
	}
	bob.wantExit(t, 0)
}

func TestRequestReplacesChoosePrompt(t *testing.T) {
	t.Parallel()
	addr, _ := startServer(t)
	bob := startCLI(t, "bob", "-server", addr)
	bob.screen.Expect(t, wait, "[Spartan] Enter a user whom you want to chat with: ")
	alice := startCLI(t, "alice", "-server", addr)
	alice.screen.Expect(t, wait, "Enter a user whom you want to chat with: ")
	alice.typeLine(t, "bob")
	bob.screen.Expect(t, wait, "\n[Spartan] alice is requesting to chat with you. Enter 'yes' to accept or different user: ")
	bob.typeLine(t, "yes")
	bob.screen.Expect(t, wait, "You are now ready to chat with alice.")
	alice.screen.Expect(t, wait, "[Spartan] bob accepted your chat request.")
}

func TestDeclineWithAnotherUser(t *testing.T) {
	t.Parallel()
	addr, _ := startServer(t)
	alice := startCLI(t, "alice", "-server", addr)
	alice.screen.Expect(t, wait, "Enter a user whom you want to chat with: ")
	alice.typeLine(t, "bob")
	alice.typeLine(t, "are you there?")
	alice.screen.Expect(t, wait, "You are now ready to chat with bob.", "are you there?\n[alice] > ")

	bob := startCLI(t, "bob", "-server", addr)
	bob.screen.Expect(t, wait, "alice is requesting to chat with you. Enter 'yes' to accept or different user: ")
	// bob's key reached alice, and with it her message the server (which
	// then drops it on the decline).
	alice.screen.Expect(t, wait, "[Spartan] bob has set up encryption; sent 1 waiting message.")
	bob.typeLine(t, "zed")
	bob.screen.Expect(t, wait, `[Spartan] There is no user named "zed".`, "alice is requesting to chat with you")
	bob.typeLine(t, "charlie")
	bob.screen.Expect(t, wait, "[Spartan] You are now ready to chat with charlie.")
	bob.screen.Lacks(t, "are you there?")

	alice.screen.Expect(t, wait, "[Spartan] bob declined your chat request; 1 waiting message was not delivered.\n",
		"[Spartan] Enter a user whom you want to chat with: ")
	alice.typeLine(t, "/chat bob")
	alice.screen.Expect(t, wait, "You are now ready to chat with bob.")

	charlie := startCLI(t, "charlie", "-server", addr)
	charlie.screen.Expect(t, wait, "bob is requesting to chat with you. Enter 'yes' to accept or different user: ")
}

func TestBadInputAtPrompts(t *testing.T) {
	t.Parallel()
	addr, _ := startServer(t)
	alice := startCLI(t, "alice", "-server", addr)
	alice.screen.Expect(t, wait, "Enter a user whom you want to chat with: ")
	alice.typeLine(t, "zed")
	alice.screen.Expect(t, wait, `[Spartan] There is no user named "zed". User list: bob,`, "Enter a user whom you want to chat with: ")
	alice.typeLine(t, "alice")
	alice.screen.Expect(t, wait, "[Spartan] You cannot chat with yourself.", "Enter a user whom you want to chat with: ")
	alice.typeLine(t, "/nope")
	alice.screen.Expect(t, wait, "[Spartan] Unknown command /nope.")
	alice.typeLine(t, "eve")
	alice.screen.Expect(t, wait, "You are now ready to chat with eve.")
	// eve has not answered: the message waits, it is not refused.
	alice.typeLine(t, "hello eve")
	alice.screen.Expect(t, wait, "hello eve\n[alice] > ")
	alice.screen.Lacks(t, "Not sent")

	eve := startCLI(t, "eve", "-server", addr)
	eve.screen.Expect(t, wait, "alice is requesting to chat with you")
	eve.typeLine(t, "bob")
	alice.screen.Expect(t, wait, "eve declined your chat request")
	alice.typeLine(t, "/chat eve")
	alice.screen.Expect(t, wait, "You are now ready to chat with eve.")
	// Asked again: eve sees the new request; nothing from before it.
	eve.screen.Expect(t, wait, "alice is requesting to chat with you. Type /chat alice to accept or /decline alice to decline.")
}

func TestUnknownUserAndNoServer(t *testing.T) {
	t.Parallel()
	addr, _ := startServer(t)
	zed := startCLI(t, "zed", "-server", addr)
	zed.screen.Expect(t, wait, `[Spartan] There is no user named "zed". Users: alice,bob,`)
	zed.wantExit(t, 2)

	_, stop := startServer(t)
	stop()
	// A port nothing listens on: the one the stopped server had is free again.
	nobody := startCLI(t, "alice", "-server", "127.0.0.1:1")
	nobody.screen.Expect(t, wait, "[Spartan] Cannot connect to Spartan Server at 127.0.0.1:1:")
	nobody.wantExit(t, 1)
}

func TestServerGoneUnderClient(t *testing.T) {
	t.Parallel()
	addr, stop := startServer(t)
	alice := startCLI(t, "alice", "-server", addr, "-give-up", "1s")
	alice.screen.Expect(t, wait, "Enter a user whom you want to chat with: ")
	alice.typeLine(t, "bob")
	alice.screen.Expect(t, wait, "[alice] > ")
	stop()
	alice.screen.Expect(t, wait, "[Spartan] Lost connection to Spartan Server; reconnecting...", "[Spartan] Spartan Server is gone:")
	alice.wantExit(t, 1)
}

// TestAnswerBeforeReplay: bob answers at once, before his stream replays
// alice's request; the replayed request must not show up as a new one.
func TestAnswerBeforeReplay(t *testing.T) {
	t.Parallel()
	addr, _ := startServer(t)
	if _, err := spartan.New(addr, "alice").RequestChat(t.Context(), "bob"); err != nil {
		t.Fatal(err)
	}
	bob := startCLI(t, "bob", "-server", addr)
	bob.typeLine(t, "yes")
	bob.typeLine(t, "/users")
	bob.screen.Expect(t, wait, "You are now ready to chat with alice.", "[Spartan] User list: alice,")
	bob.screen.Lacks(t, "requesting")
}

// TestHostileText: control characters in a message, encrypted or not,
// cannot clear the screen or forge a [Spartan] line.
func TestHostileText(t *testing.T) {
	t.Parallel()
	addr, _ := startServer(t)
	ctx := t.Context()
	aliceKeys := t.TempDir()
	newPeerIn(t, addr, "alice", aliceKeys) // the CLI's key, published before it runs
	bob := newPeer(t, addr, "bob")
	chatting(t, addr, "bob", "alice")
	const hostile = "a\x1b[2Jb\n[Spartan] forged\x07\u009b\ttab"
	bob.say(t, "alice", hostile)
	if _, err := bob.SendText(ctx, "alice", hostile, spartan.NewMessageID()); err != nil {
		t.Fatal(err)
	}
	alice := startCLI(t, "alice", "-server", addr, "-key-dir", aliceKeys)
	alice.screen.Expect(t, wait,
		"[bob] a\ufffd[2Jb↵[Spartan] forged\ufffd\ufffd\ttab\n",
		"[bob] (not encrypted) a\ufffd[2Jb↵[Spartan] forged\ufffd\ufffd\ttab\n")
	alice.screen.Lacks(t, "\x1b")
}

// TestAnsweringNoAndTwoRequests: "no" declines without picking anyone, and a
// second request is announced while the first is being answered.
func TestAnsweringNoAndTwoRequests(t *testing.T) {
	t.Parallel()
	addr, _ := startServer(t)
	ctx := t.Context()
	if _, err := spartan.New(addr, "alice").RequestChat(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	bob := startCLI(t, "bob", "-server", addr)
	bob.screen.Expect(t, wait, "alice is requesting to chat with you. Enter 'yes' to accept or different user: ")
	if _, err := spartan.New(addr, "carol").RequestChat(ctx, "bob"); err == nil {
		t.Fatal("carol is not a user, but RequestChat worked")
	}
	if _, err := spartan.New(addr, "charlie").RequestChat(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	bob.screen.Expect(t, wait, "[Spartan] charlie is requesting to chat with you too; answer alice first.")
	bob.typeLine(t, "No")
	bob.screen.Expect(t, wait, "[Spartan] You declined alice's chat request.\n",
		"[Spartan] charlie is requesting to chat with you. Enter 'yes' to accept or different user: ")
	bob.typeLine(t, "no")
	bob.screen.Expect(t, wait, "[Spartan] You declined charlie's chat request.\n",
		"[Spartan] Enter a user whom you want to chat with: ")
}

// TestHistoryPagesAndWording: /history N pages through History beyond one
// page, says "message" for one, and messages are sent as typed.
func TestHistoryPagesAndWording(t *testing.T) {
	t.Parallel()
	addr, _ := startServer(t)
	chatting(t, addr, "alice", "bob")
	bob := newPeer(t, addr, "bob")
	cli := startCLI(t, "alice", "-server", addr)
	cli.screen.Expect(t, wait, "Enter a user whom you want to chat with: ")
	cli.typeLine(t, "bob")
	// The replayed "bob accepted" may come at any point: expect only the echo.
	cli.typeLine(t, "  indented  ")
	cli.screen.Expect(t, wait, "  indented  \n")
	cli.typeLine(t, "/history 1")
	cli.screen.Expect(t, wait, "[Spartan] The last message with bob:\n", "[alice]   indented  \n")
	for i := range 620 {
		bob.say(t, "alice", fmt.Sprint("m", i))
	}
	cli.typeLine(t, "/history 99999999999999999999")
	cli.screen.Expect(t, wait, "[Spartan] The last 621 messages with bob:\n", "[alice]   indented  \n[bob] m0\n", "[bob] m619\n")
	cli.typeLine(t, "/history -1")
	cli.screen.Expect(t, wait, `[Spartan] /history takes a number of messages (1 or more), not "-1".`)
}
