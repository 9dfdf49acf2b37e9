"""Every RPC of spartan.v1.ChatService, from Python, against the built Go server."""

from __future__ import annotations

import uuid

import grpc
import pytest

from conftest import LOST_NOTE, WAIT, wait_online
from spartan_client import NoKeyError, SpartanClient, SpartanError, pb, text_of

OK = grpc.StatusCode


@pytest.fixture
def clients(plain_clients):
    """These tests are about the server's RPCs: payloads travel as plaintext, for the tests to read."""
    return plain_clients


def code_of(excinfo) -> grpc.StatusCode:
    return excinfo.value.code


def chatting(clients, a: str, b: str):
    """Returns clients for a and b whose conversation is accepted."""
    ca, cb = clients(a), clients(b)
    assert ca.request_chat(b) == pb.CONVERSATION_STATE_REQUESTED
    assert cb.answer_chat(a, accept=True).state == pb.CONVERSATION_STATE_ACCEPTED
    return ca, cb


# -- Login and ListUsers -----------------------------------------------------------


def test_login_lists_others_in_config_order(clients):
    resp = clients("charlie").login()
    assert resp.user == "charlie"
    assert list(resp.others) == ["alice", "bob", "eve"]
    assert resp.max_message_bytes == 65536
    assert list(resp.chat_requests) == []


def test_login_lists_waiting_chat_requests(clients):
    clients("eve").request_chat("bob")
    clients("alice").request_chat("bob")
    resp = clients("bob").login()
    assert list(resp.chat_requests) == ["alice", "eve"]  # configuration order
    clients("bob").answer_chat("alice", accept=True)
    assert list(clients("bob").login().chat_requests) == ["eve"]


def test_login_lists_who_is_online(clients, inbox):
    assert list(clients("alice").login().online) == []
    inbox(clients("eve"))
    inbox(clients("bob"))
    inbox(clients("alice"))  # the caller is never listed
    wait_online(clients("charlie"), "alice", "bob", "eve")
    assert list(clients("alice").login().online) == ["bob", "eve"]  # configuration order


def test_request_chat_says_whether_the_peer_is_online(clients, inbox):
    assert clients("alice").request_chat_response("bob").peer_online is False
    inbox(clients("charlie"))
    wait_online(clients("eve"), "charlie")
    resp = clients("alice").request_chat_response("charlie")
    assert (resp.state, resp.peer_online) == (pb.CONVERSATION_STATE_REQUESTED, True)


def test_stream_starts_with_everyones_presence_then_tells_changes(clients, inbox):
    """One PRESENCE event for every other user, online or not, in configuration order; then one per change."""
    inbox(clients("bob"))
    wait_online(clients("eve"), "bob")
    alice = inbox(clients("alice"), presence=True)
    first = alice.take(3)
    assert [(m.type, m.sender, m.receiver, m.online) for m in first] == [
        (pb.MESSAGE_TYPE_PRESENCE, "bob", "alice", True),
        (pb.MESSAGE_TYPE_PRESENCE, "charlie", "alice", False),
        (pb.MESSAGE_TYPE_PRESENCE, "eve", "alice", False),
    ]
    assert {(m.seq, m.id, m.epoch) for m in first} == {(0, "", "")}
    assert alice.quiet()  # nothing more until something changes
    eve = inbox(clients("eve"))
    (came,) = alice.take(1)
    assert (came.sender, came.online) == ("eve", True)
    eve.cancel()
    (went,) = alice.take(1)
    assert (went.sender, went.online) == ("eve", False)


def test_login_max_message_bytes_follows_config(start_server, clients):
    srv = start_server(max_message_bytes=1234)
    assert clients("alice", srv).login().max_message_bytes == 1234


def test_login_unknown_user_is_not_found(clients):
    with pytest.raises(SpartanError) as e:
        clients("zed").login()
    assert code_of(e) == OK.NOT_FOUND
    assert "zed" in e.value.details


def test_login_empty_user_is_invalid(clients):
    with pytest.raises(SpartanError) as e:
        clients("").login()
    assert code_of(e) == OK.INVALID_ARGUMENT


def test_list_users(clients):
    assert clients("alice").list_users() == ["alice", "bob", "charlie", "eve"]


# -- RequestChat and AnswerChat --------------------------------------------------------


def test_request_chat_sends_chat_request_event(clients, inbox):
    bob = inbox(clients("bob"))
    assert clients("alice").request_chat("bob") == pb.CONVERSATION_STATE_REQUESTED
    (msg,) = bob.take(1)
    assert msg.type == pb.MESSAGE_TYPE_CHAT_REQUEST
    assert (msg.sender, msg.receiver, msg.seq) == ("alice", "bob", 1)
    assert msg.id


