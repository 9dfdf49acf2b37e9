package cli_test

import (
	"strings"
	"testing"

	spartan "github.com/spartan-messenger/spartan/clients/go"
	spartanv1 "github.com/spartan-messenger/spartan/gen/spartan/v1"
)

// TestDeclineWhileChatting: a user who is chatting declines another's
// request with /decline, and the requester is told.
func TestDeclineWhileChatting(t *testing.T) {
	t.Parallel()
	addr, _ := startServer(t)
	ctx := t.Context()
	alice := startCLI(t, "alice", "-server", addr)
	alice.typeLine(t, "bob")
	alice.screen.Expect(t, wait, "[alice] > ")

	charlie := spartan.New(addr, "charlie")
	sub := charlie.Subscribe(ctx, spartan.SubscribeOptions{})
	if _, err := charlie.RequestChat(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	alice.screen.Expect(t, wait, "[Spartan] charlie is requesting to chat with you. Type /chat charlie to accept or /decline charlie to decline.")
	alice.typeLine(t, "/decline charlie")
	alice.screen.Expect(t, wait, "[Spartan] You declined charlie's chat request.", "[alice] > ")
	for {
		u := <-sub.C
		if m := u.Message; m != nil && m.GetType() == spartanv1.MessageType_MESSAGE_TYPE_CHAT_DECLINED {
			if m.GetSender() != "alice" {
				t.Fatalf("declined by %s, want alice", m.GetSender())
			}
			break
		}
	}
	alice.typeLine(t, "/decline charlie")
	alice.screen.Expect(t, wait, "[Spartan] charlie has not asked to chat with you.")
	// alice still chats with bob.
	alice.typeLine(t, "still with bob")
	alice.screen.Expect(t, wait, "still with bob\n[alice] > ")
	alice.screen.Lacks(t, "Not sent")
}

// TestDeclineAtTheRequestPrompt: /decline at the request prompt declines
// that request and goes back to choosing.
func TestDeclineAtTheRequestPrompt(t *testing.T) {
	t.Parallel()
	addr, _ := startServer(t)
	if _, err := spartan.New(addr, "charlie").RequestChat(t.Context(), "alice"); err != nil {
		t.Fatal(err)
	}
	alice := startCLI(t, "alice", "-server", addr)
	alice.screen.Expect(t, wait, "charlie is requesting to chat with you. Enter 'yes' to accept or different user: ")
	alice.typeLine(t, "/decline charlie")
	alice.screen.Expect(t, wait, "You declined charlie's chat request.", "[Spartan] Enter a user whom you want to chat with: ")
}

// TestNoStaleReminder: a request answered elsewhere (another client of the
// same user) is not shown as waiting any more.
func TestNoStaleReminder(t *testing.T) {
	t.Parallel()
	addr, _ := startServer(t)
	ctx := t.Context()
	alice := startCLI(t, "alice", "-server", addr)
	alice.screen.Expect(t, wait, "Enter a user whom you want to chat with: ")
	if _, err := spartan.New(addr, "charlie").RequestChat(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	alice.screen.Expect(t, wait, "charlie is requesting to chat with you. Enter 'yes'")
	if _, err := spartan.New(addr, "baz").RequestChat(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	alice.screen.Expect(t, wait, "[Spartan] baz is requesting to chat with you too; answer charlie first.")
	// alice declines baz on her phone.
	if _, err := spartan.New(addr, "alice").AnswerChat(ctx, "baz", false); err != nil {
		t.Fatal(err)
	}
	alice.typeLine(t, "yes")
	alice.screen.Expect(t, wait, "You are now ready to chat with charlie.", "[alice] > ")
	alice.typeLine(t, "/users") // a marker: everything before it is on screen
	alice.screen.Expect(t, wait, "User list:")
	if s := alice.screen.String(); strings.Contains(s, "baz is requesting to chat with you. Type") {
		t.Fatalf("a reminder of baz's answered request:\n%s", s)
	}
}

// TestPresence: the CLI says when the partner is offline, comes online and
// goes again, and /users says who is online.
func TestPresence(t *testing.T) {
	t.Parallel()
	addr, _ := startServer(t)
	bobKeys := t.TempDir()
	newPeerIn(t, addr, "bob", bobKeys) // bob has a key: only offline
	alice := startCLI(t, "alice", "-server", addr)
	alice.typeLine(t, "bob")
	alice.screen.Expect(t, wait, "[Spartan] You are now ready to chat with bob.\n", "[Spartan] bob is offline; your messages will wait for them.\n")
	bob := startCLI(t, "bob", "-server", addr, "-key-dir", bobKeys)
	alice.screen.Expect(t, wait, "[Spartan] bob is online.\n")
	bob.screen.Expect(t, wait, "Enter 'yes' to accept")
	bob.typeLine(t, "/users")
	bob.screen.Expect(t, wait, "[Spartan] User list: alice,charlie,eve,foo,bar,baz,qux\n", "[Spartan] Online now: alice.\n")
	bob.typeLine(t, "yes")
	bob.screen.Expect(t, wait, "You are now ready to chat with alice.\n")
	bob.screen.Lacks(t, "offline")
	bob.typeLine(t, "/quit")
	bob.wantExit(t, 0)
	alice.screen.Expect(t, wait, "[Spartan] bob is offline; your messages will wait for them.\n")
	alice.typeLine(t, "/users")
	alice.screen.Expect(t, wait, "[Spartan] Nobody else is online.\n")
}
