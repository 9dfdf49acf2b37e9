#!/usr/bin/env python3
"""Spartan Messenger's terminal client.

    python3 client.py alice [--server HOST:PORT[,HOST:PORT...]] [--give-up SECONDS] [--key-dir DIR] [--tls [--ca FILE]]

It logs in, lists the other users, lets the user pick someone to chat with (or
answer someone's chat request) and then sends every typed line to that
partner, printing what arrives as ``[sender] text``. A group's name works
where a user's does: its posts show as ``[sender@group] text``, wherever the
user is. Commands start with a slash: /chat NAME, /decline NAME, /users,
/history [N], /groups, /group create NAME USER..., /group add NAME USER,
/members [NAME], /leave [NAME], /whois [NAME], /help, /quit (or Ctrl-D). A
line that cannot be sent because the server is unreachable waits in an
outbox and is sent, in order, once the server is back;
so does a line the server's rate limit refuses, sent again after the wait the
server asks for. Given several servers of one cluster (``--server
host1:3000,host2:3000``), it uses the first that answers and moves to the
next, in turn, when the one it uses cannot be reached, resuming where it was.

Every message is end-to-end encrypted (docs/SECURITY.md): the user's keys, the
contacts' keys, the messages that wait for a receiver's key and the groups'
sender keys live in a key directory (:mod:`spartan_keystore`; ``--key-dir``,
or one per server and user in the config directory), shared with the Go CLI.
The user logs in with the log-in key of that directory, unnoticed (as the Go
CLI: ListUsers checks the name before the directory is made, then the client
signs the server's challenge); ``--tls`` (and ``--ca FILE``, the certificate
to trust instead of the system's) talks TLS.
A message to a user who has no key yet waits on disk (outbox.json) until that
user publishes one; a post to a group goes at once, and the members who have
no key yet are named (they get the group's key when they publish theirs, and
read the post then: a post whose key has not come yet waits for it, with a
line that says so).

The protocol lives in :mod:`spartan_client`; this module is only the terminal
user interface: :class:`Console` (prompts and asynchronous lines that do not
mangle what the user is typing) and :class:`ChatApp` (what the user sees and
does).
"""

from __future__ import annotations

import argparse
import collections
import datetime
import json
import os
import re
import select
import shlex
import signal
import sys
import threading
from typing import Callable, Deque, Dict, List, NamedTuple, Optional, TextIO, Tuple, TypeVar


def _missing_dependencies(err: ImportError) -> None:
    """Says in one sentence how to get grpcio, grpcio-status, protobuf and pycryptodome, and exits with status 2."""
    here = os.path.dirname(os.path.abspath(__file__))
    python = os.path.relpath(os.path.join(here, "..", "..", ".venv", "bin", "python"))
    script = os.path.relpath(os.path.abspath(__file__))
    args = shlex.join(sys.argv[1:]) if len(sys.argv) > 1 else "USER"
    requirements = os.path.relpath(os.path.join(here, "requirements.txt"))
    sys.stderr.write(
        f"client.py needs grpcio, grpcio-status, protobuf and pycryptodome ({err.name or err} is missing): "
        f"run 'make venv' in the repository root, then use {python} {script} {args} "
        f"(or pip install -r {requirements}).\n"
    )
    sys.exit(2)


if __name__ == "__main__":
    # gRPC's own log lines (a failed TLS handshake is logged at INFO, say) must
    # not land on the user's terminal: the client says what went wrong itself.
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")

try:
    import grpc

    import spartan_e2e as e2e
    from spartan_client import (
        DEFAULT_SERVER,
        E2E,
        InboxFollower,
        KeyChange,
        NoGroupKeyError,
        NoKeyError,
        SpartanClient,
        SpartanError,
        max_post,
        max_text,
        new_message_id,
        open_plaintext,
        pb,
        split_targets,
    )
    from spartan_keystore import KeyStore, KeyStoreError, Waiting, default_key_dir
except ImportError as _err:  # the system python, say, without the virtualenv
    if __name__ != "__main__" or (_err.name or "").partition(".")[0] not in ("grpc", "grpc_status", "google", "Crypto"):
        raise
    _missing_dependencies(_err)

TAG = "[Spartan]"
T = TypeVar("T")
HISTORY_DEFAULT = 20
#: The most group posts kept per group and sender while their sender key has
#: not come (ChatApp.keyless); the oldest go first.
KEYLESS_MAX = 100
HELP = (
    f"{TAG} Commands: /chat NAME switches to a user (accepting their request) or a group, "
    "/decline USER declines USER's request,\n"
    f"{TAG} /history [N] shows the last N messages (default {HISTORY_DEFAULT}), "
    "/users lists the users and who is online,\n"
    f"{TAG} /groups lists your groups, /group create NAME USER... makes one, "
    "/group add NAME USER adds USER to one,\n"
    f"{TAG} /members [NAME] lists a group's members, /leave [NAME] leaves a group (without NAME: the one you are in),\n"
    f"{TAG} /whois [USER] shows USER's key fingerprint (or yours), /help shows this, /quit (or Ctrl-D) leaves.\n"
    f"{TAG} Up and Down recall earlier lines."
)

#: Send errors after which the same line waits in the outbox: the server is
#: unreachable or failed for a reason of its own, so it may well take the line
#: later. A RESOURCE_EXHAUSTED with a retry delay (the rate limit: the user
#: sends too fast) waits too, for that delay (see ChatApp.hold). A refusal of
#: the line itself (RESOURCE_EXHAUSTED without one: far too big, too many
#: waiting for an answer) is the user's to hear, not to retry: "Not sent:
#: ...". The same set as the Go CLI's hold().
RETRYABLE = frozenset(
    {
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.ABORTED,
        grpc.StatusCode.UNKNOWN,
        grpc.StatusCode.INTERNAL,
    }
)
#: The outbox's retry pauses while the server is unreachable: from the first to
#: the last, doubling. A pacing server says itself how long to wait.
OUTBOX_RETRY_MIN, OUTBOX_RETRY_MAX = 1.0, 5.0
#: How much of a line not used is quoted.
QUOTE_CHARS = 20

#: Exit statuses, as the Go CLI's: the key directory cannot be used is 1 too.
EXIT_OK, EXIT_SERVER, EXIT_USAGE = 0, 1, 2
EXIT_KEYS = EXIT_SERVER
#: The codes with which a server refuses logging in itself (rather than being
#: unreachable): "Cannot log in: ...", exit status 2, as the Go CLI.
REFUSED = frozenset(
    {
        grpc.StatusCode.NOT_FOUND,
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.PERMISSION_DENIED,
        grpc.StatusCode.UNAUTHENTICATED,
    }
)


class UnknownUser(Exception):
    """The user named on the command line is not one of the server's ``users``."""

    def __init__(self, user: str, users: List[str]):
        super().__init__(f"There is no user named {go_quote(user)}. Users: " + ",".join(users))
        self.user = user
        self.users = users


class Queued(NamedTuple):
    """A typed line to send: its receiver (a user, or a group when ``group``),
    its text and its client message id.

    The id is made once, when the line is typed, and every attempt to send
    the line (the first, each retry of the outbox, the send again after
    asking a partner the server had forgotten, the send once the receiver
    has a key) carries it: the server stores the line once even when an
    answer was lost and the line is sent again. ``held`` says the line is
    in the key directory's outbox.json too (it waited for its receiver's
    key), to be removed from there once the server has taken it. A post to
    a group never waits for a key: members who have none are told of.
    """

    receiver: str
    text: str
    msg_id: str
    held: bool = False
    group: bool = False


