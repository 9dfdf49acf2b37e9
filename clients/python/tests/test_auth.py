"""Logging in (docs/SECURITY.md, "Authentication: nobody speaks as someone else"),
from Python against the built Go server, which the fixtures start with
``auth: {required: true}``.

Through raw grpcio stubs: every RPC but Challenge, Authenticate and ListUsers
is UNAUTHENTICATED without a session token or with a forged one; with alice's
token, every request that names bob is PERMISSION_DENIED and nothing of bob's
changes; bob's key is bound on first use and another one is refused until
``spartan-server -reset-key bob``. The library logs in by itself, renews its
token before the end, logs in again when a server no longer takes it (an
in-memory server restarted with a new secret), and client.py says "Cannot log
in" when the server refuses its key. spartan_auth signs as RFC 8032 (and Go's
crypto/ed25519) does.
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import Callable, Dict, Optional, Tuple

import grpc
import pytest

import spartan_auth as auth
from conftest import WAIT, token_metadata
from spartan_client import OPEN_RPCS, InboxFollower, Session, SpartanClient, SpartanError, log_in, pb, renew_time
from spartan.v1 import chat_pb2_grpc

CODE = grpc.StatusCode
#: What the server says to a session that names someone else.
NAMES_BOB = "you are alice: a request cannot name bob"


@pytest.fixture
def raw_stub():
    """Returns stub(target): a raw generated stub, with no session of its own;
    its channel is closed at the end."""
    channels = []

    def make(target: str) -> chat_pb2_grpc.ChatServiceStub:
        channels.append(grpc.insecure_channel(target))
        return chat_pb2_grpc.ChatServiceStub(channels[-1])

    yield make
    for channel in channels:
        channel.close()


def first_message(stream) -> pb.Message:
    """The first message of a ReceiveMsg stream, which is then cancelled."""
    try:
        return next(iter(stream))
    finally:
        stream.cancel()


def bearer(token: str) -> tuple:
    return (("authorization", f"Bearer {token}"),)


#: A call's outcome: its status code (None: it worked) and the server's sentence.
Outcome = Tuple[Optional[grpc.StatusCode], str]


def every_call(stub, metadata, user: str) -> Dict[str, Outcome]:
    """Calls each RPC that needs a session, with ``metadata``, in the name of
    ``user``; returns each call's outcome by RPC name."""
    calls: Dict[str, Callable[[], object]] = {
        "Login": lambda: stub.Login(pb.LoginRequest(user=user), timeout=WAIT, metadata=metadata),
        "RequestChat": lambda: stub.RequestChat(
            pb.RequestChatRequest(user=user, peer="charlie"), timeout=WAIT, metadata=metadata
        ),
        "AnswerChat": lambda: stub.AnswerChat(
            pb.AnswerChatRequest(user=user, peer="charlie", accept=True), timeout=WAIT, metadata=metadata
        ),
        "SendMsg": lambda: stub.SendMsg(
            pb.SendMsgRequest(user=user, receiver="charlie", payload=f"I am not really {user}".encode()),
            timeout=WAIT,
            metadata=metadata,
        ),
        "SendMsgStream": lambda: list(
            stub.SendMsgStream(
                iter([pb.SendMsgRequest(user=user, receiver="charlie", payload=f"I am not really {user}".encode())]),
                timeout=WAIT,
                metadata=metadata,
            )
        ),
        "ReceiveMsg": lambda: first_message(
            stub.ReceiveMsg(pb.Message(receiver=user), timeout=WAIT, metadata=metadata)
        ),
        "Ack": lambda: stub.Ack(pb.AckRequest(user=user, seq=1), timeout=WAIT, metadata=metadata),
        "History": lambda: stub.History(pb.HistoryRequest(user=user, peer="charlie"), timeout=WAIT, metadata=metadata),
        "PublishKey": lambda: stub.PublishKey(
            pb.PublishKeyRequest(user=user, public_key=bytes(32)), timeout=WAIT, metadata=metadata
        ),
        "GetKey": lambda: stub.GetKey(pb.GetKeyRequest(user=user, peer="charlie"), timeout=WAIT, metadata=metadata),
        "GetKeys": lambda: stub.GetKeys(
            pb.GetKeysRequest(user=user, peers=["charlie"]), timeout=WAIT, metadata=metadata
        ),
        "CreateGroup": lambda: stub.CreateGroup(
            pb.CreateGroupRequest(user=user, group=f"g-{user}"), timeout=WAIT, metadata=metadata
        ),
        "AddMember": lambda: stub.AddMember(
            pb.AddMemberRequest(user=user, group="bobs", member="alice"), timeout=WAIT, metadata=metadata
        ),
        "LeaveGroup": lambda: stub.LeaveGroup(
            pb.LeaveGroupRequest(user=user, group="bobs"), timeout=WAIT, metadata=metadata
        ),
        "ListGroups": lambda: stub.ListGroups(pb.ListGroupsRequest(user=user), timeout=WAIT, metadata=metadata),
        "GetGroup": lambda: stub.GetGroup(pb.GetGroupRequest(user=user, group="bobs"), timeout=WAIT, metadata=metadata),
        "ShareGroupKey": lambda: stub.ShareGroupKey(
            pb.ShareGroupKeyRequest(user=user, group="bobs", keys=[pb.SealedKey(receiver="charlie", payload=b"k")]),
            timeout=WAIT,
            metadata=metadata,
        ),
    }
    out: Dict[str, Outcome] = {}
    for name, call in calls.items():
        try:
            call()
            out[name] = (None, "")
        except grpc.RpcError as err:
            out[name] = (err.code(), err.details() or "")
    return out


