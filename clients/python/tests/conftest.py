"""Fixtures for the Python client's tests: the built Go server and client processes.

The server is ``$TEST_SPARTAN_BIN/spartan-server`` (the absolute path of the
bin directory; ``$SPARTAN_BIN`` is read too, ``../../bin`` from here is the
fallback), started on a
free loopback port with a temporary configuration and stopped by PID. Client
processes (``client.py``, the Go CLI) are driven through pipes; every read
has a deadline, so a missing line fails the test instead of hanging it.

Keys: nothing a test runs writes to the real config directory. Every spawned
process gets ``XDG_CONFIG_HOME`` in the test's temporary directory, and
``client_py`` gives client.py ``--key-dir <tmp>/keys/<user>`` (:func:`key_dir`),
the directory the ``clients`` fixture's library clients use too: a user's
client.py and library client share one identity, as the Go CLI and client.py
of one user do. ``clients`` seal what they send (``plain_clients`` do not).

Logging in: every server the fixtures start requires it (``auth: {required:
true}``; a test passes ``auth="{required: false}"`` only where that is its
point). Library clients (``Server.client``, ``plain_clients``, ``clients``) log
in with the log-in key of ``key_dir(user)``, the one the user's client.py and
Go CLI use in the test, so all of a user's clients are one identity to the
server; raw stubs take a token from :func:`token_metadata`.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Dict, List, Optional

import pytest

HERE = Path(__file__).resolve().parent
PYDIR = HERE.parent
sys.path.insert(0, str(PYDIR))

import spartan_auth as _auth  # noqa: E402
from spartan_client import SpartanClient, SpartanError, log_in  # noqa: E402
from spartan_client import pb as _pb  # noqa: E402
from spartan_keystore import KeyStore, safe_name  # noqa: E402

MESSAGE_TYPE_PRESENCE = _pb.MESSAGE_TYPE_PRESENCE
#: The notice a stream starts with when the client's position is from an
#: epoch the server no longer has (internal/chat/epoch.go).
LOST_NOTE = "The server has lost the messages it had stored; any sent to you before it did are gone."

CLIENT_PY = PYDIR / "client.py"
USERS = ["alice", "bob", "charlie", "eve"]
#: How long one expected line may take to appear.
WAIT = 10.0


def bin_dir() -> Path:
    """The directory of the built binaries: $TEST_SPARTAN_BIN (what `make test-python`
    sets), else $SPARTAN_BIN, else ../../bin from here."""
    env = os.environ.get("TEST_SPARTAN_BIN") or os.environ.get("SPARTAN_BIN")
    return Path(env) if env else (PYDIR / ".." / ".." / "bin").resolve()


class Output:
    """Collects everything a pipe delivers, on a thread, for reads with deadlines."""

    def __init__(self, pipe, name: str):
        self.name = name
        self._pipe = pipe
        self._buf = ""
        self._closed = False
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._pump, name=f"pump-{name}", daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        fd = self._pipe.fileno()
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                chunk = b""
            with self._cond:
                if not chunk:
                    self._closed = True
                    self._cond.notify_all()
                    return
                self._buf += chunk.decode("utf-8", errors="replace")
                self._cond.notify_all()

    @property
    def text(self) -> str:
        """Everything read so far."""
        with self._cond:
            return self._buf

    def wait_for(self, pattern: "re.Pattern[str]", start: int, timeout: float) -> Optional["re.Match[str]"]:
        """Waits until ``pattern`` matches at or after ``start``; None on timeout or EOF."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                m = pattern.search(self._buf, start)
                if m:
                    return m
                left = deadline - time.monotonic()
                if left <= 0 or self._closed:
                    return None
                self._cond.wait(left)

    def join(self, timeout: float = 5.0) -> None:
        """Waits for the pump thread to reach end of file."""
        self._thread.join(timeout)

    def wait_closed(self, timeout: float) -> bool:
        """Waits for end of file."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not self._closed:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
            return True


class Proc:
    """A child process driven through stdin/stdout pipes.

    ``expect(text)`` waits for ``text`` in stdout after the previous match, so
    a sequence of ``expect`` calls checks order. Prompts (which end without a
    newline) are matched too.
    """

    def __init__(self, argv: List[str], name: str, env: Optional[Dict[str, str]] = None, **popen):
        self.name = name
        self.argv = argv
        self.popen = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=str(PYDIR),
            **popen,
        )
        self.out = Output(self.popen.stdout, f"{name}.stdout")
        self.err = Output(self.popen.stderr, f"{name}.stderr")
        self.pos = 0

    @property
    def pid(self) -> int:
        return self.popen.pid

    def describe(self) -> str:
        return (
            f"--- {self.name} stdout ---\n{self.out.text}\n"
            f"--- {self.name} stderr ---\n{self.err.text}\n--- end ---"
        )

    def expect(self, text: str, timeout: float = WAIT, regex: bool = False) -> "re.Match[str]":
        """Waits for ``text`` (or a regex) after the previous match and moves past it."""
        pattern = re.compile(text if regex else re.escape(text))
        m = self.out.wait_for(pattern, self.pos, timeout)
        if m is None:
            pytest.fail(f"{self.name}: no {text!r} within {timeout}s after offset {self.pos}\n{self.describe()}")
        self.pos = m.end()
        return m

    def expect_lines(self, *texts: str, timeout: float = WAIT) -> None:
        """Expects every text in order."""
        for text in texts:
            self.expect(text, timeout)

    def send(self, line: str) -> None:
        """Types a line."""
        self.popen.stdin.write((line + "\n").encode())
        self.popen.stdin.flush()

    def close_stdin(self) -> None:
        """Ends the input (Ctrl-D)."""
        try:
            self.popen.stdin.close()
        except BrokenPipeError:
            pass

    def wait(self, timeout: float = WAIT) -> int:
        """Waits for the process to end and returns its status (fails the test on timeout)."""
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{self.name} did not exit within {timeout}s\n{self.describe()}")

    def stop(self) -> None:
        """Ends the process by PID if it still runs, and closes its pipes."""
        if self.popen.poll() is None:
            try:
                os.kill(self.popen.pid, signal.SIGTERM)
                self.popen.wait(5)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.kill(self.popen.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.popen.wait(5)
        self.out.join()
        self.err.join()
        for pipe in (self.popen.stdin, self.popen.stdout, self.popen.stderr):
            try:
                pipe.close()
            except OSError:
                pass


def expect_all(proc: Proc, *texts: str, timeout: float = WAIT) -> None:
    """Expects every text after the last match, in any order, and moves past the last of them."""
    start, end = proc.pos, proc.pos
    for text in texts:
        m = proc.out.wait_for(re.compile(re.escape(text)), start, timeout)
        if m is None:
            pytest.fail(f"{proc.name}: no {text!r} within {timeout}s\n{proc.describe()}")
        end = max(end, m.end())
    proc.pos = end


#: The send rate of a test server unless the test names one: generous, so that
#: bulk tests never meet the rate limit.
GENEROUS_RATE = "{calls: 100000, window_seconds: 1}"


#: Logging in, unless the test says otherwise: required, whatever the server's default.
AUTH_REQUIRED = "{required: true}"


def write_config(path: Path, users: List[str], **extra) -> Path:
    """Writes a server configuration (YAML) and returns its path.

    Every key of ``extra`` is a line ``key: value``; without a ``rate`` the
    send rate is GENEROUS_RATE (pass ``rate="{calls: 40, window_seconds: 1,
    burst: 10}"``, say, to meet the limit; ``rate=None``: the server's default),
    and without an ``auth`` logging in is required (AUTH_REQUIRED; ``auth="{required:
    false}"`` turns it off, ``auth=None`` leaves the server's default).
    """
    lines = ["users: [" + ", ".join(users) + "]"]
    extra.setdefault("rate", GENEROUS_RATE)
    extra.setdefault("auth", AUTH_REQUIRED)
    for key, value in extra.items():
        if value is None:
            continue
        lines.append(f"{key}: {value}")
    path.write_text("\n".join(lines) + "\n")
    return path


def server_env() -> Dict[str, str]:
    """The environment for the server: ours without SPARTAN_* variables.

    The server reads every SPARTAN_* variable as configuration and refuses
    unknown keys, so a SPARTAN_BIN meant for the tests would stop it starting.
    """
    return {k: v for k, v in os.environ.items() if not k.startswith("SPARTAN_")}


class Server:
    """One spartan-server process on 127.0.0.1.

    ``keys_home`` is where its test keeps the users' key directories (see
    :func:`key_dir`): :meth:`client` logs in with the log-in key of the user's.
    ``ca`` is the PEM certificate of a TLS server, which its clients trust.
    """

    STARTED = re.compile(r"Spartan server started on port (\d+)\.\n")

    def __init__(
        self,
        binary: Path,
        config: Path,
        log: Path,
        port: int = 0,
        keys_home: Optional[Path] = None,
        ca: Optional[bytes] = None,
    ):
        self.binary = binary
        self.config = config
        self.log_path = log
        self.port = port
        self.keys_home = keys_home
        self.ca = ca
        self.proc: Optional[subprocess.Popen] = None
        self._log = None

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> "Server":
        """Starts the server and waits for its start-up line (on the same port after a restart)."""
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [str(self.binary), "-config", str(self.config), "-host", "127.0.0.1", "-port", str(self.port)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._log,
            env=server_env(),
            # Relative paths in the server's defaults (its store file, say) land
            # in this test's own directory, never in the source tree.
            cwd=str(self.config.parent),
        )
        out = self._out = Output(self.proc.stdout, "server.stdout")
        m = out.wait_for(self.STARTED, 0, WAIT)
        if m is None:
            self.stop()
            pytest.fail(f"the server did not start: stdout {out.text!r}\nlog:\n{self.log_path.read_text()}")
        self.port = int(m.group(1))
        return self

    def stop(self) -> Optional[int]:
        """Stops the server by PID (SIGTERM, then SIGKILL) and returns its status."""
        if self.proc is None:
            return None
        proc, self.proc = self.proc, None
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(5)
        self._out.join()
        proc.stdout.close()
        self._log.close()
        return proc.returncode

    def client(self, user: str) -> SpartanClient:
        """A library client of ``user``, which logs in with the key of the user's key directory."""
        return SpartanClient(
            self.target, user, timeout=WAIT, signer=self.signer(user), root_certificates=self.ca
        )

    def signer(self, user: str):
        """``user``'s log-in key: that of their key directory in this test (made on
        first use), or a fresh one when the server's test keeps none."""
        if self.keys_home is None:
            return _auth.generate_signing_key()
        return KeyStore.open(self.keys_home / safe_name(user), user).signing_key

    def run(self, *args: str) -> subprocess.CompletedProcess:
        """Runs the server's binary with this server's configuration and ``args``
        (``-reset-key bob``, say), in its directory, and returns what it did."""
        return subprocess.run(
            [str(self.binary), "-config", str(self.config), *args],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            env=server_env(),
            cwd=str(self.config.parent),
            timeout=WAIT,
        )


