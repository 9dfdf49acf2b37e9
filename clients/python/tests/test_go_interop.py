"""client.py and the Go CLI (``bin/spartan``) speak one scheme and share one key
directory format: they chat encrypted both ways, a message waits for a
receiver who never had a key and for one who is offline, both survive a
restart of a bolt server, and one user's key directory serves either client
(the default one too, and groups.json). A mixed group (the Go CLI, client.py
and a library client, some offline) sees every post once, in one order,
sealed. Skipped when the Go CLI is not built."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import re

import pytest

import spartan_e2e as e2e
from conftest import GroupMember, bin_dir, expect_all
from spartan_client import NoGroupKeyError, pb
from spartan_keystore import GROUPS_FILE, IDENTITY_FILE, OUTBOX_FILE, KeyStore

GO_CLI = bin_dir() / "spartan"
pytestmark = pytest.mark.skipif(not GO_CLI.is_file(), reason=f"the Go CLI {GO_CLI} is not built yet (make build)")

READY = "[Spartan] You are now ready to chat with {}."
CHOOSE = "[Spartan] Enter a user whom you want to chat with: "
REQUEST = "[Spartan] {} is requesting to chat with you. Enter 'yes' to accept or different user: "
NO_KEY = "[Spartan] {0} has not set up encryption yet; your messages will be sent when {0} connects."
OFFLINE = "[Spartan] {} is offline; your messages will wait for them."
FINGERPRINT = r"[0-9a-f]{4}(?: [0-9a-f]{4}){4}"


@pytest.fixture
def go_cli(spawn, key_dir):
    """Returns run(user, server, *args, keys=True) -> Proc running the Go CLI; with
    ``keys`` it gets ``-key-dir key_dir(user)``, the directory client.py of the same
    user gets from ``client_py`` (without, its default one under the spawn fixture's
    XDG_CONFIG_HOME)."""

    def run(user: str, target: str, *args: str, keys: bool = True):
        extra = ["-key-dir", str(key_dir(user))] if keys else []
        return spawn([str(GO_CLI), "-server", target, *extra, *args, user], f"spartan {user}")

    return run


def fingerprint_of(directory: Path) -> str:
    doc = json.loads((directory / IDENTITY_FILE).read_text())
    return e2e.fingerprint(base64.b64decode(doc["public_key"]))


def quit_(*procs) -> None:
    for proc in procs:
        proc.send("/quit")
    for proc in procs:
        assert proc.wait() == 0, proc.describe()
        assert "Traceback" not in proc.err.text and "panic" not in proc.err.text, proc.describe()


def accept(proc, asker: str) -> None:
    proc.expect(REQUEST.format(asker))
    proc.send("yes")
    proc.expect(READY.format(asker))


def all_sealed(plain_clients, a: str, b: str) -> list:
    """The encryption of every text between ``a`` and ``b``, as the server keeps it."""
    return [m.encryption for m in plain_clients(a).history(b).messages]


def test_go_cli_and_client_py_chat_encrypted_both_ways(server, client_py, go_cli, plain_clients, key_dir):
    """bob (Go) is there first; alice (client.py) asks him; they write both ways and see
    each other's fingerprints as each sees its own."""
    bob = go_cli("bob", server.target)
    bob.expect(CHOOSE)
    alice = client_py("alice", server.target)
    alice.expect(CHOOSE)
    alice.send("bob")
    alice.expect(READY.format("bob") + "\n[alice] > ")
    accept(bob, "alice")
    alice.expect("[Spartan] bob accepted your chat request.\n")
    alice.send("Hello from Python")
    bob.expect("[alice] Hello from Python")
    bob.send("Hello from Go, ünïcödé 😀")
    alice.expect("[bob] Hello from Go, ünïcödé 😀\n")
    alice.send("/history")
    alice.expect("[alice] Hello from Python\n[bob] Hello from Go, ünïcödé 😀\n")
    bob.send("/history")
    bob.expect("[alice] Hello from Python")
    bob.expect("[bob] Hello from Go, ünïcödé 😀")
    alice.send("/whois bob")
    bob_fp = alice.expect(rf"\[Spartan\] bob's key fingerprint: ({FINGERPRINT}) \(first seen ", regex=True).group(1)
    bob.send("/whois alice")
    alice_fp = bob.expect(rf"\[Spartan\] alice's key fingerprint: ({FINGERPRINT}) \(first seen ", regex=True).group(1)
    assert (bob_fp, alice_fp) == (fingerprint_of(key_dir("bob")), fingerprint_of(key_dir("alice")))
    bob.send("/whois")
    bob.expect(f"[Spartan] Your key fingerprint: {bob_fp}.")
    assert set(all_sealed(plain_clients, "alice", "bob")) == {pb.ENCRYPTION_E2E}
    assert "WARNING" not in alice.out.text + bob.out.text
    quit_(alice, bob)


