"""What a Spartan client keeps on the user's disk for end-to-end encryption.

A **key directory** (docs/SECURITY.md, "What a client keeps, and where") holds
four JSON files, the same ones the Go CLI reads and writes (its package
``clients/go/keystore``), so a user may switch between the two clients:

- ``identity.json``: ``{"version": 1, "user": "alice", "private_key": B64,
  "public_key": B64, "signing_key": B64, "signing_public_key": B64}``, the
  user's X25519 key pair and the Ed25519 key they log in with (its 32-byte
  seed and its public key: :mod:`spartan_auth`), made on first use. A file
  from before logging in existed, without the last two, gets them added
  (everything else kept, the file written whole again). A file that cannot be
  read, names another user or whose halves do not match is an error
  (:class:`KeyStoreError`); it is never replaced.
- ``contacts.json``: ``{"version": 1, "contacts": {"bob": {"public_key": B64,
  "first_seen": RFC 3339 UTC, "previous_keys": [B64, ...]}}}``, the keys
  trusted on first use; a key that replaces another moves the old one to the
  front of ``previous_keys``.
- ``outbox.json``: ``{"version": 1, "messages": [{"to": "bob",
  "client_msg_id": ID, "text": TEXT}]}``, messages typed for a user who has no
  key yet, in the order typed.
- ``groups.json``: ``{"version": 1, "groups": {"team": {"mine": {"id": B64,
  "key": B64, "members": [...], "shared": [...]}, "senders": {"bob": [{"id":
  B64, "key": B64}, ...]}}}}``, the sender keys of group chats: the user's own
  for each group (with the members, sorted, it was made for, and those who
  got it) and the other members' (newest first, at most
  :data:`MAX_SENDER_KEYS` of each).

B64 is standard base64 with padding, of 32 bytes (of 8 for a sender key's id). The directory is made with
mode 0700; every file is written whole, mode 0600, to a temporary file in the
same directory that is synced and renamed over the old one, so a crash leaves
the old file or the new one, never half of one.

The default directory (:func:`default_key_dir`) is
``<config dir>/spartan/<server>/<user>``: ``$XDG_CONFIG_HOME`` when it is set
and absolute, else ``~/.config`` (``~/Library/Application Support`` on macOS,
``%APPDATA%`` on Windows), and ``<server>`` the first server's ``host:port``
with every character but ``A-Z a-z 0-9 . -`` made ``_``.

Only the standard library and PyCryptodome (through :mod:`spartan_e2e` and
:mod:`spartan_auth`) are needed, not grpc.
"""

from __future__ import annotations

import base64
import binascii
import datetime as _dt
import json
import os
import re
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any, Dict, List, Mapping, NamedTuple, Optional, Sequence, Tuple, Union

import spartan_auth as auth
import spartan_e2e as e2e

__all__ = [
    "FORMAT_VERSION",
    "IDENTITY_FILE",
    "CONTACTS_FILE",
    "OUTBOX_FILE",
    "GROUPS_FILE",
    "MAX_SENDER_KEYS",
    "KeyStoreError",
    "Contact",
    "Waiting",
    "MySenderKey",
    "GroupState",
    "KeyStore",
    "config_dir",
    "safe_name",
    "default_key_dir",
    "format_time",
    "parse_time",
]

#: The version of the files' format.
FORMAT_VERSION = 1
IDENTITY_FILE = "identity.json"
CONTACTS_FILE = "contacts.json"
OUTBOX_FILE = "outbox.json"
GROUPS_FILE = "groups.json"
#: How many of one sender's keys for one group are kept: enough for posts
#: sealed before a few changes of members to still open.
MAX_SENDER_KEYS = 16
#: The size of a key in the files (X25519, private or public).
_KEY_SIZE = 32
_UNSAFE = re.compile(r"[^A-Za-z0-9.\-]")
_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})"
)

PathLike = Union[str, "os.PathLike[str]"]


class KeyStoreError(Exception):
    """A key directory or one of its files cannot be used; the message names the
    file and says why, as a phrase (``/x/identity.json is the key of "bob", not of
    "alice"``)."""


class Contact(NamedTuple):
    """A contact's key as recorded in contacts.json."""

    #: The key trusted now (32 bytes).
    public_key: bytes
    #: When a key of this contact was first recorded (UTC).
    first_seen: _dt.datetime
    #: The keys it replaced, newest first.
    previous_keys: Tuple[bytes, ...] = ()


