"""InboxFollower: the library's reconnecting, de-duplicating, acknowledging inbox reader."""

from __future__ import annotations

import queue
import threading

import grpc
import pytest

from conftest import LOST_NOTE, WAIT
from spartan_client import InboxFollower, SpartanError, pb, text_of


@pytest.fixture
def clients(plain_clients):
    """These tests are about the inbox follower: payloads travel as plaintext, for the tests to read."""
    return plain_clients


def chatting(clients, a: str, b: str):
    ca, cb = clients(a), clients(b)
    ca.request_chat(b)
    cb.answer_chat(a)
    return ca, cb


class Recorder:
    """Collects what a follower reports, with deadlines.

    Presence events (every stream starts with one per other user) are left
    out unless ``presence`` is true. ``on_reconnected`` waits for
    ``reconnect_gate`` (set by default): a test can hold the follower between
    finding the server again and reopening its stream.
    """

    def __init__(self, presence: bool = False):
        self.presence = presence
        self.messages: "queue.Queue" = queue.Queue()
        self.lost = threading.Event()
        self.reconnected = threading.Event()
        self.reconnect_gate = threading.Event()
        self.reconnect_gate.set()
        self.gave_up: "queue.Queue" = queue.Queue()

    def _message(self, msg) -> None:
        if msg.type != pb.MESSAGE_TYPE_PRESENCE or self.presence:
            self.messages.put(msg)

    def _reconnected(self) -> None:
        self.reconnected.set()
        self.reconnect_gate.wait(WAIT)

    def take(self, n: int) -> list:
        out = []
        for _ in range(n):
            try:
                out.append(self.messages.get(timeout=WAIT))
            except queue.Empty:
                pytest.fail(f"got {len(out)} of {n} messages")
        return out

    def follow(self, client, **kwargs) -> InboxFollower:
        return InboxFollower(
            client,
            self._message,
            on_lost=lambda err: self.lost.set(),
            on_reconnected=self._reconnected,
            on_give_up=self.gave_up.put,
            **kwargs,
        ).start()


def test_follower_resumes_after_a_drop_without_gaps_or_duplicates(clients):
    alice, bob = chatting(clients, "alice", "bob")
    rec = Recorder()
    follower = rec.follow(bob)
    try:
        for i in range(5):
            alice.send("bob", f"m{i}")
        first = rec.take(6)
        follower._drop_stream()  # the connection drops under the follower
        assert rec.lost.wait(WAIT)
        for i in range(5, 10):
            alice.send("bob", f"m{i}")
        assert rec.reconnected.wait(WAIT)
        rest = rec.take(5)
        got = first + rest
        assert [m.seq for m in got] == list(range(1, 12))
        assert [text_of(m) for m in got[1:]] == [f"m{i}" for i in range(10)]
        assert rec.messages.empty()
    finally:
        follower.stop()
    # stop() acknowledged everything handed over: a fresh stream starts after it.
    assert follower.last_seq == 11
    alice.send("bob", "next")
    sub = bob.receive(0)
    try:
        assert next(m for m in sub if m.type != pb.MESSAGE_TYPE_PRESENCE).seq == 12
    finally:
        sub.cancel()


def test_follower_drops_duplicate_ids(clients):
    alice, bob = chatting(clients, "alice", "bob")
    alice.send("bob", "once")
    rec = Recorder()
    follower = rec.follow(bob)
    try:
        rec.take(2)
        # Force a resume from the start: the same ids come again and are dropped.
        follower._pos = (follower.last_epoch, 0)
        follower._drop_stream()
        assert rec.reconnected.wait(WAIT)
        alice.send("bob", "twice")
        (msg,) = rec.take(1)
        assert text_of(msg) == "twice"
        assert rec.messages.empty()
    finally:
        follower.stop()


def test_follower_gives_up_when_the_server_stays_away(server, clients):
    rec = Recorder()
    follower = rec.follow(clients("bob"), give_up=1.0)
    try:
        clients("alice").request_chat("bob")
        rec.take(1)
        server.stop()
        assert rec.lost.wait(WAIT)
        err = rec.gave_up.get(timeout=WAIT)
        assert isinstance(err, SpartanError) and not err.permanent
    finally:
        follower.stop(ack=False)


def test_follower_gives_up_at_once_for_unknown_user(clients):
    rec = Recorder()
    follower = rec.follow(clients("zed"))
    try:
        err = rec.gave_up.get(timeout=WAIT)
        assert err.permanent and "zed" in str(err)
        assert not rec.lost.is_set()
    finally:
        follower.stop(ack=False)


def test_follower_restarts_from_zero_when_seq_is_unknown(clients):
    alice, bob = chatting(clients, "alice", "bob")
    rec = Recorder()
    follower = rec.follow(bob, seq=99)  # past the end: OUT_OF_RANGE, then seq 0
    try:
        (req,) = rec.take(1)
        assert req.type == pb.MESSAGE_TYPE_CHAT_REQUEST and req.seq == 1
    finally:
        follower.stop()