def test_request_chat_twice_stays_requested(clients):
    alice = clients("alice")
    assert alice.request_chat("bob") == pb.CONVERSATION_STATE_REQUESTED
    assert alice.request_chat("bob") == pb.CONVERSATION_STATE_REQUESTED


def test_mutual_request_accepts(clients, inbox):
    alice_inbox = inbox(clients("alice"))
    assert clients("alice").request_chat("bob") == pb.CONVERSATION_STATE_REQUESTED
    assert clients("bob").request_chat("alice") == pb.CONVERSATION_STATE_ACCEPTED
    (msg,) = alice_inbox.take(1)
    assert (msg.type, msg.sender) == (pb.MESSAGE_TYPE_CHAT_ACCEPTED, "bob")


def test_request_chat_when_chatting_is_accepted(clients):
    alice, bob = chatting(clients, "alice", "bob")
    assert alice.request_chat("bob") == pb.CONVERSATION_STATE_ACCEPTED
    assert bob.request_chat("alice") == pb.CONVERSATION_STATE_ACCEPTED


def test_request_chat_with_self_is_invalid(clients):
    with pytest.raises(SpartanError) as e:
        clients("alice").request_chat("alice")
    assert code_of(e) == OK.INVALID_ARGUMENT


def test_request_chat_unknown_peer_is_not_found(clients):
    with pytest.raises(SpartanError) as e:
        clients("alice").request_chat("zed")
    assert code_of(e) == OK.NOT_FOUND
    with pytest.raises(SpartanError) as e:
        clients("zed").request_chat("alice")
    assert code_of(e) == OK.NOT_FOUND


def test_request_chat_empty_peer_is_invalid(clients):
    with pytest.raises(SpartanError) as e:
        clients("alice").request_chat("")
    assert code_of(e) == OK.INVALID_ARGUMENT


def test_accept_delivers_waiting_messages_in_order(clients, inbox):
    alice, bob = clients("alice"), clients("bob")
    alice_inbox, bob_inbox = inbox(alice), inbox(bob)
    alice.request_chat("bob")
    sent = [alice.send("bob", f"waiting {i}") for i in range(3)]
    assert all(r.pending for r in sent)
    (req,) = bob_inbox.take(1)
    assert req.type == pb.MESSAGE_TYPE_CHAT_REQUEST
    resp = bob.answer_chat("alice", accept=True)
    assert (resp.state, resp.released) == (pb.CONVERSATION_STATE_ACCEPTED, 3)
    got = bob_inbox.take(3)
    assert [text_of(m) for m in got] == ["waiting 0", "waiting 1", "waiting 2"]
    assert [m.id for m in got] == [r.id for r in sent]
    assert [m.seq for m in got] == [2, 3, 4]
    assert all(m.type == pb.MESSAGE_TYPE_TEXT and m.encryption == pb.ENCRYPTION_PLAINTEXT for m in got)
    (acc,) = alice_inbox.take(1)
    assert (acc.type, acc.sender, acc.receiver) == (pb.MESSAGE_TYPE_CHAT_ACCEPTED, "bob", "alice")
    # Now both may send at once.
    assert not bob.send("alice", "Hi Alice!").pending
    assert text_of(alice_inbox.take(1)[0]) == "Hi Alice!"


def test_decline_drops_waiting_messages_and_tells_requester(clients, inbox):
    alice, bob = clients("alice"), clients("bob")
    alice_inbox = inbox(alice)
    alice.request_chat("bob")
    alice.send("bob", "Hey Bob!")
    resp = bob.answer_chat("alice", accept=False)
    assert (resp.state, resp.released) == (pb.CONVERSATION_STATE_DECLINED, 1)
    (msg,) = alice_inbox.take(1)
    assert (msg.type, msg.sender) == (pb.MESSAGE_TYPE_CHAT_DECLINED, "bob")
    assert msg.note == "bob declined your chat request; 1 waiting message was not delivered."
    # Sending after the decline fails; asking again is allowed.
    with pytest.raises(SpartanError) as e:
        alice.send("bob", "again?")
    assert code_of(e) == OK.FAILED_PRECONDITION
    assert alice.request_chat("bob") == pb.CONVERSATION_STATE_REQUESTED
    # Bob never sees the dropped message.
    assert bob.history("alice").messages == []


