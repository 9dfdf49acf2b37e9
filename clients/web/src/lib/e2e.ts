// The end-to-end scheme, version 1 (docs/SECURITY.md), with WebCrypto only:
// X25519 for the pair's secret, HKDF-SHA256 to make it a key, AES-256-GCM
// per message with a fresh 96-bit nonce and, as associated data, the
// sender, the receiver, the group and the client's message id. Group posts
// (version 2) are sealed with a member's sender key. clients/go/e2e is the
// reference; testdata/e2e/vectors.json pins both.

import { buf, concat, toBase64Url, toHex, utf8 } from "./bytes.js";

const subtle = globalThis.crypto.subtle;

/** VERSION is the first byte of a pairwise payload. */
export const VERSION = 1;
/** GROUP_VERSION is the first byte of a group post's payload. */
export const GROUP_VERSION = 2;
export const NONCE_SIZE = 12;
export const KEY_SIZE = 32;
export const KEY_ID_SIZE = 8;
/** OVERHEAD is what a pairwise payload adds to its plaintext. */
export const OVERHEAD = 1 + NONCE_SIZE + 16;
/** GROUP_OVERHEAD is what a group post's payload adds to its plaintext. */
export const GROUP_OVERHEAD = 1 + KEY_ID_SIZE + NONCE_SIZE + 16;

const SALT = "spartan-e2e-v1";
const LABEL = "spartan-e2e-v1 pair";

/** UnknownSchemeError: a payload of a version (or an encryption) this client does not know. */
export class UnknownSchemeError extends Error {
  constructor() {
    super("the message uses an encryption scheme this client does not know");
    this.name = "UnknownSchemeError";
  }
}

/** NotAuthenticError: a payload that was altered, or sealed with another key, names or id. */
export class NotAuthenticError extends Error {
  constructor() {
    super("the message could not be decrypted: altered, or sealed with another key");
    this.name = "NotAuthenticError";
  }
}

/** AD is what a ciphertext is bound to besides its key. */
export interface AD {
  sender: string;
  receiver: string;
  group: string;
  clientMsgId: string;
}

/** adBytes is the associated data: the label and the fields, each after a NUL. */
export function adBytes(ad: AD): Uint8Array {
  return utf8([SALT, ad.sender, ad.receiver, ad.group, ad.clientMsgId].join("\x00"));
}

/** IdentityKey is an X25519 key pair; the private half may be non-extractable. */
export interface IdentityKey {
  privateKey: CryptoKey;
  publicKey: Uint8Array;
}

/** generateIdentity makes an X25519 key pair whose private half never leaves WebCrypto. */
export async function generateIdentity(): Promise<IdentityKey> {
  const pair = (await subtle.generateKey({ name: "X25519" }, false, ["deriveBits"])) as CryptoKeyPair;
  const publicKey = new Uint8Array(await subtle.exportKey("raw", pair.publicKey));
  return { privateKey: pair.privateKey, publicKey };
}

/** importIdentity takes a known X25519 key pair (test vectors). */
export async function importIdentity(privateKey: Uint8Array, publicKey: Uint8Array): Promise<IdentityKey> {
  const jwk: JsonWebKey = { kty: "OKP", crv: "X25519", d: toBase64Url(privateKey), x: toBase64Url(publicKey) };
  const key = await subtle.importKey("jwk", jwk, { name: "X25519" }, false, ["deriveBits"]);
  return { privateKey: key, publicKey };
}

/**
 * pairKeyBytes is the key two users share: HKDF-SHA256 of their X25519
 * secret, with both names in sorted order in the info.
 */
export async function pairKeyBytes(mine: CryptoKey, theirs: Uint8Array, me: string, them: string): Promise<Uint8Array> {
  if (theirs.length !== 32) throw new Error(`${them}'s key is ${theirs.length} bytes, not 32`);
  const pub = await subtle.importKey("raw", buf(theirs), { name: "X25519" }, true, []);
  const secret = await subtle.deriveBits({ name: "X25519", public: pub }, mine, 256);
  const [a, b] = me < them ? [me, them] : [them, me];
  const ikm = await subtle.importKey("raw", secret, "HKDF", false, ["deriveBits"]);
  const key = await subtle.deriveBits(
    { name: "HKDF", hash: "SHA-256", salt: buf(utf8(SALT)), info: buf(utf8(`${LABEL}\x00${a}\x00${b}`)) },
    ikm,
    KEY_SIZE * 8,
  );
  return new Uint8Array(key);
}

/** aesKey makes raw key bytes a non-extractable AES-GCM key. */
export async function aesKey(raw: Uint8Array): Promise<CryptoKey> {
  if (raw.length !== KEY_SIZE) throw new Error(`a key is ${raw.length} bytes, not ${KEY_SIZE}`);
  return subtle.importKey("raw", buf(raw), { name: "AES-GCM" }, false, ["encrypt", "decrypt"]);
}

