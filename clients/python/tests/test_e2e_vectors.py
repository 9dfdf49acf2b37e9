"""The end-to-end scheme (spartan_e2e.py) against the shared vectors.

``testdata/e2e/vectors.json`` (``../../testdata`` from clients/python) is
written by the Go implementation, the specification (``clients/go/e2e``,
``go test -update``), whose tests check the same file. Every entry is checked
here: each user's public key and fingerprint from the private key, each pair
key from both sides, each message's payload byte for byte from its nonce (and
that it opens), each bad payload's error, and each group post (scheme 2,
sealed with a sender key) byte for byte, or its error. Then what the vectors cannot
show: fresh random nonces, the sizes refused, generated keys.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from conftest import PYDIR

import spartan_e2e as e2e
from spartan_e2e import NotAuthentic, UnknownScheme

VECTORS_PATH = PYDIR.parent.parent / "testdata" / "e2e" / "vectors.json"
VECTORS = json.loads(VECTORS_PATH.read_text(encoding="utf-8"))
#: The errors a bad entry names, as the Go tests map them.
ERRORS = {"unknown scheme": UnknownScheme, "not authentic": NotAuthentic}

KEYS = {user: e2e.private_key_from_bytes(bytes.fromhex(k["private"])) for user, k in VECTORS["keys"].items()}


def pair(me: str, them: str) -> bytes:
    """The pair key as ``me`` derives it, from ``them``'s published bytes."""
    return e2e.pair_key(KEYS[me], e2e.public_bytes(KEYS[them]), me, them)


def fields(m: dict) -> dict:
    return {"sender": m["sender"], "receiver": m["receiver"], "group": m["group"], "client_msg_id": m["client_msg_id"]}


#: The group posts of the vectors (scheme 2): the good ones, and those with an "error".
POSTS = VECTORS["groups"]
GOOD_POSTS = [g for g in POSTS if not g.get("error")]


def test_vectors_are_of_this_scheme():
    assert VECTORS["scheme"] == e2e.VERSION == 1
    assert (e2e.NONCE_SIZE, e2e.KEY_SIZE, e2e.OVERHEAD) == (12, 32, 29)
    assert (e2e.GROUP_VERSION, e2e.KEY_ID_SIZE, e2e.GROUP_OVERHEAD) == (2, 8, 37)
    # Nothing to skip silently: every section holds entries, and every bad
    # entry names an error this module has.
    assert VECTORS["keys"] and VECTORS["pairs"] and VECTORS["messages"] and VECTORS["bad"]
    assert {b["error"] for b in VECTORS["bad"]} <= set(ERRORS)
    assert set(ERRORS) <= {b["error"] for b in VECTORS["bad"]}
    for m in VECTORS["messages"] + [b["message"] for b in VECTORS["bad"]]:
        assert {m["sender"], m["receiver"]} <= set(KEYS)
    assert GOOD_POSTS and len(GOOD_POSTS) < len(POSTS)
    assert {g["error"] for g in POSTS if g.get("error")} == set(ERRORS)


@pytest.mark.parametrize("user", sorted(VECTORS["keys"]))
def test_key(user):
    want = VECTORS["keys"][user]
    key = KEYS[user]
    assert e2e.private_bytes(key).hex() == want["private"]
    assert e2e.public_bytes(key).hex() == want["public"]
    assert e2e.fingerprint(key) == want["fingerprint"]
    public = e2e.public_key_from_bytes(bytes.fromhex(want["public"]))
    assert not public.has_private()
    assert e2e.public_bytes(public).hex() == want["public"]
    assert e2e.fingerprint(public) == want["fingerprint"]
    assert e2e.fingerprint(bytes.fromhex(want["public"])) == want["fingerprint"]


@pytest.mark.parametrize("p", VECTORS["pairs"], ids=[f"{p['a']}-{p['b']}" for p in VECTORS["pairs"]])
def test_pair_key(p):
    a, b = p["a"], p["b"]
    ab, ba = pair(a, b), pair(b, a)
    assert ab.hex() == p["key"]
    assert ba.hex() == p["key"], "the other side derives another key (names not sorted?)"
    # The public key as an object gives the same.
    assert e2e.pair_key(KEYS[b], e2e.public_key(KEYS[a]), b, a) == ab