def test_decline_without_waiting_messages_note(clients, inbox):
    alice_inbox = inbox(clients("alice"))
    clients("alice").request_chat("bob")
    clients("bob").answer_chat("alice", accept=False)
    assert alice_inbox.take(1)[0].note == "bob declined your chat request."


def test_answer_without_request_fails_precondition(clients):
    with pytest.raises(SpartanError) as e:
        clients("bob").answer_chat("alice", accept=True)
    assert code_of(e) == OK.FAILED_PRECONDITION
    # The requester cannot answer their own request either.
    clients("alice").request_chat("bob")
    with pytest.raises(SpartanError) as e:
        clients("alice").answer_chat("bob", accept=True)
    assert code_of(e) == OK.FAILED_PRECONDITION


def test_answer_errors(clients):
    with pytest.raises(SpartanError) as e:
        clients("bob").answer_chat("bob")
    assert code_of(e) == OK.INVALID_ARGUMENT
    with pytest.raises(SpartanError) as e:
        clients("bob").answer_chat("zed")
    assert code_of(e) == OK.NOT_FOUND


# -- SendMsg ------------------------------------------------------------------------


def test_send_returns_id_time_and_pending(clients):
    alice = clients("alice")
    alice.request_chat("bob")
    first = alice.send("bob", "one")
    assert first.id and first.pending
    assert first.sent_time.seconds > 0
    clients("bob").answer_chat("alice")
    second = alice.send("bob", "two")
    assert not second.pending and second.id != first.id
    assert second.sent_time.ToNanoseconds() >= first.sent_time.ToNanoseconds()


def test_send_utf8_round_trip(clients, inbox):
    alice, bob = chatting(clients, "alice", "bob")
    bob_inbox = inbox(bob)
    text = "Grüße, Bob! 👋 — ça va?"
    alice.send("bob", text)
    msgs = bob_inbox.take(2)  # the chat request, then the text
    assert text_of(msgs[1]) == text


def test_send_empty_is_invalid(clients):
    alice, _ = chatting(clients, "alice", "bob")
    with pytest.raises(SpartanError) as e:
        alice.send("bob", "")
    assert code_of(e) == OK.INVALID_ARGUMENT


def test_send_oversized_is_invalid(start_server, clients):
    srv = start_server(max_message_bytes=16)
    alice, bob = clients("alice", srv), clients("bob", srv)
    alice.request_chat("bob")
    bob.answer_chat("alice")
    assert not alice.send("bob", "x" * 16).pending  # exactly the limit is fine
    with pytest.raises(SpartanError) as e:
        alice.send("bob", "x" * 17)
    assert code_of(e) == OK.INVALID_ARGUMENT
    assert "17" in e.value.details and "16" in e.value.details


def test_send_to_self_is_invalid(clients):
    with pytest.raises(SpartanError) as e:
        clients("alice").send("alice", "me")
    assert code_of(e) == OK.INVALID_ARGUMENT


def test_send_to_unknown_is_not_found(clients):
    with pytest.raises(SpartanError) as e:
        clients("alice").send("zed", "hi")
    assert code_of(e) == OK.NOT_FOUND


def test_send_without_request_fails_precondition(clients):
    with pytest.raises(SpartanError) as e:
        clients("alice").send("bob", "hi")
    assert code_of(e) == OK.FAILED_PRECONDITION
    # Nor may the asked user send before answering.
    clients("alice").request_chat("bob")
    with pytest.raises(SpartanError) as e:
        clients("bob").send("alice", "hi")
    assert code_of(e) == OK.FAILED_PRECONDITION


def test_too_many_waiting_messages_is_exhausted(start_server, clients):
    srv = start_server(max_pending_messages=2)
    alice = clients("alice", srv)
    alice.request_chat("bob")
    alice.send("bob", "1")
    alice.send("bob", "2")
    with pytest.raises(SpartanError) as e:
        alice.send("bob", "3")
    assert code_of(e) == OK.RESOURCE_EXHAUSTED
    assert e.value.retry_delay is None  # the line itself is refused: waiting does not help
    # Accepting empties the queue.
    assert clients("bob", srv).answer_chat("alice").released == 2
    assert not alice.send("bob", "3").pending


def test_a_send_past_the_rate_limit_carries_the_wait(start_server, clients):
    """The rate limit's refusal: RESOURCE_EXHAUSTED, the limit and the wait in words, and
    the wait as a google.rpc.RetryInfo detail, which SpartanError.retry_delay reads."""
    srv = start_server(rate="{calls: 1, window_seconds: 60, burst: 1}")
    alice = clients("alice", srv)
    alice.request_chat("bob")
    alice.send("bob", "1")
    with pytest.raises(SpartanError) as e:
        alice.send("bob", "2")
    assert code_of(e) == OK.RESOURCE_EXHAUSTED
    assert e.value.details.startswith("alice may send 1 message a minute; try again in "), e.value.details
    assert 50 < e.value.retry_delay <= 60, e.value.retry_delay
    assert isinstance(e.value.retry_delay, float)


