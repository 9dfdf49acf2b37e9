// IndexedDB keeps a KeyStore's State in the browser: one database per
// server and user ("spartan <server> <user>"), one record. CryptoKeys are
// stored as they are (structured clone), so the identity's private halves,
// made non-extractable, can be used by this origin but never read out.

import { emptyState, type KeyStore, type State } from "./keystore.js";

const STORE = "state";
const KEY = "state";

function request<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error ?? new Error("IndexedDB failed"));
  });
}

/** IdbKeyStore is a KeyStore in IndexedDB. */
export class IdbKeyStore implements KeyStore {
  private db: Promise<IDBDatabase> | undefined;

  constructor(private readonly name: string) {}

  /** forServer names the database of one server and user. */
  static forServer(server: string, user: string): IdbKeyStore {
    return new IdbKeyStore(`spartan ${server} ${user}`);
  }

  private open(): Promise<IDBDatabase> {
    this.db ??= new Promise((resolve, reject) => {
      const r = indexedDB.open(this.name, 1);
      r.onupgradeneeded = () => r.result.createObjectStore(STORE);
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error ?? new Error("IndexedDB cannot be opened"));
      r.onblocked = () => reject(new Error("IndexedDB is blocked by another tab"));
    });
    return this.db;
  }

  async load(): Promise<State> {
    const db = await this.open();
    const got = (await request(db.transaction(STORE).objectStore(STORE).get(KEY))) as State | undefined;
    return got ?? emptyState();
  }

  async save(state: State): Promise<void> {
    const db = await this.open();
    const tx = db.transaction(STORE, "readwrite");
    tx.objectStore(STORE).put(state, KEY);
    await new Promise<void>((resolve, reject) => {
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error ?? new Error("IndexedDB write failed"));
      tx.onabort = () => reject(tx.error ?? new Error("IndexedDB write aborted"));
    });
  }
}
