// The single-page chat: the terminal clients' experience in a browser, on
// the library in ../lib. Sign in as a user (keys made here, kept in
// IndexedDB), see who is online, answer chat requests, chat one-on-one or
// in groups, read older messages by scrolling up. What is typed while the
// server is away waits (in IndexedDB) and goes, in order, when it is back.

import { Code } from "@connectrpc/connect";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import {
  ConversationState,
  Crypto,
  IdbKeyStore,
  importKeyFile,
  loadState,
  MessageType,
  newMessageId,
  NoGroupKeyError,
  NoKeyError,
  SpartanClient,
  codeOf,
  errorMessage,
  retryable,
  retryDelay,
  e2e,
  type Held,
  type KeyChange,
  type Message,
  type SendMsgResponse,
  type Subscription,
  type Update,
} from "../lib/index.js";

/** waitKey names a group post's group and sender: the posts kept for one key. */
const waitKey = (m: Message) => `${m.group}\x00${m.sender}`;

/** sentMs is a message's time at the server (ms). */
const sentMs = (m: Message) => (m.sentTime ? timestampMs(m.sentTime) : Date.now());

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

/** h makes an element; text children are text nodes, never HTML. */
function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | boolean | ((e: Event) => void)> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (typeof v === "function") el.addEventListener(k, v);
    else if (v === true) el.setAttribute(k, "");
    else if (v !== false) el.setAttribute(k, v);
  }
  el.append(...children);
  return el;
}

/** Item is one line of a conversation: a message, or a notice from the client. */
interface Item {
  key: string;
  time: number;
  kind: "message" | "notice";
  sender?: string;
  text: string;
  mine?: boolean;
  warning?: boolean;
  plain?: boolean;
  status?: string;
}

/** Conversation is a user's or a group's. */
interface Conversation {
  id: string; // "u:bob" or "g:team"
  name: string;
  group: boolean;
  items: Map<string, Item>;
  /** before is the before_seq of the next older page: undefined before the first, 0n when all is loaded. */
  before?: bigint;
  loading?: Promise<void>;
  unread: number;
  noKeySaid?: boolean;
  /** accepted: the peer accepted a request of the user's while this page ran. */
  accepted?: boolean;
}

const PAGE = 30;

/** KEPT is how many posts of one sender in one group wait for that sender's key, at most. */
const KEPT = 100;

/**
 * SERVER is the Spartan server the page talks to: its own origin (the
 * server serves it), or the one named by ?server=URL (a page served from
 * elsewhere, which the server's cors.allowed_origins must name).
 */
const SERVER = new URLSearchParams(location.search).get("server") || location.origin;

class App {
  private client!: SpartanClient;
  private crypto!: Crypto;
  private sub?: Subscription;
  private me = "";
  private others: string[] = [];
  private online = new Set<string>();
  private requests: string[] = [];
  private groups = new Map<string, string[]>();
  private convs = new Map<string, Conversation>();
  private active?: Conversation;
  private maxBytes = 65536;
  private flushing?: Promise<void>;
  private retryTimer?: ReturnType<typeof setTimeout>; // the one pending retry of the outbox
  private pacedUntil = 0; // the server asked us not to send before this time (ms)
  private backoff = 0; // the last wait after an unreachable server (ms); 0 after a send
  private pacingSaid = false; // the pacing notice was shown since the outbox was last empty
  private connected = true;
  private seq = 0; // orders items of equal time
  private signingIn = false;
  /** kept: group posts that wait for their sender's key, by group and sender ("team\x00alice"), oldest first. */
  private kept = new Map<string, Message[]>();
  /** keysIn counts the sender keys accepted per group and sender: a post that found none tries again if one came meanwhile. */
  private keysIn = new Map<string, number>();

  // --- signing in ---

  async start(): Promise<void> {
    const select = $<HTMLSelectElement>("signin-user");
    const error = $("signin-error");
    try {
      const users = await new SpartanClient({ baseUrl: SERVER, user: "" }).listUsers();
      select.replaceChildren(...users.map((u) => h("option", { value: u }, u)));
      const last = localStorage.getItem("spartan.user");
      if (last && users.includes(last)) select.value = last;
    } catch (err) {
      error.textContent = `Could not reach the Spartan server: ${errorMessage(err)}. Reload the page to try again.`;
      return;
    }
    $("signin").addEventListener("submit", (e) => {
      e.preventDefault();
      void this.signIn(select.value);
    });
    select.focus();
  }

