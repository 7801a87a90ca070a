// The Raft core's fire-and-forget messages over the Raft gRPC service. A request message
// (vote, append, heartbeat, snapshot, timeout-now) becomes a unary call to its peer; the peer's
// core answers with a message of its own, some time later (after its disk write), and that
// message is the call's reply. So the server side keeps, per peer and call kind, the calls
// waiting for an answer, oldest first, and the first response message the core sends to that
// peer goes back on the oldest one. A call with no answer in time gets an empty reply (from -1).
// Raft messages describe themselves, so pairing a reply with an older call loses nothing.
import * as grpc from "@grpc/grpc-js";
import { tributaryV1, type v1 } from "@tributary/protocol";
import type { NodeId, RaftMessage, RaftTransport } from "@tributary/raft";
import type { Logger } from "pino";
import * as codec from "./raft-codec.js";
import { GRPC_CHANNEL_OPTIONS } from "./channel-options.js";

type CallKind = "vote" | "append" | "snapshot" | "timeoutNow";

interface WaitingCall {
  reply(message: RaftMessage | null): void;
}

export interface RaftPeer {
  id: NodeId;
  host: string;
  port: number;
}

export interface RaftGrpcTransportOptions {
  selfId: NodeId;
  clusterId: string;
  peers: readonly RaftPeer[];
  log: Logger;
  /** Calls in flight to one peer; beyond it messages are dropped (Raft resends). */
  maxInflightPerPeer?: number;
  /** How long a served call waits for the core's answer before an empty reply. */
  replyWaitMs?: number;
  /** Deadline of an outgoing call. */
  callTimeoutMs?: number;
}

const RESPONSE_KIND: Partial<Record<RaftMessage["type"], CallKind>> = {
  RequestVoteResponse: "vote",
  AppendEntriesResponse: "append",
  HeartbeatResponse: "append",
  InstallSnapshotResponse: "snapshot",
};

const EMPTY_REPLY = { from: codec.NO_MESSAGE_FROM, to: codec.NO_MESSAGE_FROM, term: "0" };

export class RaftGrpcTransport implements RaftTransport {
  private receive: ((message: RaftMessage) => void) | null = null;
  private readonly clients = new Map<NodeId, grpc.Client & v1.RaftClient>();
  private readonly inflight = new Map<NodeId, number>();
  private readonly waiting = new Map<string, WaitingCall[]>();
  private readonly maxInflightPerPeer: number;
  private readonly replyWaitMs: number;
  private readonly callTimeoutMs: number;
  private closed = false;

  constructor(private readonly options: RaftGrpcTransportOptions) {
    this.maxInflightPerPeer = options.maxInflightPerPeer ?? 256;
    this.replyWaitMs = options.replyWaitMs ?? 5_000;
    this.callTimeoutMs = options.callTimeoutMs ?? 6_000;
    const Raft = tributaryV1().Raft;
    for (const peer of options.peers) {
      if (peer.id === options.selfId) continue;
      this.clients.set(peer.id, new Raft(`${peer.host}:${peer.port}`, grpc.credentials.createInsecure(), GRPC_CHANNEL_OPTIONS) as grpc.Client & v1.RaftClient);
    }
  }

  /** Where incoming messages go (the driver's `receive`), set once the driver exists. */
  attach(receive: (message: RaftMessage) => void): void {
    this.receive = receive;
  }

