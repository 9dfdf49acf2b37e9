"""TLS (``tls.cert_file``, ``tls.key_file``): a certificate made at test time with
openssl (self-signed, for 127.0.0.1 and localhost, good for a day); client.py
(``--tls --ca FILE``) and the Go CLI (``-tls -ca FILE``) chat over it; the
library and its inbox follower speak it, with a server list too; a plaintext
client, a client that does not trust the certificate and a TLS client of a
plaintext server are refused, each with one clear line."""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path
from typing import Tuple

import grpc
import pytest

from conftest import WAIT, bin_dir, free_port
from spartan_client import InboxFollower, SpartanClient, SpartanError, pb, text_of

OPENSSL = "/usr/bin/openssl"
GO_CLI = bin_dir() / "spartan"

READY = "[Spartan] You are now ready to chat with {}."
CHOOSE = "[Spartan] Enter a user whom you want to chat with: "
REQUEST = "[Spartan] {} is requesting to chat with you. Enter 'yes' to accept or different user: "
NO_KEY = "[Spartan] {0} has not set up encryption yet; your messages will be sent when {0} connects."


@pytest.fixture
def tls_files(tmp_path) -> Tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost, made now (P-256, a
    day), and its key: (cert.pem, key.pem). The certificate is the CA to trust."""
    home = tmp_path / "tls"
    home.mkdir()
    cert, key = home / "cert.pem", home / "key.pem"
    argv = [OPENSSL, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    argv += ["-days", "1", "-subj", "/CN=spartan-test", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"]
    argv += ["-keyout", str(key), "-out", str(cert)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=WAIT)
    assert done.returncode == 0, done.stderr
    return cert, key


@pytest.fixture
def tls_server(start_server, tls_files):
    """A server that speaks TLS only, with the test's certificate; its library
    clients (``Server.client``, ``plain_clients``, ``clients``) trust it."""
    cert, key = tls_files
    return start_server(tls=f'{{cert_file: "{cert}", key_file: "{key}"}}', ca=cert.read_bytes())


def greet(proc, port: int, others: str) -> None:
    proc.expect(f"[Spartan] Connected to Spartan Server at port {port}.\n")
    proc.expect(f"[Spartan] User list: {others}\n")


def one_line(proc) -> str:
    """What a client that exits at once wrote on stderr: one line, and nothing on stdout."""
    proc.out.join()
    proc.err.join()
    assert proc.out.text == "", proc.describe()
    assert proc.err.text.count("\n") == 1 and "Traceback" not in proc.err.text, proc.describe()
    return proc.err.text


@pytest.mark.skipif(not GO_CLI.is_file(), reason=f"the Go CLI {GO_CLI} is not built yet (make build)")
def test_client_py_and_the_go_cli_chat_over_tls(tls_server, tls_files, client_py, spawn, key_dir):
    """The brief's transcript over TLS: alice (client.py --tls --ca) asks bob (the
    Go CLI -tls -ca) and writes first; bob accepts and answers."""
    cert = str(tls_files[0])
    alice = client_py("alice", tls_server.target, "--tls", "--ca", cert)
    greet(alice, tls_server.port, "bob,charlie,eve")
    alice.expect(CHOOSE)
    alice.send("bob")
    alice.expect(READY.format("bob"))
    alice.expect(NO_KEY.format("bob"))
    alice.send("Hey Bob!")
    alice.expect("[alice] > ")

    argv = [str(GO_CLI), "-server", tls_server.target, "-tls", "-ca", cert, "-key-dir", str(key_dir("bob")), "bob"]
    bob = spawn(argv, "spartan bob")
    greet(bob, tls_server.port, "alice,charlie,eve")
    bob.expect(REQUEST.format("alice"))
    bob.send("yes")
    bob.expect(READY.format("alice"))
    bob.expect("[alice] Hey Bob!")
    bob.send("Hi Alice!")
    alice.expect("[bob] Hi Alice!\n")
    alice.send("How are you?")
    bob.expect("[alice] How are you?")
    for proc in (alice, bob):
        proc.send("/quit")
        assert proc.wait() == 0, proc.describe()
        assert "Traceback" not in proc.err.text and "panic" not in proc.err.text, proc.describe()


def test_a_plaintext_client_is_refused(tls_server, client_py, plain_clients):
    """The TLS port serves no plaintext: client.py says it cannot connect (status
    1, as for a server that is not there), and the library gets UNAVAILABLE."""
    alice = client_py("alice", tls_server.target)
    assert alice.wait() == 1, alice.describe()
    line = one_line(alice)
    assert line.startswith(f"[Spartan] Cannot connect to Spartan Server at {tls_server.target}: ")
    assert line.endswith(". Is the server running?\n")
    with SpartanClient(tls_server.target, "alice", timeout=WAIT) as plain:
        with pytest.raises(SpartanError) as err:
            plain.list_users()
        assert err.value.code == grpc.StatusCode.UNAVAILABLE
    assert plain_clients("alice", tls_server).list_users() == ["alice", "bob", "charlie", "eve"]  # with the CA


def test_a_client_that_does_not_trust_the_certificate_is_refused(tls_server, client_py):
    """--tls without --ca trusts the system's authorities, which never signed the
    test's certificate: one line that says the handshake failed, and why."""
    alice = client_py("alice", tls_server.target, "--tls")
    assert alice.wait() == 1, alice.describe()
    line = one_line(alice)
    assert line.startswith(f"[Spartan] Cannot connect to Spartan Server at {tls_server.target}: the TLS handshake failed (")
    assert "CERTIFICATE_VERIFY_FAILED" in line
    assert line.endswith(". Is it a TLS server whose certificate you trust (--ca FILE)?\n")


