// The browser client in a real browser: headless Chromium (the Debian
// package, /usr/bin/chromium or $CHROMIUM) driven by puppeteer-core, the
// real server (log-in required, a bolt store in a temporary directory) and
// the real Go CLI on pipes. Every wait is on an event or a waitFor with a
// deadline; nothing is timed.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { copyFile, mkdir, readFile, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import { join } from "node:path";
import puppeteer from "puppeteer-core";
import * as lib from "../build/lib.mjs";
import { BIN, freePort, log, Proc, Server, tempDir, WAIT } from "./harness.mjs";

const here = new URL(".", import.meta.url).pathname;
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const RESULTS = join(here, "..", "test-results");

let tmp;
let server;
let browser;

before(async () => {
  tmp = await tempDir("spartan-web-browser-");
  await mkdir(RESULTS, { recursive: true });
  log("starting spartan-server (bolt store, log-in required)");
  server = await Server.start({ dir: tmp.dir, users: ["alice", "bob", "charlie", "eve", "dave", "frank"] });
  log(`starting headless Chromium (${CHROMIUM})`);
  browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"],
    userDataDir: join(tmp.dir, "chromium"),
  });
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await tmp?.cleanup();
});

/** newPage is a page whose console errors and failures go to the test's log. */
async function newPage(width = 1100, height = 720) {
  const page = await browser.newPage();
  await page.setViewport({ width, height });
  page.on("pageerror", (err) => log("page error:", err.message));
  page.on("console", (m) => m.type() === "error" && log("page console:", m.text()));
  return page;
}

/** cli starts the Go CLI as user on pipes, with its own key directory. */
function cli(user, srv = server) {
  return new Proc([join(BIN, "spartan"), "-server", `127.0.0.1:${srv.port}`, "-key-dir", join(tmp.dir, "keys", user), user], `spartan ${user}`, {
    env: { XDG_CONFIG_HOME: join(tmp.dir, "config") },
  });
}

/** waitText waits until selector's text contains text. */
function waitText(page, selector, text) {
  return page.waitForFunction(
    (sel, t) => [...document.querySelectorAll(sel)].some((e) => e.textContent.includes(t)),
    { timeout: WAIT },
    selector,
    text,
  );
}

/**
 * pick clicks the list entry (or request button) selector names, found and
 * clicked in one step in the page: the lists are drawn again on every
 * presence change, so an entry found first and clicked after (page.click)
 * may be gone by then.
 */
async function pick(page, selector) {
  await page.waitForSelector(selector, { timeout: WAIT });
  await page.$eval(selector, (e) => e.click());
}

/** texts are the messages the page shows in the open conversation. */
function texts(page) {
  return page.$$eval("#messages li.msg", (els) => els.map((e) => e.childNodes[1].textContent));
}

async function signIn(page, user) {
  await page.waitForSelector(`#signin-user option[value="${user}"]`, { timeout: WAIT });
  await page.select("#signin-user", user);
  await page.click("#signin button[type=submit]");
  await page.waitForFunction(() => !document.getElementById("chat-view").hidden || /Could not/.test(document.getElementById("signin-error").textContent), { timeout: WAIT });
  const error = await page.$eval("#signin-error", (e) => e.textContent);
  if (error) throw new Error(`signing in as ${user}: ${error}`);
}

async function send(page, text) {
  await page.focus("#text");
  await page.keyboard.type(text);
  await page.keyboard.press("Enter");
}

test("the e2e vectors pass in Chromium's WebCrypto", async () => {
  const page = await newPage();
  await page.goto(server.url);
  const lib = await readFile(join(here, "..", "build", "lib.iife.js"), "utf8");
  await page.evaluate(lib + "\n;globalThis.SpartanLib = SpartanLib; 0");
  const src = (await readFile(join(here, "vectors.mjs"), "utf8")).replace("export async function", "async function");
  const vectors = await readFile(join(here, "..", "..", "..", "testdata", "e2e", "vectors.json"), "utf8");
  const results = await page.evaluate(`(async () => { ${src}; return checkVectors(globalThis.SpartanLib, ${vectors}); })()`);
  const failed = results.filter((r) => !r.ok);
  assert.deepEqual(failed, [], "every vector passes");
  assert.ok(results.length >= 25, `${results.length} checks ran`);
  log(`${results.length} vector checks passed in Chromium`);
  await page.close();
});

