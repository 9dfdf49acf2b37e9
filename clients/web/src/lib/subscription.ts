// Subscription follows a user's inbox: ReceiveMsg from the last position it
// delivered, replaying what was missed, then live; after a dropped
// connection it asks the server (Login) with a growing wait until it
// answers, says so, and resumes from the same position, so every stored
// message is delivered once, in order. A stream that had been running and
// that the server ends because its session token expired is reopened at
// once, quietly (no "disconnected"), after logging in again. Acknowledgements
// are coalesced.

import { Code, ConnectError } from "@connectrpc/connect";
import type { Message } from "../gen/spartan/v1/chat_pb.js";
import type { SpartanClient } from "./client.js";
import { codeOf, retryable } from "./errors.js";

/** Update is what a subscription reports: a message, or a change of the connection. */
export type Update =
  | { kind: "message"; message: Message }
  | { kind: "disconnected"; error: ConnectError }
  | { kind: "reconnected" };

/** SubscribeOptions tune a subscription. */
export interface SubscribeOptions {
  /** onUpdate handles each update; the next one waits for the promise it returns. */
  onUpdate: (u: Update) => void | Promise<void>;
  /** after is the last sequence number seen (0: after the last acknowledged one). */
  after?: bigint;
  /** epoch is the epoch of after. */
  epoch?: string;
  /** maxBackoffMs caps the wait between reconnection attempts (default 5 s). */
  maxBackoffMs?: number;
  /** giveUpMs ends the subscription after the server stayed unreachable this long (default: never). */
  giveUpMs?: number;
}

interface Position {
  epoch: string;
  seq: bigint;
}

/**
 * RAN_MS: a stream open this long (or that delivered something) had been
 * running; ended Unauthenticated, its token expired rather than was refused.
 */
const RAN_MS = 1000;

/** sleep waits ms, or less when signal aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(t);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });
}

/** Subscription is a running follow of the inbox; stop() ends it. */
export class Subscription {
  /** done settles when the subscription ends: resolved on stop(), rejected when it gave up. */
  readonly done: Promise<void>;
  private readonly abort = new AbortController();
  private ackWant: Position = { epoch: "", seq: 0n };
  private ackSent: Position = { epoch: "", seq: 0n };
  private acking: Promise<void> | undefined;
  private wake: (() => void) | undefined;

  constructor(
    private readonly client: SpartanClient,
    private readonly opts: SubscribeOptions,
  ) {
    this.done = this.run();
  }

  /** stop ends the subscription after flushing the last acknowledgement. */
  async stop(): Promise<void> {
    this.abort.abort();
    await this.done.catch(() => {});
    await this.acking;
  }

  /** retryNow cuts the wait before the next reconnection attempt (the browser is back online, say). */
  retryNow(): void {
    this.wake?.();
  }

  /** ack marks the inbox shown up to m; live-only events (seq 0) need none. */
  ack(m: Message): void {
    if (m.seq === 0n) return;
    if (m.epoch !== this.ackWant.epoch || m.seq > this.ackWant.seq) this.ackWant = { epoch: m.epoch, seq: m.seq };
    this.acking ??= this.flushAcks().finally(() => (this.acking = undefined));
  }

  private async flushAcks(): Promise<void> {
    while (this.ackWant.seq !== this.ackSent.seq || this.ackWant.epoch !== this.ackSent.epoch) {
      const want = this.ackWant;
      try {
        await this.client.ack(want.epoch, want.seq);
        this.ackSent = want;
      } catch {
        return; // the next ack (after a reconnection) carries it
      }
    }
  }

  private async run(): Promise<void> {
    const signal = this.abort.signal;
    const maxBackoff = this.opts.maxBackoffMs ?? 5000;
    let last: Position = { epoch: this.opts.epoch ?? "", seq: this.opts.after ?? 0n };
    let lostSince = 0;
    let backoff = 100;
    let refusals = 0;
    let err: unknown;
    while (!signal.aborted) {
      if (lostSince) {
        try {
          await this.client.login(signal);
          lostSince = 0;
          backoff = 100;
          await this.opts.onUpdate({ kind: "reconnected" });
        } catch (e) {
          if (signal.aborted) return;
          if (!retryable(e)) throw e;
          err = e;
        }
      }
      if (!lostSince) {
        let opened = 0;
        let delivered = false;
        err = await this.stream(last, {
          moved: (p) => (last = p),
          opened: () => (opened = Date.now()),
          delivered: () => (delivered = true),
        });
        if (signal.aborted) return;
        const code = codeOf(err);
        if (code === Code.Unauthenticated && opened && (delivered || Date.now() - opened >= RAN_MS)) {
          // The server ended a stream that had been running because its
          // session token expired (the session dropped it): reopen it at
          // once, quietly, logging in again. A stream refused as it opens is
          // another matter: below.
          refusals = 0;
          continue;
        }
        if (code === Code.OutOfRange) {
          // The server has fewer messages than we saw: it lost its data.
          last = { epoch: "", seq: 0n };
          this.ackWant = this.ackSent = { epoch: "", seq: 0n };
          continue;
        }
        if (code === Code.Unauthenticated && refusals++ === 0) {
          continue; // the token was dropped: log in again, once
        }
        if (!retryable(err)) throw err;
        refusals = 0;
        lostSince = Date.now();
        await this.opts.onUpdate({ kind: "disconnected", error: ConnectError.from(err) });
      }
      if (this.opts.giveUpMs !== undefined && Date.now() - lostSince > this.opts.giveUpMs) {
        throw new ConnectError(`the server has been unreachable for ${Math.round(this.opts.giveUpMs / 1000)} s`, Code.Unavailable, undefined, undefined, err);
      }
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        sleep(backoff, signal).then(resolve);
      });
      this.wake = undefined;
      backoff = Math.min(backoff * 2, maxBackoff);
    }
  }

  /**
   * stream runs one ReceiveMsg after last and returns why it ended. It calls
   * on.opened when it has a token (logging in first when the session has
   * none) and opens the stream, on.moved with each new position, and
   * on.delivered after each message handled.
   */
  private async stream(
    last: Position,
    on: { moved: (p: Position) => void; opened: () => void; delivered: () => void },
  ): Promise<unknown> {
    const ctl = new AbortController();
    const stop = () => ctl.abort();
    this.abort.signal.addEventListener("abort", stop, { once: true });
    try {
      await this.client.session.current();
      on.opened();
      const stream = this.client.rpc.receiveMsg(
        { receiver: this.client.user, seq: last.seq, epoch: last.epoch },
        { signal: ctl.signal },
      );
      for await (const m of stream) {
        if (m.epoch && m.epoch !== last.epoch) last = { epoch: m.epoch, seq: 0n };
        if (m.seq !== 0n) {
          if (m.seq <= last.seq) continue; // delivered before a reconnection
          last = { epoch: last.epoch, seq: m.seq };
        }
        on.moved(last);
        await this.opts.onUpdate({ kind: "message", message: m });
        on.delivered();
        if (this.abort.signal.aborted) return undefined;
      }
      return new ConnectError("the server ended the stream", Code.Unavailable);
    } catch (e) {
      return e;
    } finally {
      this.abort.signal.removeEventListener("abort", stop);
      ctl.abort();
    }
  }
}