@pytest.fixture(scope="session")
def spartan_bin() -> Path:
    """The bin directory; fails clearly when the server is not built."""
    path = bin_dir()
    if not (path / "spartan-server").is_file():
        pytest.fail(f"{path / 'spartan-server'} does not exist: run `make build` first (or set TEST_SPARTAN_BIN)")
    return path


@pytest.fixture
def start_server(spartan_bin, tmp_path):
    """Returns start(users=USERS, ca=None, **config) -> Server; every server is stopped at the end.

    ``config`` keys are top-level keys of the server's YAML (``rate`` replaces
    the generous default, ``auth`` the required log-in: see write_config).
    ``ca``: the PEM certificate the server's clients trust (a TLS server's)."""
    servers: List[Server] = []

    def start(users: List[str] = USERS, ca: Optional[bytes] = None, **config) -> Server:
        home = tmp_path / f"server{len(servers)}"  # its own directory: its own store
        home.mkdir()
        cfg = write_config(home / "config.yaml", users, **config)
        binary = spartan_bin / "spartan-server"
        server = Server(binary, cfg, home / "server.log", keys_home=keys_home(tmp_path), ca=ca).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def free_port() -> int:
    """A loopback port nobody listens on (as far as the kernel can tell now)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """A real redis-server (the Debian package) on a free loopback port, as
    internal/redistest does for the Go tests: its own directory, nothing
    saved, stopped by PID."""

    def __init__(self, home: Path):
        self.home = home
        self.port = free_port()
        self.proc: Optional[subprocess.Popen] = None
        self._log = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "RedisServer":
        import shutil

        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server is not installed: `make test` installs it (apt-get install redis-server)")
        self._log = open(self.home / "redis.log", "ab")
        self.proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.home),
             "--save", "", "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning"],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=self._log,
        )
        deadline = time.monotonic() + WAIT
        while not self.ping():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                pytest.fail(f"redis-server on port {self.port} did not answer PING:\n"
                            f"{(self.home / 'redis.log').read_text()}")
            time.sleep(0.02)
        return self

    def ping(self) -> bool:
        import socket

        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as conn:
                conn.sendall(b"PING\r\n")
                return conn.recv(64).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        """Stops the server by PID and waits for it; calling it again does nothing."""
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        self._log.close()


@pytest.fixture
def redis_server(tmp_path) -> RedisServer:
    """A running redis-server of this test's own, stopped at the end."""
    home = tmp_path / "redis"
    home.mkdir()
    srv = RedisServer(home).start()
    yield srv
    srv.stop()


