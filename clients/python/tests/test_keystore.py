"""spartan_keystore: the key directory and its files (docs/SECURITY.md,
"What a client keeps, and where"), without a server: where it is, the files'
format (the Go CLI reads the same files), modes, atomic writes, the log-in key
(and its addition to an older identity), trust on first use, the outbox, the
groups' sender keys, and files that cannot be used."""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import stat
from pathlib import Path

import pytest

import spartan_auth as auth
import spartan_e2e as e2e
from spartan_keystore import (
    CONTACTS_FILE,
    GROUPS_FILE,
    IDENTITY_FILE,
    MAX_SENDER_KEYS,
    OUTBOX_FILE,
    GroupState,
    KeyStore,
    KeyStoreError,
    MySenderKey,
    Waiting,
    config_dir,
    default_key_dir,
    format_time,
    parse_time,
    safe_name,
)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


# -- where -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "environ, platform, want",
    [
        ({"XDG_CONFIG_HOME": "/xdg", "HOME": "/home/a"}, "linux", "/xdg"),
        ({"XDG_CONFIG_HOME": "relative/xdg", "HOME": "/home/a"}, "linux", "/home/a/.config"),
        ({"XDG_CONFIG_HOME": "", "HOME": "/home/a"}, "linux", "/home/a/.config"),
        ({"HOME": "/home/a"}, "freebsd13", "/home/a/.config"),
        ({"XDG_CONFIG_HOME": "/xdg", "HOME": "/Users/a"}, "darwin", "/Users/a/Library/Application Support"),
        ({"APPDATA": r"C:\Users\a\AppData\Roaming", "HOME": "/x"}, "win32", r"C:\Users\a\AppData\Roaming"),
    ],
    ids=["xdg", "xdg-relative", "xdg-empty", "other-unix", "macos", "windows"],
)
def test_config_dir(environ, platform, want):
    assert str(config_dir(environ, platform)) == want


def test_config_dir_without_appdata_on_windows_says_so():
    with pytest.raises(KeyStoreError, match=r"%APPDATA% is not set.*--key-dir"):
        config_dir({"HOME": "/x"}, "win32")


@pytest.mark.parametrize(
    "name, want",
    [
        ("127.0.0.1:3000", "127.0.0.1_3000"),
        ("localhost:3000", "localhost_3000"),
        ("[::1]:3000", "___1__3000"),
        ("node-1.example.com:443", "node-1.example.com_443"),
        ("alice", "alice"),
        ("al/ice é", "al_ice__"),
        ("", "_"),
        (".", "__"),
        ("..", "___"),
        ("a..b", "a..b"),
    ],
)
def test_safe_name(name, want):
    assert safe_name(name) == want


def test_default_key_dir():
    env = {"XDG_CONFIG_HOME": "/cfg", "HOME": "/home/a"}
    assert default_key_dir("127.0.0.1:3000", "alice", env) == Path("/cfg/spartan/127.0.0.1_3000/alice")
    assert default_key_dir("localhost:3000", "..", env) == Path("/cfg/spartan/localhost_3000/___")


# -- the files ---------------------------------------------------------------------------------


