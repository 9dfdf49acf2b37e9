// SpartanClient is the typed client of one user on one server, over
// Connect-Web: it logs in with the user's Ed25519 key and carries the token
// on every call (auth.ts), and wraps each RPC in a method with plain types.

import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { createClient, type Client, type Interceptor, type Transport } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import {
  ChatService,
  SealedKeySchema,
  SendMsgRequestSchema,
  type ConversationState,
  type Group,
  type HistoryResponse,
  type LoginResponse,
  type SendMsgResponse,
} from "../gen/spartan/v1/chat_pb.js";
import { Session, sign, signedChallenge, type SigningKey } from "./auth.js";
import { Subscription, type SubscribeOptions } from "./subscription.js";

/** ClientOptions configure a SpartanClient. */
export interface ClientOptions {
  /** baseUrl is the server, e.g. "http://localhost:3000" (a page served by it: its own origin). */
  baseUrl: string;
  /** user is who the client acts as. */
  user: string;
  /** signingKey logs the user in; without it calls carry no token (a server that needs none). */
  signingKey?: SigningKey;
  /** transport replaces the Connect transport the client makes (tests, gRPC-Web). */
  transport?: Transport;
  /** interceptors run before the session's. */
  interceptors?: Interceptor[];
}

/** SpartanClient talks to a Spartan server as one user. */
export class SpartanClient {
  readonly user: string;
  readonly baseUrl: string;
  readonly rpc: Client<typeof ChatService>;
  readonly session: Session;

  constructor(opts: ClientOptions) {
    this.user = opts.user;
    this.baseUrl = opts.baseUrl;
    const signer = opts.signingKey;
    this.session = new Session(signer ? () => this.logIn(signer) : undefined);
    const transport =
      opts.transport ??
      createConnectTransport({
        baseUrl: opts.baseUrl,
        useBinaryFormat: true,
        interceptors: [...(opts.interceptors ?? []), this.session.interceptor],
      });
    this.rpc = createClient(ChatService, transport);
  }

  /** logIn signs a fresh challenge and returns the session token. */
  private async logIn(key: SigningKey): Promise<{ token: string; until: number }> {
    const ch = await this.rpc.challenge({ user: this.user });
    const signature = await sign(key.privateKey, signedChallenge(this.user, ch.challenge));
    const res = await this.rpc.authenticate({ user: this.user, challenge: ch.challenge, publicKey: key.publicKey, signature });
    return { token: res.token, until: res.expireTime ? timestampMs(res.expireTime) : Date.now() + 3_600_000 };
  }

  /** login checks the user and returns the others, who is online, requests and groups. */
  login(signal?: AbortSignal): Promise<LoginResponse> {
    return this.rpc.login({ user: this.user }, { signal });
  }

  /** listUsers returns every configured user (no log-in needed). */
  async listUsers(): Promise<string[]> {
    return (await this.rpc.listUsers({})).users;
  }

  /** requestChat asks peer to chat; ACCEPTED when the two chat already. */
  async requestChat(peer: string): Promise<{ state: ConversationState; peerOnline: boolean }> {
    const r = await this.rpc.requestChat({ user: this.user, peer });
    return { state: r.state, peerOnline: r.peerOnline };
  }

  /** answerChat accepts or declines peer's request. */
  async answerChat(peer: string, accept: boolean): Promise<{ state: ConversationState; released: number }> {
    const r = await this.rpc.answerChat({ user: this.user, peer, accept });
    return { state: r.state, released: r.released };
  }

  /** send sends one message as it is (crypto.ts seals texts first). */
  send(req: MessageInitShape<typeof SendMsgRequestSchema>): Promise<SendMsgResponse> {
    return this.rpc.sendMsg({ ...req, user: this.user });
  }

  /** ack records how far the inbox was shown. */
  async ack(epoch: string, seq: bigint): Promise<void> {
    await this.rpc.ack({ user: this.user, epoch, seq });
  }

  /** history returns one page of the conversation with peer (or of group), oldest first. */
  history(opts: { peer?: string; group?: string; beforeSeq?: bigint; pageSize?: number }): Promise<HistoryResponse> {
    return this.rpc.history({
      user: this.user,
      peer: opts.peer ?? "",
      group: opts.group ?? "",
      beforeSeq: opts.beforeSeq ?? 0n,
      pageSize: opts.pageSize ?? 0,
    });
  }

  /** publishKey publishes the user's X25519 public key; true when it was new to the server. */
  async publishKey(publicKey: Uint8Array): Promise<boolean> {
    return (await this.rpc.publishKey({ user: this.user, publicKey })).changed;
  }

  /** getKey returns peer's public key; NotFound until they published one. */
  async getKey(peer: string): Promise<Uint8Array> {
    return (await this.rpc.getKey({ user: this.user, peer })).publicKey;
  }

  /** getKeys returns the public keys of those peers who have one. */
  async getKeys(peers: string[]): Promise<Record<string, Uint8Array>> {
    return (await this.rpc.getKeys({ user: this.user, peers })).keys;
  }

  /** createGroup makes a group of the user and members. */
  async createGroup(group: string, members: string[]): Promise<Group | undefined> {
    return (await this.rpc.createGroup({ user: this.user, group, members })).group;
  }

  /** addMember adds member to group. */
  async addMember(group: string, member: string): Promise<Group | undefined> {
    return (await this.rpc.addMember({ user: this.user, group, member })).group;
  }

  /** leaveGroup takes the user out of group. */
  async leaveGroup(group: string): Promise<void> {
    await this.rpc.leaveGroup({ user: this.user, group });
  }

  /** listGroups returns the user's groups. */
  async listGroups(): Promise<Group[]> {
    return (await this.rpc.listGroups({ user: this.user })).groups;
  }

  /** getGroup returns one of the user's groups, with its members. */
  async getGroup(group: string): Promise<Group> {
    const g = (await this.rpc.getGroup({ user: this.user, group })).group;
    if (!g) throw new Error(`the server returned no group ${group}`);
    return g;
  }

  /** shareGroupKey sends sealed copies of the user's sender key for group. */
  async shareGroupKey(group: string, keys: MessageInitShape<typeof SealedKeySchema>[]): Promise<void> {
    await this.rpc.shareGroupKey({ user: this.user, group, keys });
  }

  /** subscribe follows the user's inbox (subscription.ts). */
  subscribe(opts: SubscribeOptions): Subscription {
    return new Subscription(this, opts);
  }
}

/** newMessageId is a fresh client_msg_id: a UUID, the same on every retry of one message. */
export function newMessageId(): string {
  return crypto.randomUUID();
}