def test_follower_hands_over_presence_without_acking_or_dropping_it(clients, inbox):
    """Presence events (seq 0, no id) all reach on_message, and leave the resume position alone."""
    alice, bob = chatting(clients, "alice", "bob")
    rec = Recorder(presence=True)
    follower = rec.follow(bob)
    try:
        # The stream starts with everyone else's presence, online or not.
        first = rec.take(3)
        assert [(m.type, m.sender, m.online, m.seq) for m in first] == [
            (pb.MESSAGE_TYPE_PRESENCE, u, False, 0) for u in ("alice", "charlie", "eve")
        ]
        (req,) = rec.take(1)
        assert req.seq == 1
        for _ in range(2):  # alice comes and goes twice: four events with the same (empty) id
            stream = inbox(clients("alice"))
            (on,) = rec.take(1)
            stream.cancel()
            (off,) = rec.take(1)
            assert (on.type, on.sender, on.online, on.seq, on.id) == (pb.MESSAGE_TYPE_PRESENCE, "alice", True, 0, "")
            assert (off.type, off.sender, off.online) == (pb.MESSAGE_TYPE_PRESENCE, "alice", False)
            assert follower.last_seq == 1
        alice.send("bob", "after presence")
        (msg,) = rec.take(1)
        assert (msg.seq, text_of(msg)) == (2, "after presence")
        # A dropped stream resumes after seq 2, not from 0: nothing comes twice.
        follower._drop_stream()
        assert rec.reconnected.wait(WAIT)
        again = rec.take(3)  # the new stream's first events: everyone's presence again
        assert [(m.type, m.sender, m.online) for m in again] == [
            (pb.MESSAGE_TYPE_PRESENCE, u, False) for u in ("alice", "charlie", "eve")
        ]
        alice.send("bob", "after the drop")
        (msg,) = rec.take(1)
        assert (msg.seq, text_of(msg)) == (3, "after the drop")
    finally:
        follower.stop()
    sub = bob.receive(0)  # everything was acknowledged
    try:
        alice.send("bob", "next")
        first = next(m for m in sub if m.type != pb.MESSAGE_TYPE_PRESENCE)
        assert first.seq == 4
    finally:
        sub.cancel()


# -- epochs: a server that lost its data ---------------------------------------------


def test_follower_resumes_in_the_new_epoch_after_a_memory_server_restart(start_server):
    """The follower saw seq 3; before it reconnects, the restarted (empty) server's
    inbox has 3 new messages: all 3 come, after the notice, not skipped as "seq <= 3"."""
    srv = start_server(store="{kind: memory}")
    made = [srv.client("alice"), srv.client("bob")]
    alice, bob = made
    rec = Recorder()
    follower = rec.follow(bob)
    try:
        alice.request_chat("bob")
        bob.answer_chat("alice")
        alice.send("bob", "old 1")
        alice.send("bob", "old 2")
        before = rec.take(3)
        assert [m.seq for m in before] == [1, 2, 3]
        old_epoch = before[0].epoch
        assert old_epoch and {m.epoch for m in before} == {old_epoch}
        assert (follower.last_epoch, follower.last_seq) == (old_epoch, 3)

        rec.reconnect_gate.clear()  # hold the follower before it reopens its stream
        srv.stop()
        assert rec.lost.wait(WAIT)
        srv.start()  # the same port, nothing remembered
        assert rec.reconnected.wait(WAIT)
        # Meanwhile the new server's inbox of bob gets as many messages as the follower saw.
        made += [srv.client("alice"), srv.client("bob")]
        alice, bob_now = made[2:]
        alice.request_chat("bob")
        bob_now.answer_chat("alice")
        alice.send("bob", "new 1")
        alice.send("bob", "new 2")
        rec.reconnect_gate.set()

        notice, *new = rec.take(4)
        assert (notice.type, notice.seq, notice.note) == (pb.MESSAGE_TYPE_SYSTEM, 0, LOST_NOTE)
        assert [(m.seq, m.type) for m in new] == [
            (1, pb.MESSAGE_TYPE_CHAT_REQUEST),
            (2, pb.MESSAGE_TYPE_TEXT),
            (3, pb.MESSAGE_TYPE_TEXT),
        ]
        assert [text_of(m) for m in new[1:]] == ["new 1", "new 2"]
        new_epoch = new[0].epoch
        assert new_epoch and new_epoch != old_epoch and {m.epoch for m in new} == {new_epoch}
        assert (follower.last_epoch, follower.last_seq) == (new_epoch, 3)
        # Live messages of the new epoch follow as usual.
        alice.send("bob", "new 3")
        (live,) = rec.take(1)
        assert (live.seq, live.epoch, text_of(live)) == (4, new_epoch, "new 3")
    finally:
        rec.reconnect_gate.set()
        follower.stop()
    try:
        # The follower acknowledged in the new epoch: a fresh stream starts after
        # seq 4, without a notice (seq 0 does not name an epoch).
        alice.send("bob", "next")
        sub = bob_now.receive(0)
        try:
            first = next(m for m in sub if m.type != pb.MESSAGE_TYPE_PRESENCE)
        finally:
            sub.cancel()
        assert (first.type, first.seq, text_of(first)) == (pb.MESSAGE_TYPE_TEXT, 5, "next")
    finally:
        for c in made:
            c.close()