def test_first_open_makes_a_private_directory_and_identity(tmp_path):
    home = tmp_path / "a" / "b" / "alice"
    store = KeyStore.open(home, "alice")
    assert store.created
    for d in (tmp_path / "a", tmp_path / "a" / "b", home):
        assert mode(d) == 0o700, d
    path = home / IDENTITY_FILE
    assert mode(path) == 0o600
    doc = json.loads(path.read_text())
    assert list(doc) == ["version", "user", "private_key", "public_key", "signing_key", "signing_public_key"]
    assert (doc["version"], doc["user"]) == (1, "alice")
    private = base64.b64decode(doc["private_key"], validate=True)
    public = base64.b64decode(doc["public_key"], validate=True)
    assert len(private) == len(public) == 32
    assert doc["public_key"] == b64(public)  # standard base64, with its padding
    assert public == store.public_key == e2e.public_bytes(e2e.private_key_from_bytes(private))
    assert public[31] & 0x80 == 0  # as X25519 encodes it: the server refuses the top bit set
    # The log-in key: the Ed25519 seed (32 bytes, not Go's 64-byte form) and its public key.
    seed = base64.b64decode(doc["signing_key"], validate=True)
    signing_public = base64.b64decode(doc["signing_public_key"], validate=True)
    assert len(seed) == len(signing_public) == 32 and doc["signing_key"] == b64(seed)
    assert signing_public == store.signing_public_key == auth.signing_public_bytes(auth.signing_key_from_seed(seed))
    assert auth.signing_seed(store.signing_key) == seed
    assert sorted(p.name for p in home.iterdir()) == [IDENTITY_FILE]  # no temporary file left


def test_the_identity_is_reused(tmp_path):
    first = KeyStore.open(tmp_path / "k", "alice")
    before = (tmp_path / "k" / IDENTITY_FILE).read_bytes()
    again = KeyStore.open(tmp_path / "k", "alice")
    assert not again.created
    assert again.public_key == first.public_key and again.fingerprint() == first.fingerprint()
    assert (tmp_path / "k" / IDENTITY_FILE).read_bytes() == before


def test_an_existing_directory_given_is_used_as_it_is(tmp_path):
    given = tmp_path / "mine"
    given.mkdir(mode=0o755)
    KeyStore.open(given, "alice")
    assert (given / IDENTITY_FILE).is_file()


def identity_doc(user: str = "alice", key=None) -> dict:
    """An identity.json from before logging in existed: no log-in key."""
    key = key or e2e.generate_key()
    return {
        "version": 1,
        "user": user,
        "private_key": b64(e2e.private_bytes(key)),
        "public_key": b64(e2e.public_bytes(key)),
    }


def signing_doc(seed: bytes = bytes(range(32))) -> dict:
    """identity.json's log-in fields for ``seed``."""
    public = auth.signing_public_bytes(auth.signing_key_from_seed(seed))
    return {"signing_key": b64(seed), "signing_public_key": b64(public)}


def mismatched() -> dict:
    doc = identity_doc()
    doc["public_key"] = identity_doc()["public_key"]
    return doc


@pytest.mark.parametrize(
    "content, says",
    [
        ("{not json", "is not a file this client wrote"),
        ("[1, 2]", "is not a file this client wrote: it holds a list"),
        (json.dumps(identity_doc("bob")), 'is the key of "bob", not of "alice"'),
        (json.dumps(mismatched()), "the public key is not the private key's"),
        (json.dumps({**identity_doc(), "version": 2}), "is of version 2; this client knows version 1"),
        (json.dumps({**identity_doc(), "private_key": "abc"}), "the private key is not standard base64"),
        (json.dumps({**identity_doc(), "private_key": b64(bytes(31))}), "the private key is 31 bytes, not 32"),
        (json.dumps({k: v for k, v in identity_doc().items() if k != "public_key"}), "the public key is null"),
        ("\xff\xfe", "is not a file this client wrote"),
        (
            json.dumps({**identity_doc(), **signing_doc(), "signing_public_key": signing_doc(bytes(32))["signing_public_key"]}),
            "the signing public key is not the signing key's",
        ),
        (json.dumps({**identity_doc(), **signing_doc(), "signing_key": b64(bytes(64))}), "signing key is 64 bytes, not 32"),
        (json.dumps({**identity_doc(), **signing_doc(), "signing_key": "abc"}), "signing key is not standard base64"),
        (json.dumps({**identity_doc(), "signing_key": b64(bytes(32))}), "the signing public key is null"),
    ],
    ids=[
        "garbage", "list", "other-user", "mismatched", "version", "base64", "short", "no-public", "not-utf8",
        "signing-mismatched", "signing-64", "signing-base64", "signing-no-public",
    ],
)
def test_an_identity_that_cannot_be_used_is_an_error_and_stays(tmp_path, content, says):
    home = tmp_path / "k"
    home.mkdir()
    path = home / IDENTITY_FILE
    path.write_bytes(content.encode("utf-8", errors="surrogateescape") if content != "\xff\xfe" else b"\xff\xfe")
    before = path.read_bytes()
    with pytest.raises(KeyStoreError) as err:
        KeyStore.open(home, "alice")
    assert says in str(err.value) and str(path) in str(err.value)
    assert path.read_bytes() == before  # never replaced


