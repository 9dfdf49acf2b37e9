"""The README's examples run as written (against a test server)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from conftest import PYDIR, WAIT

README = PYDIR / "README.md"


def python_blocks() -> list:
    return re.findall(r"```python\n(.*?)```", README.read_text(), re.S)


def run_example(code: str, target: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(PYDIR))
    return subprocess.run(
        [sys.executable, "-c", code.replace("localhost:3000", target)],
        env=env,
        capture_output=True,
        text=True,
        timeout=WAIT,
    )


def test_send_example_sends_a_message(server, clients):
    example = python_blocks()[0]
    assert len(example.strip().splitlines()) <= 12
    done = run_example(example, server.target)
    assert done.returncode == 0, done.stderr
    assert "others: bob, charlie, eve" in done.stdout
    assert "sent " in done.stdout
    bob = clients("bob")
    bob.answer_chat("alice")
    assert [m.payload for m in bob.history("alice").messages] == [b"Hey Bob!"]


def test_raw_stub_example(server):
    example = python_blocks()[-1]
    done = run_example(example, server.target)
    assert done.returncode == 0, done.stderr
    assert "bob" in done.stdout
