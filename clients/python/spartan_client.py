"""A small Python client library for Spartan Messenger.

It wraps the generated gRPC stubs (``spartan/v1/chat_pb2*.py``, made by
``make generate``) in two classes:

* :class:`SpartanClient` speaks for one user: one method per RPC of
  ``spartan.v1.ChatService``, with timeouts, plain Python arguments and one
  exception type, :class:`SpartanError`, that carries the server's status code
  and sentence.
* :class:`InboxFollower` follows a user's inbox on a background thread: it
  reads the ``ReceiveMsg`` stream, reconnects with backoff after a dropped
  connection, resumes from the last sequence number it saw, drops duplicates
  by id, and acknowledges (``Ack``) what it has handed over, coalesced.

Only ``grpcio`` and ``protobuf`` are needed. Example::

    from spartan_client import SpartanClient

    with SpartanClient("localhost:3000", "alice") as alice:
        alice.login()
        alice.request_chat("bob")
        alice.send("bob", "Hey Bob!")
"""

from __future__ import annotations

import asyncio
import collections
import sys
import threading
import time
import traceback
from typing import Callable, Iterator, Optional, Sequence, Union

import grpc

from spartan.v1 import chat_pb2 as pb
from spartan.v1 import chat_pb2_grpc as pb_grpc

__all__ = [
    "DEFAULT_SERVER",
    "InboxFollower",
    "SpartanClient",
    "SpartanError",
    "Subscription",
    "pb",
]

#: The server address the brief uses.
DEFAULT_SERVER = "localhost:3000"

#: The largest page the History RPC returns.
MAX_PAGE_SIZE = 500

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
    """A failed call: ``code`` is the gRPC status code, ``details`` the server's sentence."""

    def __init__(self, code: grpc.StatusCode, details: str):
        super().__init__(details or code.name)
        self.code = code
        self.details = details or code.name

    @classmethod
    def from_rpc_error(cls, err: grpc.RpcError) -> "SpartanError":
        """Converts an error raised by a gRPC call."""
        code = err.code() if hasattr(err, "code") else grpc.StatusCode.UNKNOWN
        details = err.details() if hasattr(err, "details") else str(err)
        return cls(code or grpc.StatusCode.UNKNOWN, details or "")

    def __str__(self) -> str:
        return self.details

    @property
    def permanent(self) -> bool:
        """True when retrying the same request cannot help (a bad user name, say)."""
        return self.code in _PERMANENT


def _call(method, request, timeout: Optional[float], **kwargs):
    """Calls a unary stub method, turning grpc.RpcError into SpartanError."""
    try:
        return method(request, timeout=timeout, **kwargs)
    except grpc.RpcError as err:
        raise SpartanError.from_rpc_error(err) from None


class Subscription:
    """An open ``ReceiveMsg`` stream: iterate it for messages, ``cancel()`` it to stop.

    Iteration raises :class:`SpartanError` when the stream fails (for instance
    ``UNAVAILABLE`` when the server shuts down, ``OUT_OF_RANGE`` when the
    requested seq is past the end of the inbox). After ``cancel()`` the
    iteration simply ends.
    """

    def __init__(self, call):
        self._call = call
        self._cancelled = False

    def __iter__(self) -> Iterator[pb.Message]:
        try:
            for msg in self._call:
                yield msg
        except grpc.RpcError as err:
            if self._cancelled and err.code() == grpc.StatusCode.CANCELLED:
                return
            raise SpartanError.from_rpc_error(err) from None

    def cancel(self) -> None:
        """Closes the stream; a thread blocked in iteration returns."""
        self._cancelled = True
        self._call.cancel()


