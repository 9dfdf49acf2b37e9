"""client.py where a newcomer trips: a server that goes away, /decline, who is
online, a server that lost its data, a prompt that changes under the fingers,
stale reminders and a python without grpcio."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import termios
import threading
import time

import pytest

from conftest import CLIENT_PY, LOST_NOTE, PYDIR, WAIT, expect_all, wait_online
from spartan_client import pb

READY = "[Spartan] You are now ready to chat with {}."
OFFLINE = "[Spartan] {} is offline; your messages will wait for them."
CHOOSE = "[Spartan] Enter a user whom you want to chat with: "
REQUEST = "[Spartan] {} is requesting to chat with you. Enter 'yes' to accept or different user: "
NOT_YET = (
    "[Spartan] Not sent yet: the server is unreachable. "
    "What you type waits and is sent, in order, when it is back."
)
LOST = "[Spartan] Lost connection to Spartan Server; reconnecting..."


def chatting_with_bob(proc, bob_api) -> None:
    """client.py (alice) picks bob, who accepts through the API."""
    proc.expect(CHOOSE)
    proc.send("bob")
    proc.expect(READY.format("bob"))
    bob_api.answer_chat("alice")
    proc.expect("[Spartan] bob accepted your chat request.\n")
    proc.expect("[alice] > ")


# -- the outbox: nothing typed is lost ----------------------------------------------


def test_lines_typed_while_the_server_is_down_are_sent_when_it_is_back(server, client_py, clients):
    """The server (bolt store) stops; alice types two lines; it restarts on the same port: bob gets both."""
    alice = client_py("alice", server.target)
    chatting_with_bob(alice, clients("bob"))
    alice.send("before")
    alice.expect("[alice] > ")
    server.stop()
    alice.expect(LOST + "\n")
    alice.send("are you there?")
    alice.expect(NOT_YET + "\n")
    alice.expect("[alice] > ")
    alice.send("second, in order")  # queued silently behind the first
    alice.expect("[alice] > ")
    server.start()  # the same port, the same data file
    expect_all(alice, "[Spartan] Reconnected.\n", "[Spartan] Sent 2 waiting messages.\n", timeout=15)
    bob = clients("bob", server)
    texts = [bob.open(m).text for m in bob.history("alice").messages]
    assert texts == ["before", "are you there?", "second, in order"]
    assert alice.out.text.count("Not sent yet") == 1
    # Once the outbox is empty, lines go straight out again.
    alice.send("after")
    alice.expect("after\n[alice] > ")  # the echo, then the prompt once it is sent
    assert bob.open(bob.history("alice").messages[-1]).text == "after"
    alice.send("/quit")
    assert alice.wait() == 0, alice.describe()
    assert "not sent" not in alice.out.text


@pytest.mark.parametrize(
    "lines, leave, said",
    [
        (["lost"], "/quit", "[Spartan] 1 message you typed was not sent.\n"),
        (["lost one", "lost two"], None, "[Spartan] 2 messages you typed were not sent.\n"),
    ],
    ids=["quit", "ctrl-d"],
)
def test_leaving_with_lines_waiting_says_so(server, client_py, clients, lines, leave, said):
    alice = client_py("alice", server.target)
    chatting_with_bob(alice, clients("bob"))
    server.stop()
    alice.expect(LOST + "\n")
    for line in lines:
        alice.send(line)
    alice.expect(NOT_YET + "\n")
    if leave:
        alice.send(leave)
    else:
        alice.close_stdin()
    assert alice.wait() == 0, alice.describe()
    alice.expect(said)
    assert "Traceback" not in alice.err.text


def test_giving_up_with_lines_waiting_says_so_before_the_last_line(server, client_py, clients):
    alice = client_py("alice", server.target, "--give-up", "2")
    chatting_with_bob(alice, clients("bob"))
    server.stop()
    alice.expect(LOST + "\n")
    alice.send("lost")
    alice.expect(NOT_YET + "\n")
    alice.expect("[Spartan] 1 message you typed was not sent.\n")
    alice.expect(f"[Spartan] Spartan Server is gone: no answer from {server.target} for 2 seconds")
    assert alice.wait() == 1, alice.describe()
    alice.out.join()
    rest = alice.out.text[alice.pos :]
    assert rest.endswith(").\n") and rest.count("\n") == 1, alice.describe()


# -- the server lost its data ---------------------------------------------------------


def test_a_chat_the_server_lost_is_asked_again_and_the_line_sent(start_server, client_py):
    """A memory-store server restarts: alice's next line asks bob again; bob's client accepts; bob gets it."""
    srv = start_server(store="{kind: memory}")
    alice = client_py("alice", srv.target)
    alice.expect(CHOOSE)
    alice.send("bob")
    alice.expect(READY.format("bob"))
    bob = client_py("bob", srv.target)
    bob.expect(REQUEST.format("alice"))
    bob.send("yes")
    bob.expect(READY.format("alice"))
    alice.expect("[Spartan] bob accepted your chat request.\n")
    alice.send("hello")
    bob.expect("[alice] hello\n")  # bob's stream is open and has seen seq 2 of this store
    srv.stop()
    srv.start()  # same port, nothing remembered
    for proc in (alice, bob):
        proc.expect("[Spartan] Reconnected.\n", timeout=15)
        # Their positions are from the lost store's epoch: the new stream says so.
        proc.expect(f"[Spartan] {LOST_NOTE}\n")
    alice.send("still there?")
    alice.expect("[Spartan] The server had lost your chat with bob; asked bob again.\n")
    bob.expect("[alice] still there?\n")
    bob.send("yes, still here")
    alice.expect("[bob] yes, still here\n")
    assert "Not sent" not in alice.out.text
    assert "is requesting to chat" not in alice.out.text
    for proc in (alice, bob):
        assert proc.out.text.count(LOST_NOTE) == 1, proc.describe()


# -- retention: messages dropped unread -----------------------------------------------------


def test_messages_dropped_unread_are_announced_then_the_kept_ones_shown(start_server, client_py, clients):
    """The server keeps 5 messages per log, and at most 5 unread: of the 13 events
    of bob's inbox (alice's request, accepted through the API, and 12 texts) sent
    while bob never had a stream open, the first 8 are gone. bob's client.py says
    so in a [Spartan] line, then shows the 5 kept, in order; once they are
    acknowledged, the next start says nothing of it again."""
    srv = start_server(retention="{messages_per_log: 5, max_unread: 5}")
    alice, bob_api = clients("alice", srv), clients("bob", srv)
    alice.request_chat("bob")
    bob_api.answer_chat("alice")
    for i in range(12):
        alice.send("bob", f"message {i}")
    dropped = (
        "[Spartan] 8 messages or notices sent to you were dropped unread: "
        "the server keeps a bounded number of messages (retention).\n"
    )
    # The stream may deliver before or after the first prompt shows: only the
    # order of what arrives is checked.
    bob = client_py("bob", srv.target)
    bob.expect(dropped)
    for i in range(7, 12):
        bob.expect(f"[alice] message {i}\n")
    bob.send("/quit")
    assert bob.wait() == 0, bob.describe()
    text = bob.out.text
    assert text.count("dropped unread") == 1 and "message 6\n" not in text, bob.describe()
    assert "Traceback" not in bob.err.text
    # What was shown was acknowledged: nothing more was dropped, nothing comes again.
    alice.send("bob", "message 12")
    again = client_py("bob", srv.target)
    again.expect("[alice] message 12\n")
    again.send("/quit")
    assert again.wait() == 0, again.describe()
    assert "dropped unread" not in again.out.text and "message 11" not in again.out.text, again.describe()


# -- /decline ---------------------------------------------------------------------------


def test_decline_command(server, client_py, clients, inbox):
    eve_inbox = inbox(clients("eve"))
    alice = client_py("alice", server.target)
    chatting_with_bob(alice, clients("bob"))
    clients("eve").request_chat("alice")
    alice.expect(
        "[Spartan] eve is requesting to chat with you. Type /chat eve to accept or /decline eve to decline.\n"
    )
    alice.send("/decline eve")
    alice.expect("[Spartan] You declined eve's chat request.\n")
    declined = eve_inbox.take(1)[0]
    assert (declined.type, declined.sender) == (pb.MESSAGE_TYPE_CHAT_DECLINED, "alice")
    alice.send("/decline eve")
    alice.expect("[Spartan] eve has not asked to chat with you.\n")
    # A request answered elsewhere (another session of alice) is not declined twice.
    clients("charlie").request_chat("alice")
    alice.expect("[Spartan] charlie is requesting to chat with you.")
    clients("alice").answer_chat("charlie", accept=False)
    alice.send("/decline charlie")
    alice.expect("[Spartan] charlie has not asked to chat with you.\n")
    alice.send("/decline")
    alice.expect("[Spartan] Name a user: /decline USER.\n")
    alice.send("/decline zed")
    alice.expect('[Spartan] There is no user named "zed". User list: bob,charlie,eve\n')
    alice.send("/help")
    alice.expect_lines(
        "[Spartan] Commands: /chat NAME switches to a user (accepting their request) or a group, "
        "/decline USER declines USER's request,\n",
        "[Spartan] /history [N] shows the last N messages (default 20), /users lists the users and who is online,\n",
        "[Spartan] /groups lists your groups, /group create NAME USER... makes one, "
        "/group add NAME USER adds USER to one,\n",
        "[Spartan] /members [NAME] lists a group's members, /leave [NAME] leaves a group (without NAME: the one you are in),\n",
        "[Spartan] /whois [USER] shows USER's key fingerprint (or yours), /help shows this, /quit (or Ctrl-D) leaves.\n",
        "[Spartan] Up and Down recall earlier lines.\n",
    )
    alice.send("/quit")
    assert alice.wait() == 0, alice.describe()


def test_decline_at_the_request_prompt(server, client_py, clients):
    """/decline USER at USER's request prompt declines them; the next request's prompt follows."""
    clients("charlie").request_chat("alice")
    clients("eve").request_chat("alice")
    alice = client_py("alice", server.target)
    alice.expect(REQUEST.format("charlie"))
    alice.send("/decline charlie")
    alice.expect("[Spartan] You declined charlie's chat request.\n")
    alice.expect(REQUEST.format("eve"))
    assert list(clients("alice").login().chat_requests) == ["eve"]


def test_reminders_are_refreshed_before_they_are_shown(server, client_py, clients):
    """A request answered elsewhere is not shown again after "You are now ready to chat with X."."""
    alice = client_py("alice", server.target)
    chatting_with_bob(alice, clients("bob"))
    clients("eve").request_chat("alice")
    alice.expect("[Spartan] eve is requesting to chat with you.")
    clients("alice").answer_chat("eve", accept=False)  # answered on another client
    alice.send("/chat charlie")
    alice.expect(READY.format("charlie"))
    alice.expect("[alice] > ")
    assert "eve is requesting" not in alice.out.text[alice.pos - 200 :]
    assert alice.out.text.count("eve is requesting") == 1


# -- presence ------------------------------------------------------------------------------


def users_until(proc, expected: str) -> None:
    """Types /users until it prints ``expected``: a presence event that says
    nothing (not the partner's) reaches the client a moment after the server
    has it."""
    deadline = time.monotonic() + WAIT
    while True:
        proc.send("/users")
        m = proc.expect(r"\[Spartan\] User list: .*\n\[Spartan\] (Online now: .*|Nobody else is online\.)\n", regex=True)
        if m.group(0) == expected or time.monotonic() > deadline:
            assert m.group(0) == expected, proc.describe()
            return
        time.sleep(0.05)


def test_presence_of_the_partner_and_users(server, client_py, clients, inbox):
    bob = clients("bob")  # has a key: alice is told he is offline, not that he has no key
    alice = client_py("alice", server.target)
    alice.expect(CHOOSE)
    alice.send("bob")
    alice.expect(READY.format("bob") + "\n" + OFFLINE.format("bob") + "\n")
    bob_stream = inbox(bob)
    alice.expect("[Spartan] bob is online.\n")
    inbox(clients("charlie"), presence=True).take(1)  # connected; not the partner: nothing said
    users_until(alice, "[Spartan] User list: bob,charlie,eve\n[Spartan] Online now: bob,charlie.\n")
    bob_stream.cancel()
    alice.expect(OFFLINE.format("bob") + "\n")
    users_until(alice, "[Spartan] User list: bob,charlie,eve\n[Spartan] Online now: charlie.\n")
    assert "charlie is online" not in alice.out.text
    assert alice.out.text.count("bob is online") == 1


def test_presence_known_at_start_is_not_announced(server, client_py, clients, inbox):
    """Users online before alice starts are in the stream's first events: nothing is said about them."""
    inbox(clients("bob"))
    wait_online(clients("eve"), "bob")
    clients("eve").request_chat("alice")  # eve never opens a stream: offline
    alice = client_py("alice", server.target)
    alice.expect(REQUEST.format("eve"))
    alice.send("yes")  # accepting an offline user's request
    alice.expect(READY.format("eve") + "\n" + OFFLINE.format("eve") + "\n")
    alice.send("/chat bob")
    alice.expect(READY.format("bob") + "\n")
    alice.expect("[alice] > ")
    alice.send("/users")
    alice.expect("[Spartan] Online now: bob.\n")
    assert "bob is online" not in alice.out.text
    assert "bob is offline" not in alice.out.text


def test_nobody_online(server, client_py):
    alice = client_py("alice", server.target)
    alice.expect(CHOOSE)
    alice.send("/users")
    alice.expect("[Spartan] User list: bob,charlie,eve\n[Spartan] Nobody else is online.\n")


# -- a python without grpcio ---------------------------------------------------------------

SYSTEM_PYTHON = "/usr/bin/python3"


def test_missing_grpc_is_one_sentence_not_a_traceback():
    if not os.path.exists(SYSTEM_PYTHON):
        pytest.skip(f"no {SYSTEM_PYTHON}")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON") and k != "VIRTUAL_ENV"}
    env["PATH"] = "/usr/bin:/bin"
    probe = subprocess.run([SYSTEM_PYTHON, "-s", "-c", "import grpc"], env=env, capture_output=True, cwd="/")
    if probe.returncode == 0:
        pytest.skip(f"{SYSTEM_PYTHON} has grpc installed")
    done = subprocess.run(
        [SYSTEM_PYTHON, "-s", "client.py", "alice"],
        env=env,
        cwd=str(PYDIR),
        capture_output=True,
        text=True,
        timeout=WAIT,
    )
    assert done.returncode == 2, done
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith("client.py needs grpcio, grpcio-status, protobuf and pycryptodome"), done.stderr
    assert "make venv" in done.stderr and "../../.venv/bin/python client.py alice" in done.stderr


# -- the prompt changes while the user types (a real terminal) -------------------------------

_ESCAPES = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[=>]|\r")


class Terminal:
    """client.py on a pseudo-terminal: what it prints, without escape sequences, for reads with deadlines."""

    def __init__(self, argv, cwd):
        self.master, slave = os.openpty()
        termios.tcsetwinsize(slave, (50, 200))  # wide: long prompts do not wrap
        env = dict(os.environ, TERM="xterm", PYTHONUNBUFFERED="1", PYTHONDONTWRITEBYTECODE="1")
        env.pop("INPUTRC", None)
        self.proc = subprocess.Popen(
            argv, stdin=slave, stdout=slave, stderr=slave, cwd=cwd, env=env, start_new_session=True
        )
        os.close(slave)
        self._raw = b""
        self._closed = False
        self._cond = threading.Condition()
        self.pos = 0
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        while True:
            try:
                chunk = os.read(self.master, 65536)
            except OSError:
                chunk = b""
            with self._cond:
                if not chunk:
                    self._closed = True
                    self._cond.notify_all()
                    return
                self._raw += chunk
                self._cond.notify_all()

    @property
    def text(self) -> str:
        with self._cond:
            return _ESCAPES.sub("", self._raw.decode("utf-8", errors="replace"))

    def expect(self, text: str, timeout: float = WAIT) -> None:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                at = self.text.find(text, self.pos)
                if at >= 0:
                    self.pos = at + len(text)
                    return
                left = deadline - time.monotonic()
                if left <= 0 or self._closed:
                    pytest.fail(f"no {text!r} on the terminal within {timeout}s:\n{self.text!r}")
                self._cond.wait(left)

    def type(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def close(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(5)
        os.close(self.master)


def test_a_line_begun_under_another_prompt_is_not_used(start_server, clients, key_dir):
    """alice types "ba" at "Enter a user"; charlie's request replaces the prompt; "r" + Enter does nothing."""
    srv = start_server(users=["alice", "bob", "charlie", "bar"])
    term = Terminal(
        [sys.executable, str(CLIENT_PY), "alice", "--server", srv.target, "--key-dir", str(key_dir("alice"))],
        str(PYDIR),
    )
    try:
        term.expect(CHOOSE)
        term.type("ba")
        term.expect("ba")
        clients("charlie", srv).request_chat("alice")
        term.expect(REQUEST.format("charlie") + "ba")
        term.type("r\r")
        term.expect('[Spartan] The prompt changed while you were typing, so "bar" was not used.\n')
        term.expect(REQUEST.format("charlie"))
        # Neither was bar asked nor charlie declined.
        assert list(clients("bar", srv).login().chat_requests) == []
        assert list(clients("alice", srv).login().chat_requests) == ["charlie"]
        # A line begun under the new prompt is used.
        term.type("yes\r")
        term.expect(READY.format("charlie"))
        term.expect("[alice] > ")
        term.type("/quit\r")
        assert term.proc.wait(WAIT) == 0, term.text
        assert "Traceback" not in term.text
    finally:
        term.close()


def test_long_lines_not_used_are_quoted_shortly(start_server, clients, key_dir):
    srv = start_server(users=["alice", "bob", "charlie"])
    term = Terminal(
        [sys.executable, str(CLIENT_PY), "alice", "--server", srv.target, "--key-dir", str(key_dir("alice"))],
        str(PYDIR),
    )
    try:
        term.expect(CHOOSE)
        term.type("a rather long line that goes on")
        term.expect("goes on")
        clients("charlie", srv).request_chat("alice")
        term.expect(REQUEST.format("charlie"))
        term.type("\r")
        term.expect('so "a rather long line t\u2026" was not used.\n')
        assert list(clients("alice", srv).login().chat_requests) == ["charlie"]
    finally:
        term.close()