def test_retry_delay_from_a_raw_and_an_aio_rpc_error(start_server):
    """spartan_client.retry_delay reads the detail of any grpc.RpcError: a blocking
    call's and a grpc.aio call's (the inbox follower's) alike."""
    import asyncio

    from spartan.v1 import chat_pb2_grpc
    from spartan_client import retry_delay

    srv = start_server(rate="{calls: 1, window_seconds: 60, burst: 1}")
    req = pb.SendMsgRequest(user="alice", receiver="bob", payload=b"hi")
    with srv.client("alice") as alice:
        alice.request_chat("bob")
        alice.stub.SendMsg(req, timeout=WAIT)  # the client's stub carries its session token
        with pytest.raises(grpc.RpcError) as e:
            alice.stub.SendMsg(req, timeout=WAIT)
        assert 50 < retry_delay(e.value) <= 60
        with pytest.raises(grpc.RpcError) as e:
            alice.stub.GetKey(pb.GetKeyRequest(peer="zed"), timeout=WAIT)
        assert e.value.code() == OK.NOT_FOUND and retry_delay(e.value) is None
        metadata = (("authorization", f"Bearer {alice.session_token()}"),)

    async def aio_refusal():
        async with grpc.aio.insecure_channel(srv.target) as channel:
            try:
                await chat_pb2_grpc.ChatServiceStub(channel).SendMsg(req, timeout=WAIT, metadata=metadata)
            except grpc.RpcError as err:
                return SpartanError.from_rpc_error(err)
        return None

    err = asyncio.run(aio_refusal())
    assert err is not None and err.code == OK.RESOURCE_EXHAUSTED
    assert 50 < err.retry_delay <= 60

    class NotACall(grpc.RpcError):
        pass

    assert retry_delay(NotACall()) is None
    assert SpartanError.from_rpc_error(NotACall()).retry_delay is None


def test_other_errors_carry_no_retry_delay(start_server, clients):
    """A request far over the size limit is RESOURCE_EXHAUSTED too, but not the rate
    limit's: no wait. Nor do other refusals carry one."""
    srv = start_server(max_message_bytes=16)
    alice = clients("alice", srv)
    alice.request_chat("bob")
    with pytest.raises(SpartanError) as e:
        alice.send("bob", "x" * 100_000)
    assert code_of(e) == OK.RESOURCE_EXHAUSTED and e.value.retry_delay is None
    with pytest.raises(SpartanError) as e:
        alice.send("bob", "x" * 17)
    assert code_of(e) == OK.INVALID_ARGUMENT and e.value.retry_delay is None
    with pytest.raises(SpartanError) as e:
        alice.send("zed", "hi")
    assert code_of(e) == OK.NOT_FOUND and e.value.retry_delay is None


# -- SendMsg: client message ids (idempotent sends) ----------------------------------


def test_send_with_the_same_client_msg_id_stores_the_message_once(clients, inbox):
    """A retry whose first answer was lost: the same id, the same answer, one message."""
    alice, bob = chatting(clients, "alice", "bob")
    bob_inbox = inbox(bob)
    assert bob_inbox.take(1)[0].type == pb.MESSAGE_TYPE_CHAT_REQUEST
    cid = str(uuid.uuid4())
    first = alice.send("bob", "only once", client_msg_id=cid)
    again = alice.send("bob", "only once", client_msg_id=cid)
    assert again.id == first.id and again.sent_time == first.sent_time and not again.pending
    (msg,) = bob_inbox.take(1)
    assert (msg.id, msg.client_msg_id, text_of(msg)) == (first.id, cid, "only once")
    alice.send("bob", "the next one")  # a fresh id: a new message
    (nxt,) = bob_inbox.take(1)
    assert text_of(nxt) == "the next one" and nxt.seq == msg.seq + 1
    assert bob_inbox.quiet()
    assert [text_of(m) for m in bob.history("alice").messages] == ["only once", "the next one"]
    assert [m.id for m in bob.history("alice").messages][0] == first.id


