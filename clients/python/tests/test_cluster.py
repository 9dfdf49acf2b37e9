"""Several servers of one cluster (store.kind redis on one real redis-server):
SpartanClient's server list and its rotation, InboxFollower moving to the next
server, and client.py --server host1:port1,host2:port2 moving when its server
is killed, nothing lost and nothing shown twice."""

from __future__ import annotations

import queue
import threading
import time

import grpc
import pytest

import client
from conftest import WAIT, free_port, kill, with_keys
from spartan_client import InboxFollower, SpartanClient, SpartanError, pb, split_targets, text_of
from test_outbox import FakeConsole

CHOOSE = "[Spartan] Enter a user whom you want to chat with: "
REQUEST = "[Spartan] {} is requesting to chat with you. Enter 'yes' to accept or different user: "
LOST = "[Spartan] Lost connection to Spartan Server; reconnecting...\n"


# -- the server list, without servers --------------------------------------------------


@pytest.mark.parametrize(
    "target, want",
    [
        ("localhost:3000", ["localhost:3000"]),
        ("a:1,b:2", ["a:1", "b:2"]),
        (" a:1 , b:2 ,", ["a:1", "b:2"]),
        (["a:1", "b:2,c:3"], ["a:1", "b:2", "c:3"]),
        (("a:1",), ["a:1"]),
    ],
)
def test_split_targets(target, want):
    assert split_targets(target) == want


def test_a_client_uses_the_first_server_and_rotates_round_robin():
    c = SpartanClient("a:1,b:2,c:3", "bob")  # channels connect lazily: nothing is dialled
    try:
        assert c.targets == ["a:1", "b:2", "c:3"] and c.target == "a:1"
        assert c.rotate() == "b:2"
        # Two calls failed on b:2: the client moves on once, not twice.
        assert c.rotate("b:2") == "c:3"
        assert c.rotate("b:2") == "c:3"
        assert c.rotate("c:3") == "a:1"  # after the last, the first again
        c.use("c:3")
        assert c.target == "c:3" and c.stub is c.stub_for("c:3")
        with pytest.raises(ValueError):
            c.use("d:4")
    finally:
        c.close()


def test_one_server_never_moves():
    c = SpartanClient(["a:1"], "bob")
    try:
        assert c.rotate() == "a:1" and c.rotate("a:1") == "a:1" and c.target == "a:1"
    finally:
        c.close()


def test_a_ready_made_channel_is_for_one_server():
    channel = grpc.insecure_channel("a:1")
    try:
        with pytest.raises(ValueError):
            SpartanClient("a:1,b:2", "bob", channel=channel)
        assert SpartanClient("a:1", "bob", channel=channel).channel is channel
    finally:
        channel.close()


@pytest.mark.parametrize(
    "given, want",
    [
        ("localhost", "localhost:3000"),
        ("h1,h2:4000", "h1:3000,h2:4000"),
        ("[::1],127.0.0.1:5", "[::1]:3000,127.0.0.1:5"),
    ],
)
def test_normalise_server_adds_the_default_port_to_each(given, want):
    assert client.normalise_server(given) == want


# -- client.py's lines, in process -----------------------------------------------------------


class _Follower:
    server = ""


def test_a_reconnection_to_another_server_says_moved_once():
    class Fake:
        user, target, targets = "bob", "h1:1", ["h1:1", "h2:2"]

    app = client.ChatApp(Fake(), FakeConsole(), "h1:1,h2:2", 30.0)
    app.follower = _Follower()
    app.follower.server = "h2:2"
    app.on_reconnected()
    app.follower.server = "h2:2"  # lost again, and back on the same one
    app.on_reconnected()
    app.follower.server = "h1:1"
    app.on_reconnected()
    assert app.console.lines == [
        "[Spartan] Moved to Spartan Server at h2:2.",
        "[Spartan] Reconnected.",
        "[Spartan] Moved to Spartan Server at h1:1.",
    ]


def test_giving_up_names_every_server():
    class Fake:
        user, target, targets = "bob", "h1:1", ["h1:1", "h2:2"]

    app = client.ChatApp(Fake(), FakeConsole(), "h1:1,h2:2", 3.0)
    app.on_give_up(SpartanError(grpc.StatusCode.UNAVAILABLE, "connection refused"))
    assert app.console.lines == [
        "[Spartan] Spartan Server is gone: no answer from any of h1:1, h2:2 for 3 seconds (connection refused)."
    ]


