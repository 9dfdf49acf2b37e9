// The library under Node against the real server: two users log in with
// Ed25519 keys, ask and accept, exchange sealed messages on their
// subscriptions, read history, post to a group, and lose nothing across a
// server restart (the subscription reconnects and resumes).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import * as lib from "../build/lib.mjs";
import { log, Server, tempDir, WAIT } from "./harness.mjs";

/** Inbox collects what a subscription delivers and waits for a match. */
class Inbox {
  constructor(crypto) {
    this.crypto = crypto;
    this.items = [];
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

async function user(server, name) {
  const store = new lib.MemoryKeyStore();
  const state = await lib.loadState(store);
  const client = new lib.SpartanClient({ baseUrl: server.url, user: name, signingKey: state.signing });
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