def test_send_makes_a_fresh_client_msg_id_per_call(clients, inbox):
    """Without client_msg_id, each call sends a new UUID: the same text twice is two messages."""
    alice, bob = chatting(clients, "alice", "bob")
    bob_inbox = inbox(bob)
    bob_inbox.take(1)  # the request
    ids = {alice.send("bob", "same text").id for _ in range(2)}
    assert len(ids) == 2
    msgs = bob_inbox.take(2)
    cids = [m.client_msg_id for m in msgs]
    assert cids[0] != cids[1]
    for cid in cids:
        assert str(uuid.UUID(cid)) == cid  # a UUID in its usual form
    assert [text_of(m) for m in bob.history("alice").messages] == ["same text", "same text"]


def test_send_with_an_empty_client_msg_id_is_not_checked(clients):
    alice, bob = chatting(clients, "alice", "bob")
    alice.send("bob", "x", client_msg_id="")
    alice.send("bob", "x", client_msg_id="")
    msgs = bob.history("alice").messages
    assert len(msgs) == 2 and {m.client_msg_id for m in msgs} == {""}


def test_a_retried_waiting_message_waits_once(clients):
    """Before the answer, a repeat is answered 'pending' again and released once."""
    alice, bob = clients("alice"), clients("bob")
    alice.request_chat("bob")
    first = alice.send("bob", "wait for me", client_msg_id="retry-1")
    again = alice.send("bob", "wait for me", client_msg_id="retry-1")
    assert first.pending and again.pending and again.id == first.id
    assert bob.answer_chat("alice").released == 1
    assert [(m.id, text_of(m)) for m in bob.history("alice").messages] == [(first.id, "wait for me")]


@pytest.mark.parametrize(
    "cid",
    ["x" * 65, "has space", "slash/in/it", "dot.in.it", "\u00fcmlaut", "a\nb"],
    ids=["65-bytes", "space", "slash", "dot", "non-ascii", "newline"],
)
def test_a_malformed_client_msg_id_is_invalid(clients, cid):
    alice, bob = chatting(clients, "alice", "bob")
    with pytest.raises(SpartanError) as e:
        alice.send("bob", "hi", client_msg_id=cid)
    assert code_of(e) == OK.INVALID_ARGUMENT
    assert "client_msg_id" in e.value.details
    assert list(bob.history("alice").messages) == []


def test_a_client_msg_id_of_64_letters_digits_dashes_and_underscores_is_fine(clients):
    alice, bob = chatting(clients, "alice", "bob")
    cid = ("Az09-_" * 11)[:64]
    assert len(cid) == 64
    first = alice.send("bob", "edge", client_msg_id=cid)
    assert alice.send("bob", "edge", client_msg_id=cid).id == first.id
    assert [text_of(m) for m in bob.history("alice").messages] == ["edge"]


def test_reusing_a_client_msg_id_for_another_receiver_is_invalid(clients):
    alice, bob = chatting(clients, "alice", "bob")
    alice.request_chat("charlie")
    clients("charlie").answer_chat("alice")
    alice.send("bob", "for bob", client_msg_id="shared-id")
    with pytest.raises(SpartanError) as e:
        alice.send("charlie", "for charlie", client_msg_id="shared-id")
    assert code_of(e) == OK.INVALID_ARGUMENT
    assert "bob" in e.value.details
    assert list(clients("charlie").history("alice").messages) == []
    # Ids are per sender: bob may use the same one.
    assert bob.send("alice", "from bob", client_msg_id="shared-id").id


# -- ReceiveMsg and Ack ----------------------------------------------------------------


def test_stream_delivers_many_messages_in_order_and_complete(clients, inbox):
    alice, bob = chatting(clients, "alice", "bob")
    charlie = clients("charlie")
    charlie.request_chat("bob")
    clients("bob").answer_chat("charlie")
    bob_inbox = inbox(bob)
    n = 300
    ids = {"alice": [], "charlie": []}
    for i in range(n):
        ids["alice"].append(alice.send("bob", f"a{i}").id)
        ids["charlie"].append(charlie.send("bob", f"c{i}").id)
    # Inbox: the two chat requests, then 2n texts.
    msgs = bob_inbox.take(2 + 2 * n, timeout=30)
    assert [m.seq for m in msgs] == list(range(1, 2 * n + 3))
    assert len({m.id for m in msgs}) == len(msgs)
    texts = [m for m in msgs if m.type == pb.MESSAGE_TYPE_TEXT]
    for sender, prefix in (("alice", "a"), ("charlie", "c")):
        mine = [m for m in texts if m.sender == sender]
        assert [text_of(m) for m in mine] == [f"{prefix}{i}" for i in range(n)]
        assert [m.id for m in mine] == ids[sender]
    assert bob_inbox.quiet()