test("the browser user chats with the Go CLI, encrypted, across a server restart", async () => {
  const page = await newPage();
  log("alice signs in in the browser");
  await page.goto(server.url);
  await signIn(page, "alice");
  const fp = await page.$eval("#fingerprint", (e) => e.textContent);
  assert.match(fp, /^[0-9a-f]{4}( [0-9a-f]{4}){4}$/);

  log("bob starts the Go CLI");
  const bob = cli("bob");
  try {
    await bob.expect("[Spartan] User list: alice,charlie,eve,dave,frank");
    await bob.expect("Enter a user whom you want to chat with: ");
    await page.waitForSelector('[data-user="bob"][aria-label^="bob, online"]', { timeout: WAIT });

    log("alice asks bob to chat; bob accepts in the terminal");
    await pick(page, '[data-user="bob"]');
    await bob.expect("alice is requesting to chat with you. Enter 'yes' to accept or different user: ");
    bob.send("yes");
    await bob.expect("You are now ready to chat with alice.");
    await waitText(page, "#messages .notice", "bob accepted your chat request.");

    log("messages both ways");
    await send(page, "Hello from the browser ☺");
    await bob.expect("[alice] Hello from the browser ☺");
    bob.send("Hi from the terminal");
    await waitText(page, "#messages li.msg", "Hi from the terminal");
    assert.equal(await page.$$eval("#messages li.msg", (els) => els.filter((e) => e.textContent.includes("not encrypted")).length), 0);
    assert.ok(!bob.out.text.includes("(not encrypted)"), "the CLI opened sealed messages");

    log("stopping the server");
    await server.stop();
    await waitText(page, "#connection", "Lost connection to Spartan Server; reconnecting...");
    await bob.expect("Lost connection to Spartan Server; reconnecting...");
    await send(page, "typed while the server was down");
    await waitText(page, "#messages li.msg", "waiting for the server");
    const db = await readFile(join(tmp.dir, "spartan.db"));
    for (const t of ["Hello from the browser", "Hi from the terminal"]) {
      assert.ok(!db.includes(Buffer.from(t)), `the store holds no plaintext (${t})`);
    }

    log("starting the server again on the same port and store");
    await server.start();
    await waitText(page, "#connection", "Reconnected.");
    await bob.expect("Reconnected.");
    await bob.expect("[alice] typed while the server was down");
    bob.send("after the restart");
    await waitText(page, "#messages li.msg", "after the restart");
    // What waited is shown in its place once the server's answer gives its time.
    await page.waitForFunction(() => ![...document.querySelectorAll("#messages .meta")].some((e) => /waiting|sending/.test(e.textContent)), { timeout: WAIT });
    const want = ["Hello from the browser ☺", "Hi from the terminal", "typed while the server was down", "after the restart"];
    assert.deepEqual(await texts(page), want, "each message once, in order");
    const shot = join(RESULTS, "chat.png");
    await page.screenshot({ path: shot });
    log(`screenshot: ${shot}`);
    if (process.env.UPDATE_SCREENSHOT) await copyFile(shot, join(here, "..", "..", "..", "docs", "web-chat.png"));

    log("reloading the page: the same keys from IndexedDB, the history from the server, keyboard only");
    await page.reload();
    await page.waitForSelector('#signin-user option[value="alice"]', { timeout: WAIT });
    assert.equal(await page.$eval("#signin-user", (e) => e.value), "alice", "the last user is preselected");
    await page.keyboard.press("Tab");
    await page.keyboard.press("Enter");
    await page.waitForSelector("#chat-view:not([hidden])", { timeout: WAIT });
    await page.waitForFunction(() => document.activeElement?.getAttribute("data-user") === "bob", { timeout: WAIT });
    await page.keyboard.press("Enter");
    await waitText(page, "#messages li.msg", "after the restart");
    assert.deepEqual(await texts(page), want, "the history shows every message once");
    await page.waitForFunction(() => document.activeElement?.id === "text", { timeout: WAIT });
    await page.keyboard.type("typed with the keyboard only");
    await page.keyboard.press("Enter");
    await bob.expect("[alice] typed with the keyboard only");

    log("at phone width");
    await page.setViewport({ width: 390, height: 800 });
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= 390), "no sideways scrolling");
    assert.ok(await page.$eval(".sidebar", (e) => getComputedStyle(e).display === "none"), "the open chat fills the screen");
    await page.screenshot({ path: join(RESULTS, "chat-phone.png") });
    await page.click("#back");
    assert.ok(await page.$eval(".sidebar", (e) => getComputedStyle(e).display !== "none"), "back shows the list");
    bob.send("/quit");
    await bob.exited;
  } finally {
    await bob.stop();
    await page.close();
  }
});