def service_rpcs() -> set:
    """The name of every RPC of spartan.v1.ChatService."""
    return {m.name for m in pb.DESCRIPTOR.services_by_name["ChatService"].methods}


# -- no session, a forged one ---------------------------------------------------------------------


def test_every_rpc_but_the_log_in_steps_and_list_users_needs_a_session(server, raw_stub):
    """Without a token, with a forged one, an altered one, one of another scheme:
    UNAUTHENTICATED, RPC by RPC; the table covers every RPC of the service."""
    stub = raw_stub(server.target)
    good = log_in(stub, "bob", auth.generate_signing_key(), WAIT).token
    altered = good[:-3] + ("A" if good[-3] != "A" else "B") + good[-2:]
    forged = (bearer("v1.forged"), bearer("not even a token"), bearer(altered), (("authorization", "Basic Ym9i"),))
    for metadata in (None, *forged):
        outcomes = every_call(stub, metadata, "bob")
        assert set(outcomes) | OPEN_RPCS == service_rpcs()
        wrong = {name: out for name, out in outcomes.items() if out[0] != CODE.UNAUTHENTICATED}
        assert not wrong, f"with {metadata}: {wrong}"
        if metadata is None:
            assert {details for _, details in outcomes.values()} == {
                "log in first: this call needs a session token (Challenge, then Authenticate)"
            }
    # The open ones: no session needed.
    assert list(stub.ListUsers(pb.ListUsersRequest(), timeout=WAIT).users) == ["alice", "bob", "charlie", "eve"]
    assert len(stub.Challenge(pb.ChallengeRequest(user="alice"), timeout=WAIT).challenge) > 16
    # And the real token works for every call (bob's own: no user field names anyone else).
    refused = {CODE.UNAUTHENTICATED, CODE.PERMISSION_DENIED}
    outcomes = every_call(stub, bearer(good), "bob")
    assert not {name: out for name, out in outcomes.items() if out[0] in refused}, outcomes


def test_a_library_client_without_a_log_in_key_gets_the_servers_sentence(server):
    with SpartanClient(server.target, "alice", timeout=WAIT) as anonymous:
        assert anonymous.signer is None and anonymous.session_token() == ""
        assert anonymous.list_users() == ["alice", "bob", "charlie", "eve"]  # needs no session
        with pytest.raises(SpartanError) as err:
            anonymous.login()
        assert err.value.code == CODE.UNAUTHENTICATED and "log in first" in err.value.details
        with pytest.raises(SpartanError) as err:
            first_message(anonymous.receive())
        assert err.value.code == CODE.UNAUTHENTICATED


# -- nobody speaks as someone else ----------------------------------------------------------------


