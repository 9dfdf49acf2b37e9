"""client.py encrypts (docs/SECURITY.md, "What a client does"), against the built
server: the key directory and its files, messages that wait on disk for a
receiver's key (across restarts too), a key that changes, payloads that do not
open, /whois, the key published again after a reconnection, and a server that
never sees a message in plaintext: not in its store file, not in its log."""

from __future__ import annotations

import base64
import datetime as dt
import json
import shutil
import stat
from pathlib import Path

import pytest

import spartan_e2e as e2e
from conftest import WAIT
from spartan_client import pb
from spartan_keystore import CONTACTS_FILE, IDENTITY_FILE, OUTBOX_FILE, KeyStore

READY = "[Spartan] You are now ready to chat with {}."
CHOOSE = "[Spartan] Enter a user whom you want to chat with: "
REQUEST = "[Spartan] {} is requesting to chat with you. Enter 'yes' to accept or different user: "
NO_KEY = "[Spartan] {0} has not set up encryption yet; your messages will be sent when {0} connects.\n"
OFFLINE = "[Spartan] {} is offline; your messages will wait for them.\n"
COULD_NOT = "[Spartan] WARNING: a message from {} could not be decrypted: it was altered, or sealed with another key.\n"
UNKNOWN = (
    "[Spartan] WARNING: a message from {} uses an encryption scheme this client does not know; "
    "update Spartan to read it.\n"
)
FINGERPRINT = r"[0-9a-f]{4}(?: [0-9a-f]{4}){4}"


def fingerprint_of(directory: Path) -> str:
    """The fingerprint of the identity in a key directory."""
    doc = json.loads((directory / IDENTITY_FILE).read_text())
    return e2e.fingerprint(base64.b64decode(doc["public_key"]))


def outbox_of(directory: Path) -> list:
    """outbox.json's messages as (to, text) pairs ([] when there is no file)."""
    path = directory / OUTBOX_FILE
    if not path.exists():
        return []
    return [(m["to"], m["text"]) for m in json.loads(path.read_text())["messages"]]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def changed_warning(user: str, old: str, new: str) -> str:
    return (
        f"[Spartan] WARNING: {user}'s encryption key has changed (was {old}, now {new}). {user} may have set up "
        f"Spartan again, or someone may be trying to read your messages: compare fingerprints with {user} "
        f"(/whois {user}) before you share anything secret.\n"
    )


def quit_(proc) -> None:
    proc.send("/quit")
    assert proc.wait() == 0, proc.describe()
    assert "Traceback" not in proc.err.text, proc.describe()


def type_line(proc, user: str, text: str) -> None:
    """Types a message at ``user``'s prompt and waits until it is handled (the next prompt)."""
    proc.send(text)
    proc.expect(f"{text}\n[{user}] > ")


def accept(proc, asker: str) -> None:
    """client.py at ``asker``'s request prompt: yes."""
    proc.expect(REQUEST.format(asker))
    proc.send("yes")
    proc.expect(READY.format(asker))


# -- the key directory ----------------------------------------------------------------------------


def test_key_files_are_private_and_reused_across_runs(server, client_py, tmp_path):
    """Without --key-dir: <XDG_CONFIG_HOME>/spartan/<first server>/<user>, directories
    0700 and files 0600; the next run (with a server list that starts with the same
    server) uses the same key, untouched."""
    alice = client_py("alice", server.target, keys=False)
    alice.expect(CHOOSE)
    alice.send("/whois")
    shown = alice.expect(rf"\[Spartan\] Your key fingerprint: ({FINGERPRINT})\.\n", regex=True).group(1)
    quit_(alice)
    spartan = tmp_path / "config" / "spartan"
    home = spartan / f"127.0.0.1_{server.port}" / "alice"
    for d in (spartan, home.parent, home):
        assert mode(d) == 0o700, d
    assert sorted(p.name for p in home.iterdir()) == [IDENTITY_FILE]
    assert mode(home / IDENTITY_FILE) == 0o600
    assert fingerprint_of(home) == shown
    before = (home / IDENTITY_FILE).read_bytes()

    again = client_py("alice", f"{server.target},127.0.0.1:1", keys=False)
    again.expect(CHOOSE)
    again.send("/whois alice")
    again.expect(f"[Spartan] Your key fingerprint: {shown}.\n")
    quit_(again)
    assert (home / IDENTITY_FILE).read_bytes() == before
    assert sorted(p.name for p in spartan.iterdir()) == [home.parent.name]