test("chat requests accepted and declined, and a group, with Go CLIs", async () => {
  const page = await newPage();
  await page.goto(server.url);
  await signIn(page, "alice");
  const charlie = cli("charlie");
  const eve = cli("eve");
  try {
    log("charlie and eve ask alice in their terminals");
    await charlie.expect("Enter a user whom you want to chat with: ");
    charlie.send("alice");
    await waitText(page, "#requests", "charlie is requesting to chat with you.");
    await eve.expect("Enter a user whom you want to chat with: ");
    eve.send("alice");
    await waitText(page, "#requests", "eve is requesting to chat with you.");

    log("alice declines eve and accepts charlie");
    await pick(page, '#requests button[aria-label="Decline eve\'s chat request"]');
    await eve.expect("declined");
    await waitText(page, "#connection", "You declined eve's chat request.");
    await pick(page, '#requests button[aria-label="Accept charlie\'s chat request"]');
    await charlie.expect("alice accepted your chat request.");
    await page.waitForSelector("#requests-section[hidden]", { timeout: WAIT }); // no request waits

    log("alice makes a group with bob and charlie and posts; charlie answers in it");
    await page.click("#new-group summary");
    await page.type("#group-name", "team");
    await page.click('#group-members input[value="bob"]');
    await page.click('#group-members input[value="charlie"]');
    await page.click("#group-form button[type=submit]");
    await page.waitForSelector('[data-group="team"]', { timeout: WAIT });
    await charlie.expect("alice made the group team: alice, bob, charlie.");
    await send(page, "hello team");
    await charlie.expect("[alice@team] hello team");
    charlie.send("/chat team");
    await charlie.expect("You are now in team");
    charlie.send("hi from charlie");
    await waitText(page, "#messages li.msg", "hi from charlie");
    assert.deepEqual(await texts(page), ["hello team", "hi from charlie"]);

    log("alice adds eve; her next post goes under a new sender key that eve gets too");
    await page.select("#add-member-user", "eve");
    await page.click("#add-member button[type=submit]");
    await charlie.expect("alice added eve to team.");
    await eve.expect("alice added eve to team.");
    await waitText(page, "#chat-sub", "alice, bob, charlie, eve");
    await send(page, "welcome eve");
    await charlie.expect("[alice@team] welcome eve");
    await eve.expect("[alice@team] welcome eve");
    await page.screenshot({ path: join(RESULTS, "group.png") });
  } finally {
    await charlie.stop();
    await eve.stop();
    await page.close();
  }
});

test("older messages load on scrolling up, each once, in order", async () => {
  const page = await newPage();
  await page.goto(server.url);
  await signIn(page, "alice");
  log("dave (a library client) asks alice and sends 45 sealed messages, which wait for her answer");
  const store = new lib.MemoryKeyStore();
  const state = await lib.loadState(store);
  const dave = new lib.Crypto(new lib.SpartanClient({ baseUrl: server.url, user: "dave", signingKey: state.signing }), store, state);
  await dave.publish();
  await dave.client.requestChat("alice");
  const want = Array.from({ length: 45 }, (_, i) => `message ${i + 1} from dave`);
  for (const t of want) await dave.sendText("alice", t, lib.newMessageId());
  await waitText(page, "#requests", "dave is requesting to chat with you.");
  await pick(page, '#requests button[aria-label="Accept dave\'s chat request"]');
  await waitText(page, "#messages li.msg", "message 45 from dave");
  assert.deepEqual(await texts(page), want, "the stream delivered each once, in order");
  log("reloading: the conversation now comes from History, a page at a time");
  await page.reload();
  await signIn(page, "alice");
  await pick(page, '[data-user="dave"]');
  await waitText(page, "#messages li.msg", "message 45 from dave");
  const first = (await texts(page)).length;
  assert.ok(first < 45, `the first page holds ${first} messages, not all`);
  log(`${first} messages shown; scrolling up`);
  await page.$eval("#messages", (e) => (e.scrollTop = 0));
  await waitText(page, "#messages li.msg", "message 1 from dave");
  assert.deepEqual(await texts(page), want, "every message once, oldest first");
  await page.waitForSelector("#older[hidden]", { timeout: WAIT }); // nothing older
  await page.close();
});