  private async signIn(user: string): Promise<void> {
    if (this.signingIn) return;
    this.signingIn = true;
    const error = $("signin-error");
    error.textContent = "Signing in…";
    try {
      const store = IdbKeyStore.forServer(new URL(SERVER).host, user);
      const file = $<HTMLInputElement>("keyfile-input").files?.[0];
      if (file) {
        let keys;
        try {
          keys = await importKeyFile(await file.text(), user);
        } catch (err) {
          error.textContent = `Could not use ${file.name}: ${err instanceof Error ? err.message : String(err)}.`;
          return;
        }
        const before = await store.load();
        await store.save({ ...before, ...keys });
      }
      const state = await loadState(store);
      this.client = new SpartanClient({ baseUrl: SERVER, user, signingKey: state.signing });
      this.crypto = new Crypto(this.client, store, state, (c) => this.keyChanged(c));
      const login = await this.client.login();
      this.me = login.user;
      this.others = login.others;
      this.maxBytes = login.maxMessageBytes || this.maxBytes;
      this.online = new Set(login.online);
      this.requests = [...login.chatRequests];
      await this.crypto.publish();
      await this.refreshGroups();
    } catch (err) {
      error.textContent = `Could not sign in as ${user}: ${errorMessage(err)}.`;
      if (codeOf(err) === Code.PermissionDenied) {
        error.textContent += ` If you chat as ${user} with a terminal client, sign in with its keys: open "Use the keys of your terminal client" above.`;
      }
      return;
    } finally {
      this.signingIn = false;
    }
    localStorage.setItem("spartan.user", user);
    error.textContent = "";
    $("signin-view").hidden = true;
    $("chat-view").hidden = false;
    $("whoami").textContent = `Signed in as ${this.me}`;
    $("fingerprint").textContent = await this.crypto.fingerprint();
    document.title = `${this.me} · Spartan Messenger`;
    this.wire();
    this.renderLists();
    this.restoreOutbox();
    this.setConnection(true, "Connected, end-to-end encrypted.");
    this.sub = this.client.subscribe({ onUpdate: (u) => this.update(u) });
    this.sub.done.catch((err) => this.setConnection(false, `Disconnected: ${errorMessage(err)}. Reload the page to reconnect.`));
    addEventListener("online", () => this.sub?.retryNow());
    void this.flush();
    ($("people").querySelector("button") as HTMLButtonElement | null)?.focus();
  }