@pytest.fixture
def cluster(start_server, redis_server):
    """Returns start(n=2, users=USERS, **config) -> [Server]: n servers sharing
    one redis-server (store.kind redis): any of them serves any user."""

    def start(n: int = 2, users: List[str] = USERS, **config) -> List[Server]:
        config.setdefault("store", "{kind: redis}")
        config.setdefault("redis", f'{{url: "{redis_server.url}"}}')
        return [start_server(users, **config) for _ in range(n)]

    return start


def kill(server: Server) -> None:
    """Ends a server at once, as a crash would: SIGKILL by PID (stop() then only tidies up)."""
    os.kill(server.proc.pid, signal.SIGKILL)
    server.proc.wait(10)


@pytest.fixture
def server(start_server) -> Server:
    """A server with the users alice, bob, charlie and eve."""
    return start_server()


def keys_home(tmp_path: Path) -> Path:
    """The directory of a test's key directories, one per user (see key_dir)."""
    return tmp_path / "keys"


@pytest.fixture
def key_dir(tmp_path):
    """Returns dir(user) -> Path: the key directory of ``user`` in this test, the one
    ``client_py`` gives client.py (``--key-dir``) and ``clients`` use."""

    def dir_of(user: str) -> Path:
        return keys_home(tmp_path) / safe_name(user)

    return dir_of


