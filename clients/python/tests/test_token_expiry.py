"""Streams outliving their session token, against the built Go server with
3-second tokens (``auth: {required: true, token_minutes: 0.05}``).

The server ends a stream opened with a session token when that token expires
(``UNAUTHENTICATED``), and keeps its user online for a few seconds after a
ReceiveMsg stream ends so: the InboxFollower (and so client.py) logs in again
and reopens the stream at once, after the last position, without a word to
its user; a peer sees no offline/online flicker. A stream refused as it opens
(an expired token) is not reopened for ever: the follower gives up.
"""

from __future__ import annotations

import datetime as dt
import queue
import threading
import time

import grpc
import pytest

import spartan_auth as auth
import spartan_client
from conftest import WAIT
from spartan_client import InboxFollower, SpartanClient, log_in, pb, text_of
from spartan.v1 import chat_pb2_grpc

CODE = grpc.StatusCode
#: Session tokens good for three seconds (the server's minimum is one).
SHORT_TOKENS = "{required: true, token_minutes: 0.05}"
#: What a terminal must not show across a token's expiry.
NOTICES = ("Lost connection", "reconnecting", "Reconnected", "Moved to", "disconnect", "offline", "is online")


@pytest.fixture
def short_server(start_server):
    return start_server(["alice", "bob"], auth=SHORT_TOKENS)


class WatchedFollower(InboxFollower):
    """An InboxFollower that records every ReceiveMsg it opens: (epoch, seq)
    it resumes after, as the stream's request says."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.opens: list = []
        self.opened = threading.Condition()

    def _stub(self, target):
        stub = super()._stub(target)
        follower, receive = self, stub.ReceiveMsg

        def watched(req, **kwargs):
            with follower.opened:
                follower.opens.append((req.epoch, req.seq))
                follower.opened.notify_all()
            return receive(req, **kwargs)

        stub.ReceiveMsg = watched
        return stub

    def wait_opens(self, n: int, timeout: float) -> list:
        with self.opened:
            if not self.opened.wait_for(lambda: len(self.opens) >= n, timeout):
                pytest.fail(f"the follower opened {len(self.opens)} streams within {timeout}s, not {n}")
            return list(self.opens)


class Reports:
    """What a follower reports: messages (a queue), and any loss, reconnection or giving up."""

    def __init__(self):
        self.messages: "queue.Queue" = queue.Queue()
        self.notices: list = []  # on_lost, on_reconnected, on_give_up, as (name, argument)
        self.gave_up = threading.Event()

    def follow(self, client, cls=WatchedFollower) -> InboxFollower:
        def gave_up(err):
            self.notices.append(("on_give_up", err))
            self.gave_up.set()

        return cls(
            client,
            self.messages.put,
            on_lost=lambda err: self.notices.append(("on_lost", err)),
            on_reconnected=lambda: self.notices.append(("on_reconnected", None)),
            on_give_up=gave_up,
        ).start()

    def take(self, wanted, timeout: float = WAIT) -> pb.Message:
        """The next message ``wanted(msg)`` is true of; the others are passed over."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                msg = self.messages.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                pytest.fail(f"no such message within {timeout}s")
            if wanted(msg):
                return msg

    def drain(self) -> list:
        out = []
        while not self.messages.empty():
            out.append(self.messages.get_nowait())
        return out


def test_the_follower_outlives_token_expiries_quietly(short_server):
    """alice's follower is cut by the server twice (three streams opened), each
    time reopened at once after the last message it handed over, with no
    on_lost/on_reconnected; bob's message then arrives, once. bob, following
    too, never sees alice go offline."""
    alice = short_server.client("alice")
    bob = short_server.client("bob")
    bob.request_chat("alice")  # alice's seq 1
    alice.answer_chat("bob")
    alice_reports, bob_reports = Reports(), Reports()
    bob_follower = bob_reports.follow(bob)
    alice_follower = alice_reports.follow(alice)
    try:
        request = alice_reports.take(lambda m: m.type == pb.MESSAGE_TYPE_CHAT_REQUEST)
        assert (request.seq, request.sender) == (1, "bob")
        opens = alice_follower.wait_opens(3, timeout=11)  # the first stream, two cuts
        epoch = request.epoch
        assert opens[0] == ("", 0)
        assert all(o == (epoch, 1) for o in opens[1:3]), opens  # resumed after seq 1
        bob.send_plaintext("alice", "still there?")
        msg = alice_reports.take(lambda m: m.seq > 0)
        assert (msg.seq, msg.sender, text_of(msg)) == (2, "bob", "still there?")
        assert alice_follower.last_seq == 2
        assert alice_reports.notices == [], alice_reports.notices
        assert bob_reports.notices == [], bob_reports.notices
        rest = alice_reports.drain()
        assert [m for m in rest if m.seq or m.type == pb.MESSAGE_TYPE_SYSTEM] == []  # no replay, no notice
        # bob saw alice online, and never offline after that.
        about_alice = [m.online for m in bob_reports.drain() if m.type == pb.MESSAGE_TYPE_PRESENCE and m.sender == "alice"]
        assert True in about_alice and False not in about_alice[about_alice.index(True):], about_alice
    finally:
        alice_follower.stop(ack=False)
        bob_follower.stop(ack=False)
        alice.close()
        bob.close()