class Console:
    """Prompts and lines on a terminal or a pipe, safe to use from several threads.

    ``read(prompt)`` shows a prompt and reads one line (``None`` at end of
    input). ``line(text)`` prints a whole line from any thread; while a prompt
    is showing, the line appears above it and the prompt, with whatever the
    user has typed so far, is shown again below it.

    On a terminal it uses ``readline``; the prompt counts as showing only
    once readline has drawn it (its pre-input hook), so a line printed just
    before that does not draw the prompt a second time. On a pipe (or a
    file), prompts are written without a newline and each line read is
    echoed after its prompt, so the output reads like a terminal session; a
    line printed while a prompt shows goes on a line of its own and the
    prompt is printed again. ``leave(text)`` prints a last line after which
    no prompt is shown.

    On a terminal, a line the user had begun when the prompt changed (a
    chat request replaced "Enter a user", say) answers a question that is
    no longer asked: read() does not return it, says so and reads again.
    """

    def __init__(self, inp: TextIO = sys.stdin, out: TextIO = sys.stdout, tty: Optional[bool] = None):
        self.inp = inp
        self.out = out
        self.tty = inp.isatty() and out.isatty() if tty is None else tty
        #: Held while printing; a caller may hold it to keep its lines together.
        self.lock = threading.RLock()
        self._prompt = ""
        self._reading = False
        self._at_line_start = True
        self._readline = None
        self._buffered = b""  # bytes read from a pipe after the last line
        # On a pipe, reading waits in select() on stdin and on a wake-up pipe:
        # a signal (Ctrl-C) writes to it through signal.set_wakeup_fd even
        # when it lands just before the wait, and interrupt() writes to it
        # from another thread. No timeout: an idle client sleeps.
        self._interrupted = threading.Event()
        self._wake_r: Optional[int] = None
        self._wake_w: Optional[int] = None
        if not self.tty:
            self._wake_r, self._wake_w = os.pipe()
            os.set_blocking(self._wake_w, False)
            if threading.current_thread() is threading.main_thread():
                signal.set_wakeup_fd(self._wake_w)
        #: On a terminal, read() has called input() but readline may not have
        #: drawn the prompt yet (see _prompt_drawn); a line printed meanwhile
        #: is printed alone, and the prompt is drawn again once it shows.
        self._pending = False
        self._redraw = False
        #: Once set (leave()), no prompt is shown any more.
        self._left = False
        #: On a terminal: the prompt changed while a line was half typed.
        self._changed_under_typing = False
        self._hooked = False
        if self.tty:
            try:
                import readline  # noqa: F401  (stdlib; makes input() editable)

                self._readline = readline
            except ImportError:  # pragma: no cover - e.g. Windows without pyreadline
                self._readline = None
            if self._readline is not None and hasattr(self._readline, "set_pre_input_hook"):
                # Called by readline after it has drawn the prompt, before it reads.
                self._readline.set_pre_input_hook(self._prompt_drawn)
                self._hooked = True

    def _write(self, text: str) -> None:
        try:
            self.out.write(text)
            self.out.flush()
        except (BrokenPipeError, ValueError):
            pass  # nobody is reading any more; keep going quietly
        if text:
            self._at_line_start = text.endswith("\n")

    def _fresh_line(self) -> str:
        return "" if self._at_line_start else "\n"

    def line(self, text: str) -> None:
        """Prints ``text`` as a line of its own, keeping any prompt below it."""
        with self.lock:
            if self._reading and self.tty:
                buf = self._readline.get_line_buffer() if self._readline else ""
                self._write("\r\x1b[K" + text + "\n" + self._prompt + buf)
            elif self._reading:
                self._write(self._fresh_line() + text + "\n" + self._prompt)
            elif self._pending:
                # input() runs, but readline may or may not have drawn the
                # prompt: clear the line (the prompt if it is there, an empty
                # line if not) and let _prompt_drawn draw the prompt again.
                self._write(self._fresh_line() + "\r\x1b[K" + text + "\n")
                self._redraw = True
            else:
                self._write(self._fresh_line() + text + "\n")

    def set_prompt(self, prompt: str) -> None:
        """Changes the prompt; if one is showing it is replaced at once."""
        with self.lock:
            if prompt == self._prompt:
                return
            self._prompt = prompt
            if self._pending:
                self._redraw = True  # input() draws the old one: _prompt_drawn replaces it
            if not self._reading:
                return
            if self.tty:
                buf = self._readline.get_line_buffer() if self._readline else ""
                if buf:
                    self._changed_under_typing = True
                self._write("\r\x1b[K" + prompt + buf)
            else:
                self._write("\n" + prompt)

    def _prompt_drawn(self) -> None:
        """readline's pre-input hook: input() has drawn the prompt and is about to read."""
        with self.lock:
            if not self._pending:
                return
            self._pending = False
            if self._left:
                return
            self._reading = True
            self._at_line_start = False
            if self._redraw:
                self._redraw = False
                self._write("\r\x1b[K" + self._prompt)

    def read(self, prompt: str) -> Optional[str]:
        """Shows ``prompt`` and returns the line typed (without newline), or None at EOF.

        Raises KeyboardInterrupt after interrupt() (and on Ctrl-C).
        """
        with self.lock:
            self._begin_read(prompt)
        if self.tty:
            return self._read_tty(prompt)
        try:
            text = self._read_pipe_line()
        except BaseException:
            with self.lock:
                self._reading = False
            raise
        with self.lock:
            self._reading = False
            if self._left:
                raise KeyboardInterrupt  # leaving: no echo after the last line
            self._write("\n" if text is None else text + "\n")  # echo, as a terminal would
        return text

    def _begin_read(self, prompt: str) -> None:
        """Sets up the state for reading a line at ``prompt``; self.lock is held."""
        if self._left or self._interrupted.is_set():
            raise KeyboardInterrupt
        self._prompt = prompt
        self._changed_under_typing = False
        if not self.tty:
            self._reading = True
            self._write(self._fresh_line() + prompt)
        elif self._hooked:
            # The prompt shows only once readline has drawn it (_prompt_drawn):
            # a line printed before that must not draw it too.
            self._pending, self._redraw = True, False
        else:  # pragma: no cover - a readline without the hook
            self._reading = True
            self._at_line_start = False  # input() shows the prompt

    def _read_tty(self, prompt: str) -> Optional[str]:
        """read() on a terminal: input() until a line is typed under the prompt showing."""
        while True:
            try:
                text = input(prompt)
            except EOFError:
                text = None  # the cursor stays after the prompt
            finally:
                with self.lock:
                    self._reading = self._pending = self._redraw = False
                    changed, self._changed_under_typing = self._changed_under_typing, False
            if text is None:
                return None
            with self.lock:
                self._at_line_start = True  # the terminal echoed Enter
                if self._left:
                    raise KeyboardInterrupt
                if not changed or not text.strip():
                    return text
                # Begun as the answer to the previous prompt: not used.
                self._write(
                    f"{TAG} The prompt changed while you were typing, so \"{quote(text)}\" was not used.\n"
                )
                prompt = self._prompt
                self._begin_read(prompt)

    def leave(self, text: str) -> None:
        """Prints ``text`` as the last line: no prompt is shown after it any more.

        The caller then makes the main thread leave (interrupt()).
        """
        with self.lock:
            showing = self._reading or self._pending
            self._left = True
            self._reading = self._pending = self._redraw = False
            if self.tty and showing:
                self._write("\r\x1b[K" + text + "\n")  # over the prompt and what was typed
            else:
                self._write(self._fresh_line() + text + "\n")

    def _read_pipe_line(self) -> Optional[str]:
        """Reads one line from a pipe or file, or None at end of input.

        It blocks in select() until stdin or the wake-up pipe is readable; it
        raises KeyboardInterrupt after interrupt() (a signal's own handler
        raises it when select() returns).
        """
        fd = self.inp.fileno()
        while b"\n" not in self._buffered:
            if self._interrupted.is_set():
                raise KeyboardInterrupt
            ready, _, _ = select.select([fd, self._wake_r], [], [])
            if self._wake_r in ready:
                os.read(self._wake_r, 4096)  # drain; the loop checks why we woke
                continue
            chunk = os.read(fd, 65536)
            if not chunk:  # end of input: a last line without newline still counts
                line, self._buffered = self._buffered, b""
                return line.decode("utf-8", errors="replace").rstrip("\r") if line else None
            self._buffered += chunk
        line, _, self._buffered = self._buffered.partition(b"\n")
        return line.decode("utf-8", errors="replace").rstrip("\r")

    def interrupt(self, main: threading.Thread, done: threading.Event) -> None:
        """Makes the main thread's read() raise KeyboardInterrupt; callable from any thread."""
        if not self.tty:
            self._interrupted.set()
            try:
                os.write(self._wake_w, b"\0")
            except BlockingIOError:
                pass  # the pipe is full: the reader is awake already
            return
        interrupt_main(main, done)

    def finish(self) -> None:
        """Ends the output on a fresh line (after a prompt at exit, say)."""
        with self.lock:
            if not self._at_line_start:
                self._write("\n")