  send(message: RaftMessage): void {
    if (this.closed) return;
    const responseKind = RESPONSE_KIND[message.type];
    if (responseKind) return this.answer(message.to, responseKind, message);
    const client = this.clients.get(message.to);
    if (!client) return;
    const inflight = this.inflight.get(message.to) ?? 0;
    if (inflight >= this.maxInflightPerPeer) return; // dropped: the core retries on its own schedule
    this.inflight.set(message.to, inflight + 1);
    const deadline = { deadline: Date.now() + this.callTimeoutMs };
    const done = <R>(fromProto: (reply: R) => RaftMessage) => (error: grpc.ServiceError | null, reply?: R & { from: number }): void => {
      this.inflight.set(message.to, (this.inflight.get(message.to) ?? 1) - 1);
      if (error || !reply || reply.from === codec.NO_MESSAGE_FROM || this.closed) return;
      this.deliver(fromProto(reply));
    };
    const clusterId = this.options.clusterId;
    switch (message.type) {
      case "RequestVote":
        client.RequestVote(codec.voteRequestToProto(message, clusterId), deadline, done(codec.voteResponseFromProto));
        return;
      case "AppendEntries":
      case "Heartbeat":
        client.AppendEntries(codec.appendToProto(message, clusterId), deadline, done(codec.appendResponseFromProto));
        return;
      case "InstallSnapshot":
        client.InstallSnapshot(codec.snapshotToProto(message, clusterId), deadline, done(codec.snapshotResponseFromProto));
        return;
      case "TimeoutNow":
        client.TimeoutNow(codec.timeoutNowToProto(message), deadline, done(() => null as unknown as RaftMessage));
        return;
      default:
        this.inflight.set(message.to, inflight);
    }
  }

  private deliver(message: RaftMessage | null): void {
    if (message && this.receive && !this.closed) this.receive(message);
  }

  private answer(peer: NodeId, kind: CallKind, message: RaftMessage): void {
    const queue = this.waiting.get(`${peer}:${kind}`);
    const call = queue?.shift();
    call?.reply(message); // no call waiting: the answer is dropped, as a lost message would be
  }

  /** Serve one incoming call: step its message, wait for the core's answer to the caller. */
  private serve<Req>(kind: CallKind, request: Req & { from: number; clusterId?: string }, toMessage: (r: Req) => RaftMessage, toReply: (m: RaftMessage) => object, callback: grpc.sendUnaryData<object>): void {
    if (request.clusterId !== undefined && request.clusterId !== this.options.clusterId) {
      this.options.log.warn({ from: request.from, clusterId: request.clusterId }, "raft message from another cluster ignored");
      callback(null, EMPTY_REPLY);
      return;
    }
    const key = `${request.from}:${kind}`;
    const queue = this.waiting.get(key) ?? [];
    this.waiting.set(key, queue);
    let settled = false;
    const call: WaitingCall = {
      reply: (message) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        callback(null, message ? toReply(message) : EMPTY_REPLY);
      },
    };
    const timer = setTimeout(() => {
      const index = queue.indexOf(call);
      if (index >= 0) queue.splice(index, 1);
      call.reply(null);
    }, this.replyWaitMs);
    if (kind === "timeoutNow") call.reply(null); // the core sends nothing back for TimeoutNow
    else queue.push(call);
    this.deliver(toMessage(request));
  }

  /** The Raft service's handlers, for grpc.Server.addService. */
  handlers(): grpc.UntypedServiceImplementation {
    type Unary<Req> = (call: grpc.ServerUnaryCall<Req, object>, callback: grpc.sendUnaryData<object>) => void;
    const requestVote: Unary<v1.VoteRequest__Output> = (call, cb) =>
      this.serve("vote", call.request, codec.voteRequestFromProto, (m) => codec.voteResponseToProto(m as never), cb);
    const appendEntries: Unary<v1.AppendEntriesRequest__Output> = (call, cb) =>
      this.serve("append", call.request, codec.appendFromProto, (m) => codec.appendResponseToProto(m as never), cb);
    const installSnapshot: Unary<v1.InstallSnapshotRequest__Output> = (call, cb) =>
      this.serve("snapshot", call.request, codec.snapshotFromProto, (m) => codec.snapshotResponseToProto(m as never), cb);
    const timeoutNow: Unary<v1.TimeoutNowRequest__Output> = (call, cb) =>
      this.serve("timeoutNow", call.request, codec.timeoutNowFromProto, () => EMPTY_REPLY, cb);
    return { RequestVote: requestVote, AppendEntries: appendEntries, InstallSnapshot: installSnapshot, TimeoutNow: timeoutNow } as grpc.UntypedServiceImplementation;
  }

  close(): void {
    this.closed = true;
    for (const queue of this.waiting.values()) for (const call of queue.splice(0)) call.reply(null);
    for (const client of this.clients.values()) client.close();
  }
}
