// Crypto is the end-to-end encryption of one client (docs/SECURITY.md), as
// clients/go/crypto.go and crypto_groups.go do it: it publishes the user's
// identity key, seals texts with the pair's key and group posts with the
// user's sender key (shared pairwise, renewed when the members change),
// and opens what arrives. Contacts' keys are trusted on first use; a key
// that replaces a trusted one is reported to onChange and trusted from then.

import { Code } from "@connectrpc/connect";
import { Encryption, type Message, type SendMsgResponse } from "../gen/spartan/v1/chat_pb.js";
import { generateSigningKey } from "./auth.js";
import { equal, fromBase64, fromUtf8, toBase64, utf8 } from "./bytes.js";
import { newMessageId, type SpartanClient } from "./client.js";
import * as e2e from "./e2e.js";
import { codeOf } from "./errors.js";
import type { KeyStore, State } from "./keystore.js";

/** NoKeyError: the user has not published an identity key yet, so nothing can be sealed for them. */
export class NoKeyError extends Error {
  constructor(readonly user: string) {
    super(`${user} has not set up encryption yet`);
    this.name = "NoKeyError";
  }
}

/** NoGroupKeyError: a group post sealed with a sender key that never reached this client. */
export class NoGroupKeyError extends Error {
  constructor() {
    super("the sender's key for this group has not reached this client");
    this.name = "NoGroupKeyError";
  }
}

/** KeyChange is a contact's key replacing a trusted one. */
export interface KeyChange {
  user: string;
  old: Uint8Array;
  now: Uint8Array;
}

/** Opened is a received text made readable; plain says it came unencrypted. */
export interface Opened {
  text: string;
  plain: boolean;
}

/** MAX_SENDER_KEYS is how many keys of each sender a client keeps per group. */
const MAX_SENDER_KEYS = 16;

/**
 * loadState reads a store and makes the identity keys it lacks (the first
 * run), both with non-extractable private halves, and saves them.
 */
export async function loadState(store: KeyStore): Promise<State> {
  const state = await store.load();
  let made = false;
  if (!state.identity) {
    state.identity = await e2e.generateIdentity();
    made = true;
  }
  if (!state.signing) {
    state.signing = await generateSigningKey();
    made = true;
  }
  if (made) await store.save(state);
  return state;
}

/** Crypto seals and opens one user's messages. */
export class Crypto {
  private readonly pairs = new Map<string, Promise<CryptoKey>>();
  /** sharing orders what sends the user's sender keys (postText, shareOwedKeys): each member gets a key once. */
  private sharing: Promise<unknown> = Promise.resolve();

  constructor(
    readonly client: SpartanClient,
    private readonly store: KeyStore,
    readonly state: State,
    private readonly onChange?: (c: KeyChange) => void,
  ) {
    if (!state.identity) throw new Error("the key store has no identity key: load it with loadState");
  }

  private get me(): string {
    return this.client.user;
  }

  /** save writes the state (after every change). */
  save(): Promise<void> {
    return this.store.save(this.state);
  }

  /** fingerprint is the user's own key's fingerprint. */
  fingerprint(): Promise<string> {
    return e2e.fingerprint(this.state.identity!.publicKey);
  }

  /** publish publishes the user's public key; doing it again is harmless. */
  async publish(): Promise<void> {
    await this.client.publishKey(this.state.identity!.publicKey);
  }

  /** refresh asks the server for user's key and trusts it; NoKeyError when there is none. */
  async refresh(user: string): Promise<Uint8Array> {
    let key: Uint8Array;
    try {
      key = await this.client.getKey(user);
    } catch (err) {
      if (codeOf(err) === Code.NotFound) throw new NoKeyError(user);
      throw err;
    }
    await this.trust(user, key);
    return key;
  }

  /** trust records key as user's: the first is trusted, another replaces it with a warning. */
  async trust(user: string, key: Uint8Array): Promise<void> {
    if (key.length !== 32) throw new Error(`the server's key for ${user} is ${key.length} bytes, not 32`);
    const c = this.state.contacts[user];
    if (c && equal(c.publicKey, key)) return;
    if (!c) {
      this.state.contacts[user] = { publicKey: key, firstSeen: new Date().toISOString(), previousKeys: [] };
      await this.save();
      return;
    }
    const old = c.publicKey;
    c.previousKeys = [old, ...c.previousKeys.filter((k) => !equal(k, key))];
    c.publicKey = key;
    for (const g of Object.values(this.state.groups)) {
      if (g.mine) g.mine.shared = g.mine.shared.filter((u) => u !== user); // sealed again for the new key
    }
    await this.save();
    this.onChange?.({ user, old, now: key });
  }