class ChatApp:
    """The terminal conversation of one user: choose a partner, chat, react to events.

    The main thread reads what the user types (:meth:`run`); an
    :class:`InboxFollower` thread hands over what arrives (:meth:`on_message`).
    Both change the state below under ``console.lock``, so a line from the
    server never cuts into the lines a command prints.

    A typed line the server cannot take for now waits in :attr:`outbox`, and
    so does every line typed after it, in order (see :meth:`hold`): the
    server is unreachable (the outbox is sent when the inbox follower
    reconnects, and tried again after a growing pause meanwhile), or it paces
    the user's sends (tried again after exactly the wait it asks for). One
    worker thread, the outbox's timer, runs only while the outbox holds
    lines; each wait is one ``Event.wait`` of the pause, woken early by a
    reconnection or by leaving, never a poll.

    Every line is sealed for its receiver (:attr:`e2e`, set up by
    :meth:`start` with the key directory ``key_dir``, default the one of the
    first server and the user). A line for a user who has no key yet waits in
    the key directory's outbox.json instead, and so does every later line for
    them (:attr:`key_wait`), until their key arrives (a
    ``MESSAGE_TYPE_KEY_PUBLISHED`` event, or the next start).

    The partner may be a group (:attr:`in_group`): lines are then posts,
    sealed with the user's sender key for it (``E2E.prepare_post``), and the
    prompt is ``[alice@team] > ``. :attr:`groups` are the groups the user is
    in, from Login and then from the ``MESSAGE_TYPE_GROUP_CHANGED`` events;
    other members' sender keys arrive as ``MESSAGE_TYPE_GROUP_KEY`` events. A
    member who had no key when the user's sender key was made gets it when
    their ``MESSAGE_TYPE_KEY_PUBLISHED`` event comes (``E2E.share_owed_keys``);
    a post whose sender key has not come yet waits for it in :attr:`keyless`
    (one line says so) and shows when it does.
    """

    def __init__(
        self,
        client: SpartanClient,
        console: Console,
        server: str,
        give_up: float,
        key_dir: Optional[str] = None,
    ):
        self.client = client
        self.console = console
        #: The --server argument: one HOST:PORT, or several, comma-separated.
        self.server = server
        #: The server the inbox stream was last connected to (of --server):
        #: a reconnection to another one says "Moved to ...".
        self.connected_to = getattr(client, "target", server)
        self.give_up = give_up
        self.me = client.user
        self.others: List[str] = []
        #: The user (or group, when in_group) typed lines go to; None while choosing.
        self.partner: Optional[str] = None
        #: The partner is a group.
        self.in_group = False
        #: The groups the user is a member of, as far as we know.
        self.groups: set = set()
        #: (group, member) pairs told of as unable to read the user's posts
        #: (no key yet): each told once a run.
        self.unreadable: set = set()
        #: Users who asked to chat and wait for an answer, oldest first.
        self.requests: List[str] = []
        #: Users we chat with or have asked (their chat requests are accepted silently).
        self.partners: set = set()
        #: The other users who have a stream open, as far as we know.
        self.online: set = set()
        #: Typed lines not sent yet, oldest first, with their receivers and ids.
        self.outbox: Deque[Queued] = collections.deque()
        self._outbox_worker: Optional[threading.Thread] = None
        #: Wakes the outbox worker before its pause ends (reconnected, or leaving).
        self._outbox_wake = threading.Event()
        #: The outbox's episode, from a line that had to wait until it is empty
        #: again (all under console.lock): the worker's next pause, the last
        #: pause while unreachable (0: none yet), how many waiting lines went,
        #: and which notes were given (each once an episode).
        self._retry_in = OUTBOX_RETRY_MIN
        self._backoff = 0.0
        self._flushed = 0
        self._pacing = False
        self._unreachable = False
        #: Set once leaving: nothing more is sent.
        self._closing = False
        self.exit_code = 0
        self._fatal = False
        self._main = threading.main_thread()
        #: Set once the main thread has stopped reading input and is leaving.
        self.leaving = threading.Event()
        self.follower: Optional[InboxFollower] = None
        #: --key-dir, or None for the default one (see start()).
        self.key_dir = key_dir
        #: The key directory and the encryption, once start() has opened them.
        self.keys: Optional[KeyStore] = None
        self.e2e: Optional[E2E] = None
        #: The longest text that fits a message once sealed (from Login); None: not known.
        self.max_text: Optional[int] = None
        #: The longest text that fits a group post once sealed (from Login); None: not known.
        self.max_post: Optional[int] = None
        #: Users whose messages wait in outbox.json for their key; each told once per wait.
        self.key_wait: set = set()
        #: Group posts from the stream whose sender key has not come yet, by
        #: (group, sender), oldest first (at most KEYLESS_MAX each): shown when
        #: a GROUP_KEY event from that sender for that group opens them.
        self.keyless: Dict[Tuple[str, str], Deque[pb.Message]] = {}

    # -- output helpers --------------------------------------------------------

    def say(self, text: str) -> None:
        """Prints a ``[Spartan]`` line."""
        self.console.line(f"{TAG} {text}")

    def prompt(self) -> str:
        """The prompt for the current state."""
        if self.partner:
            return f"[{self.me}@{self.partner}] > " if self.in_group else f"[{self.me}] > "
        if self.requests:
            return (
                f"{TAG} {self.requests[0]} is requesting to chat with you. "
                "Enter 'yes' to accept or different user: "
            )
        return f"{TAG} Enter a user whom you want to chat with: "

    def remind(self, asker: str) -> None:
        """Says, while chatting, that ``asker`` waits for an answer."""
        self.say(
            f"{asker} is requesting to chat with you. "
            f"Type /chat {asker} to accept or /decline {asker} to decline."
        )

    # -- start and stop ----------------------------------------------------------

    def start(self) -> None:
        """Checks the user's name, opens the key directory, logs in, prints the
        greeting, publishes the user's key, sends what waited for a key that is
        there now and starts following the inbox. Raises UnknownUser (a name
        the server does not know: no key directory is made for it), SpartanError
        (the server cannot be reached, or refuses logging in) and KeyStoreError
        (the key directory cannot be used).

        Given several servers, it asks the first that answers: one that cannot
        be reached (UNAVAILABLE) moves the client to the next, each tried once.
        Logging in is unnoticed: the first call that needs a session (Login)
        signs the server's challenge with the directory's log-in key.
        """
        users = self.anywhere(self.client.list_users)
        if self.me not in users:
            raise UnknownUser(self.me, users)
        self.open_keys(self.me)
        login = self.login_anywhere()
        if login.max_message_bytes:
            self.max_text = max_text(login.max_message_bytes)
            self.max_post = max_post(login.max_message_bytes)
        self.others = list(login.others)
        self.groups = set(login.groups)
        self.requests = list(login.chat_requests)
        self.online = set(login.online)
        self.connected_to = getattr(self.client, "target", self.server)
        port = self.connected_to.rpartition(":")[2]
        self.say(f"Connected to Spartan Server at port {port}.")
        self.say("User list: " + ",".join(self.others))
        with self.console.lock:
            self.publish_key()
            self.resume_held()
        # Set before it starts: on_reconnected reads the follower's server.
        self.follower = InboxFollower(
            self.client,
            self.on_message,
            on_lost=self.on_lost,
            on_reconnected=self.on_reconnected,
            on_give_up=self.on_give_up,
            give_up=self.give_up,
        )
        self.follower.start()

    def open_keys(self, user: str) -> None:
        """Opens the key directory (--key-dir, or the default one of the first
        server and ``user``), sets up the encryption and logs in with the
        directory's log-in key from now on. Raises KeyStoreError."""
        directory = self.key_dir or default_key_dir(split_targets(self.server)[0], user)
        self.keys = KeyStore.open(directory, user)
        self.e2e = E2E(self.client, self.keys, self.key_changed)
        self.client.use_signer(self.keys.signing_key)

    def login_anywhere(self) -> pb.LoginResponse:
        """Login on the current server, or on the next ones in turn while they cannot be reached."""
        return self.anywhere(self.client.login)

    def anywhere(self, call: Callable[[], T]) -> T:
        """``call()`` on the current server, or on the next ones in turn while they cannot be reached."""
        tries = len(getattr(self.client, "targets", ())) or 1
        for left in range(tries - 1, -1, -1):
            try:
                return call()
            except SpartanError as err:
                # The client has moved on to the next server (see SpartanClient).
                if err.code != grpc.StatusCode.UNAVAILABLE or not left:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def run(self) -> int:
        """Reads and handles lines until /quit, EOF, Ctrl-C or a lost server; returns the exit code."""
        try:
            while True:
                with self.console.lock:
                    prompt = self.prompt()
                line = self.console.read(prompt)
                if line is None or not self.handle(line):
                    break
        except KeyboardInterrupt:
            pass  # Ctrl-C, or the follower gave up (exit_code says which)
        return self.exit_code

    def close(self) -> None:
        """Says what was not sent, stops the follower (acknowledging what was
        shown) and closes the connection."""
        with self.console.lock:
            self._closing = True
            self.report_unsent()
        self._outbox_wake.set()
        if self.follower is not None:
            self.follower.stop(ack=not self._fatal)
        self.console.finish()
        self.client.close()

    # -- what the user types ------------------------------------------------------

    def handle(self, line: str) -> bool:
        """Handles one typed line (without its line ending); returns False to leave.

        A message is sent exactly as typed, spaces and all; commands, names
        and answers are read without leading and trailing spaces, and a line
        of spaces is ignored.
        """
        stripped = line.strip()
        if not stripped:
            return True
        if stripped.startswith("/"):
            return self.command(stripped)
        with self.console.lock:
            if self.partner:
                self.send(line)
            elif self.requests:
                self.answer(stripped)
            else:
                self.choose(stripped)
        return True

    def command(self, line: str) -> bool:
        """Runs a slash command; returns False for /quit."""
        name, _, arg = line.partition(" ")
        arg = arg.strip()
        if name in ("/quit", "/exit"):
            return False
        with self.console.lock:
            if name == "/help":
                self.console.line(HELP)
            elif name == "/users":
                self.show_users()
            elif name == "/chat":
                self.chat_with(arg)
            elif name == "/groups":
                self.list_groups()
            elif name == "/group":
                self.group_command(arg)
            elif name == "/members":
                self.members(arg)
            elif name == "/leave":
                self.leave(arg)
            elif name == "/decline":
                self.decline(arg)
            elif name == "/history":
                self.show_history(arg)
            elif name == "/whois":
                self.whois(arg)
            else:
                self.say(f"Unknown command {name}. Type /help for the commands.")
        return True

    def check_user(self, name: str) -> bool:
        """Says what is wrong with ``name`` as a partner and returns False, or returns True."""
        if not name:
            self.say("Name a user: /chat USER.")
            return False
        if name == self.me:
            self.say("You cannot chat with yourself. User list: " + ",".join(self.others))
            return False
        return self.check_known(name)

    def check_known(self, name: str) -> bool:
        """Says that there is no user ``name`` and returns False, or returns True."""
        if name != self.me and name not in self.others:
            self.say(f'There is no user named "{name}". User list: ' + ",".join(self.others))
            return False
        return True

    def choose(self, name: str) -> None:
        """At the choose prompt: start chatting with ``name``, a user or a group."""
        self.chat_with(name)

    def chat_with(self, name: str) -> None:
        """/chat NAME, or a name typed at the choose prompt: a group of the
        user's, or a user to chat with."""
        if name in self.groups:
            self.open_group(name)
        elif self.check_user(name):
            self.start_chat(name)

    def answer(self, line: str) -> None:
        """At the request prompt: 'yes' accepts, 'no' declines (unless a user is
        named so), another user declines and asks that user."""
        asker = self.requests[0]
        if line.lower() in ("yes", "y") or line == asker:
            self.start_chat(asker)
            return
        declining = line.lower() == "no" and line not in self.others
        if not declining and not self.check_user(line):
            return
        try:
            self.client.answer_chat(asker, accept=False)
        except SpartanError as err:
            self.say(f"Could not decline {asker}'s request: {describe(err)}.")
            return
        self.requests.remove(asker)
        if declining:
            # The next prompt (the next request, or choosing) follows from run().
            self.say(f"You declined {asker}'s chat request.")
            return
        self.start_chat(line)

    def decline(self, name: str) -> None:
        """/decline USER: declines USER's chat request."""
        if not name:
            self.say("Name a user: /decline USER.")
            return
        if not self.check_known(name):
            return
        self.refresh_requests()
        not_asked = f"{name} has not asked to chat with you."
        if name not in self.requests:
            self.say(not_asked)
            return
        try:
            self.client.answer_chat(name, accept=False)
        except SpartanError as err:
            if err.code == grpc.StatusCode.FAILED_PRECONDITION:  # answered elsewhere meanwhile
                self.requests.remove(name)
                self.say(not_asked)
            else:
                self.say(f"Could not decline {name}'s request: {describe(err)}.")
            return
        self.requests.remove(name)
        self.say(f"You declined {name}'s chat request.")

    def start_chat(self, peer: str) -> None:
        """Makes ``peer`` the partner: accepts their request if they asked, else asks them."""
        if peer in self.requests:
            try:
                self.client.answer_chat(peer, accept=True)
            except SpartanError as err:
                self.say(f"Could not accept {peer}'s request: {describe(err)}.")
                return
            online = peer in self.online
        else:
            try:
                online = self.client.request_chat_response(peer).peer_online
            except SpartanError as err:
                self.say(f"Could not ask {peer} to chat: {describe(err)}.")
                return
            (self.online.add if online else self.online.discard)(peer)
        if peer in self.requests:
            self.requests.remove(peer)
        self.partners.add(peer)
        self.partner, self.in_group = peer, False
        self.say(f"You are now ready to chat with {peer}.")
        if self.key_missing(peer):
            self.say(no_key(peer))  # a user without a key has never connected with an encrypting client
        elif not online:
            self.say(f"{peer} is offline; your messages will wait for them.")
        # A request shown earlier may have been answered since (on another client).
        self.refresh_requests()
        for asker in self.requests:
            self.remind(asker)

    def refresh_requests(self) -> None:
        """Brings the waiting requests up to date from Login.

        Requests answered meanwhile go; new ones are added after the known
        ones, except a partner's (on_message accepts those). Who is online
        comes from the stream alone (see note_presence).
        """
        try:
            login = self.client.login()
        except SpartanError:
            return  # cannot tell: keep what we know
        waiting = list(login.chat_requests)
        kept = [u for u in self.requests if u in waiting]
        self.requests = kept + [u for u in waiting if u not in kept and u not in self.partners]

    # -- sending and the outbox ------------------------------------------------------

    SENT, DROPPED, RETRY, NO_KEY = "sent", "dropped", "retry", "no key"

    def send(self, text: str) -> None:
        """Sends a typed line to the partner, or queues it behind lines that wait.

        A line too long to fit a message once sealed is refused here, and
        nothing is sent. The line gets its client message id here, once: see
        :class:`Queued`.
        """
        size = len(text.encode("utf-8", errors="surrogatepass"))
        limit = self.max_post if self.in_group else self.max_text
        if limit is not None and size > limit:
            self.say(f"Not sent: the message is {size} bytes; the limit is {limit}.")
            return
        self.enqueue(Queued(self.partner, text, new_message_id(), group=self.in_group))

    def enqueue(self, line: Queued) -> str:
        """Sends ``line``, or queues it behind what waits: for its receiver's key
        (on disk), or for the server (the outbox, in memory). Returns what
        became of it: SENT, DROPPED (said why), RETRY (in the outbox) or
        NO_KEY (in outbox.json)."""
        if self.waits_for_key(line):
            self.hold_for_key(line)
            return self.NO_KEY
        if self.outbox:
            self.outbox.append(line)  # in order, behind the others
            return self.RETRY
        result = self.deliver(line)
        if result == self.RETRY:
            self.outbox.append(line)
            self._start_outbox_worker()
        elif result == self.NO_KEY:
            self.hold_for_key(line)
        return result

    def waits_for_key(self, line: Queued) -> bool:
        """Whether ``line`` goes to a user whose key it waits for (in outbox.json)."""
        return not line.group and line.receiver in self.key_wait

    def hold(self, err: SpartanError) -> bool:
        """Whether a line that failed with ``err`` waits in the outbox; if so, when to try again.

        The server paces the user's sends (RESOURCE_EXHAUSTED with a retry
        delay: the rate limit): the outbox is tried again after exactly that
        delay. The server is unreachable or failed on its side (RETRYABLE):
        tried again after 1, 2, 4, then 5 seconds. Either says why, once an
        episode (until the outbox is empty again). A refusal of the line
        itself (too big, too many waiting for an answer) does not wait: it
        is the user's to hear. As the Go CLI's hold().
        """
        if err.code == grpc.StatusCode.RESOURCE_EXHAUSTED and err.retry_delay is not None:
            if not self._pacing:
                self._pacing = True
                self.say(f"The server is pacing your messages ({limit_of(err)}); the rest follow in order.")
            self._retry_in = err.retry_delay
            return True
        if err.code in RETRYABLE:
            if not self._unreachable:
                self._unreachable = True
                self.say(
                    "Not sent yet: the server is unreachable. "
                    "What you type waits and is sent, in order, when it is back."
                )
            self._backoff = min(max(self._backoff * 2, OUTBOX_RETRY_MIN), OUTBOX_RETRY_MAX)
            self._retry_in = self._backoff
            return True
        return False

    def deliver(self, line: Queued) -> str:
        """Seals and sends one line; returns SENT, DROPPED (refused, and said
        why), RETRY (see hold()) or NO_KEY (its receiver has no key yet).

        If the server no longer knows the conversation (it lost its data:
        FAILED_PRECONDITION to a partner), it asks the partner again once and
        sends the line once more. Every attempt carries the line's id. A held
        line that was sent, or refused for good, leaves outbox.json.
        """
        result = self._deliver(line)
        if result in (self.SENT, self.DROPPED):
            self.sent(line)
        return result

    def _deliver(self, line: Queued) -> str:
        """The attempts of deliver(); what follows for outbox.json is deliver()'s."""
        receiver = line.receiver
        try:
            return self.transmit(line)
        except SpartanError as err:
            failure = err
        if self.hold(failure):
            return self.RETRY
        lost = not line.group and self.lost_chat(receiver, failure)
        if failure.code == grpc.StatusCode.FAILED_PRECONDITION and lost:
            try:
                resp = self.client.request_chat_response(receiver)
            except SpartanError as err:
                if self.hold(err):
                    return self.RETRY
            else:
                (self.online.add if resp.peer_online else self.online.discard)(receiver)
                self.say(f"The server had lost your chat with {receiver}; asked {receiver} again.")
                try:
                    return self.transmit(line)
                except SpartanError as err:
                    if self.hold(err):
                        return self.RETRY
                    failure = err
        self.say(f"Not sent: {describe(failure)}.")
        return self.DROPPED

    def transmit(self, line: Queued) -> str:
        """One attempt: seals ``line`` and sends it. Returns SENT, NO_KEY, or
        DROPPED (the receiver's key cannot be used or recorded: said why);
        raises SpartanError when the server refused or could not be reached."""
        try:
            if line.group:
                self.post(line)
            else:
                self.e2e.send_text(line.receiver, line.text, client_msg_id=line.msg_id)
        except NoKeyError:
            return self.NO_KEY
        except (KeyStoreError, ValueError) as err:
            self.say(f"Not sent: {err}.")
            return self.DROPPED
        return self.SENT

    def post(self, line: Queued) -> None:
        """Seals ``line`` for its group and posts it; tells once of each member
        who cannot read it yet (before the post goes, so even if it fails)."""
        group = line.receiver
        sealed = self.e2e.prepare_post(group, line.text, line.msg_id)
        for member in sealed.unreadable:
            if (group, member) not in self.unreadable:
                self.unreadable.add((group, member))
                self.say(
                    f"{member} has not set up encryption yet and cannot read your posts to {group} until they connect."
                )
        self.client.post_payload(group, sealed.payload, pb.ENCRYPTION_E2E, line.msg_id)

    # -- messages that wait for a key (outbox.json) ---------------------------------------

    def hold_for_key(self, line: Queued) -> None:
        """Keeps ``line`` in outbox.json until its receiver has a key; says so
        once per wait. console.lock is held."""
        to = line.receiver
        if not line.held:
            try:
                self.keys.hold(Waiting(to, line.msg_id, line.text))
            except KeyStoreError as err:
                self.say(f"Not sent: {to} has not set up encryption yet, and the message could not be kept: {err}.")
                return
        if to not in self.key_wait:
            self.key_wait.add(to)
            self.say(no_key(to))

    def key_missing(self, user: str) -> bool:
        """Whether ``user`` has no key, so that messages to them wait in
        outbox.json; it learns their key when there is one, and checks a key on
        file against the server's (a warning if it changed). console.lock is held."""
        if user in self.key_wait:
            return True
        if self.e2e is None:
            return False
        if self.keys.contact(user) is not None:
            # The key on file may be old: a peer who set up Spartan again while
            # the two were not chatting was announced to nobody here. Asking at
            # the chat's start warns of a change (key_changed, through refresh);
            # failing to ask leaves the key on file.
            try:
                self.e2e.refresh(user)
            except (NoKeyError, SpartanError, KeyStoreError, ValueError):
                pass
            return False
        try:
            self.e2e.refresh(user)
        except NoKeyError:
            self.key_wait.add(user)
            return True
        except (SpartanError, KeyStoreError, ValueError):
            pass  # the first send will tell
        return False

    def drop_held(self, user: str) -> None:
        """``user`` declined the chat: what waited for their key will not be sent."""
        self.key_wait.discard(user)
        if self.keys is None:
            return
        held = self.keys.waiting(user)
        for w in held:
            self.sent(Queued(w.to, w.text, w.client_msg_id, held=True))
        if held:
            verb = "was" if len(held) == 1 else "were"
            what = plural(len(held), "message that waited", "messages that waited")
            self.say(f"{what} for {user}'s key {verb} not sent.")

    def sent(self, line: Queued) -> None:
        """A line the server took, or refused for good, no longer waits in outbox.json."""
        if not line.held:
            return
        try:
            self.keys.release(line.msg_id)
        except KeyStoreError as err:
            self.say(f"A sent message stays in {self.keys.dir}: {err}.")

    def resume_held(self) -> None:
        """At start: sends what an earlier run kept in outbox.json for a user who
        has a key now, and says how many wait for each of the others."""
        users: List[str] = []
        for w in self.keys.waiting():
            if w.to not in users:
                users.append(w.to)
        for user in users:
            self.key_wait.add(user)
            if self.fetch_key(user, quiet=True):
                self.release_held(user)
                continue
            n = len(self.keys.waiting(user))
            verb = "waits" if n == 1 else "wait"
            self.say(f"{plural(n, 'message', 'messages')} to {user} {verb} until {user} sets up encryption.")

    def release_held(self, user: str) -> None:
        """Sends, in order, what waits in outbox.json for ``user``'s key, and says
        how many went (or wait for the server now: they go in order with the
        outbox); one the server refuses is said so instead. console.lock is held."""
        if user not in self.key_wait:
            return
        self.key_wait.discard(user)
        went = 0
        for w in self.keys.waiting(user):
            if self.enqueue(Queued(w.to, w.text, w.client_msg_id, held=True)) != self.DROPPED:
                went += 1
        if went:
            self.say(f"{user} has set up encryption; sent {plural(went, 'waiting message', 'waiting messages')}.")

    def fetch_key(self, user: str, quiet: bool = False) -> bool:
        """Asks the server for ``user``'s key and records it (warning if it
        changed); returns whether ``user`` has one. A failure other than "no
        key" is said, unless ``quiet``."""
        try:
            self.e2e.refresh(user)
            return True
        except NoKeyError:
            return False
        except (SpartanError, KeyStoreError, ValueError) as err:
            if not quiet:
                self.say(f"Could not get {user}'s key: {describe(err)}.")
            return False

    def key_published(self, user: str) -> None:
        """A MESSAGE_TYPE_KEY_PUBLISHED event: ``user`` has a new key. It is
        checked against the one trusted (a warning if it changed), and what
        waited for it is sent."""
        try:
            self.e2e.refresh(user)
        except NoKeyError:
            return  # replaced since by a server that lost it: the next event brings it
        except (SpartanError, KeyStoreError, ValueError) as err:
            self.say(f"Could not get {user}'s new key: {describe(err)}.")
            return
        self.release_held(user)
        # Group keys made for user before they had a key (or this one) go to
        # them now, so they can read what was posted meanwhile.
        try:
            self.e2e.share_owed_keys(user)
        except (SpartanError, KeyStoreError, ValueError) as err:
            self.say(f"Could not send {user} your group keys: {describe(err)}; they go with your next post.")

    def publish_key(self) -> None:
        """Publishes the user's key: at start, and after every reconnection (a
        server that lost its data lost the key too; the same key again costs
        nothing)."""
        try:
            self.e2e.publish()
        except SpartanError as err:
            self.say(f"Could not publish your encryption key: {describe(err)}; others cannot write to you until it is.")

    def key_changed(self, change: KeyChange) -> None:
        """Warns that a contact's key changed (E2E's on_key_change)."""
        user = change.user
        with self.console.lock:
            self.say(
                f"WARNING: {user}'s encryption key has changed (was {key_fingerprint(change.old)}, "
                f"now {key_fingerprint(change.new)}). {user} may have set up Spartan again, or someone may be "
                f"trying to read your messages: compare fingerprints with {user} (/whois {user}) "
                "before you share anything secret."
            )

    def whois(self, user: str) -> None:
        """/whois [USER]: a user's key fingerprint, as the server has it now, or one's own."""
        if not user or user == self.me:
            self.say(f"Your key fingerprint: {self.e2e.fingerprint()}.")
            return
        if not self.check_known(user):
            return
        try:
            key = self.e2e.refresh(user)
        except NoKeyError:
            self.say(f"{user} has not set up encryption yet.")
            return
        except (SpartanError, KeyStoreError, ValueError) as err:
            self.say(f"Could not get {user}'s key: {describe(err)}.")
            return
        contact = self.keys.contact(user)
        seen = local_date(contact.first_seen) if contact is not None else "now"
        self.say(f"{user}'s key fingerprint: {key_fingerprint(key)} (first seen {seen}).")
        self.release_held(user)  # if messages waited for it, unseen (see on_reconnected)

    def render(self, msg: pb.Message) -> str:
        """The line that shows a text message: ``[bob] text`` once opened
        (``[bob@team] text`` for a post to a group), ``[bob] (not encrypted)
        text`` for plaintext, or a ``[Spartan] WARNING`` in its place when it
        cannot be opened."""
        try:
            return self.render_or_raise(msg)
        except NoGroupKeyError as err:
            sender = f"{msg.sender}@{msg.group}"
            return f"{TAG} WARNING: a message from {sender} could not be decrypted: {describe(err)}."

    def render_or_raise(self, msg: pb.Message) -> str:
        """As :meth:`render`, but a group post whose sender key has not reached
        this client raises NoGroupKeyError instead of giving its warning."""
        sender = f"{msg.sender}@{msg.group}" if msg.group else msg.sender
        try:
            opened = self.e2e.open(msg) if self.e2e is not None else open_plaintext(msg)
        except NoGroupKeyError:
            raise
        except e2e.UnknownScheme:
            return (
                f"{TAG} WARNING: a message from {sender} uses an encryption scheme this client "
                "does not know; update Spartan to read it."
            )
        except (e2e.NotAuthentic, NoKeyError):
            return f"{TAG} WARNING: a message from {sender} could not be decrypted: it was altered, or sealed with another key."
        except (SpartanError, KeyStoreError, ValueError) as err:
            return f"{TAG} WARNING: a message from {sender} could not be decrypted: {describe(err)}."
        text = display_text(opened.payload)
        return f"[{sender}] (not encrypted) {text}" if opened.plain else f"[{sender}] {text}"

    def lost_chat(self, receiver: str, err: SpartanError) -> bool:
        """Whether a FAILED_PRECONDITION sending to ``receiver`` means the server lost the chat.

        We chose to chat with them, so the server knew the conversation; unless
        they declined (their decline may not have reached our stream yet).
        """
        # SendMsg answers FAILED_PRECONDITION both when the server has no
        # record of the chat ("alice has not asked bob to chat yet": it lost
        # its data) and when the receiver declined it ("bob declined alice's
        # chat request"), and only the server's sentence tells the two apart.
        # After a decline, asking again would push on bob a request he has
        # just refused and queue the line for him: it is reported as not sent
        # instead, and the CHAT_DECLINED event, which may still be on its way
        # to our stream, ends the chat.
        return receiver in self.partners and "declined" not in err.details

    def _start_outbox_worker(self) -> None:
        """Starts the outbox worker unless it runs; console.lock is held."""
        if self._outbox_worker is not None or self._closing:
            return
        self._outbox_wake.clear()
        self._outbox_worker = threading.Thread(target=self._outbox_loop, name="spartan-outbox", daemon=True)
        self._outbox_worker.start()

    def _outbox_loop(self) -> None:
        """The outbox worker: waits the pause hold() set (or until woken), sends; until the outbox is empty."""
        while True:
            with self.console.lock:
                pause = self._retry_in
            woken = self._outbox_wake.wait(pause)
            self._outbox_wake.clear()
            with self.console.lock:
                if woken:
                    self._backoff = 0.0  # reconnected: if it fails again, wait from the first pause
                if not self._closing:
                    self.flush_outbox()
                if self._closing or not self.outbox:
                    self._outbox_worker = None
                    return

    def flush_outbox(self) -> None:
        """Sends the waiting lines in order until one has to wait again; console.lock is held.

        Once the outbox is empty it says how many waiting lines went in the
        whole episode (not in this flush alone), and the episode ends: the
        next line that has to wait gives its note again.
        """
        while self.outbox and not self._closing:
            line = self.outbox[0]
            result = self.NO_KEY if self.waits_for_key(line) else self.deliver(line)
            if result == self.RETRY:
                return
            self.outbox.popleft()
            if result == self.NO_KEY:
                self.hold_for_key(line)
            elif result == self.SENT:
                self._flushed += 1
        if self.outbox:
            return  # leaving
        if self._flushed:
            self.say(f"Sent {plural(self._flushed, 'waiting message', 'waiting messages')}.")
        self._flushed, self._backoff, self._retry_in = 0, 0.0, OUTBOX_RETRY_MIN
        self._pacing = self._unreachable = False

    def report_unsent(self) -> None:
        """Leaving: says how many typed lines were not sent, and forgets them."""
        if self.outbox:
            n = len(self.outbox)
            self.say(f"{plural(n, 'message you typed was', 'messages you typed were')} not sent.")
            self.outbox.clear()

    # -- groups -------------------------------------------------------------------------

    def open_group(self, name: str) -> None:
        """Makes the group ``name`` the one typed lines go to."""
        try:
            group = self.client.get_group(name)
        except SpartanError as err:
            self.group_failed(name, err)
            return
        self.partner, self.in_group = name, True
        self.say(f"You are now in {name}: {', '.join(group.members)}.")
        for asker in self.requests:
            self.remind(asker)

    def group_failed(self, name: str, err: SpartanError) -> None:
        """Says why opening the group ``name`` failed; a group the user is no
        longer in (or that is gone) leaves :attr:`groups`."""
        if err.code in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.PERMISSION_DENIED):
            self.groups.discard(name)
        self.say(f"Could not open {name}: {describe(err)}.")

    def list_groups(self) -> None:
        """/groups: the user's groups and their members."""
        try:
            groups = self.client.list_groups()
        except SpartanError as err:
            self.say(f"No groups: {describe(err)}.")
            return
        self.groups = {g.name for g in groups}
        if not groups:
            self.say("You are in no group. /group create NAME USER... makes one.")
            return
        self.say("Your groups: " + ", ".join(f"{g.name} ({', '.join(g.members)})" for g in groups) + ".")

    def group_command(self, arg: str) -> None:
        """/group create NAME USER... and /group add NAME USER."""
        words = arg.split()
        if len(words) >= 2 and words[0] == "create":
            name, members = words[1], words[2:]
            try:
                group = self.client.create_group(name, members)
            except SpartanError as err:
                self.say(f"Could not make the group {name}: {describe(err)}.")
                return
            self.groups.add(group.name)
            self.say(f"{self.me} made the group {name}: {', '.join(group.members)}.")
        elif len(words) == 3 and words[0] == "add":
            name, member = words[1], words[2]
            try:
                self.client.add_member(name, member)
            except SpartanError as err:
                self.say(f"Could not add {member} to {name}: {describe(err)}.")
                return
            self.say(f"{self.me} added {member} to {name}.")
        else:
            self.say("Use /group create NAME USER... or /group add NAME USER.")

    def group_arg(self, name: str, command: str) -> Optional[str]:
        """The group a command names, or the one chatted in; None (and a hint) if neither."""
        if not name and self.in_group:
            name = self.partner or ""
        if not name:
            self.say(f"Name a group: {command} NAME.")
            return None
        return name

    def members(self, arg: str) -> None:
        """/members [NAME]: a group's members, in the order they joined."""
        name = self.group_arg(arg, "/members")
        if name is None:
            return
        try:
            group = self.client.get_group(name)
        except SpartanError as err:
            self.say(f"No members: {describe(err)}.")
            return
        self.say(f"Members of {name}: {', '.join(group.members)}.")

    def leave(self, arg: str) -> None:
        """/leave [NAME]: leaves a group (the one chatted in, by default)."""
        name = self.group_arg(arg, "/leave")
        if name is None:
            return
        try:
            self.client.leave_group(name)
        except SpartanError as err:
            self.say(f"Could not leave {name}: {describe(err)}.")
            return
        self.say(f"{self.me} left {name}.")
        self.left_group(name)

    def left_group(self, name: str) -> None:
        """Forgets the group ``name``, which the user is no longer in; if it
        was open, back to choosing (or to the oldest request)."""
        self.groups.discard(name)
        if self.in_group and self.partner == name:
            self.partner, self.in_group = None, False
            self.console.set_prompt(self.prompt())

    def group_changed(self, msg: pb.Message) -> None:
        """A MESSAGE_TYPE_GROUP_CHANGED event: says what changed (unless the user
        did it: the command said so) and follows the user's membership."""
        if msg.sender != self.me:
            self.say(msg.note)
        try:
            group = self.client.get_group(msg.group)
        except SpartanError as err:
            if err.code in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.PERMISSION_DENIED):
                self.left_group(msg.group)
            return
        if self.me in group.members:
            self.groups.add(msg.group)

    def group_key(self, msg: pb.Message) -> None:
        """A MESSAGE_TYPE_GROUP_KEY event: takes in a member's sender key, silently;
        one that cannot be read is warned of."""
        try:
            self.e2e.accept_group_key(msg)
        except NoKeyError:
            why = f"{msg.sender} has not set up encryption yet"
        except (e2e.E2EError, SpartanError, KeyStoreError, ValueError) as err:
            why = describe(err)
        else:
            self.show_keyless(msg.group, msg.sender)
            return
        self.say(
            f"WARNING: {msg.sender}'s key for {msg.group} could not be read ({why}); their posts there will not show."
        )

    def show_text(self, msg: pb.Message) -> None:
        """Shows a text message from the stream; a group post sealed with a
        sender key that has not come yet waits for it in :attr:`keyless`
        instead, told once (per group and sender) while any wait: the sender's
        client sends the key when it sees the user's identity key."""
        try:
            line = self.render_or_raise(msg)
        except NoGroupKeyError:
            pair = (msg.group, msg.sender)
            kept = self.keyless.get(pair)
            if not kept:
                self.say(
                    f"A post from {msg.sender}@{msg.group} waits for {msg.sender}'s key; it will show when the key arrives."
                )
                kept = self.keyless[pair] = collections.deque(maxlen=KEYLESS_MAX)
            kept.append(msg)
            return
        self.console.line(line)

    def show_keyless(self, group: str, sender: str) -> None:
        """Shows, in order, the posts of :attr:`keyless` from ``sender`` in
        ``group`` that open now that a key of theirs came; any sealed with
        another key still missing wait on, quietly."""
        kept = self.keyless.pop((group, sender), None)
        if not kept:
            return
        still: Deque[pb.Message] = collections.deque(maxlen=KEYLESS_MAX)
        for msg in kept:
            try:
                self.console.line(self.render_or_raise(msg))
            except NoGroupKeyError:
                still.append(msg)
        if still:
            self.keyless[(group, sender)] = still

    # -- other commands ----------------------------------------------------------------

    def show_users(self) -> None:
        """Prints the other users, and who of them is online."""
        self.say("User list: " + ",".join(self.others))
        online = [u for u in self.others if u in self.online]
        if online:
            self.say("Online now: " + ",".join(online) + ".")
        else:
            self.say("Nobody else is online.")

    def show_history(self, arg: str) -> None:
        """Prints the last N messages with the partner."""
        try:
            if arg and not re.fullmatch(r"[+-]?[0-9]+", arg):
                raise ValueError  # as strconv.Atoi: int() would take "1_000" or "٣" too
            count = int(arg) if arg else HISTORY_DEFAULT
            if count < 1:
                raise ValueError
        except ValueError:
            self.say(f'/history takes a number of messages (1 or more), not "{arg}".')
            return
        if not self.partner:
            self.say("Pick a user first: /history shows the conversation with the user you chat with.")
            return
        try:
            if self.in_group:
                messages = self.client.last_posts(self.partner, count)
            else:
                messages = self.client.last_messages(self.partner, count)
        except SpartanError as err:
            self.say(f"No history: {describe(err)}.")
            return
        if not messages:
            self.say(f"No messages with {self.partner} yet.")
            return
        if len(messages) == 1:
            self.say(f"The last message with {self.partner}:")
        else:
            self.say(f"The last {len(messages)} messages with {self.partner}:")
        for msg in messages:
            self.console.line(self.render(msg))

    # -- what arrives -------------------------------------------------------------

    def on_message(self, msg: pb.Message) -> None:
        """Shows one message from the inbox stream (follower thread)."""
        with self.console.lock:
            kind = msg.type
            if kind == pb.MESSAGE_TYPE_TEXT:
                self.show_text(msg)
            elif kind == pb.MESSAGE_TYPE_KEY_PUBLISHED:
                self.key_published(msg.sender)
            elif kind == pb.MESSAGE_TYPE_GROUP_CHANGED:
                self.group_changed(msg)
            elif kind == pb.MESSAGE_TYPE_GROUP_KEY:
                self.group_key(msg)
            elif kind == pb.MESSAGE_TYPE_PRESENCE:
                self.note_presence(msg.sender, msg.online)
            elif kind == pb.MESSAGE_TYPE_CHAT_REQUEST:
                asker = msg.sender
                if asker in self.requests:
                    return  # already shown (Login listed it too)
                if not self.still_asking(asker):
                    return  # a replayed request that was answered already (declined, say)
                if asker in self.partners:
                    # We chose to chat with them already and they ask again
                    # (the server lost its state): accepting reconnects the two.
                    try:
                        self.client.answer_chat(asker, accept=True)
                    except SpartanError:
                        pass
                    return
                self.requests.append(asker)
                if self.partner:
                    self.remind(asker)
                elif len(self.requests) > 1:
                    # The user is answering an earlier request: say so at once;
                    # this one's prompt comes once that is answered.
                    self.say(f"{asker} is requesting to chat with you too; answer {self.requests[0]} first.")
                else:
                    self.console.set_prompt(self.prompt())
            elif kind == pb.MESSAGE_TYPE_CHAT_ACCEPTED:
                self.partners.add(msg.sender)
                self.say(f"{msg.sender} accepted your chat request.")
            elif kind == pb.MESSAGE_TYPE_CHAT_DECLINED:
                self.partners.discard(msg.sender)
                self.say(msg.note or f"{msg.sender} declined your chat request.")
                self.drop_held(msg.sender)
                if self.partner == msg.sender:
                    self.partner = None
                    self.console.set_prompt(self.prompt())
            elif msg.note:
                # A system notice (the server lost the messages it had
                # stored, say), or a type this client does not know.
                self.say(msg.note)

    def note_presence(self, user: str, online: bool) -> None:
        """Records whether ``user`` is online; says so if the partner's state changed.

        Every stream, the first and each one after a reconnection, starts
        with one PRESENCE event for every other user, online or not, then
        sends one per change: the stream alone keeps :attr:`online` up to
        date (Login's list only seeds it at start), so a partner who came or
        went while the connection was down is announced once, from the new
        stream's first events, and nothing is said when nothing changed.
        """
        was = user in self.online
        if online:
            self.online.add(user)
        else:
            self.online.discard(user)
        if user != self.partner or was == online:
            return
        if online:
            self.say(f"{user} is online.")
        else:
            self.say(f"{user} is offline; your messages will wait for them.")

    def still_asking(self, asker: str) -> bool:
        """Whether ``asker``'s request still waits for an answer, as the server says.

        The stream replays requests the user may have answered since Login
        listed them; only one that is still pending is shown.
        """
        try:
            return asker in self.client.login().chat_requests
        except SpartanError:
            return True  # cannot tell: better to ask than to miss a request

    def on_lost(self, err: SpartanError) -> None:
        """The stream dropped; the follower retries."""
        self.say("Lost connection to Spartan Server; reconnecting...")

    def on_reconnected(self) -> None:
        """The follower reached the server again (or another of --server):
        publish the user's key again, send what waits.

        When that server is another than the one before, it says "Moved to
        ..." instead of "Reconnected.". Who came or went meanwhile arrives as
        the new stream's first events. A user whose messages wait for a key
        may have published one meanwhile, unseen (a server that lost its data
        lost the conversation that would have told us): their key is asked
        for again.
        """
        with self.console.lock:
            server = getattr(self.follower, "server", None) or self.connected_to
            if server != self.connected_to:
                self.connected_to = server
                self.say(f"Moved to Spartan Server at {server}.")
            else:
                self.say("Reconnected.")
            if self.e2e is not None:
                self.publish_key()
                for user in sorted(self.key_wait):
                    if self.fetch_key(user, quiet=True):
                        self.release_held(user)
            if self.outbox:
                self._outbox_wake.set()

    def on_give_up(self, err: SpartanError) -> None:
        """The follower cannot go on: say why and make the main thread leave with status 1."""
        if err.permanent:
            text = f"Spartan Server is gone: {describe(err)}."
        else:
            servers = split_targets(self.server)
            where = servers[0] if len(servers) == 1 else "any of " + ", ".join(servers)
            text = f"Spartan Server is gone: no answer from {where} for {self.give_up:g} seconds ({err})."
        with self.console.lock:
            self.exit_code = EXIT_SERVER
            self._fatal = True
            self._closing = True
            self.report_unsent()
            self.console.leave(f"{TAG} {text}")  # the last line: no prompt after it
        self._outbox_wake.set()
        self.console.interrupt(self._main, self.leaving)