class Waiting(NamedTuple):
    """A message in outbox.json: it waits for its receiver's key."""

    to: str
    client_msg_id: str
    text: str


class MySenderKey(NamedTuple):
    """The user's sender key for a group, as groups.json keeps it."""

    #: The key's id (8 bytes), which every post sealed with it names.
    id: bytes
    #: The AES-256 key (32 bytes).
    key: bytes
    #: The members it was made for, sorted: other members call for a new key.
    members: Tuple[str, ...] = ()
    #: The members who got it (sealed for them), in the order they did.
    shared: Tuple[str, ...] = ()

    @property
    def sender_key(self) -> e2e.SenderKey:
        """The key and its id, without the members."""
        return e2e.SenderKey(self.id, self.key)


class GroupState(NamedTuple):
    """What the user keeps of one group in groups.json."""

    #: The user's current sender key for the group, or None.
    mine: Optional[MySenderKey]
    #: The other members' keys (and the user's own, to read their own posts
    #: back), by sender, newest first.
    senders: Mapping[str, Tuple[e2e.SenderKey, ...]]


# -- where ------------------------------------------------------------------------------------


def config_dir(environ: Optional[Mapping[str, str]] = None, platform: Optional[str] = None) -> Path:
    """The user's configuration directory, as Go's ``os.UserConfigDir``.

    Linux and other Unix systems: ``$XDG_CONFIG_HOME`` when set and absolute,
    else ``~/.config``; macOS: ``~/Library/Application Support``; Windows:
    ``%APPDATA%``. Raises :class:`KeyStoreError` when there is none (say
    ``%APPDATA%`` is unset).
    """
    env = os.environ if environ is None else environ
    platform = sys.platform if platform is None else platform
    if platform.startswith("win"):
        appdata = env.get("APPDATA", "")
        if not appdata:
            raise KeyStoreError("%APPDATA% is not set, so there is no config directory for your keys (use --key-dir)")
        return Path(appdata)
    home = env.get("HOME") or os.path.expanduser("~")
    if platform == "darwin":
        return Path(home) / "Library" / "Application Support"
    xdg = env.get("XDG_CONFIG_HOME", "")
    if xdg and os.path.isabs(xdg):
        return Path(xdg)
    return Path(home) / ".config"


def safe_name(text: str) -> str:
    """``text`` as one path element: every character but ``A-Z a-z 0-9 . -`` made ``_``
    (``127.0.0.1:3000`` -> ``127.0.0.1_3000``); a name of dots only, or empty,
    becomes one ``_`` more than its length, so never ``.`` or ``..``."""
    if text.strip(".") == "":
        return "_" * (len(text) + 1)
    return _UNSAFE.sub("_", text)


def default_key_dir(server: str, user: str, environ: Optional[Mapping[str, str]] = None) -> Path:
    """The key directory of ``user`` on ``server`` (the first ``host:port`` of the
    server list, with its port) when no ``--key-dir`` names one:
    ``<config dir>/spartan/<server>/<user>``."""
    return config_dir(environ) / "spartan" / safe_name(server) / safe_name(user)


# -- the files' values ------------------------------------------------------------------------


def format_time(when: _dt.datetime) -> str:
    """An RFC 3339 UTC time to the second, as Go writes it: ``2026-11-27T10:04:05Z``."""
    return when.astimezone(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: object) -> _dt.datetime:
    """An RFC 3339 time (any fraction of a second, ``Z`` or an offset), as a UTC datetime.

    Raises ``ValueError`` for anything else.
    """
    if not isinstance(text, str):
        raise ValueError(f"a time is an RFC 3339 string, not {_kind(text)}")
    m = _RFC3339.fullmatch(text)
    if m is None:
        raise ValueError(f"{text!r} is not an RFC 3339 time")
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    micro = int((m.group(7) or "0")[:6].ljust(6, "0"))
    zone = m.group(8)
    if zone in ("Z", "z"):
        tz = _dt.timezone.utc
    else:
        sign = -1 if zone[0] == "-" else 1
        tz = _dt.timezone(sign * _dt.timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6])))
    when = _dt.datetime(year, month, day, hour, minute, second, micro, tzinfo=tz)
    try:
        return when.astimezone(_dt.timezone.utc)
    except OverflowError:  # year 1 with a positive offset, say
        return when.replace(tzinfo=_dt.timezone.utc)


