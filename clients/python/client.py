#!/usr/bin/env python3
"""Spartan Messenger's terminal client.

    python3 client.py alice [--server HOST:PORT] [--give-up SECONDS]

It logs in, lists the other users, lets the user pick someone to chat with (or
answer someone's chat request) and then sends every typed line to that
partner, printing what arrives as ``[sender] text``. Commands start with a
slash: /chat NAME, /users, /history [N], /help, /quit (or Ctrl-D).

The protocol lives in :mod:`spartan_client`; this module is only the terminal
user interface: :class:`Console` (prompts and asynchronous lines that do not
mangle what the user is typing) and :class:`ChatApp` (what the user sees and
does).
"""

from __future__ import annotations

import argparse
import os
import re
import select
import signal
import sys
import threading
from typing import Callable, List, Optional, TextIO

import grpc

from spartan_client import (
    DEFAULT_SERVER,
    InboxFollower,
    SpartanClient,
    SpartanError,
    pb,
)

TAG = "[Spartan]"
HISTORY_DEFAULT = 20
HELP = (
    f"{TAG} Commands: /chat USER switches to USER, /history [N] shows the last N messages "
    f"(default {HISTORY_DEFAULT}),\n"
    f"{TAG} /users lists the users, /help shows this, /quit (or Ctrl-D) leaves."
)

#: Exit statuses, as the Go CLI's.
EXIT_OK, EXIT_SERVER, EXIT_USAGE = 0, 1, 2


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
            if self._left or self._interrupted.is_set():
                raise KeyboardInterrupt
            self._prompt = prompt
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
        if self.tty:
            try:
                text = input(prompt)
            except EOFError:
                text = None  # the cursor stays after the prompt
            finally:
                with self.lock:
                    self._reading = self._pending = self._redraw = False
            if text is not None:
                with self.lock:
                    self._at_line_start = True  # the terminal echoed Enter
                    if self._left:
                        raise KeyboardInterrupt
            return text
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
    """

    def __init__(self, client: SpartanClient, console: Console, server: str, give_up: float):
        self.client = client
        self.console = console
        self.server = server
        self.give_up = give_up
        self.me = client.user
        self.others: List[str] = []
        #: The user typed lines go to; None while choosing.
        self.partner: Optional[str] = None
        #: Users who asked to chat and wait for an answer, oldest first.
        self.requests: List[str] = []
        #: Users we chat with or have asked (their chat requests are accepted silently).
        self.partners: set = set()
        self.exit_code = 0
        self._fatal = False
        self._main = threading.main_thread()
        #: Set once the main thread has stopped reading input and is leaving.
        self.leaving = threading.Event()
        self.follower: Optional[InboxFollower] = None

    # -- output helpers --------------------------------------------------------

    def say(self, text: str) -> None:
        """Prints a ``[Spartan]`` line."""
        self.console.line(f"{TAG} {text}")

    def prompt(self) -> str:
        """The prompt for the current state."""
        if self.partner:
            return f"[{self.me}] > "
        if self.requests:
            return (
                f"{TAG} {self.requests[0]} is requesting to chat with you. "
                "Enter 'yes' to accept or different user: "
            )
        return f"{TAG} Enter a user whom you want to chat with: "

    # -- start and stop ----------------------------------------------------------

    def start(self) -> None:
        """Logs in, prints the greeting and starts following the inbox. Raises SpartanError."""
        login = self.client.login()
        self.others = list(login.others)
        self.requests = list(login.chat_requests)
        port = self.server.rpartition(":")[2]
        self.say(f"Connected to Spartan Server at port {port}.")
        self.say("User list: " + ",".join(self.others))
        self.follower = InboxFollower(
            self.client,
            self.on_message,
            on_lost=self.on_lost,
            on_reconnected=self.on_reconnected,
            on_give_up=self.on_give_up,
            give_up=self.give_up,
        ).start()

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
        """Stops the follower (acknowledging what was shown) and closes the connection."""
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
                if self.check_user(arg):
                    self.start_chat(arg)
            elif name == "/history":
                self.show_history(arg)
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
        if name not in self.others:
            self.say(f'There is no user named "{name}". User list: ' + ",".join(self.others))
            return False
        return True

    def choose(self, name: str) -> None:
        """At the choose prompt: start chatting with ``name``."""
        if self.check_user(name):
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

    def start_chat(self, peer: str) -> None:
        """Makes ``peer`` the partner: accepts their request if they asked, else asks them."""
        if peer in self.requests:
            try:
                self.client.answer_chat(peer, accept=True)
            except SpartanError as err:
                self.say(f"Could not accept {peer}'s request: {describe(err)}.")
                return
        else:
            try:
                self.client.request_chat(peer)
            except SpartanError as err:
                self.say(f"Could not ask {peer} to chat: {describe(err)}.")
                return
        if peer in self.requests:
            self.requests.remove(peer)
        self.partners.add(peer)
        self.partner = peer
        self.say(f"You are now ready to chat with {peer}.")
        for asker in self.requests:
            self.say(f"{asker} is requesting to chat with you. Type /chat {asker} to accept.")

    def send(self, text: str) -> None:
        """Sends a typed line to the partner."""
        try:
            self.client.send(self.partner, text)
        except SpartanError as err:
            self.say(f"Not sent: {describe(err)}.")

    def show_users(self) -> None:
        """Prints the other users."""
        self.say("User list: " + ",".join(self.others))

    def show_history(self, arg: str) -> None:
        """Prints the last N messages with the partner."""
        try:
            if arg and not re.fullmatch(r"[+-]?[0-9]+", arg):
                raise ValueError  # as strconv.Atoi: int() would take "1_000" or "٣" too
            count = int(arg) if arg else HISTORY_DEFAULT
            if count < 1:
                raise ValueError
        except ValueError:
            self.say(f'/history takes a number of messages, not "{arg}".')
            return
        if not self.partner:
            self.say("Pick a user first: /history shows the conversation with the user you chat with.")
            return
        try:
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
            self.console.line(f"[{msg.sender}] {display(msg)}")

    # -- what arrives -------------------------------------------------------------

    def on_message(self, msg: pb.Message) -> None:
        """Shows one message from the inbox stream (follower thread)."""
        with self.console.lock:
            kind = msg.type
            if kind == pb.MESSAGE_TYPE_TEXT:
                self.console.line(f"[{msg.sender}] {display(msg)}")
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
                    self.say(f"{asker} is requesting to chat with you. Type /chat {asker} to accept.")
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
                if self.partner == msg.sender:
                    self.partner = None
                    self.console.set_prompt(self.prompt())
            elif msg.note:  # a system notice, or a type this client does not know
                self.say(msg.note)

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
        """The follower reached the server again."""
        self.say("Reconnected.")

    def on_give_up(self, err: SpartanError) -> None:
        """The follower cannot go on: say why and make the main thread leave with status 1."""
        if err.permanent:
            text = f"Spartan Server is gone: {describe(err)}."
        else:
            text = f"Spartan Server is gone: no answer from {self.server} for {self.give_up:g} seconds ({err})."
        with self.console.lock:
            self.exit_code = EXIT_SERVER
            self._fatal = True
            self.console.leave(f"{TAG} {text}")  # the last line: no prompt after it
        self.console.interrupt(self._main, self.leaving)


def describe(err: SpartanError) -> str:
    """The human part of an RPC error, as the Go CLI words it."""
    if err.code == grpc.StatusCode.UNAVAILABLE:
        return f"the server is unreachable ({err})"
    return str(err)


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


def display(msg: pb.Message) -> str:
    """A text message's payload for display (see printable())."""
    if msg.encryption not in (pb.ENCRYPTION_PLAINTEXT, pb.ENCRYPTION_UNSPECIFIED):
        return f"({len(msg.payload)} bytes this client cannot decrypt)"
    try:
        return printable(bytes(msg.payload).decode("utf-8"))
    except UnicodeDecodeError:
        return f"({len(msg.payload)} bytes that are not text)"


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
    """Adds the default port to a HOST without one."""
    if server.endswith("]") or ":" not in server:
        return f"{server}:{DEFAULT_SERVER.rpartition(':')[2]}"
    return server