def plural(n: int, one: str, many: str) -> str:
    """``1 one`` or ``n many``."""
    return f"{n} {one if n == 1 else many}"


def limit_of(err: SpartanError) -> str:
    """The limit a pacing refusal states ("alice may send 15 messages a second"), without its wait."""
    text, sep, _ = err.details.partition("; try again")
    return text if sep and text else err.details


def quote(text: str) -> str:
    """At most the first QUOTE_CHARS characters of a typed line, for a sentence about it."""
    text = printable(text)
    return text if len(text) <= QUOTE_CHARS else text[:QUOTE_CHARS] + "\u2026"


def describe(err: Exception) -> str:
    """The human part of an error (an RPC's, or another), as the Go CLI words it."""
    if getattr(err, "code", None) == grpc.StatusCode.UNAVAILABLE:
        if tls_failed(err):
            return f"the TLS handshake failed ({err})"
        return f"the server is unreachable ({err})"
    return str(err)


def tls_failed(err: Exception) -> bool:
    """Whether a call failed in the TLS handshake (a certificate not trusted, a
    server that does not speak TLS) rather than finding no server."""
    return getattr(err, "code", None) == grpc.StatusCode.UNAVAILABLE and "handshake failed" in str(err).lower()


def go_quote(text: str) -> str:
    """``text`` in double quotes, with quotes, backslashes and control characters
    escaped (as Go's %q, which the server's sentences use for a name)."""
    return json.dumps(text, ensure_ascii=False)