def test_an_idle_stream_is_reopened_after_each_expiry(start_server):
    """alice alone on the server: her streams hand nothing over (no other user,
    so no presence events), yet each ran for more than a second before the
    server cut it, so the follower reopens it quietly every time, not only
    once; the event of a group she then makes arrives."""
    srv = start_server(["alice"], auth=SHORT_TOKENS)
    alice = srv.client("alice")
    reports = Reports()
    follower = reports.follow(alice)
    try:
        assert follower.wait_opens(3, timeout=11) == [("", 0)] * 3  # two cuts
        assert reports.messages.empty()  # nothing was handed over meanwhile
        alice.create_group("solo")
        event = reports.take(lambda m: m.seq > 0)
        assert (event.seq, event.group) == (1, "solo")
        assert reports.notices == [], reports.notices
    finally:
        follower.stop(ack=False)
        alice.close()


def test_a_short_token_is_not_logged_in_for_on_every_call(short_server, monkeypatch):
    """With 3-second tokens, calls made over about a second and a half log in
    once or twice, not once a call (a token is renewed a quarter of its life
    before its end, not a minute before)."""
    logins = []
    real_log_in = spartan_client.log_in

    def counting(*args, **kwargs):
        logins.append(time.monotonic())
        return real_log_in(*args, **kwargs)

    monkeypatch.setattr(spartan_client, "log_in", counting)
    with short_server.client("alice") as alice:
        for _ in range(15):
            assert alice.login().user == "alice"
            time.sleep(0.1)
    assert 1 <= len(logins) <= 2, logins


def test_a_raw_stream_ends_unauthenticated_when_its_token_expires(short_server):
    """grpcio with no reopening of its own: the stream opens (its presence
    events come), then ends UNAUTHENTICATED once the token's expire_time has passed."""
    channel = grpc.insecure_channel(short_server.target)
    try:
        stub = chat_pb2_grpc.ChatServiceStub(channel)
        session = log_in(stub, "alice", auth.generate_signing_key(), timeout=WAIT)
        opened = time.monotonic()
        call = stub.ReceiveMsg(pb.Message(receiver="alice"), metadata=session.metadata, timeout=WAIT)
        got = []
        with pytest.raises(grpc.RpcError) as ended:
            for msg in call:
                got.append(msg)
        assert ended.value.code() == CODE.UNAUTHENTICATED, ended.value
        assert [(m.type, m.sender) for m in got] == [(pb.MESSAGE_TYPE_PRESENCE, "bob")]
        assert time.monotonic() - opened >= 1.0
        assert dt.datetime.now(dt.timezone.utc) >= session.expire_time
        # The token is now refused as a stream opens: at once, nothing delivered.
        with pytest.raises(grpc.RpcError) as refused:
            next(iter(stub.ReceiveMsg(pb.Message(receiver="alice"), metadata=session.metadata, timeout=WAIT)))
        assert refused.value.code() == CODE.UNAUTHENTICATED
    finally:
        channel.close()


class StaleTokenClient(SpartanClient):
    """A client whose session token is always one that has expired."""

    def __init__(self, target: str, user: str, token: str):
        super().__init__(target, user, timeout=WAIT, signer=auth.generate_signing_key())
        self.stale = token

    def session_token(self, target=None) -> str:
        return self.stale


def test_a_stream_refused_as_it_opens_is_not_reopened_for_ever(short_server):
    """An expired token is refused as the stream opens: that is no cut of a
    running stream. The follower tries once more (logging in again), is
    refused again and gives up, UNAUTHENTICATED, after two streams."""
    with short_server.client("alice") as alice:
        session = log_in(alice.stub, "alice", short_server.signer("alice"), timeout=WAIT)
    left = (session.expire_time - dt.datetime.now(dt.timezone.utc)).total_seconds()
    time.sleep(max(0.0, left) + 1.3)  # the server takes a token through the second expire_time names
    client = StaleTokenClient(short_server.target, "alice", session.token)
    reports = Reports()
    follower = reports.follow(client)
    try:
        assert reports.gave_up.wait(WAIT)
        time.sleep(0.3)  # a follower that went on would open another stream meanwhile
        assert len(follower.opens) == 2, follower.opens
        [(name, err)] = reports.notices
        assert name == "on_give_up" and err.code == CODE.UNAUTHENTICATED
    finally:
        follower.stop(ack=False)
        client.close()


CHOOSE = "[Spartan] Enter a user whom you want to chat with: "
READY = "[Spartan] You are now ready to chat with {}."


def test_client_py_says_nothing_across_token_expiries(short_server, client_py, clients):
    """client.py chatting with bob across two of its tokens' expiries: no
    "Lost connection", "Reconnected" or any other notice, and bob's message
    arrives (sealed, opened, shown)."""
    bob = clients("bob", short_server)
    alice = client_py("alice", short_server.target)
    alice.expect(CHOOSE)
    alice.send("bob")
    alice.expect(READY.format("bob"))
    bob.answer_chat("alice")
    alice.expect("[Spartan] bob accepted your chat request.\n")  # her stream is open
    alice.expect("[alice] > ")
    shown = alice.pos
    time.sleep(7.5)  # each token lives at most ~3.5 s: her stream is cut twice
    bob.send("alice", "still there?")
    alice.expect("[bob] still there?\n")
    alice.send("yes")
    alice.expect("[alice] > ")
    later = alice.out.text[shown:]
    assert not [n for n in NOTICES if n in later], alice.describe()
    assert "[Spartan]" not in later, alice.describe()
    assert alice.popen.poll() is None and "Traceback" not in alice.err.text, alice.describe()
    alice.send("/quit")
    assert alice.wait() == 0, alice.describe()
