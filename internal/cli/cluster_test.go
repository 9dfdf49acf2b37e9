package cli_test

import (
	"strings"
	"testing"

	"github.com/spartan-messenger/spartan/internal/config"
	"github.com/spartan-messenger/spartan/internal/redistest"
	"github.com/spartan-messenger/spartan/internal/servertest"
)

// TestMovesToAnotherServer: with -server naming two servers of one cluster,
// the CLI moves to the second when the first goes, says so in one line,
// and goes on: what is sent meanwhile and after arrives, once.
func TestMovesToAnotherServer(t *testing.T) {
	t.Parallel()
	redis := redistest.Start(t)
	var nodes []*servertest.Server
	for range 2 {
		cfg := servertest.Config()
		cfg.Store = config.Store{Kind: config.StoreRedis}
		cfg.Redis.URL = redis.URL
		nodes = append(nodes, servertest.Start(t, cfg))
	}
	chatting(t, nodes[1].Addr, "alice", "bob")
	alice := newPeer(t, nodes[1].Addr, "alice")
	bob := startCLI(t, "bob", "-server", nodes[0].Addr+","+nodes[1].Addr)
	bob.typeLine(t, "alice")
	bob.screen.Expect(t, wait, "[bob] > ")
	alice.say(t, "bob", "before")
	bob.screen.Expect(t, wait, "[alice] before")

	if err := nodes[0].Stop(); err != nil {
		t.Fatal(err)
	}
	alice.say(t, "bob", "while moving")
	bob.screen.Expect(t, wait, "[Spartan] Lost connection to Spartan Server; reconnecting...",
		"[Spartan] Moved to Spartan Server at "+nodes[1].Addr+".", "[alice] while moving")
	alice.say(t, "bob", "after")
	bob.screen.Expect(t, wait, "[alice] after")
	bob.typeLine(t, "still here") // sends through the second server
	bob.screen.Expect(t, wait, "still here\n[bob] > ")
	bob.screen.Lacks(t, "Not sent")
	if s := bob.screen.String(); strings.Count(s, "[alice] before") != 1 || strings.Count(s, "[alice] while moving") != 1 {
		t.Fatalf("a message shown twice:\n%s", s)
	}
}

// TestTranscriptAcrossNodes: the brief's transcript with alice on one node
// and bob on another of one cluster, as if they were on one server (the
// presence lines included: bob is online for alice though on another node).
func TestTranscriptAcrossNodes(t *testing.T) {
	t.Parallel()
	redis := redistest.Start(t)
	var addrs []string
	for range 2 {
		cfg := servertest.Config()
		cfg.Store = config.Store{Kind: config.StoreRedis}
		cfg.Redis.URL = redis.URL
		addrs = append(addrs, servertest.Start(t, cfg).Addr)
	}
	alice := startCLI(t, "alice", "-server", addrs[0])
	alice.screen.Expect(t, wait,
		"[Spartan] User list: bob,charlie,eve,foo,bar,baz,qux\n",
		"[Spartan] Enter a user whom you want to chat with: ")
	alice.typeLine(t, "bob")
	alice.screen.Expect(t, wait, "[Spartan] You are now ready to chat with bob.\n", "[Spartan] bob has not set up encryption yet; your messages will be sent when bob connects.\n")
	alice.typeLine(t, "Hey Bob!")
	alice.screen.Expect(t, wait, "Hey Bob!\n[alice] > ")

	bob := startCLI(t, "bob", "-server", addrs[1])
	bob.screen.Expect(t, wait,
		"[Spartan] User list: alice,charlie,eve,foo,bar,baz,qux\n",
		"[Spartan] alice is requesting to chat with you. Enter 'yes' to accept or different user: ")
	bob.typeLine(t, "yes")
	bob.screen.Expect(t, wait, "[Spartan] You are now ready to chat with alice.\n", "[alice] Hey Bob!\n", "[bob] > ")
	bob.screen.Lacks(t, "alice is offline")
	bob.typeLine(t, "Hi Alice!")
	alice.screen.Expect(t, wait, "[bob] Hi Alice!\n", "[alice] > ")
	// Presence travels by pub/sub, the acceptance through the store: across
	// nodes either may come first.
	for _, line := range []string{"[Spartan] bob is online.\n", "[Spartan] bob accepted your chat request.\n"} {
		if !strings.Contains(alice.screen.String(), line) {
			t.Fatalf("alice's screen lacks %q:\n%s", line, alice.screen)
		}
	}
}
