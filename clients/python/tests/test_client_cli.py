"""client.py (and the Go CLI) driven through stdin/stdout pipes, as in the brief."""

from __future__ import annotations

import os
import socket
import sys

import pytest

from conftest import CLIENT_PY, bin_dir, expect_all
from spartan_client import pb

READY = "[Spartan] You are now ready to chat with {}."
NO_KEY = "[Spartan] {0} has not set up encryption yet; your messages will be sent when {0} connects."
CHOOSE = "[Spartan] Enter a user whom you want to chat with: "
REQUEST = "[Spartan] {} is requesting to chat with you. Enter 'yes' to accept or different user: "


def greet(proc, port: int, others: str) -> None:
    """Expects the brief's first two lines."""
    proc.expect(f"[Spartan] Connected to Spartan Server at port {port}.\n")
    proc.expect(f"[Spartan] User list: {others}\n")


def test_brief_transcript(server, client_py, clients):
    """The brief's two terminals: alice asks bob and writes first, bob accepts and answers.

    bob has never connected, so he has no key yet: alice is told that her
    messages wait for him (in place of "bob is offline"), and "Hey Bob!"
    waits in her outbox.json until bob's client publishes his key; then it
    goes, sealed, and reaches bob when he accepts."""
    alice = client_py("alice", server.target)
    greet(alice, server.port, "bob,charlie,eve")
    alice.expect(CHOOSE)
    alice.send("bob")
    alice.expect(READY.format("bob"))
    alice.expect("[alice] > ")
    alice.send("Hey Bob!")
    alice.expect("[alice] > ")  # the prompt again once the message is stored
    # On a pipe, typed lines are echoed: alice's output is the brief's, verbatim.
    assert alice.out.text == (
        f"[Spartan] Connected to Spartan Server at port {server.port}.\n"
        "[Spartan] User list: bob,charlie,eve\n"
        "[Spartan] Enter a user whom you want to chat with: bob\n"
        "[Spartan] You are now ready to chat with bob.\n"
        "[Spartan] bob has not set up encryption yet; your messages will be sent when bob connects.\n"
        "[alice] > Hey Bob!\n"
        "[alice] > "
    )

    bob = client_py("bob", server.target)
    greet(bob, server.port, "alice,charlie,eve")
    bob.expect(REQUEST.format("alice"))
    bob.send("yes")
    bob.expect("yes\n" + READY.format("alice") + "\n")
    bob.expect("[alice] Hey Bob!\n")
    bob.expect("[bob] > ")
    bob.send("Hi Alice!")
    bob.expect("Hi Alice!\n")  # the echo after the prompt

    expect_all(alice, "[Spartan] bob has set up encryption; sent 1 waiting message.\n",
               "[Spartan] bob accepted your chat request.\n")
    alice.expect("[bob] Hi Alice!\n")
    alice.expect("[alice] > ")

    # The request prompt appears once, even though the request is also on bob's stream.
    assert bob.out.text.count("is requesting to chat") == 1
    for proc in (alice, bob):
        proc.send("/quit")
        assert proc.wait() == 0, proc.describe()
        assert "Traceback" not in proc.err.text
    # Every shown message was acknowledged before exit: a fresh stream for bob
    # starts after "Hey Bob!" (the request was seq 1, the message seq 2).
    bob_client = clients("bob")
    clients("alice").send("bob", "after")
    sub = bob_client.receive(0)
    first = next(m for m in sub if m.type != pb.MESSAGE_TYPE_PRESENCE)
    sub.cancel()
    assert (first.seq, first.encryption, bob_client.open(first).text) == (3, pb.ENCRYPTION_E2E, "after")


def test_request_arrives_at_choose_prompt(server, client_py):
    """bob sits at the choose prompt when alice asks: the prompt turns into the request."""
    bob = client_py("bob", server.target)
    greet(bob, server.port, "alice,charlie,eve")
    bob.expect(CHOOSE)
    alice = client_py("alice", server.target)
    alice.expect(CHOOSE)
    alice.send("bob")
    alice.expect(READY.format("bob"))
    bob.expect(REQUEST.format("alice"))
    bob.send("yes")
    bob.expect(READY.format("alice"))
    alice.expect("[Spartan] bob accepted your chat request.")
    bob.send("Hello there")
    alice.expect("[bob] Hello there\n")
    alice.send("Hi!")
    bob.expect("[alice] Hi!\n")


