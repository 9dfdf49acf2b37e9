// The library under Node against the real server: two users log in with
// Ed25519 keys, ask and accept, exchange sealed messages on their
// subscriptions, read history, post to a group, and lose nothing across a
// server restart (the subscription reconnects and resumes), nor when 3-second
// session tokens expire under an open stream (it is reopened quietly).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import * as lib from "../build/lib.mjs";
import { log, Server, tempDir, WAIT } from "./harness.mjs";

/** Inbox collects what a subscription delivers and waits for a match. */
class Inbox {
  constructor(crypto) {
    this.crypto = crypto;
    this.items = [];
    this.presence = [];
    this.waiters = new Set();
    this.sub = crypto.client.subscribe({ onUpdate: (u) => this.update(u), maxBackoffMs: 500 });
  }
  async update(u) {
    if (u.kind === "message") {
      const m = u.message;
      let text;
      let error;
      try {
        if (m.type === lib.MessageType.TEXT) text = (await this.crypto.open(m)).text;
        if (m.type === lib.MessageType.GROUP_KEY) await this.crypto.acceptGroupKey(m);
      } catch (err) {
        error = err.name;
      }
      this.items.push({ kind: "message", type: m.type, sender: m.sender, group: m.group, text, id: m.id, error, raw: m });
      if (m.type === lib.MessageType.PRESENCE) this.presence.push(`${m.sender} ${m.online ? "online" : "offline"}`);
      this.sub.ack(m);
    } else {
      this.items.push({ kind: u.kind });
    }
    for (const w of [...this.waiters]) w();
  }
  waitFor(pred, what) {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.items.find(pred);
        if (found) {
          done();
          resolve(found);
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${this.crypto.client.user}: no ${what} within ${WAIT} ms; got ${JSON.stringify(this.items, (k, v) => (k === "raw" ? undefined : typeof v === "bigint" ? String(v) : v))}`));
      }, WAIT);
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }
}

async function user(server, name, interceptors = []) {
  const store = new lib.MemoryKeyStore();
  const state = await lib.loadState(store);
  const client = new lib.SpartanClient({ baseUrl: server.url, user: name, signingKey: state.signing, interceptors });
  const crypto = new lib.Crypto(client, store, state);
  await crypto.publish();
  return crypto;
}

let tmp;
let server;
before(async () => {
  tmp = await tempDir("spartan-web-lib-");
  log("starting spartan-server (bolt store, log-in required)");
  server = await Server.start({ dir: tmp.dir });
});
after(async () => {
  await server?.stop();
  await tmp?.cleanup();
});

test("two library clients chat, encrypted, across a server restart", async () => {
  const alice = await user(server, "alice");
  const bob = await user(server, "bob");
  const login = await alice.client.login();
  assert.deepEqual(login.others, ["bob", "charlie", "eve"]);
  const ai = new Inbox(alice);
  const bi = new Inbox(bob);
  try {
    log("alice asks bob; bob accepts");
    assert.equal((await alice.client.requestChat("bob")).state, lib.ConversationState.REQUESTED);
    await bi.waitFor((i) => i.type === lib.MessageType.CHAT_REQUEST && i.sender === "alice", "chat request");
    assert.equal((await bob.client.answerChat("alice", true)).state, lib.ConversationState.ACCEPTED);
    await ai.waitFor((i) => i.type === lib.MessageType.CHAT_ACCEPTED, "acceptance");

    log("sealed messages both ways");
    await alice.sendText("bob", "Hey Bob! ☺", lib.newMessageId());
    await bi.waitFor((i) => i.text === "Hey Bob! ☺" && i.sender === "alice", "alice's message");
    await bob.sendText("alice", "Hi Alice!", lib.newMessageId());
    await ai.waitFor((i) => i.text === "Hi Alice!", "bob's message");

    const h = await alice.client.history({ peer: "bob" });
    assert.deepEqual(await Promise.all(h.messages.map(async (m) => (await alice.open(m)).text)), ["Hey Bob! ☺", "Hi Alice!"]);
    for (const m of h.messages) assert.equal(m.encryption, lib.Encryption.E2E);

    log("a group post, sealed with alice's sender key");
    await alice.client.createGroup("team", ["bob"]);
    assert.deepEqual((await alice.postText("team", "hello team", lib.newMessageId())).unreadable, []);
    await bi.waitFor((i) => i.group === "team" && i.text === "hello team", "the group post");

    log("restarting the server");
    await server.stop();
    await ai.waitFor((i) => i.kind === "disconnected", "the disconnection");
    await server.start();
    await ai.waitFor((i) => i.kind === "reconnected", "the reconnection");
    await bi.waitFor((i) => i.kind === "reconnected", "bob's reconnection");
    await bob.sendText("alice", "after the restart", lib.newMessageId());
    await ai.waitFor((i) => i.text === "after the restart", "the message after the restart");
    const texts = ai.items.filter((i) => i.text).map((i) => i.text);
    assert.deepEqual(texts, ["Hi Alice!", "after the restart"], "each message once, in order");
  } finally {
    await ai.sub.stop();
    await bi.sub.stop();
  }
});

// A post to a group reaches a member who has no identity key yet (charlie,
// who never connected) unreadable; when he publishes one, alice's client
// sends him her sender key at once (shareOwedKeys on the KEY_PUBLISHED
// event), once, and the earlier post opens. Eve, who left meanwhile, gets nothing.
test("a sender key owed to a member who had no key is sent when they publish one", async () => {
  const { dir, cleanup } = await tempDir("spartan-web-owed-");
  const srv = await Server.start({ dir }); // its own: these users' first log-in keys
  const alice = await user(srv, "alice");
  await user(srv, "bob"); // has a key: gets alice's at her post
  const bare = async (name) => {
    const store = new lib.MemoryKeyStore();
    const state = await lib.loadState(store);
    return new lib.Crypto(new lib.SpartanClient({ baseUrl: srv.url, user: name, signingKey: state.signing }), store, state);
  };
  const charlie = await bare("charlie");
  const eve = await bare("eve");
  const owed = []; // what alice's client shared on each KEY_PUBLISHED
  const aliceSub = alice.client.subscribe({
    onUpdate: async (u) => {
      if (u.kind !== "message") return;
      const m = u.message;
      if (m.type === lib.MessageType.KEY_PUBLISHED) {
        try {
          owed.push({ user: m.sender, groups: await alice.shareOwedKeys(m.sender) });
        } catch (err) {
          owed.push({ user: m.sender, error: String(err) });
        }
      }
      aliceSub.ack(m);
    },
  });
  const waitOwed = async (name) => {
    const deadline = Date.now() + WAIT;
    while (!owed.some((o) => o.user === name) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const found = owed.find((o) => o.user === name);
    assert.ok(found, `alice's client saw no KEY_PUBLISHED from ${name} within ${WAIT} ms`);
    return found;
  };
  let ci;
  let ei;
  try {
    log("alice makes owed (bob, charlie, eve) and side (eve); only bob has a key; she posts");
    await alice.client.createGroup("owed", ["bob", "charlie", "eve"]);
    await alice.client.createGroup("side", ["eve"]);
    const first = await alice.postText("owed", "Hello, team!", lib.newMessageId());
    assert.deepEqual(first.unreadable.sort(), ["charlie", "eve"]);

    log("charlie connects for the first time: publishes, then his stream replays the post");
    await charlie.publish();
    ci = new Inbox(charlie);
    await ci.waitFor((i) => i.type === lib.MessageType.TEXT && i.group === "owed", "alice's post");
    assert.deepEqual(await waitOwed("charlie"), { user: "charlie", groups: ["owed"] });
    const key = await ci.waitFor((i) => i.type === lib.MessageType.GROUP_KEY && i.group === "owed", "alice's key");
    assert.equal(key.sender, "alice");
    const post = ci.items.find((i) => i.type === lib.MessageType.TEXT && i.group === "owed");
    assert.equal(post.error, "NoGroupKeyError", "the post came before the key");
    assert.equal((await charlie.open(post.raw)).text, "Hello, team!", "the key opens the earlier post");

    log("once: again asked, and at alice's next post, nothing more is sent");
    assert.deepEqual(await alice.shareOwedKeys("charlie"), []);
    assert.deepEqual((await alice.postText("owed", "second", lib.newMessageId())).unreadable, ["eve"]);
    await ci.waitFor((i) => i.text === "second", "the second post");
    assert.equal(ci.items.filter((i) => i.type === lib.MessageType.GROUP_KEY).length, 1, "charlie got one key");

    log("eve, who left owed, publishes: alice's client sends her nothing");
    await eve.client.leaveGroup("owed");
    await eve.publish();
    ei = new Inbox(eve);
    assert.deepEqual(await waitOwed("eve"), { user: "eve", groups: [] });
    await alice.client.createGroup("marker", ["eve"]);
    await ei.waitFor((i) => i.type === lib.MessageType.GROUP_CHANGED && i.group === "marker", "the marker");
    assert.deepEqual(ei.items.filter((i) => i.type === lib.MessageType.GROUP_KEY), [], "eve got no key");
  } finally {
    await aliceSub.stop();
    await ci?.sub.stop();
    await ei?.sub.stop();
    await srv.stop();
    await cleanup();
  }
});