def test_stream_resumes_after_reconnect_without_gaps_or_duplicates(clients, inbox):
    alice, bob = chatting(clients, "alice", "bob")
    for i in range(10):
        alice.send("bob", f"m{i}")
    first = inbox(bob)
    got = first.take(6)  # the request and m0..m4
    first.cancel()  # the connection drops
    last_seq = got[-1].seq
    for i in range(10, 20):
        alice.send("bob", f"m{i}")
    second = inbox(bob, seq=last_seq)
    rest = second.take(15)
    all_msgs = got + rest
    assert [m.seq for m in all_msgs] == list(range(1, 22))
    assert len({m.id for m in all_msgs}) == 21
    assert [text_of(m) for m in all_msgs[1:]] == [f"m{i}" for i in range(20)]
    assert second.quiet()
    # Live messages follow on the resumed stream.
    alice.send("bob", "live")
    (live,) = second.take(1)
    assert (live.seq, text_of(live)) == (22, "live")


def test_stream_with_seq_zero_resumes_after_ack(clients, inbox):
    alice, bob = chatting(clients, "alice", "bob")
    for i in range(5):
        alice.send("bob", f"m{i}")
    # Without an ack, seq 0 starts at the beginning.
    fresh = inbox(bob)
    assert [m.seq for m in fresh.take(6)] == list(range(1, 7))
    fresh.cancel()
    bob.ack(4)
    after_ack = inbox(bob)
    msgs = after_ack.take(2)
    assert [(m.seq, text_of(m)) for m in msgs] == [(5, "m3"), (6, "m4")]
    assert after_ack.quiet()
    after_ack.cancel()
    # An older ack does not move the cursor back.
    bob.ack(2)
    again = inbox(bob)
    assert [m.seq for m in again.take(2)] == [5, 6]


def test_stream_past_the_end_is_out_of_range(clients, inbox):
    alice, bob = chatting(clients, "alice", "bob")
    alice.send("bob", "one")  # bob's inbox: request, "one"
    err = inbox(bob, seq=3).end()
    assert isinstance(err, SpartanError) and err.code == OK.OUT_OF_RANGE
    # The end itself is fine: nothing yet, then live messages.
    at_end = inbox(bob, seq=2)
    assert at_end.quiet()
    alice.send("bob", "two")
    assert text_of(at_end.take(1)[0]) == "two"


def test_stored_messages_carry_the_stores_epoch(clients, inbox):
    alice, bob = chatting(clients, "alice", "bob")
    alice.send("bob", "one")
    msgs = inbox(bob).take(2)
    assert [m.seq for m in msgs] == [1, 2]
    epoch = msgs[0].epoch
    assert epoch and {m.epoch for m in msgs} == {epoch}
    # Live messages carry it too, and so does the other user's inbox: one store.
    alice_msgs = inbox(alice).take(1)  # bob's acceptance
    assert alice_msgs[0].epoch == epoch


def test_stream_from_another_epoch_starts_with_a_notice_and_resumes_after_the_ack(clients, inbox):
    """A position of an epoch the server does not have (it lost its data) does not skip the new inbox."""
    alice, bob = chatting(clients, "alice", "bob")
    for i in range(4):
        alice.send("bob", f"m{i}")
    epoch = inbox(bob).take(1)[0].epoch
    bob.ack(2, epoch)
    # seq 5 of an old epoch: not "after 5" here, but after what was acknowledged.
    old = inbox(bob, seq=5, epoch="an-epoch-long-gone")
    notice, *rest = old.take(4)
    assert (notice.type, notice.seq, notice.id, notice.note) == (pb.MESSAGE_TYPE_SYSTEM, 0, "", LOST_NOTE)
    assert [(m.seq, text_of(m), m.epoch) for m in rest] == [(3, "m1", epoch), (4, "m2", epoch), (5, "m3", epoch)]
    assert old.quiet()
    # The current epoch: no notice, and seq counts as usual.
    same = inbox(bob, seq=4, epoch=epoch)
    (msg,) = same.take(1)
    assert (msg.seq, text_of(msg)) == (5, "m3")
    # Without an epoch the old check stays: past the end is OUT_OF_RANGE.
    err = inbox(bob, seq=9).end()
    assert isinstance(err, SpartanError) and err.code == OK.OUT_OF_RANGE


