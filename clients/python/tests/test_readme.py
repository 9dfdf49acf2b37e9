"""The README's examples run as written (against a test server)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from conftest import PYDIR, WAIT, GroupMember
from spartan_client import pb

README = PYDIR / "README.md"


def python_blocks() -> list:
    return re.findall(r"```python\n(.*?)```", README.read_text(), re.S)


def block_with(marker: str) -> str:
    """The README's one Python example that holds ``marker``."""
    found = [b for b in python_blocks() if marker in b]
    assert len(found) == 1, f"{len(found)} Python examples hold {marker!r}"
    return found[0]


def run_example(code: str, target: str, **env_vars: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(PYDIR), **env_vars)
    return subprocess.run(
        [sys.executable, "-c", code.replace("localhost:3000", target)],
        env=env,
        capture_output=True,
        text=True,
        timeout=WAIT,
    )


def test_send_example_sends_a_message(server, clients, tmp_path):
    """The first example logs in with the key of alice's default key directory
    (under XDG_CONFIG_HOME, here the test's own) and sends in plaintext."""
    example = block_with('alice.send("bob", "Hey Bob!")')
    assert len(example.strip().splitlines()) <= 13
    done = run_example(example, server.target, XDG_CONFIG_HOME=str(tmp_path / "xdg"))
    assert done.returncode == 0, done.stderr
    assert "others: bob, charlie, eve" in done.stdout
    assert "sent " in done.stdout
    bob = clients("bob")
    bob.answer_chat("alice")
    assert [m.payload for m in bob.history("alice").messages] == [b"Hey Bob!"]


def test_encrypted_send_example(server, clients, tmp_path):
    """The example with keys writes them under XDG_CONFIG_HOME (here the test's own);
    bob has a key, so the message goes sealed, and alice reads it back from History."""
    example = block_with("keys=keys")
    bob = clients("bob")  # publishes bob's key
    bob.request_chat("alice")  # so that alice's request accepts, and History has the message
    config = tmp_path / "xdg"
    done = run_example(example, server.target, XDG_CONFIG_HOME=str(config))
    assert done.returncode == 0, done.stderr
    assert done.stdout == "alice Hey Bob, sealed\n", done.stdout
    assert (config / "spartan" / f"127.0.0.1_{server.port}" / "alice" / "identity.json").is_file()
    (msg,) = bob.history("alice").messages
    assert (msg.encryption, bob.open(msg).text) == (pb.ENCRYPTION_E2E, "Hey Bob, sealed")
    # Without a key for the receiver, nothing is sent, and the example says so.
    done = run_example(example.replace("bob", "eve"), server.target, XDG_CONFIG_HOME=str(config))
    assert done.returncode == 0, done.stderr
    assert done.stdout == "eve has not set up encryption yet: nothing was sent\n", done.stdout


def test_group_example(server, clients, inbox, tmp_path):
    """The group example: bob has a key and reads the post; charlie has none and is named."""
    bob = clients("bob")
    bob_reads = GroupMember(bob, inbox(bob))
    done = run_example(block_with('alice.create_group("team"'), server.target, XDG_CONFIG_HOME=str(tmp_path / "xdg"))
    assert done.returncode == 0, done.stderr
    assert done.stdout == "cannot read it yet: charlie\n[alice@team] Hello, team!\n", done.stdout
    assert bob_reads.read(1) == ["alice: Hello, team!"]


def test_raw_stub_example(server, tmp_path):
    """The raw stubs: ListUsers without a session, then log_in and Login with its metadata."""
    example = block_with("chat_pb2_grpc.ChatServiceStub")
    done = run_example(example, server.target, XDG_CONFIG_HOME=str(tmp_path / "xdg"))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["['alice', 'bob', 'charlie', 'eve']", "['bob', 'charlie', 'eve']"]


def test_e2e_example():
    """The end-to-end example needs no server."""
    done = run_example(block_with("import spartan_e2e as e2e"), "unused")
    assert done.returncode == 0, done.stderr
    assert "37 b'Hey Bob!'\n" in done.stdout
    assert re.search(r"^bob's fingerprint: [0-9a-f]{4}( [0-9a-f]{4}){4}$", done.stdout, re.M), done.stdout