def test_decline_by_choosing_another_user(server, client_py, clients):
    alice = client_py("alice", server.target)
    alice.expect(CHOOSE)
    alice.send("bob")
    alice.expect(READY.format("bob"))
    alice.expect("[alice] > ")
    alice.send("Hey Bob!")
    alice.expect("[alice] > ")

    bob = client_py("bob", server.target)
    bob.expect(REQUEST.format("alice"))
    # bob's key reached alice's client, which sent her message: it waits on the server.
    alice.expect("[Spartan] bob has set up encryption; sent 1 waiting message.\n")
    bob.send("zed")  # unknown: asked again
    bob.expect('[Spartan] There is no user named "zed".')
    bob.expect(REQUEST.format("alice"))
    bob.send("charlie")  # declines alice, asks charlie
    bob.expect(READY.format("charlie"))

    alice.expect("[Spartan] bob declined your chat request; 1 waiting message was not delivered.\n")
    alice.expect(CHOOSE)  # bob was alice's partner: back to choosing
    alice.send("Are you there?")  # now a user name, and not a known one
    alice.expect('[Spartan] There is no user named "Are you there?".')
    # Bob never got alice's message; charlie got bob's request.
    assert "Hey Bob!" not in bob.out.text
    assert list(clients("charlie").login().chat_requests) == ["bob"]


def test_choose_prompt_rejects_unknown_and_self(server, client_py):
    alice = client_py("alice", server.target)
    alice.expect(CHOOSE)
    alice.send("zed")
    alice.expect('[Spartan] There is no user named "zed". User list: bob,charlie,eve\n')
    alice.expect(CHOOSE)
    alice.send("alice")
    alice.expect("[Spartan] You cannot chat with yourself.")
    alice.expect(CHOOSE)
    alice.send("charlie")
    alice.expect(READY.format("charlie"))
    alice.close_stdin()  # Ctrl-D
    assert alice.wait() == 0, alice.describe()
    assert alice.err.text == ""


def test_commands(server, client_py, clients):
    bob_api = clients("bob")
    alice = client_py("alice", server.target)
    alice.expect(CHOOSE)
    alice.send("/help")
    alice.expect("/quit")
    alice.send("/users")
    alice.expect("[Spartan] User list: bob,charlie,eve\n")
    alice.send("bob")
    alice.expect(READY.format("bob"))
    bob_api.answer_chat("alice")
    alice.expect("[Spartan] bob accepted your chat request.")
    alice.expect("[alice] > ")  # shown again below the line above
    for i in range(3):
        alice.send(f"line {i}")
        alice.expect("[alice] > ")  # stored: the next prompt comes after the send
    bob_api.send("alice", "reply")
    alice.expect("[bob] reply\n")
    alice.send("/history 2")
    alice.expect("[Spartan] The last 2 messages with bob:\n")
    alice.expect("[alice] line 2\n")
    alice.expect("[bob] reply\n")
    alice.send("/history")
    alice.expect_lines("[alice] line 0\n", "[alice] line 1\n", "[alice] line 2\n", "[bob] reply\n")
    alice.send("/history x")
    alice.expect('[Spartan] /history takes a number of messages (1 or more), not "x".\n')
    alice.send("/nope")
    alice.expect("[Spartan] Unknown command /nope.")
    # Someone else asks while alice chats with bob; /chat accepts.
    clients("eve").request_chat("alice")
    alice.expect(
        "[Spartan] eve is requesting to chat with you. Type /chat eve to accept or /decline eve to decline.\n"
    )
    alice.send("/chat eve")
    alice.expect(READY.format("eve"))
    alice.expect("[alice] > ")
    alice.send("hi eve")
    alice.expect("[alice] > ")
    assert [clients("eve").open(m) for m in clients("eve").history("alice").messages] == [(b"hi eve", False)]
    # /chat with someone new asks them.
    alice.send("/chat charlie")
    alice.expect(READY.format("charlie"))
    assert list(clients("charlie").login().chat_requests) == ["alice"]
    alice.send("/quit")
    assert alice.wait() == 0, alice.describe()