def test_an_identity_without_a_log_in_key_gets_one_and_keeps_the_rest(tmp_path):
    """A file from before logging in existed: the two fields are added, written
    whole (mode 0600, no temporary file left), every other field kept as it was;
    the next open reads the same key."""
    home = tmp_path / "k"
    home.mkdir()
    path = home / IDENTITY_FILE
    old = {**identity_doc(), "note": "kept"}
    path.write_text(json.dumps(old))
    path.chmod(0o644)
    store = KeyStore.open(home, "alice")
    assert not store.created
    doc = json.loads(path.read_text())
    assert {k: doc[k] for k in old} == old
    assert list(doc)[-2:] == ["signing_key", "signing_public_key"]
    assert base64.b64decode(doc["signing_public_key"]) == store.signing_public_key
    assert auth.signing_seed(store.signing_key) == base64.b64decode(doc["signing_key"])
    assert mode(path) == 0o600
    assert sorted(p.name for p in home.iterdir()) == [IDENTITY_FILE]
    before = path.read_bytes()
    again = KeyStore.open(home, "alice")
    assert again.signing_public_key == store.signing_public_key and path.read_bytes() == before


def test_a_log_in_key_as_the_go_cli_writes_it_is_read(tmp_path):
    """identity.json's signing_key is the 32-byte seed (Go's ed25519.PrivateKey.Seed)."""
    home = tmp_path / "k"
    home.mkdir()
    (home / IDENTITY_FILE).write_text(json.dumps({**identity_doc(), **signing_doc(bytes(range(32)))}))
    store = KeyStore.open(home, "alice")
    assert auth.signing_seed(store.signing_key) == bytes(range(32))
    assert store.signing_public_key == base64.b64decode(signing_doc()["signing_public_key"])


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a file of mode 0000 anyway")
def test_an_unreadable_identity_is_an_error(tmp_path):
    KeyStore.open(tmp_path, "alice")
    (tmp_path / IDENTITY_FILE).chmod(0)
    with pytest.raises(KeyStoreError, match="read .*identity.json: Permission denied"):
        KeyStore.open(tmp_path, "alice")


def test_a_key_directory_that_is_a_file_is_an_error(tmp_path):
    (tmp_path / "k").write_text("")
    with pytest.raises(KeyStoreError, match="is not a directory"):
        KeyStore.open(tmp_path / "k", "alice")


# -- contacts ----------------------------------------------------------------------------------

T0 = dt.datetime(2026, 11, 27, 10, 4, 5, tzinfo=dt.timezone.utc)


def test_trust_on_first_use_then_a_change_keeps_the_old_key(tmp_path):
    store = KeyStore.open(tmp_path, "alice")
    k1, k2, k3 = (e2e.public_bytes(e2e.generate_key()) for _ in range(3))
    assert store.trust("bob", k1, now=T0) is None
    assert store.trust("bob", k1) is None  # the same again: nothing changes
    assert store.contact("bob") == (k1, T0, ())
    assert mode(tmp_path / CONTACTS_FILE) == 0o600
    assert json.loads((tmp_path / CONTACTS_FILE).read_text()) == {
        "version": 1,
        "contacts": {"bob": {"public_key": b64(k1), "first_seen": "2026-11-27T10:04:05Z"}},
    }
    assert store.trust("bob", k2) == k1
    assert store.trust("bob", k3) == k2
    assert store.contact("bob") == (k3, T0, (k2, k1))  # newest first; first_seen stays
    assert store.trust("bob", k1) == k3  # an old key back: it leaves previous_keys
    assert store.contact("bob").previous_keys == (k3, k2)
    doc = json.loads((tmp_path / CONTACTS_FILE).read_text())
    assert doc["contacts"]["bob"]["previous_keys"] == [b64(k3), b64(k2)]
    # Another client (the Go CLI) opening the directory reads the same.
    assert KeyStore.open(tmp_path, "alice").contact("bob") == store.contact("bob")