#: Publishing a key fails for these without the test being wrong: an unknown
#: or empty user (a test of that error: logging in fails so), a server that is down.
_PUBLISH_MAY_FAIL = {"NOT_FOUND", "INVALID_ARGUMENT", "UNAVAILABLE"}


def token_metadata(stub, user: str, signer=None) -> tuple:
    """Logs ``user`` in on a raw stub with ``signer`` (default: a fresh Ed25519
    key, which the server takes if ``user`` has none yet) and returns the call
    metadata that carries the session token: ``stub.Login(req, metadata=...)``."""
    return log_in(stub, user, signer or _auth.generate_signing_key(), timeout=WAIT).metadata


@pytest.fixture
def plain_clients(server):
    """Returns make(user, srv=None) -> SpartanClient without keys (everything in
    plaintext) for the ``server`` fixture, or ``srv``; closes them at the end."""
    made: List[SpartanClient] = []

    def make(user: str, srv: Optional[Server] = None) -> SpartanClient:
        c = (srv or server).client(user)
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()


def with_keys(client: SpartanClient, directory: Path) -> SpartanClient:
    """Gives ``client`` the keys of ``directory`` (made on first use) and publishes
    its key; returns it. From then on it seals what it sends and opens what it
    gets (``client.open(msg).text``)."""
    client.use_keys(KeyStore.open(directory, client.user))
    try:
        client.publish_key()
    except SpartanError as err:
        if err.code.name not in _PUBLISH_MAY_FAIL:
            raise
    return client


@pytest.fixture
def clients(plain_clients, key_dir):
    """Returns make(user, srv=None) -> SpartanClient that seals what it sends and
    opens what it gets (``client.open(msg).text``), with ``key_dir(user)`` (the
    keys of the user's client.py in this test), its key published on creation."""

    def make(user: str, srv: Optional[Server] = None) -> SpartanClient:
        c = plain_clients(user, srv)
        return with_keys(c, key_dir(user)) if user else c

    return make


@pytest.fixture
def spawn(tmp_path):
    """Returns spawn(argv, name, **popen) -> Proc (``popen``: more subprocess.Popen
    arguments, preexec_fn say); every process is ended by PID at the end.

    Their ``XDG_CONFIG_HOME`` is ``<tmp>/config``: a client without ``--key-dir``
    keeps its keys there, never in the user's own config directory."""
    procs: List[Proc] = []
    config = tmp_path / "config"
    config.mkdir(exist_ok=True)
    env = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONDONTWRITEBYTECODE="1", XDG_CONFIG_HOME=str(config))

    def start(argv: List[str], name: str, **popen) -> Proc:
        proc = Proc(argv, name, env, **popen)
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        proc.stop()


@pytest.fixture
def client_py(spawn, key_dir):
    """Returns run(user, server, *args, keys=True, **popen) -> Proc running client.py.

    With ``keys`` (and no ``--key-dir`` in ``args``) client.py gets
    ``--key-dir key_dir(user)``; without, it uses its default directory
    (under the spawn fixture's XDG_CONFIG_HOME)."""

    def run(user: str, target: str, *args: str, keys: bool = True, **popen) -> Proc:
        extra = ["--key-dir", str(key_dir(user))] if keys and "--key-dir" not in args else []
        argv = [sys.executable, str(CLIENT_PY), user, "--server", target, *extra, *args]
        return spawn(argv, f"client.py {user}", **popen)

    return run