def test_login_tries_each_server_once_while_they_cannot_be_reached():
    class Fake:
        user = "bob"

        def __init__(self, failures):
            self.targets, self.index, self.failures, self.logins = ["h1:1", "h2:2", "h3:3"], 0, failures, 0

        @property
        def target(self):
            return self.targets[self.index]

        def login(self):
            self.logins += 1
            if self.failures:
                err = self.failures.pop(0)
                if err.code == grpc.StatusCode.UNAVAILABLE:
                    self.index = (self.index + 1) % len(self.targets)  # as SpartanClient does
                raise err
            return pb.LoginResponse(user="bob", others=["alice"])

    down = SpartanError(grpc.StatusCode.UNAVAILABLE, "connection refused")
    fake = Fake([down, down])
    app = client.ChatApp(fake, FakeConsole(), "h1:1,h2:2,h3:3", 30.0)
    assert app.login_anywhere().others == ["alice"] and fake.target == "h3:3"
    fake = Fake([down, down, down])
    with pytest.raises(SpartanError):
        client.ChatApp(fake, FakeConsole(), "h1:1,h2:2,h3:3", 30.0).login_anywhere()
    assert fake.logins == 3
    fake = Fake([SpartanError(grpc.StatusCode.NOT_FOUND, 'no user named "bob"')])
    with pytest.raises(SpartanError):
        client.ChatApp(fake, FakeConsole(), "h1:1,h2:2,h3:3", 30.0).login_anywhere()
    assert fake.logins == 1  # an answer: not a server to move away from


# -- the library, against real servers -----------------------------------------------------


def test_a_call_that_fails_unavailable_moves_the_client_to_the_next_server(server):
    dead = f"127.0.0.1:{free_port()}"
    with SpartanClient([dead, server.target], "bob", timeout=WAIT, signer=server.signer("bob")) as bob:
        with pytest.raises(SpartanError) as err:
            bob.login()
        assert err.value.code == grpc.StatusCode.UNAVAILABLE
        assert bob.target == server.target
        assert bob.login().user == "bob"
        assert bob.target == server.target  # an answer: it stays


def test_a_call_that_fails_otherwise_does_not_move(server):
    targets = f"{server.target},127.0.0.1:{free_port()}"
    with SpartanClient(targets, "zed", timeout=WAIT, signer=server.signer("zed")) as zed:
        with pytest.raises(SpartanError) as err:
            zed.login()
        assert err.value.code == grpc.StatusCode.NOT_FOUND and zed.target == server.target


class Recorder:
    def __init__(self):
        self.messages: "queue.Queue" = queue.Queue()
        self.lost = threading.Event()
        self.reconnected: "queue.Queue" = queue.Queue()
        self.gave_up: "queue.Queue" = queue.Queue()
        self.follower = None

    def follow(self, c: SpartanClient, **kwargs) -> InboxFollower:
        self.follower = InboxFollower(
            c,
            lambda m: m.type == pb.MESSAGE_TYPE_TEXT and self.messages.put(m),
            on_lost=lambda err: self.lost.set(),
            on_reconnected=lambda: self.reconnected.put(self.follower.server),
            on_give_up=self.gave_up.put,
            **kwargs,
        )
        return self.follower.start()

    def texts(self, n: int) -> list:
        out = []
        for _ in range(n):
            try:
                out.append(self.messages.get(timeout=WAIT))
            except queue.Empty:
                pytest.fail(f"got {len(out)} of {n} messages: {[text_of(m) for m in out]}")
        return out


def test_the_follower_starts_on_the_next_server_when_the_first_is_down(server, plain_clients):
    alice = plain_clients("alice")
    alice.request_chat("bob")
    plain_clients("bob").answer_chat("alice")
    alice.send("bob", "waiting for you")
    dead = f"127.0.0.1:{free_port()}"
    bob = SpartanClient(f"{dead},{server.target}", "bob", timeout=WAIT, signer=server.signer("bob"))
    rec = Recorder()
    follower = rec.follow(bob, give_up=5.0)
    try:
        assert rec.reconnected.get(timeout=WAIT) == server.target
        assert rec.lost.is_set() and bob.target == server.target
        (msg,) = rec.texts(1)
        assert text_of(msg) == "waiting for you"
    finally:
        follower.stop()
        bob.close()