def _kind(value: object) -> str:
    """What a JSON value is, for a sentence."""
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number"
    )


def _b64(value: bytes) -> str:
    """Standard base64 with padding, as Go's encoding/json writes []byte."""
    return base64.b64encode(value).decode("ascii")


def _key(value: object, what: str, size: int = _KEY_SIZE) -> bytes:
    """A key of ``size`` bytes (32: X25519, AES-256) from its base64; raises ValueError naming ``what``."""
    if not isinstance(value, str):
        raise ValueError(f"{what} is {_kind(value)}, not a base64 string")
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"{what} is not standard base64") from None
    if len(raw) != size:
        raise ValueError(f"{what} is {len(raw)} bytes, not {size}")
    return raw


def _object(value: object, what: str) -> Dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"{what} is {_kind(value)}, not an object")
    return value


def _string(obj: Mapping[str, Any], field: str, what: str) -> str:
    value = obj.get(field)
    if not isinstance(value, str):
        raise ValueError(f'{what}\'s "{field}" is {_kind(value)}, not a string')
    return value


def _parse_contacts(doc: Dict[str, Any]) -> Dict[str, Contact]:
    """The contacts of a decoded contacts.json; raises ValueError."""
    entries = doc.get("contacts")
    if entries is None:
        return {}
    out: Dict[str, Contact] = {}
    for user, entry in _object(entries, '"contacts"').items():
        what = f"the contact {user!r}"
        entry = _object(entry, what)
        previous = entry.get("previous_keys") or []
        if not isinstance(previous, list):
            raise ValueError(f"{what}'s previous_keys is {_kind(previous)}, not a list")
        out[user] = Contact(
            public_key=_key(entry.get("public_key"), f"{what}'s public_key"),
            first_seen=_first_seen(entry.get("first_seen"), what),
            previous_keys=tuple(_key(k, f"{what}'s previous key") for k in previous),
        )
    return out


def _first_seen(value: object, what: str) -> _dt.datetime:
    try:
        return parse_time(value)
    except ValueError as err:
        raise ValueError(f"{what}'s first_seen: {err}") from None


def _parse_outbox(doc: Dict[str, Any]) -> List[Waiting]:
    """The messages of a decoded outbox.json; raises ValueError."""
    messages = doc.get("messages")
    if messages is None:
        return []
    if not isinstance(messages, list):
        raise ValueError(f'"messages" is {_kind(messages)}, not a list')
    out = []
    for i, m in enumerate(messages, 1):
        what = f"message {i}"
        m = _object(m, what)
        out.append(Waiting(_string(m, "to", what), _string(m, "client_msg_id", what), _string(m, "text", what)))
    return out


def _names(value: object, what: str) -> Tuple[str, ...]:
    """A list of user names (null, as Go writes an empty one, is none)."""
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(n, str) for n in value):
        raise ValueError(f"{what} is {_kind(value)}, not a list of names")
    return tuple(value)


def _sender_key(value: object, what: str) -> e2e.SenderKey:
    """A sender key, ``{"id": B64, "key": B64}``; raises ValueError naming ``what``."""
    entry = _object(value, what)
    return e2e.SenderKey(
        _key(entry.get("id"), f"the id of {what}", e2e.KEY_ID_SIZE), _key(entry.get("key"), what)
    )


def _parse_group(name: str, entry: object) -> GroupState:
    """One group of groups.json; raises ValueError."""
    where = f"the group {name!r}"
    entry = _object(entry, where)
    mine: Optional[MySenderKey] = None
    if entry.get("mine") is not None:
        what = f"the user's key for {where}"
        k = _sender_key(entry["mine"], what)
        own = entry["mine"]
        members = _names(own.get("members"), f'"members" of {what}')
        mine = MySenderKey(k.id, k.key, members, _names(own.get("shared"), f'"shared" of {what}'))
    senders: Dict[str, Tuple[e2e.SenderKey, ...]] = {}
    raw = entry.get("senders")
    for sender, keys in ({} if raw is None else _object(raw, f'"senders" of {where}')).items():
        if not isinstance(keys, list):
            raise ValueError(f"the keys of {sender!r} for {where} are {_kind(keys)}, not a list")
        senders[sender] = tuple(_sender_key(k, f"{sender}'s key {i} for {where}") for i, k in enumerate(keys, 1))
    return GroupState(mine, senders)