test("a second log-in key for a user is refused in plain words", async () => {
  const store = new lib.MemoryKeyStore();
  const state = await lib.loadState(store);
  const other = await lib.generateSigningKey();
  // charlie's first key is taken as his; another is refused.
  await new lib.SpartanClient({ baseUrl: server.url, user: "charlie", signingKey: state.signing }).login();
  const impostor = new lib.SpartanClient({ baseUrl: server.url, user: "charlie", signingKey: other });
  await assert.rejects(impostor.login(), (err) => {
    assert.equal(lib.codeOf(err), lib.Code.PermissionDenied);
    assert.match(lib.errorMessage(err), /charlie/);
    return true;
  });
});

test("a token is renewed a minute, or a quarter of its life, before it ends", () => {
  const now = 1_000_000;
  assert.equal(lib.renewAt(now + 3_600_000, now), now + 3_600_000 - 60_000, "an hour's token: a minute before");
  assert.equal(lib.renewAt(now + 3_000, now), now + 2_250, "a 3-second token: after three quarters of its life");
  assert.equal(lib.renewAt(now - 1_000, now), now - 1_000, "a token already over: at once");
});

/** counter is an interceptor counting the calls of each procedure. */
function counter() {
  const calls = {};
  const interceptor = (next) => (req) => {
    const name = new URL(req.url).pathname.split("/").pop();
    calls[name] = (calls[name] ?? 0) + 1;
    return next(req);
  };
  return { calls, interceptor };
}

