"""Spartan Messenger's end-to-end encryption scheme, version 1, in Python.

What a client does to a message so that the server stores and forwards only
ciphertext. The specification is the Go package ``clients/go/e2e`` (and
``docs/SECURITY.md``); ``testdata/e2e/vectors.json`` holds vectors that both
implementations check, byte for byte (``tests/test_e2e_vectors.py``).

- **Identity key**: an X25519 key pair; the private key is saved as its raw
  32 bytes (:func:`private_bytes`, :func:`private_key_from_bytes`), the public
  key is published as its raw 32 bytes (:func:`public_bytes`,
  :func:`public_key_from_bytes`).
- **Pair key** (:func:`pair_key`): ``HKDF-SHA256(secret = X25519(mine, theirs),
  salt = b"spartan-e2e-v1", info = b"spartan-e2e-v1 pair\\0" + a + b"\\0" + b,
  length 32)`` with the two user names ``a`` and ``b`` in sorted order, so both
  sides derive the same key.
- **Payload** (:func:`seal`, :func:`open_`): ``b"\\x01"`` (the scheme's
  :data:`VERSION`) + a 12-byte nonce + the AES-256-GCM ciphertext + its 16-byte
  tag, with the associated data ``b"spartan-e2e-v1\\0" + sender + b"\\0" +
  receiver + b"\\0" + group + b"\\0" + client_msg_id`` (UTF-8), so a ciphertext
  cannot be shown under other names or replayed under another id.
- **Fingerprint** (:func:`fingerprint`): the first 10 bytes of a public key's
  SHA-256, in hex, as five space-separated groups of four digits.
- **Group post** (:func:`seal_group`, :func:`open_group`): sealed with the
  sender's key for the group (:class:`SenderKey`, a random AES-256 key and a
  random 8-byte id, which the sender hands every other member sealed with
  their pair key): ``b"\x02"`` (:data:`GROUP_VERSION`) + the key's id + a
  12-byte nonce + the AES-256-GCM ciphertext + its tag, with the associated
  data above but an empty receiver (one payload serves every member).

Only PyCryptodome (``Crypto``) is needed, not grpc::

    from spartan_e2e import generate_key, pair_key, public_bytes, seal, open_

    alice, bob = generate_key(), generate_key()
    key = pair_key(alice, public_bytes(bob), "alice", "bob")
    payload = seal(key, b"Hey Bob!", sender="alice", receiver="bob", client_msg_id="m1")
    same = pair_key(bob, public_bytes(alice), "bob", "alice")
    assert open_(same, payload, sender="alice", receiver="bob", client_msg_id="m1") == b"Hey Bob!"
"""

from __future__ import annotations

from typing import NamedTuple, Optional, Union

from Crypto.Cipher import AES
from Crypto.Hash import SHA256
from Crypto.Protocol import DH
from Crypto.Protocol.KDF import HKDF
from Crypto.PublicKey import ECC
from Crypto.PublicKey.ECC import EccKey
from Crypto.Random import get_random_bytes

__all__ = [
    "VERSION",
    "NONCE_SIZE",
    "KEY_SIZE",
    "TAG_SIZE",
    "OVERHEAD",
    "E2EError",
    "UnknownScheme",
    "NotAuthentic",
    "generate_key",
    "private_key_from_bytes",
    "private_bytes",
    "public_key",
    "public_bytes",
    "public_key_from_bytes",
    "pair_key",
    "associated_data",
    "seal",
    "open_",
    "fingerprint",
    "GROUP_VERSION",
    "KEY_ID_SIZE",
    "GROUP_OVERHEAD",
    "SenderKey",
    "new_sender_key",
    "seal_group",
    "group_key_id",
    "open_group",
]

#: The scheme's version: the first byte of every payload.
VERSION = 1
#: AES-256-GCM's nonce size, in bytes.
NONCE_SIZE = 12
#: AES-256-GCM's key size (and a pair key's), in bytes.
KEY_SIZE = 32
#: GCM's tag size, in bytes.
TAG_SIZE = 16
#: What a payload adds to its plaintext: the version byte, the nonce and the tag (29).
OVERHEAD = 1 + NONCE_SIZE + TAG_SIZE

