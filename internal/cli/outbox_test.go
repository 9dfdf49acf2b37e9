package cli_test

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	spartan "github.com/spartan-messenger/spartan/clients/go"
	"github.com/spartan-messenger/spartan/internal/config"
	"github.com/spartan-messenger/spartan/internal/servertest"
)

// restartable is a test server that can be stopped and started again on the
// same port, with its store (bolt, in a file) or without (memory).
type restartable struct {
	tb   testing.TB
	cfg  config.Config
	srv  *servertest.Server
	addr string
}

func startRestartable(tb testing.TB, kind string) *restartable {
	tb.Helper()
	cfg := servertest.Config()
	if kind == config.StoreBolt {
		cfg.Store = config.Store{Kind: config.StoreBolt, Path: filepath.Join(tb.TempDir(), "spartan.db")}
	}
	r := &restartable{tb: tb, cfg: cfg}
	r.start()
	r.cfg.Port = r.srv.Port
	r.addr = r.srv.Addr
	return r
}

func (r *restartable) start() {
	r.tb.Helper()
	r.srv = servertest.Start(r.tb, r.cfg)
}

func (r *restartable) stop() {
	r.tb.Helper()
	if err := r.srv.Stop(); err != nil {
		r.tb.Errorf("server: %v", err)
	}
}

// chatting makes alice and bob accept each other through the client library.
func chatting(tb testing.TB, addr, a, b string) {
	tb.Helper()
	ctx := tb.Context()
	if _, err := spartan.New(addr, a).RequestChat(ctx, b); err != nil {
		tb.Fatal(err)
	}
	if _, err := spartan.New(addr, b).AnswerChat(ctx, a, true); err != nil {
		tb.Fatal(err)
	}
}

func timeout() <-chan time.Time { return time.After(wait) }

func wantTexts(tb testing.TB, got <-chan string, want ...string) {
	tb.Helper()
	for _, w := range want {
		select {
		case g := <-got:
			if g != w {
				tb.Fatalf("received %q, want %q", g, w)
			}
		case <-timeout():
			tb.Fatalf("did not receive %q", w)
		}
	}
}

// TestTypedWhileServerDown: lines typed while the server is down wait, in
// order, and arrive once it is back; the user is told once that they wait
// and once that they went.
func TestTypedWhileServerDown(t *testing.T) {
	t.Parallel()
	srv := startRestartable(t, config.StoreBolt)
	chatting(t, srv.addr, "alice", "bob")
	bobPeer := newPeer(t, srv.addr, "bob")
	alice := startCLI(t, "alice", "-server", srv.addr)
	alice.screen.Expect(t, wait, "Enter a user whom you want to chat with: ")
	alice.typeLine(t, "bob")
	alice.screen.Expect(t, wait, "[alice] > ")

	srv.stop()
	alice.screen.Expect(t, wait, "Lost connection to Spartan Server; reconnecting...")
	alice.typeLine(t, "one")
	alice.screen.Expect(t, wait, "[Spartan] Not sent yet: the server is unreachable. What you type waits and is sent, in order, when it is back.")
	alice.typeLine(t, "two")
	alice.typeLine(t, "three")
	alice.screen.Expect(t, wait, "three\n")
	alice.screen.Lacks(t, "Not sent")

	srv.start()
	alice.screen.Expect(t, wait, "[Spartan] Reconnected.", "[Spartan] Sent 3 waiting messages.")
	bob := bobPeer.texts(t)
	wantTexts(t, bob, "[alice] one", "[alice] two", "[alice] three")

	alice.typeLine(t, "four") // the outbox is empty again: straight through
	wantTexts(t, bob, "[alice] four")
	alice.screen.Lacks(t, "Not sent")
}

// TestUnsentToldOnExit: leaving with lines still waiting says so.
func TestUnsentToldOnExit(t *testing.T) {
	t.Parallel()
	srv := startRestartable(t, config.StoreMemory)
	chatting(t, srv.addr, "alice", "bob")
	newPeer(t, srv.addr, "bob")
	alice := startCLI(t, "alice", "-server", srv.addr)
	alice.typeLine(t, "bob")
	alice.screen.Expect(t, wait, "[alice] > ")
	srv.stop()
	alice.typeLine(t, "lost?")
	alice.screen.Expect(t, wait, "Not sent yet")
	alice.typeLine(t, "/quit")
	alice.screen.Expect(t, wait, "[Spartan] 1 message you typed was not sent.")
	alice.wantExit(t, 0)
}

// TestServerLostTheChat: after the server lost its data (a memory store
// restarted), the first line typed asks the partner again instead of
// failing, and the partner's client, chatting with the sender, accepts at
// once, so the line arrives.
func TestServerLostTheChat(t *testing.T) {
	t.Parallel()
	srv := startRestartable(t, config.StoreMemory)
	alice := startCLI(t, "alice", "-server", srv.addr)
	alice.typeLine(t, "bob")
	bob := startCLI(t, "bob", "-server", srv.addr)
	bob.screen.Expect(t, wait, "Enter 'yes' to accept or different user: ")
	bob.typeLine(t, "yes")
	alice.screen.Expect(t, wait, "bob accepted your chat request.")
	bob.typeLine(t, "before")
	alice.screen.Expect(t, wait, "[bob] before")

	srv.stop()
	srv.start() // empty
	alice.screen.Expect(t, wait, "Reconnected.")
	bob.screen.Expect(t, wait, "Reconnected.", "[Spartan] The server has lost the messages it had stored; any sent to you before it did are gone.")
	alice.typeLine(t, "after the restart")
	alice.screen.Expect(t, wait, "[Spartan] The server had lost your chat with bob; asked bob again.")
	bob.screen.Expect(t, wait, "[alice] after the restart")
	bob.screen.Lacks(t, "requesting")
	alice.screen.Lacks(t, "Not sent")
	bob.typeLine(t, "still here")
	alice.screen.Expect(t, wait, "[bob] still here")
}

// TestPastePacedByTheServer: 100 lines pasted at once, past the server's
// rate limit, all arrive, in order, once each; the user is told once that
// the server paces them and once that they went.
func TestPastePacedByTheServer(t *testing.T) {
	t.Parallel()
	cfg := servertest.Config()
	cfg.Rate.Calls, cfg.Rate.WindowSeconds, cfg.Rate.Burst = 40, 1, 10
	srv := servertest.Start(t, cfg)
	chatting(t, srv.Addr, "alice", "bob")
	bob := newPeer(t, srv.Addr, "bob").texts(t)
	alice := startCLI(t, "alice", "-server", srv.Addr)
	alice.typeLine(t, "bob")
	alice.screen.Expect(t, wait, "[alice] > ")
	var paste strings.Builder
	var want []string
	for i := range 100 {
		fmt.Fprintf(&paste, "line %03d\n", i)
		want = append(want, fmt.Sprintf("[alice] line %03d", i))
	}
	if _, err := io.WriteString(alice.in, paste.String()); err != nil {
		t.Fatal(err)
	}
	wantTexts(t, bob, want...)
	alice.screen.Expect(t, wait,
		"[Spartan] The server is pacing your messages (alice may send 40 messages a second); the rest follow in order.",
		" waiting messages.")
	if n := strings.Count(alice.screen.String(), "pacing"); n != 1 {
		t.Fatalf("the pacing note shows %d times, want once", n)
	}
	alice.screen.Lacks(t, "Not sent")
	select {
	case extra := <-bob:
		t.Fatalf("bob received %q after the 100 lines: a line went twice", extra)
	case <-time.After(200 * time.Millisecond):
	}
}
