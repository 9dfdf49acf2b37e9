"""Group chats (issue 18) from Python, against the built server: the membership rules
through gRPC with their status codes, one order for every member (offline ones too),
sender keys at the library level (members read each other's posts, a member who left
cannot read what follows with any key they hold, one who joined cannot read what went
before, a member without a key is named, a changed key gets the sender key again), and
client.py's group commands and lines (docs/SECURITY.md, "Groups: sender keys")."""

from __future__ import annotations

import threading
import time

import grpc
import pytest

import spartan_e2e as e2e
from conftest import WAIT, GroupMember, with_keys
from spartan_client import NoGroupKeyError, SpartanError, new_message_id, pb
from spartan_keystore import GROUPS_FILE, KeyStore

CHOOSE = "[Spartan] Enter a user whom you want to chat with: "
USERS5 = ["alice", "bob", "charlie", "eve", "foo"]
NOT_ENCRYPTED_YET = "[Spartan] {} has not set up encryption yet and cannot read your posts to {} until they connect.\n"


def code_of(call) -> grpc.StatusCode:
    """The status code ``call()`` fails with (the test fails if it does not)."""
    with pytest.raises(SpartanError) as raised:
        call()
    return raised.value.code


def bogus_key(receiver: str) -> pb.SealedKey:
    """A sealed key that is not one: the server does not read it, only where it goes."""
    return pb.SealedKey(receiver=receiver, payload=b"\x01sealed", encryption=pb.ENCRYPTION_E2E, client_msg_id=new_message_id())


def quit_(*procs) -> None:
    for proc in procs:
        proc.send("/quit")
    for proc in procs:
        assert proc.wait() == 0, proc.describe()
        assert "Traceback" not in proc.err.text, proc.describe()


# -- the rules, through gRPC ------------------------------------------------------------------