def _parse_groups(doc: Dict[str, Any]) -> Dict[str, GroupState]:
    """The groups of a decoded groups.json; raises ValueError."""
    entries = doc.get("groups")
    if entries is None:
        return {}
    return {name: _parse_group(name, entry) for name, entry in _object(entries, '"groups"').items()}


def _sender_key_doc(k: e2e.SenderKey) -> Dict[str, str]:
    return {"id": _b64(k.id), "key": _b64(k.key)}


def _groups_doc(groups: Mapping[str, GroupState]) -> Dict[str, Any]:
    """groups.json's content as Go writes it: names sorted, "mine" and "senders" left out when there are none."""
    entries: Dict[str, Any] = {}
    for name in sorted(groups):
        st = groups[name]
        entry: Dict[str, Any] = {}
        if st.mine is not None:
            entry["mine"] = {
                **_sender_key_doc(st.mine.sender_key),
                "members": list(st.mine.members),
                "shared": list(st.mine.shared),
            }
        if st.senders:
            entry["senders"] = {u: [_sender_key_doc(k) for k in st.senders[u]] for u in sorted(st.senders)}
        entries[name] = entry
    return {"version": FORMAT_VERSION, "groups": entries}


def _contacts_doc(contacts: Mapping[str, Contact]) -> Dict[str, Any]:
    """contacts.json's content, users sorted and previous_keys left out when empty (as Go writes it)."""
    entries: Dict[str, Any] = {}
    for user in sorted(contacts):
        c = contacts[user]
        entry: Dict[str, Any] = {"public_key": _b64(c.public_key), "first_seen": format_time(c.first_seen)}
        if c.previous_keys:
            entry["previous_keys"] = [_b64(k) for k in c.previous_keys]
        entries[user] = entry
    return {"version": FORMAT_VERSION, "contacts": entries}


def _outbox_doc(messages: List[Waiting]) -> Dict[str, Any]:
    return {
        "version": FORMAT_VERSION,
        "messages": [{"to": w.to, "client_msg_id": w.client_msg_id, "text": w.text} for w in messages],
    }


# -- the store --------------------------------------------------------------------------------