def test_a_tls_client_of_a_plaintext_server_is_refused(server, tls_files, client_py):
    alice = client_py("alice", server.target, "--ca", str(tls_files[0]))  # --ca alone means --tls
    assert alice.wait() == 1, alice.describe()
    line = one_line(alice)
    assert line.startswith(f"[Spartan] Cannot connect to Spartan Server at {server.target}: the TLS handshake failed (")


@pytest.mark.parametrize(
    "content, says",
    [
        (None, "[Spartan] Cannot read the --ca file {}: No such file or directory.\n"),
        ("not a certificate\n", "[Spartan] The --ca file {} holds no PEM certificate.\n"),
    ],
    ids=["missing", "not-pem"],
)
def test_a_ca_file_that_cannot_be_used_is_a_usage_error(tmp_path, client_py, content, says):
    """Said before anything is dialled, with status 2 (a bad command line)."""
    ca = tmp_path / "ca.pem"
    if content is not None:
        ca.write_text(content)
    alice = client_py("alice", f"127.0.0.1:{free_port()}", "--tls", "--ca", str(ca))
    assert alice.wait() == 2, alice.describe()
    assert one_line(alice) == says.format(ca)


def test_the_library_and_its_follower_speak_tls_and_move_along_a_server_list(tls_server, plain_clients):
    """A TLS client given a server that is down first moves to the next one, and
    the inbox follower, on channels of its own, follows over TLS too."""
    alice = plain_clients("alice", tls_server)
    alice.request_chat("bob")
    plain_clients("bob", tls_server).answer_chat("alice")
    alice.send_plaintext("bob", "over TLS")
    dead = f"127.0.0.1:{free_port()}"
    ca = tls_server.ca
    bob = SpartanClient(
        [dead, tls_server.target], "bob", timeout=WAIT, signer=tls_server.signer("bob"), root_certificates=ca
    )
    got: list = []
    moved, arrived = [], threading.Event()

    def on_message(msg: pb.Message) -> None:
        if msg.type == pb.MESSAGE_TYPE_TEXT:
            got.append(text_of(msg))
            arrived.set()

    follower = InboxFollower(bob, on_message, on_reconnected=lambda: moved.append(follower.server), give_up=5.0)
    follower.start()
    try:
        assert arrived.wait(WAIT), "no message over TLS"
        assert got == ["over TLS"] and moved == [tls_server.target] and bob.target == tls_server.target
        assert bob.login().user == "bob"
    finally:
        follower.stop()
        bob.close()


def test_client_py_moves_along_a_server_list_over_tls(tls_server, tls_files, client_py):
    dead = f"127.0.0.1:{free_port()}"
    alice = client_py("alice", f"{dead},{tls_server.target}", "--tls", "--ca", str(tls_files[0]))
    greet(alice, tls_server.port, "bob,charlie,eve")
    alice.expect(CHOOSE)
    alice.send("/quit")
    assert alice.wait() == 0, alice.describe()