def parse_args(argv: Optional[List[str]]) -> argparse.Namespace:
    """Parses the command line."""
    parser = argparse.ArgumentParser(prog="client.py", description="Spartan Messenger terminal client.")
    parser.add_argument("user", help="the user to log in as, e.g. alice")
    parser.add_argument(
        "--server", default=DEFAULT_SERVER, help=f"the server's HOST:PORT (default {DEFAULT_SERVER})"
    )
    parser.add_argument(
        "--give-up",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="leave if the server cannot be reached again within this many seconds (default 30)",
    )
    return parser.parse_args(argv)


def login_failed(client: SpartanClient, server: str, err: SpartanError) -> int:
    """Says on stderr why logging in failed and returns the exit status."""
    if err.code in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT):
        msg = f"{TAG} {err.details[:1].upper()}{err.details[1:]}."
        try:
            msg += " Users: " + ",".join(client.list_users())
        except SpartanError:
            pass
        print(msg, file=sys.stderr)
        return EXIT_USAGE
    print(
        f"{TAG} Cannot connect to Spartan Server at {server}: {describe(err)}. Is the server running?",
        file=sys.stderr,
    )
    return EXIT_SERVER


def main(argv: Optional[List[str]] = None, console_factory: Callable[[], Console] = Console) -> int:
    """Runs the client; returns the process exit status."""
    args = parse_args(argv)
    server = normalise_server(args.server)
    client = SpartanClient(server, args.user)
    console = console_factory()
    app = ChatApp(client, console, server, args.give_up)
    try:
        try:
            app.start()
        except SpartanError as err:
            return login_failed(client, server, err)
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