def test_membership_rules_and_their_status_codes(start_server, plain_clients):
    """Every rule of docs/design.md "Groups" on the RPCs that meet it: a configured
    group changes only in the configuration (FAILED_PRECONDITION), a name is a user's
    or a group's only once (ALREADY_EXISTS), an unknown group is NOT_FOUND, only
    members read, post, share keys, see the members, add someone or leave
    (PERMISSION_DENIED), and the last member out frees the name."""
    srv = start_server(groups="{ops: [alice, bob]}")
    alice, bob, charlie = (plain_clients(u, srv) for u in ("alice", "bob", "charlie"))
    assert list(alice.login().groups) == ["ops"] and list(charlie.login().groups) == []
    ops = alice.get_group("ops")
    assert (ops.name, list(ops.members), ops.configured) == ("ops", ["alice", "bob"], True)
    assert code_of(lambda: alice.add_member("ops", "charlie")) == grpc.StatusCode.FAILED_PRECONDITION
    assert code_of(lambda: alice.leave_group("ops")) == grpc.StatusCode.FAILED_PRECONDITION
    assert code_of(lambda: charlie.get_group("ops")) == grpc.StatusCode.PERMISSION_DENIED

    assert code_of(lambda: alice.create_group("bob")) == grpc.StatusCode.ALREADY_EXISTS  # a user's name
    assert code_of(lambda: alice.create_group("ops")) == grpc.StatusCode.ALREADY_EXISTS  # a configured group's
    assert code_of(lambda: alice.create_group("no spaces")) == grpc.StatusCode.INVALID_ARGUMENT
    assert code_of(lambda: alice.create_group("team", ["zed"])) == grpc.StatusCode.NOT_FOUND
    team = alice.create_group("team", ["bob", "bob"])
    assert (team.name, list(team.members), team.configured) == ("team", ["alice", "bob"], False)
    assert code_of(lambda: bob.create_group("team", ["charlie"])) == grpc.StatusCode.ALREADY_EXISTS
    assert code_of(lambda: alice.add_member("team", "bob")) == grpc.StatusCode.ALREADY_EXISTS
    assert code_of(lambda: alice.add_member("team", "zed")) == grpc.StatusCode.NOT_FOUND

    nope = [
        lambda: alice.get_group("nope"),
        lambda: alice.add_member("nope", "charlie"),
        lambda: alice.leave_group("nope"),
        lambda: alice.post_plaintext("nope", "hello"),
        lambda: alice.group_history("nope"),
        lambda: alice.share_group_key("nope", [bogus_key("bob")]),
    ]
    assert [code_of(call) for call in nope] == [grpc.StatusCode.NOT_FOUND] * len(nope)
    outsider = [
        lambda: charlie.get_group("team"),
        lambda: charlie.add_member("team", "eve"),
        lambda: charlie.leave_group("team"),
        lambda: charlie.post_plaintext("team", "let me in"),
        lambda: charlie.group_history("team"),
        lambda: charlie.share_group_key("team", [bogus_key("alice")]),
        lambda: alice.share_group_key("team", [bogus_key("bob"), bogus_key("charlie")]),  # a receiver outside
    ]
    assert [code_of(call) for call in outsider] == [grpc.StatusCode.PERMISSION_DENIED] * len(outsider)
    both = pb.SendMsgRequest(user="alice", receiver="bob", group="team", payload=b"x")
    assert code_of(lambda: alice._unary("SendMsg", both)) == grpc.StatusCode.INVALID_ARGUMENT
    both = pb.HistoryRequest(user="alice", peer="bob", group="team")
    assert code_of(lambda: alice._unary("History", both)) == grpc.StatusCode.INVALID_ARGUMENT
    assert code_of(lambda: alice.share_group_key("team", [])) == grpc.StatusCode.INVALID_ARGUMENT

    assert list(alice.add_member("team", "charlie").members) == ["alice", "bob", "charlie"]
    assert list(charlie.get_group("team").members) == ["alice", "bob", "charlie"]  # a member now
    assert [(g.name, list(g.members)) for g in alice.list_groups()] == [
        ("ops", ["alice", "bob"]),
        ("team", ["alice", "bob", "charlie"]),
    ]
    assert list(alice.login().groups) == ["ops", "team"]

    bob.leave_group("team")
    assert code_of(lambda: bob.post_plaintext("team", "still here?")) == grpc.StatusCode.PERMISSION_DENIED
    assert code_of(lambda: bob.leave_group("team")) == grpc.StatusCode.PERMISSION_DENIED
    assert [g.name for g in bob.list_groups()] == ["ops"]
    alice.leave_group("team")
    charlie.leave_group("team")  # the last one out: the group is gone, its name free
    assert code_of(lambda: charlie.get_group("team")) == grpc.StatusCode.NOT_FOUND
    assert list(charlie.create_group("team").members) == ["charlie"]