#: The group scheme's version: the first byte of every group post's payload.
GROUP_VERSION = 2
#: The size of a sender key's id, which a group post names its key by.
KEY_ID_SIZE = 8
#: What a group post's payload adds to its plaintext: the version byte, the
#: key's id, the nonce and the tag (37).
GROUP_OVERHEAD = 1 + KEY_ID_SIZE + NONCE_SIZE + TAG_SIZE

#: The size of an X25519 key, private or public, in bytes.
_X25519_SIZE = 32
#: The HKDF salt of version 1, and the first field of the associated data.
_SALT = b"spartan-e2e-v1"
#: The start of the HKDF info of a pair key.
_LABEL = b"spartan-e2e-v1 pair"
_CURVE = "Curve25519"

PublicKeyLike = Union[EccKey, bytes, bytearray, memoryview]


class E2EError(Exception):
    """A payload that cannot be opened: the base of :class:`UnknownScheme` and
    :class:`NotAuthentic`."""


class UnknownScheme(E2EError):
    """The payload is empty, or of a scheme version this code does not know
    (its first byte is not :data:`VERSION`)."""

    def __init__(self, message: str = "the message uses an encryption scheme this client does not know"):
        super().__init__(message)


class NotAuthentic(E2EError):
    """The payload was altered or cut short, or sealed with another key or for
    other names or another message id: GCM's tag does not match."""

    def __init__(self, message: str = "the message could not be decrypted: altered, or sealed with another key"):
        super().__init__(message)


def generate_key() -> EccKey:
    """Make a new identity key pair (an X25519 private key, from the system's
    random source). Save it with :func:`private_bytes`."""
    return ECC.generate(curve=_CURVE)


def private_key_from_bytes(raw: bytes) -> EccKey:
    """The X25519 private key whose raw encoding (RFC 7748, 32 bytes, as saved
    by :func:`private_bytes`) is ``raw``. Raises ``ValueError`` for another length."""
    raw = bytes(raw)
    if len(raw) != _X25519_SIZE:
        raise ValueError(f"an X25519 private key is {_X25519_SIZE} bytes, not {len(raw)}")
    return DH.import_x25519_private_key(raw)


def private_bytes(key: EccKey) -> bytes:
    """The raw 32 bytes of an X25519 private key, to save (privately: they are
    the key) and load again with :func:`private_key_from_bytes`. They are the
    bytes given, not clamped (as Go's ``ecdh.PrivateKey.Bytes``)."""
    _check_key(key, "the key")
    if not key.has_private():
        raise ValueError("a public key has no private bytes")
    return bytes(key.seed)


def public_key(key: EccKey) -> EccKey:
    """The public half of an X25519 key (the key itself if it is public)."""
    _check_key(key, "the key")
    return key.public_key() if key.has_private() else key


def public_bytes(key: EccKey) -> bytes:
    """The raw 32 bytes of an X25519 public key (RFC 7748), what is published;
    given a private key, those of its public half."""
    return public_key(key).export_key(format="raw")


def public_key_from_bytes(raw: bytes) -> EccKey:
    """The X25519 public key whose raw encoding (32 bytes) is ``raw``. Raises
    ``ValueError`` for another length and for a point of small order (whose
    shared secret would not be secret)."""
    raw = bytes(raw)
    if len(raw) != _X25519_SIZE:
        raise ValueError(f"an X25519 public key is {_X25519_SIZE} bytes, not {len(raw)}")
    return DH.import_x25519_public_key(raw)


def _check_key(key: object, what: str) -> None:
    if not isinstance(key, EccKey) or key.curve != _CURVE:
        raise TypeError(f"{what} is not an X25519 key: {type(key).__name__}")


def _public(key: PublicKeyLike, what: str) -> EccKey:
    if isinstance(key, (bytes, bytearray, memoryview)):
        return public_key_from_bytes(bytes(key))
    _check_key(key, what)
    return public_key(key)  # type: ignore[arg-type]


def _name(value: str, what: str) -> bytes:
    if not isinstance(value, str):
        raise TypeError(f"{what} is a str, not {type(value).__name__}")
    return value.encode("utf-8")