class SpartanClient:
    """One user's connection to a Spartan server.

    ``target`` is ``host:port``; ``user`` is the caller every request names.
    Every unary call takes ``timeout`` seconds at most (``None``: no limit)
    and raises :class:`SpartanError` on failure. ``stub`` is the raw generated
    ``ChatServiceStub`` for anything this class does not cover.
    """

    def __init__(
        self,
        target: str = DEFAULT_SERVER,
        user: str = "",
        *,
        timeout: Optional[float] = 10.0,
        channel: Optional[grpc.Channel] = None,
    ):
        self.target = target
        self.user = user
        self.timeout = timeout
        self._own_channel = channel is None
        self.channel = channel or grpc.insecure_channel(target, options=_CHANNEL_OPTIONS)
        self.stub = pb_grpc.ChatServiceStub(self.channel)

    # -- lifecycle -----------------------------------------------------------

    def close(self) -> None:
        """Closes the channel (if this client made it); open streams end."""
        if self._own_channel:
            self.channel.close()

    def __enter__(self) -> "SpartanClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def wait_until_reachable(self, timeout: float) -> bool:
        """Returns True once the server answers a call, False after ``timeout`` seconds."""
        try:
            self.stub.ListUsers(pb.ListUsersRequest(), timeout=timeout, wait_for_ready=True)
            return True
        except grpc.RpcError:
            return False

    # -- RPCs ----------------------------------------------------------------

    def login(self) -> pb.LoginResponse:
        """Checks the user and returns ``others``, ``max_message_bytes`` and ``chat_requests``."""
        return _call(self.stub.Login, pb.LoginRequest(user=self.user), self.timeout)

    def list_users(self) -> list:
        """Returns every configured user, in configuration order."""
        return list(_call(self.stub.ListUsers, pb.ListUsersRequest(), self.timeout).users)

    def request_chat(self, peer: str) -> int:
        """Asks ``peer`` to chat; returns the new ``pb.ConversationState`` (REQUESTED or ACCEPTED)."""
        req = pb.RequestChatRequest(user=self.user, peer=peer)
        return _call(self.stub.RequestChat, req, self.timeout).state

    def answer_chat(self, peer: str, accept: bool = True) -> pb.AnswerChatResponse:
        """Accepts or declines ``peer``'s chat request; returns ``state`` and ``released``."""
        req = pb.AnswerChatRequest(user=self.user, peer=peer, accept=accept)
        return _call(self.stub.AnswerChat, req, self.timeout)

    def send(self, receiver: str, text: Union[str, bytes]) -> pb.SendMsgResponse:
        """Sends one message (``str`` is encoded as UTF-8); returns ``id``, ``sent_time``, ``pending``."""
        payload = text.encode("utf-8") if isinstance(text, str) else bytes(text)
        req = pb.SendMsgRequest(
            user=self.user,
            receiver=receiver,
            payload=payload,
            encryption=pb.ENCRYPTION_PLAINTEXT,
        )
        return _call(self.stub.SendMsg, req, self.timeout)

    def receive(self, seq: int = 0) -> Subscription:
        """Opens the inbox stream after ``seq`` (0: after the last acknowledged message)."""
        return Subscription(self.stub.ReceiveMsg(pb.Message(receiver=self.user, seq=seq)))

    def ack(self, seq: int) -> None:
        """Records that the user has shown the inbox up to ``seq``."""
        _call(self.stub.Ack, pb.AckRequest(user=self.user, seq=seq), self.timeout)

    def history(self, peer: str, before_seq: int = 0, page_size: int = 0) -> pb.HistoryResponse:
        """Returns one page of the conversation with ``peer`` (oldest first) and ``next_before_seq``."""
        req = pb.HistoryRequest(user=self.user, peer=peer, before_seq=before_seq, page_size=page_size)
        return _call(self.stub.History, req, self.timeout)

    def last_messages(self, peer: str, count: int) -> list:
        """Returns the last ``count`` messages with ``peer``, oldest first, paging as needed."""
        out: list = []
        before = 0
        while count > len(out):
            page = self.history(peer, before, min(count - len(out), MAX_PAGE_SIZE))
            out[:0] = list(page.messages)
            if not page.messages or page.next_before_seq == 0:
                break
            before = page.next_before_seq
        return out