def test_go_cli_queues_for_a_client_py_user_who_never_had_a_key(server, client_py, go_cli, key_dir):
    """alice (Go) writes to bob before he ever connected: her messages wait in her
    outbox.json and go when bob's client.py publishes his key."""
    alice = go_cli("alice", server.target)
    alice.expect(CHOOSE)
    alice.send("bob")
    alice.expect(READY.format("bob"))
    alice.expect(NO_KEY.format("bob"))
    alice.send("Hey Bob!")
    alice.send("Are you there?")
    alice.send("/history")  # handled after both: they are on disk by then
    alice.expect("[Spartan] No messages with bob yet.")
    outbox = json.loads((key_dir("alice") / OUTBOX_FILE).read_text())["messages"]
    assert [(m["to"], m["text"]) for m in outbox] == [("bob", "Hey Bob!"), ("bob", "Are you there?")]
    bob = client_py("bob", server.target)
    accept(bob, "alice")
    bob.expect("[alice] Hey Bob!\n")
    bob.expect("[alice] Are you there?\n")
    alice.expect("[Spartan] bob has set up encryption; sent 2 waiting messages.")
    bob.send("Yes!")
    alice.expect("[bob] Yes!")
    quit_(alice, bob)


def test_client_py_queues_for_a_go_cli_user_who_never_had_a_key(server, client_py, go_cli):
    alice = client_py("alice", server.target)
    alice.expect(CHOOSE)
    alice.send("bob")
    alice.expect(NO_KEY.format("bob") + "\n")
    alice.send("Hey Bob!")
    alice.expect("Hey Bob!\n[alice] > ")
    bob = go_cli("bob", server.target)
    accept(bob, "alice")
    bob.expect("[alice] Hey Bob!")
    alice.expect("[Spartan] bob has set up encryption; sent 1 waiting message.\n")
    bob.send("Hi Alice!")
    alice.expect("[bob] Hi Alice!\n")
    quit_(alice, bob)


def test_messages_to_an_offline_receiver_who_has_a_key(server, client_py, go_cli, plain_clients):
    """Each writes while the other is away (with a key from an earlier run): the
    message waits on the server, sealed, and opens when the other comes."""
    bob = client_py("bob", server.target)
    bob.expect(CHOOSE)
    quit_(bob)  # bob has a key now, and is offline
    alice = go_cli("alice", server.target)
    alice.expect(CHOOSE)
    alice.send("bob")
    alice.expect(READY.format("bob"))
    alice.expect(OFFLINE.format("bob"))
    alice.send("while you were away")
    alice.send("/quit")
    assert alice.wait() == 0, alice.describe()
    assert "encryption" not in alice.out.text, alice.describe()

    bob = client_py("bob", server.target)
    accept(bob, "alice")
    bob.expect("[alice] while you were away\n")
    bob.send("and while you were away")
    bob.expect("and while you were away\n[bob] > ")
    quit_(bob)
    alice = go_cli("alice", server.target)
    alice.expect("[bob] and while you were away")
    assert set(all_sealed(plain_clients, "alice", "bob")) == {pb.ENCRYPTION_E2E}
    quit_(alice)


def test_go_cli_and_client_py_across_a_restart_of_a_bolt_server(server, client_py, go_cli):
    """The server (bolt) restarts under them: both reconnect (and publish their keys
    again); a line typed meanwhile goes once it is back, and both still read each other."""
    alice = go_cli("alice", server.target)
    alice.expect(CHOOSE)
    bob = client_py("bob", server.target)
    bob.expect(CHOOSE)
    alice.send("bob")
    alice.expect(READY.format("bob"))
    accept(bob, "alice")
    alice.send("before the restart")
    bob.expect("[alice] before the restart\n")
    server.stop()
    for proc in (alice, bob):
        proc.expect("[Spartan] Lost connection to Spartan Server; reconnecting...")
    bob.send("typed while it was down")
    bob.expect("[Spartan] Not sent yet: the server is unreachable.")
    server.start()  # the same port, the same data file
    expect_all(bob, "[Spartan] Reconnected.\n", "[Spartan] Sent 1 waiting message.\n", timeout=15)
    alice.expect("[Spartan] Reconnected.", timeout=15)
    alice.expect("[bob] typed while it was down")
    alice.send("after the restart")
    bob.expect("[alice] after the restart\n")
    bob.send("/history")
    bob.expect(
        "[alice] before the restart\n[bob] typed while it was down\n[alice] after the restart\n"
    )
    quit_(alice, bob)
    assert "WARNING" not in alice.out.text + bob.out.text


