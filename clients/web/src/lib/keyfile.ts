// A terminal client's identity.json (docs/SECURITY.md, "What a client
// keeps"), taken into the browser: the same X25519 and Ed25519 keys, so the
// browser is the same identity to the server (which binds one log-in key per
// user) and to the user's contacts. The private halves are imported
// non-extractable; the file's public halves must match them.

import type { SigningKey } from "./auth.js";
import { buf, concat, equal, fromBase64, fromHex, utf8 } from "./bytes.js";
import type { IdentityKey } from "./e2e.js";

/** PKCS #8 prefixes of a raw 32-byte private key (RFC 8410). */
const X25519_PKCS8 = fromHex("302e020100300506032b656e04220420");
const ED25519_PKCS8 = fromHex("302e020100300506032b657004220420");

/** KeyFileError says, in plain words, why a file cannot be used. */
export class KeyFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "KeyFileError";
  }
}

function field(o: Record<string, unknown>, name: string, size: number): Uint8Array {
  const v = o[name];
  let b: Uint8Array;
  try {
    if (typeof v !== "string") throw new Error();
    b = fromBase64(v);
  } catch {
    throw new KeyFileError(`the file has no ${name}`);
  }
  if (b.length !== size) throw new KeyFileError(`its ${name} is ${b.length} bytes, not ${size}`);
  return b;
}

/**
 * importKeyFile reads identity.json for user and returns its keys. It fails
 * with a KeyFileError for a file of another user, one without a log-in key
 * (made by a client before log-in existed: log in with it once first), or
 * halves that do not match.
 */
export async function importKeyFile(text: string, user: string): Promise<{ identity: IdentityKey; signing: SigningKey }> {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(text);
  } catch {
    throw new KeyFileError("it is not an identity.json (not JSON)");
  }
  if (typeof o !== "object" || o === null || o.version !== 1) throw new KeyFileError("it is not an identity.json of version 1");
  if (o.user !== user) throw new KeyFileError(`it is ${JSON.stringify(o.user)}'s, not ${user}'s`);
  const priv = field(o, "private_key", 32);
  const pub = field(o, "public_key", 32);
  if (o.signing_key === undefined) {
    throw new KeyFileError("it has no log-in key yet: log in once with the terminal client, then take the file again");
  }
  const seed = field(o, "signing_key", 32);
  const signPub = field(o, "signing_public_key", 32);
  const subtle = crypto.subtle;
  let identity: IdentityKey;
  let signing: SigningKey;
  try {
    const x = await subtle.importKey("pkcs8", buf(concat(X25519_PKCS8, priv)), { name: "X25519" }, false, ["deriveBits"]);
    const e = await subtle.importKey("pkcs8", buf(concat(ED25519_PKCS8, seed)), { name: "Ed25519" }, false, ["sign"]);
    identity = { privateKey: x, publicKey: pub };
    signing = { privateKey: e, publicKey: signPub };
  } catch {
    throw new KeyFileError("its keys cannot be read");
  }
  // The halves must belong together: a signature checks with the public
  // log-in key, and X25519 agrees both ways with a fresh key.
  const probe = utf8("spartan key file check");
  const sig = await subtle.sign({ name: "Ed25519" }, signing.privateKey, buf(probe));
  const verifier = await subtle.importKey("raw", buf(signPub), { name: "Ed25519" }, false, ["verify"]);
  const eph = (await subtle.generateKey({ name: "X25519" }, false, ["deriveBits"])) as CryptoKeyPair;
  const theirs = await subtle.importKey("raw", buf(pub), { name: "X25519" }, false, []);
  const a = new Uint8Array(await subtle.deriveBits({ name: "X25519", public: eph.publicKey }, identity.privateKey, 256));
  const b = new Uint8Array(await subtle.deriveBits({ name: "X25519", public: theirs }, eph.privateKey, 256));
  if (!(await subtle.verify({ name: "Ed25519" }, verifier, sig, buf(probe))) || !equal(a, b)) {
    throw new KeyFileError("its private and public keys do not belong together");
  }
  return { identity, signing };
}