test("the browser signs in with the Go CLI's keys", async () => {
  log("frank logs in with the Go CLI once: his key directory, his log-in key bound");
  const frank = cli("frank");
  await frank.expect("Enter a user whom you want to chat with: ");
  frank.send("/quit");
  await frank.exited;
  const file = join(tmp.dir, "keys", "frank", "identity.json");
  const id = JSON.parse(await readFile(file, "utf8"));

  const page = await newPage();
  await page.goto(server.url);
  log("without the file the browser's own key is refused, in plain words");
  await assert.rejects(signIn(page, "frank"), /Could not sign in as frank: .+ sign in with its keys/);
  await page.screenshot({ path: join(RESULTS, "signin-refused.png") });
  log("a file of another user is refused");
  await page.click("#keyfile summary");
  const input = await page.$("#keyfile-input");
  const other = join(tmp.dir, "other.json");
  await writeFile(other, JSON.stringify({ ...id, user: "bob" }));
  await input.uploadFile(other);
  await assert.rejects(signIn(page, "frank"), /Could not use other.json: it is "bob"'s, not frank's/);
  log("with frank's identity.json the browser is frank");
  await input.uploadFile(file);
  await signIn(page, "frank");
  const want = await lib.e2e.fingerprint(lib.bytes.fromBase64(id.public_key));
  assert.equal(await page.$eval("#fingerprint", (e) => e.textContent), want, "the CLI's key, so the CLI's fingerprint");
  await page.close();

  log("the Go CLI still logs in as frank");
  const again = cli("frank");
  try {
    await again.expect("Enter a user whom you want to chat with: ");
  } finally {
    await again.stop();
  }
});