def test_one_key_directory_serves_both_clients(server, client_py, go_cli, tmp_path):
    """alice switches clients on one machine: the default key directory is the same
    for both (the same key), and a message Go's client left waiting in outbox.json
    for a user without a key is client.py's to send."""
    py = client_py("alice", server.target, keys=False)
    py.expect(CHOOSE)
    py.send("/whois")
    fp = py.expect(rf"\[Spartan\] Your key fingerprint: ({FINGERPRINT})\.\n", regex=True).group(1)
    quit_(py)
    go = go_cli("alice", server.target, keys=False)
    go.expect(CHOOSE)
    go.send("/whois")
    go.expect(f"[Spartan] Your key fingerprint: {fp}.")
    go.send("charlie")
    go.expect(NO_KEY.format("charlie"))
    go.send("for charlie, from Go")
    quit_(go)
    home = tmp_path / "config" / "spartan" / f"127.0.0.1_{server.port}" / "alice"
    assert sorted(p.name for p in home.iterdir() if not p.name.startswith(".")) == [IDENTITY_FILE, OUTBOX_FILE]
    assert fingerprint_of(home) == fp

    py = client_py("alice", server.target, keys=False)
    py.expect("[Spartan] 1 message to charlie waits until charlie sets up encryption.\n")
    py.expect(CHOOSE)
    charlie = client_py("charlie", server.target)
    accept(charlie, "alice")
    charlie.expect("[alice] for charlie, from Go\n")
    py.expect("[Spartan] charlie has set up encryption; sent 1 waiting message.\n")
    quit_(py, charlie)
    assert json.loads((home / OUTBOX_FILE).read_text())["messages"] == []
    assert not [p for p in home.iterdir() if p.name.startswith(".")]  # no temporary file left
    assert os.stat(home).st_mode & 0o777 == 0o700


# -- logging in with one key directory -----------------------------------------------------------

IDENTITY_FIELDS = ["version", "user", "private_key", "public_key", "signing_key", "signing_public_key"]


def identity_before_logging_in(user: str) -> dict:
    """An identity.json as both clients wrote it before logging in existed."""
    key = e2e.generate_key()
    return {
        "version": 1,
        "user": user,
        "private_key": base64.b64encode(e2e.private_bytes(key)).decode(),
        "public_key": base64.b64encode(e2e.public_bytes(key)).decode(),
    }


def test_a_log_in_key_made_by_either_client_logs_in_with_the_other(server, client_py, go_cli, key_dir):
    """Ed25519 across the languages, through the server (which checks every
    signature with Go's crypto/ed25519 against the key it took first): a key
    directory the Go CLI made logs client.py in, one client.py made logs the Go
    CLI in, and an identity from before logging in gets its log-in key from
    whichever client opens it first, the rest kept, and serves the other."""

    def run(start, user: str) -> dict:
        proc = start(user, server.target)
        proc.expect(CHOOSE)  # logged in: the greeting and the prompt
        quit_(proc)
        return json.loads((key_dir(user) / IDENTITY_FILE).read_text())

    made_by_go = run(go_cli, "bob")
    assert list(made_by_go) == IDENTITY_FIELDS
    assert run(client_py, "bob") == made_by_go  # used, not changed
    made_by_python = run(client_py, "charlie")
    assert list(made_by_python) == IDENTITY_FIELDS
    assert run(go_cli, "charlie") == made_by_python
    for user, first, second in (("eve", go_cli, client_py), ("alice", client_py, go_cli)):
        old = identity_before_logging_in(user)
        key_dir(user).mkdir(parents=True)
        (key_dir(user) / IDENTITY_FILE).write_text(json.dumps(old))
        added = run(first, user)
        assert list(added) == IDENTITY_FIELDS and {k: added[k] for k in old} == old, user
        assert run(second, user) == added, user


def test_both_clients_word_a_refused_log_in_alike(server, client_py, go_cli, plain_clients, tmp_path):
    """bob's key is taken; another key directory of bob's is refused by both
    clients with the same line and status 2."""
    plain_clients("bob").login()
    lines = []
    for start, flag in ((client_py, "--key-dir"), (go_cli, "-key-dir")):
        proc = start("bob", server.target, flag, str(tmp_path / f"another-{flag}"), keys=False)
        assert proc.wait() == 2, proc.describe()
        proc.err.join()
        lines.append(proc.err.text)
    assert lines == [
        "[Spartan] Cannot log in: bob logs in with another key; if bob set up Spartan again, an operator "
        "resets the key (spartan-server -reset-key bob).\n"
    ] * 2


