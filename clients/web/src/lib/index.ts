// Spartan Messenger's web client library: the typed client over
// Connect-Web (log in, follow the inbox with resume, send, history, groups,
// keys) and the end-to-end scheme in WebCrypto. Usable on its own.

export * from "./auth.js";
export * as bytes from "./bytes.js";
export * from "./client.js";
export * from "./crypto.js";
export * as e2e from "./e2e.js";
export * from "./errors.js";
export { Code, ConnectError } from "@connectrpc/connect";
export * from "./idb.js";
export * from "./keyfile.js";
export * from "./keystore.js";
export * from "./subscription.js";
export * from "../gen/spartan/v1/chat_pb.js";