class Inbox:
    """A ReceiveMsg stream read on a thread into a queue, for reads with deadlines.

    Presence events (live only, seq 0) are left out unless ``presence`` is
    true, and so are MESSAGE_TYPE_KEY_PUBLISHED events (a client.py, or a
    ``clients`` client, publishes its key as it starts) unless ``key_events``
    is true.
    """

    def __init__(
        self, client: SpartanClient, seq: int = 0, presence: bool = False, epoch: str = "", key_events: bool = False
    ):
        import queue

        self.presence = presence
        self.key_events = key_events
        self._queue: "queue.Queue" = queue.Queue()
        self.sub = client.receive(seq, epoch)
        self.error = None
        self._thread = threading.Thread(target=self._pump, daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        try:
            for msg in self.sub:
                if msg.type == MESSAGE_TYPE_PRESENCE and not self.presence:
                    continue
                if msg.type == _pb.MESSAGE_TYPE_KEY_PUBLISHED and not self.key_events:
                    continue
                self._queue.put(msg)
        except Exception as err:  # noqa: BLE001 - handed to the test
            self.error = err
        self._queue.put(None)

    def take(self, n: int, timeout: float = WAIT) -> list:
        """Returns the next n messages; fails the test if they do not come in time."""
        import queue

        out = []
        deadline = time.monotonic() + timeout
        while len(out) < n:
            try:
                msg = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                pytest.fail(f"got {len(out)} of {n} messages within {timeout}s")
            if msg is None:
                pytest.fail(f"the stream ended after {len(out)} of {n} messages: {self.error!r}")
            out.append(msg)
        return out

    def quiet(self, timeout: float = 0.3) -> bool:
        """True if nothing more arrives within ``timeout`` (used only to check absence)."""
        import queue

        try:
            msg = self._queue.get(timeout=timeout)
        except queue.Empty:
            return True
        self._queue.put(msg)
        return False

    def end(self, timeout: float = WAIT):
        """Waits for the stream to end and returns its error."""
        import queue

        deadline = time.monotonic() + timeout
        while True:
            try:
                msg = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                pytest.fail(f"the stream did not end within {timeout}s")
            if msg is None:
                return self.error

    def cancel(self) -> None:
        self.sub.cancel()
        self._thread.join(5)


class GroupMember:
    """A library client (with keys) reading its group posts from an :class:`Inbox`:
    it takes in the sender keys that come (``MESSAGE_TYPE_GROUP_KEY``) and opens
    the posts, as a terminal client does. Every post read is kept in ``posts``."""

    def __init__(self, client: SpartanClient, ib: Inbox):
        self.client = client
        self.inbox = ib
        self.posts: List = []

    def read(self, n: int, timeout: float = WAIT) -> List[str]:
        """The next ``n`` posts, each as ``"sender: text"`` (``"sender: !error"``
        when it does not open); other events are passed over."""
        out: List[str] = []
        while len(out) < n:
            (msg,) = self.inbox.take(1, timeout)
            if msg.type == _pb.MESSAGE_TYPE_GROUP_KEY:
                self.client.e2e.accept_group_key(msg)
            elif msg.type == _pb.MESSAGE_TYPE_TEXT and msg.group:
                self.posts.append(msg)
                try:
                    out.append(f"{msg.sender}: {self.client.open(msg).text}")
                except Exception as err:  # noqa: BLE001 - shown to the test
                    out.append(f"{msg.sender}: !{err}")
        return out


def wait_online(observer: SpartanClient, *users: str, timeout: float = WAIT) -> None:
    """Waits until Login (as ``observer``) lists ``users`` online: their streams are open on the server."""
    deadline = time.monotonic() + timeout
    while not set(users) <= set(observer.login().online):
        if time.monotonic() > deadline:
            pytest.fail(f"{', '.join(users)} not online within {timeout}s")
        time.sleep(0.02)


@pytest.fixture
def inbox():
    """Returns open(client, seq=0, presence=False, epoch="", key_events=False) -> Inbox;
    every stream is cancelled at the end."""
    opened: List[Inbox] = []

    def open_(
        client: SpartanClient, seq: int = 0, presence: bool = False, epoch: str = "", key_events: bool = False
    ) -> Inbox:
        ib = Inbox(client, seq, presence, epoch, key_events)
        opened.append(ib)
        return ib

    yield open_
    for ib in opened:
        ib.cancel()