def test_one_order_for_every_member_online_or_not(server, plain_clients, inbox):
    """alice and bob post at once, from two threads; charlie reads online, eve is
    offline and reads on connect: both see every post once, in one order, and it is
    the order of the group's history. The posts sent to nobody but the others: the
    poster gets no copy of their own."""
    alice, bob, charlie, eve = (plain_clients(u) for u in ("alice", "bob", "charlie", "eve"))
    alice.create_group("team", ["bob", "charlie", "eve"])
    online = inbox(charlie)

    failures: list = []

    def posts(client, n: int) -> None:
        try:
            for i in range(n):
                client.post("team", f"{client.user} {i}")
        except Exception as err:  # noqa: BLE001 - handed to the test
            failures.append(err)

    threads = [threading.Thread(target=posts, args=(c, 20)) for c in (alice, bob)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(WAIT)
    assert failures == [] and not any(t.is_alive() for t in threads)

    def texts(messages) -> list:
        return [m.payload.decode() for m in messages if m.type == pb.MESSAGE_TYPE_TEXT]

    def read(ib, n: int) -> list:
        got: list = []
        while len(got) < n:
            got += texts(ib.take(1))
        return got

    order = [m.payload.decode() for m in charlie.last_posts("team", 100)]
    assert sorted(order) == sorted(f"{u} {i}" for u in ("alice", "bob") for i in range(20))
    assert read(online, 40) == order
    assert read(inbox(eve), 40) == order
    assert read(inbox(alice), 20) == [t for t in order if t.startswith("bob")]
    assert online.quiet()


# -- sender keys, at the library level ----------------------------------------------------------


def test_sender_keys(start_server, clients, inbox, key_dir):
    """As Go's TestGroupSenderKeys: members read each other's posts; eve, without a key,
    is named; a key is made again only when the members change; charlie, who left,
    gets no copy of what follows and none of the keys he holds opens it; foo, who
    joined, reads what follows only; alice reads her own posts back from History."""
    srv = start_server(users=USERS5)
    alice, bob, carol = (clients(u, srv) for u in ("alice", "bob", "charlie"))
    alice.create_group("team", ["bob", "charlie", "eve"])
    alice_reads, bob_reads, carol_reads = (GroupMember(c, inbox(c)) for c in (alice, bob, carol))

    assert alice.post("team", "one") == ["eve"]
    assert bob_reads.read(1) == ["alice: one"]
    assert carol_reads.read(1) == ["alice: one"]
    assert bob.post("team", "two") == ["eve"]
    assert carol_reads.read(1) == ["bob: two"]
    assert alice_reads.read(1) == ["bob: two"]
    mine = alice.e2e.keys.my_sender_key("team")
    assert (mine.members, mine.shared) == (("alice", "bob", "charlie", "eve"), ("bob", "charlie"))
    alice.post("team", "one more")  # the same members: the same key, shared with nobody again
    assert alice.e2e.keys.my_sender_key("team") == mine
    assert bob_reads.read(1) == carol_reads.read(1) == ["alice: one more"]

    carol.leave_group("team")
    alice.post("team", "three")
    assert bob_reads.read(1) == ["alice: three"]
    three = bob_reads.posts[-1]
    assert alice.e2e.keys.my_sender_key("team").members == ("alice", "bob", "eve")  # a new key
    with pytest.raises(NoGroupKeyError):
        carol.open(three)
    held = KeyStore.open(key_dir("charlie"), "charlie").group_state("team").senders
    keys = [k for sender in held.values() for k in sender]
    assert sorted(held) == ["alice", "bob"] and keys
    assert e2e.group_key_id(three.payload) not in {k.id for k in keys}
    for k in keys:  # even with the ciphertext in hand
        with pytest.raises(e2e.NotAuthentic):
            e2e.open_group(k.key, three.payload, sender="alice", group="team", client_msg_id=three.client_msg_id)
    (left,) = carol_reads.inbox.take(1)
    assert (left.type, left.note) == (pb.MESSAGE_TYPE_GROUP_CHANGED, "charlie left team.")
    assert carol_reads.inbox.quiet()  # no copy of "three", no key

    foo = clients("foo", srv)
    bob.add_member("team", "foo")
    foo_reads = GroupMember(foo, inbox(foo))
    alice.post("team", "four")
    assert foo_reads.read(1) == ["alice: four"]
    assert bob_reads.read(1) == ["alice: four"]
    with pytest.raises(NoGroupKeyError):
        foo.open(three)
    assert [foo.open(m).text for m in foo.last_posts("team", 10)] == ["four"]
    assert [alice.open(m).text for m in alice.last_posts("team", 10)] == ["one", "two", "one more", "three", "four"]


def test_a_member_whose_key_changed_gets_the_sender_key_again(server, clients, plain_clients, inbox, tmp_path):
    """bob sets Spartan up again (a new identity): once alice's client learns his new
    key (as a KEY_PUBLISHED event makes it), her sender key goes to him again, sealed
    for the new key, and he reads her next post."""
    changes: list = []
    alice, bob = clients("alice"), clients("bob")
    alice.e2e.on_key_change = changes.append
    alice.create_group("team", ["bob"])
    bob_reads = GroupMember(bob, inbox(bob))
    alice.post("team", "before")
    assert bob_reads.read(1) == ["alice: before"]
    new_bob = with_keys(plain_clients("bob"), tmp_path / "bob-again")
    new_reads = GroupMember(new_bob, inbox(new_bob, seq=bob_reads.posts[-1].seq))
    alice.e2e.refresh("bob")
    assert [c.user for c in changes] == ["bob"]
    assert alice.e2e.keys.my_sender_key("team").shared == ()
    alice.post("team", "after")
    assert new_reads.read(1) == ["alice: after"]


def test_a_member_who_publishes_a_key_gets_the_sender_keys_owed(server, clients, plain_clients, inbox, key_dir):
    """charlie and eve had no identity key when alice's sender keys were made: once alice's
    client has charlie's key (as a KEY_PUBLISHED event makes it), share_owed_keys sends him
    her key for team (exactly one GROUP_KEY, and he reads what she posted before) and
    records him in "shared"; eve, who left crew since, and old, which alice left, get
    nothing, and nothing is owed twice."""
    alice, bob = clients("alice"), clients("bob")
    charlie, eve = plain_clients("charlie"), plain_clients("eve")
    alice.create_group("team", ["bob", "charlie"])
    alice.create_group("crew", ["bob", "eve"])
    alice.create_group("old", ["charlie"])
    assert alice.post("team", "Hello, team!") == ["charlie"]
    assert alice.post("crew", "hi crew") == ["eve"]
    assert alice.post("old", "hi old") == ["charlie"]
    eve.leave_group("crew")
    alice.leave_group("old")

    with_keys(charlie, key_dir("charlie"))
    with_keys(eve, key_dir("eve"))
    charlie_inbox, eve_inbox = inbox(charlie), inbox(eve)
    alice.e2e.refresh("charlie")
    alice.e2e.refresh("eve")
    assert alice.e2e.owed_groups("charlie") == ["old", "team"]
    assert alice.e2e.owed_groups("eve") == ["crew"]
    assert alice.e2e.owed_groups("bob") == []

    assert alice.e2e.share_owed_keys("charlie") == ["team"]
    mine = alice.e2e.keys.my_sender_key("team")
    assert mine.shared == ("bob", "charlie")
    assert alice.e2e.share_owed_keys("eve") == []
    assert alice.e2e.keys.my_sender_key("crew").shared == ("bob",)
    assert alice.e2e.share_owed_keys("charlie") == []  # old is still owed, but alice left it

    got = []
    while not charlie_inbox.quiet(0.5):
        got.extend(charlie_inbox.take(1))
    keys = [m for m in got if m.type == pb.MESSAGE_TYPE_GROUP_KEY]
    assert [(k.sender, k.group) for k in keys] == [("alice", "team")]
    (post,) = [m for m in got if m.type == pb.MESSAGE_TYPE_TEXT and m.group == "team"]
    with pytest.raises(NoGroupKeyError):
        charlie.open(post)
    charlie.e2e.accept_group_key(keys[0])
    assert charlie.open(post).text == "Hello, team!"
    seen = []
    while not eve_inbox.quiet(0.5):
        seen.extend(eve_inbox.take(1))
    assert [m for m in seen if m.type == pb.MESSAGE_TYPE_GROUP_KEY] == []


def test_a_sender_key_that_is_not_one_is_refused(server, clients, inbox):
    """A GROUP_KEY event that does not open, or opens to something else than a key for
    its group, is NotAuthentic; one sent unencrypted is UnknownScheme. None is kept."""
    alice, bob = clients("alice"), clients("bob")
    alice.create_group("team", ["bob"])
    alice.create_group("other", ["bob"])
    bob_inbox = inbox(bob)
    pair = alice.e2e.pair("bob", bob.e2e.keys.public_key)

    def sealed(plain: bytes, group: str = "team") -> pb.SealedKey:
        msg_id = new_message_id()
        payload = e2e.seal(pair, plain, sender="alice", receiver="bob", group=group, client_msg_id=msg_id)
        return pb.SealedKey(receiver="bob", payload=payload, encryption=pb.ENCRYPTION_E2E, client_msg_id=msg_id)

    other = b'{"group":"other","id":"AAAAAAAAAAA=","key":"' + b"A" * 43 + b'="}'
    good = other.replace(b'"other"', b'"team"')
    alice.share_group_key("team", [sealed(b"not json")])
    alice.share_group_key("team", [sealed(other)])  # says it is for another group
    alice.share_group_key("team", [sealed(good, group="other")])  # sealed for another group
    alice.share_group_key("team", [sealed(good[:-30] + b'"}')])  # a 12-byte key
    plain = pb.SealedKey(receiver="bob", payload=good, encryption=pb.ENCRYPTION_PLAINTEXT, client_msg_id=new_message_id())
    alice.share_group_key("team", [plain])
    events = [m for m in bob_inbox.take(6) if m.type == pb.MESSAGE_TYPE_GROUP_KEY]
    assert len(events) == 4
    plain_event = bob_inbox.take(1)[0]
    for msg in events:
        with pytest.raises(e2e.NotAuthentic):
            bob.e2e.accept_group_key(msg)
    with pytest.raises(e2e.UnknownScheme):
        bob.e2e.accept_group_key(plain_event)
    assert bob.e2e.keys.group_state("team").senders == {}


# -- client.py ----------------------------------------------------------------------------------


def test_client_py_group_chat(server, client_py, clients, inbox):
    """As Go's TestGroupChat: a group made from client.py, chatted in by two client.py
    and a library client, with its commands, its prompt and its lines, a member without
    a key, a member who leaves, and the refusals."""
    carol = clients("charlie")
    carol_reads = GroupMember(carol, inbox(carol))
    alice = client_py("alice", server.target)
    bob = client_py("bob", server.target)
    alice.expect(CHOOSE)
    bob.expect(CHOOSE)

    alice.send("/group create team bob charlie")
    made = "[Spartan] alice made the group team: alice, bob, charlie.\n"
    alice.expect(made)
    bob.expect(made)
    alice.send("team")
    alice.expect("[Spartan] You are now in team: alice, bob, charlie.\n[alice@team] > ")
    alice.send("hello team")
    bob.expect("[alice@team] hello team\n")  # shown with its name at bob's "Enter a user"
    assert carol_reads.read(1) == ["alice: hello team"]

    bob.send("/chat team")
    bob.expect("[Spartan] You are now in team: alice, bob, charlie.\n[bob@team] > ")
    bob.send("hi all")
    alice.expect("[bob@team] hi all\n")
    carol.post("team", "carol here")
    alice.expect("[charlie@team] carol here\n")
    bob.expect("[charlie@team] carol here\n")
    assert carol_reads.read(1) == ["bob: hi all"]

    alice.send("/history 5")
    alice.expect(
        "[Spartan] The last 3 messages with team:\n[alice@team] hello team\n[bob@team] hi all\n[charlie@team] carol here\n"
    )
    alice.send("/members")
    alice.expect("[Spartan] Members of team: alice, bob, charlie.\n")
    alice.send("/groups")
    alice.expect("[Spartan] Your groups: team (alice, bob, charlie).\n")

    alice.send("/group add team eve")
    alice.expect("[Spartan] alice added eve to team.\n")
    bob.expect("[Spartan] alice added eve to team.\n")
    alice.send("eve cannot read this")
    alice.expect(NOT_ENCRYPTED_YET.format("eve", "team"))
    bob.expect("[alice@team] eve cannot read this\n")
    alice.send("nor this")
    bob.expect("[alice@team] nor this\n")

    bob.send("/leave")  # the group chatted in
    bob.expect("[Spartan] bob left team.\n" + CHOOSE)
    alice.expect("[Spartan] bob left team.\n")
    alice.send("after bob")
    alice.expect("after bob\n[alice@team] > ")
    assert carol_reads.read(3) == ["alice: eve cannot read this", "alice: nor this", "alice: after bob"]

    refusals = [
        ("/group create bob", '[Spartan] Could not make the group bob: "bob" is a user\'s name; a group needs another.'),
        ("/group create team", "[Spartan] Could not make the group team: there is a group named team already."),
        ("/group add team zed", '[Spartan] Could not add zed to team: there is no user named "zed".'),
        ("/group frob", "[Spartan] Use /group create NAME USER... or /group add NAME USER."),
        ("/members nope", '[Spartan] No members: there is no group named "nope".'),
        ("/leave nope", '[Spartan] Could not leave nope: there is no group named "nope".'),
        ("/chat nope", '[Spartan] There is no user named "nope". User list: bob,charlie,eve'),
    ]
    for line, want in refusals:
        alice.send(line)
        alice.expect(want + "\n")
    bob.send("/members team")
    bob.expect("[Spartan] No members: bob is not a member of team.\n")
    bob.send("team")
    bob.expect('[Spartan] There is no user named "team". User list: alice,charlie,eve\n')
    quit_(alice, bob)
    # The user's own changes are said once, by the command; the others' by their event.
    assert alice.out.text.count("alice made the group team") == 1
    assert alice.out.text.count("alice added eve to team.") == 1
    assert alice.out.text.count("has not set up encryption yet and cannot read") == 1
    assert "after bob" not in bob.out.text
    assert "WARNING" not in alice.out.text + bob.out.text


def test_client_py_shows_what_it_cannot_read_in_a_group(server, client_py, clients):
    """In place of a post or a sender key client.py cannot read, a line that says so,
    and it carries on: a post sealed with a key that has not come (it waits for it,
    quietly still when another key of bob's comes), a key that does not open, a scheme
    it does not know, a post in plaintext."""
    bob = clients("bob")
    alice = client_py("alice", server.target)
    alice.expect(CHOOSE)
    bob.create_group("team", ["alice"])
    alice.expect("[Spartan] bob made the group team: bob, alice.\n")

    msg_id = new_message_id()
    payload = e2e.seal_group(e2e.new_sender_key(), b"never shared", sender="bob", group="team", client_msg_id=msg_id)
    bob.post_payload("team", payload, pb.ENCRYPTION_E2E, msg_id)
    alice.expect("[Spartan] A post from bob@team waits for bob's key; it will show when the key arrives.\n")
    msg_id = new_message_id()
    pair = bob.e2e.pair("alice", bob.e2e.peer_key("alice"))
    sealed = e2e.seal(pair, b"not a key", sender="bob", receiver="alice", group="team", client_msg_id=msg_id)
    bob.share_group_key("team", [pb.SealedKey(receiver="alice", payload=sealed, encryption=pb.ENCRYPTION_E2E, client_msg_id=msg_id)])
    alice.expect(
        "[Spartan] WARNING: bob's key for team could not be read (the message could not be decrypted: altered, "
        "or sealed with another key); their posts there will not show.\n"
    )
    bob.post_payload("team", bytes([9]) + bytes(40), pb.ENCRYPTION_E2E)
    alice.expect(
        "[Spartan] WARNING: a message from bob@team uses an encryption scheme this client does not know; "
        "update Spartan to read it.\n"
    )
    bob.post_plaintext("team", "in the clear")
    alice.expect("[bob@team] (not encrypted) in the clear\n")
    bob.post("team", "sealed properly")
    alice.expect("[bob@team] sealed properly\n")
    quit_(alice)
    assert alice.out.text.count("waits for bob's key") == 1
    assert "never shared" not in alice.out.text


def test_client_py_a_member_who_connects_later_reads_what_was_posted_before(server, client_py, clients):
    """The newcomer's case: alice posts to team before charlie ever connected (no key,
    so her client cannot send him her sender key). When charlie connects, his key's
    KEY_PUBLISHED event makes alice's client send him her key at once, and his client,
    which got the posts first, says once that they wait for it, then shows them in order
    without alice posting again, and no warning."""
    bob = clients("bob")
    alice = client_py("alice", server.target)
    alice.expect(CHOOSE)
    alice.send("/group create team bob charlie")
    alice.expect("[Spartan] alice made the group team: alice, bob, charlie.\n")
    alice.send("team")
    alice.expect("[alice@team] > ")
    alice.send("Hello, team!")
    alice.expect(NOT_ENCRYPTED_YET.format("charlie", "team"))
    alice.send("Anyone there?")
    deadline = time.monotonic() + WAIT
    while len(bob.last_posts("team", 10)) < 2:  # both posted before charlie connects
        assert time.monotonic() < deadline, alice.describe()
        time.sleep(0.02)

    charlie = client_py("charlie", server.target)
    charlie.expect_lines(
        "[Spartan] A post from alice@team waits for alice's key; it will show when the key arrives.",
        "[alice@team] Hello, team!",
        "[alice@team] Anyone there?",
    )
    quit_(alice, charlie)
    assert charlie.out.text.count("waits for alice's key") == 1
    assert "WARNING" not in alice.out.text + charlie.out.text
    assert "Could not send" not in alice.out.text


def test_client_py_group_post_size_limit(start_server, client_py, clients, inbox):
    """In a group the plaintext may be max_message_bytes less 37 (150 - 37 = 113),
    8 bytes less than to a user: a longer line is refused before anything is sent."""
    srv = start_server(max_message_bytes=150)
    bob = clients("bob", srv)
    bob_reads = GroupMember(bob, inbox(bob))
    alice = client_py("alice", srv.target)
    alice.expect(CHOOSE)
    alice.send("/group create team bob")
    alice.send("team")
    alice.expect("[alice@team] > ")
    alice.send("x" * 114)
    alice.expect("[Spartan] Not sent: the message is 114 bytes; the limit is 113.\n")
    alice.send("y" * 113)
    assert bob_reads.read(1) == ["alice: " + "y" * 113]
    assert len(bob_reads.posts[0].payload) == 150
    quit_(alice)
    assert [bob.open(m).text for m in bob.last_posts("team", 10)] == ["y" * 113]  # the long one never went


def test_client_py_follows_a_group_left_elsewhere(server, client_py, clients, plain_clients):
    """alice leaves, from another client of hers, the group her client.py has open: its
    GROUP_CHANGED event (her own: no line) takes client.py back to the prompt it
    would show, here the request charlie made meanwhile, and the group is no
    longer a name to pick."""
    bob = clients("bob")
    alice = client_py("alice", server.target)
    alice.expect(CHOOSE)
    bob.create_group("team", ["alice"])
    alice.expect("[Spartan] bob made the group team: bob, alice.\n")
    alice.send("/chat team")
    alice.expect("[Spartan] You are now in team: bob, alice.\n[alice@team] > ")
    plain_clients("charlie").request_chat("alice")
    alice.expect(
        "[Spartan] charlie is requesting to chat with you. Type /chat charlie to accept or /decline charlie to decline.\n"
    )
    plain_clients("alice").leave_group("team")
    alice.expect("[Spartan] charlie is requesting to chat with you. Enter 'yes' to accept or different user: ")
    alice.send("/chat team")
    alice.expect('[Spartan] There is no user named "team".')
    alice.send("/groups")
    alice.expect("[Spartan] You are in no group. /group create NAME USER... makes one.\n")
    quit_(alice)
    assert "alice left team" not in alice.out.text
