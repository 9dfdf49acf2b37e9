package cli_test

import (
	"strings"
	"testing"

	spartan "github.com/spartan-messenger/spartan/clients/go"
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
	alice := spartan.New(nodes[1].Addr, "alice")
	bob := startCLI(t, "bob", "-server", nodes[0].Addr+","+nodes[1].Addr)
	bob.typeLine(t, "alice")
	bob.screen.Expect(t, wait, "[bob] > ")
	if _, err := alice.SendText(t.Context(), "bob", "before", spartan.NewMessageID()); err != nil {
		t.Fatal(err)
	}
	bob.screen.Expect(t, wait, "[alice] before")

	if err := nodes[0].Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.SendText(t.Context(), "bob", "while moving", spartan.NewMessageID()); err != nil {
		t.Fatal(err)
	}
	bob.screen.Expect(t, wait, "[Spartan] Lost connection to Spartan Server; reconnecting...",
		"[Spartan] Moved to Spartan Server at "+nodes[1].Addr+".", "[alice] while moving")
	if _, err := alice.SendText(t.Context(), "bob", "after", spartan.NewMessageID()); err != nil {
		t.Fatal(err)
	}
	bob.screen.Expect(t, wait, "[alice] after")
	bob.typeLine(t, "still here") // sends through the second server
	bob.screen.Expect(t, wait, "still here\n[bob] > ")
	bob.screen.Lacks(t, "Not sent")
	if s := bob.screen.String(); strings.Count(s, "[alice] before") != 1 || strings.Count(s, "[alice] while moving") != 1 {
		t.Fatalf("a message shown twice:\n%s", s)
	}
}