test("a subscription outlives its 3-second session tokens, quietly", async () => {
  const { dir, cleanup } = await tempDir("spartan-web-expiry-");
  log("a server whose session tokens last 3 s (auth.token_minutes: 0.05)");
  const short = await Server.start({ dir, auth: "{required: true, token_minutes: 0.05}" });
  const count = counter();
  let ai;
  let bi;
  try {
    const alice = await user(short, "alice", [count.interceptor]);
    const bob = await user(short, "bob");
    bi = new Inbox(bob);
    await alice.client.requestChat("bob");
    await bi.waitFor((i) => i.type === lib.MessageType.CHAT_REQUEST && i.sender === "alice", "chat request");
    await bob.client.answerChat("alice", true);
    ai = new Inbox(alice);
    await ai.waitFor((i) => i.type === lib.MessageType.CHAT_ACCEPTED, "acceptance");
    await bob.sendText("alice", "before the tokens expire", lib.newMessageId());
    await ai.waitFor((i) => i.text === "before the tokens expire", "the first message");

    log("many calls on one token log in once, not on every call");
    const before = count.calls.Authenticate ?? 0;
    for (let i = 0; i < 10; i++) await alice.client.login();
    assert.ok((count.calls.Authenticate ?? 0) - before <= 1, `ten calls logged in ${(count.calls.Authenticate ?? 0) - before} times`);

    log("waiting for the server to cut alice's stream twice as her tokens expire");
    const opens = count.calls.ReceiveMsg;
    await new Promise((resolve, reject) => {
      const deadline = setTimeout(() => {
        clearInterval(poll);
        reject(new Error(`ReceiveMsg opened ${count.calls.ReceiveMsg - opens} more times within 10 s, not 2`));
      }, 10_000);
      const poll = setInterval(() => {
        if (count.calls.ReceiveMsg - opens >= 2) {
          clearInterval(poll);
          clearTimeout(deadline);
          resolve();
        }
      }, 50);
    });
    log(`alice's stream was reopened ${count.calls.ReceiveMsg - opens} times; ${count.calls.Authenticate} log-ins in all`);

    await bob.sendText("alice", "after two expiries", lib.newMessageId());
    await ai.waitFor((i) => i.text === "after two expiries", "the message after the expiries");
    assert.deepEqual(
      ai.items.filter((i) => i.text).map((i) => i.text),
      ["before the tokens expire", "after two expiries"],
      "each message once, in order",
    );
    assert.deepEqual(
      ai.items.filter((i) => i.kind !== "message"),
      [],
      "no disconnection or reconnection was reported",
    );
    assert.deepEqual(bi.items.filter((i) => i.kind !== "message"), [], "nor to bob");
    // Each stream of bob's starts with who is online; from alice's first
    // stream on, she stays online for him across her cuts.
    const since = bi.presence.indexOf("alice online");
    assert.ok(since >= 0 && !bi.presence.slice(since).includes("alice offline"), `bob never saw alice go offline: ${bi.presence.join(", ")}`);
    assert.ok(
      count.calls.Authenticate <= count.calls.ReceiveMsg + 2,
      `${count.calls.Authenticate} log-ins for ${count.calls.ReceiveMsg} streams: about one a token, not one a call`,
    );
  } finally {
    await ai?.sub.stop();
    await bi?.sub.stop();
    await short.stop();
    await cleanup();
  }
});