def test_the_follower_moves_to_the_next_server_and_resumes_where_it_was(cluster):
    node1, node2 = cluster(2)
    alice = node2.client("alice")
    bob = SpartanClient([node1.target, node2.target], "bob", timeout=WAIT, signer=node1.signer("bob"))
    rec = Recorder()
    follower = None
    try:
        alice.request_chat("bob")
        bob.answer_chat("alice")
        follower = rec.follow(bob)
        for i in range(3):
            alice.send("bob", f"before {i}")
        before = rec.texts(3)
        assert follower.server == node1.target
        kill(node1)
        for i in range(3):
            alice.send("bob", f"during {i}")
        assert rec.reconnected.get(timeout=WAIT) == node2.target
        assert bob.target == node2.target  # the client's calls follow the stream
        for i in range(3):
            alice.send("bob", f"after {i}")
        rest = rec.texts(6)
        got = before + rest
        assert [text_of(m) for m in got] == [f"{w} {i}" for w in ("before", "during", "after") for i in range(3)]
        seqs = [m.seq for m in got]
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
        assert len({m.epoch for m in got}) == 1  # one store: one epoch
        assert rec.messages.empty() or pytest.fail(f"more: {text_of(rec.messages.get())}")
        assert rec.gave_up.empty()
    finally:
        if follower is not None:
            follower.stop()
        bob.close()
        alice.close()


def test_the_follower_gives_up_only_when_no_server_answers(cluster):
    node1, node2 = cluster(2)
    bob = SpartanClient([node1.target, node2.target], "bob", timeout=WAIT, signer=node1.signer("bob"))
    rec = Recorder()
    follower = rec.follow(bob, give_up=1.5)
    try:
        deadline = time.monotonic() + WAIT
        while follower._call is None and time.monotonic() < deadline:
            time.sleep(0.01)
        kill(node1)
        assert rec.reconnected.get(timeout=WAIT) == node2.target  # within give_up: moved, not gone
        assert rec.gave_up.empty()
        kill(node2)
        lost = time.monotonic()
        err = rec.gave_up.get(timeout=WAIT)
        took = time.monotonic() - lost
        assert err.code == grpc.StatusCode.UNAVAILABLE
        assert 1.0 <= took < 5.0, took  # one timer for both servers
    finally:
        follower.stop(ack=False)
        bob.close()


# -- client.py, against a cluster -------------------------------------------------------------


def test_client_py_moves_to_the_next_server_when_its_own_is_killed(cluster, client_py, key_dir):
    """bob follows on node1 of node1,node2; alice chats with him on node2; node1 is killed.

    bob's client says it moved, once, and everything alice sends during and
    after the move reaches him once, in order; what bob typed meanwhile
    reaches alice once too.
    """
    node1, node2 = cluster(2)
    bob = client_py("bob", f"{node1.target},{node2.target}")
    bob.expect(f"[Spartan] Connected to Spartan Server at port {node1.port}.\n")
    bob.expect(CHOOSE)
    alice = with_keys(node2.client("alice"), key_dir("alice"))
    try:
        alice.request_chat("bob")
        bob.expect(REQUEST.format("alice"))
        bob.send("yes")
        bob.expect("[Spartan] You are now ready to chat with alice.\n")
        bob.expect("[bob] > ")
        for i in range(3):
            alice.send("bob", f"before {i}")
        bob.expect("[alice] before 2\n")

        kill(node1)
        for i in range(3):
            alice.send("bob", f"during {i}")
        bob.send("typed while moving")
        bob.expect(LOST)
        moved = f"[Spartan] Moved to Spartan Server at {node2.target}.\n"
        bob.expect(moved)
        for i in range(3):
            alice.send("bob", f"after {i}")
        bob.send("typed after moving")
        bob.expect("[alice] after 2\n")

        out = bob.out.text
        assert out.count(moved) == 1 and "[Spartan] Reconnected." not in out, bob.describe()
        assert out.count(LOST) == 1, bob.describe()
        shown = [line.partition("[alice] ")[2] for line in out.split("\n") if "[alice] " in line]
        want = [f"{w} {i}" for w in ("before", "during", "after") for i in range(3)]
        assert shown == want, bob.describe()
        # Alice's messages sent while bob was away are shown after the move, not before.
        assert out.index("[alice] during 0") > out.index(moved), bob.describe()

        # What bob typed reached alice once each, in order (through the outbox
        # or straight to node2, whichever came first).
        deadline = time.monotonic() + WAIT
        while True:
            from_bob = [alice.open(m).text for m in alice.last_messages("bob", 50) if m.sender == "bob"]
            if len(from_bob) >= 2 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert from_bob == ["typed while moving", "typed after moving"], bob.describe()

        bob.send("/quit")
        assert bob.wait() == 0, bob.describe()
        assert "Traceback" not in bob.err.text, bob.describe()
    finally:
        alice.close()


