"""A small Python client library for Spartan Messenger.

It wraps the generated gRPC stubs (``spartan/v1/chat_pb2*.py``, made by
``make generate``) in two classes:

* :class:`SpartanClient` speaks for one user: one method per RPC of
  ``spartan.v1.ChatService``, with timeouts, plain Python arguments and one
  exception type, :class:`SpartanError`, that carries the server's status code
  and sentence, and the wait it asks for before a retry, if any
  (``retry_delay``: a rate limit's refusal).
* :class:`InboxFollower` follows a user's inbox on a background thread: it
  reads the ``ReceiveMsg`` stream, reconnects with backoff after a dropped
  connection (to the next server of a cluster, given several), resumes
  from the last position it saw (an epoch and a sequence number), drops
  duplicates, and acknowledges (``Ack``) what it has handed over,
  coalesced; live-only events (``seq`` 0: presence, server notices) pass
  straight through.
* :class:`E2E` is the end-to-end encryption of one client's user
  (docs/SECURITY.md), with the keys of a :class:`spartan_keystore.KeyStore`:
  it publishes the user's key, seals what is sent, opens what arrives and
  trusts the other users' keys on first use. A client made with ``keys=``
  (or given them with :meth:`SpartanClient.use_keys`) has one as ``e2e``,
  and its :meth:`SpartanClient.send` seals. Group chats (docs/SECURITY.md,
  "Groups: sender keys"): :meth:`SpartanClient.post` seals a post with the
  user's sender key for the group (:meth:`E2E.post_text`, which makes and
  shares the key as the members require), :meth:`E2E.share_owed_keys`
  sends it to a member who published an identity key since it was made,
  :meth:`E2E.accept_group_key` takes in another member's, and
  :meth:`SpartanClient.open` opens posts too.

A client may name several servers of one cluster (``"host1:3000,host2:3000"``,
or a list): it uses the first, and moves to the next when the one it uses
cannot be reached.

A client with a log-in key (``signer=``, an Ed25519 key of :mod:`spartan_auth`,
or that of its ``keys=``) logs in by itself (docs/SECURITY.md, "Authentication"):
before its first call it signs a fresh challenge (``Challenge``,
``Authenticate``) and then sends the session token with every call but
``Challenge``, ``Authenticate`` and ``ListUsers``, renewing it a minute before
it ends (a quarter of its life before, if that is less); a call the server
refuses ``UNAUTHENTICATED`` (its secret changed, say) logs in again and is
tried once more, and an inbox stream the server ends when its token expires
is reopened at once, quietly (:class:`InboxFollower`). ``tls=True`` (or ``root_certificates=``,
the PEM certificates to trust instead of the system's) talks TLS.
:func:`log_in` does the same for a raw stub.

Only ``grpcio``, ``grpcio-status`` (which reads the ``google.rpc.Status``
an error may carry), ``protobuf`` and ``pycryptodome`` (for the encryption,
:mod:`spartan_e2e`, and the log-in key, :mod:`spartan_auth`) are needed. Example::

    from spartan_client import SpartanClient
    from spartan_keystore import KeyStore, default_key_dir

    keys = KeyStore.open(default_key_dir("localhost:3000", "alice"), "alice")
    with SpartanClient("localhost:3000", "alice", signer=keys.signing_key) as alice:
        alice.login()
        alice.request_chat("bob")
        alice.send("bob", "Hey Bob!")  # in plaintext: keys=keys seals it
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import collections
import datetime as _dt
import json
import sys
import threading
import time
import traceback
import uuid
from typing import Callable, Dict, Iterator, List, NamedTuple, Optional, Sequence, Tuple, Union

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

import spartan_auth as auth
import spartan_e2e as e2e
from spartan.v1 import chat_pb2 as pb
from spartan.v1 import chat_pb2_grpc as pb_grpc
from spartan_keystore import KeyStore, KeyStoreError, MySenderKey

__all__ = [
    "DEFAULT_SERVER",
    "E2E",
    "KeyChange",
    "NoGroupKeyError",
    "NoKeyError",
    "OPEN_RPCS",
    "Opened",
    "RENEW_BEFORE",
    "RUNNING_AFTER",
    "Session",
    "SealedPost",
    "max_post",
    "max_text",
    "InboxFollower",
    "SpartanClient",
    "SpartanError",
    "Subscription",
    "log_in",
    "new_message_id",
    "open_plaintext",
    "renew_time",
    "retry_delay",
    "split_targets",
    "text_of",
    "pb",
]

#: The server address the brief uses.
DEFAULT_SERVER = "localhost:3000"

#: The largest ``page_size`` the History RPC takes. It is an upper bound only:
#: a page also holds at most about 3 MiB of messages (the server's
#: ``chat.MaxPageBytes``), so that it stays under gRPC's usual 4 MiB receive
#: limit, and ``next_before_seq`` leads on to the rest.
MAX_PAGE_SIZE = 500


def new_message_id() -> str:
    """Returns a fresh id for a message to send (a random UUID), as the Go client's NewMessageID.

    Make one per message and send it again with every retry of that message
    (``SpartanClient.send(..., client_msg_id=...)``): the server stores the
    message once however often it arrives.
    """
    return str(uuid.uuid4())

# The channel retries a lost connection quickly, so that a restarted server is
# found again within a second or two rather than after gRPC's default backoff
# (which grows to two minutes).
_CHANNEL_OPTIONS = [
    ("grpc.initial_reconnect_backoff_ms", 200),
    ("grpc.min_reconnect_backoff_ms", 200),
    ("grpc.max_reconnect_backoff_ms", 2000),
    ("grpc.keepalive_time_ms", 30000),
    ("grpc.keepalive_timeout_ms", 10000),
]

# Stream errors that mean "the request itself is wrong": retrying cannot help.
_PERMANENT = frozenset(
    {
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.NOT_FOUND,
        grpc.StatusCode.PERMISSION_DENIED,
        grpc.StatusCode.UNAUTHENTICATED,
        grpc.StatusCode.UNIMPLEMENTED,
        grpc.StatusCode.FAILED_PRECONDITION,
    }
)


class SpartanError(Exception):
    """A failed call: ``code`` is the gRPC status code, ``details`` the server's sentence.

    ``retry_delay`` is the wait, in seconds, the server asked for before the
    call is tried again (a ``google.rpc.RetryInfo`` detail of the error), or
    None when it asked for none. The server's rate limit refuses a call past
    the caller's limit with ``RESOURCE_EXHAUSTED`` and a ``retry_delay``;
    its other ``RESOURCE_EXHAUSTED`` errors (too many messages waiting for an
    answer, a request far too big) have none: trying again will not help.
    """

    def __init__(self, code: grpc.StatusCode, details: str, retry_delay: Optional[float] = None):
        super().__init__(details or code.name)
        self.code = code
        self.details = details or code.name
        self.retry_delay = retry_delay

    @classmethod
    def from_rpc_error(cls, err: grpc.RpcError) -> "SpartanError":
        """Converts an error raised by a gRPC call (blocking or ``grpc.aio``)."""
        code = err.code() if hasattr(err, "code") else grpc.StatusCode.UNKNOWN
        details = err.details() if hasattr(err, "details") else str(err)
        return cls(code or grpc.StatusCode.UNKNOWN, details or "", retry_delay(err))

    def __str__(self) -> str:
        return self.details

    @property
    def permanent(self) -> bool:
        """True when retrying the same request cannot help (a bad user name, say)."""
        return self.code in _PERMANENT


class NoKeyError(SpartanError):
    """``user`` has not published an identity key yet (GetKey answered
    ``NOT_FOUND``): nothing can be sealed for them. Nothing was sent."""

    def __init__(self, user: str, details: str = ""):
        super().__init__(grpc.StatusCode.NOT_FOUND, details or f"{user} has not set up encryption yet")
        self.user = user


class NoGroupKeyError(e2e.E2EError):
    """A group post was sealed with a sender key this client never received:
    posted before the user joined, or the key was lost (as Go's ErrNoGroupKey)."""

    def __init__(self, message: str = "the sender's key for this group has not reached this client"):
        super().__init__(message)


def retry_delay(err: grpc.RpcError) -> Optional[float]:
    """The wait in seconds a failed call's ``google.rpc.RetryInfo`` detail asks for, or None.

    The detail travels in the ``grpc-status-details-bin`` trailer, a
    ``google.rpc.Status``, read with grpcio-status (``rpc_status.from_call``).
    An error without it, or whose trailer does not match its status (which
    ``from_call`` refuses), asks for no wait.
    """
    try:
        status = rpc_status.from_call(err)
    except Exception:  # noqa: BLE001 - not a call, a mismatched or undecodable trailer
        return None
    if status is None:
        return None
    for detail in status.details:
        if detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            info = error_details_pb2.RetryInfo()
            if not detail.Unpack(info):
                continue
            delay = info.retry_delay
            return max(0.0, delay.seconds + delay.nanos / 1e9)
    return None


def _call(method, request, timeout: Optional[float], **kwargs):
    """Calls a unary stub method, turning grpc.RpcError into SpartanError."""
    try:
        return method(request, timeout=timeout, **kwargs)
    except grpc.RpcError as err:
        raise SpartanError.from_rpc_error(err) from None


def _dial(target: str, credentials: Optional[grpc.ChannelCredentials]) -> grpc.Channel:
    """A (blocking) channel to ``target``: TLS with ``credentials``, else plaintext."""
    if credentials is None:
        return grpc.insecure_channel(target, options=_CHANNEL_OPTIONS)
    return grpc.secure_channel(target, credentials, options=_CHANNEL_OPTIONS)


def split_targets(target: Union[str, Sequence[str]]) -> list:
    """The servers a target names: ``"h1:p1,h2:p2"`` or a list of such strings, in order.

    Spaces around each are dropped, and so are empty entries; a target that
    names none (``""``) is kept as it is, for gRPC to refuse.
    """
    parts = [target] if isinstance(target, str) else list(target)
    out = [t.strip() for part in parts for t in str(part).split(",") if t.strip()]
    return out or [target if isinstance(target, str) else ""]


# -- logging in -----------------------------------------------------------------------------

#: The RPCs that need no session token: the log-in steps, and the user list a
#: client shows before logging in.
OPEN_RPCS = frozenset({"Challenge", "Authenticate", "ListUsers"})
#: How long before its end a session token is renewed, in seconds, at most (as the
#: Go client): a token that lives less than four times as long is renewed after
#: three quarters of its life (see :func:`renew_time`), so that a short-lived
#: token (``auth.token_minutes: 0.05``, say) is not logged in for on every call.
RENEW_BEFORE = 60.0
#: How long (seconds) an inbox stream must have been open to count as running
#: when it ends ``UNAUTHENTICATED`` (if it handed nothing over): the server cut
#: it because its token expired, rather than refused it as it opened (see
#: :class:`InboxFollower`; the Go client's Subscription does the same).
RUNNING_AFTER = 1.0
#: The metadata key of the session token (gRPC's keys are lower case).
_AUTHORIZATION = "authorization"


class Session(NamedTuple):
    """A session token, as ``Authenticate`` issued it (docs/SECURITY.md, "Authentication")."""

    #: The token, sent as ``authorization: Bearer <token>``.
    token: str
    #: When it stops working (UTC, to the second).
    expire_time: _dt.datetime

    @property
    def metadata(self) -> Tuple[Tuple[str, str], ...]:
        """The call metadata that carries the token: a raw stub's call takes it as ``metadata=``."""
        return ((_AUTHORIZATION, f"Bearer {self.token}"),)

    def good_for(self, seconds: float) -> bool:
        """Whether the token works for more than ``seconds`` from now."""
        left = self.expire_time - _dt.datetime.now(_dt.timezone.utc)
        return left.total_seconds() > seconds


def renew_time(expire_time: _dt.datetime, now: Optional[_dt.datetime] = None) -> _dt.datetime:
    """When a token that ends at ``expire_time``, issued ``now``, is to be
    renewed: :data:`RENEW_BEFORE` seconds before its end, or a quarter of its
    life (from ``now``) before if that is less; as the Go client's
    ``until - min(1 min, (until-now)/4)``."""
    now = now or _dt.datetime.now(_dt.timezone.utc)
    life = max((expire_time - now).total_seconds(), 0.0)
    return expire_time - _dt.timedelta(seconds=min(RENEW_BEFORE, life / 4))


def log_in(stub: pb_grpc.ChatServiceStub, user: str, signer, timeout: Optional[float] = None) -> Session:
    """Logs ``user`` in with the Ed25519 key ``signer`` (:mod:`spartan_auth`) on a raw
    ``ChatServiceStub``: ``Challenge``, the challenge signed, ``Authenticate``.
    Returns the :class:`Session`; pass its ``metadata`` to every other call.

    Raises ``grpc.RpcError``, as the stub's calls do: ``NOT_FOUND`` (no such
    user), ``PERMISSION_DENIED`` (the server knows another key for ``user``),
    ``UNAUTHENTICATED`` (a challenge that expired meanwhile), ``UNAVAILABLE``.
    """
    challenge = stub.Challenge(pb.ChallengeRequest(user=user), timeout=timeout).challenge
    req = pb.AuthenticateRequest(
        user=user,
        challenge=challenge,
        public_key=auth.signing_public_bytes(signer),
        signature=auth.sign_challenge(signer, user, challenge),
    )
    res = stub.Authenticate(req, timeout=timeout)
    return Session(res.token, res.expire_time.ToDatetime(tzinfo=_dt.timezone.utc))


class _Login:
    """Logs one client's user in and keeps the session token its calls carry
    (as the Go client's session); safe to use from several threads.

    Without a log-in key it adds nothing: a server that does not require
    logging in serves such a client.
    """

    def __init__(self, client: "SpartanClient", signer=None):
        self._client = client
        #: The Ed25519 key the user logs in with, or None.
        self.signer = signer
        self._lock = threading.Lock()
        self._session: Optional[Session] = None
        #: When the session's token is to be renewed (see :func:`renew_time`).
        self._renew_at: Optional[_dt.datetime] = None

    def use(self, signer) -> None:
        """Logs in with ``signer`` from now on (the next call logs in)."""
        with self._lock:
            self.signer, self._session = signer, None

    def token(self, target: str) -> str:
        """The session's token until it is due for renewal (:func:`renew_time`:
        :data:`RENEW_BEFORE` seconds before its end, or a quarter of its life
        if that is less), logging in on ``target`` when there is none or it is
        due; "" without a log-in key. Raises ``grpc.RpcError`` (logging in
        failed). One thread logs in; the others wait for its token."""
        if self.signer is None:
            return ""
        with self._lock:
            session = self._session
            now = _dt.datetime.now(_dt.timezone.utc)
            if session is None or self._renew_at is None or now >= self._renew_at:
                client = self._client
                session = log_in(client.stub_for(target), client.user, self.signer, client.timeout)
                self._session, self._renew_at = session, renew_time(session.expire_time)
            return session.token

    def drop(self, token: str) -> None:
        """Forgets ``token``, which a server refused (its secret changed, say), so
        that the next call logs in again; a newer token stays."""
        with self._lock:
            if self._session is not None and self._session.token == token:
                self._session = None


class _CallDetails(
    collections.namedtuple(
        "_CallDetails", ("method", "timeout", "metadata", "credentials", "wait_for_ready", "compression")
    ),
    grpc.ClientCallDetails,
):
    """A call's details, with the metadata changed."""


def _with_token(details: grpc.ClientCallDetails, token: str) -> grpc.ClientCallDetails:
    """``details`` with ``token`` as the call's ``authorization``."""
    metadata = [(k, v) for k, v in (details.metadata or ()) if k.lower() != _AUTHORIZATION]
    metadata.append((_AUTHORIZATION, f"Bearer {token}"))
    return _CallDetails(
        details.method,
        details.timeout,
        metadata,
        details.credentials,
        getattr(details, "wait_for_ready", None),
        getattr(details, "compression", None),
    )


def _needs_token(details: grpc.ClientCallDetails) -> bool:
    """Whether the call should carry the session token: not a log-in step nor
    ListUsers, and without an ``authorization`` of the caller's own."""
    method = details.method.decode() if isinstance(details.method, bytes) else str(details.method)
    if method.rpartition("/")[2] in OPEN_RPCS:
        return False
    return not any(k.lower() == _AUTHORIZATION for k, _ in (details.metadata or ()))


class _TokenInterceptor(grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor):
    """Puts the session token on every call to one server that needs it, and
    logs in again once when the server refuses it (a unary call only: a stream
    the server refuses drops the token, see :class:`Subscription`)."""

    def __init__(self, login: _Login, target: str):
        self._login = login
        self._target = target

    def intercept_unary_unary(self, continuation, client_call_details, request):
        if self._login.signer is None or not _needs_token(client_call_details):
            return continuation(client_call_details, request)
        try:
            token = self._login.token(self._target)
        except grpc.RpcError as err:
            return err  # a call's outcome: raised by the blocking call, as its own error
        outcome = continuation(_with_token(client_call_details, token), request)
        if outcome.code() != grpc.StatusCode.UNAUTHENTICATED:
            return outcome
        self._login.drop(token)
        try:
            token = self._login.token(self._target)
        except grpc.RpcError as err:
            return err
        return continuation(_with_token(client_call_details, token), request)

    def intercept_unary_stream(self, continuation, client_call_details, request):
        if self._login.signer is None or not _needs_token(client_call_details):
            return continuation(client_call_details, request)
        # A failure to log in is raised by the stream's first read.
        return continuation(_with_token(client_call_details, self._login.token(self._target)), request)


class _FailedCall:
    """A stream that could not start (logging in failed): reading it raises the error."""

    def __init__(self, err: grpc.RpcError):
        self._err = err

    def __iter__(self) -> "_FailedCall":
        return self

    def __next__(self):
        raise self._err

    def cancel(self) -> bool:
        return False


class Subscription:
    """An open ``ReceiveMsg`` stream: iterate it for messages, ``cancel()`` it to stop.

    Iteration raises :class:`SpartanError` when the stream fails (for instance
    ``UNAVAILABLE`` when the server shuts down, ``OUT_OF_RANGE`` when the
    requested seq is past the end of the inbox and no epoch was given,
    ``UNAUTHENTICATED`` when the server refused the session token, or ended
    the stream because the token it was opened with expired; either way
    ``on_unauthenticated`` then forgets the token, so the next stream logs in
    again). After ``cancel()`` the iteration simply ends.
    """

    def __init__(self, call, on_unauthenticated: Optional[Callable[[], None]] = None):
        self._call = call
        self._cancelled = False
        self._on_unauthenticated = on_unauthenticated

    def __iter__(self) -> Iterator[pb.Message]:
        try:
            for msg in self._call:
                yield msg
        except grpc.RpcError as err:
            if self._cancelled and err.code() == grpc.StatusCode.CANCELLED:
                return
            if err.code() == grpc.StatusCode.UNAUTHENTICATED and self._on_unauthenticated is not None:
                self._on_unauthenticated()  # the token it carried: the next stream logs in again
            raise SpartanError.from_rpc_error(err) from None

    def cancel(self) -> None:
        """Closes the stream; a thread blocked in iteration returns."""
        self._cancelled = True
        self._call.cancel()


class SpartanClient:
    """One user's connection to a Spartan server, or to any server of a cluster.

    ``target`` is ``host:port``, or several servers of one cluster (servers
    that share one Redis: any of them serves any user), as a comma-separated
    string ``"host1:port1,host2:port2"`` or a list of targets. The client uses
    one of them at a time, :attr:`target`, the first at start. When a call
    fails ``UNAVAILABLE`` (the server cannot be reached), the next one in the
    list becomes current (round robin: after the last comes the first again)
    and the following calls go there; the failed call itself is not repeated
    (the caller decides: a send retried with the same ``client_msg_id`` is
    stored once, whichever server takes it). With one server nothing moves.
    :meth:`rotate` and :meth:`use` move by hand; :class:`InboxFollower`
    moves the same way when its stream breaks.

    ``user`` is the caller every request names. Every unary call takes
    ``timeout`` seconds at most (``None``: no limit) and raises
    :class:`SpartanError` on failure. ``stub`` is the raw generated
    ``ChatServiceStub`` of the current server for anything this class does
    not cover. ``channel`` (a ready-made channel) is for one server only.

    ``keys`` (a :class:`spartan_keystore.KeyStore` of ``user``) turns on
    end-to-end encryption: :attr:`e2e` is then an :class:`E2E`, :meth:`send`
    seals, :meth:`publish_key` publishes the store's key and :meth:`open`
    opens what arrives; ``on_key_change`` is called with a :class:`KeyChange`
    when a contact's trusted key is replaced. Without keys (``e2e`` is None)
    everything is sent as plaintext, as :meth:`send_plaintext` always does.

    ``signer`` is the Ed25519 key the user logs in with (:mod:`spartan_auth`;
    by default that of ``keys``, :attr:`spartan_keystore.KeyStore.signing_key`).
    With one, the client logs in by itself on its first call that needs it
    (``Challenge``, then ``Authenticate``), sends the session token with every
    call but ``Challenge``, ``Authenticate`` and ``ListUsers`` (:data:`OPEN_RPCS`;
    :attr:`stub`'s calls too), renews it :data:`RENEW_BEFORE` seconds before it
    ends (a quarter of its life before, if that is less: :func:`renew_time`),
    and when a server refuses it (``UNAUTHENTICATED``: its secret changed)
    logs in again and tries the call once more; a stream the server refuses
    so, or ends so when the token it opened with expires, forgets the token,
    and the next one logs in again (:class:`InboxFollower` reopens its
    stream at once). A call whose
    log-in fails raises that failure: ``PERMISSION_DENIED`` when the server
    knows another key for the user, ``NOT_FOUND`` for an unknown user. Without
    a key nothing is added: a server that requires logging in answers
    ``UNAUTHENTICATED``.

    ``tls=True`` talks TLS, trusting the system's certificate authorities, or
    those of ``root_certificates`` (PEM bytes; given, they imply ``tls``); a
    server that offers no certificate they vouch for cannot be reached
    (``UNAVAILABLE``). :attr:`credentials` are the channels' credentials (None:
    plaintext), which :class:`InboxFollower` dials with too.
    """

    def __init__(
        self,
        target: Union[str, Sequence[str]] = DEFAULT_SERVER,
        user: str = "",
        *,
        timeout: Optional[float] = 10.0,
        channel: Optional[grpc.Channel] = None,
        keys: Optional[KeyStore] = None,
        on_key_change: Optional[Callable[["KeyChange"], None]] = None,
        signer=None,
        tls: bool = False,
        root_certificates: Optional[bytes] = None,
    ):
        #: Every server this client may use, in order.
        self.targets = split_targets(target)
        self.user = user
        self.timeout = timeout
        self._own_channel = channel is None
        if channel is not None and len(self.targets) > 1:
            raise ValueError("a ready-made channel is for one server: give one target")
        #: The channels' credentials: TLS, or None for plaintext.
        self.credentials: Optional[grpc.ChannelCredentials] = (
            grpc.ssl_channel_credentials(root_certificates=root_certificates)
            if tls or root_certificates is not None
            else None
        )
        self._login = _Login(self, signer)
        self._lock = threading.Lock()
        self._index = 0
        #: One channel and stub per server, made when first used.
        self._channels: dict = {}
        self._stubs: dict = {}
        if channel is not None:
            self._channels[self.targets[0]] = channel
        self._connect(self.targets[0])  # the first server's channel, as before
        #: The end-to-end encryption, or None (plaintext): see :meth:`use_keys`.
        self.e2e: Optional[E2E] = None
        if keys is not None:
            self.use_keys(keys, on_key_change)

    def use_keys(self, keys: KeyStore, on_key_change: Optional[Callable[["KeyChange"], None]] = None) -> "E2E":
        """Encrypts from now on with ``keys`` (a key store of this client's user); returns :attr:`e2e`.

        A client without a log-in key logs in with that of ``keys`` from now on.
        """
        if keys.user != self.user:
            raise ValueError(f"the keys are {keys.user}'s, not {self.user}'s")
        self.e2e = E2E(self, keys, on_key_change)
        if self._login.signer is None and keys.signing_key is not None:
            self._login.use(keys.signing_key)
        return self.e2e

    # -- logging in ------------------------------------------------------------

    @property
    def signer(self):
        """The Ed25519 key the user logs in with, or None (the client does not log in)."""
        return self._login.signer

    def use_signer(self, signer) -> None:
        """Logs in with ``signer`` (an Ed25519 key of :mod:`spartan_auth`) from now
        on: the next call that needs a session logs in."""
        self._login.use(signer)

    def session_token(self, target: Optional[str] = None) -> str:
        """The session token, renewed when due (:func:`renew_time`), logging
        in on ``target`` (default: the current server) when there is none; "" for
        a client without a log-in key. Raises :class:`SpartanError` when logging
        in fails."""
        try:
            return self._login.token(target or self.target)
        except grpc.RpcError as err:
            raise SpartanError.from_rpc_error(err) from None

    def forget_token(self, token: str) -> None:
        """Forgets ``token``, which a server refused: the next call logs in again."""
        self._login.drop(token)

    # -- which server ----------------------------------------------------------

    @property
    def target(self) -> str:
        """The server in use now (``host:port``)."""
        return self.targets[self._index]

    @property
    def channel(self) -> grpc.Channel:
        """The channel to the server in use."""
        return self._connect(self.target)[0]

    @property
    def stub(self) -> pb_grpc.ChatServiceStub:
        """The generated stub of the server in use."""
        return self._connect(self.target)[1]

    def stub_for(self, target: str) -> pb_grpc.ChatServiceStub:
        """The generated stub of ``target`` (one of :attr:`targets`)."""
        return self._connect(target)[1]

    def _connect(self, target: str):
        """The channel and stub of ``target``, made on first use; the stub's calls
        carry the session token (see :class:`_TokenInterceptor`)."""
        with self._lock:
            channel = self._channels.get(target)
            if channel is None:
                channel = self._channels[target] = _dial(target, self.credentials)
            stub = self._stubs.get(target)
            if stub is None:
                intercepted = grpc.intercept_channel(channel, _TokenInterceptor(self._login, target))
                stub = self._stubs[target] = pb_grpc.ChatServiceStub(intercepted)
            return channel, stub

    def rotate(self, failed: Optional[str] = None) -> str:
        """Moves on from ``failed`` (default: the current server) to the next one; returns the current server.

        If the current server is no longer ``failed`` (another thread moved on
        already), it stays: several calls that fail on the same server move
        the client on once, not once each.
        """
        with self._lock:
            if failed is None or self.targets[self._index] == failed:
                self._index = (self._index + 1) % len(self.targets)
            return self.targets[self._index]

    def use(self, target: str) -> None:
        """Makes ``target`` (one of :attr:`targets`) the server in use."""
        with self._lock:
            if self.targets[self._index] != target:
                self._index = self.targets.index(target)

    def _unary(self, name: str, request):
        """Calls the unary RPC ``name`` on the current server; moves on after UNAVAILABLE."""
        target = self.target
        try:
            return _call(getattr(self.stub_for(target), name), request, self.timeout)
        except SpartanError as err:
            if err.code == grpc.StatusCode.UNAVAILABLE and len(self.targets) > 1:
                self.rotate(target)
            raise

    # -- lifecycle -----------------------------------------------------------

    def close(self) -> None:
        """Closes the channels (if this client made them); open streams end."""
        if self._own_channel:
            with self._lock:
                channels = list(self._channels.values())
            for channel in channels:
                channel.close()

    def __enter__(self) -> "SpartanClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def wait_until_reachable(self, timeout: float, target: Optional[str] = None) -> bool:
        """Returns True once the server (``target``, default the current one) answers a call,
        False after ``timeout`` seconds."""
        try:
            self.stub_for(target or self.target).ListUsers(
                pb.ListUsersRequest(), timeout=timeout, wait_for_ready=True
            )
            return True
        except grpc.RpcError:
            return False

    # -- RPCs ----------------------------------------------------------------

    def login(self) -> pb.LoginResponse:
        """Checks the user and returns ``others``, ``max_message_bytes``, ``chat_requests`` and ``online``."""
        return self._unary("Login", pb.LoginRequest(user=self.user))

    def list_users(self) -> list:
        """Returns every configured user, in configuration order."""
        return list(self._unary("ListUsers", pb.ListUsersRequest()).users)

    def request_chat(self, peer: str) -> int:
        """Asks ``peer`` to chat; returns the new ``pb.ConversationState`` (REQUESTED or ACCEPTED)."""
        return self.request_chat_response(peer).state

    def request_chat_response(self, peer: str) -> pb.RequestChatResponse:
        """Asks ``peer`` to chat; returns the whole response: ``state`` and ``peer_online``."""
        req = pb.RequestChatRequest(user=self.user, peer=peer)
        return self._unary("RequestChat", req)

    def answer_chat(self, peer: str, accept: bool = True) -> pb.AnswerChatResponse:
        """Accepts or declines ``peer``'s chat request; returns ``state`` and ``released``."""
        req = pb.AnswerChatRequest(user=self.user, peer=peer, accept=accept)
        return self._unary("AnswerChat", req)

    def send(
        self, receiver: str, text: Union[str, bytes], client_msg_id: Optional[str] = None
    ) -> pb.SendMsgResponse:
        """Sends one message (``str`` is encoded as UTF-8); returns ``id``, ``sent_time``, ``pending``.

        With keys (:attr:`e2e` set) the message is sealed for ``receiver``
        (:meth:`E2E.send_text`; :class:`NoKeyError` when they have no key
        yet, and nothing is sent); without, it goes as plaintext
        (:meth:`send_plaintext`).

        ``client_msg_id`` makes the send idempotent: the server stores a
        message once per id (it remembers each sender's newest 1,024 ids) and
        answers a repeat with the first answer. To retry a message whose
        answer was lost, send it again with the same id. ``None`` (the
        default) makes a fresh one for this call (:func:`new_message_id`);
        ``""`` sends none. An id is 1 to 64 letters, digits, '-' or '_';
        another is refused (``INVALID_ARGUMENT``), and so is an id used before
        for another receiver.
        """
        if self.e2e is not None:
            return self.e2e.send_text(receiver, text, client_msg_id)
        return self.send_plaintext(receiver, text, client_msg_id)

    def send_plaintext(
        self, receiver: str, text: Union[str, bytes], client_msg_id: Optional[str] = None
    ) -> pb.SendMsgResponse:
        """Sends one message unencrypted (``ENCRYPTION_PLAINTEXT``): the server can read it.

        ``client_msg_id`` as for :meth:`send`.
        """
        payload = text.encode("utf-8") if isinstance(text, str) else bytes(text)
        return self.send_payload(receiver, payload, pb.ENCRYPTION_PLAINTEXT, client_msg_id)

    def send_payload(
        self, receiver: str, payload: bytes, encryption: int, client_msg_id: Optional[str] = None
    ) -> pb.SendMsgResponse:
        """Sends a payload as it is, with the ``encryption`` it says it has
        (``pb.ENCRYPTION_E2E`` for one sealed by :func:`spartan_e2e.seal`).

        ``client_msg_id`` as for :meth:`send`; a sealed payload must carry the
        id it was sealed with.
        """
        return self._send_msg(payload, encryption, client_msg_id, receiver=receiver)

    def _send_msg(
        self, payload: bytes, encryption: int, client_msg_id: Optional[str], **to: str
    ) -> pb.SendMsgResponse:
        """One SendMsg of ``payload`` as it is, to ``receiver=`` or ``group=``."""
        req = pb.SendMsgRequest(
            user=self.user,
            payload=bytes(payload),
            encryption=encryption,
            client_msg_id=new_message_id() if client_msg_id is None else client_msg_id,
            **to,
        )
        return self._unary("SendMsg", req)

    def publish_key(self, public_key: Optional[bytes] = None) -> bool:
        """Publishes the user's public identity key (32 bytes; default: the key
        store's); returns whether the server's key changed. Publishing the
        same key again costs nothing: no one is told."""
        if public_key is None:
            if self.e2e is None:
                raise ValueError("no key to publish: give one, or make the client with keys")
            public_key = self.e2e.keys.public_key
        return self._unary("PublishKey", pb.PublishKeyRequest(user=self.user, public_key=bytes(public_key))).changed

    def get_key(self, peer: str) -> bytes:
        """Returns ``peer``'s public identity key (32 bytes); :class:`NoKeyError`
        (``NOT_FOUND``) until they have published one."""
        try:
            return bytes(self._unary("GetKey", pb.GetKeyRequest(user=self.user, peer=peer)).public_key)
        except SpartanError as err:
            if err.code == grpc.StatusCode.NOT_FOUND:
                raise NoKeyError(peer, err.details) from None
            raise

    def get_keys(self, peers: Sequence[str]) -> Dict[str, bytes]:
        """Returns the public identity keys of ``peers`` (at most 1,000), by user;
        those who have none are left out."""
        res = self._unary("GetKeys", pb.GetKeysRequest(user=self.user, peers=list(peers)))
        return {user: bytes(key) for user, key in res.keys.items()}

    # -- groups --------------------------------------------------------------

    def create_group(self, group: str, members: Sequence[str] = ()) -> pb.Group:
        """Makes ``group`` (1 to 64 letters, digits, '_', '.' or '-') of the user
        and ``members``; returns it (``name``, ``members`` in the order they
        joined). ``ALREADY_EXISTS`` for a name a user or a group has."""
        req = pb.CreateGroupRequest(user=self.user, group=group, members=list(members))
        return self._unary("CreateGroup", req).group

    def add_member(self, group: str, member: str) -> pb.Group:
        """Adds ``member`` to ``group``, of which the user is a member
        (``PERMISSION_DENIED`` otherwise); returns the group as it is now. The
        new member reads the posts from then on. ``FAILED_PRECONDITION`` for a
        group of the server's configuration."""
        req = pb.AddMemberRequest(user=self.user, group=group, member=member)
        return self._unary("AddMember", req).group

    def leave_group(self, group: str) -> None:
        """Takes the user out of ``group``; its posts no longer reach them."""
        self._unary("LeaveGroup", pb.LeaveGroupRequest(user=self.user, group=group))

    def list_groups(self) -> List[pb.Group]:
        """The groups the user is a member of, by name, with their members."""
        return list(self._unary("ListGroups", pb.ListGroupsRequest(user=self.user)).groups)

    def get_group(self, group: str) -> pb.Group:
        """``group`` with its members (``NOT_FOUND``: no such group;
        ``PERMISSION_DENIED``: the user is not a member)."""
        return self._unary("GetGroup", pb.GetGroupRequest(user=self.user, group=group)).group

    def share_group_key(self, group: str, keys: Sequence[pb.SealedKey]) -> None:
        """Sends members of ``group`` the user's sender key, one ``pb.SealedKey``
        per receiver, in one call (see :meth:`E2E.post_text`)."""
        self._unary("ShareGroupKey", pb.ShareGroupKeyRequest(user=self.user, group=group, keys=list(keys)))

    def post(
        self, group: str, text: Union[str, bytes], client_msg_id: Optional[str] = None
    ) -> List[str]:
        """Posts ``text`` to ``group``: every other member gets it, in the
        group's one order. Returns the members who cannot read it.

        With keys it is sealed with the user's sender key for the group
        (:meth:`E2E.post_text`; members who have no identity key yet cannot
        read it, and are returned); without, it goes as plaintext, which all
        can read. ``client_msg_id`` as for :meth:`send`.
        """
        if self.e2e is not None:
            return self.e2e.post_text(group, text, client_msg_id)
        self.post_plaintext(group, text, client_msg_id)
        return []

    def post_plaintext(
        self, group: str, text: Union[str, bytes], client_msg_id: Optional[str] = None
    ) -> pb.SendMsgResponse:
        """Posts ``text`` to ``group`` unencrypted (``ENCRYPTION_PLAINTEXT``): the server can read it."""
        payload = text.encode("utf-8") if isinstance(text, str) else bytes(text)
        return self.post_payload(group, payload, pb.ENCRYPTION_PLAINTEXT, client_msg_id)

    def post_payload(
        self, group: str, payload: bytes, encryption: int, client_msg_id: Optional[str] = None
    ) -> pb.SendMsgResponse:
        """Posts a payload to ``group`` as it is, with the ``encryption`` it says
        it has (``pb.ENCRYPTION_E2E`` for one sealed by :func:`spartan_e2e.seal_group`,
        which must carry the id it was sealed with)."""
        return self._send_msg(payload, encryption, client_msg_id, group=group)

    def group_history(self, group: str, before_seq: int = 0, page_size: int = 0) -> pb.HistoryResponse:
        """One page of ``group``'s posts since the user joined (oldest first), as
        :meth:`history`; sequence numbers count the group's posts."""
        req = pb.HistoryRequest(user=self.user, group=group, before_seq=before_seq, page_size=page_size)
        return self._unary("History", req)

    def last_posts(self, group: str, count: int) -> list:
        """The last ``count`` posts of ``group`` since the user joined, oldest first, as :meth:`last_messages`."""
        return _page_back(lambda before, n: self.group_history(group, before, n), count)

    def open(self, msg: pb.Message) -> "Opened":
        """A text message (received or from History) made readable: see :meth:`E2E.open`.

        Without keys only plaintext opens; an ``ENCRYPTION_E2E`` payload raises
        :class:`spartan_e2e.NotAuthentic` and any other encryption
        :class:`spartan_e2e.UnknownScheme`.
        """
        if self.e2e is not None:
            return self.e2e.open(msg)
        return open_plaintext(msg)

    def receive(self, seq: int = 0, epoch: str = "") -> Subscription:
        """Opens the inbox stream after ``seq`` (0: after the last acknowledged message).

        ``epoch`` is the epoch ``seq`` counts in (``Message.epoch`` of the
        message it comes from; "": unknown). If the server's store is of
        another epoch (it lost its data), the stream starts with a
        ``MESSAGE_TYPE_SYSTEM`` notice (``seq`` 0) and resumes after the
        position acknowledged in the new epoch.

        It logs in first if need be; a failure to log in is raised by the
        iteration, as the stream's own errors are. A stream the server refuses
        ``UNAUTHENTICATED``, or ends so when its token expires (a server ends
        every stream then), forgets its token: the next one logs in again
        (:class:`InboxFollower` reopens its stream so by itself).
        """
        target = self.target
        req = pb.Message(receiver=self.user, seq=seq, epoch=epoch)
        try:
            token = self._login.token(target)
        except grpc.RpcError as err:
            return Subscription(_FailedCall(err))
        if not token:
            return Subscription(self.stub_for(target).ReceiveMsg(req))
        metadata = ((_AUTHORIZATION, f"Bearer {token}"),)
        call = self.stub_for(target).ReceiveMsg(req, metadata=metadata)
        return Subscription(call, lambda: self._login.drop(token))

    def ack(self, seq: int, epoch: str = "") -> None:
        """Records that the user has shown the inbox up to ``seq`` of ``epoch``.

        An ``epoch`` other than the server's is refused (``FAILED_PRECONDITION``);
        "" is not checked.
        """
        self._unary("Ack", pb.AckRequest(user=self.user, seq=seq, epoch=epoch))

    def history(self, peer: str, before_seq: int = 0, page_size: int = 0) -> pb.HistoryResponse:
        """Returns one page of the conversation with ``peer`` (oldest first) and ``next_before_seq``.

        ``page_size`` (0: 50; at most :data:`MAX_PAGE_SIZE`) is an upper bound:
        a page also stops at about 3 MiB of messages, so it may hold fewer
        even when older ones exist. Follow ``next_before_seq`` (0: this page
        reaches the first message) for the rest, or use :meth:`last_messages`.
        """
        req = pb.HistoryRequest(user=self.user, peer=peer, before_seq=before_seq, page_size=page_size)
        return self._unary("History", req)

    def last_messages(self, peer: str, count: int) -> list:
        """Returns the last ``count`` messages with ``peer`` (fewer if there are not as many), oldest first.

        It pages backwards as the server leads: a page may hold fewer messages
        than asked for (it is bounded by bytes too), so it follows
        ``next_before_seq`` until it has ``count`` messages or that is 0.
        """
        return _page_back(lambda before, n: self.history(peer, before, n), count)


def _page_back(fetch: Callable[[int, int], pb.HistoryResponse], count: int) -> list:
    """The last ``count`` messages of a log, oldest first: ``fetch(before_seq,
    page_size)`` pages backwards as the server leads (a page may hold fewer than
    asked for: it is bounded by bytes too) until there are ``count`` or no more."""
    out: list = []
    before = 0
    while count > len(out):
        page = fetch(before, min(count - len(out), MAX_PAGE_SIZE))
        out[:0] = list(page.messages)
        nxt = page.next_before_seq
        # 0: the page reaches the first message. A "next" that does not
        # lead backwards would page for ever: stop rather than loop.
        if nxt == 0 or (before and nxt >= before):
            break
        before = nxt
    return out


def text_of(msg: pb.Message) -> str:
    """Returns a text message's payload as a string (undecodable bytes are replaced).

    The payload as it travels: for a sealed message (``ENCRYPTION_E2E``) use
    :meth:`SpartanClient.open` instead.
    """
    return bytes(msg.payload).decode("utf-8", errors="replace")


# -- end-to-end encryption ---------------------------------------------------------------------


class Opened(NamedTuple):
    """A text message made readable."""

    #: The plaintext, as bytes (UTF-8 when a client wrote it).
    payload: bytes
    #: True when it came unencrypted (``ENCRYPTION_PLAINTEXT`` or unspecified):
    #: the server could have read or written it.
    plain: bool

    @property
    def text(self) -> str:
        """The plaintext as a string (undecodable bytes are replaced)."""
        return self.payload.decode("utf-8", errors="replace")


class KeyChange(NamedTuple):
    """A contact's key that replaced another one trusted before."""

    user: str
    old: bytes
    new: bytes


class SealedPost(NamedTuple):
    """A group post made ready to send (:meth:`E2E.prepare_post`)."""

    #: The payload (``ENCRYPTION_E2E``), sealed with the user's sender key.
    payload: bytes
    #: The members who cannot read it: they have no identity key yet, so the
    #: sender key could not be sealed for them.
    unreadable: Tuple[str, ...]


def max_text(max_message_bytes: int) -> int:
    """The longest text, in bytes, that fits a server's ``max_message_bytes`` once sealed for a user."""
    return max(int(max_message_bytes) - e2e.OVERHEAD, 0)


def max_post(max_message_bytes: int) -> int:
    """The longest text, in bytes, that fits a server's ``max_message_bytes`` once sealed as a group post."""
    return max(int(max_message_bytes) - e2e.GROUP_OVERHEAD, 0)


def _shared_key_plaintext(group: str, key: e2e.SenderKey) -> bytes:
    """What a ``MESSAGE_TYPE_GROUP_KEY`` event carries, sealed: ``{"group": G,
    "id": B64, "key": B64}``, compact, as Go's encoding/json writes it."""
    doc = {"group": group, "id": base64.b64encode(key.id).decode(), "key": base64.b64encode(key.key).decode()}
    return json.dumps(doc, separators=(",", ":")).encode("utf-8")


def _parse_shared_key(plain: bytes, group: str) -> e2e.SenderKey:
    """The sender key a ``MESSAGE_TYPE_GROUP_KEY`` event's plaintext holds;
    :class:`spartan_e2e.NotAuthentic` when it is not one, for ``group``."""
    try:
        doc = json.loads(plain.decode("utf-8"))
        if not isinstance(doc, dict) or doc.get("group") != group:
            raise ValueError("not a key for this group")
        key_id, key = (base64.b64decode(doc[f], validate=True) for f in ("id", "key"))
    except (UnicodeDecodeError, ValueError, KeyError, TypeError, binascii.Error):
        raise e2e.NotAuthentic() from None
    if len(key_id) != e2e.KEY_ID_SIZE or len(key) != e2e.KEY_SIZE:
        raise e2e.NotAuthentic()
    return e2e.SenderKey(key_id, key)


#: The encryption values that mean "plaintext".
_PLAIN = (pb.ENCRYPTION_PLAINTEXT, pb.ENCRYPTION_UNSPECIFIED)


def open_plaintext(msg: pb.Message) -> Opened:
    """A plaintext message as :class:`Opened`; a sealed one raises (no keys to open it)."""
    if msg.encryption in _PLAIN:
        return Opened(bytes(msg.payload), True)
    if msg.encryption == pb.ENCRYPTION_E2E:
        raise e2e.NotAuthentic("the message is encrypted and this client has no keys")
    raise e2e.UnknownScheme()


class E2E:
    """The end-to-end encryption of one :class:`SpartanClient`'s user (docs/SECURITY.md).

    It publishes the user's identity key (:meth:`publish`), seals what the user
    sends with the key of the pair (:meth:`seal`, :meth:`send_text`) and opens
    what arrives (:meth:`open`). The other users' keys are trusted on first
    use and kept in the key store (:meth:`refresh`); a key that replaces a
    trusted one is reported to ``on_key_change`` (on the thread of the call
    that found it) and trusted from then on, and the user's sender keys go
    to that user again, sealed for the new key. Posts to a group are sealed
    with the user's sender key for it (:meth:`post_text`), which changes
    whenever the members do, and goes to a member who had no identity key
    when it was made once they publish one (:meth:`share_owed_keys`); other
    members' sender keys arrive as ``MESSAGE_TYPE_GROUP_KEY`` events
    (:meth:`accept_group_key`). Safe to use from several threads.

    Errors: :class:`NoKeyError` (the other user has no key yet),
    :class:`SpartanError` (a call failed), :class:`spartan_keystore.KeyStoreError`
    (the key directory cannot be written), ``ValueError`` (the server's key
    for a user is not a usable X25519 key), and from :meth:`open`
    :class:`spartan_e2e.UnknownScheme`, :class:`spartan_e2e.NotAuthentic` and
    :class:`NoGroupKeyError`.
    """

    def __init__(
        self,
        client: SpartanClient,
        keys: KeyStore,
        on_key_change: Optional[Callable[[KeyChange], None]] = None,
    ):
        self.client = client
        self.keys = keys
        self.on_key_change = on_key_change
        self._lock = threading.Lock()
        #: Pair keys by (peer, the peer's public key).
        self._pairs: Dict[Tuple[str, bytes], bytes] = {}

    @property
    def user(self) -> str:
        return self.client.user

    def fingerprint(self) -> str:
        """The fingerprint of the user's own key."""
        return self.keys.fingerprint()

    def publish(self) -> bool:
        """Publishes the user's public key; returns whether the server's changed."""
        return self.client.publish_key(self.keys.public_key)

    def refresh(self, user: str) -> bytes:
        """Asks the server for ``user``'s key and records it: trusted if it is the
        first, reported to ``on_key_change`` if it replaces another. Returns it;
        :class:`NoKeyError` when ``user`` has none."""
        key = self.client.get_key(user)
        self._trust(user, key)
        return key

    def _trust(self, user: str, key: bytes) -> None:
        """Records ``key`` as ``user``'s: trusted if it is the first; if it
        replaces another, the user's sender keys go to ``user`` again (sealed
        for the new key) and ``on_key_change`` is told."""
        try:
            e2e.public_key_from_bytes(key)
        except ValueError as err:
            raise ValueError(f"the server's key for {user} is not a usable X25519 key ({err})") from None
        old = self.keys.trust(user, key)
        if old is None:
            return
        self.keys.unshare(user)
        if self.on_key_change is not None:
            self.on_key_change(KeyChange(user, old, key))

    def peer_key(self, user: str) -> bytes:
        """``user``'s trusted key, asked of the server on first use."""
        contact = self.keys.contact(user)
        return contact.public_key if contact is not None else self.refresh(user)

    def pair(self, peer: str, public: bytes) -> bytes:
        """The key the user shares with ``peer``, whose public key is ``public``."""
        with self._lock:
            key = self._pairs.get((peer, public))
            if key is None:
                key = self._pairs[(peer, public)] = e2e.pair_key(self.keys.private_key, public, self.user, peer)
            return key

    def seal(self, receiver: str, text: Union[str, bytes], client_msg_id: str, group: str = "") -> bytes:
        """``text`` sealed for ``receiver`` under the id ``client_msg_id`` (the
        payload of an ``ENCRYPTION_E2E`` message)."""
        plain = text.encode("utf-8") if isinstance(text, str) else bytes(text)
        key = self.pair(receiver, self.peer_key(receiver))
        return e2e.seal(key, plain, sender=self.user, receiver=receiver, group=group, client_msg_id=client_msg_id)

    def send_text(
        self, receiver: str, text: Union[str, bytes], client_msg_id: Optional[str] = None
    ) -> pb.SendMsgResponse:
        """Seals ``text`` for ``receiver`` and sends it (``ENCRYPTION_E2E``), with
        ``client_msg_id`` (None: a fresh one) in the associated data and the
        request, so a retry with the same id is one message.
        :class:`NoKeyError`: ``receiver`` has no key yet; nothing was sent."""
        msg_id = new_message_id() if client_msg_id is None else client_msg_id
        payload = self.seal(receiver, text, msg_id)
        return self.client.send_payload(receiver, payload, pb.ENCRYPTION_E2E, msg_id)

    def open(self, msg: pb.Message) -> Opened:
        """Makes a text message (received, or from History) readable.

        Plaintext (or unspecified) comes back as it is, ``plain``. A sealed one
        is opened with the pair key of the other user's current key, then of
        each previous one; if none opens it, the server is asked for the other
        user's key, in case it is a new one. A post to a group (``group`` set)
        is opened with the sender's key for the group that it names. Raises
        :class:`spartan_e2e.UnknownScheme` for another encryption or scheme
        version, :class:`spartan_e2e.NotAuthentic` for a payload that does not
        open, :class:`NoKeyError` when the other user has no key,
        :class:`NoGroupKeyError` for a post whose sender key never came.
        """
        if msg.encryption in _PLAIN:
            return Opened(bytes(msg.payload), True)
        if msg.encryption != pb.ENCRYPTION_E2E:
            raise e2e.UnknownScheme()
        if msg.group:
            return self._open_group(msg)
        if not msg.payload or msg.payload[0] != e2e.VERSION:
            raise e2e.UnknownScheme()
        peer = msg.receiver if msg.sender == self.user else msg.sender
        before = self.peer_key(peer)
        try:
            return Opened(self._open_with_known_keys(peer, msg), False)
        except e2e.UnknownScheme:
            raise
        except e2e.NotAuthentic:
            try:
                now = self.refresh(peer)  # sealed with a key of peer's not seen yet?
            except (SpartanError, ValueError, KeyStoreError):
                raise e2e.NotAuthentic() from None  # the first failure stands
            if now == before:
                raise
        return Opened(self._open_with_known_keys(peer, msg), False)

    def _open_group(self, msg: pb.Message) -> Opened:
        """Opens a post to a group with the sender's key of the id it names."""
        payload = bytes(msg.payload)
        key = self.keys.sender_key(msg.group, msg.sender, e2e.group_key_id(payload))
        if key is None:
            raise NoGroupKeyError()
        plain = e2e.open_group(key, payload, sender=msg.sender, group=msg.group, client_msg_id=msg.client_msg_id)
        return Opened(plain, False)

    # -- groups --------------------------------------------------------------

    def prepare_post(self, group: str, text: Union[str, bytes], client_msg_id: str) -> SealedPost:
        """Seals ``text`` as a post to ``group`` with the user's sender key,
        under the id ``client_msg_id``, after making sure the members can read it.

        It asks the server for the members (``GetGroup``). When they are not
        those the user's key was made for (or there is no key yet), it makes a
        new one first, so a member who left cannot read what follows and one who
        joined cannot read what went before, and records it among the senders'
        keys too (the user reads their own posts back). Then it sends the key,
        in one ``ShareGroupKey`` call, to every member who does not have it yet,
        sealed for each with the key of the pair; a member whose identity key is
        not known yet is asked for (``GetKeys``, trusted on first use). Members
        who have none cannot get the key: they are :attr:`SealedPost.unreadable`.
        Nothing is posted: :meth:`post_text` does both.
        """
        members = sorted(self.client.get_group(group).members)
        mine = self.keys.my_sender_key(group)
        if mine is None or list(mine.members) != members:
            k = e2e.new_sender_key()
            mine = MySenderKey(k.id, k.key, tuple(members), ())
            self.keys.add_sender_key(group, self.user, k)  # to read one's own posts
            self.keys.set_my_sender_key(group, mine)
        todo = [m for m in members if m != self.user and m not in mine.shared]
        shared, unreadable = self._share_key(group, todo, mine.sender_key)
        if shared:
            self.keys.mark_shared(group, mine.id, shared)
        plain = text.encode("utf-8") if isinstance(text, str) else bytes(text)
        payload = e2e.seal_group(mine.sender_key, plain, sender=self.user, group=group, client_msg_id=client_msg_id)
        return SealedPost(payload, tuple(unreadable))

    def post_text(self, group: str, text: Union[str, bytes], client_msg_id: Optional[str] = None) -> List[str]:
        """Seals ``text`` for ``group`` (:meth:`prepare_post`) and posts it
        (``ENCRYPTION_E2E``), with ``client_msg_id`` (None: a fresh one) in the
        associated data and the request. Returns the members who cannot read it
        (no identity key yet)."""
        msg_id = new_message_id() if client_msg_id is None else client_msg_id
        sealed = self.prepare_post(group, text, msg_id)
        self.client.post_payload(group, sealed.payload, pb.ENCRYPTION_E2E, msg_id)
        return list(sealed.unreadable)

    def owed_groups(self, user: str) -> List[str]:
        """The groups whose current sender key of the user's was made for a
        membership that includes ``user`` but has not reached them (they had
        no identity key then, or a new one since), in name order; whether
        ``user`` is still a member is not asked here (see :meth:`share_owed_keys`)."""
        if user == self.user:
            return []
        return self.keys.owing(user)

    def share_owed_keys(self, user: str) -> List[str]:
        """Sends ``user``, who has just published an identity key (a
        ``MESSAGE_TYPE_KEY_PUBLISHED`` event, after :meth:`refresh`), the
        user's current sender key of every group that owes it to them
        (:meth:`owed_groups`), if they are still a member (``GetGroup``; a group
        that is gone, or that the user left, or that ``user`` left, is passed
        over silently): one ``ShareGroupKey`` call per group, sealed for
        ``user``, who is then recorded among those the key was shared with.
        The posts sealed with it meanwhile open for them then. The key was made
        for a membership that includes them, so nothing is shown that they were
        not meant to read; a change of members makes a new key anyway.

        Returns the groups whose key went. Raises :class:`SpartanError` (a call
        failed) or :class:`spartan_keystore.KeyStoreError`; the groups done by
        then are recorded.
        """
        sent: List[str] = []
        for group in self.owed_groups(user):
            try:
                members = self.client.get_group(group).members
            except SpartanError as err:
                if err.code in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.PERMISSION_DENIED):
                    continue  # the group is gone, or the user left it
                raise
            if user not in members:
                continue  # left since: the next post makes a new key without them
            mine = self.keys.my_sender_key(group)
            if mine is None:
                continue
            shared, _ = self._share_key(group, [user], mine.sender_key)
            if not shared:
                continue  # no identity key after all
            self.keys.mark_shared(group, mine.id, shared)
            sent.append(group)
        return sent

    def _share_key(self, group: str, members: Sequence[str], key: e2e.SenderKey) -> Tuple[List[str], List[str]]:
        """Sends ``members`` the sender key ``key`` for ``group``, each copy sealed
        for its receiver, in one call. Returns those who got it, and those who
        could not (no identity key yet)."""
        if not members:
            return [], []
        unknown = [m for m in members if self.keys.contact(m) is None]
        if unknown:
            found = self.client.get_keys(unknown)
            for m in unknown:
                if m in found:
                    self._trust(m, found[m])
        plain = _shared_key_plaintext(group, key)
        sealed: List[pb.SealedKey] = []
        shared: List[str] = []
        unreadable: List[str] = []
        for m in members:
            contact = self.keys.contact(m)
            if contact is None:
                unreadable.append(m)
                continue
            msg_id = new_message_id()
            payload = e2e.seal(
                self.pair(m, contact.public_key), plain, sender=self.user, receiver=m, group=group, client_msg_id=msg_id
            )
            sealed.append(pb.SealedKey(receiver=m, payload=payload, encryption=pb.ENCRYPTION_E2E, client_msg_id=msg_id))
            shared.append(m)
        if not sealed:
            return [], unreadable
        self.client.share_group_key(group, sealed)
        return shared, unreadable

    def accept_group_key(self, msg: pb.Message) -> None:
        """Records the sender key a ``MESSAGE_TYPE_GROUP_KEY`` event brings, as
        the sender's newest for the event's group.

        Raises as :meth:`open` does: :class:`spartan_e2e.UnknownScheme` (not
        ``ENCRYPTION_E2E``, or another scheme), :class:`spartan_e2e.NotAuthentic`
        (it does not open with a key of the sender's, or is not a key for the
        group), :class:`NoKeyError` (the sender has no identity key).
        """
        if msg.encryption != pb.ENCRYPTION_E2E:
            raise e2e.UnknownScheme()
        self.peer_key(msg.sender)
        plain = self._open_with_known_keys(msg.sender, msg)
        self.keys.add_sender_key(msg.group, msg.sender, _parse_shared_key(plain, msg.group))

    def _open_with_known_keys(self, peer: str, msg: pb.Message) -> bytes:
        """Opens ``msg`` with the pair key of ``peer``'s trusted key, then of each previous one."""
        contact = self.keys.contact(peer)
        if contact is None:
            raise e2e.NotAuthentic()
        for public in (contact.public_key, *contact.previous_keys):
            try:
                key = self.pair(peer, public)
            except ValueError:
                continue  # a key of small order: it opens nothing
            try:
                return e2e.open_(
                    key,
                    bytes(msg.payload),
                    sender=msg.sender,
                    receiver=msg.receiver,
                    group=msg.group,
                    client_msg_id=msg.client_msg_id,
                )
            except e2e.NotAuthentic:
                continue
        raise e2e.NotAuthentic()