def test_follower_takes_the_epoch_from_the_notice_and_is_not_told_twice(start_server, inbox):
    """The lost-messages notice (seq 0) carries the new epoch: the follower resumes in
    it, so a stream that drops again before any message of the new epoch came does
    not bring the notice a second time."""
    srv = start_server(store="{kind: memory}")
    made = [srv.client("alice"), srv.client("bob")]
    alice, bob = made
    rec = Recorder()
    follower = rec.follow(bob)
    try:
        alice.request_chat("bob")
        bob.answer_chat("alice")
        alice.send("bob", "old 1")
        before = rec.take(2)
        old_epoch = before[0].epoch
        assert (follower.last_epoch, follower.last_seq) == (old_epoch, 2)

        rec.reconnect_gate.clear()  # hold the follower before it reopens its stream
        srv.stop()
        assert rec.lost.wait(WAIT)
        srv.start()  # the same port, nothing remembered
        assert rec.reconnected.wait(WAIT)
        # The new store gets an epoch (its first event), but bob's inbox stays empty.
        made += [srv.client("charlie"), srv.client("eve")]
        made[2].request_chat("eve")
        eve_inbox = inbox(made[3])
        new_epoch = eve_inbox.take(1)[0].epoch
        eve_inbox.cancel()
        assert new_epoch and new_epoch != old_epoch
        rec.lost.clear()
        rec.reconnected.clear()
        rec.reconnect_gate.set()

        (notice,) = rec.take(1)
        assert (notice.type, notice.seq, notice.note) == (pb.MESSAGE_TYPE_SYSTEM, 0, LOST_NOTE)
        assert notice.epoch == new_epoch
        assert (follower.last_epoch, follower.last_seq) == (new_epoch, 0)

        # The stream drops again before anything of the new epoch has come.
        follower._drop_stream()
        assert rec.lost.wait(WAIT)
        assert rec.reconnected.wait(WAIT)
        # What comes next is the new inbox's first message: no second notice first.
        made += [srv.client("alice")]
        made[-1].request_chat("bob")
        (req,) = rec.take(1)
        assert (req.type, req.seq, req.epoch, req.sender) == (pb.MESSAGE_TYPE_CHAT_REQUEST, 1, new_epoch, "alice")
        assert rec.messages.empty()
        assert (follower.last_epoch, follower.last_seq) == (new_epoch, 1)
    finally:
        rec.reconnect_gate.set()
        follower.stop()
        for c in made:
            c.close()


class _AckError(grpc.RpcError):
    def code(self):
        return grpc.StatusCode.FAILED_PRECONDITION

    def details(self):
        return "the server has lost the messages of epoch"


class _AckStub:
    """Records Ack requests as (epoch, seq); raises the scripted errors first."""

    def __init__(self, failures: int = 0):
        self.acks: list = []
        self.failures = failures

    def Ack(self, req, timeout=None):
        if self.failures:
            self.failures -= 1
            raise _AckError()
        self.acks.append((req.epoch, req.seq))
        return pb.AckResponse()


class _AckClient:
    user, target, timeout = "bob", "unused:0", 1.0

    def __init__(self, failures: int = 0):
        self.stub = _AckStub(failures)


def test_follower_acks_coalesce_by_epoch_and_seq():
    """A later seq of the same epoch replaces the pending ack; another epoch does too, even with a lower seq."""
    client = _AckClient()
    follower = InboxFollower(client, lambda msg: None, seq=3, epoch="old")  # never started
    follower._ack_now()
    assert client.stub.acks == []  # where it starts needs no ack
    follower._shown("old", 5)
    follower._shown("old", 4)  # lower: does not replace 5
    follower._ack_now()
    follower._ack_now()  # nothing new: no call
    assert client.stub.acks == [("old", 5)]
    follower._shown("new", 1)  # a new epoch numbers from 1 again
    follower._shown("new", 2)
    follower._ack_now()
    assert client.stub.acks == [("old", 5), ("new", 2)]
    follower._shown("old", 9)  # the epoch differs: it replaces, as the Go client's Ack does
    follower._ack_now()
    assert client.stub.acks[-1] == ("old", 9)


def test_follower_keeps_an_ack_the_server_refused_pending():
    client = _AckClient(failures=1)
    follower = InboxFollower(client, lambda msg: None)
    follower._shown("e", 2)
    follower._ack_now()  # refused (say, FAILED_PRECONDITION): swallowed, still pending
    assert client.stub.acks == []
    follower._ack_now()
    assert client.stub.acks == [("e", 2)]