def test_with_alices_session_no_request_may_name_bob(server, plain_clients, inbox, raw_stub):
    """Each RPC that names bob with alice's token is PERMISSION_DENIED, with the
    server's sentence, and nothing of bob's changes: his inbox, his
    acknowledged position, his conversations, his group and his key."""
    bob, charlie = plain_clients("bob"), plain_clients("charlie")
    charlie.request_chat("bob")  # bob's inbox: the request, seq 1
    bob.create_group("bobs", ["charlie"])
    before = (bob.login(), list(bob.list_groups()), charlie.login())

    stub = raw_stub(server.target)
    alice = token_metadata(stub, "alice")
    outcomes = every_call(stub, alice, "bob")
    assert set(outcomes) | OPEN_RPCS == service_rpcs()
    assert {name: out for name, out in outcomes.items() if out != (CODE.PERMISSION_DENIED, NAMES_BOB)} == {}

    assert (bob.login(), list(bob.list_groups()), charlie.login()) == before
    assert list(bob.get_group("bobs").members) == ["bob", "charlie"]
    assert bob.history("charlie").messages == [] and charlie.history("bob").messages == []
    with pytest.raises(SpartanError) as err:
        charlie.get_key("bob")  # alice's PublishKey in bob's name did nothing
    assert err.value.code == CODE.NOT_FOUND
    (request,) = inbox(bob).take(1)  # the Ack in bob's name did not move his position
    assert (request.seq, request.type, request.sender) == (1, pb.MESSAGE_TYPE_CHAT_REQUEST, "charlie")
    # alice's own calls work, her name left out or given; bob's group stays closed to her.
    assert stub.Login(pb.LoginRequest(), timeout=WAIT, metadata=alice).user == "alice"
    named = stub.Login(pb.LoginRequest(user="alice"), timeout=WAIT, metadata=alice)
    assert list(named.others) == ["bob", "charlie", "eve"]
    with pytest.raises(grpc.RpcError) as raised:
        stub.AddMember(pb.AddMemberRequest(group="bobs", member="alice"), timeout=WAIT, metadata=alice)
    assert raised.value.code() == CODE.PERMISSION_DENIED
    assert list(bob.get_group("bobs").members) == ["bob", "charlie"]


def test_bob_with_another_key_is_permission_denied(server, plain_clients, raw_stub):
    """The server takes bob's first key as his; another is refused, raw or through
    the library, and bob's own key still works."""
    bob = plain_clients("bob")
    bob.login()  # binds the key of bob's key directory
    with pytest.raises(grpc.RpcError) as raised:
        token_metadata(raw_stub(server.target), "bob")  # a fresh key
    assert raised.value.code() == CODE.PERMISSION_DENIED
    assert raised.value.details() == (
        "bob logs in with another key; if bob set up Spartan again, an operator resets the key "
        "(spartan-server -reset-key bob)"
    )
    with SpartanClient(server.target, "bob", timeout=WAIT, signer=auth.generate_signing_key()) as impostor:
        with pytest.raises(SpartanError) as err:
            impostor.send_plaintext("alice", "I am bob")
        assert err.value.code == CODE.PERMISSION_DENIED
        with pytest.raises(SpartanError) as err:
            first_message(impostor.receive())
        assert err.value.code == CODE.PERMISSION_DENIED
    bob.forget_token(bob.session_token())
    assert bob.login().user == "bob"  # logs in again, with his own key


def test_reset_key_lets_bob_log_in_with_a_new_key(start_server, plain_clients, raw_stub):
    """spartan-server -reset-key bob, run with the server's configuration while it
    is stopped (a bolt store), forgets bob's key: his next one is taken."""
    srv = start_server(store="{kind: bolt, path: spartan.db}")
    plain_clients("bob", srv).login()
    lost = auth.generate_signing_key()  # bob set up Spartan again
    with pytest.raises(grpc.RpcError) as raised:
        token_metadata(raw_stub(srv.target), "bob", lost)
    assert raised.value.code() == CODE.PERMISSION_DENIED
    srv.stop()
    reset = srv.run("-reset-key", "bob")
    assert reset.returncode == 0, reset.stderr
    assert "The log-in key of bob is forgotten" in reset.stdout
    srv.start()
    stub = raw_stub(srv.target)
    assert stub.Login(pb.LoginRequest(), timeout=WAIT, metadata=token_metadata(stub, "bob", lost)).user == "bob"
    with pytest.raises(grpc.RpcError) as raised:  # the old key is the other one now
        token_metadata(stub, "bob", srv.signer("bob"))
    assert raised.value.code() == CODE.PERMISSION_DENIED


def test_a_reset_of_an_unknown_user_says_so(server):
    server.stop()
    reset = server.run("-reset-key", "zed")
    assert reset.returncode != 0 and "zed" in reset.stderr


# -- the library logs in by itself ------------------------------------------------------------------