class KeyStore:
    """One key directory, open for one user; safe to use from several threads.

    :meth:`open` makes the directory and the identity on first use and reads
    the other files. :attr:`private_key` is the identity (a PyCryptodome X25519
    key), :attr:`public_key` its published 32 bytes; :attr:`signing_key` is the
    Ed25519 key the user logs in with (``SpartanClient(..., signer=...)``), and
    :attr:`signing_public_key` its 32 bytes. Every change
    (:meth:`trust`, :meth:`hold`, :meth:`release`, :meth:`set_my_sender_key`,
    :meth:`add_sender_key`, :meth:`unshare`) reads the file again, changes it
    and writes it whole, so two clients sharing the directory (the Go CLI
    and client.py, say) do not undo each other's changes. Every failure is a
    :class:`KeyStoreError`.
    """

    def __init__(self, directory: Path, user: str, private_key, created: bool, signing_key=None):
        #: The key directory.
        self.dir = directory
        #: The user the keys are of.
        self.user = user
        #: The identity key (private).
        self.private_key = private_key
        #: The identity's public half, raw (what is published).
        self.public_key = e2e.public_bytes(private_key)
        #: The Ed25519 key the user logs in with (private), or None for a store
        #: made by hand without one; :meth:`open` always has one.
        self.signing_key = signing_key
        #: Its public half, raw (what Authenticate carries), or None.
        self.signing_public_key: Optional[bytes] = (
            None if signing_key is None else auth.signing_public_bytes(signing_key)
        )
        #: True when :meth:`open` made the identity.
        self.created = created
        self._lock = threading.Lock()
        self._contacts: Dict[str, Contact] = {}
        self._outbox: List[Waiting] = []
        self._groups: Dict[str, GroupState] = {}

    @classmethod
    def open(cls, directory: PathLike, user: str) -> "KeyStore":
        """Opens the key directory ``directory`` for ``user``, making it (mode 0700)
        and the identity keys (identity.json) on first use; an identity without
        a log-in key gets one."""
        path = Path(directory)
        _make_dirs(path)
        key, signing_key, created = _load_identity(path, user)
        store = cls(path, user, key, created, signing_key)
        with store._lock:
            store._contacts = store._read_contacts()
            store._outbox = store._read_outbox()
            store._groups = store._read_groups()
        return store

    def path(self, name: str) -> Path:
        """The path of one of the directory's files."""
        return self.dir / name

    def fingerprint(self) -> str:
        """The fingerprint of the user's own key (``ab12 cd34 ...``)."""
        return e2e.fingerprint(self.public_key)

    # -- contacts ---------------------------------------------------------------

    def contact(self, user: str) -> Optional[Contact]:
        """The key recorded for ``user``, or None."""
        with self._lock:
            return self._contacts.get(user)

    def trust(self, user: str, key: bytes, now: Optional[_dt.datetime] = None) -> Optional[bytes]:
        """Records ``key`` as ``user``'s (trust on first use); returns the key it
        replaced, or None (a first key, or the same one again).

        A replaced key goes to the front of ``previous_keys`` (a key that comes
        back leaves that list), so messages sealed before the change still open.
        """
        key = bytes(key)
        if len(key) != _KEY_SIZE:
            raise KeyStoreError(f"a key is {_KEY_SIZE} bytes, not {len(key)}")
        with self._lock:
            contacts = self._read_contacts()
            old = contacts.get(user)
            if old is not None and old.public_key == key:
                self._contacts = contacts
                return None
            if old is None:
                stamp = (now or _dt.datetime.now(_dt.timezone.utc)).replace(microsecond=0)
                contacts[user] = Contact(key, stamp.astimezone(_dt.timezone.utc), ())
            else:
                previous = (old.public_key,) + tuple(k for k in old.previous_keys if k != key)
                contacts[user] = old._replace(public_key=key, previous_keys=previous)
            self._write(CONTACTS_FILE, _contacts_doc(contacts))
            self._contacts = contacts
            return None if old is None else old.public_key

    # -- the outbox -------------------------------------------------------------

    def waiting(self, to: Optional[str] = None) -> List[Waiting]:
        """The messages that wait for a key, in the order typed: ``to``'s, or everyone's."""
        with self._lock:
            return [w for w in self._outbox if to is None or w.to == to]

    def hold(self, message: Waiting) -> None:
        """Adds ``message`` to outbox.json; it is on disk when this returns."""
        with self._lock:
            messages = self._read_outbox()
            if all(w.client_msg_id != message.client_msg_id for w in messages):
                messages.append(message)
            self._write(OUTBOX_FILE, _outbox_doc(messages))
            self._outbox = messages

    def release(self, client_msg_id: str) -> None:
        """Removes the message of ``client_msg_id`` from outbox.json: the server has taken it."""
        with self._lock:
            messages = self._read_outbox()
            kept = [w for w in messages if w.client_msg_id != client_msg_id]
            if len(kept) != len(messages):
                self._write(OUTBOX_FILE, _outbox_doc(kept))
            self._outbox = kept

    # -- group sender keys ------------------------------------------------------

    def group_state(self, group: str) -> GroupState:
        """What groups.json keeps of ``group`` (no key, no senders if nothing)."""
        with self._lock:
            return self._groups.get(group, GroupState(None, {}))

    def my_sender_key(self, group: str) -> Optional[MySenderKey]:
        """The user's sender key for ``group``, or None."""
        return self.group_state(group).mine

    def set_my_sender_key(self, group: str, key: MySenderKey) -> None:
        """Records ``key`` as the user's sender key for ``group``."""
        with self._lock:
            groups = self._read_groups()
            st = groups.get(group, GroupState(None, {}))
            groups[group] = st._replace(mine=key)
            self._write_groups(groups)

    def add_sender_key(self, group: str, sender: str, key: e2e.SenderKey) -> None:
        """Records ``sender``'s key for ``group`` as their newest; only the
        newest :data:`MAX_SENDER_KEYS` are kept."""
        with self._lock:
            groups = self._read_groups()
            st = groups.get(group, GroupState(None, {}))
            keys = (key, *(k for k in st.senders.get(sender, ()) if k.id != key.id))
            groups[group] = st._replace(senders={**st.senders, sender: keys[:MAX_SENDER_KEYS]})
            self._write_groups(groups)

    def sender_key(self, group: str, sender: str, key_id: bytes) -> Optional[bytes]:
        """The 32 bytes of ``sender``'s key of id ``key_id`` for ``group``, or None."""
        key_id = bytes(key_id)
        for k in self.group_state(group).senders.get(sender, ()):
            if k.id == key_id:
                return k.key
        return None

    def owing(self, member: str) -> List[str]:
        """The groups whose current sender key of the user's was made for a
        membership that includes ``member`` but has not reached them (they had
        no identity key then, or it changed since), in name order."""
        with self._lock:
            groups = self._read_groups()
            self._groups = groups
        return sorted(
            name
            for name, st in groups.items()
            if st.mine is not None and member in st.mine.members and member not in st.mine.shared
        )

    def mark_shared(self, group: str, key_id: bytes, members: Sequence[str]) -> None:
        """Records that ``members`` have the user's sender key of id ``key_id``
        for ``group``, if it is still the current one (a new key may have
        replaced it meanwhile: that one goes to everyone anyway)."""
        key_id = bytes(key_id)
        with self._lock:
            groups = self._read_groups()
            st = groups.get(group)
            if st is None or st.mine is None or st.mine.id != key_id:
                self._groups = groups
                return
            shared = st.mine.shared + tuple(m for m in dict.fromkeys(members) if m not in st.mine.shared)
            groups[group] = st._replace(mine=st.mine._replace(shared=shared))
            self._write_groups(groups)

    def unshare(self, member: str) -> None:
        """Forgets that ``member`` has the user's sender keys: ``member``'s
        identity key changed, so the keys go to them again, sealed for the new one."""
        with self._lock:
            groups = self._read_groups()
            changed = False
            for name, st in groups.items():
                if st.mine is not None and member in st.mine.shared:
                    shared = tuple(m for m in st.mine.shared if m != member)
                    groups[name] = st._replace(mine=st.mine._replace(shared=shared))
                    changed = True
            if changed:
                self._write_groups(groups)
            else:
                self._groups = groups

    # -- files ------------------------------------------------------------------

    def _read_groups(self) -> Dict[str, GroupState]:
        doc = _read(self.path(GROUPS_FILE))
        return {} if doc is None else _checked(self.path(GROUPS_FILE), doc, _parse_groups)

    def _write_groups(self, groups: Dict[str, GroupState]) -> None:
        """Writes groups.json whole and keeps ``groups`` as the state; self._lock is held."""
        self._write(GROUPS_FILE, _groups_doc(groups))
        self._groups = groups

    def _read_contacts(self) -> Dict[str, Contact]:
        doc = _read(self.path(CONTACTS_FILE))
        return {} if doc is None else _checked(self.path(CONTACTS_FILE), doc, _parse_contacts)

    def _read_outbox(self) -> List[Waiting]:
        doc = _read(self.path(OUTBOX_FILE))
        return [] if doc is None else _checked(self.path(OUTBOX_FILE), doc, _parse_outbox)

    def _write(self, name: str, doc: Dict[str, Any]) -> None:
        _write_file(self.path(name), doc)