  private wire(): void {
    $("compose").addEventListener("submit", (e) => {
      e.preventDefault();
      this.compose();
    });
    const text = $<HTMLTextAreaElement>("text");
    text.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        this.compose();
      }
    });
    $("messages").addEventListener("scroll", () => {
      if ($("messages").scrollTop < 40) void this.loadOlder();
    });
    $("older").addEventListener("click", () => void this.loadOlder());
    $("back").addEventListener("click", () => this.closeChat());
    document.addEventListener("keydown", (e) => {
      if (e.key === "Escape" && document.body.classList.contains("in-chat")) this.closeChat();
    });
    $("leave").addEventListener("click", () => void this.leaveGroup());
    $("add-member").addEventListener("submit", (e) => {
      e.preventDefault();
      void this.addMember($<HTMLSelectElement>("add-member-user").value);
    });
    $("group-form").addEventListener("submit", (e) => {
      e.preventDefault();
      void this.makeGroup();
    });
  }

  // --- the lists ---

  private renderLists(): void {
    const req = $("requests");
    req.replaceChildren(
      ...this.requests.map((u) =>
        h(
          "li",
          { class: "request" },
          h("span", {}, `${u} is requesting to chat with you.`),
          h("button", { type: "button", class: "primary", "aria-label": `Accept ${u}'s chat request`, click: () => void this.openUser(u) }, "Accept"),
          h("button", { type: "button", "aria-label": `Decline ${u}'s chat request`, click: () => void this.decline(u) }, "Decline"),
        ),
      ),
    );
    $("requests-section").hidden = this.requests.length === 0;
    $("people").replaceChildren(
      ...this.others.map((u) => {
        const c = this.convs.get(`u:${u}`);
        const on = this.online.has(u);
        const unread = c?.unread ?? 0;
        return h(
          "li",
          {},
          h(
            "button",
            {
              type: "button",
              class: "pick",
              "data-user": u,
              "aria-current": this.active?.id === `u:${u}` ? "true" : "false",
              "aria-label": `${u}, ${on ? "online" : "offline"}${unread ? `, ${unread} unread` : ""}`,
              click: () => void this.openUser(u),
            },
            h("span", { class: on ? "dot on" : "dot", "aria-hidden": "true" }),
            u,
            ...(unread ? [h("span", { class: "badge", "aria-hidden": "true" }, String(unread))] : []),
          ),
        );
      }),
    );
    const groups = [...this.groups.keys()].sort();
    $("groups").replaceChildren(
      ...(groups.length
        ? groups.map((g) => {
            const unread = this.convs.get(`g:${g}`)?.unread ?? 0;
            return h(
              "li",
              {},
              h(
                "button",
                {
                  type: "button",
                  class: "pick",
                  "data-group": g,
                  "aria-current": this.active?.id === `g:${g}` ? "true" : "false",
                  "aria-label": `group ${g}: ${(this.groups.get(g) ?? []).join(", ")}${unread ? `, ${unread} unread` : ""}`,
                  click: () => void this.openGroup(g),
                },
                `# ${g}`,
                ...(unread ? [h("span", { class: "badge", "aria-hidden": "true" }, String(unread))] : []),
              ),
            );
          })
        : [h("li", { class: "sub" }, "You are in no group.")]),
    );
    const members = $("group-members");
    if (!members.childElementCount) {
      members.append(
        ...this.others.map((u) => h("label", { class: "member" }, h("input", { type: "checkbox", name: "member", value: u }), ` ${u}`)),
      );
    }
  }

  private async refreshGroups(): Promise<void> {
    const gs = await this.client.listGroups();
    this.groups = new Map(gs.map((g) => [g.name, g.members]));
  }

  // --- conversations ---

  private conv(id: string): Conversation {
    let c = this.convs.get(id);
    if (!c) {
      c = { id, name: id.slice(2), group: id.startsWith("g:"), items: new Map(), unread: 0 };
      this.convs.set(id, c);
    }
    return c;
  }

  private notice(c: Conversation | undefined, text: string, warning = false): void {
    const target = c ?? this.active;
    if (!target) {
      this.setConnection(this.connected, text);
      return;
    }
    const it: Item = { key: `n${++this.seq}`, time: Date.now(), kind: "notice", text, warning };
    target.items.set(it.key, it);
    if (target === this.active) this.renderMessages(true);
  }

  private async openUser(u: string): Promise<void> {
    const c = this.conv(`u:${u}`);
    this.show(c);
    try {
      if (this.requests.includes(u)) {
        await this.client.answerChat(u, true);
        this.requests = this.requests.filter((r) => r !== u);
        this.renderLists();
        this.notice(c, `You are now ready to chat with ${u}.`);
      } else {
        const r = await this.client.requestChat(u);
        if (r.state === ConversationState.ACCEPTED) this.notice(c, `You are now ready to chat with ${u}.`);
        else if (!c.accepted) this.notice(c, `Asked ${u} to chat; what you write is delivered when ${u} accepts.`);
      }
    } catch (err) {
      this.notice(c, `Could not start a chat with ${u}: ${errorMessage(err)}.`, true);
    }
    if (!this.crypto.contactKey(u)) {
      try {
        await this.crypto.refresh(u);
      } catch (err) {
        if (err instanceof NoKeyError) {
          this.notice(c, `${u} has not set up encryption yet; your messages will be sent when ${u} connects.`);
          c.noKeySaid = true;
        }
      }
    }
    if (!c.noKeySaid && !this.online.has(u)) this.notice(c, `${u} is offline; your messages will wait for them.`);
    this.renderSub();
    this.renderLists();
    await this.loadOlder();
  }

  private async openGroup(g: string): Promise<void> {
    const c = this.conv(`g:${g}`);
    this.show(c);
    this.renderLists();
    await this.loadOlder();
  }

  private show(c: Conversation): void {
    this.active = c;
    c.unread = 0;
    document.body.classList.add("in-chat");
    $("chat-title").textContent = c.group ? `# ${c.name}` : c.name;
    this.renderSub();
    $("leave").hidden = !c.group;
    $("compose").hidden = false;
    $("text-label").textContent = c.group ? `Message to the group ${c.name}` : `Message to ${c.name}`;
    $("conversation").setAttribute("aria-label", c.group ? `Group ${c.name}` : `Conversation with ${c.name}`);
    const list = $("messages");
    list.setAttribute("aria-busy", "true"); // another conversation's lines are not news
    list.replaceChildren();
    this.renderMessages(true);
    list.setAttribute("aria-busy", "false");
    $("text").focus();
  }

  private renderSub(): void {
    const c = this.active;
    if (!c) return;
    if (c.group) {
      const members = this.groups.get(c.name) ?? [];
      $("chat-sub").textContent = members.join(", ");
      const outside = this.others.filter((u) => !members.includes(u));
      $("add-member").hidden = outside.length === 0;
      $("add-member-user").replaceChildren(...outside.map((u) => h("option", { value: u }, u)));
      return;
    }
    $("add-member").hidden = true;
    const state = this.online.has(c.name) ? "online" : "offline";
    $("chat-sub").textContent = state;
    const key = this.crypto.contactKey(c.name);
    if (!key) return;
    // The contact's key fingerprint, to compare with them over another channel (the CLI's /whois).
    void e2e.fingerprint(key).then((fp) => {
      if (this.active === c) $("chat-sub").textContent = `${state} · key fingerprint ${fp}`;
    });
  }

  private closeChat(): void {
    document.body.classList.remove("in-chat");
    const id = this.active?.id;
    const sel = id?.startsWith("g:") ? `[data-group="${id.slice(2)}"]` : `[data-user="${id?.slice(2)}"]`;
    (document.querySelector(sel) as HTMLElement | null)?.focus();
  }

  /**
   * renderMessages brings the list in line with the active conversation,
   * touching only what changed: the list is a live region, and an element
   * put in again would be read out again.
   */
  private renderMessages(stick: boolean): void {
    const c = this.active;
    const list = $("messages");
    if (!c) return;
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 60;
    const items = [...c.items.values()].sort((a, b) => a.time - b.time);
    const shown = new Map<string, HTMLElement>();
    for (const el of list.children) shown.set((el as HTMLElement).dataset.key ?? "", el as HTMLElement);
    let prev: Element | null = null;
    for (const it of items) {
      const content = `${it.kind}\x00${it.text}\x00${it.warning ?? false}\x00${it.mine ?? false}`;
      let el = shown.get(it.key);
      shown.delete(it.key);
      if (!el || el.dataset.content !== content) {
        const made = this.itemElement(it);
        made.dataset.content = content;
        if (el) el.replaceWith(made);
        el = made;
      }
      const meta = el.querySelector(".meta");
      const metaText = this.metaText(it);
      if (meta && meta.textContent !== metaText) meta.textContent = metaText;
      el.dataset.time = String(it.time);
      const want: ChildNode | null = prev ? prev.nextSibling : list.firstChild;
      if (want !== el) list.insertBefore(el, want);
      prev = el;
    }
    for (const el of shown.values()) el.remove();
    $("older").hidden = c.before === 0n;
    if (stick && (atBottom || items.length < 2)) list.scrollTop = list.scrollHeight;
  }

  private metaText(it: Item): string {
    // A message still waiting is placed last, and shows no time.
    const time = it.time < Date.now() + 1e11 ? new Date(it.time).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) : "";
    return [it.mine ? "you" : (it.sender ?? ""), time, it.status ?? "", it.plain ? "not encrypted" : ""].filter(Boolean).join(" · ");
  }

  private itemElement(it: Item): HTMLElement {
    if (it.kind === "notice") return h("li", { class: it.warning ? "notice warning" : "notice", "data-key": it.key }, it.text);
    return h(
      "li",
      { class: `msg${it.mine ? " mine" : ""}${it.warning ? " warning" : ""}`, "data-key": it.key },
      h("span", { class: "sr-only" }, `${it.mine ? "You" : it.sender}: `),
      it.text,
      h("span", { class: "meta", "aria-hidden": "true" }, this.metaText(it)),
    );
  }

  /** loadOlder loads the next older page of the active conversation (the newest first). */
  private async loadOlder(): Promise<void> {
    const c = this.active;
    if (!c || c.before === 0n) return;
    if (c.loading) return c.loading;
    c.loading = (async () => {
      const list = $("messages");
      const fromBottom = list.scrollHeight - list.scrollTop;
      try {
        const page = await this.client.history({
          peer: c.group ? "" : c.name,
          group: c.group ? c.name : "",
          beforeSeq: c.before ?? 0n,
          pageSize: PAGE,
        });
        for (const m of page.messages) await this.addMessage(c, m, false);
        const first = c.before === undefined;
        c.before = page.nextBeforeSeq;
        if (c === this.active) {
          this.renderMessages(first);
          if (!first) list.scrollTop = list.scrollHeight - fromBottom;
        }
        if (first && !page.messages.length && !c.group) {
          // nothing yet: the notices say what there is
        }
      } catch (err) {
        this.notice(c, `No history: ${errorMessage(err)}.`, true);
      } finally {
        c.loading = undefined;
      }
    })();
    return c.loading;
  }

  /** addMessage opens a text and puts it in c (once: by its id). */
  private async addMessage(c: Conversation, m: Message, live: boolean): Promise<void> {
    if (m.id && c.items.has(m.id)) return;
    const mine = m.sender === this.me;
    // A message of ours still shown as waiting, now known by its id.
    if (mine && m.clientMsgId) {
      const waiting = c.items.get(`c:${m.clientMsgId}`);
      if (waiting) c.items.delete(waiting.key);
    }
    const it: Item = {
      key: m.id || `x${++this.seq}`,
      time: m.sentTime ? timestampMs(m.sentTime) : Date.now(),
      kind: "message",
      sender: m.sender,
      mine,
      text: "",
    };
    const waits = waitKey(m);
    const keysBefore = this.keysIn.get(waits) ?? 0;
    try {
      const opened = await this.crypto.open(m);
      it.text = opened.text;
      it.plain = opened.plain;
    } catch (err) {
      if (err instanceof NoGroupKeyError && m.id && !mine) {
        // The sender's key has not arrived yet: the post waits for it (GROUP_KEY releases it).
        if ((this.keysIn.get(waits) ?? 0) !== keysBefore) return this.addMessage(c, m, live); // it came meanwhile
        if (c.items.has(m.id)) return;
        this.keep(c, m);
        return;
      }
      it.warning = true;
      const from = m.group ? `${m.sender}@${m.group}` : m.sender;
      if (err instanceof e2e.UnknownSchemeError) {
        it.text = `WARNING: a message from ${from} uses an encryption scheme this client does not know; update Spartan to read it.`;
      } else if (err instanceof e2e.NotAuthenticError || err instanceof NoKeyError) {
        it.text = `WARNING: a message from ${from} could not be decrypted: it was altered, or sealed with another key.`;
      } else if (err instanceof NoGroupKeyError) {
        it.text = `WARNING: a message from ${from} could not be decrypted: ${err.message}.`;
      } else {
        it.text = `WARNING: a message from ${from} could not be decrypted: ${errorMessage(err)}.`;
      }
    }
    c.items.set(it.key, it);
    if (live && c !== this.active) c.unread++;
  }

  /** keep holds a group post until its sender's key arrives, with one notice per group and sender. */
  private keep(c: Conversation, m: Message): void {
    const k = waitKey(m);
    const list = (this.kept.get(k) ?? []).filter((x) => x.id !== m.id);
    list.push(m);
    list.sort((a, b) => sentMs(a) - sentMs(b));
    list.splice(0, list.length - KEPT); // the oldest go first
    this.kept.set(k, list);
    // One notice, where the oldest of them would be.
    const key = `w:${k}`;
    c.items.set(key, {
      key,
      time: sentMs(list[0]),
      kind: "notice",
      text: `A post from ${m.sender}@${m.group} waits for ${m.sender}'s key; it will show when the key arrives.`,
    });
  }

  /** release shows, in their order, the posts of sender in group that the key just accepted opens. */
  private async release(group: string, sender: string): Promise<void> {
    const k = `${group}\x00${sender}`;
    this.keysIn.set(k, (this.keysIn.get(k) ?? 0) + 1);
    const list = this.kept.get(k);
    if (!list) return;
    const c = this.conv(`g:${group}`);
    this.kept.delete(k);
    for (const m of list) await this.addMessage(c, m, true); // one that still cannot be opened is kept again
    if (!this.kept.has(k)) c.items.delete(`w:${k}`);
    if (c === this.active) this.renderMessages(true);
    else this.renderLists();
  }

  // --- what the stream brings ---

  private async update(u: Update): Promise<void> {
    if (u.kind === "disconnected") {
      this.setConnection(false, "Lost connection to Spartan Server; reconnecting...");
      if (this.active) this.notice(this.active, "Lost connection to Spartan Server; reconnecting...", true);
      return;
    }
    if (u.kind === "reconnected") {
      this.setConnection(true, "Reconnected.");
      if (this.active) this.notice(this.active, "Reconnected.");
      try {
        await this.crypto.publish();
        await this.refreshGroups();
      } catch {
        // the next reconnection tries again
      }
      this.renderLists();
      void this.flush();
      return;
    }
    const m = u.message;
    try {
      await this.handle(m);
    } finally {
      this.sub?.ack(m);
    }
  }

  private async handle(m: Message): Promise<void> {
    const from = m.sender;
    switch (m.type) {
      case MessageType.TEXT: {
        const c = this.conv(m.group ? `g:${m.group}` : `u:${m.sender === this.me ? m.receiver : m.sender}`);
        await this.addMessage(c, m, true);
        if (c === this.active) this.renderMessages(true);
        else this.renderLists();
        break;
      }
      case MessageType.CHAT_REQUEST: {
        if (this.requests.includes(from)) break;
        const login = await this.client.login().catch(() => undefined);
        if (login && !login.chatRequests.includes(from)) break; // answered since
        this.requests.push(from);
        this.renderLists();
        this.setConnection(this.connected, `${from} is requesting to chat with you.`);
        break;
      }
      case MessageType.CHAT_ACCEPTED:
        this.conv(`u:${from}`).accepted = true;
        this.notice(this.conv(`u:${from}`), `${from} accepted your chat request.`);
        break;
      case MessageType.CHAT_DECLINED:
        this.notice(this.conv(`u:${from}`), m.note || `${from} declined your chat request.`);
        this.dropHeld(from);
        break;
      case MessageType.PRESENCE: {
        const was = this.online.has(from);
        if (m.online) this.online.add(from);
        else this.online.delete(from);
        if (was !== m.online) {
          const c = this.convs.get(`u:${from}`);
          if (c && c === this.active) {
            this.notice(c, m.online ? `${from} is online.` : `${from} is offline; your messages will wait for them.`);
            this.renderSub();
          }
          this.renderLists();
        }
        break;
      }
      case MessageType.KEY_PUBLISHED:
        try {
          await this.crypto.refresh(from);
          try {
            // Our sender keys that were made for from but could not reach them: now.
            await this.crypto.shareOwedKeys(from);
          } catch (err) {
            if (!(err instanceof NoKeyError)) this.notice(this.conv(`u:${from}`), `Could not send ${from} your group keys: ${errorMessage(err)}.`, true);
          }
          const waiting = () => this.crypto.state.outbox.filter((x) => x.to === from).length;
          const before = waiting();
          await this.flush();
          // Those that left; any the rate limit holds follow (the pacing notice says so).
          const n = before - waiting();
          if (n > 0) {
            this.notice(this.conv(`u:${from}`), `${from} has set up encryption; sent ${n === 1 ? "1 waiting message" : `${n} waiting messages`}.`);
          }
        } catch (err) {
          if (!(err instanceof NoKeyError)) this.notice(this.conv(`u:${from}`), `Could not get ${from}'s new key: ${errorMessage(err)}.`, true);
        }
        break;
      case MessageType.GROUP_CHANGED:
        await this.refreshGroups().catch(() => {});
        if (m.note) this.notice(this.conv(`g:${m.group}`), m.note);
        this.renderLists();
        this.renderSub();
        break;
      case MessageType.GROUP_KEY:
        try {
          await this.crypto.acceptGroupKey(m);
        } catch (err) {
          this.notice(
            this.conv(`g:${m.group}`),
            `WARNING: ${from}'s key for ${m.group} could not be read (${err instanceof Error ? err.message : String(err)}); their posts there will not show.`,
            true,
          );
          break;
        }
        await this.release(m.group, from);
        break;
      default:
        if (m.note) this.setConnection(this.connected, m.note);
    }
  }

  private keyChanged(k: KeyChange): void {
    void Promise.all([e2e.fingerprint(k.old), e2e.fingerprint(k.now)]).then(([was, now]) =>
      this.notice(
        this.conv(`u:${k.user}`),
        `WARNING: ${k.user}'s encryption key has changed (was ${was}, now ${now}). ${k.user} may have set up Spartan again, or someone may be trying to read your messages: compare fingerprints with ${k.user} before you share anything secret.`,
        true,
      ),
    );
  }

  private setConnection(up: boolean, text: string): void {
    this.connected = up;
    const el = $("connection");
    el.textContent = text;
    el.classList.toggle("down", !up);
  }

  // --- sending ---

  private compose(): void {
    const c = this.active;
    const input = $<HTMLTextAreaElement>("text");
    const text = input.value;
    if (!c || !text.trim()) return;
    const limit = c.group ? e2e.maxPost(this.maxBytes) : e2e.maxText(this.maxBytes);
    const n = new TextEncoder().encode(text).length;
    if (n > limit) {
      this.notice(c, `Not sent: the message is ${n} bytes; the limit is ${limit}.`, true);
      return;
    }
    input.value = "";
    const held: Held = { to: c.group ? "" : c.name, group: c.group ? c.name : "", clientMsgId: newMessageId(), text };
    this.crypto.state.outbox.push(held);
    void this.crypto.save();
    this.showHeld(held, "sending…");
    void this.flush();
  }

  private showHeld(x: Held, status: string): void {
    const c = this.conv(x.group ? `g:${x.group}` : `u:${x.to}`);
    const key = `c:${x.clientMsgId}`;
    const old = c.items.get(key);
    c.items.set(key, { key, time: old?.time ?? Date.now() + 1e12, kind: "message", mine: true, sender: this.me, text: x.text, status });
    if (c === this.active) this.renderMessages(true);
  }

  private restoreOutbox(): void {
    for (const x of this.crypto.state.outbox) this.showHeld(x, "waiting to be sent");
  }

  /**
   * flush sends what waits, in order; one flush at a time. While the server's
   * rate limit asked us to wait, it leaves the sending to the pending retry.
   */
  private flush(): Promise<void> {
    // A flush under way sends what is added meanwhile too, unless it has just
    // found the outbox empty: one more after it, then (cheap when empty).
    if (this.flushing) return this.flushing.then(() => this.flush());
    if (this.retryTimer !== undefined && Date.now() < this.pacedUntil) return Promise.resolve();
    this.cancelRetry(); // a retry after an unreachable server: now instead
    this.flushing = this.flushOnce().finally(() => (this.flushing = undefined));
    return this.flushing;
  }

  /** retryIn arms the one retry of the outbox, replacing any pending one. */
  private retryIn(ms: number): void {
    this.cancelRetry();
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.flush();
    }, ms);
  }

  private cancelRetry(): void {
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  private async flushOnce(): Promise<void> {
    const skip = new Set<string>(); // receivers without a key: their messages keep waiting, in order
    const destOf = (x: Held) => (x.group ? `g:${x.group}` : `u:${x.to}`);
    for (;;) {
      // The outbox as it is now, so what is typed during the flush goes too.
      const x = this.crypto.state.outbox.find((y) => !skip.has(destOf(y)));
      if (!x) break;
      const dest = destOf(x);
      const c = this.conv(dest);
      let sent: SendMsgResponse | undefined;
      try {
        if (x.group) {
          const r = await this.crypto.postText(x.group, x.text, x.clientMsgId);
          sent = r.sent;
          for (const u of r.unreadable) this.notice(c, `${u} has not set up encryption yet and cannot read your posts to ${x.group} until they connect.`);
        } else {
          sent = await this.crypto.sendText(x.to, x.text, x.clientMsgId);
          if (sent.pending) this.showHeld(x, "delivered when accepted");
        }
        this.backoff = 0;
      } catch (err) {
        if (err instanceof NoKeyError) {
          skip.add(dest);
          this.showHeld(x, "waiting for encryption");
          if (!c.noKeySaid) {
            c.noKeySaid = true;
            this.notice(c, `${x.to} has not set up encryption yet; your messages will be sent when ${x.to} connects.`);
          }
          continue;
        }
        if (retryable(err)) {
          this.showHeld(x, "waiting for the server");
          if (codeOf(err) === Code.ResourceExhausted) {
            // As long as the server asks (its RetryInfo), within reason.
            const wait = Math.ceil(Math.min(Math.max(retryDelay(err) ?? 1000, 50), 60_000));
            if (!this.pacingSaid) {
              this.pacingSaid = true;
              const limit = errorMessage(err).replace(/;\s*try again.*$/, "");
              this.notice(c, `The server is pacing your messages (${limit}); the rest follow in order.`);
            }
            this.pacedUntil = Date.now() + wait;
            this.retryIn(wait);
          } else {
            this.setConnection(false, "Not sent yet: the server is unreachable. What you type waits and is sent, in order, when it is back.");
            // Besides the reconnection, which flushes at once: 1 s, 2 s, 4 s … 30 s.
            this.backoff = Math.min(this.backoff ? this.backoff * 2 : 1000, 30_000);
            this.retryIn(this.backoff);
          }
          return;
        }
        this.notice(c, `Not sent: ${errorMessage(err)}.`, true);
        c.items.delete(`c:${x.clientMsgId}`);
      }
      this.crypto.state.outbox = this.crypto.state.outbox.filter((y) => y.clientMsgId !== x.clientMsgId);
      await this.crypto.save();
      const shown = c.items.get(`c:${x.clientMsgId}`);
      if (shown && sent) {
        // Known by the server's id from now on (History brings it so), at the server's time.
        c.items.delete(shown.key);
        if (!c.items.has(sent.id)) {
          const status = sent.pending ? "delivered when accepted" : "";
          // The same element (its key) stays: a screen reader does not read it out again.
          c.items.set(sent.id, { ...shown, time: sent.sentTime ? timestampMs(sent.sentTime) : Date.now(), status });
        }
        if (c === this.active) this.renderMessages(true);
      }
    }
    if (!this.crypto.state.outbox.length) this.pacingSaid = false;
  }

  private dropHeld(user: string): void {
    const n = this.crypto.state.outbox.filter((x) => x.to === user).length;
    if (!n) return;
    this.crypto.state.outbox = this.crypto.state.outbox.filter((x) => x.to !== user);
    void this.crypto.save();
    this.notice(this.conv(`u:${user}`), n === 1 ? "1 message you typed was not sent." : `${n} messages you typed were not sent.`);
  }

  // --- requests and groups ---

  private async decline(u: string): Promise<void> {
    try {
      await this.client.answerChat(u, false);
      this.setConnection(this.connected, `You declined ${u}'s chat request.`);
    } catch (err) {
      if (codeOf(err) !== Code.FailedPrecondition) {
        this.setConnection(this.connected, `Could not decline ${u}'s request: ${errorMessage(err)}.`);
        return;
      }
    }
    this.requests = this.requests.filter((r) => r !== u);
    this.renderLists();
    ($("people").querySelector("button") as HTMLButtonElement | null)?.focus();
  }

  private async makeGroup(): Promise<void> {
    const name = $<HTMLInputElement>("group-name").value.trim();
    const members = [...document.querySelectorAll<HTMLInputElement>('#group-members input[name="member"]:checked')].map((i) => i.value);
    try {
      await this.client.createGroup(name, members);
      await this.refreshGroups();
    } catch (err) {
      this.setConnection(this.connected, `Could not make the group ${name}: ${errorMessage(err)}.`);
      return;
    }
    ($("group-form") as HTMLFormElement).reset();
    ($("new-group") as HTMLDetailsElement).open = false;
    this.renderLists();
    await this.openGroup(name);
  }

  private async addMember(user: string): Promise<void> {
    const c = this.active;
    if (!c?.group || !user) return;
    try {
      const g = await this.client.addMember(c.name, user);
      if (g) this.groups.set(g.name, g.members);
      this.renderSub();
      this.renderLists();
    } catch (err) {
      this.notice(c, `Could not add ${user} to ${c.name}: ${errorMessage(err)}.`, true);
    }
  }

  private async leaveGroup(): Promise<void> {
    const c = this.active;
    if (!c?.group) return;
    try {
      await this.client.leaveGroup(c.name);
      this.groups.delete(c.name);
      this.setConnection(this.connected, `You left ${c.name}.`);
      this.active = undefined;
      $("compose").hidden = true;
      $("leave").hidden = true;
      $("add-member").hidden = true;
      $("chat-title").textContent = "Pick someone to chat with";
      $("chat-sub").textContent = "";
      $("messages").replaceChildren();
      document.body.classList.remove("in-chat");
      this.renderLists();
    } catch (err) {
      this.notice(c, `Could not leave ${c.name}: ${errorMessage(err)}.`, true);
    }
  }
}

void new App().start();