  /** contactKey is user's trusted key, if any. */
  contactKey(user: string): Uint8Array | undefined {
    return this.state.contacts[user]?.publicKey;
  }

  /** peerKey is user's trusted key, fetched on first use. */
  async peerKey(user: string): Promise<Uint8Array> {
    return this.contactKey(user) ?? this.refresh(user);
  }

  private pair(peer: string, pub: Uint8Array): Promise<CryptoKey> {
    const id = `${peer}\x00${toBase64(pub)}`;
    let k = this.pairs.get(id);
    if (!k) {
      k = e2e.pairKey(this.state.identity!.privateKey, pub, this.me, peer);
      k.catch(() => this.pairs.delete(id));
      this.pairs.set(id, k);
    }
    return k;
  }

  /** sendText seals text for to and sends it with id as its client_msg_id; NoKeyError: nothing sent. */
  async sendText(to: string, text: string, id: string): Promise<SendMsgResponse> {
    const key = await this.pair(to, await this.peerKey(to));
    const payload = await e2e.seal(key, utf8(text), { sender: this.me, receiver: to, group: "", clientMsgId: id });
    return this.client.send({ receiver: to, payload, encryption: Encryption.E2E, clientMsgId: id });
  }

  /** open makes a text (received or from History, to the user or a group) readable. */
  async open(m: Message): Promise<Opened> {
    if (m.encryption === Encryption.PLAINTEXT || m.encryption === Encryption.UNSPECIFIED) {
      return { text: fromUtf8(m.payload), plain: true };
    }
    if (m.encryption !== Encryption.E2E) throw new e2e.UnknownSchemeError();
    if (m.group) return { text: await this.openGroup(m), plain: false };
    const peer = m.sender === this.me ? m.receiver : m.sender;
    const ad = { sender: m.sender, receiver: m.receiver, group: m.group, clientMsgId: m.clientMsgId };
    await this.peerKey(peer);
    try {
      return { text: await this.openWith(peer, m.payload, ad), plain: false };
    } catch (err) {
      if (!(err instanceof e2e.NotAuthenticError)) throw err;
      // Sealed with a key of peer's that this client has not seen yet?
      const before = this.contactKey(peer);
      const now = await this.refresh(peer).catch(() => before);
      if (equal(now, before)) throw err;
      return { text: await this.openWith(peer, m.payload, ad), plain: false };
    }
  }

  /** openWith tries peer's trusted key, then the ones it replaced. */
  private async openWith(peer: string, payload: Uint8Array, ad: e2e.AD): Promise<string> {
    const c = this.state.contacts[peer];
    let err: unknown = new e2e.NotAuthenticError();
    for (const pub of c ? [c.publicKey, ...c.previousKeys] : []) {
      try {
        return fromUtf8(await e2e.open(await this.pair(peer, pub), payload, ad));
      } catch (e) {
        err = e;
        if (e instanceof e2e.UnknownSchemeError) throw e;
      }
    }
    throw err;
  }

  /**
   * postText seals text with the user's sender key for group and posts it,
   * making a new key first when the members changed and sending it to each
   * member who lacks it. It returns the server's answer and the members
   * who could not get the key (no identity key yet): they cannot read it.
   */
  postText(group: string, text: string, id: string): Promise<{ sent: SendMsgResponse; unreadable: string[] }> {
    return this.serial(() => this.post(group, text, id));
  }