MESSAGE_IDS = [f"{m['sender']}-{m['receiver']}-{m['client_msg_id'] or 'no id'}" for m in VECTORS["messages"]]


@pytest.mark.parametrize("m", VECTORS["messages"], ids=MESSAGE_IDS)
def test_message_seals_to_the_payload(m):
    plaintext = m["plaintext"].encode("utf-8")
    payload = e2e.seal(pair(m["sender"], m["receiver"]), plaintext, nonce=bytes.fromhex(m["nonce"]), **fields(m))
    assert payload.hex() == m["payload"]
    assert len(payload) == e2e.OVERHEAD + len(plaintext)


@pytest.mark.parametrize("m", VECTORS["messages"], ids=MESSAGE_IDS)
def test_message_opens(m):
    # The receiver opens it with the key it derives from its side.
    plain = e2e.open_(pair(m["receiver"], m["sender"]), bytes.fromhex(m["payload"]), **fields(m))
    assert plain == m["plaintext"].encode("utf-8")


@pytest.mark.parametrize("b", VECTORS["bad"], ids=[b["name"] for b in VECTORS["bad"]])
def test_bad_payload_raises_its_error(b):
    # As in the Go tests, bob opens every bad entry with his key for alice (all
    # are alice's first message to bob, changed), so only the change can fail it.
    want, other = ERRORS[b["error"]], {UnknownScheme: NotAuthentic, NotAuthentic: UnknownScheme}[ERRORS[b["error"]]]
    with pytest.raises(e2e.E2EError) as raised:
        e2e.open_(pair("bob", "alice"), bytes.fromhex(b["message"]["payload"]), **fields(b["message"]))
    assert isinstance(raised.value, want) and not isinstance(raised.value, other), repr(raised.value)


# -- group posts (scheme 2) ----------------------------------------------------------------------


def post_fields(g: dict) -> dict:
    """A group post's associated data: its sender, group and id (its receiver is empty)."""
    return {"sender": g["sender"], "group": g["group"], "client_msg_id": g["client_msg_id"]}


def sender_key(g: dict) -> e2e.SenderKey:
    return e2e.SenderKey(bytes.fromhex(g["key_id"]), bytes.fromhex(g["key"]))


def post_id(g: dict) -> str:
    return f"{g['sender']}-{g['client_msg_id']}-{g.get('error') or 'good'}"


@pytest.mark.parametrize("g", GOOD_POSTS, ids=[post_id(g) for g in GOOD_POSTS])
def test_group_post_seals_to_the_payload(g):
    plaintext = g["plaintext"].encode("utf-8")
    payload = e2e.seal_group(sender_key(g), plaintext, nonce=bytes.fromhex(g["nonce"]), **post_fields(g))
    assert payload.hex() == g["payload"]
    assert len(payload) == e2e.GROUP_OVERHEAD + len(plaintext)
    assert e2e.group_key_id(payload).hex() == g["key_id"]


@pytest.mark.parametrize("g", POSTS, ids=[post_id(g) for g in POSTS])
def test_group_post_opens_or_raises_its_error(g):
    # As Go's TestVectors: every entry is opened with its key; a bad one must
    # raise its error, and not the other.
    payload = bytes.fromhex(g["payload"])
    if not g.get("error"):
        assert e2e.open_group(bytes.fromhex(g["key"]), payload, **post_fields(g)) == g["plaintext"].encode("utf-8")
        return
    want = ERRORS[g["error"]]
    other = {UnknownScheme: NotAuthentic, NotAuthentic: UnknownScheme}[want]
    with pytest.raises(e2e.E2EError) as raised:
        e2e.open_group(bytes.fromhex(g["key"]), payload, **post_fields(g))
    assert isinstance(raised.value, want) and not isinstance(raised.value, other), repr(raised.value)


def test_a_group_post_is_a_message_sealed_for_no_receiver():
    """The associated data is the pairwise scheme's with an empty receiver: with its
    version byte and key id swapped for scheme 1's byte, a post opens as a message
    from its sender to "" in its group."""
    g = GOOD_POSTS[0]
    payload = bytes.fromhex(g["payload"])
    as_message = bytes([e2e.VERSION]) + payload[1 + e2e.KEY_ID_SIZE :]
    plain = e2e.open_(bytes.fromhex(g["key"]), as_message, receiver="", **post_fields(g))
    assert plain == g["plaintext"].encode("utf-8")


