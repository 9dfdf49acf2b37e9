// Logging in (docs/SECURITY.md, "Authentication"): Challenge, an Ed25519
// signature of "spartan-auth-v1" 0x00 user 0x00 challenge, Authenticate; then
// "Authorization: Bearer <token>" on every call but the open ones, renewed a
// minute before it ends (a quarter of its life before, for a token that lives
// less than four minutes) and once more when a server refuses it.

import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { buf, concat, utf8 } from "./bytes.js";

/** OPEN_PROCEDURES need no token (internal/auth.OpenProcedures). */
export const OPEN_PROCEDURES = [
  "/spartan.v1.ChatService/Challenge",
  "/spartan.v1.ChatService/Authenticate",
  "/spartan.v1.ChatService/ListUsers",
];

/**
 * RENEW_BEFORE_MS: a token is renewed at most this long before it ends; one
 * that lives less than four times as long is renewed after three quarters of
 * its life, so that a short token is not replaced on every call.
 */
const RENEW_BEFORE_MS = 60_000;

/** renewAt is when a token that ends at until, got at now, is renewed (ms since the epoch). */
export function renewAt(until: number, now: number): number {
  return until - Math.min(RENEW_BEFORE_MS, Math.max(0, until - now) / 4);
}

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
  private renewAfter = 0;
  private pending: Promise<string> | undefined;

  constructor(private readonly logIn: LogIn | undefined) {}

  /** current is a token good for a while, logging in when there is none. */
  async current(): Promise<string> {
    if (!this.logIn) return "";
    if (this.token && Date.now() < this.renewAfter) return this.token;
    this.pending ??= this.logIn().then(
      ({ token, until }) => {
        this.token = token;
        this.renewAfter = renewAt(until, Date.now());
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

  /** dropOnRefusal passes a stream's messages on, dropping token when the stream ends Unauthenticated. */
  private async *dropOnRefusal<T>(token: string, messages: AsyncIterable<T>): AsyncIterable<T> {
    try {
      yield* messages;
    } catch (err) {
      if (ConnectError.from(err).code === Code.Unauthenticated) this.drop(token);
      throw err;
    }
  }

  /**
   * interceptor adds the token and logs in again once when a unary call is
   * refused. A stream refused, as it opens or later (a server ends a stream
   * when the token it was opened with expires), drops its token, so that the
   * subscription's next stream logs in again.
   */
  readonly interceptor: Interceptor = (next) => async (req) => {
    if (OPEN_PROCEDURES.includes(new URL(req.url).pathname.replace(/^.*(\/spartan\.v1\.ChatService\/)/, "$1"))) {
      return next(req);
    }
    const token = await this.current();
    if (token) req.header.set("Authorization", `Bearer ${token}`);
    try {
      const res = await next(req);
      if (!res.stream || !token) return res;
      return { ...res, message: this.dropOnRefusal(token, res.message) };
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
