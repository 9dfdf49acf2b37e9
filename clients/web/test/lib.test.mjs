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
      if (m.type === lib.MessageType.TEXT) text = (await this.crypto.open(m)).text;
      if (m.type === lib.MessageType.GROUP_KEY) await this.crypto.acceptGroupKey(m);
      this.items.push({ kind: "message", type: m.type, sender: m.sender, group: m.group, text, id: m.id });
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
        reject(new Error(`${this.crypto.client.user}: no ${what} within ${WAIT} ms; got ${JSON.stringify(this.items, (k, v) => (typeof v === "bigint" ? String(v) : v))}`));
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