#: Control characters (Unicode category Cc: C0, DEL, C1) but tab, as printable():
#: a newline shows as U+21B5, the others as U+FFFD.
_CONTROLS = {c: "\ufffd" for c in (*range(0x20), 0x7F, *range(0x80, 0xA0)) if c != 0x09}
_CONTROLS[0x0A] = "\u21b5"


def printable(text: str) -> str:
    """Makes a message safe to print on a terminal, as the Go CLI does.

    A sender must not be able to clear the screen, move the cursor or forge a
    ``[Spartan]`` line: a newline shows as ↵ and any other control character
    but tab as U+FFFD. Everything else (emoji, CJK, ...) is left alone.
    """
    return text.translate(_CONTROLS)


def no_key(user: str) -> str:
    """The sentence that says messages to ``user`` wait for their key."""
    return f"{user} has not set up encryption yet; your messages will be sent when {user} connects."


def display_text(payload: bytes) -> str:
    """A message's plaintext for display (see printable()); bytes that are not
    UTF-8 are said to be so."""
    try:
        return printable(bytes(payload).decode("utf-8"))
    except UnicodeDecodeError:
        return f"({len(payload)} bytes that are not text)"


def key_fingerprint(public: bytes) -> str:
    """A public key's fingerprint (spartan_e2e's), or "(not a key)"."""
    try:
        return e2e.fingerprint(public)
    except ValueError:
        return "(not a key)"