def test_ack_of_another_epoch_is_refused(clients, inbox):
    alice, bob = chatting(clients, "alice", "bob")
    alice.send("bob", "one")
    epoch = inbox(bob).take(1)[0].epoch
    with pytest.raises(SpartanError) as e:
        bob.ack(2, "an-epoch-long-gone")
    assert code_of(e) == OK.FAILED_PRECONDITION
    assert "epoch" in e.value.details
    bob.ack(1, epoch)  # the right epoch: recorded
    bob.ack(2)  # no epoch: not checked
    alice.send("bob", "two")
    (first,) = inbox(bob).take(1)
    assert (first.seq, text_of(first)) == (3, "two")


def test_stream_for_unknown_user_is_not_found(clients, inbox):
    err = inbox(clients("zed")).end()
    assert isinstance(err, SpartanError) and err.code == OK.NOT_FOUND


def test_ack_past_the_end_is_out_of_range(clients):
    bob = clients("bob")
    with pytest.raises(SpartanError) as e:
        bob.ack(1)
    assert code_of(e) == OK.OUT_OF_RANGE
    clients("alice").request_chat("bob")
    bob.ack(1)  # the request is seq 1
    with pytest.raises(SpartanError) as e:
        bob.ack(2)
    assert code_of(e) == OK.OUT_OF_RANGE


def test_ack_unknown_user_is_not_found(clients):
    with pytest.raises(SpartanError) as e:
        clients("zed").ack(0)
    assert code_of(e) == OK.NOT_FOUND


def test_stream_ends_unavailable_when_server_stops(server, clients, inbox):
    bob_inbox = inbox(clients("bob"))
    clients("alice").request_chat("bob")
    bob_inbox.take(1)
    assert server.stop() == 0
    err = bob_inbox.end()
    assert isinstance(err, SpartanError) and err.code == OK.UNAVAILABLE


# -- History ---------------------------------------------------------------------------


def test_history_pages_backwards_oldest_first(clients):
    alice, bob = chatting(clients, "alice", "bob")
    for i in range(7):
        (alice if i % 2 == 0 else bob).send("bob" if i % 2 == 0 else "alice", f"h{i}")
    page = bob.history("alice", page_size=3)
    assert [text_of(m) for m in page.messages] == ["h4", "h5", "h6"]
    assert [m.sender for m in page.messages] == ["alice", "bob", "alice"]
    assert page.next_before_seq == page.messages[0].seq
    older = bob.history("alice", before_seq=page.next_before_seq, page_size=3)
    assert [text_of(m) for m in older.messages] == ["h1", "h2", "h3"]
    oldest = bob.history("alice", before_seq=older.next_before_seq, page_size=3)
    assert [text_of(m) for m in oldest.messages] == ["h0"]
    assert oldest.next_before_seq == 0
    # Both users see the same conversation; page size 0 means 50.
    assert [text_of(m) for m in alice.history("bob").messages] == [f"h{i}" for i in range(7)]
    assert [text_of(m) for m in alice.last_messages("bob", 5)] == [f"h{i}" for i in range(2, 7)]