def test_key_dir_puts_the_files_in_that_directory(server, client_py, tmp_path):
    chosen = tmp_path / "my keys"
    alice = client_py("alice", server.target, "--key-dir", str(chosen))
    alice.expect(CHOOSE)
    alice.send("/whois")
    alice.expect(f"[Spartan] Your key fingerprint: {fingerprint_of(chosen)}.\n")
    quit_(alice)
    assert mode(chosen) == 0o700 and mode(chosen / IDENTITY_FILE) == 0o600
    assert not (tmp_path / "config" / "spartan").exists()


def other_users_identity() -> str:
    key = e2e.generate_key()
    pub, priv = e2e.public_bytes(key), e2e.private_bytes(key)
    return json.dumps(
        {"version": 1, "user": "bob", "private_key": base64.b64encode(priv).decode(), "public_key": base64.b64encode(pub).decode()}
    )


def mismatched_identity() -> str:
    doc = json.loads(other_users_identity())
    doc["user"] = "alice"
    doc["public_key"] = base64.b64encode(e2e.public_bytes(e2e.generate_key())).decode()
    return json.dumps(doc)


@pytest.mark.parametrize(
    "name, content, says",
    [
        (IDENTITY_FILE, "{garbage", "is not a file this client wrote: Expecting property name"),
        (IDENTITY_FILE, other_users_identity(), 'is the key of "bob", not of "alice".'),
        (IDENTITY_FILE, mismatched_identity(), ": the public key is not the private key's."),
        (CONTACTS_FILE, '{"version": 1, "contacts": {"bob": 5}}', "is not a file this client wrote: the contact 'bob' is a number, not an object."),
        (OUTBOX_FILE, "\x00garbage", "is not a file this client wrote: Expecting value"),
    ],
    ids=["garbage-identity", "other-user", "mismatched-halves", "garbage-contacts", "garbage-outbox"],
)
def test_a_key_file_that_cannot_be_used_stops_client_py_and_stays(server, client_py, key_dir, name, content, says):
    """One sentence on stderr that names the file and what is wrong with it, exit
    status 1, nothing on stdout, and the file left as it was."""
    home = key_dir("alice")
    home.mkdir(parents=True)
    if name != IDENTITY_FILE:
        KeyStore.open(home, "alice")  # a good identity
    path = home / name
    path.write_text(content)
    alice = client_py("alice", server.target)
    assert alice.wait() == 1, alice.describe()
    alice.err.join()
    alice.out.join()
    assert alice.err.text.startswith(f"[Spartan] Cannot use your encryption keys: {path}"), alice.describe()
    assert says in alice.err.text and alice.err.text.endswith(".\n"), alice.describe()
    assert alice.err.text.count("\n") == 1, alice.describe()
    assert alice.out.text == ""
    assert path.read_text() == content


# -- messages that wait for a key -----------------------------------------------------------------


