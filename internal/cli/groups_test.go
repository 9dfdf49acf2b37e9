package cli_test

import (
	"testing"
)

// TestGroupChat: a group made from the CLI, chatted in by two CLIs and a
// library client, with its commands, its prompt and its lines, a member
// without a key, a member who leaves, and the refusals.
func TestGroupChat(t *testing.T) {
	t.Parallel()
	addr, _ := startServer(t)
	carol := newPeer(t, addr, "charlie")
	carolReads := carol.texts(t)
	alice := startCLI(t, "alice", "-server", addr)
	bob := startCLI(t, "bob", "-server", addr)
	alice.screen.Expect(t, wait, "Enter a user whom you want to chat with: ")
	bob.screen.Expect(t, wait, "Enter a user whom you want to chat with: ")

	alice.typeLine(t, "/group create team bob charlie")
	made := "[Spartan] alice made the group team: alice, bob, charlie.\n"
	alice.screen.Expect(t, wait, made)
	bob.screen.Expect(t, wait, made)
	alice.typeLine(t, "team")
	alice.screen.Expect(t, wait, "[Spartan] You are now in team: alice, bob, charlie.\n", "[alice@team] > ")
	alice.typeLine(t, "hello team")
	bob.screen.Expect(t, wait, "[alice@team] hello team\n") // shown with its name at bob's "Enter a user"
	wantTexts(t, carolReads, "[alice] hello team")

	bob.typeLine(t, "/chat team")
	bob.screen.Expect(t, wait, "[bob@team] > ")
	bob.typeLine(t, "hi all")
	alice.screen.Expect(t, wait, "[bob@team] hi all\n")
	carol.post(t, "team", "carol here")
	alice.screen.Expect(t, wait, "[charlie@team] carol here\n")
	bob.screen.Expect(t, wait, "[charlie@team] carol here\n")

	alice.typeLine(t, "/history 5")
	alice.screen.Expect(t, wait, "[Spartan] The last 3 messages with team:\n[alice@team] hello team\n[bob@team] hi all\n[charlie@team] carol here\n")
	alice.typeLine(t, "/members")
	alice.screen.Expect(t, wait, "[Spartan] Members of team: alice, bob, charlie.\n")
	alice.typeLine(t, "/groups")
	alice.screen.Expect(t, wait, "[Spartan] Your groups: team (alice, bob, charlie).\n")

	alice.typeLine(t, "/group add team eve")
	alice.screen.Expect(t, wait, "[Spartan] alice added eve to team.\n")
	alice.typeLine(t, "eve cannot read this")
	alice.screen.Expect(t, wait, "[Spartan] eve has not set up encryption yet and cannot read your posts to team until they connect.\n")
	bob.screen.Expect(t, wait, "[alice@team] eve cannot read this\n")

	bob.typeLine(t, "/leave team")
	bob.screen.Expect(t, wait, "[Spartan] bob left team.\n", "Enter a user whom you want to chat with: ")
	alice.screen.Expect(t, wait, "[Spartan] bob left team.\n")
	alice.typeLine(t, "after bob")
	wantTexts(t, carolReads, "[bob] hi all", "[alice] eve cannot read this", "[alice] after bob")
	bob.screen.Lacks(t, "after bob")

	for _, tt := range []struct{ line, want string }{
		{"/group create bob", `[Spartan] Could not make the group bob: "bob" is a user's name; a group needs another.`},
		{"/group create team", "[Spartan] Could not make the group team: there is a group named team already."},
		{"/group add team zed", `[Spartan] Could not add zed to team: there is no user named "zed".`},
		{"/group frob", "[Spartan] Use /group create NAME USER... or /group add NAME USER."},
		{"/members nope", `[Spartan] No members: there is no group named "nope".`},
		{"/leave nope", `[Spartan] Could not leave nope: there is no group named "nope".`},
	} {
		alice.typeLine(t, tt.line)
		alice.screen.Expect(t, wait, tt.want+"\n")
	}
	bob.typeLine(t, "/members team")
	bob.screen.Expect(t, wait, "[Spartan] No members: bob is not a member of team.\n")
	bob.typeLine(t, "team")
	bob.screen.Expect(t, wait, `[Spartan] There is no user named "team".`)
}

// TestLateMemberReadsEarlierPosts: posts to a group made before a member
// ever connected (no key to send them the sender key) show for that member
// once they connect: they wait, told once, and show when the poster's
// client, seeing the new member's key, sends its sender key.
func TestLateMemberReadsEarlierPosts(t *testing.T) {
	t.Parallel()
	addr, _ := startServer(t)
	alice := startCLI(t, "alice", "-server", addr)
	alice.screen.Expect(t, wait, "Enter a user whom you want to chat with: ")
	alice.typeLine(t, "/group create team bob")
	alice.screen.Expect(t, wait, "[Spartan] alice made the group team: alice, bob.\n")
	alice.typeLine(t, "team")
	alice.screen.Expect(t, wait, "[alice@team] > ")
	alice.typeLine(t, "Hello, team!")
	alice.screen.Expect(t, wait, "[Spartan] bob has not set up encryption yet and cannot read your posts to team until they connect.\n")
	alice.typeLine(t, "Anyone?")
	alice.screen.Expect(t, wait, "Anyone?\n[alice@team] > ")

	bob := startCLI(t, "bob", "-server", addr)
	bob.screen.Expect(t, wait,
		"[Spartan] A post from alice@team waits for alice's key; it will show when the key arrives.\n",
		"[alice@team] Hello, team!\n",
		"[alice@team] Anyone?\n")
	bob.screen.Lacks(t, "WARNING")
	bob.screen.Lacks(t, "waits for alice's key; it will show when the key arrives.\n[Spartan] A post") // told once
	bob.typeLine(t, "/chat team")
	bob.screen.Expect(t, wait, "[bob@team] > ")
	bob.typeLine(t, "/history")
	bob.screen.Expect(t, wait, "[alice@team] Hello, team!\n[alice@team] Anyone?\n")
}