/** pairKey is pairKeyBytes as a non-extractable AES-GCM key. */
export async function pairKey(mine: CryptoKey, theirs: Uint8Array, me: string, them: string): Promise<CryptoKey> {
  return aesKey(await pairKeyBytes(mine, theirs, me, them));
}

function randomBytes(n: number): Uint8Array {
  return globalThis.crypto.getRandomValues(new Uint8Array(n));
}

/** seal encrypts plaintext for ad: 0x01 | nonce | ciphertext | tag. nonce: fresh unless given (vectors). */
export async function seal(key: CryptoKey, plaintext: Uint8Array, ad: AD, nonce?: Uint8Array): Promise<Uint8Array> {
  const n = nonce ?? randomBytes(NONCE_SIZE);
  if (n.length !== NONCE_SIZE) throw new Error(`a nonce is ${NONCE_SIZE} bytes, not ${n.length}`);
  const ct = await subtle.encrypt({ name: "AES-GCM", iv: buf(n), additionalData: buf(adBytes(ad)) }, key, buf(plaintext));
  return concat(Uint8Array.of(VERSION), n, new Uint8Array(ct));
}

/** open decrypts a payload made by seal with the same key and ad. */
export async function open(key: CryptoKey, payload: Uint8Array, ad: AD): Promise<Uint8Array> {
  if (payload.length === 0 || payload[0] !== VERSION) throw new UnknownSchemeError();
  if (payload.length < OVERHEAD) throw new NotAuthenticError();
  const nonce = payload.subarray(1, 1 + NONCE_SIZE);
  try {
    const pt = await subtle.decrypt(
      { name: "AES-GCM", iv: buf(nonce), additionalData: buf(adBytes(ad)) },
      key,
      buf(payload.subarray(1 + NONCE_SIZE)),
    );
    return new Uint8Array(pt);
  } catch {
    throw new NotAuthenticError();
  }
}

/** SenderKey is one member's key for its posts to one group: raw, since it is sent to the others. */
export interface SenderKey {
  id: Uint8Array;
  key: Uint8Array;
}

/** newSenderKey makes a random AES-256 key with a random 8-byte id. */
export function newSenderKey(): SenderKey {
  return { id: randomBytes(KEY_ID_SIZE), key: randomBytes(KEY_SIZE) };
}

/** sealGroup encrypts a post: 0x02 | key id | nonce | ciphertext | tag; ad.receiver is empty. */
export async function sealGroup(k: SenderKey, plaintext: Uint8Array, ad: AD, nonce?: Uint8Array): Promise<Uint8Array> {
  if (k.id.length !== KEY_ID_SIZE) throw new Error(`a sender key's id is ${k.id.length} bytes, not ${KEY_ID_SIZE}`);
  const inner = await seal(await aesKey(k.key), plaintext, ad, nonce);
  return concat(Uint8Array.of(GROUP_VERSION), k.id, inner.subarray(1));
}

/** groupKeyId is the id of the sender key a group post was sealed with. */
export function groupKeyId(payload: Uint8Array): Uint8Array {
  if (payload.length === 0 || payload[0] !== GROUP_VERSION) throw new UnknownSchemeError();
  if (payload.length < GROUP_OVERHEAD) throw new NotAuthenticError();
  return payload.subarray(1, 1 + KEY_ID_SIZE);
}

/** openGroup decrypts a group post sealed with the sender key key. */
export async function openGroup(key: Uint8Array, payload: Uint8Array, ad: AD): Promise<Uint8Array> {
  groupKeyId(payload);
  return open(await aesKey(key), concat(Uint8Array.of(VERSION), payload.subarray(1 + KEY_ID_SIZE)), ad);
}

/** fingerprint: the first 10 bytes of SHA-256 of a public key, five groups of four hex digits. */
export async function fingerprint(publicKey: Uint8Array): Promise<string> {
  const sum = new Uint8Array(await subtle.digest("SHA-256", buf(publicKey)));
  const h = toHex(sum.subarray(0, 10));
  return [0, 4, 8, 12, 16].map((i) => h.slice(i, i + 4)).join(" ");
}

/** maxText is the longest text, in bytes, that fits max_message_bytes once sealed. */
export function maxText(maxMessageBytes: number): number {
  return Math.max(maxMessageBytes - OVERHEAD, 0);
}

/** maxPost is the longest group post, in bytes, that fits max_message_bytes once sealed. */
export function maxPost(maxMessageBytes: number): number {
  return Math.max(maxMessageBytes - GROUP_OVERHEAD, 0);
}