def test_messages_to_a_user_without_a_key_wait_on_disk_until_he_connects(server, client_py, plain_clients, key_dir):
    """The brief's transcript with bob's key missing: alice is told once, her lines wait
    in outbox.json in order, and go, sealed, with the ids they got when typed, once
    bob's client publishes his key; bob sees them when he accepts."""
    alice = client_py("alice", server.target)
    alice.expect(CHOOSE)
    alice.send("bob")
    alice.expect(READY.format("bob") + "\n" + NO_KEY.format("bob"))
    type_line(alice, "alice", "Hey Bob!")
    type_line(alice, "alice", "Still there?")
    assert outbox_of(key_dir("alice")) == [("bob", "Hey Bob!"), ("bob", "Still there?")]
    assert mode(key_dir("alice") / OUTBOX_FILE) == 0o600
    ids = [m["client_msg_id"] for m in json.loads((key_dir("alice") / OUTBOX_FILE).read_text())["messages"]]
    assert plain_clients("bob").history("alice").messages == []  # nothing reached the server

    bob = client_py("bob", server.target)
    accept(bob, "alice")
    bob.expect("[alice] Hey Bob!\n")
    bob.expect("[alice] Still there?\n")
    alice.expect("[Spartan] bob has set up encryption; sent 2 waiting messages.\n")
    bob.send("Hi Alice!")
    alice.expect("[bob] Hi Alice!\n")
    assert outbox_of(key_dir("alice")) == []
    assert alice.out.text.count("has not set up encryption") == 1, alice.describe()
    stored = plain_clients("bob").history("alice").messages
    assert [m.client_msg_id for m in stored[:2]] == ids
    assert {m.encryption for m in stored} == {pb.ENCRYPTION_E2E}
    for proc in (alice, bob):
        quit_(proc)


def test_waiting_messages_survive_a_restart_of_client_py(server, client_py, clients, key_dir):
    """outbox.json outlives the client: each start says what still waits; once bob has
    a key, the next start sends it, in order."""
    alice = client_py("alice", server.target)
    alice.expect(CHOOSE)
    alice.send("bob")
    alice.expect(NO_KEY.format("bob"))
    type_line(alice, "alice", "one")
    quit_(alice)

    alice = client_py("alice", server.target)
    alice.expect("[Spartan] 1 message to bob waits until bob sets up encryption.\n")
    alice.expect(CHOOSE)
    alice.send("bob")
    alice.expect(NO_KEY.format("bob"))
    type_line(alice, "alice", "two")
    quit_(alice)
    assert outbox_of(key_dir("alice")) == [("bob", "one"), ("bob", "two")]

    alice = client_py("alice", server.target)
    alice.expect("[Spartan] 2 messages to bob wait until bob sets up encryption.\n")
    quit_(alice)

    bob = clients("bob")  # publishes his key (alice's client is not running: no event reaches it)
    bob.answer_chat("alice")
    alice = client_py("alice", server.target)
    alice.expect("[Spartan] bob has set up encryption; sent 2 waiting messages.\n")
    alice.expect(CHOOSE)
    assert [bob.open(m).text for m in bob.history("alice").messages] == ["one", "two"]
    assert outbox_of(key_dir("alice")) == []
    quit_(alice)
    assert "wait until" not in alice.out.text


def test_a_decline_drops_what_waited_for_the_key(server, client_py, plain_clients, key_dir):
    """bob declines (from a client without keys): what waited for his key is not sent, and alice is told."""
    alice = client_py("alice", server.target)
    alice.expect(CHOOSE)
    alice.send("bob")
    alice.expect(NO_KEY.format("bob"))
    type_line(alice, "alice", "one")
    type_line(alice, "alice", "two")
    plain_clients("bob").answer_chat("alice", accept=False)
    alice.expect("[Spartan] bob declined your chat request.\n")
    alice.expect("[Spartan] 2 messages that waited for bob's key were not sent.\n")
    assert outbox_of(key_dir("alice")) == []
    quit_(alice)


# -- a key that changes -------------------------------------------------------------------------