def test_a_message_too_long_to_seal_is_refused_before_sending(start_server, client_py, clients, inbox):
    """max_message_bytes bounds the sealed payload: the plaintext may have 29 bytes fewer
    (40 - 29 = 11). A longer one (in UTF-8 bytes, not characters) is refused by the
    client, nothing sent; one of exactly 11 bytes goes."""
    srv = start_server(max_message_bytes=40)
    bob = clients("bob", srv)
    bob_inbox = inbox(bob)
    alice = client_py("alice", srv.target)
    alice.expect(CHOOSE)
    alice.send("bob")
    alice.expect(READY.format("bob"))
    bob.answer_chat("alice")
    alice.expect("[Spartan] bob accepted your chat request.\n")
    alice.send("this is far too long")
    alice.expect("[Spartan] Not sent: the message is 20 bytes; the limit is 11.\n")
    alice.send("ééééé é")  # 7 characters, 13 bytes
    alice.expect("[Spartan] Not sent: the message is 13 bytes; the limit is 11.\n")
    alice.send("eleven byte")
    assert [m.type for m in bob_inbox.take(1)] == [pb.MESSAGE_TYPE_CHAT_REQUEST]
    (msg,) = bob_inbox.take(1)
    assert (len(msg.payload), bob.open(msg).text) == (40, "eleven byte")
    assert bob_inbox.quiet(0.3)
    assert "Not sent: the message from" not in alice.out.text, alice.describe()


PACING = (
    "[Spartan] The server is pacing your messages (alice may send 40 messages a second); "
    "the rest follow in order.\n"
)


def test_a_paste_of_100_lines_is_paced_by_the_server_and_arrives_whole(start_server, client_py, clients, inbox):
    """Past the send rate (40 a second, burst 10) the server refuses with a retry delay:
    client.py holds the rest and sends them as the server allows, so bob gets all 100
    lines, in order, once each, and alice reads one note, then one count."""
    srv = start_server(rate="{calls: 40, window_seconds: 1, burst: 10}")
    bob = clients("bob", srv)
    alice = client_py("alice", srv.target)
    alice.expect(CHOOSE)
    alice.send("bob")
    alice.expect(READY.format("bob"))
    bob.answer_chat("alice")
    alice.expect("[Spartan] bob accepted your chat request.\n")
    bob_inbox = inbox(bob)
    assert [m.type for m in bob_inbox.take(1)] == [pb.MESSAGE_TYPE_CHAT_REQUEST]
    lines = [f"line {i:03d}" for i in range(100)]
    alice.popen.stdin.write("".join(f"{line}\n" for line in lines).encode())  # pasted at once
    alice.popen.stdin.flush()
    msgs = bob_inbox.take(100)
    assert [bob.open(m).text for m in msgs] == lines
    assert {(m.sender, m.type) for m in msgs} == {("alice", pb.MESSAGE_TYPE_TEXT)}
    assert len({m.client_msg_id for m in msgs}) == 100
    alice.expect(PACING)
    sent = alice.expect(r"\[Spartan\] Sent (\d+) waiting messages?\.\n", regex=True)
    assert 0 < int(sent.group(1)) < 100
    assert bob_inbox.quiet(0.5)  # nothing twice
    assert [bob.open(m).text for m in bob.last_messages("alice", 200)] == lines
    alice.send("/quit")
    assert alice.wait() == 0, alice.describe()
    assert alice.out.text.count("The server is pacing") == 1, alice.describe()
    assert alice.out.text.count("waiting message") == 1, alice.describe()
    assert "Not sent" not in alice.out.text and "not sent" not in alice.out.text, alice.describe()
    assert "Traceback" not in alice.err.text, alice.describe()


def test_unknown_user_at_start(server, client_py, key_dir):
    """The name is checked (ListUsers, which needs no log-in) before the key
    directory is made: an unknown user leaves nothing behind."""
    zed = client_py("zed", server.target)
    assert zed.wait() == 2
    zed.err.join()
    assert zed.err.text == '[Spartan] There is no user named "zed". Users: alice,bob,charlie,eve\n'
    assert not key_dir("zed").exists()
    assert "Traceback" not in zed.err.text


