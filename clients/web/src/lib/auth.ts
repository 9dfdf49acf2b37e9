// Logging in (docs/SECURITY.md, "Authentication"): Challenge, an Ed25519
// signature of "spartan-auth-v1" 0x00 user 0x00 challenge, Authenticate; then
// "Authorization: Bearer <token>" on every call but the open ones, renewed a
// minute before it ends and once more when a server refuses it.

import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { buf, concat, utf8 } from "./bytes.js";

/** OPEN_PROCEDURES need no token (internal/auth.OpenProcedures). */
export const OPEN_PROCEDURES = [
  "/spartan.v1.ChatService/Challenge",
  "/spartan.v1.ChatService/Authenticate",
  "/spartan.v1.ChatService/ListUsers",
];

/** RENEW_BEFORE_MS: a token is renewed this long before it ends. */
const RENEW_BEFORE_MS = 60_000;

/** SigningKey is an Ed25519 key pair; the private half may be non-extractable. */
export interface SigningKey {
  privateKey: CryptoKey;
  publicKey: Uint8Array;
}

/** generateSigningKey makes an Ed25519 key pair whose private half never leaves WebCrypto. */
export async function generateSigningKey(): Promise<SigningKey> {
  const pair = (await crypto.subtle.generateKey({ name: "Ed25519" }, false, ["sign", "verify"])) as CryptoKeyPair;
  return { privateKey: pair.privateKey, publicKey: new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey)) };
}

/** signedChallenge is what a client signs to log in as user. */
export function signedChallenge(user: string, challenge: Uint8Array): Uint8Array {
  return concat(utf8(`spartan-auth-v1\x00${user}\x00`), challenge);
}

/** sign signs msg with an Ed25519 key. */
export async function sign(key: CryptoKey, msg: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.sign({ name: "Ed25519" }, key, buf(msg)));
}

/** LogIn gets a fresh token and its end (ms since the epoch). */
export type LogIn = () => Promise<{ token: string; until: number }>;

/** Session keeps the session token and puts it on calls, as an interceptor. */
export class Session {
  private token = "";
  private until = 0;
  private pending: Promise<string> | undefined;

  constructor(private readonly logIn: LogIn | undefined) {}

  /** current is a token good for a while, logging in when there is none. */
  async current(): Promise<string> {
    if (!this.logIn) return "";
    if (this.token && this.until - Date.now() > RENEW_BEFORE_MS) return this.token;
    this.pending ??= this.logIn().then(
      ({ token, until }) => {
        this.token = token;
        this.until = until;
        this.pending = undefined;
        return token;
      },
      (err: unknown) => {
        this.pending = undefined;
        throw err;
      },
    );
    return this.pending;
  }

  /** drop forgets token, which a server refused. */
  drop(token: string): void {
    if (this.token === token) this.token = "";
  }

  /** interceptor adds the token and logs in again once when a unary call is refused. */
  readonly interceptor: Interceptor = (next) => async (req) => {
    if (OPEN_PROCEDURES.includes(new URL(req.url).pathname.replace(/^.*(\/spartan\.v1\.ChatService\/)/, "$1"))) {
      return next(req);
    }
    const token = await this.current();
    if (token) req.header.set("Authorization", `Bearer ${token}`);
    try {
      return await next(req);
    } catch (err) {
      if (!token || ConnectError.from(err).code !== Code.Unauthenticated) throw err;
      this.drop(token);
      if (req.stream) throw err; // the subscription reconnects, logging in again
      const again = await this.current();
      req.header.set("Authorization", `Bearer ${again}`);
      return next(req);
    }
  };
}