def _make_dirs(path: Path) -> None:
    """Makes ``path`` and any missing parent, each with mode 0700."""
    missing = []
    p = path
    while not p.exists():
        missing.append(p)
        if p.parent == p:
            break
        p = p.parent
    try:
        for p in reversed(missing):
            os.mkdir(p, 0o700)
    except FileExistsError:
        pass  # made meanwhile, by another client say
    except OSError as err:
        raise KeyStoreError(f"make the key directory {path}: {err.strerror or err}") from None
    if not path.is_dir():
        raise KeyStoreError(f"{path} is not a directory")


def _read(path: Path) -> Optional[Dict[str, Any]]:
    """The decoded JSON object of ``path``; None when there is no such file."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as err:
        raise KeyStoreError(f"read {path}: {err.strerror or err}") from None
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as err:
        raise KeyStoreError(f"{path} is not a file this client wrote: {err}") from None
    if not isinstance(doc, dict):
        raise KeyStoreError(f"{path} is not a file this client wrote: it holds {_kind(doc)}, not an object")
    version = doc.get("version")
    if version is None:
        raise KeyStoreError(f"{path} is not a file this client wrote: it has no version")
    if version != FORMAT_VERSION:
        raise KeyStoreError(f"{path} is of version {version}; this client knows version {FORMAT_VERSION}")
    return doc


def _checked(path: Path, doc: Dict[str, Any], parse):
    """``parse(doc)``, its ValueError turned into a KeyStoreError naming ``path``."""
    try:
        return parse(doc)
    except ValueError as err:
        raise KeyStoreError(f"{path} is not a file this client wrote: {err}") from None


def _load_identity(directory: Path, user: str):
    """The identity keys of ``directory`` (X25519, Ed25519) and whether they were
    made now; makes them when there is no identity.json, and adds the log-in key
    to one that has none (the rest of the file kept).

    A file that is there but wrong is an error: replacing it would change the
    user's key behind their back.
    """
    path = directory / IDENTITY_FILE
    doc = _read(path)
    if doc is None:
        key, signing_key = e2e.generate_key(), auth.generate_signing_key()
        _write_file(
            path,
            {
                "version": FORMAT_VERSION,
                "user": user,
                "private_key": _b64(e2e.private_bytes(key)),
                "public_key": _b64(e2e.public_bytes(key)),
                **_signing_fields(signing_key),
            },
            replace=False,
        )
        return key, signing_key, True
    if doc.get("user") != user:
        raise KeyStoreError(f"{path} is the key of {json.dumps(doc.get('user'))}, not of {json.dumps(user)}")
    try:
        key = e2e.private_key_from_bytes(_key(doc.get("private_key"), "the private key"))
        public = _key(doc.get("public_key"), "the public key")
    except ValueError as err:
        raise KeyStoreError(f"{path}: {err}") from None
    if public != e2e.public_bytes(key):
        raise KeyStoreError(f"{path}: the public key is not the private key's")
    if doc.get("signing_key") is None:
        # A file from before logging in existed: add a log-in key, keep the rest.
        signing_key = auth.generate_signing_key()
        _write_file(path, {**doc, **_signing_fields(signing_key)})
        return key, signing_key, False
    return key, _signing_key(path, doc), False


def _signing_fields(signing_key) -> Dict[str, str]:
    """identity.json's fields of a log-in key: its seed and its public key, as Go writes them."""
    return {
        "signing_key": _b64(auth.signing_seed(signing_key)),
        "signing_public_key": _b64(auth.signing_public_bytes(signing_key)),
    }