def test_control_characters_are_not_sent_to_the_terminal(server, client_py, clients):
    """A payload cannot clear the screen or forge a [Spartan] line: controls show as U+FFFD, LF as ↵."""
    alice_api = clients("alice")
    alice_api.request_chat("bob")
    bob = client_py("bob", server.target)
    bob.expect(REQUEST.format("alice"))
    bob.send("yes")
    bob.expect(READY.format("alice"))
    alice_api.send("bob", "a\x1b[2Jb\nc\x07")
    bob.expect("[alice] a\ufffd[2Jb\u21b5c\ufffd\n")
    alice_api.send("bob", "\n[Spartan] Lost connection to Spartan Server; reconnecting...")
    bob.expect("[alice] \u21b5[Spartan] Lost connection to Spartan Server; reconnecting...\n")
    alice_api.send("bob", "tab\there, DEL\x7f, C1\x9b, NUL\x00, CR\r; 😀 中文 é")
    bob.expect("[alice] tab\there, DEL\ufffd, C1\ufffd, NUL\ufffd, CR\ufffd; 😀 中文 é\n")
    bob.send("/history 3")
    bob.expect("[Spartan] The last 3 messages with alice:\n")
    bob.expect("[alice] a\ufffd[2Jb\u21b5c\ufffd\n")
    bob.expect("[alice] \u21b5[Spartan] Lost connection to Spartan Server; reconnecting...\n")
    bob.expect("[alice] tab\there, DEL\ufffd, C1\ufffd, NUL\ufffd, CR\ufffd; 😀 中文 é\n")
    bob.expect("[bob] > ")
    out = bob.out.text
    assert not any(c in out for c in "\x1b\x07\x7f\x9b\x00\r"), repr(out)
    assert "\n[Spartan] Lost connection" not in out


def test_no_declines_the_request(server, client_py, clients, inbox):
    """'no' (any case) declines the asker without choosing anyone; the next request's prompt follows."""
    alice_inbox = inbox(clients("alice"))
    clients("alice").request_chat("bob")
    charlie_inbox = inbox(clients("charlie"))
    clients("charlie").request_chat("bob")
    bob = client_py("bob", server.target)
    bob.expect(REQUEST.format("alice"))
    bob.send("no")
    bob.expect("no\n[Spartan] You declined alice's chat request.\n")
    bob.expect(REQUEST.format("charlie"))
    bob.send("  No ")
    bob.expect("[Spartan] You declined charlie's chat request.\n")
    bob.expect(CHOOSE)
    for ib, asker in ((alice_inbox, "alice"), (charlie_inbox, "charlie")):
        declined = ib.take(1)[0]
        assert (declined.type, declined.sender) == (pb.MESSAGE_TYPE_CHAT_DECLINED, "bob"), asker
    # Nobody was asked on bob's behalf, and no user "no" was looked for.
    assert "There is no user" not in bob.out.text
    assert "ready to chat" not in bob.out.text
    for user in ("alice", "charlie", "eve"):
        assert list(clients(user).login().chat_requests) == [], user
    bob.send("/quit")
    assert bob.wait() == 0, bob.describe()


def test_no_is_a_user_when_one_is_named_so(start_server, client_py):
    srv = start_server(users=["alice", "bob", "no"])
    alice = srv.client("alice")
    try:
        alice.request_chat("bob")
    finally:
        alice.close()
    bob = client_py("bob", srv.target)
    bob.expect(REQUEST.format("alice"))
    bob.send("no")
    bob.expect(READY.format("no"))
    assert "declined" not in bob.out.text
    no = srv.client("no")
    try:
        assert list(no.login().chat_requests) == ["bob"]
    finally:
        no.close()


def test_second_request_while_answering_is_mentioned(server, client_py, clients):
    bob = client_py("bob", server.target)
    bob.expect(CHOOSE)
    clients("alice").request_chat("bob")
    bob.expect(REQUEST.format("alice"))
    clients("charlie").request_chat("bob")
    bob.expect("[Spartan] charlie is requesting to chat with you too; answer alice first.\n")
    bob.expect(REQUEST.format("alice"))  # still alice's prompt, shown again below
    bob.send("no")
    bob.expect("[Spartan] You declined alice's chat request.\n")
    bob.expect(REQUEST.format("charlie"))
    clients("eve").request_chat("bob")
    bob.expect("[Spartan] eve is requesting to chat with you too; answer charlie first.\n")
    bob.expect(REQUEST.format("charlie"))
    bob.send("yes")
    bob.expect(READY.format("charlie") + "\n")
    bob.expect(
        "[Spartan] eve is requesting to chat with you. Type /chat eve to accept or /decline eve to decline.\n"
    )
    bob.expect("[bob] > ")
    assert bob.out.text.count("eve is requesting") == 2