# -- groups -------------------------------------------------------------------------------------


def post_lines(text: str) -> list:
    """The group posts a terminal showed as lines of their own: (sender, text) in order.
    A typed post's echo follows its prompt (``[bob@team] > ...``), so it is not one."""
    return re.findall(r"^\[(\w+)@team\] (MARKER-\S+ .*)$", text, re.M)


def test_a_mixed_group_with_members_offline(start_server, client_py, go_cli, clients, plain_clients, inbox, key_dir):
    """alice (the Go CLI), bob (client.py), charlie (a library client) and eve
    (client.py) in one group made from the Go CLI, on a bolt server; eve is offline for
    the first posts, bob for some. Every member sees every post of the others once, in
    the one order the group's History gives, which is the same for all; all of them are
    sealed: the marker is nowhere in the bolt file (a plaintext control is). Then eve
    leaves: she gets no post after that, and none of the keys she holds opens the
    next; foo joins: he reads what follows, not what went before."""
    srv = start_server(users=["alice", "bob", "charlie", "eve", "foo", "bar"])
    marker = "MARKER-9r0up-secret"
    eve = client_py("eve", srv.target)  # a key from an earlier run, then offline
    eve.expect(CHOOSE)
    quit_(eve)
    bob = client_py("bob", srv.target)
    bob.expect(CHOOSE)
    carol = clients("charlie", srv)
    carol_reads = GroupMember(carol, inbox(carol))
    alice = go_cli("alice", srv.target)
    alice.expect(CHOOSE)

    alice.send("/group create team bob charlie eve")
    made = "[Spartan] alice made the group team: alice, bob, charlie, eve.\n"
    alice.expect(made)
    bob.expect(made)
    alice.send("team")
    alice.expect("[Spartan] You are now in team: alice, bob, charlie, eve.\n[alice@team] > ")
    posts = [f"{marker} {n} from {who}" for n, who in enumerate(["alice", "bob", "charlie", "alice", "charlie", "eve"], 1)]
    alice.send(posts[0])
    bob.expect(f"[alice@team] {posts[0]}\n")
    bob.send("/chat team")
    bob.expect("[bob@team] > ")
    bob.send(posts[1])
    alice.expect(f"[bob@team] {posts[1]}\n")
    carol.post("team", posts[2])
    for proc in (alice, bob):
        proc.expect(f"[charlie@team] {posts[2]}\n")
    quit_(bob)  # offline for the next two
    bob_before = bob
    alice.send(posts[3])
    carol_saw = carol_reads.read(3)  # alice's post is stored before charlie posts the next
    carol.post("team", posts[4])
    alice.expect(f"[charlie@team] {posts[4]}\n")

    eve = client_py("eve", srv.target)  # everything since she was added, in order
    for n, who in enumerate(["alice", "bob", "charlie", "alice", "charlie"]):
        eve.expect(f"[{who}@team] {posts[n]}\n")
    eve.send("/chat team")
    eve.expect("[eve@team] > ")
    eve.send(posts[5])
    alice.expect(f"[eve@team] {posts[5]}\n")
    carol_saw += carol_reads.read(1)
    bob = client_py("bob", srv.target)  # what came while he was away
    for n, who in ((3, "alice"), (4, "charlie"), (5, "eve")):
        bob.expect(f"[{who}@team] {posts[n]}\n")

    # eve leaves: no post reaches her after that, and none of her keys opens one.
    eve.send("/leave")
    eve.expect("[Spartan] eve left team.\n" + CHOOSE)
    for proc in (alice, bob):
        proc.expect("[Spartan] eve left team.\n")
    after_eve = f"{marker} 7 from alice, after eve left"
    alice.send(after_eve)
    bob.expect(f"[alice@team] {after_eve}\n")
    carol_saw += carol_reads.read(1)
    seven = carol_reads.posts[-1]
    held = KeyStore.open(key_dir("eve"), "eve").group_state("team").senders
    keys = [k for sender in held.values() for k in sender]
    assert sorted(held) == ["alice", "bob", "charlie", "eve"]
    assert e2e.group_key_id(seven.payload) not in {k.id for k in keys}
    for k in keys:
        with pytest.raises(e2e.NotAuthentic):
            e2e.open_group(k.key, seven.payload, sender="alice", group="team", client_msg_id=seven.client_msg_id)

    # foo joins: he reads what follows, not what went before.
    foo = clients("foo", srv)
    foo_reads = GroupMember(foo, inbox(foo))
    alice.send("/group add team foo")
    alice.expect("[Spartan] alice added foo to team.\n")
    bob.expect("[Spartan] alice added foo to team.\n")
    bob.send("/chat team")
    bob.expect("[bob@team] > ")
    for_foo = f"{marker} 8 from bob, after foo joined"
    bob.send(for_foo)
    assert foo_reads.read(1) == [f"bob: {for_foo}"]
    alice.expect(f"[bob@team] {for_foo}\n")
    carol_saw += carol_reads.read(1)
    with pytest.raises(NoGroupKeyError):
        foo.open(seven)
    assert [foo.open(m).text for m in foo.last_posts("team", 20)] == [for_foo]

    # Each saw every post of the others once, in the one order; History is the same for all.
    order = [("alice", posts[0]), ("bob", posts[1]), ("charlie", posts[2]), ("alice", posts[3]),
             ("charlie", posts[4]), ("eve", posts[5]), ("alice", after_eve), ("bob", for_foo)]
    assert [(m.sender, carol.open(m).text) for m in carol.last_posts("team", 20)] == order

    def others(user: str, upto: int = len(order)) -> list:
        return [p for p in order[:upto] if p[0] != user]

    assert post_lines(alice.out.text) == others("alice")
    assert post_lines(bob_before.out.text) + post_lines(bob.out.text) == others("bob")  # two runs
    assert post_lines(eve.out.text) == others("eve", upto=6)  # she left after the sixth
    assert carol_saw == [f"{who}: {text}" for who, text in others("charlie")]
    history = "\n".join(f"[{who}@team] {text}" for who, text in order) + "\n"
    for proc in (alice, bob):
        proc.send("/history")
        proc.expect(f"[Spartan] The last 8 messages with team:\n{history}")
    control = "CONTROL-9r0up-plaintext"
    plain_clients("bar", srv).request_chat("foo")
    plain_clients("bar", srv).send_plaintext("foo", control)
    quit_(alice, bob, eve)
    assert "WARNING" not in alice.out.text + bob_before.out.text + bob.out.text + eve.out.text
    srv.stop()
    store = srv.config.parent / "data" / "spartan.db"
    assert control.encode() in store.read_bytes()
    assert marker.encode() not in store.read_bytes()