def test_the_client_logs_in_once_and_every_call_carries_the_token(server, plain_clients, inbox):
    alice, bob = plain_clients("alice"), plain_clients("bob")
    token = alice.session_token()
    assert token.startswith("v1.") and alice.session_token() == token  # kept, not made per call
    alice.request_chat("bob")
    bob.answer_chat("alice")
    bob_inbox = inbox(bob)
    alice.send_plaintext("bob", "hi")
    (request, hi) = bob_inbox.take(2)
    assert (request.type, hi.payload, hi.sender) == (pb.MESSAGE_TYPE_CHAT_REQUEST, b"hi", "alice")
    assert alice.session_token() == token
    # The client's raw stub carries it too.
    assert alice.stub.Login(pb.LoginRequest(), timeout=WAIT).user == "alice"


def test_a_server_that_no_longer_takes_the_token_is_logged_in_to_again(start_server, plain_clients):
    """An in-memory server restarted has a new secret (and has forgotten the keys):
    the old token is UNAUTHENTICATED there, so a unary call logs in again and is
    tried once more, and a stream refused so forgets the token: the next one logs in."""
    srv = start_server(store="{kind: memory}")
    alice = plain_clients("alice", srv)
    old = alice.session_token()
    srv.stop()
    srv.start()  # the same port
    assert alice.wait_until_reachable(WAIT)
    with pytest.raises(grpc.RpcError) as raised:
        alice.stub_for(srv.target).Login(pb.LoginRequest(), timeout=WAIT, metadata=bearer(old))
    assert raised.value.code() == CODE.UNAUTHENTICATED
    assert alice.login().user == "alice"  # refused once, logged in again, tried again
    new = alice.session_token()
    assert new != old

    srv.stop()
    srv.start()
    assert alice.wait_until_reachable(WAIT)
    with pytest.raises(SpartanError) as err:
        first_message(alice.receive())
    assert err.value.code == CODE.UNAUTHENTICATED
    assert first_message(alice.receive()).type == pb.MESSAGE_TYPE_PRESENCE  # a new token: the stream opens
    assert alice.session_token() not in (old, new)


def test_the_follower_logs_in_again_when_its_stream_is_refused(start_server, plain_clients):
    """The inbox follower's stream across a restart of an in-memory server: the
    new server refuses the old token once, the follower logs in again and goes
    on, without giving up."""
    srv = start_server(store="{kind: memory}")
    bob = plain_clients("bob", srv)
    got, reconnected, gave_up = [], threading.Event(), []
    arrived = threading.Condition()

    def on_message(msg: pb.Message) -> None:
        with arrived:
            got.append(msg)
            arrived.notify_all()

    follower = InboxFollower(bob, on_message, on_reconnected=reconnected.set, on_give_up=gave_up.append).start()
    try:
        with arrived:
            assert arrived.wait_for(lambda: got, WAIT)  # the first presence events: the stream is open
        srv.stop()
        srv.start()
        assert reconnected.wait(WAIT)
        alice = plain_clients("alice", srv)
        alice.request_chat("bob")
        with arrived:
            assert arrived.wait_for(lambda: any(m.type == pb.MESSAGE_TYPE_CHAT_REQUEST for m in got), WAIT)
        assert not gave_up
    finally:
        follower.stop(ack=False)


def test_a_log_in_that_fails_is_the_calls_error(start_server, plain_clients):
    """A user the server does not know: the log-in's NOT_FOUND is what the call
    raises; an empty name, its INVALID_ARGUMENT."""
    srv = start_server()
    with pytest.raises(SpartanError) as err:
        plain_clients("zed", srv).login()
    assert err.value.code == CODE.NOT_FOUND and 'there is no user named "zed"' in err.value.details
    with pytest.raises(SpartanError) as err:
        plain_clients("", srv).session_token()
    assert err.value.code == CODE.INVALID_ARGUMENT


def test_a_server_that_does_not_require_logging_in_serves_clients_without_a_key(start_server, plain_clients):
    """auth.required off (for trusted networks only): a call without a token acts
    for the user its request names; a client with a key logs in all the same."""
    srv = start_server(auth="{required: false}")
    with SpartanClient(srv.target, "alice", timeout=WAIT) as anonymous:
        assert anonymous.login().user == "alice"
    assert plain_clients("bob", srv).session_token().startswith("v1.")


# -- renewing the token (no server: a stub that counts) ---------------------------------------------