def test_history_counts_and_large_numbers(server, client_py, clients):
    bob_api = clients("bob")
    alice = client_py("alice", server.target)
    alice.expect(CHOOSE)
    alice.send("bob")
    alice.expect(READY.format("bob"))
    bob_api.answer_chat("alice")
    alice.expect("[Spartan] bob accepted your chat request.\n")
    alice.send("only one")
    alice.expect("[alice] > ")
    for arg in ("", " 1", " 99999999999999999999", " 1000000", " +5"):
        alice.send("/history" + arg)
        alice.expect("[Spartan] The last message with bob:\n[alice] only one\n")
    bob_api.send("alice", "second")
    alice.expect("[bob] second\n")
    alice.send("/history 99999999999999999999")
    alice.expect("[Spartan] The last 2 messages with bob:\n[alice] only one\n[bob] second\n")
    alice.send("/history 1")
    alice.expect("[Spartan] The last message with bob:\n[bob] second\n")
    for bad in ("0", "-1", "1_0", "\u0663", "x"):
        alice.send("/history " + bad)
        alice.expect(f'[Spartan] /history takes a number of messages (1 or more), not "{bad}".\n')
    assert "messages with bob:\n[alice] only one\n[alice]" not in alice.out.text


def test_messages_are_sent_as_typed(server, client_py, clients):
    """Spaces around a message stay; commands, names and empty lines are read without them."""
    bob_api = clients("bob")
    alice = client_py("alice", server.target)
    alice.expect(CHOOSE)
    alice.send("  bob  ")
    alice.expect(READY.format("bob"))
    bob_api.answer_chat("alice")
    alice.expect("[Spartan] bob accepted your chat request.\n")
    alice.expect("[alice] > ")
    alice.send("   ")  # nothing to send
    alice.expect("[alice] > ")
    alice.send("  two spaces on each side  ")
    alice.expect("[alice] > ")
    alice.send("\tindented")
    alice.expect("[alice] > ")
    alice.send("  /users ")
    alice.expect("[Spartan] User list: bob,charlie,eve\n")
    alice.expect("[alice] > ")
    texts = [bob_api.open(m).text for m in bob_api.history("alice").messages]
    assert texts == ["  two spaces on each side  ", "\tindented"]
    alice.send("/history")
    alice.expect("[alice]   two spaces on each side  \n[alice] \tindented\n")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_server_down_at_start(client_py):
    port = free_port()
    proc = client_py("alice", f"127.0.0.1:{port}")
    assert proc.wait() == 1
    proc.err.join()
    proc.out.join()
    assert proc.err.text.startswith(f"[Spartan] Cannot connect to Spartan Server at 127.0.0.1:{port}: ")
    assert "Traceback" not in proc.err.text
    assert proc.out.text == ""


def test_server_stopped_under_client(server, client_py, clients):
    """Both at the choose prompt and while chatting, the gone line is the last one: no prompt after it."""
    alice = client_py("alice", server.target, "--give-up", "2")
    alice.expect(CHOOSE)
    charlie = client_py("charlie", server.target, "--give-up", "2")
    charlie.expect(CHOOSE)
    charlie.send("bob")
    charlie.expect(READY.format("bob"))
    charlie.expect("[charlie] > ")
    server.stop()
    for proc in (alice, charlie):
        proc.expect("[Spartan] Lost connection to Spartan Server; reconnecting...\n")
        proc.expect(f"[Spartan] Spartan Server is gone: no answer from {server.target} for 2 seconds")
    for proc in (alice, charlie):
        assert proc.wait(timeout=10) == 1, proc.describe()
        proc.out.join()
        assert "Traceback" not in proc.err.text
        rest = proc.out.text[proc.pos :]
        assert rest.endswith(").\n") and rest.count("\n") == 1, proc.describe()


def test_reconnects_to_restarted_server(server, client_py, clients, inbox):
    """The server restarts on the same port: the client says so, resumes and goes on.

    With a durable store the conversation survives and alice resumes after her
    last seq; with the in-memory store it is gone, alice's seq is unknown
    (OUT_OF_RANGE, so she resumes with 0) and bob has to ask again, which
    alice, who still chats with bob, accepts at once.
    """
    alice = client_py("alice", server.target)
    alice.expect(CHOOSE)
    alice.send("bob")
    alice.expect(READY.format("bob"))
    clients("bob").answer_chat("alice")
    alice.expect("[Spartan] bob accepted your chat request.\n")  # alice's seq 1
    server.stop()
    alice.expect("[Spartan] Lost connection to Spartan Server; reconnecting...\n")
    server.start()  # same port
    alice.expect("[Spartan] Reconnected.\n", timeout=15)
    bob_api = clients("bob", server)
    bob_inbox = inbox(bob_api)
    if bob_api.request_chat("alice") == pb.CONVERSATION_STATE_REQUESTED:  # state was lost
        accepted = bob_inbox.take(1)[-1]
        assert (accepted.type, accepted.sender) == (pb.MESSAGE_TYPE_CHAT_ACCEPTED, "alice")
    else:  # state survived: bob's stream replays his inbox (alice's request)
        bob_inbox.take(1)
    bob_api.send("alice", "welcome back")
    alice.expect("[bob] welcome back\n")
    alice.send("glad to be back")
    msg = bob_inbox.take(1)[0]
    assert bob_api.open(msg).text == "glad to be back"
    assert "is requesting to chat" not in alice.out.text
    # Nothing was shown twice.
    assert alice.out.text.count("bob accepted your chat request.") == 1