  /** serial runs fn after the sharing under way, one at a time. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.sharing.then(fn, fn);
    this.sharing = run.catch(() => {});
    return run;
  }

  private async post(group: string, text: string, id: string): Promise<{ sent: SendMsgResponse; unreadable: string[] }> {
    const g = await this.client.getGroup(group);
    const members = [...g.members].sort();
    const keys = (this.state.groups[group] ??= { senders: {} });
    let mine = keys.mine;
    if (!mine || mine.members.join("\x00") !== members.join("\x00")) {
      const k = e2e.newSenderKey();
      mine = { ...k, members, shared: [] };
      keys.mine = mine;
      this.addSenderKey(group, this.me, k); // to read one's own posts
      await this.save();
    }
    const todo = members.filter((m) => m !== this.me && !mine.shared.includes(m));
    const { shared, unreadable } = await this.shareKey(group, todo, mine);
    if (shared.length) {
      mine.shared.push(...shared);
      await this.save();
    }
    const payload = await e2e.sealGroup(mine, utf8(text), { sender: this.me, receiver: "", group, clientMsgId: id });
    const sent = await this.client.send({ group, payload, encryption: Encryption.E2E, clientMsgId: id });
    return { sent, unreadable };
  }

  /**
   * shareOwedKeys sends user, at once, each of the user's current sender keys
   * that was made for them but has not reached them: what a post found them
   * without an identity key (or a key that has changed since). Call it when
   * user publishes a key (a MESSAGE_TYPE_KEY_PUBLISHED event): their key is
   * fetched and trusted first. A group user is no longer in (per GetGroup),
   * or that the user has left, is skipped. It returns the groups whose key
   * was sent; NoKeyError when user has no key.
   */
  shareOwedKeys(user: string): Promise<string[]> {
    return this.serial(async () => {
      const owed = () =>
        Object.entries(this.state.groups)
          .filter(([, g]) => g.mine && g.mine.members.includes(user) && !g.mine.shared.includes(user))
          .map(([name]) => name)
          .sort();
      if (user === this.me || !Object.values(this.state.groups).some((g) => g.mine?.members.includes(user))) return [];
      await this.refresh(user); // a changed key clears user from "shared": sealed again for the new one
      const done: string[] = [];
      for (const group of owed()) {
        let members: string[];
        try {
          members = (await this.client.getGroup(group)).members;
        } catch (err) {
          const code = codeOf(err);
          if (code === Code.NotFound || code === Code.PermissionDenied) continue; // gone, or the user left it
          throw err;
        }
        if (!members.includes(user)) continue;
        const mine = this.state.groups[group]?.mine;
        if (!mine || mine.shared.includes(user)) continue;
        const { shared } = await this.shareKey(group, [user], mine);
        if (!shared.length) continue;
        mine.shared.push(user);
        await this.save();
        done.push(group);
      }
      return done;
    });
  }

  private async shareKey(group: string, members: string[], k: e2e.SenderKey): Promise<{ shared: string[]; unreadable: string[] }> {
    const shared: string[] = [];
    const unreadable: string[] = [];
    if (!members.length) return { shared, unreadable };
    const unknown = members.filter((m) => !this.contactKey(m));
    if (unknown.length) {
      const keys = await this.client.getKeys(unknown);
      for (const m of unknown) if (keys[m]) await this.trust(m, keys[m]);
    }
    const plain = utf8(JSON.stringify({ group, id: toBase64(k.id), key: toBase64(k.key) }));
    const sealed = [];
    for (const m of members) {
      const pub = this.contactKey(m);
      if (!pub) {
        unreadable.push(m);
        continue;
      }
      const id = newMessageId();
      const payload = await e2e.seal(await this.pair(m, pub), plain, { sender: this.me, receiver: m, group, clientMsgId: id });
      sealed.push({ receiver: m, payload, encryption: Encryption.E2E, clientMsgId: id });
      shared.push(m);
    }
    if (sealed.length) await this.client.shareGroupKey(group, sealed);
    return { shared, unreadable };
  }

  private addSenderKey(group: string, sender: string, k: e2e.SenderKey): void {
    const keys = (this.state.groups[group] ??= { senders: {} });
    const list = (keys.senders[sender] ?? []).filter((x) => !equal(x.id, k.id));
    keys.senders[sender] = [k, ...list].slice(0, MAX_SENDER_KEYS);
  }

  /** acceptGroupKey records the sender key a MESSAGE_TYPE_GROUP_KEY event brings. */
  async acceptGroupKey(m: Message): Promise<void> {
    if (m.encryption !== Encryption.E2E) throw new e2e.UnknownSchemeError();
    await this.peerKey(m.sender);
    const plain = await this.openWith(m.sender, m.payload, {
      sender: m.sender,
      receiver: m.receiver,
      group: m.group,
      clientMsgId: m.clientMsgId,
    });
    let k: { group?: unknown; id?: unknown; key?: unknown };
    try {
      k = JSON.parse(plain);
    } catch {
      throw new e2e.NotAuthenticError();
    }
    if (k.group !== m.group || typeof k.id !== "string" || typeof k.key !== "string") throw new e2e.NotAuthenticError();
    const id = fromBase64(k.id);
    const key = fromBase64(k.key);
    if (id.length !== e2e.KEY_ID_SIZE || key.length !== e2e.KEY_SIZE) throw new e2e.NotAuthenticError();
    this.addSenderKey(m.group, m.sender, { id, key });
    await this.save();
  }

  private async openGroup(m: Message): Promise<string> {
    const id = e2e.groupKeyId(m.payload);
    const k = this.state.groups[m.group]?.senders[m.sender]?.find((x) => equal(x.id, id));
    if (!k) throw new NoGroupKeyError();
    return fromUtf8(await e2e.openGroup(k.key, m.payload, { sender: m.sender, receiver: "", group: m.group, clientMsgId: m.clientMsgId }));
  }
}