def test_contacts_as_the_go_cli_may_write_them(tmp_path):
    """No previous_keys (Go leaves an empty list out), a time with nanoseconds or an offset."""
    KeyStore.open(tmp_path, "alice")
    k1, k2 = bytes(range(32)), bytes(range(1, 33))
    (tmp_path / CONTACTS_FILE).write_text(
        json.dumps(
            {
                "version": 1,
                "contacts": {
                    "bob": {"public_key": b64(k1), "first_seen": "2026-11-27T10:04:05.123456789Z"},
                    "eve": {"public_key": b64(k2), "first_seen": "2026-11-27T12:04:05+02:00", "previous_keys": None},
                },
            }
        )
    )
    store = KeyStore.open(tmp_path, "alice")
    assert store.contact("bob") == (k1, T0.replace(microsecond=123456), ())
    assert store.contact("eve") == (k2, T0, ())
    assert store.contact("zed") is None


def test_another_process_s_change_is_kept(tmp_path):
    """Two clients of one user (the Go CLI and client.py) share the directory: a change
    reads the file again first, so neither undoes the other's."""
    one, two = KeyStore.open(tmp_path, "alice"), KeyStore.open(tmp_path, "alice")
    one.trust("bob", bytes(range(32)))
    two.trust("eve", bytes(range(1, 33)))
    assert set(json.loads((tmp_path / CONTACTS_FILE).read_text())["contacts"]) == {"bob", "eve"}
    one.hold(Waiting("bob", "m1", "one"))
    two.hold(Waiting("bob", "m2", "two"))
    assert [w.client_msg_id for w in KeyStore.open(tmp_path, "alice").waiting()] == ["m1", "m2"]


@pytest.mark.parametrize(
    "doc, says",
    [
        ("garbage", "is not a file this client wrote"),
        ({"version": 1, "contacts": []}, '"contacts" is a list, not an object'),
        ({"version": 1, "contacts": {"bob": {"public_key": "!!"}}}, "the contact 'bob''s public_key is not standard base64"),
        ({"version": 1, "contacts": {"bob": {"public_key": b64(bytes(32))}}}, "first_seen: a time is an RFC 3339 string"),
        ({"version": 1, "contacts": {"bob": {"public_key": b64(bytes(32)), "first_seen": "yesterday"}}}, "'yesterday' is not an RFC 3339 time"),
        ({"version": 1, "contacts": {"bob": {"public_key": b64(bytes(32)), "first_seen": "2026-01-01T00:00:00Z", "previous_keys": "x"}}}, "previous_keys is a string, not a list"),
        ({"contacts": {}}, "it has no version"),
    ],
    ids=["garbage", "list", "base64", "no-time", "bad-time", "previous", "no-version"],
)
def test_contacts_that_cannot_be_used_are_an_error_and_stay(tmp_path, doc, says):
    KeyStore.open(tmp_path, "alice")
    path = tmp_path / CONTACTS_FILE
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    before = path.read_bytes()
    with pytest.raises(KeyStoreError) as err:
        KeyStore.open(tmp_path, "alice")
    assert says in str(err.value) and str(path) in str(err.value)
    assert path.read_bytes() == before


# -- the outbox --------------------------------------------------------------------------------