def test_a_changed_key_is_warned_about_and_old_messages_still_open(server, client_py, key_dir):
    """bob sets up again (his key directory is gone, and an operator forgot his
    log-in key: spartan-server -reset-key bob): alice's client warns, trusts
    the new key, keeps the old one, and still opens what was sealed under it; bob's
    new client cannot open what was sealed for his old key, and says so."""
    alice = client_py("alice", server.target)
    alice.expect(CHOOSE)
    bob = client_py("bob", server.target)
    bob.expect(CHOOSE)
    alice.send("bob")
    alice.expect(READY.format("bob"))
    accept(bob, "alice")
    alice.expect("[Spartan] bob accepted your chat request.\n")
    alice.send("before the change")
    bob.expect("[alice] before the change\n")
    old = fingerprint_of(key_dir("bob"))
    quit_(bob)

    shutil.rmtree(key_dir("bob"))
    server.stop()  # a bolt store: the operator stops the server to reset a key
    reset = server.run("-reset-key", "bob")
    assert reset.returncode == 0, reset.stderr
    server.start()
    alice.expect("[Spartan] Reconnected.\n")
    bob = client_py("bob", server.target)
    bob.expect(CHOOSE)
    new = fingerprint_of(key_dir("bob"))
    assert new != old
    alice.expect(changed_warning("bob", old, new))
    contact = json.loads((key_dir("alice") / CONTACTS_FILE).read_text())["contacts"]["bob"]
    assert e2e.fingerprint(base64.b64decode(contact["public_key"])) == new
    assert [e2e.fingerprint(base64.b64decode(k)) for k in contact["previous_keys"]] == [old]

    bob.send("alice")  # the server remembers the chat: no request this time
    bob.expect(READY.format("alice"))
    bob.send("after the change")
    alice.expect("[bob] after the change\n")
    alice.send("/history")
    alice.expect("[alice] before the change\n[bob] after the change\n")
    alice.send("/whois bob")
    today = dt.date.today().isoformat()
    alice.expect(f"[Spartan] bob's key fingerprint: {new} (first seen {today}).\n")
    bob.send("/history")
    bob.expect(COULD_NOT.format("alice") + "[bob] after the change\n")
    assert alice.out.text.count("WARNING") == 1, alice.describe()
    for proc in (alice, bob):
        quit_(proc)


def test_a_key_changed_while_apart_is_warned_about_when_the_chat_opens(
    server, start_server, client_py, clients, key_dir, inbox
):
    """bob sets up again (a new key directory) and, on another server, publishes
    his new key before the two chat there: no MESSAGE_TYPE_KEY_PUBLISHED reaches
    alice. Her client.py, with the same key directory, checks the key on file as
    the chat opens: it warns, and seals for the new key, so bob reads what she sends."""
    bob = clients("bob", server)
    bob.request_chat("alice")
    alice = client_py("alice", server.target)
    accept(alice, "bob")
    bob.e2e.send_text("alice", "before")
    alice.expect("[bob] before\n")
    quit_(alice)
    old = fingerprint_of(key_dir("bob"))
    contact = json.loads((key_dir("alice") / CONTACTS_FILE).read_text())["contacts"]["bob"]
    assert e2e.fingerprint(base64.b64decode(contact["public_key"])) == old

    shutil.rmtree(key_dir("bob"))
    second = start_server()
    bob = clients("bob", second)  # a new key, published before any chat there
    new = fingerprint_of(key_dir("bob"))
    assert new != old
    alice = client_py("alice", second.target)
    alice.expect(CHOOSE)
    alice.send("bob")
    alice.expect(READY.format("bob"))
    alice.expect(changed_warning("bob", old, new))
    type_line(alice, "alice", "after")
    bob.answer_chat("alice", accept=True)
    request, msg = inbox(bob).take(2)
    assert request.type == pb.MESSAGE_TYPE_CHAT_REQUEST
    assert (msg.type, msg.sender, bob.open(msg).text) == (pb.MESSAGE_TYPE_TEXT, "alice", "after")
    assert alice.out.text.count("WARNING") == 1, alice.describe()
    quit_(alice)


# -- what arrives ---------------------------------------------------------------------------------