@pytest.mark.parametrize("field", ["sender", "group", "client_msg_id"])
def test_every_group_field_is_bound(field):
    g = GOOD_POSTS[0]
    fields = post_fields(g)
    with pytest.raises(NotAuthentic):
        e2e.open_group(bytes.fromhex(g["key"]), bytes.fromhex(g["payload"]), **dict(fields, **{field: fields[field] + "x"}))


def test_short_group_payloads_and_other_schemes():
    g = GOOD_POSTS[0]
    key, payload, fields = bytes.fromhex(g["key"]), bytes.fromhex(g["payload"]), post_fields(g)
    for bad in (b"", bytes.fromhex(VECTORS["messages"][0]["payload"])):  # empty, a pairwise message
        with pytest.raises(UnknownScheme):
            e2e.group_key_id(bad)
        with pytest.raises(UnknownScheme):
            e2e.open_group(key, bad, **fields)
    for n in (1, e2e.KEY_ID_SIZE + 1, e2e.GROUP_OVERHEAD - 1):
        with pytest.raises(NotAuthentic):
            e2e.group_key_id(payload[:n])
        with pytest.raises(NotAuthentic):
            e2e.open_group(key, payload[:n], **fields)
    with pytest.raises(UnknownScheme):  # a post is not a pairwise message either
        e2e.open_(key, payload, sender=g["sender"], receiver="", group=g["group"], client_msg_id=g["client_msg_id"])


def test_group_sizes_refused():
    fields = {"sender": "alice", "group": "team"}
    for size in (0, 7, 9):
        with pytest.raises(ValueError, match="a sender key's id is 8 bytes"):
            e2e.seal_group(e2e.SenderKey(bytes(size), bytes(32)), b"x", **fields)
    for size in (16, 31):
        with pytest.raises(ValueError, match="a key is 32 bytes"):
            e2e.seal_group(e2e.SenderKey(bytes(8), bytes(size)), b"x", **fields)
        with pytest.raises(ValueError, match="a key is 32 bytes"):
            e2e.open_group(bytes(size), bytes([2]) + bytes(e2e.GROUP_OVERHEAD), **fields)


def test_new_sender_keys_differ_and_seal_fresh_nonces():
    one, two = e2e.new_sender_key(), e2e.new_sender_key()
    assert (len(one.id), len(one.key)) == (e2e.KEY_ID_SIZE, e2e.KEY_SIZE)
    assert one.id != two.id and one.key != two.key
    fields = {"sender": "bob", "group": "team", "client_msg_id": "ünï-2"}
    a, b = (e2e.seal_group(one, "☺".encode(), **fields) for _ in range(2))
    assert a != b and a[: 1 + e2e.KEY_ID_SIZE] == b[: 1 + e2e.KEY_ID_SIZE] == bytes([2]) + one.id
    assert e2e.open_group(one.key, a, **fields) == e2e.open_group(one.key, b, **fields) == "☺".encode()
    with pytest.raises(NotAuthentic):
        e2e.open_group(two.key, a, **fields)


def test_two_seals_of_one_message_differ_and_both_open():
    key = bytes([7]) * e2e.KEY_SIZE
    ad = {"sender": "alice", "receiver": "bob", "client_msg_id": "x"}
    one = e2e.seal(key, b"same", **ad)
    two = e2e.seal(key, b"same", **ad)
    assert one != two
    assert one[1 : 1 + e2e.NONCE_SIZE] != two[1 : 1 + e2e.NONCE_SIZE]
    assert len(one) == len(two) == e2e.OVERHEAD + 4
    assert one[0] == two[0] == e2e.VERSION
    for payload in (one, two):
        assert e2e.open_(key, payload, **ad) == b"same"


def first_message():
    m = VECTORS["messages"][0]
    return pair("bob", "alice"), bytes.fromhex(m["payload"]), fields(m), m["plaintext"].encode("utf-8")