def pair_key(mine: EccKey, theirs_public: PublicKeyLike, me: str, them: str) -> bytes:
    """The 32-byte key that ``me`` (whose private key is ``mine``) shares with
    ``them`` (whose public key is ``theirs_public``, a key or its raw 32 bytes).

    ``HKDF-SHA256`` of the X25519 shared secret, with salt ``b"spartan-e2e-v1"``
    and info ``b"spartan-e2e-v1 pair\\0" + a + b"\\0" + b``, where ``a`` and ``b``
    are the two names (UTF-8) in sorted order: both sides derive the same key,
    and it is bound to the pair of names. Raises ``ValueError`` for a public
    key of small order.
    """
    _check_key(mine, "mine")
    if not mine.has_private():
        raise ValueError("mine must be a private key")
    theirs = _public(theirs_public, "theirs_public")
    a, b = sorted((_name(me, "me"), _name(them, "them")))
    info = _LABEL + b"\x00" + a + b"\x00" + b
    return DH.key_agreement(
        static_priv=mine,
        static_pub=theirs,
        kdf=lambda secret: HKDF(bytes(secret), KEY_SIZE, _SALT, SHA256, context=info),
    )


def associated_data(sender: str, receiver: str, group: str = "", client_msg_id: str = "") -> bytes:
    """The associated data a payload is bound to: ``b"spartan-e2e-v1"`` and the
    four fields (UTF-8), each after a NUL (names and ids never hold one)."""
    fields = [
        _name(sender, "sender"),
        _name(receiver, "receiver"),
        _name(group, "group"),
        _name(client_msg_id, "client_msg_id"),
    ]
    return b"\x00".join([_SALT, *fields])


def _cipher(key: bytes, nonce: bytes):
    key = bytes(key)
    if len(key) != KEY_SIZE:
        # AES.new would take a 16- or 24-byte key as AES-128 or AES-192.
        raise ValueError(f"a key is {KEY_SIZE} bytes, not {len(key)}")
    return AES.new(key, AES.MODE_GCM, nonce=nonce, mac_len=TAG_SIZE)


def seal(
    key: bytes,
    plaintext: bytes,
    *,
    sender: str,
    receiver: str,
    group: str = "",
    client_msg_id: str = "",
    nonce: Optional[bytes] = None,
) -> bytes:
    """Encrypt ``plaintext`` under the pair ``key`` for a message from
    ``sender`` to ``receiver`` (in ``group``, with the client's message id
    ``client_msg_id``): ``b"\\x01" + nonce + ciphertext + tag``,
    :data:`OVERHEAD` bytes longer than ``plaintext``.

    ``nonce`` is ``None`` for a fresh random one, always but in test vectors:
    a nonce must never be used twice with one key. Raises ``ValueError`` for
    a key that is not 32 bytes or a nonce that is not 12.
    """
    if nonce is None:
        nonce = get_random_bytes(NONCE_SIZE)
    nonce = bytes(nonce)
    if len(nonce) != NONCE_SIZE:
        raise ValueError(f"a nonce is {NONCE_SIZE} bytes, not {len(nonce)}")
    if not isinstance(plaintext, (bytes, bytearray, memoryview)):
        raise TypeError(f"plaintext is bytes, not {type(plaintext).__name__}")
    ad = associated_data(sender, receiver, group, client_msg_id)
    cipher = _cipher(key, nonce)
    cipher.update(ad)
    ciphertext, tag = cipher.encrypt_and_digest(bytes(plaintext))
    return bytes([VERSION]) + nonce + ciphertext + tag


def open_(
    key: bytes,
    payload: bytes,
    *,
    sender: str,
    receiver: str,
    group: str = "",
    client_msg_id: str = "",
) -> bytes:
    """Decrypt a payload made by :func:`seal` with the same key, names, group
    and message id, and return the plaintext.

    Raises :class:`UnknownScheme` if the payload is empty or its first byte
    is not :data:`VERSION`, :class:`NotAuthentic` if it is shorter than
    :data:`OVERHEAD` or its tag does not match (altered, or sealed with
    another key or for other names or id), and ``ValueError`` for a key that
    is not 32 bytes.
    """
    payload = bytes(payload)
    if len(payload) == 0 or payload[0] != VERSION:
        raise UnknownScheme()
    if len(payload) < OVERHEAD:
        raise NotAuthentic()
    ad = associated_data(sender, receiver, group, client_msg_id)
    nonce = payload[1 : 1 + NONCE_SIZE]
    ciphertext, tag = payload[1 + NONCE_SIZE : -TAG_SIZE], payload[-TAG_SIZE:]
    cipher = _cipher(key, nonce)
    cipher.update(ad)
    try:
        return cipher.decrypt_and_verify(ciphertext, tag)
    except ValueError:
        raise NotAuthentic() from None