def test_payloads_that_do_not_open_show_a_warning_and_the_client_carries_on(server, client_py, clients):
    """Sent raw through gRPC by alice's library client: an altered payload, a cut one,
    one moved to another message id, an unknown scheme version, an unknown encryption
    value, plaintext (said or not) and bytes that are not text. bob's client.py shows
    a line for each, in order, the same in /history, and goes on."""
    alice = clients("alice")
    alice.request_chat("bob")
    bob = client_py("bob", server.target)
    accept(bob, "alice")
    good = alice.e2e.seal("bob", "sealed", "m-0")
    altered = good[:-1] + bytes([good[-1] ^ 1])
    sent = [
        ("m-1", altered, pb.ENCRYPTION_E2E, COULD_NOT.format("alice")),
        ("m-2", good[:20], pb.ENCRYPTION_E2E, COULD_NOT.format("alice")),
        ("m-3", good, pb.ENCRYPTION_E2E, COULD_NOT.format("alice")),  # sealed for the id m-0
        ("m-4", b"\x02" + good[1:], pb.ENCRYPTION_E2E, UNKNOWN.format("alice")),
        ("m-5", alice.e2e.seal("bob", "future", "m-5"), 7, UNKNOWN.format("alice")),
        ("m-6", b"plain words", pb.ENCRYPTION_PLAINTEXT, "[alice] (not encrypted) plain words\n"),
        ("m-7", b"nothing said", pb.ENCRYPTION_UNSPECIFIED, "[alice] (not encrypted) nothing said\n"),
        ("m-8", b"\xff\xfe", pb.ENCRYPTION_PLAINTEXT, "[alice] (not encrypted) (2 bytes that are not text)\n"),
        ("m-9", alice.e2e.seal("bob", "fine\x1b[2J", "m-9"), pb.ENCRYPTION_E2E, "[alice] fine\ufffd[2J\n"),
    ]
    for msg_id, payload, encryption, _ in sent:
        alice.send_payload("bob", payload, encryption, client_msg_id=msg_id)
    for *_, line in sent:
        bob.expect(line)
    bob.send(f"/history {len(sent)}")
    bob.expect(f"[Spartan] The last {len(sent)} messages with alice:\n" + "".join(line for *_, line in sent))
    type_line(bob, "bob", "still here")
    assert alice.open(alice.history("bob").messages[-1]).text == "still here"
    quit_(bob)


def test_a_message_from_a_user_without_a_key_cannot_be_opened(server, client_py, plain_clients):
    charlie = plain_clients("charlie")  # never published a key
    charlie.request_chat("bob")
    bob = client_py("bob", server.target)
    accept(bob, "charlie")
    charlie.send_payload("bob", b"\x01" + bytes(40), pb.ENCRYPTION_E2E)
    bob.expect(COULD_NOT.format("charlie"))
    charlie.send_plaintext("bob", "hello")
    bob.expect("[charlie] (not encrypted) hello\n")
    quit_(bob)


# -- /whois ---------------------------------------------------------------------------------------


def test_whois_shows_fingerprints(server, client_py, clients, key_dir):
    alice = client_py("alice", server.target)
    alice.expect(CHOOSE)
    alice.send("/whois bob")
    alice.expect("[Spartan] bob has not set up encryption yet.\n")
    clients("bob")  # publishes bob's key
    alice.send("/whois bob")
    today = dt.date.today().isoformat()
    alice.expect(f"[Spartan] bob's key fingerprint: {fingerprint_of(key_dir('bob'))} (first seen {today}).\n")
    alice.send("/whois")
    alice.expect(f"[Spartan] Your key fingerprint: {fingerprint_of(key_dir('alice'))}.\n")
    alice.send("/whois zed")
    alice.expect('[Spartan] There is no user named "zed". User list: bob,charlie,eve\n')
    quit_(alice)


# -- the key is published again -------------------------------------------------------------------


def test_the_key_is_published_again_after_a_reconnection(start_server, client_py, plain_clients, key_dir):
    """A memory server restarts and forgets every key: alice's client publishes hers
    again as it reconnects."""
    srv = start_server(store="{kind: memory}")
    alice = client_py("alice", srv.target)
    alice.expect(CHOOSE)
    bob = plain_clients("bob", srv)
    public = base64.b64decode(json.loads((key_dir("alice") / IDENTITY_FILE).read_text())["public_key"])
    assert bob.get_key("alice") == public
    srv.stop()
    srv.start()
    alice.expect("[Spartan] Reconnected.\n", timeout=15)
    alice.send("/users")  # handled once the reconnection (and its publishing) is done
    alice.expect("[Spartan] User list: bob,charlie,eve\n")
    assert bob.get_key("alice") == public
    quit_(alice)