// A server whose session tokens last 3 s ends the page's stream as each
// expires; the page reopens it at once, saying nothing about it.
test("the page stays connected, saying nothing, as 3-second tokens expire", async () => {
  const { dir, cleanup } = await tempDir("spartan-web-expiry-");
  log("a server whose session tokens last 3 s (auth.token_minutes: 0.05)");
  const short = await Server.start({ dir, auth: "{required: true, token_minutes: 0.05}" });
  const page = await newPage();
  let opens = 0;
  page.on("request", (r) => r.url().endsWith("/spartan.v1.ChatService/ReceiveMsg") && opens++);
  const store = new lib.MemoryKeyStore();
  const state = await lib.loadState(store);
  const bob = new lib.Crypto(new lib.SpartanClient({ baseUrl: short.url, user: "bob", signingKey: state.signing }), store, state);
  const bobSub = bob.client.subscribe({ onUpdate: (u) => u.kind === "message" && bobSub.ack(u.message) });
  try {
    await bob.publish();
    await page.goto(short.url);
    await signIn(page, "alice");
    // Every status line, notice and bob's entry in the list the page ever shows.
    await page.evaluate(() => {
      const seen = (window.__seen = new Set());
      const note = () => {
        seen.add(`status: ${document.getElementById("connection").textContent}`);
        for (const e of document.querySelectorAll("#messages .notice")) seen.add(`notice: ${e.textContent}`);
        const b = document.querySelector('[data-user="bob"]');
        if (b) seen.add(`list: ${b.getAttribute("aria-label")}`);
      };
      note();
      new MutationObserver(note).observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
    });
    await bob.client.requestChat("alice");
    await waitText(page, "#requests", "bob is requesting to chat with you.");
    await pick(page, '#requests button[aria-label="Accept bob\'s chat request"]');
    await bob.sendText("alice", "before the tokens expire", lib.newMessageId());
    await waitText(page, "#messages li.msg", "before the tokens expire");

    log("waiting for the server to cut the page's stream twice as its tokens expire");
    const first = opens;
    const deadline = Date.now() + 10_000;
    while (opens - first < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.ok(opens - first >= 2, `the page reopened its stream ${opens - first} times within 10 s, not 2`);

    await bob.sendText("alice", "after two expiries", lib.newMessageId());
    await waitText(page, "#messages li.msg", "after two expiries");
    assert.deepEqual(await texts(page), ["before the tokens expire", "after two expiries"], "each message once, in order");
    assert.equal(await page.$eval("#connection", (e) => e.classList.contains("down")), false, "the status is up");
    const seen = await page.evaluate(() => [...window.__seen]);
    log(`the stream was reopened ${opens - first} times; the page showed: ${seen.join(" | ")}`);
    const bad = seen.filter((t) => /lost connection|reconnect|disconnected|offline|unreachable|could not/i.test(t));
    assert.deepEqual(bad, [], `the page said nothing about the cuts; it showed: ${seen.join(" | ")}`);
  } finally {
    await bobSub.stop();
    await page.close();
    await short.stop();
    await cleanup();
  }
});

// Past the send limit the page waits as long as the server's RetryInfo asks,
// once per refusal, and sends the rest in order: no message lost, none twice.
test("a burst typed past the rate limit arrives in order, paced as the server asks", async () => {
  const { dir, cleanup } = await tempDir("spartan-web-rate-");
  log("a server whose send limit is 2 in 3 s, burst 2: a refusal asks for up to 1.5 s");
  const paced = await Server.start({ dir, send: "calls: 2, window_seconds: 3, burst: 2" });
  const page = await newPage();
  let sends = 0;
  page.on("request", (r) => r.url().endsWith("/spartan.v1.ChatService/SendMsg") && sends++);
  const store = new lib.MemoryKeyStore();
  const state = await lib.loadState(store);
  const bob = new lib.Crypto(new lib.SpartanClient({ baseUrl: paced.url, user: "bob", signingKey: state.signing }), store, state);
  const got = [];
  const bobSub = bob.client.subscribe({
    onUpdate: async (u) => {
      if (u.kind !== "message") return;
      if (u.message.type === lib.MessageType.TEXT) got.push((await bob.open(u.message)).text);
      bobSub.ack(u.message);
    },
  });
  try {
    await bob.publish();
    await page.goto(paced.url);
    await signIn(page, "alice");
    await bob.client.requestChat("alice");
    await waitText(page, "#requests", "bob is requesting to chat with you.");
    await pick(page, '#requests button[aria-label="Accept bob\'s chat request"]');
    await waitText(page, "#messages .notice", "You are now ready to chat with bob.");

    const want = Array.from({ length: 5 }, (_, i) => `burst line ${i + 1}`);
    log(`alice types ${want.length} lines at once`);
    for (const t of want) await send(page, t);
    await waitText(page, "#messages .notice", "The server is pacing your messages (alice may send 2 messages ");
    const deadline = Date.now() + 4 * WAIT;
    while (got.length < want.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(got, want, "bob got each line once, in order");
    await page.waitForFunction(() => ![...document.querySelectorAll("#messages .meta")].some((e) => /waiting|sending/.test(e.textContent)), { timeout: WAIT });
    assert.deepEqual(await texts(page), want, "the page shows each line once, in order");
    // Two go at once; each of the other three is refused once, then sent
    // after the wait the refusal asked for (a fixed 1 s would be refused twice).
    log(`${sends} SendMsg calls for ${want.length} lines`);
    assert.ok(sends <= want.length + 3, `${sends} SendMsg calls for ${want.length} lines: at most one refusal per paced line`);
    const notices = await page.$$eval("#messages .notice", (els) => els.filter((e) => e.textContent.includes("pacing")).length);
    assert.equal(notices, 1, "the pacing is said once");
  } finally {
    await bobSub.stop();
    await page.close();
    await paced.stop();
    await cleanup();
  }
});

// Charlie connects for the first time after alice posted to their group:
// the post waits in his page, under one notice, until alice's client (the
// library, reacting to his KEY_PUBLISHED with shareOwedKeys) sends her key;
// then it shows, once, with no warning.
test("a group post from before the first connection shows when the sender's key arrives", async () => {
  const { dir, cleanup } = await tempDir("spartan-web-owed-");
  const srv = await Server.start({ dir, users: ["alice", "bob", "charlie"] });
  const page = await newPage();
  const store = new lib.MemoryKeyStore();
  const state = await lib.loadState(store);
  const alice = new lib.Crypto(new lib.SpartanClient({ baseUrl: srv.url, user: "alice", signingKey: state.signing }), store, state);
  let open;
  const gate = new Promise((resolve) => (open = resolve));
  const shared = [];
  const aliceSub = alice.client.subscribe({
    onUpdate: async (u) => {
      if (u.kind !== "message") return;
      if (u.message.type === lib.MessageType.KEY_PUBLISHED) {
        await gate;
        shared.push(...(await alice.shareOwedKeys(u.message.sender)));
      }
      aliceSub.ack(u.message);
    },
  });
  try {
    log("alice (a library client) makes team with bob and charlie, who never connected, and posts");
    await alice.publish();
    await alice.client.createGroup("team", ["bob", "charlie"]);
    assert.deepEqual((await alice.postText("team", "Hello, team!", lib.newMessageId())).unreadable, ["bob", "charlie"]);

    log("charlie signs in in the browser for the first time: the post waits for alice's key");
    await page.goto(srv.url);
    await signIn(page, "charlie");
    await pick(page, '[data-group="team"]');
    const waiting = "A post from alice@team waits for alice's key; it will show when the key arrives.";
    await waitText(page, "#messages .notice", waiting);
    assert.deepEqual(await texts(page), [], "nothing undecryptable is shown");
    assert.equal(await page.$$eval("#messages .notice", (els, t) => els.filter((e) => e.textContent === t).length, waiting), 1, "one notice");

    log("alice's client shares her key on charlie's KEY_PUBLISHED");
    open();
    await waitText(page, "#messages li.msg", "Hello, team!");
    await page.waitForFunction((t) => ![...document.querySelectorAll("#messages .notice")].some((e) => e.textContent === t), { timeout: WAIT }, waiting);
    assert.deepEqual(shared, ["team"]);
    await alice.postText("team", "and after", lib.newMessageId());
    await waitText(page, "#messages li.msg", "and after");
    assert.deepEqual(await texts(page), ["Hello, team!", "and after"], "each post once, in order");
    assert.equal(await page.$$eval("#messages .warning", (els) => els.length), 0, "no warning");
  } finally {
    open();
    await aliceSub.stop();
    await page.close();
    await srv.stop();
    await cleanup();
  }
});

/** serveDist serves dist/ on another loopback port: the page from another origin. */
async function serveDist() {
  const port = await freePort();
  const types = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css" };
  const srv = createServer(async (req, res) => {
    const path = new URL(req.url, "http://x").pathname;
    const name = path === "/" ? "index.html" : path.slice(1);
    try {
      const body = await readFile(join(here, "..", "dist", name.replace(/[^a-z.]/g, "")));
      res.writeHead(200, { "Content-Type": types[name.slice(name.lastIndexOf("."))] ?? "application/octet-stream" });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((resolve) => srv.listen(port, "127.0.0.1", resolve));
  return { origin: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => srv.close(resolve)) };
}

// A page from another origin sends its session token in the Authorization
// header, which the server's CORS preflight allows (internal/server/cors.go).
test("the page runs from another origin that cors.allowed_origins names", async () => {
  const site = await serveDist();
  const { dir, cleanup } = await tempDir("spartan-web-cors-");
  log(`a second server that lets ${site.origin} call it`);
  const other = await Server.start({ dir, extra: `cors: {allowed_origins: ["${site.origin}"]}` });
  const page = await newPage();
  const bob = cli("bob", other);
  try {
    await page.goto(`${site.origin}/?server=${encodeURIComponent(other.url)}`);
    await signIn(page, "alice");
    await bob.expect("Enter a user whom you want to chat with: ");
    bob.send("alice");
    await waitText(page, "#requests", "bob is requesting to chat with you.");
    await pick(page, '#requests button[aria-label="Accept bob\'s chat request"]');
    await bob.expect("alice accepted your chat request.");
    bob.send("across origins");
    await waitText(page, "#messages li.msg", "across origins");
  } finally {
    await bob.stop();
    await page.close();
    await other.stop();
    await site.close();
    await cleanup();
  }
});