def test_one_key_directory_serves_both_clients_in_a_group(server, client_py, go_cli, clients, inbox, key_dir):
    """alice posts to a group from the Go CLI, then from client.py, then from the Go
    CLI again, all with one key directory: each reads groups.json as the other wrote
    it. client.py keeps the Go CLI's sender key (the same members: bob gets no second
    key) and opens alice's own post from History with it; the Go CLI opens a post of
    bob's whose key client.py took in."""
    bob = clients("bob")
    bob_reads = GroupMember(bob, inbox(bob))
    go = go_cli("alice", server.target)
    go.expect(CHOOSE)
    go.send("/group create team bob")
    go.expect("[Spartan] alice made the group team: alice, bob.\n")
    go.send("team")
    go.expect("[alice@team] > ")
    go.send("from Go")
    assert bob_reads.read(1) == ["alice: from Go"]
    quit_(go)
    written = json.loads((key_dir("alice") / GROUPS_FILE).read_text())
    mine = written["groups"]["team"]["mine"]
    assert (mine["members"], mine["shared"]) == (["alice", "bob"], ["bob"])
    assert written["groups"]["team"]["senders"] == {"alice": [{"id": mine["id"], "key": mine["key"]}]}

    py = client_py("alice", server.target)
    py.expect(CHOOSE)
    py.send("team")
    py.expect("[alice@team] > ")
    py.send("/history")
    py.expect("[Spartan] The last message with team:\n[alice@team] from Go\n")
    py.send("from Python")
    assert bob_reads.read(1) == ["alice: from Python"]
    assert len(bob.e2e.keys.group_state("team").senders["alice"]) == 1  # one key, from the Go CLI
    bob.post("team", "from bob")
    py.expect("[bob@team] from bob\n")  # bob's key, taken in by client.py
    quit_(py)
    assert json.loads((key_dir("alice") / GROUPS_FILE).read_text())["groups"]["team"]["mine"] == mine

    go = go_cli("alice", server.target)
    go.expect(CHOOSE)
    go.send("/chat team")
    go.expect("[alice@team] > ")
    go.send("/history")
    go.expect("[Spartan] The last 3 messages with team:\n[alice@team] from Go\n[alice@team] from Python\n[bob@team] from bob\n")
    quit_(go)
    assert "WARNING" not in go.out.text + py.out.text