def test_client_py_greets_with_the_first_server_that_answers(server, client_py):
    dead = f"127.0.0.1:{free_port()}"
    bob = client_py("bob", f"{dead},{server.target}")
    bob.expect(f"[Spartan] Connected to Spartan Server at port {server.port}.\n")
    bob.expect(CHOOSE)
    bob.send("/quit")
    assert bob.wait() == 0, bob.describe()
    assert "Moved" not in bob.out.text and "Lost" not in bob.out.text, bob.describe()


def test_client_py_cannot_connect_to_any_server(client_py):
    servers = f"127.0.0.1:{free_port()},127.0.0.1:{free_port()}"
    proc = client_py("alice", servers)
    assert proc.wait() == 1, proc.describe()
    proc.err.join()
    assert proc.err.text.startswith(f"[Spartan] Cannot connect to Spartan Server at {servers}: "), proc.describe()
    assert "Traceback" not in proc.err.text


def test_client_py_gives_up_when_every_server_is_gone(cluster, client_py):
    node1, node2 = cluster(2)
    bob = client_py("bob", f"{node1.target},{node2.target}", "--give-up", "2")
    bob.expect(CHOOSE)
    kill(node1)
    bob.expect(LOST)
    bob.expect(f"[Spartan] Moved to Spartan Server at {node2.target}.\n")
    kill(node2)
    bob.expect(LOST)
    bob.expect(
        f"[Spartan] Spartan Server is gone: no answer from any of {node1.target}, {node2.target} for 2 seconds"
    )
    assert bob.wait() == 1, bob.describe()


def test_brief_transcript_across_two_nodes(cluster, client_py):
    """The brief's transcript with alice's client.py on one node and bob's on
    another of one cluster, as if they were on one server: bob is online for
    alice though on another node."""
    node1, node2 = cluster(2)
    alice = client_py("alice", node1.target)
    alice.expect(CHOOSE)
    alice.send("bob")
    alice.expect("[Spartan] You are now ready to chat with bob.\n")
    alice.expect("[Spartan] bob has not set up encryption yet; your messages will be sent when bob connects.\n")
    alice.send("Hey Bob!")
    alice.expect("[alice] > ")

    bob = client_py("bob", node2.target)
    bob.expect("[Spartan] alice is requesting to chat with you. Enter 'yes' to accept or different user: ")
    bob.send("yes")
    bob.expect("[Spartan] You are now ready to chat with alice.\n")
    bob.expect("[alice] Hey Bob!\n")
    bob.expect("[bob] > ")
    bob.send("Hi Alice!")

    alice.expect("[bob] Hi Alice!\n")
    # Presence travels by pub/sub, the acceptance through the store: across
    # nodes either may come first.
    for line in (
        "[Spartan] bob has set up encryption; sent 1 waiting message.\n",
        "[Spartan] bob is online.\n",
        "[Spartan] bob accepted your chat request.\n",
    ):
        assert line in alice.out.text, alice.describe()
    assert "alice is offline" not in bob.out.text, bob.describe()
    for proc in (alice, bob):
        proc.send("/quit")
        assert proc.wait() == 0, proc.describe()
