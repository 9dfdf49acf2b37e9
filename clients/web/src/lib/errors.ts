// Errors in plain words, and which of them may go away by themselves.

import { Code, ConnectError } from "@connectrpc/connect";
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";

/** retryable says whether an error may pass by itself (the server restarts, is unreachable or busy). */
export function retryable(err: unknown): boolean {
  const code = ConnectError.from(err).code;
  return [
    Code.Unavailable,
    Code.Unknown,
    Code.DeadlineExceeded,
    Code.Aborted,
    Code.Internal,
    Code.ResourceExhausted,
    Code.Canceled,
  ].includes(code);
}

/** codeOf is an error's Connect code. */
export function codeOf(err: unknown): Code {
  return ConnectError.from(err).code;
}

/**
 * errorMessage is a sentence fragment a person can read: the server's own
 * sentence when it gave one, else what the failure means.
 */
export function errorMessage(err: unknown): string {
  const e = ConnectError.from(err);
  switch (e.code) {
    case Code.Unavailable:
    case Code.Unknown:
      if (!e.rawMessage || /fetch|network|load failed|terminated|socket|ECONNREFUSED/i.test(e.rawMessage)) {
        return "the server cannot be reached";
      }
      break;
    case Code.DeadlineExceeded:
      return "the server took too long to answer";
    case Code.Canceled:
      return "the call was cancelled";
  }
  return e.rawMessage || "something went wrong";
}

/**
 * retryDelay is the wait in milliseconds a server asked for with a
 * google.rpc.RetryInfo detail (a rate limit's refusal), or undefined when the
 * error carries none (or one that does not decode). It never throws.
 *
 * The detail is decoded by hand (RetryInfo { Duration retry_delay = 1; },
 * Duration { int64 seconds = 1; int32 nanos = 2; }) rather than from
 * generated googleapis code.
 */
export function retryDelay(err: unknown): number | undefined {
  let details: ConnectError["details"];
  try {
    details = ConnectError.from(err).details;
  } catch {
    return undefined;
  }
  for (const d of details) {
    if (!("type" in d) || d.type !== "google.rpc.RetryInfo" || !(d.value instanceof Uint8Array)) continue;
    const ms = decodeRetryInfo(d.value);
    if (ms !== undefined) return ms;
  }
  return undefined;
}

/** decodeRetryInfo is RetryInfo's retry_delay in ms, or undefined when absent or malformed. */
function decodeRetryInfo(buf: Uint8Array): number | undefined {
  try {
    let delay: Uint8Array | undefined;
    const r = new BinaryReader(buf);
    while (r.pos < r.len) {
      const [no, wt] = r.tag();
      if (no === 1 && wt === WireType.LengthDelimited) delay = r.bytes();
      else r.skip(wt, no);
    }
    if (delay === undefined) return undefined;
    let seconds = 0;
    let nanos = 0;
    const d = new BinaryReader(delay);
    while (d.pos < d.len) {
      const [no, wt] = d.tag();
      if (no === 1 && wt === WireType.Varint) seconds = Number(d.int64());
      else if (no === 2 && wt === WireType.Varint) nanos = d.int32();
      else d.skip(wt, no);
    }
    const ms = seconds * 1000 + nanos / 1e6;
    return Number.isFinite(ms) && ms >= 0 ? ms : undefined;
  } catch {
    return undefined;
  }
}