# -- the server never sees plaintext --------------------------------------------------------------


def files_holding(root: Path, needle: bytes) -> list:
    """The files under ``root`` whose bytes hold ``needle``."""
    return [p for p in sorted(root.rglob("*")) if p.is_file() and needle in p.read_bytes()]


def test_the_server_stores_and_logs_no_plaintext(start_server, client_py, plain_clients):
    """Two client.py chat (a message waiting for a key, both directions, /history),
    on the bolt store with debug logging; then neither the store file nor the log
    holds the marker. A plaintext control message sent raw is found, so the search
    does find what is there."""
    srv = start_server(log_level="debug")
    home = srv.config.parent
    marker = "MARKER-7f3a9c-secret"
    alice = client_py("alice", srv.target)
    alice.expect(CHOOSE)
    alice.send("bob")
    alice.expect(NO_KEY.format("bob"))
    type_line(alice, "alice", f"{marker} waiting for a key")
    bob = client_py("bob", srv.target)
    accept(bob, "alice")
    bob.expect(f"[alice] {marker} waiting for a key\n")
    bob.send(f"{marker} from bob")
    alice.expect(f"[bob] {marker} from bob\n")
    alice.send(f"{marker} from alice")
    bob.expect(f"[alice] {marker} from alice\n")
    bob.send("/history")
    bob.expect(f"[bob] {marker} from bob\n[alice] {marker} from alice\n")
    control = "CONTROL-51c2-plaintext"
    plain_clients("charlie", srv).request_chat("eve")
    plain_clients("charlie", srv).send_plaintext("eve", control)
    for proc in (alice, bob):
        quit_(proc)
    srv.stop()
    store = home / "data" / "spartan.db"
    assert store.is_file() and srv.log_path.stat().st_size > 0
    assert files_holding(home, control.encode()) == [store]
    assert files_holding(home, marker.encode()) == []
    assert files_holding(home, marker.encode("utf-16-le")) == []


def redis_command(port: int, *args: str) -> bytes:
    """Sends one command to the redis-server on ``port`` (RESP) and returns its first reply line."""
    import socket

    request = f"*{len(args)}\r\n".encode() + b"".join(f"${len(a.encode())}\r\n{a}\r\n".encode() for a in args)
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT) as conn:
        conn.sendall(request)
        reply = b""
        while not reply.endswith(b"\r\n"):
            chunk = conn.recv(4096)
            if not chunk:
                break
            reply += chunk
    return reply


def test_a_cluster_keeps_no_plaintext_in_redis_or_its_logs(cluster, redis_server, client_py, plain_clients):
    """alice and bob on two nodes sharing one Redis: after they chat, a dump of every
    Redis key (uncompressed) and both servers' logs hold no marker; a plaintext control
    message is in the dump."""
    node1, node2 = cluster(2, log_level="debug")
    marker = "MARKER-c1u5t3r-secret"
    alice = client_py("alice", node1.target)
    alice.expect(CHOOSE)
    alice.send("bob")
    alice.expect(NO_KEY.format("bob"))
    type_line(alice, "alice", f"{marker} one")
    bob = client_py("bob", node2.target)
    accept(bob, "alice")
    bob.expect(f"[alice] {marker} one\n")
    bob.send(f"{marker} two")
    alice.expect(f"[bob] {marker} two\n")
    control = "CONTROL-r3d1s-plaintext"
    plain_clients("charlie", node2).request_chat("eve")
    plain_clients("charlie", node2).send_plaintext("eve", control)
    for proc in (alice, bob):
        quit_(proc)
    assert redis_command(redis_server.port, "CONFIG", "SET", "rdbcompression", "no") == b"+OK\r\n"
    assert redis_command(redis_server.port, "SAVE") == b"+OK\r\n"
    for node in (node1, node2):
        node.stop()
    dump = redis_server.home / "dump.rdb"
    assert control.encode() in dump.read_bytes()
    assert marker.encode() not in dump.read_bytes()
    for node in (node1, node2):
        assert files_holding(node.config.parent, marker.encode()) == []