def test_the_outbox_keeps_the_order_typed_and_survives_a_restart(tmp_path):
    store = KeyStore.open(tmp_path, "alice")
    assert store.waiting() == []
    store.hold(Waiting("bob", "m1", "Hey Bob!"))
    store.hold(Waiting("eve", "m2", "Hi Eve"))
    store.hold(Waiting("bob", "m3", "Still there? ünïcödé 😀"))
    store.hold(Waiting("bob", "m1", "Hey Bob!"))  # the same id again: kept once
    assert mode(tmp_path / OUTBOX_FILE) == 0o600
    assert json.loads((tmp_path / OUTBOX_FILE).read_text()) == {
        "version": 1,
        "messages": [
            {"to": "bob", "client_msg_id": "m1", "text": "Hey Bob!"},
            {"to": "eve", "client_msg_id": "m2", "text": "Hi Eve"},
            {"to": "bob", "client_msg_id": "m3", "text": "Still there? ünïcödé 😀"},
        ],
    }
    again = KeyStore.open(tmp_path, "alice")
    assert [w.text for w in again.waiting("bob")] == ["Hey Bob!", "Still there? ünïcödé 😀"]
    again.release("m1")
    again.release("nope")
    assert [w.client_msg_id for w in KeyStore.open(tmp_path, "alice").waiting()] == ["m2", "m3"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [IDENTITY_FILE, OUTBOX_FILE]  # no temporary file left
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary file left


@pytest.mark.parametrize(
    "doc, says",
    [
        ("[", "is not a file this client wrote"),
        ({"version": 1, "messages": {}}, '"messages" is an object, not a list'),
        ({"version": 1, "messages": [{"to": "bob", "client_msg_id": 7, "text": "x"}]}, 'message 1\'s "client_msg_id" is a number'),
        ({"version": 1, "messages": ["x"]}, "message 1 is a string, not an object"),
    ],
    ids=["garbage", "object", "id", "string"],
)
def test_an_outbox_that_cannot_be_used_is_an_error_and_stays(tmp_path, doc, says):
    KeyStore.open(tmp_path, "alice")
    path = tmp_path / OUTBOX_FILE
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    before = path.read_bytes()
    with pytest.raises(KeyStoreError) as err:
        KeyStore.open(tmp_path, "alice")
    assert says in str(err.value) and str(path) in str(err.value)
    assert path.read_bytes() == before


def test_a_write_that_fails_is_an_error_and_leaves_the_old_file(tmp_path):
    store = KeyStore.open(tmp_path, "alice")
    store.hold(Waiting("bob", "m1", "one"))
    before = (tmp_path / OUTBOX_FILE).read_bytes()
    if os.geteuid() == 0:
        pytest.skip("root writes into a directory of mode 0500 anyway")
    tmp_path.chmod(0o500)
    try:
        with pytest.raises(KeyStoreError, match="write .*outbox.json"):
            store.hold(Waiting("bob", "m2", "two"))
    finally:
        tmp_path.chmod(0o700)
    assert (tmp_path / OUTBOX_FILE).read_bytes() == before


# -- groups.json -------------------------------------------------------------------------------


def sender_key(n: int) -> e2e.SenderKey:
    """A sender key whose bytes say which it is."""
    return e2e.SenderKey(bytes([n]) * e2e.KEY_ID_SIZE, bytes([n]) * e2e.KEY_SIZE)


def key_doc(k: e2e.SenderKey) -> dict:
    return {"id": b64(k.id), "key": b64(k.key)}


def test_groups_file_layout(tmp_path):
    """groups.json as Go's keystore writes it: groups and senders by name, "mine" with
    the members (sorted) it was made for and those who got it; mode 0600, written whole."""
    store = KeyStore.open(tmp_path, "alice")
    assert store.my_sender_key("team") is None and store.group_state("team") == GroupState(None, {})
    k1, k2, k3 = sender_key(1), sender_key(2), sender_key(3)
    store.add_sender_key("team", "alice", k1)
    store.set_my_sender_key("team", MySenderKey(k1.id, k1.key, ("alice", "bob", "charlie")))
    store.set_my_sender_key("team", store.my_sender_key("team")._replace(shared=("charlie",)))
    store.add_sender_key("team", "bob", k2)
    store.add_sender_key("ops", "bob", k3)
    assert mode(tmp_path / GROUPS_FILE) == 0o600
    assert json.loads((tmp_path / GROUPS_FILE).read_text()) == {
        "version": 1,
        "groups": {
            "ops": {"senders": {"bob": [key_doc(k3)]}},
            "team": {
                "mine": {**key_doc(k1), "members": ["alice", "bob", "charlie"], "shared": ["charlie"]},
                "senders": {"alice": [key_doc(k1)], "bob": [key_doc(k2)]},
            },
        },
    }
    text = (tmp_path / GROUPS_FILE).read_text()
    assert list(json.loads(text)["groups"]) == ["ops", "team"]  # sorted, as Go writes a map
    assert list(json.loads(text)["groups"]["team"]["mine"]) == ["id", "key", "members", "shared"]
    again = KeyStore.open(tmp_path, "alice")
    assert again.my_sender_key("team") == MySenderKey(k1.id, k1.key, ("alice", "bob", "charlie"), ("charlie",))
    assert again.my_sender_key("team").sender_key == k1
    assert (again.sender_key("team", "bob", k2.id), again.sender_key("ops", "bob", k3.id)) == (k2.key, k3.key)
    assert again.sender_key("team", "bob", k3.id) is None and again.sender_key("team", "eve", k2.id) is None
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary file left


def test_sender_keys_newest_first_and_at_most_16(tmp_path):
    store = KeyStore.open(tmp_path, "alice")
    for n in range(1, 21):
        store.add_sender_key("team", "bob", sender_key(n))
    keys = store.group_state("team").senders["bob"]
    assert len(keys) == MAX_SENDER_KEYS == 16
    assert [k.id[0] for k in keys] == list(range(20, 4, -1))
    assert store.sender_key("team", "bob", sender_key(4).id) is None  # the oldest went
    store.add_sender_key("team", "bob", sender_key(10))  # one that comes again moves to the front, once
    assert [k.id[0] for k in KeyStore.open(tmp_path, "alice").group_state("team").senders["bob"]][:3] == [10, 20, 19]
    assert len(KeyStore.open(tmp_path, "alice").group_state("team").senders["bob"]) == 16


def test_unshare_forgets_who_has_the_user_s_keys(tmp_path):
    """bob's identity key changed: every group whose key he had must send it again."""
    store = KeyStore.open(tmp_path, "alice")
    for group, shared in (("team", ("bob", "charlie")), ("ops", ("charlie",)), ("x", ("bob",))):
        k = sender_key(len(group))
        store.set_my_sender_key(group, MySenderKey(k.id, k.key, ("alice", "bob", "charlie"), shared))
    store.unshare("bob")
    again = KeyStore.open(tmp_path, "alice")
    assert [again.my_sender_key(g).shared for g in ("team", "ops", "x")] == [("charlie",), ("charlie",), ()]
    before = (tmp_path / GROUPS_FILE).read_bytes()
    store.unshare("eve")  # nobody to forget: nothing written
    assert (tmp_path / GROUPS_FILE).read_bytes() == before


def test_groups_as_the_go_cli_may_write_them(tmp_path):
    """Go writes a key shared with nobody yet as "shared": null, and leaves out "mine"
    and "senders" when there are none."""
    KeyStore.open(tmp_path, "alice")
    k = sender_key(7)
    (tmp_path / GROUPS_FILE).write_text(
        json.dumps(
            {
                "version": 1,
                "groups": {
                    "team": {"mine": {**key_doc(k), "members": ["alice", "bob"], "shared": None}},
                    "ops": {"senders": {"bob": [key_doc(k)]}},
                    "empty": {},
                },
            }
        )
    )
    store = KeyStore.open(tmp_path, "alice")
    assert store.my_sender_key("team") == MySenderKey(k.id, k.key, ("alice", "bob"), ())
    assert store.group_state("team").senders == {}
    assert store.sender_key("ops", "bob", k.id) == k.key and store.my_sender_key("ops") is None
    assert store.group_state("empty") == GroupState(None, {})


def test_another_process_s_group_change_is_kept(tmp_path):
    """Every change reads groups.json again first, as for the other files."""
    one, two = KeyStore.open(tmp_path, "alice"), KeyStore.open(tmp_path, "alice")
    one.add_sender_key("team", "bob", sender_key(1))
    two.set_my_sender_key("team", MySenderKey(sender_key(2).id, sender_key(2).key, ("alice", "bob")))
    one.add_sender_key("ops", "charlie", sender_key(3))
    again = KeyStore.open(tmp_path, "alice")
    assert again.sender_key("team", "bob", sender_key(1).id) == sender_key(1).key
    assert again.my_sender_key("team").id == sender_key(2).id
    assert again.sender_key("ops", "charlie", sender_key(3).id) == sender_key(3).key


@pytest.mark.parametrize(
    "doc, says",
    [
        ("{", "is not a file this client wrote"),
        ({"version": 2, "groups": {}}, "is of version 2; this client knows version 1"),
        ({"version": 1, "groups": []}, '"groups" is a list, not an object'),
        ({"version": 1, "groups": {"team": {"mine": {"id": "AA==", "key": b64(bytes(32))}}}}, "the id of the user's key for the group 'team' is 1 bytes, not 8"),
        ({"version": 1, "groups": {"team": {"mine": {"id": b64(bytes(8)), "key": b64(bytes(32)), "members": "bob"}}}}, "\"members\" of the user's key for the group 'team' is a string, not a list of names"),
        ({"version": 1, "groups": {"team": {"senders": {"bob": {}}}}}, "the keys of 'bob' for the group 'team' are an object, not a list"),
        ({"version": 1, "groups": {"team": {"senders": {"bob": [{"id": b64(bytes(8)), "key": "!"}]}}}}, "bob's key 1 for the group 'team' is not standard base64"),
    ],
    ids=["garbage", "version", "list", "short-id", "members", "senders", "base64"],
)
def test_groups_that_cannot_be_used_are_an_error_and_stay(tmp_path, doc, says):
    KeyStore.open(tmp_path, "alice")
    path = tmp_path / GROUPS_FILE
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    before = path.read_bytes()
    with pytest.raises(KeyStoreError) as err:
        KeyStore.open(tmp_path, "alice")
    assert says in str(err.value) and str(path) in str(err.value)
    assert path.read_bytes() == before


# -- times -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, want",
    [
        ("2026-11-27T10:04:05Z", T0),
        ("2026-11-27t10:04:05z", T0),
        ("2026-11-27T10:04:05.5Z", T0.replace(microsecond=500000)),
        ("2026-11-27T11:04:05+01:00", T0),
        ("2026-11-27T05:04:05-05:00", T0),
        ("0001-01-01T00:00:00Z", dt.datetime(1, 1, 1, tzinfo=dt.timezone.utc)),
    ],
)
def test_parse_time(text, want):
    assert parse_time(text) == want


@pytest.mark.parametrize("bad", ["", "2026-11-27", "2026-11-27T10:04:05", "2026-13-27T10:04:05Z", 5, None])
def test_parse_time_refuses(bad):
    with pytest.raises(ValueError):
        parse_time(bad)


def test_format_time_is_rfc3339_utc_to_the_second():
    when = dt.datetime(2026, 11, 27, 11, 4, 5, 999, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    assert format_time(when) == "2026-11-27T10:04:05Z"