@pytest.mark.parametrize("field", ["sender", "receiver", "group", "client_msg_id"])
def test_every_field_is_bound(field):
    key, payload, ad, _ = first_message()
    with pytest.raises(NotAuthentic):
        e2e.open_(key, payload, **dict(ad, **{field: ad[field] + "x"}))


def test_another_key_is_not_authentic():
    _, payload, ad, _ = first_message()
    with pytest.raises(NotAuthentic):
        e2e.open_(pair("bob", "charlie"), payload, **ad)


def test_short_and_empty_payloads():
    key, payload, ad, plain = first_message()
    with pytest.raises(UnknownScheme):
        e2e.open_(key, b"", **ad)
    with pytest.raises(UnknownScheme):
        e2e.open_(key, b"\x00" + payload[1:], **ad)
    for n in (1, e2e.OVERHEAD - 1):
        with pytest.raises(NotAuthentic):
            e2e.open_(key, payload[:n], **ad)
    with pytest.raises(NotAuthentic):  # the last bytes of the ciphertext gone
        e2e.open_(key, payload[: -e2e.TAG_SIZE - 1] + payload[-e2e.TAG_SIZE :], **ad)
    assert e2e.open_(key, bytearray(payload), **ad) == plain


def test_sizes_refused():
    ad = {"sender": "alice", "receiver": "bob"}
    for size in (16, 24, 31, 33):  # AES-128 and AES-192 keys too: the scheme is AES-256
        with pytest.raises(ValueError, match="a key is 32 bytes"):
            e2e.seal(bytes(size), b"x", **ad)
        with pytest.raises(ValueError, match="a key is 32 bytes"):
            e2e.open_(bytes(size), bytes([1]) + bytes(e2e.OVERHEAD), **ad)
    for size in (0, 11, 13, 16):
        with pytest.raises(ValueError, match="a nonce is 12 bytes"):
            e2e.seal(bytes(32), b"x", nonce=bytes(size), **ad)
    for size in (31, 33):
        with pytest.raises(ValueError):
            e2e.private_key_from_bytes(bytes(size))
        with pytest.raises(ValueError):
            e2e.public_key_from_bytes(bytes(size))
        with pytest.raises(ValueError):
            e2e.fingerprint(bytes(size))
    with pytest.raises(TypeError):
        e2e.seal(bytes(32), "text, not bytes", **ad)


def test_small_order_public_key_is_refused():
    # Its shared secret would be zero, known to everyone; Go refuses it too.
    for raw in (bytes(32), bytes([1]) + bytes(31)):
        with pytest.raises(ValueError):
            e2e.public_key_from_bytes(raw)
        with pytest.raises(ValueError):
            e2e.pair_key(KEYS["alice"], raw, "alice", "bob")


def test_pair_key_needs_a_private_key():
    with pytest.raises(ValueError):
        e2e.pair_key(e2e.public_key(KEYS["alice"]), e2e.public_bytes(KEYS["bob"]), "alice", "bob")


def test_generated_keys_round_trip_and_agree():
    alice, bob = e2e.generate_key(), e2e.generate_key()
    raw = e2e.private_bytes(alice)
    assert len(raw) == 32 and len(e2e.public_bytes(alice)) == 32
    again = e2e.private_key_from_bytes(raw)
    assert e2e.public_bytes(again) == e2e.public_bytes(alice)
    assert e2e.fingerprint(again) == e2e.fingerprint(e2e.public_bytes(alice))
    key = e2e.pair_key(again, e2e.public_bytes(bob), "alice", "bob")
    assert key == e2e.pair_key(bob, e2e.public_bytes(alice), "bob", "alice")
    assert key != e2e.pair_key(again, e2e.public_bytes(bob), "alice", "eve")  # bound to the names
    ad = {"sender": "bob", "receiver": "alice", "group": "team", "client_msg_id": "ünï-1"}
    assert e2e.open_(key, e2e.seal(key, "☺".encode(), **ad), **ad) == "☺".encode()


def test_module_does_not_need_grpc():
    code = "import sys; sys.modules['grpc'] = None; import spartan_e2e"
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=dict(os.environ, PYTHONPATH=str(PYDIR)),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