def test_ctrl_c_exits_cleanly(server, client_py):
    import signal

    alice = client_py("alice", server.target)
    alice.expect(CHOOSE)
    os.kill(alice.pid, signal.SIGINT)
    assert alice.wait() == 0
    assert "Traceback" not in alice.err.text


def _ignore_sigint() -> None:
    """In the child before exec: SIGINT ignored, as a shell starting a background job leaves it."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


@pytest.mark.parametrize("chatting", [False, True], ids=["choose-prompt", "chatting"])
def test_ctrl_c_exits_even_when_started_with_sigint_ignored(server, client_py, clients, chatting):
    """Python keeps an inherited SIG_IGN for SIGINT (no KeyboardInterrupt at all):
    client.py puts the default handler back, so Ctrl-C still leaves, at once."""
    import signal
    import time

    alice = client_py("alice", server.target, preexec_fn=_ignore_sigint)
    alice.expect(CHOOSE)
    if chatting:
        alice.send("bob")
        alice.expect(READY.format("bob"))
        alice.expect("[alice] > ")
    sent = time.monotonic()
    os.kill(alice.pid, signal.SIGINT)
    assert alice.wait(timeout=5) == 0, alice.describe()
    assert time.monotonic() - sent < 3, alice.describe()
    assert "Traceback" not in alice.err.text, alice.describe()


def test_the_child_of_ignore_sigint_does_ignore_it():
    """The fixture of the test above does what it says: a plain python started so ignores SIGINT."""
    import signal
    import subprocess

    code = "import signal; print(signal.getsignal(signal.SIGINT) == signal.SIG_IGN)"
    done = subprocess.run(
        [sys.executable, "-c", code], preexec_fn=_ignore_sigint, capture_output=True, text=True, timeout=10
    )
    assert done.stdout.strip() == "True", done


def go_cli() -> str:
    return str(bin_dir() / "spartan")


@pytest.mark.skipif(not os.path.isfile(go_cli()), reason=f"the Go CLI {go_cli()} is not built yet (make build)")
def test_mixed_conversation_with_go_cli(server, client_py, spawn):
    """client.py alice and the Go CLI bob chat both ways."""
    alice = client_py("alice", server.target)
    greet(alice, server.port, "bob,charlie,eve")
    alice.expect(CHOOSE)
    alice.send("bob")
    alice.expect(READY.format("bob"))
    alice.expect("[alice] > ")
    alice.send("Hey Bob!")
    alice.expect("[alice] > ")

    bob = spawn([go_cli(), "bob", "--server", server.target], "spartan bob")
    greet(bob, server.port, "alice,charlie,eve")
    bob.expect(REQUEST.format("alice"))
    bob.send("yes")
    bob.expect(READY.format("alice"))
    bob.expect("[alice] Hey Bob!")
    bob.expect("[bob] > ")
    bob.send("Hi Alice!")
    alice.expect("[bob] Hi Alice!\n")
    alice.send("How are you?")
    bob.expect("[alice] How are you?")
    bob.send("Fine, thanks.")
    alice.expect("[bob] Fine, thanks.\n")
    for proc in (alice, bob):
        proc.send("/quit")
        assert proc.wait() == 0, proc.describe()


def test_client_module_imports_without_extra_dependencies():
    """client.py and the modules it uses need only the standard library, grpcio,
    grpcio-status, protobuf and PyCryptodome (``Crypto``)."""
    import ast

    ours = {"spartan", "spartan_auth", "spartan_client", "spartan_e2e", "spartan_keystore"}
    allowed = set(sys.stdlib_module_names) | {"grpc", "grpc_status", "google", "Crypto"} | ours
    for name in ("client.py", "spartan_auth.py", "spartan_client.py", "spartan_e2e.py", "spartan_keystore.py"):
        path = CLIENT_PY.parent / name
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module]
            else:
                continue
            for name in names:
                assert name.split(".")[0] in allowed, f"{path.name} imports {name}"