def fingerprint(public: PublicKeyLike) -> str:
    """A short, readable digest of a public key for two people to compare over
    another channel: the first 10 bytes of the SHA-256 of its raw 32 bytes, in
    hex, as five groups of four digits (``"b084 e307 6bf9 75d7 d703"``).
    ``public`` is a key (a private key's public half is used) or its raw
    bytes, hashed as given (as Go hashes ``ecdh.PublicKey.Bytes``, even with
    the top bit set, which X25519 ignores)."""
    if isinstance(public, (bytes, bytearray, memoryview)):
        raw = bytes(public)
        if len(raw) != _X25519_SIZE:
            raise ValueError(f"an X25519 public key is {_X25519_SIZE} bytes, not {len(raw)}")
    else:
        raw = public_bytes(public)
    digest = SHA256.new(raw).hexdigest()[:20]
    return " ".join(digest[i : i + 4] for i in range(0, 20, 4))


# -- group posts ------------------------------------------------------------------------------


class SenderKey(NamedTuple):
    """One member's key for its posts to one group: a random AES-256 ``key``
    (32 bytes) and its random ``id`` (:data:`KEY_ID_SIZE` bytes), which every
    post sealed with it carries in the clear."""

    id: bytes
    key: bytes


def new_sender_key() -> SenderKey:
    """Makes a sender key: a random AES-256 key and a random id (from the system's random source)."""
    return SenderKey(get_random_bytes(KEY_ID_SIZE), get_random_bytes(KEY_SIZE))


def seal_group(
    key: SenderKey,
    plaintext: bytes,
    *,
    sender: str,
    group: str,
    client_msg_id: str = "",
    nonce: Optional[bytes] = None,
) -> bytes:
    """Encrypt a post of ``sender`` to ``group`` under the sender key ``key``:
    ``b"\x02" + key.id + nonce + ciphertext + tag``, :data:`GROUP_OVERHEAD`
    bytes longer than ``plaintext``. The associated data is a message's with an
    empty receiver: one payload serves every member.

    ``nonce`` is ``None`` for a fresh random one, always but in test vectors.
    Raises ``ValueError`` for an id that is not 8 bytes, a key that is not 32
    or a nonce that is not 12.
    """
    key_id = bytes(key.id)
    if len(key_id) != KEY_ID_SIZE:
        raise ValueError(f"a sender key's id is {KEY_ID_SIZE} bytes, not {len(key_id)}")
    inner = seal(key.key, plaintext, sender=sender, receiver="", group=group, client_msg_id=client_msg_id, nonce=nonce)
    return bytes([GROUP_VERSION]) + key_id + inner[1:]


def group_key_id(payload: bytes) -> bytes:
    """The id of the sender key a group post was sealed with.

    Raises :class:`UnknownScheme` for a payload that is not a group post (empty,
    or its first byte is not :data:`GROUP_VERSION`) and :class:`NotAuthentic`
    for one shorter than :data:`GROUP_OVERHEAD`.
    """
    payload = bytes(payload)
    if len(payload) == 0 or payload[0] != GROUP_VERSION:
        raise UnknownScheme()
    if len(payload) < GROUP_OVERHEAD:
        raise NotAuthentic()
    return payload[1 : 1 + KEY_ID_SIZE]


def open_group(key: bytes, payload: bytes, *, sender: str, group: str, client_msg_id: str = "") -> bytes:
    """Decrypt a group post made by :func:`seal_group` with the sender key ``key``
    (its 32 bytes: look it up by :func:`group_key_id`) and return the plaintext.

    Raises :class:`UnknownScheme` and :class:`NotAuthentic` as
    :func:`group_key_id` and :func:`open_` do, and ``ValueError`` for a key that
    is not 32 bytes.
    """
    payload = bytes(payload)
    group_key_id(payload)
    inner = bytes([VERSION]) + payload[1 + KEY_ID_SIZE :]
    return open_(key, inner, sender=sender, receiver="", group=group, client_msg_id=client_msg_id)