def test_last_messages_follows_pages_bounded_by_bytes(start_server):
    """100 messages of 64 KiB (6.4 MiB) come back complete and in order, through a
    channel with grpcio's stock options (a 4 MiB receive limit): a page holds at
    most about 3 MiB whatever page_size asks, and last_messages follows
    next_before_seq until it has them all."""
    srv = start_server(max_message_bytes=65536)
    size, n = 65536, 100
    channels = [grpc.insecure_channel(srv.target) for _ in range(2)]  # no options at all
    alice = SpartanClient(srv.target, "alice", timeout=WAIT, channel=channels[0], signer=srv.signer("alice"))
    bob = SpartanClient(srv.target, "bob", timeout=WAIT, channel=channels[1], signer=srv.signer("bob"))
    try:
        alice.request_chat("bob")
        bob.answer_chat("alice")
        texts = []
        for i in range(n):
            head = f"{i:03d}:"
            texts.append(head + "x" * (size - len(head)))
            (alice if i % 2 == 0 else bob).send("bob" if i % 2 == 0 else "alice", texts[-1])
        # One call asks for all 100 and gets a page that fits, with a way on.
        page = alice.history("bob", page_size=n)
        assert 0 < len(page.messages) < n
        assert page.next_before_seq == page.messages[0].seq
        assert sum(len(m.payload) for m in page.messages) <= 3 << 20
        got = alice.last_messages("bob", n)
        assert len(got) == n
        assert [text_of(m) for m in got] == texts
        assert [m.seq for m in got] == list(range(1, n + 1))
        assert [m.sender for m in got] == ["alice", "bob"] * (n // 2)
        # Fewer than all, across a page boundary: the newest, in order.
        assert [text_of(m) for m in bob.last_messages("alice", 70)] == texts[-70:]
        # More than there are: all of them.
        assert len(bob.last_messages("alice", 1000)) == n
    finally:
        for ch in channels:
            ch.close()


def test_history_page_size_limits(clients):
    alice, _ = chatting(clients, "alice", "bob")
    alice.send("bob", "x")
    assert len(alice.history("bob", page_size=500).messages) == 1
    with pytest.raises(SpartanError) as e:
        alice.history("bob", page_size=501)
    assert code_of(e) == OK.INVALID_ARGUMENT


def test_history_errors(clients):
    with pytest.raises(SpartanError) as e:
        clients("alice").history("alice")
    assert code_of(e) == OK.INVALID_ARGUMENT
    with pytest.raises(SpartanError) as e:
        clients("alice").history("zed")
    assert code_of(e) == OK.NOT_FOUND
    assert list(clients("alice").history("bob").messages) == []


def test_payload_and_encryption_are_kept_as_sent(clients, inbox):
    """The server never reads a payload: whatever encryption a message says it has
    (one it does not know too) and whatever bytes it carries come back as sent, on
    the stream and in History; UNSPECIFIED is no longer rewritten as PLAINTEXT."""
    alice, bob = chatting(clients, "alice", "bob")
    bob_inbox = inbox(bob)
    assert bob_inbox.take(1)[0].type == pb.MESSAGE_TYPE_CHAT_REQUEST
    sent = [
        (pb.ENCRYPTION_UNSPECIFIED, b"hi"),
        (pb.ENCRYPTION_PLAINTEXT, b"hi"),
        (pb.ENCRYPTION_E2E, b"\x01" + bytes(range(40))),
        (7, b"\x09\x00\x01"),
        (-1, b"\xc3\x28"),
    ]
    for i, (encryption, payload) in enumerate(sent):
        alice.send_payload("bob", payload, encryption, client_msg_id=f"m-{i}")
    got = bob_inbox.take(len(sent))
    history = bob.history("alice").messages
    for msgs in (got, history):
        assert [(m.encryption, m.payload, m.client_msg_id) for m in msgs] == [
            (e, p, f"m-{i}") for i, (e, p) in enumerate(sent)
        ]


# -- keys: PublishKey and GetKey ---------------------------------------------------


def test_publish_key_then_get_key(clients):
    alice, bob = clients("alice"), clients("bob")
    key = bytes(range(32))
    with pytest.raises(NoKeyError) as e:
        bob.get_key("alice")
    assert e.value.code == OK.NOT_FOUND and e.value.user == "alice"
    assert "has not set up encryption" in e.value.details
    assert alice.publish_key(key) is True
    assert alice.publish_key(key) is False  # the same key again: nothing changes
    assert bob.get_key("alice") == key


def test_publish_key_refuses_a_bad_key(clients):
    alice = clients("alice")
    for bad in (b"", bytes(31), bytes(33), bytes(31) + b"\x80"):
        with pytest.raises(SpartanError) as e:
            alice.publish_key(bad)
        assert code_of(e) == OK.INVALID_ARGUMENT, bad
    with pytest.raises(ValueError):
        alice.publish_key()  # a client without keys has none of its own


def test_get_key_of_an_unknown_user(clients):
    with pytest.raises(SpartanError) as e:
        clients("alice").get_key("zed")
    assert code_of(e) == OK.NOT_FOUND


def test_a_new_key_tells_everyone_with_a_conversation(clients, inbox):
    """A changed key puts one MESSAGE_TYPE_KEY_PUBLISHED event in the inbox of each
    user who has a conversation with its owner; the same key again, none."""
    alice, bob, charlie = clients("alice"), clients("bob"), clients("charlie")
    alice.request_chat("bob")
    alice_inbox = inbox(alice, key_events=True)
    charlie_inbox = inbox(charlie, key_events=True)
    bob.publish_key(bytes(range(32)))
    (event,) = alice_inbox.take(1)
    assert (event.type, event.sender, event.receiver) == (pb.MESSAGE_TYPE_KEY_PUBLISHED, "bob", "alice")
    bob.publish_key(bytes(range(32)))
    bob.publish_key(bytes(range(1, 33)))
    (event,) = alice_inbox.take(1)
    assert (event.type, event.sender) == (pb.MESSAGE_TYPE_KEY_PUBLISHED, "bob")
    assert alice_inbox.quiet(0.3)
    assert charlie_inbox.quiet(0.1)  # no conversation with bob
