"""The wording both terminal clients share: testdata/cli/wording.json, case by case.

The Go CLI's tests read the same file, so the two clients say the same things.
Each case starts a fresh in-memory server with the file's users, runs
client.py as the case's user on a pipe, types the lines, ends the input and
expects every string of ``expect`` in the output, in order.
"""

from __future__ import annotations

import json

import pytest

from conftest import PYDIR

WORDING = PYDIR.parent.parent / "testdata" / "cli" / "wording.json"
TABLE = json.loads(WORDING.read_text())


@pytest.mark.parametrize("case", TABLE["cases"], ids=[c["name"] for c in TABLE["cases"]])
def test_wording(case, start_server, client_py):
    srv = start_server(users=TABLE["users"], store="{kind: memory}")
    proc = client_py(case["user"], srv.target)
    for line in case["lines"]:
        proc.send(line)
    proc.close_stdin()
    assert proc.wait() == 0, proc.describe()
    proc.out.join()
    for text in case["expect"]:
        proc.expect(text, timeout=1)
    assert "Traceback" not in proc.err.text, proc.describe()