def local_date(when: datetime.datetime) -> str:
    """A UTC datetime's date in the local time zone (YYYY-MM-DD), as /whois shows it."""
    try:
        return when.astimezone().date().isoformat()
    except (OverflowError, ValueError, OSError):
        return when.date().isoformat()


def interrupt_main(main: threading.Thread, done: threading.Event) -> None:
    """Raises KeyboardInterrupt in the main thread while it waits in input().

    A signal that arrives just before readline blocks can go unnoticed, so it
    is sent again (a bounded number of times, only while leaving) until
    ``done`` is set (the main thread is leaving).
    """
    for _ in range(20):
        if done.is_set() or main.ident is None or not main.is_alive():
            return
        try:
            signal.pthread_kill(main.ident, signal.SIGINT)
        except (AttributeError, OSError):  # pragma: no cover - platforms without pthread_kill
            import _thread

            _thread.interrupt_main()
        if done.wait(0.5):
            return


def normalise_server(server: str) -> str:
    """Adds the default port to a HOST without one, to each of a comma-separated list."""
    if "," in server:
        return ",".join(normalise_server(s) for s in split_targets(server))
    if server.endswith("]") or ":" not in server:
        return f"{server}:{DEFAULT_SERVER.rpartition(':')[2]}"
    return server


def parse_args(argv: Optional[List[str]]) -> argparse.Namespace:
    """Parses the command line."""
    parser = argparse.ArgumentParser(prog="client.py", description="Spartan Messenger terminal client.")
    parser.add_argument("user", help="the user to log in as, e.g. alice")
    parser.add_argument(
        "--server",
        default=DEFAULT_SERVER,
        metavar="HOST:PORT[,HOST:PORT...]",
        help=f"the server's HOST:PORT (default {DEFAULT_SERVER}); several, comma-separated, "
        "name servers of one cluster: the first that answers is used, the next ones in turn when it is lost",
    )
    parser.add_argument(
        "--key-dir",
        metavar="DIR",
        help="the directory of your encryption keys (default: one per server and user in your config "
        "directory, e.g. ~/.config/spartan/localhost_3000/alice)",
    )
    parser.add_argument(
        "--give-up",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="leave if the server cannot be reached again within this many seconds (default 30)",
    )
    parser.add_argument("--tls", action="store_true", help="talk to the server over TLS")
    parser.add_argument(
        "--ca",
        metavar="FILE",
        help="with --tls: the PEM certificate(s) to trust instead of the system's (implies --tls)",
    )
    return parser.parse_args(argv)


