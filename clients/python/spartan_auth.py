"""Logging in to a Spartan server by proof of key, in Python (docs/SECURITY.md,
"Authentication: nobody speaks as someone else").

A user logs in with an **Ed25519 key** of their own, kept beside the X25519
encryption key in the key directory's ``identity.json`` (:mod:`spartan_keystore`:
``"signing_key"``, the 32-byte seed, and ``"signing_public_key"``):

1. ``Challenge(user)`` returns a fresh challenge (bytes, good for a minute);
2. the client signs :func:`signed_challenge` ``= b"spartan-auth-v1\\x00" + user +
   b"\\x00" + challenge`` (RFC 8032 Ed25519, as Go's ``crypto/ed25519``);
3. ``Authenticate(user, challenge, public_key, signature)`` returns a session
   token, which every other call carries as ``authorization: Bearer <token>``.

The server takes the first key a user logs in with as theirs (or the one its
configuration pins); another one is ``PERMISSION_DENIED`` until an operator runs
``spartan-server -reset-key USER``.

This module is the signing only, on PyCryptodome alone (no grpc); the calls are
:mod:`spartan_client`'s (``SpartanClient(..., signer=...)``, :func:`spartan_client.log_in`)::

    import spartan_auth as auth

    key = auth.signing_key_from_seed(auth.signing_seed(auth.generate_signing_key()))  # keep the seed private
    signature = auth.sign_challenge(key, "alice", b"challenge")
    assert auth.verify_challenge(auth.signing_public_bytes(key), "alice", b"challenge", signature)
"""

from __future__ import annotations

from Crypto.PublicKey import ECC
from Crypto.PublicKey.ECC import EccKey
from Crypto.Signature import eddsa

__all__ = [
    "SEED_SIZE",
    "PUBLIC_KEY_SIZE",
    "SIGNATURE_SIZE",
    "generate_signing_key",
    "signing_key_from_seed",
    "signing_seed",
    "signing_public_bytes",
    "signed_challenge",
    "sign_challenge",
    "verify_challenge",
]

#: The size of an Ed25519 private key's seed (what identity.json keeps), in bytes.
SEED_SIZE = 32
#: The size of an Ed25519 public key (what Authenticate carries), in bytes.
PUBLIC_KEY_SIZE = 32
#: The size of an Ed25519 signature, in bytes.
SIGNATURE_SIZE = 64
#: What every signed challenge starts with: the scheme's name and a 0 byte.
_CONTEXT = b"spartan-auth-v1\x00"
_CURVE = "Ed25519"


def generate_signing_key() -> EccKey:
    """Makes a new Ed25519 log-in key (from the system's random source). Save it
    with :func:`signing_seed`."""
    return ECC.generate(curve=_CURVE)


def signing_key_from_seed(seed: bytes) -> EccKey:
    """The Ed25519 private key of the 32-byte ``seed`` (RFC 8032's private key, as
    Go's ``ed25519.NewKeyFromSeed``). Raises ``ValueError`` for another length."""
    seed = bytes(seed)
    if len(seed) != SEED_SIZE:
        raise ValueError(f"an Ed25519 seed is {SEED_SIZE} bytes, not {len(seed)}")
    return eddsa.import_private_key(seed)


def _check_key(key: object) -> EccKey:
    if not isinstance(key, EccKey) or key.curve != _CURVE:
        raise TypeError(f"the log-in key is not an Ed25519 key: {type(key).__name__}")
    return key


def signing_seed(key: EccKey) -> bytes:
    """The 32-byte seed of an Ed25519 private key: what identity.json keeps (not
    Go's 64-byte form, which appends the public key)."""
    if not _check_key(key).has_private():
        raise ValueError("a public key has no seed")
    return bytes(key.seed)


def signing_public_bytes(key: EccKey) -> bytes:
    """The raw 32 bytes of an Ed25519 public key (RFC 8032); given a private key,
    those of its public half."""
    key = _check_key(key)
    public = key.public_key() if key.has_private() else key
    return public.export_key(format="raw")


def signed_challenge(user: str, challenge: bytes) -> bytes:
    """What a client signs to log in as ``user``: ``b"spartan-auth-v1\\x00" + user +
    b"\\x00" + challenge`` (the user's name in UTF-8), as Go's ``SignedChallenge``."""
    if not isinstance(user, str):
        raise TypeError(f"the user is a str, not {type(user).__name__}")
    return _CONTEXT + user.encode("utf-8") + b"\x00" + bytes(challenge)


def sign_challenge(key: EccKey, user: str, challenge: bytes) -> bytes:
    """The 64-byte Ed25519 signature of :func:`signed_challenge` with ``key``, as
    Authenticate wants it."""
    if not _check_key(key).has_private():
        raise ValueError("a public key cannot sign")
    return eddsa.new(key, "rfc8032").sign(signed_challenge(user, challenge))


def verify_challenge(public: bytes, user: str, challenge: bytes, signature: bytes) -> bool:
    """Whether ``signature`` is the signature of :func:`signed_challenge` by the
    owner of the 32-byte Ed25519 public key ``public`` (what the server checks)."""
    public = bytes(public)
    if len(public) != PUBLIC_KEY_SIZE or len(signature) != SIGNATURE_SIZE:
        return False
    try:
        verifier = eddsa.new(eddsa.import_public_key(public), "rfc8032")
        verifier.verify(signed_challenge(user, challenge), bytes(signature))
    except ValueError:
        return False
    return True