class CountingStub:
    """Challenge and Authenticate as a server answers them, each token good for ``ttl``."""

    def __init__(self, ttl: dt.timedelta):
        self.ttl = ttl
        self.logins = 0
        self.signed: list = []

    def Challenge(self, req, timeout=None):  # noqa: N802 - the RPC's name
        return pb.ChallengeResponse(challenge=b"c" * 56)

    def Authenticate(self, req, timeout=None):  # noqa: N802
        assert auth.verify_challenge(req.public_key, req.user, req.challenge, req.signature)
        self.logins += 1
        res = pb.AuthenticateResponse(token=f"v1.token{self.logins}")
        res.expire_time.FromDatetime(dt.datetime.now(dt.timezone.utc) + self.ttl)
        return res


class StubClient(SpartanClient):
    """A client whose every server is one CountingStub."""

    def __init__(self, stub: CountingStub):
        super().__init__("unused:1", "alice", signer=auth.generate_signing_key())
        self.counting = stub

    def stub_for(self, target: str):
        return self.counting


@pytest.mark.parametrize("ttl_seconds, logins", [(3600, 1), (61.5, 1), (59, 1), (3, 1), (0, 3)])
def test_a_token_is_renewed_before_it_ends(ttl_seconds, logins):
    """A token is used again until a minute before its end, or a quarter of its
    life before if that is less (a 59-second or 3-second token too, not logged
    in for on every call); one that is due (here: ends now) is renewed before the call."""
    stub = CountingStub(dt.timedelta(seconds=ttl_seconds))
    client = StubClient(stub)
    try:
        tokens = [client.session_token() for _ in range(3)]
    finally:
        client.close()
    assert stub.logins == logins
    assert tokens[-1] == f"v1.token{logins}"


def test_renew_time_is_a_minute_or_a_quarter_of_the_life_before_the_end():
    now = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.timezone.utc)
    for life, before in [(3600, 60), (240, 60), (100, 25), (3, 0.75), (0, 0), (-5, 0)]:
        until = now + dt.timedelta(seconds=life)
        assert renew_time(until, now) == until - dt.timedelta(seconds=before), life


def test_a_forgotten_token_is_replaced_and_a_newer_one_stays():
    stub = CountingStub(dt.timedelta(hours=1))
    client = StubClient(stub)
    try:
        first = client.session_token()
        client.forget_token(first)
        second = client.session_token()
        client.forget_token(first)  # a refusal of the old token, arriving late
        assert (second, client.session_token(), stub.logins) == ("v1.token2", "v1.token2", 2)
    finally:
        client.close()


def test_session_metadata_and_expiry():
    when = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.timezone.utc)
    session = Session("v1.abc", when)
    assert session.metadata == (("authorization", "Bearer v1.abc"),)
    assert not session.good_for(60)


# -- the signature: RFC 8032, as Go's crypto/ed25519 -------------------------------------------------

#: RFC 8032, section 7.1, tests 1 to 3: seed, public key, message, signature (hex).
RFC8032 = [
    (
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        "",
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    ),
    (
        "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        "72",
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    ),
    (
        "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
        "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
        "af82",
        "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
    ),
]


@pytest.mark.parametrize("seed, public, message, signature", RFC8032, ids=["test1", "test2", "test3"])
def test_ed25519_is_rfc8032s(seed, public, message, signature):
    """The vectors Go's crypto/ed25519 is tested with: the same seed gives the same
    public key and (Ed25519 being deterministic) the same signature bytes."""
    from Crypto.Signature import eddsa

    key = auth.signing_key_from_seed(bytes.fromhex(seed))
    assert auth.signing_public_bytes(key).hex() == public
    assert eddsa.new(key, "rfc8032").sign(bytes.fromhex(message)).hex() == signature


def test_the_signed_challenge_is_gos():
    """SignedChallenge(user, challenge) = "spartan-auth-v1" 0x00 user 0x00 challenge."""
    assert auth.signed_challenge("alice", b"\x01\x02") == b"spartan-auth-v1\x00alice\x00\x01\x02"
    assert auth.signed_challenge("zoë", b"") == b"spartan-auth-v1\x00zo\xc3\xab\x00"
    key = auth.generate_signing_key()
    sig = auth.sign_challenge(key, "alice", b"c")
    public = auth.signing_public_bytes(key)
    assert len(sig) == auth.SIGNATURE_SIZE and auth.verify_challenge(public, "alice", b"c", sig)
    assert not auth.verify_challenge(public, "bob", b"c", sig)
    assert not auth.verify_challenge(public, "alice", b"d", sig)
    assert not auth.verify_challenge(public, "alice", b"c", sig[:-1] + bytes([sig[-1] ^ 1]))
    with pytest.raises(ValueError):
        auth.signing_key_from_seed(bytes(64))  # Go's 64-byte form is not a seed
