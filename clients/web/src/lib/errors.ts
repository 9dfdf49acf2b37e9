// Errors in plain words, and which of them may go away by themselves.

import { Code, ConnectError } from "@connectrpc/connect";

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
