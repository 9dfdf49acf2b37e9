"""InboxFollower: the library's reconnecting, de-duplicating, acknowledging inbox reader."""

from __future__ import annotations

import queue
import threading

import pytest

from conftest import WAIT
from spartan_client import InboxFollower, SpartanError, pb, text_of


def chatting(clients, a: str, b: str):
    ca, cb = clients(a), clients(b)
    ca.request_chat(b)
    cb.answer_chat(a)
    return ca, cb


class Recorder:
    """Collects what a follower reports, with deadlines."""

    def __init__(self):
        self.messages: "queue.Queue" = queue.Queue()
        self.lost = threading.Event()
        self.reconnected = threading.Event()
        self.gave_up: "queue.Queue" = queue.Queue()

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
            self.messages.put,
            on_lost=lambda err: self.lost.set(),
            on_reconnected=self.reconnected.set,
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
        assert next(iter(sub)).seq == 12
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
        follower._seq = 0
        follower._acked = 0
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