def read_ca(path: str) -> bytes:
    """The PEM certificates of ``--ca``; raises ValueError with the sentence to show."""
    try:
        with open(path, "rb") as f:
            pem = f.read()
    except OSError as err:
        raise ValueError(f"Cannot read the --ca file {path}: {err.strerror or err}") from None
    if b"-----BEGIN CERTIFICATE-----" not in pem:
        raise ValueError(f"The --ca file {path} holds no PEM certificate")
    return pem


def login_failed(server: str, err: SpartanError) -> int:
    """Says on stderr why logging in failed and returns the exit status, as the Go CLI:
    a refusal is "Cannot log in" (2), anything else "Cannot connect" (1)."""
    if err.code in REFUSED:
        print(f"{TAG} Cannot log in: {err.details}.", file=sys.stderr)
        return EXIT_USAGE
    hint = "Is the server running?"
    if tls_failed(err):
        hint = "Is it a TLS server whose certificate you trust (--ca FILE)?"
    print(f"{TAG} Cannot connect to Spartan Server at {server}: {describe(err)}. {hint}", file=sys.stderr)
    return EXIT_SERVER


def main(argv: Optional[List[str]] = None, console_factory: Callable[[], Console] = Console) -> int:
    """Runs the client; returns the process exit status."""
    if threading.current_thread() is threading.main_thread():
        # Ctrl-C must leave even when we were started with SIGINT ignored: a
        # shell starting a background job (`client.py alice &`, or a script
        # or CI runner that does so) sets it to SIG_IGN, and Python then
        # keeps it ignored instead of installing its KeyboardInterrupt
        # handler, so Ctrl-C (or `kill -INT`) would do nothing at all. Put
        # Python's own handler back before anything else.
        signal.signal(signal.SIGINT, signal.default_int_handler)
    args = parse_args(argv)
    server = normalise_server(args.server)
    try:
        ca = read_ca(args.ca) if args.ca else None
    except ValueError as err:
        print(f"{TAG} {err}.", file=sys.stderr)
        return EXIT_USAGE
    client = SpartanClient(server, args.user, tls=args.tls, root_certificates=ca)
    console = console_factory()
    app = ChatApp(client, console, server, args.give_up, args.key_dir)
    try:
        try:
            app.start()
        except UnknownUser as err:
            print(f"{TAG} {err}", file=sys.stderr)
            return EXIT_USAGE
        except SpartanError as err:
            return login_failed(server, err)
        except KeyStoreError as err:
            print(f"{TAG} Cannot use your encryption keys: {err}.", file=sys.stderr)
            return EXIT_KEYS
        return app.run()
    except KeyboardInterrupt:
        return app.exit_code
    finally:
        # A second Ctrl-C while closing must not print a traceback.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        app.leaving.set()
        app.close()


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # Ctrl-C between the handlers above
        sys.exit(0)
    except BrokenPipeError:
        # stdout went away: leave without the interpreter's complaint.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
