"""client.py's outbox, in process, against a scripted client: order, the retry
timer and its pauses, refused lines, leaving with lines waiting, no thread at
all while the outbox is empty, and one client message id per typed line, kept
by every retry of it; and, with the same fakes, presence across a
reconnection."""

from __future__ import annotations

import threading
import time
import uuid
from typing import List

import grpc
import pytest

import client
from spartan_client import SpartanClient, SpartanError, pb
from spartan_keystore import KeyStore

UNAVAILABLE = SpartanError(grpc.StatusCode.UNAVAILABLE, "connection refused")
NOT_YET = (
    "[Spartan] Not sent yet: the server is unreachable. "
    "What you type waits and is sent, in order, when it is back."
)


class FakeConsole:
    """What ChatApp needs of a Console: lines are collected, with waits on a condition."""

    def __init__(self):
        self.lock = threading.RLock()
        self.lines: List[str] = []
        self._cond = threading.Condition()

    def line(self, text: str) -> None:
        with self._cond:
            self.lines.extend(text.split("\n"))
            self._cond.notify_all()

    def set_prompt(self, prompt: str) -> None:
        pass

    def leave(self, text: str) -> None:
        self.line(text)

    def interrupt(self, main, done) -> None:
        pass

    def finish(self) -> None:
        pass

    def wait_for(self, text: str, timeout: float = 10.0) -> float:
        """Waits until ``text`` is a line; returns when (time.monotonic())."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while text not in self.lines:
                left = deadline - time.monotonic()
                if left <= 0:
                    pytest.fail(f"no {text!r} within {timeout}s: {self.lines}")
                self._cond.wait(left)
            return time.monotonic()


class FakeClient:
    """Sends fail with the scripted errors (one per attempt, in order), then succeed.

    It stands for the client and for its encryption (``ChatApp.e2e``: its
    ``send_text`` is what ChatApp calls for every attempt). ``tries`` records
    every attempt as (receiver, text, client_msg_id); ``sent`` the
    (receiver, text) of those that succeeded.
    """

    user = "alice"

    def __init__(self, failures=()):
        self.failures = list(failures)
        self.attempts: List[float] = []
        self.tries: List[tuple] = []
        self.sent: List[tuple] = []
        self.logins = 0
        self.requests: List[str] = []

    def send_text(self, receiver: str, text: str, client_msg_id=None):
        self.attempts.append(time.monotonic())
        self.tries.append((receiver, text, client_msg_id))
        if self.failures:
            err = self.failures.pop(0)
            if err is not None:
                raise err
        self.sent.append((receiver, text))
        return pb.SendMsgResponse(id=str(len(self.sent)))

    def publish(self) -> bool:
        """E2E.publish: the key is unchanged."""
        return False

    def request_chat_response(self, peer: str):
        self.requests.append(peer)
        return pb.RequestChatResponse(state=pb.CONVERSATION_STATE_REQUESTED, peer_online=True)

    def login(self):
        self.logins += 1
        return pb.LoginResponse(user="alice", others=["bob", "eve"], online=["bob"])

    def close(self) -> None:
        pass


def chat_app(fake: FakeClient) -> client.ChatApp:
    app = client.ChatApp(fake, FakeConsole(), "127.0.0.1:3000", 30.0)
    app.e2e = fake
    app.others = ["bob", "eve"]
    app.partner = "bob"
    app.partners.add("bob")
    return app


def waiting(app: client.ChatApp) -> list:
    """The outbox as (receiver, text) pairs."""
    return [(q.receiver, q.text) for q in app.outbox]


def outbox_threads() -> list:
    return [t for t in threading.enumerate() if t.name == "spartan-outbox"]


def test_retry_timer_sends_in_order_with_growing_pauses_then_stops():
    fake = FakeClient([UNAVAILABLE, UNAVAILABLE, UNAVAILABLE])
    app = chat_app(fake)
    start = time.monotonic()
    app.handle("one")
    app.handle("two")  # waits behind "one", silently
    app.handle("three")
    assert app.console.lines.count(NOT_YET) == 1
    assert waiting(app) == [("bob", "one"), ("bob", "two"), ("bob", "three")]
    app.console.wait_for("[Spartan] Sent 3 waiting messages.", timeout=15)
    assert fake.sent == [("bob", "one"), ("bob", "two"), ("bob", "three")]
    # One attempt for the typed line, then retries after 1 s and 2 s, then 4 s (which succeeds).
    tries = [t - start for t in fake.attempts[:4]]
    assert tries[1] >= 0.9 and tries[2] - tries[1] >= 1.9 and tries[3] - tries[2] >= 3.9, tries
    assert app.console.lines.count(NOT_YET) == 1
    deadline = time.monotonic() + 2
    while outbox_threads() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert outbox_threads() == [] and app._outbox_worker is None
    # Empty again: the next line goes straight out, with no thread.
    app.handle("four")
    assert fake.sent[-1] == ("bob", "four") and outbox_threads() == []


def test_reconnecting_sends_the_outbox_at_once():
    fake = FakeClient([UNAVAILABLE])
    app = chat_app(fake)
    app.handle("one")
    app.handle("two")
    before = time.monotonic()
    app.on_reconnected()
    at = app.console.wait_for("[Spartan] Sent 2 waiting messages.")
    assert at - before < 0.9  # not the timer's first second
    assert fake.sent == [("bob", "one"), ("bob", "two")]
    assert app.console.lines.index("[Spartan] Reconnected.") < app.console.lines.index(
        "[Spartan] Sent 2 waiting messages."
    )


def test_a_refused_waiting_line_is_dropped_and_the_rest_go_on():
    refused = SpartanError(grpc.StatusCode.INVALID_ARGUMENT, "the message is odd")
    fake = FakeClient([UNAVAILABLE, refused])
    app = chat_app(fake)
    app.handle("one")
    app.handle("two")
    app.on_reconnected()
    app.console.wait_for("[Spartan] Sent 1 waiting message.")
    assert "[Spartan] Not sent: the message is odd." in app.console.lines
    assert fake.sent == [("bob", "two")]


def test_leaving_says_how_many_lines_were_not_sent():
    fake = FakeClient([UNAVAILABLE] * 100)
    app = chat_app(fake)
    app.handle("one")
    app.handle("two")
    app.close()
    assert app.console.lines[-1] == "[Spartan] 2 messages you typed were not sent."
    assert not app.outbox
    for t in outbox_threads():
        t.join(2)
    assert outbox_threads() == []

    app = chat_app(FakeClient([UNAVAILABLE] * 100))
    app.handle("one")
    app.on_give_up(UNAVAILABLE)
    assert app.console.lines[-2:] == [
        "[Spartan] 1 message you typed was not sent.",
        "[Spartan] Spartan Server is gone: no answer from 127.0.0.1:3000 for 30 seconds (connection refused).",
    ]
    app.close()
    assert app.console.lines.count("[Spartan] 1 message you typed was not sent.") == 1


@pytest.mark.parametrize(
    "err",
    [
        SpartanError(grpc.StatusCode.INVALID_ARGUMENT, "the message is longer than 65536 bytes"),
        SpartanError(grpc.StatusCode.RESOURCE_EXHAUSTED, "the request is too large"),
        SpartanError(
            grpc.StatusCode.RESOURCE_EXHAUSTED,
            "bob has not answered alice's chat request yet and 100 messages already wait",
        ),
        SpartanError(grpc.StatusCode.PERMISSION_DENIED, "no"),
    ],
    ids=["invalid", "too-big", "too-many-waiting", "denied"],
)
def test_a_refused_line_does_not_wait(err):
    """RESOURCE_EXHAUSTED refuses the line itself, as INVALID_ARGUMENT does: said, not queued."""
    fake = FakeClient([err])
    app = chat_app(fake)
    app.handle("a line")
    assert app.console.lines == [f"[Spartan] Not sent: {err.details}."]
    assert not app.outbox and app._outbox_worker is None
    app.handle("the next one")  # goes straight out
    assert fake.sent == [("bob", "the next one")]


def test_a_waiting_line_refused_with_resource_exhausted_is_dropped_and_the_rest_go_on():
    busy = SpartanError(grpc.StatusCode.RESOURCE_EXHAUSTED, "the request is too large")
    fake = FakeClient([UNAVAILABLE, busy])
    app = chat_app(fake)
    app.handle("one")
    app.handle("two")
    app.on_reconnected()
    app.console.wait_for("[Spartan] Sent 1 waiting message.")
    assert "[Spartan] Not sent: the request is too large." in app.console.lines
    assert fake.sent == [("bob", "two")] and not app.outbox


@pytest.mark.parametrize("code", ["UNAVAILABLE", "DEADLINE_EXCEEDED", "ABORTED", "UNKNOWN", "INTERNAL"])
def test_retryable_codes_queue_the_line(code):
    fake = FakeClient([SpartanError(getattr(grpc.StatusCode, code), "busy")] * 100)
    app = chat_app(fake)
    app.handle("hi")
    try:
        assert waiting(app) == [("bob", "hi")]
        assert app.console.lines == [NOT_YET]
    finally:
        app.close()


# -- one client message id per typed line ------------------------------------------------


def is_uuid(text: str) -> bool:
    try:
        return str(uuid.UUID(text)) == text
    except (TypeError, ValueError):
        return False


def test_a_retried_line_keeps_the_id_it_got_when_typed():
    """Every attempt to send a line (the first, each outbox flush) carries one id,
    made when the line was typed; each line has its own."""
    fake = FakeClient([UNAVAILABLE, UNAVAILABLE])
    app = chat_app(fake)
    app.handle("one")
    app.handle("two")  # waits behind "one", not tried yet
    assert waiting(app) == [("bob", "one"), ("bob", "two")]
    queued_ids = [q.msg_id for q in app.outbox]
    assert all(is_uuid(i) for i in queued_ids) and queued_ids[0] != queued_ids[1]
    app.on_reconnected()  # tries "one" again at once (and fails), then the timer
    app.console.wait_for("[Spartan] Sent 2 waiting messages.")
    assert [(r, t) for r, t, _ in fake.tries] == [("bob", "one")] * 3 + [("bob", "two")]
    assert [i for _, _, i in fake.tries] == [queued_ids[0]] * 3 + [queued_ids[1]]
    app.handle("three")  # a new line: a new id
    assert fake.tries[-1][2] not in queued_ids and is_uuid(fake.tries[-1][2])


def test_the_lost_chat_resend_keeps_the_lines_id():
    """The server lost the chat: asking again and sending once more (and, if that
    waits, the outbox's retry) reuse the id the line got when typed."""
    lost = SpartanError(grpc.StatusCode.FAILED_PRECONDITION, "alice has not asked bob to chat yet")
    fake = FakeClient([lost, UNAVAILABLE])
    app = chat_app(fake)
    app.handle("still there?")
    assert fake.requests == ["bob"]
    assert app.console.lines[:2] == ["[Spartan] The server had lost your chat with bob; asked bob again.", NOT_YET]
    app.on_reconnected()
    app.console.wait_for("[Spartan] Sent 1 waiting message.")
    assert [t for _, t, _ in fake.tries] == ["still there?"] * 3
    ids = {i for _, _, i in fake.tries}
    assert len(ids) == 1 and is_uuid(ids.pop())


class LosesFirstAnswer(SpartanClient):
    """A real client whose first send reaches the server but whose answer is lost."""

    lost = 0

    def send_payload(self, receiver, payload, encryption, client_msg_id=None):
        resp = super().send_payload(receiver, payload, encryption, client_msg_id=client_msg_id)
        if not self.lost:
            self.lost += 1
            raise SpartanError(grpc.StatusCode.UNAVAILABLE, "the answer was lost")
        return resp


def test_a_line_whose_answer_was_lost_is_stored_once(server, clients, inbox, key_dir):
    """Against the server: the outbox's retry of a line the server had stored
    (only its answer was lost) carries the same id, so bob gets it once."""
    alice = LosesFirstAnswer(server.target, "alice", timeout=10.0, keys=KeyStore.open(key_dir("alice"), "alice"))
    try:
        alice.publish_key()
        alice.request_chat("bob")
        bob = clients("bob")
        bob.answer_chat("alice")
        bob_inbox = inbox(bob)
        assert bob_inbox.take(1)[0].type == pb.MESSAGE_TYPE_CHAT_REQUEST
        app = client.ChatApp(alice, FakeConsole(), server.target, 30.0)
        app.e2e, app.keys = alice.e2e, alice.e2e.keys
        app.others, app.partner = ["bob", "charlie", "eve"], "bob"
        app.partners.add("bob")
        app.handle("only once, please")
        assert app.console.lines == [NOT_YET]
        (queued,) = app.outbox
        app.on_reconnected()
        app.console.wait_for("[Spartan] Sent 1 waiting message.")
        (msg,) = bob_inbox.take(1)
        assert (bob.open(msg), msg.client_msg_id) == ((b"only once, please", False), queued.msg_id)
        assert bob_inbox.quiet(0.5)
        assert [bob.open(m).text for m in bob.history("alice").messages] == ["only once, please"]
        app.close()
    finally:
        alice.close()


def presence(user: str, online: bool) -> pb.Message:
    return pb.Message(type=pb.MESSAGE_TYPE_PRESENCE, sender=user, receiver="alice", online=online)


def test_presence_after_a_reconnection_comes_from_the_new_streams_first_events():
    """The stream starts with everyone's presence: only a real change of the partner is said, once."""
    fake = FakeClient()
    app = chat_app(fake)
    app.online = {"bob"}
    app.on_lost(UNAVAILABLE)
    app.on_reconnected()
    for user, online in (("bob", True), ("eve", False)):  # nothing changed meanwhile
        app.on_message(presence(user, online))
    assert app.console.lines == [
        "[Spartan] Lost connection to Spartan Server; reconnecting...",
        "[Spartan] Reconnected.",
    ]
    app.on_lost(UNAVAILABLE)
    app.on_reconnected()
    for user, online in (("bob", False), ("eve", True)):  # bob left and eve came meanwhile
        app.on_message(presence(user, online))
    assert app.console.lines[-2:] == [
        "[Spartan] Reconnected.",
        "[Spartan] bob is offline; your messages will wait for them.",
    ]
    app.on_message(presence("bob", False))  # told again: still offline, nothing said
    app.on_message(presence("bob", True))
    assert app.console.lines[-1] == "[Spartan] bob is online."
    assert app.online == {"bob", "eve"}
    assert fake.logins == 0  # no reload from Login: the stream says it all


@pytest.mark.parametrize(
    "note",
    [
        "The server has lost the messages it had stored; any sent to you before it did are gone.",
        "8 messages or notices sent to you were dropped unread: the server keeps a bounded number of messages (retention).",
        "A notice this client has never heard of.",
    ],
    ids=["lost", "dropped", "unknown"],
)
def test_a_system_notice_is_a_spartan_line(note):
    """Any MESSAGE_TYPE_SYSTEM note, known or not, is shown as [Spartan] <note>, chatting or not."""
    app = chat_app(FakeClient())
    app.on_message(pb.Message(type=pb.MESSAGE_TYPE_SYSTEM, receiver="alice", note=note))
    app.partner = None
    app.on_message(pb.Message(type=pb.MESSAGE_TYPE_SYSTEM, receiver="alice", note=note, epoch="e"))
    assert app.console.lines == [f"[Spartan] {note}"] * 2


# -- a server that paces the sends (its rate limit) -------------------------------------------

LIMIT = "alice may send 40 messages a second"
PACING = f"[Spartan] The server is pacing your messages ({LIMIT}); the rest follow in order."


def paced(delay: float) -> SpartanError:
    """The rate limit's refusal: RESOURCE_EXHAUSTED with a retry delay (a google.rpc.RetryInfo)."""
    return SpartanError(grpc.StatusCode.RESOURCE_EXHAUSTED, f"{LIMIT}; try again in {delay:.1f} s", delay)


def wait_until(cond, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            pytest.fail("the condition did not hold in time")
        time.sleep(0.005)


def test_pacing_tries_again_after_exactly_the_delay_the_server_asks_for():
    """No fixed pause and no polling: each try of the outbox comes after the last refusal's
    delay (0.3 s, then 1.4 s: neither the unreachable server's 1 s nor its 2 s)."""
    fake = FakeClient([paced(0.3), paced(1.4)])
    app = chat_app(fake)
    app.handle("one")
    assert app.console.lines == [PACING] and waiting(app) == [("bob", "one")]
    app.console.wait_for("[Spartan] Sent 1 waiting message.")
    first, second, third = fake.attempts
    assert 0.29 <= second - first < 0.9, fake.attempts
    assert 1.39 <= third - second < 1.9, fake.attempts
    assert fake.sent == [("bob", "one")]
    assert app.console.lines == [PACING, "[Spartan] Sent 1 waiting message."]
    wait_until(lambda: not outbox_threads())
    assert app._outbox_worker is None


def test_pacing_keeps_the_order_says_so_once_and_counts_the_whole_episode():
    """Lines typed while others wait, before or between flushes, go behind them; the note
    comes once however often the server refuses, and the count covers every flush."""
    fake = FakeClient([paced(0.2), None, paced(0.3), None, None, paced(0.2)])
    app = chat_app(fake)
    with app.console.lock:  # typed at once: no flush between them
        for text in ("1", "2", "3", "4"):
            app.handle(text)
    assert waiting(app) == [("bob", t) for t in "1234"]
    # The first flush sends "1"; "2" is refused again and waits 0.3 s with "3" and "4".
    wait_until(lambda: len(fake.tries) >= 3)
    with app.console.lock:
        assert waiting(app) == [("bob", t) for t in "234"]
        app.handle("5")  # behind them, not tried now
        assert len(fake.tries) == 3
    app.console.wait_for("[Spartan] Sent 5 waiting messages.")
    assert fake.sent == [("bob", t) for t in "12345"]
    assert [t for _, t, _ in fake.tries] == ["1", "1", "2", "2", "3", "4", "4", "5"]
    ids = {}
    for _, text, msg_id in fake.tries:
        assert ids.setdefault(text, msg_id) == msg_id  # every try of a line: the id it got when typed
    assert len(set(ids.values())) == 5
    assert app.console.lines == [PACING, "[Spartan] Sent 5 waiting messages."]
    assert not any(line.startswith("[Spartan] Not sent") for line in app.console.lines)
    assert len(outbox_threads()) <= 1


def test_a_new_pacing_episode_says_so_again():
    """The note and the count belong to one episode: once the outbox is empty both start over."""
    fake = FakeClient([paced(0.05), None, paced(0.05)])
    app = chat_app(fake)
    app.handle("one")
    app.console.wait_for("[Spartan] Sent 1 waiting message.")
    wait_until(lambda: app._outbox_worker is None)
    app.handle("two")
    wait_until(lambda: app.console.lines.count("[Spartan] Sent 1 waiting message.") == 2)
    assert app.console.lines == [PACING, "[Spartan] Sent 1 waiting message."] * 2
    assert fake.sent == [("bob", "one"), ("bob", "two")]


def test_pacing_then_unreachable_gives_each_note_once():
    """The server paces, then cannot be reached: each note once, the unreachable pause
    (1 s) after the pacing delay, and one count at the end."""
    fake = FakeClient([paced(0.05), UNAVAILABLE, None])
    app = chat_app(fake)
    app.handle("one")
    app.handle("two")
    app.console.wait_for("[Spartan] Sent 2 waiting messages.")
    assert app.console.lines == [PACING, NOT_YET, "[Spartan] Sent 2 waiting messages."]
    assert fake.attempts[2] - fake.attempts[1] >= 0.99
    assert fake.sent == [("bob", "one"), ("bob", "two")]


def test_leaving_while_paced_stops_the_timer_and_says_what_was_not_sent():
    fake = FakeClient([paced(30.0)])
    app = chat_app(fake)
    app.handle("one")
    app.handle("two")
    assert len(outbox_threads()) == 1
    app.close()
    assert app.console.lines == [PACING, "[Spartan] 2 messages you typed were not sent."]
    for t in outbox_threads():
        t.join(2)
    assert outbox_threads() == [] and len(fake.tries) == 1


@pytest.mark.parametrize(
    "code, details, delay",
    [
        ("RESOURCE_EXHAUSTED", "bob has not answered alice's chat request yet", None),
        ("INVALID_ARGUMENT", "the message is odd", 0.5),
        ("PERMISSION_DENIED", "no", 0.5),
    ],
    ids=["exhausted-without-delay", "invalid-with-delay", "denied-with-delay"],
)
def test_only_resource_exhausted_with_a_retry_delay_paces(code, details, delay):
    err = SpartanError(getattr(grpc.StatusCode, code), details, delay)
    fake = FakeClient([err])
    app = chat_app(fake)
    app.handle("a line")
    assert app.console.lines == [f"[Spartan] Not sent: {err.details}."]
    assert not app.outbox and app._outbox_worker is None


@pytest.mark.parametrize(
    "details, limit",
    [
        ("alice may send 15 messages a second; try again in 0.1 s", "alice may send 15 messages a second"),
        ("alice may send 1 message a minute; try again in 60.0 s", "alice may send 1 message a minute"),
        ("slow down", "slow down"),
        ("; try again in 1 s", "; try again in 1 s"),
    ],
)
def test_the_pacing_note_quotes_the_limit_without_the_wait(details, limit):
    assert client.limit_of(SpartanError(grpc.StatusCode.RESOURCE_EXHAUSTED, details, 0.1)) == limit