def _signing_key(path: Path, doc: Mapping[str, Any]):
    """The log-in key of a decoded identity.json (at ``path``), checked against its public half."""
    try:
        signing_key = auth.signing_key_from_seed(_key(doc.get("signing_key"), "the signing key", auth.SEED_SIZE))
        public = _key(doc.get("signing_public_key"), "the signing public key", auth.PUBLIC_KEY_SIZE)
    except ValueError as err:
        raise KeyStoreError(f"{path}: {err}") from None
    if public != auth.signing_public_bytes(signing_key):
        raise KeyStoreError(f"{path}: the signing public key is not the signing key's")
    return signing_key


def _write_file(path: Path, doc: Dict[str, Any], replace: bool = True) -> None:
    """Writes ``doc`` as JSON to ``path``, whole: a temporary file (mode 0600) in the
    same directory, synced, then renamed over ``path`` (linked, when ``replace`` is
    false: a file made meanwhile, by another client, is not replaced)."""
    data = (json.dumps(doc, indent=2) + "\n").encode("utf-8")
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=str(path.parent))
        with os.fdopen(fd, "wb") as f:
            if hasattr(os, "fchmod"):
                os.fchmod(f.fileno(), 0o600)
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if replace or not hasattr(os, "link"):
            os.replace(tmp, path)
        else:
            os.link(tmp, path)  # fails if another client made the file meanwhile
        _sync_dir(path.parent)
    except FileExistsError:
        raise KeyStoreError(f"{path} was made by another client meanwhile: start again") from None
    except OSError as err:
        raise KeyStoreError(f"write {path}: {err.strerror or err}") from None
    finally:
        if tmp is not None and os.path.lexists(tmp):
            try:
                os.unlink(tmp)
            except OSError:
                pass


def _sync_dir(directory: Path) -> None:
    """Makes a rename in ``directory`` durable (where the system allows it)."""
    try:
        fd = os.open(str(directory), os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