/** varint is n in protobuf's base-128 varint. */
function varint(n) {
  const out = [];
  for (; n > 127; n = Math.floor(n / 128)) out.push((n % 128) | 128);
  out.push(n);
  return out;
}

/** retryInfo is a google.rpc.RetryInfo's bytes, its Duration's fields set when given. */
function retryInfo({ seconds, nanos } = {}) {
  const d = [];
  if (seconds !== undefined) d.push(0x08, ...varint(seconds));
  if (nanos !== undefined) d.push(0x10, ...varint(nanos));
  return new Uint8Array([0x0a, d.length, ...d]);
}

/** refused is a ResourceExhausted error carrying details as if from the wire. */
function refused(...details) {
  const err = new lib.ConnectError("alice may send 2 messages a second; try again in 0.5 s", lib.Code.ResourceExhausted);
  err.details = details;
  return err;
}

test("retryDelay reads a google.rpc.RetryInfo detail, and nothing else", () => {
  const info = (value) => ({ type: "google.rpc.RetryInfo", value });
  assert.equal(lib.retryDelay(refused(info(retryInfo({ seconds: 4 })))), 4000, "seconds only");
  assert.equal(lib.retryDelay(refused(info(retryInfo({ nanos: 70_000_000 })))), 70, "nanos only");
  assert.equal(lib.retryDelay(refused(info(retryInfo({ seconds: 1, nanos: 500_000_000 })))), 1500, "both");
  assert.equal(lib.retryDelay(refused(info(retryInfo({ seconds: 0 })))), 0, "a zero wait is a wait");
  assert.equal(lib.retryDelay(refused({ type: "google.rpc.DebugInfo", value: retryInfo({ seconds: 4 }) })), undefined, "a detail of another type");
  assert.equal(
    lib.retryDelay(refused({ type: "google.rpc.DebugInfo", value: new Uint8Array([1, 2]) }, info(retryInfo({ seconds: 2 })))),
    2000,
    "the RetryInfo among other details",
  );
  assert.equal(lib.retryDelay(refused()), undefined, "no detail");
  assert.equal(lib.retryDelay(refused(info(new Uint8Array()))), undefined, "a RetryInfo without a delay");
  for (const garbage of [[0xff, 0xff, 0xff], [0x0a, 0x05, 0x08], [0x0a, 0x02, 0x08, 0xff], [0x00], [0x0f, 0x01]]) {
    assert.equal(lib.retryDelay(refused(info(new Uint8Array(garbage)))), undefined, `garbage ${garbage}`);
  }
  assert.equal(lib.retryDelay(new Error("plain")), undefined, "not a ConnectError");
  assert.equal(lib.retryDelay(undefined), undefined, "not an error at all");
});

test("retryDelay reads the real server's rate-limit refusal", async () => {
  const { dir, cleanup } = await tempDir("spartan-web-rate-");
  log("a server whose send limit is 2 a second, burst 2");
  const paced = await Server.start({ dir, send: "calls: 2, window_seconds: 1, burst: 2" });
  try {
    const alice = await user(paced, "alice");
    const bob = await user(paced, "bob");
    await alice.client.requestChat("bob");
    await bob.client.answerChat("alice", true);
    let err;
    for (let i = 0; i < 10 && !err; i++) {
      try {
        await alice.sendText("bob", `message ${i}`, lib.newMessageId());
      } catch (e) {
        err = e;
      }
    }
    assert.ok(err, "a send past the limit is refused");
    assert.equal(lib.codeOf(err), lib.Code.ResourceExhausted, lib.errorMessage(err));
    const wait = lib.retryDelay(err);
    log(`refused: "${lib.errorMessage(err)}"; retryDelay ${wait} ms`);
    assert.ok(wait > 0 && wait <= 1000, `a positive wait not above the 1-second window: ${wait}`);
    await new Promise((r) => setTimeout(r, wait));
    await alice.sendText("bob", "after the wait", lib.newMessageId()); // the wait was enough
  } finally {
    await paced.stop();
    await cleanup();
  }
});