def text_of(msg: pb.Message) -> str:
    """Returns a text message's payload as a string (undecodable bytes are replaced)."""
    return bytes(msg.payload).decode("utf-8", errors="replace")


class InboxFollower:
    """Follows one user's inbox on a daemon thread, surviving dropped connections.

    ``on_message(msg)`` is called, on the follower's thread, once per message
    in inbox order; duplicates (same ``id``) are dropped. Once it returns, the
    message counts as shown and is acknowledged with ``Ack`` (at most every
    ``ack_interval`` seconds, and once more by :meth:`stop`).

    When the stream fails for a transient reason the follower calls
    ``on_lost(error)``, retries with a growing backoff and resumes after the
    last sequence number it saw, calling ``on_reconnected()`` once the server
    answers again. If that takes longer than ``give_up`` seconds it calls
    ``on_give_up(error)`` and stops. A permanent error (an unknown user, say;
    ``error.permanent`` is true) calls ``on_give_up`` at once. If the server no longer knows the seq
    (``OUT_OF_RANGE``, e.g. a restarted in-memory server) it resumes with 0.
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
        self._seq = seq
        self._acked = seq
        self._seen_ids: collections.OrderedDict = collections.OrderedDict()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._dirty = threading.Event()
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._task: Optional[asyncio.Task] = None
        self._call = None  # the current ReceiveMsg call (grpc.aio)
        self._thread = threading.Thread(target=self._run, name="spartan-inbox", daemon=True)
        self._acker = threading.Thread(target=self._ack_loop, name="spartan-ack", daemon=True)

    @property
    def last_seq(self) -> int:
        """The sequence number of the last message handed to ``on_message``."""
        return self._seq

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

    def _ack_now(self, timeout: Optional[float] = None) -> None:
        seq = self._seq
        if seq <= self._acked:
            return
        try:
            self.client.stub.Ack(pb.AckRequest(user=self.client.user, seq=seq), timeout=timeout or self.client.timeout)
            self._acked = seq
        except grpc.RpcError:
            pass  # the next ack (or the next session's) catches up

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
            async with grpc.aio.insecure_channel(self.client.target, options=_CHANNEL_OPTIONS) as channel:
                await self._follow_on(pb_grpc.ChatServiceStub(channel))
        except asyncio.CancelledError:
            pass  # stop() was called

    async def _follow_on(self, stub: pb_grpc.ChatServiceStub) -> None:
        backoff = self._backoff_min
        lost_at: Optional[float] = None
        while not self._stopping.is_set():
            try:
                if lost_at is not None:
                    remaining = self.give_up - (time.monotonic() - lost_at)
                    if remaining <= 0:
                        self.on_give_up(self._last_error)
                        return
                    # Both channels must be ready again: the caller's, which its
                    # sends use, and this stream's own.
                    wait = min(backoff, remaining)
                    if not (
                        await asyncio.to_thread(self.client.wait_until_reachable, wait)
                        and await self._reachable(stub, wait)
                    ):
                        backoff = min(backoff * 2, self._backoff_max)
                        continue
                    lost_at, backoff = None, self._backoff_min
                    self.on_reconnected()
                call = stub.ReceiveMsg(pb.Message(receiver=self.client.user, seq=self._seq))
                with self._lock:
                    self._call = call
                try:
                    async for msg in call:
                        if self._remember(msg.id):
                            self._deliver(msg)
                        self._seq = msg.seq
                        self._dirty.set()
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
                if err.code == grpc.StatusCode.OUT_OF_RANGE:
                    self._seq = 0
                    self._acked = 0
                    continue
                if err.permanent:
                    self.on_give_up(err)
                    return
                self._last_error = err
                if lost_at is None:
                    lost_at = time.monotonic()
                    self.on_lost(err)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self._backoff_max)

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