class InboxFollower:
    """Follows one user's inbox on a daemon thread, surviving dropped connections.

    ``on_message(msg)`` is called, on the follower's thread, once per message
    in inbox order; duplicates (a sequence number already handed over, or the
    same ``id``) are dropped. Once it returns, the message counts as shown and
    is acknowledged with ``Ack`` (at most every ``ack_interval`` seconds, and
    once more by :meth:`stop`). Live-only events (``seq`` 0, no ``id``: the
    ``MESSAGE_TYPE_PRESENCE`` events a stream starts with, one for every other
    user, and sends on each change; a server's ``MESSAGE_TYPE_SYSTEM``
    notice) are handed over as they come, every one: they are neither
    de-duplicated nor acknowledged, and do not move the resume position.

    The position is an epoch and a sequence number: every stored message
    carries the epoch of the server's store (``Message.epoch``), and a server
    that lost its data (an in-memory server restarted, say) starts a new
    epoch whose inbox counts from 1 again. A message of another epoch resets
    the position to (that epoch, 0) before it is compared, and the follower
    resumes with both, so the server can tell a position from before its
    loss: it then starts the stream with a ``MESSAGE_TYPE_SYSTEM`` notice
    (``seq`` 0; ``note`` says messages were lost) and resumes after what was
    acknowledged in the new epoch. The notice carries the new epoch as well,
    and resets the position just the same: a stream that drops again before
    any message of the new epoch came resumes in it, without a second notice.
    Acknowledgements carry the epoch too.

    When the stream fails for a transient reason the follower calls
    ``on_lost(error)``, retries with a growing backoff and resumes after the
    last position it saw, calling ``on_reconnected()`` once the server
    answers again. With several servers (a client made with a list of
    targets: servers of one cluster) it tries the next one first, then the
    others in turn (round robin), and resumes on the first that answers, from
    the same position: the servers share one store, so nothing is lost or
    handed over twice. That server becomes the client's current one too, and
    :attr:`server` names it before ``on_reconnected()`` is called (compare it
    with the one before to tell a move from a reconnection). If no server
    answers for ``give_up`` seconds (one timer for all of them) it calls
    ``on_give_up(error)`` and stops. A permanent error (an unknown user, say;
    ``error.permanent`` is true) calls ``on_give_up`` at once. If the server
    answers ``OUT_OF_RANGE`` (it has fewer messages than we saw, and the
    position names no epoch: a server without epochs, say) it resumes with 0.

    ``seq`` and ``epoch`` are where to start (0: after the last acknowledged
    message); :attr:`last_seq` and :attr:`last_epoch` say where it is.

    The stream carries the client's session token (:meth:`SpartanClient.session_token`;
    logging in, on a worker thread, if need be), and the follower dials with the
    client's :attr:`SpartanClient.credentials` (TLS). A stream the server refuses
    ``UNAUTHENTICATED`` (the token no longer works: a restarted in-memory server
    has a new secret) makes it forget the token and open the stream again at
    once, logging in again; refused twice in a row, it gives up (``on_give_up``),
    as it does when logging in is refused (``PERMISSION_DENIED``: the server
    knows another key for the user). A stream that had been running (it
    handed over something, or was open for :data:`RUNNING_AFTER` seconds) and
    ends ``UNAUTHENTICATED`` is one the server cut because the token it was
    opened with expired: the follower forgets the token, logs in again and
    reopens the stream at once, after the last position, quietly (neither
    ``on_lost`` nor ``on_reconnected``), however often that happens.
    """

    def __init__(
        self,
        client: SpartanClient,
        on_message: Callable[[pb.Message], None],
        *,
        on_lost: Optional[Callable[[SpartanError], None]] = None,
        on_reconnected: Optional[Callable[[], None]] = None,
        on_give_up: Optional[Callable[[SpartanError], None]] = None,
        give_up: float = 30.0,
        seq: int = 0,
        epoch: str = "",
        ack_interval: float = 0.5,
        backoff: Sequence[float] = (0.1, 2.0),
    ):
        self.client = client
        self.on_message = on_message
        self.on_lost = on_lost or (lambda err: None)
        self.on_reconnected = on_reconnected or (lambda: None)
        self.on_give_up = on_give_up or (lambda err: None)
        self.give_up = give_up
        self.ack_interval = ack_interval
        self._backoff_min, self._backoff_max = backoff
        #: The resume position, (epoch, seq) of the last message handed over;
        #: written by the follower thread only, as one tuple.
        self._pos = (epoch, seq)
        #: The position to acknowledge and the last one acknowledged (under _ack_lock).
        self._ack_lock = threading.Lock()
        self._ack_want = self._acked = (epoch, seq)
        self._seen_ids: collections.OrderedDict = collections.OrderedDict()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._dirty = threading.Event()
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._task: Optional[asyncio.Task] = None
        self._call = None  # the current ReceiveMsg call (grpc.aio)
        #: The follower's own channels, one per server (asyncio; its thread only).
        self._channels: dict = {}
        #: The server the stream uses (or last used): one of the client's
        #: targets, another one after a move; set before ``on_reconnected``.
        self.server: str = client.target
        self._thread = threading.Thread(target=self._run, name="spartan-inbox", daemon=True)
        self._acker = threading.Thread(target=self._ack_loop, name="spartan-ack", daemon=True)

    @property
    def last_seq(self) -> int:
        """The sequence number of the last message handed to ``on_message``."""
        return self._pos[1]

    @property
    def last_epoch(self) -> str:
        """The epoch ``last_seq`` counts in ("" while not known)."""
        return self._pos[0]

    def start(self) -> "InboxFollower":
        """Starts the background threads; returns self."""
        self._thread.start()
        self._acker.start()
        return self

    def stop(self, ack: bool = True, timeout: float = 2.0) -> None:
        """Stops following; with ``ack``, acknowledges the last shown seq first."""
        self._stopping.set()
        self._dirty.set()
        self._cancel_from_other_thread()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout)
        if self._acker.is_alive():
            self._acker.join(timeout)
        if ack:
            self._ack_now(timeout)

    # -- internals -----------------------------------------------------------

    def _shown(self, epoch: str, seq: int) -> None:
        """Marks the inbox as shown up to (epoch, seq), for the acknowledger.

        Acknowledgements coalesce: a later seq of the same epoch replaces the
        pending one, and so does any position of another epoch, even a lower
        seq (a new epoch numbers from 1 again).
        """
        with self._ack_lock:
            want_epoch, want_seq = self._ack_want
            if epoch != want_epoch or seq > want_seq:
                self._ack_want = (epoch, seq)
        self._dirty.set()

    def _ack_now(self, timeout: Optional[float] = None) -> None:
        with self._ack_lock:
            want = self._ack_want
            if want == self._acked:
                return
        epoch, seq = want
        req = pb.AckRequest(user=self.client.user, seq=seq, epoch=epoch)
        try:
            self.client.stub.Ack(req, timeout=timeout or self.client.timeout)
        except grpc.RpcError:
            # The next ack (or the next session's) catches up. An ack of an
            # epoch the server no longer has is refused (FAILED_PRECONDITION):
            # the next message, of the new epoch, replaces it.
            return
        with self._ack_lock:
            self._acked = want

    def _ack_loop(self) -> None:
        while not self._stopping.is_set():
            self._dirty.wait()
            if self._stopping.is_set():
                return
            self._dirty.clear()
            self._ack_now()
            self._stopping.wait(self.ack_interval)

    def _remember(self, msg_id: str) -> bool:
        """Records an id; returns False if it was seen before."""
        if msg_id in self._seen_ids:
            return False
        self._seen_ids[msg_id] = None
        if len(self._seen_ids) > 100_000:
            self._seen_ids.popitem(last=False)
        return True

    def _deliver(self, msg: pb.Message) -> None:
        """Hands one message to on_message; a failing callback does not stop the follower."""
        try:
            self.on_message(msg)
        except Exception:  # noqa: BLE001 - reported, then the next message
            print(f"spartan: on_message failed for message {msg.id}:", file=sys.stderr)
            traceback.print_exc()

    def _run(self) -> None:
        """The follower thread: runs the stream on an asyncio loop of its own.

        grpcio's blocking stream iterator wakes up every 0.1 s (so that signal
        handlers can run); its asyncio API waits for the next message without
        a timeout, so an idle follower costs no CPU.
        """
        try:
            asyncio.run(self._follow())
        except Exception:  # noqa: BLE001 - a bug here must not pass silently
            traceback.print_exc()
            self.on_give_up(SpartanError(grpc.StatusCode.INTERNAL, "the inbox follower failed"))

    def _cancel_from_other_thread(self) -> None:
        """Cancels the follower's task, wherever it waits."""
        with self._lock:
            loop, task = self._loop, self._task
        if loop is not None and task is not None:
            try:
                loop.call_soon_threadsafe(task.cancel)
            except RuntimeError:
                pass  # the loop has finished already

    async def _follow(self) -> None:
        with self._lock:
            self._loop, self._task = asyncio.get_running_loop(), asyncio.current_task()
        if self._stopping.is_set():
            return
        try:
            await self._follow_on()
        except asyncio.CancelledError:
            pass  # stop() was called
        finally:
            channels, self._channels = self._channels, {}
            for channel in channels.values():
                await channel.close()

    def _stub(self, target: str) -> pb_grpc.ChatServiceStub:
        """This follower's own (asyncio) stub of ``target``, its channel made on
        first use, with the client's credentials (TLS or plaintext)."""
        channel = self._channels.get(target)
        if channel is None:
            credentials = getattr(self.client, "credentials", None)
            if credentials is None:
                channel = grpc.aio.insecure_channel(target, options=_CHANNEL_OPTIONS)
            else:
                channel = grpc.aio.secure_channel(target, credentials, options=_CHANNEL_OPTIONS)
            self._channels[target] = channel
        return pb_grpc.ChatServiceStub(channel)

    async def _token(self, target: str) -> str:
        """The client's session token for a stream to ``target`` ("" if it does not
        log in), logging in on a worker thread if need be. Raises SpartanError."""
        session_token = getattr(self.client, "session_token", None)
        if session_token is None:
            return ""
        return await asyncio.to_thread(session_token, target)

    def _refused(self, token: str) -> None:
        """The server refused the stream's token: the next stream logs in again."""
        forget = getattr(self.client, "forget_token", None)
        if token and forget is not None:
            forget(token)

    def _next_server(self, failed: str) -> str:
        """The server to try after ``failed``: the client's next one (the same with one server)."""
        rotate = getattr(self.client, "rotate", None)
        return rotate(failed) if rotate is not None else failed

    async def _follow_on(self) -> None:
        backoff = self._backoff_min
        lost_at: Optional[float] = None
        server = self.server = self.client.target
        #: The token of the stream being opened, and whether the last stream was
        #: refused UNAUTHENTICATED: the next one logs in again, once.
        token, refused = "", False
        #: When the current stream was opened, and whether it handed anything over:
        #: a stream that had been running and ends UNAUTHENTICATED was cut by the
        #: server because its token expired, not refused.
        opened: Optional[float] = None
        delivered = False
        while not self._stopping.is_set():
            try:
                if lost_at is not None:
                    remaining = self.give_up - (time.monotonic() - lost_at)
                    if remaining <= 0:
                        self.on_give_up(self._last_error)
                        return
                    # The server to try: the one after the lost one, or
                    # wherever a failed call has moved the client meanwhile.
                    candidate = self.client.target
                    # Both channels must be ready again: the caller's, which its
                    # sends use, and this stream's own.
                    wait = min(backoff, remaining)
                    if not (
                        await asyncio.to_thread(self._client_reachable, wait, candidate)
                        and await self._reachable(self._stub(candidate), wait)
                    ):
                        backoff = min(backoff * 2, self._backoff_max)
                        self._next_server(candidate)  # then the next one, in turn
                        continue
                    use = getattr(self.client, "use", None)
                    if use is not None:
                        use(candidate)
                    server = self.server = candidate
                    lost_at, backoff = None, self._backoff_min
                    self.on_reconnected()
                epoch, seq = self._pos
                opened, delivered = None, False  # no stream yet
                token = await self._token(server)
                metadata = ((_AUTHORIZATION, f"Bearer {token}"),) if token else None
                req = pb.Message(receiver=self.client.user, seq=seq, epoch=epoch)
                call = self._stub(server).ReceiveMsg(req, metadata=metadata)
                opened, delivered = time.monotonic(), False
                with self._lock:
                    self._call = call
                try:
                    async for msg in call:
                        refused, delivered = False, True  # the server took the token
                        epoch, seq = self._pos
                        if msg.epoch and msg.epoch != epoch:
                            # A new epoch (the server lost its data) numbers
                            # from 1 again. The notice that says so (seq 0)
                            # carries it too: switching on it means a stream
                            # reopened before any message of the new epoch
                            # has come resumes in it, without a second notice.
                            epoch, seq = msg.epoch, 0
                            self._pos = (epoch, seq)
                        if not msg.seq:
                            # Live only (presence, a notice): not stored, so
                            # nothing to de-duplicate, acknowledge or resume after.
                            self._deliver(msg)
                            continue
                        if msg.seq <= seq:
                            continue  # handed over before a reconnect
                        if self._remember(msg.id):
                            self._deliver(msg)
                        self._pos = (epoch, msg.seq)
                        self._shown(msg.epoch, msg.seq)
                except asyncio.CancelledError:
                    if asyncio.current_task().cancelling():
                        raise  # stop()
                    # Only the call was cancelled (_drop_stream): a lost connection.
                    raise SpartanError(grpc.StatusCode.UNAVAILABLE, "the stream was dropped") from None
                # The stream never ends on its own: treat an end as a lost connection.
                raise SpartanError(grpc.StatusCode.UNAVAILABLE, "the stream ended")
            except (grpc.RpcError, SpartanError) as failure:
                err = failure if isinstance(failure, SpartanError) else SpartanError.from_rpc_error(failure)
                if self._stopping.is_set():
                    return
                if (
                    err.code == grpc.StatusCode.UNAUTHENTICATED
                    and token
                    and opened is not None
                    and (delivered or time.monotonic() - opened >= RUNNING_AFTER)
                ):
                    # The server ended a stream that had been running: the token
                    # it was opened with expired. Log in again and reopen it at
                    # once, quietly: nothing was lost.
                    self._refused(token)
                    refused = False
                    continue
                if err.code == grpc.StatusCode.UNAUTHENTICATED and token and not refused:
                    # The server no longer takes the token (its secret changed:
                    # a restarted in-memory server, say): log in again, once.
                    self._refused(token)
                    refused = True
                    continue
                if err.code == grpc.StatusCode.OUT_OF_RANGE:
                    # The server has fewer messages than we saw: it lost its
                    # data, and our position names no epoch (a server without
                    # epochs, or a seq given without one). Start over from its
                    # acknowledged position rather than wait forever, and
                    # acknowledge the new inbox's lower seqs.
                    self._pos = ("", 0)
                    with self._ack_lock:
                        self._ack_want = self._acked = ("", 0)
                    continue
                if err.permanent:
                    self.on_give_up(err)
                    return
                self._last_error = err
                if lost_at is None:
                    # One timer for all the servers: give up only when none
                    # has answered for give_up seconds.
                    lost_at = time.monotonic()
                    self.on_lost(err)
                # Try the next server first (round robin; the same one when
                # there is only one), resuming from the same position.
                self._next_server(server)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self._backoff_max)

    def _client_reachable(self, timeout: float, target: str) -> bool:
        """Whether the caller's client reaches ``target`` within ``timeout`` seconds."""
        if len(getattr(self.client, "targets", ())) > 1:
            return self.client.wait_until_reachable(timeout, target)
        return self.client.wait_until_reachable(timeout)

    def _drop_stream(self) -> None:
        """Ends the current stream as a dropped connection would (for tests)."""
        with self._lock:
            loop, call = self._loop, self._call
        if loop is not None and call is not None:
            loop.call_soon_threadsafe(call.cancel)

    @staticmethod
    async def _reachable(stub: pb_grpc.ChatServiceStub, timeout: float) -> bool:
        """True once the server answers a call within ``timeout`` seconds."""
        try:
            await stub.ListUsers(pb.ListUsersRequest(), timeout=timeout, wait_for_ready=True)
            return True
        except grpc.RpcError:
            return False

    _last_error = SpartanError(grpc.StatusCode.UNAVAILABLE, "the connection was lost")
