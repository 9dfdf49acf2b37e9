// What a client keeps between runs, per server and user (the web twin of
// the key directory, docs/SECURITY.md): the identity keys, the contacts'
// keys trusted on first use, the group sender keys, the outbox of messages
// waiting for a key, and how far the inbox was read. The browser keeps it
// in IndexedDB (idb.ts) with the identity's private halves as
// non-extractable CryptoKeys; MemoryKeyStore serves tests and other hosts.

import type { SigningKey } from "./auth.js";
import type { IdentityKey, SenderKey } from "./e2e.js";

/** Contact is a contact's key, trusted on first use, and the keys it replaced, newest first. */
export interface Contact {
  publicKey: Uint8Array;
  firstSeen: string;
  previousKeys: Uint8Array[];
}

/** MySenderKey is the user's own sender key for a group: the members it was made for, and who has it. */
export interface MySenderKey extends SenderKey {
  members: string[];
  shared: string[];
}

/** GroupKeys is what a client knows of one group's keys. */
export interface GroupKeys {
  mine?: MySenderKey;
  /** senders: each sender's keys, newest first, at most 16. */
  senders: Record<string, SenderKey[]>;
}

/** Held is a message typed for a user or group that waits to be sent. */
export interface Held {
  to: string;
  group: string;
  clientMsgId: string;
  text: string;
}

/** State is everything a store keeps. */
export interface State {
  identity?: IdentityKey;
  signing?: SigningKey;
  contacts: Record<string, Contact>;
  groups: Record<string, GroupKeys>;
  outbox: Held[];
}

/** KeyStore persists a State; save writes the whole of it at once (no half-written state). */
export interface KeyStore {
  load(): Promise<State>;
  save(state: State): Promise<void>;
}

/** emptyState is a store's state before its first save. */
export function emptyState(): State {
  return { contacts: {}, groups: {}, outbox: [] };
}

/** MemoryKeyStore keeps the state in memory (tests, or a page that should forget). */
export class MemoryKeyStore implements KeyStore {
  private state = emptyState();
  async load(): Promise<State> {
    return structuredClone(this.state);
  }
  async save(state: State): Promise<void> {
    this.state = structuredClone(state);
  }
}
