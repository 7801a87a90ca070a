// The broker's (and the Admin service's) channel to the controller quorum. Writes go to the
// active controller: we try the one we last heard was active, follow NOT_CONTROLLER hints, and
// move on to the next voter when one cannot be reached, with a bounded number of attempts.
// Reads that any controller can answer (DescribeQuorum) may go to any voter; the broker's own
// metadata stream follows the controller that last answered a write (`onActiveConfirmed`), so
// the active controller sees the stream end when this broker dies.
import * as grpc from "@grpc/grpc-js";
import { TributaryError, errorCodeOf, tributaryV1, type QuorumVoter, type v1 } from "@tributary/protocol";
import { COMMON_GRPC_OPTIONS } from "./grpc-options.js";

type ControllerMethods = {
  RegisterBroker: [v1.RegisterBrokerRequest, v1.RegisterBrokerResponse__Output];
  BrokerHeartbeat: [v1.BrokerHeartbeatRequest, v1.BrokerHeartbeatResponse__Output];
  AlterPartition: [v1.AlterPartitionRequest, v1.AlterPartitionResponse__Output];
  AllocateProducerIds: [v1.AllocateProducerIdsRequest, v1.AllocateProducerIdsResponse__Output];
  DescribeQuorum: [v1.DescribeQuorumRequest, v1.DescribeQuorumResponse__Output];
  CreateTopics: [v1.CreateTopicsRequest, v1.CreateTopicsResponse__Output];
  DeleteTopics: [v1.DeleteTopicsRequest, v1.DeleteTopicsResponse__Output];
  CreatePartitions: [v1.CreatePartitionsRequest, v1.CreatePartitionsResponse__Output];
  AlterConfigs: [v1.AlterConfigsRequest, v1.AlterConfigsResponse__Output];
  ElectLeaders: [v1.ElectLeadersRequest, v1.ElectLeadersResponse__Output];
};
export type ControllerMethod = keyof ControllerMethods;

interface WithControllerHint {
  error?: { code?: unknown; message?: string } | null;
  controller?: v1.LeaderHint__Output | null;
  topics?: { error?: { code?: unknown } | null }[];
  results?: { error?: { code?: unknown } | null }[];
}

export interface ControllerClientOptions {
  voters: readonly QuorumVoter[];
  /** Per attempt. */
  requestTimeoutMs: number;
  /** Attempts per call across voters and hints before giving up. */
  maxAttempts?: number;
  /** grpc max message sizes (the metadata stream can carry a large snapshot). */
  maxMessageBytes?: number;
}

type UnaryFn = (request: unknown, options: grpc.CallOptions, callback: (error: grpc.ServiceError | null, response?: unknown) => void) => grpc.ClientUnaryCall;

export class ControllerClient {
  private readonly clients = new Map<string, v1.ControllerClient>();
  private readonly voters: QuorumVoter[];
  /** The endpoint we believe is the active controller. */
  private activeAddress: string;
  /** The endpoint that last answered a write as the active controller (undefined before any did). */
  private confirmedAddress: string | undefined;
  private readonly confirmedListeners: ((address: string) => void)[] = [];
  private nextVoterIndex = 0;
  private closed = false;

  constructor(private readonly options: ControllerClientOptions) {
    if (options.voters.length === 0) throw new Error("controller.quorum.voters is empty");
    this.voters = [...options.voters];
    this.activeAddress = addressOf(this.voters[0]!);
  }

  /** A client for one controller (any will do for reads and the metadata stream). */
  clientFor(address: string): v1.ControllerClient {
    let client = this.clients.get(address);
    if (!client) {
      const Ctor = tributaryV1().Controller;
      const max = this.options.maxMessageBytes ?? 256 * 1024 * 1024;
      client = new Ctor(address, grpc.credentials.createInsecure(), {
        ...COMMON_GRPC_OPTIONS,
        "grpc.max_receive_message_length": max,
        "grpc.max_send_message_length": max,
        "grpc.initial_reconnect_backoff_ms": 100,
        "grpc.max_reconnect_backoff_ms": 1000,
        // The metadata stream is long-lived: pings notice a controller that froze without closing
        // its connection, so the stream fails and reconnects to another voter.
        "grpc.keepalive_time_ms": 10_000,
        "grpc.keepalive_timeout_ms": 5_000,
        "grpc.keepalive_permit_without_calls": 1,
      });
      this.clients.set(address, client);
    }
    return client;
  }

  /** Rotates through the voters; the metadata follower uses this to reconnect anywhere. */
  nextAddress(): string {
    const voter = this.voters[this.nextVoterIndex % this.voters.length]!;
    this.nextVoterIndex++;
    return addressOf(voter);
  }

  get activeControllerAddress(): string {
    return this.activeAddress;
  }

  /** The controller that last answered a write as active, else our best guess. */
  get confirmedActiveAddress(): string {
    return this.confirmedAddress ?? this.activeAddress;
  }

  /** Called when a different controller than before answers a write as the active one. */
  onActiveConfirmed(listener: (address: string) => void): void {
    this.confirmedListeners.push(listener);
  }

  private confirm(address: string): void {
    if (this.confirmedAddress === address) return;
    this.confirmedAddress = address;
    for (const listener of this.confirmedListeners) listener(address);
  }

  allAddresses(): { nodeId: number; address: string; host: string; port: number }[] {
    return this.voters.map((v) => ({ nodeId: v.id, address: addressOf(v), host: v.host, port: v.port }));
  }

  /**
   * Calls the active controller. Resolves with the response (its own per-item errors left for
   * the caller); throws TributaryError when no controller could be reached or kept answering
   * NOT_CONTROLLER through every attempt.
   */
  async call<M extends ControllerMethod>(method: M, request: ControllerMethods[M][0], timeoutMs = this.options.requestTimeoutMs): Promise<ControllerMethods[M][1]> {
    const maxAttempts = this.options.maxAttempts ?? Math.max(6, this.voters.length * 3);
    let lastError: unknown;
    for (let attempt = 0; attempt < maxAttempts && !this.closed; attempt++) {
      const address = this.activeAddress;
      try {
        const response = (await this.unary(address, method, request, timeoutMs)) as ControllerMethods[M][1] & WithControllerHint;
        if (!isNotController(response)) {
          this.confirm(address);
          return response;
        }
        lastError = new TributaryError("NOT_CONTROLLER", `controller at ${address} is not active`);
        this.followHint(response.controller ?? null, address);
      } catch (error) {
        lastError = error;
        this.activeAddress = this.nextAddressAfter(address);
      }
      // Elections take a moment; a short pause keeps us from burning the attempts in one go.
      if (attempt > 0) await delay(Math.min(50 * attempt, 500));
    }
    if (lastError instanceof TributaryError) throw lastError;
    throw new TributaryError("NOT_CONTROLLER", `no active controller reachable among ${this.voters.map(addressOf).join(", ")}: ${(lastError as Error)?.message ?? "closed"}`);
  }

  /** One call to one named controller, no redirects (reads any controller can answer). */
  clientCall<M extends ControllerMethod>(address: string, method: M, request: ControllerMethods[M][0], timeoutMs = this.options.requestTimeoutMs): Promise<ControllerMethods[M][1]> {
    return this.unary(address, method, request, timeoutMs) as Promise<ControllerMethods[M][1]>;
  }

  private followHint(hint: v1.LeaderHint__Output | null, current: string): void {
    const endpoint = hint?.endpoint;
    if (hint && hint.nodeId >= 0 && endpoint && endpoint.port > 0) {
      this.activeAddress = `${endpoint.host || "127.0.0.1"}:${endpoint.port}`;
      return;
    }
    const voter = hint && hint.nodeId >= 0 ? this.voters.find((v) => v.id === hint.nodeId) : undefined;
    this.activeAddress = voter ? addressOf(voter) : this.nextAddressAfter(current);
  }

  private nextAddressAfter(address: string): string {
    const index = this.voters.findIndex((v) => addressOf(v) === address);
    return addressOf(this.voters[(index + 1) % this.voters.length]!);
  }

  private unary(address: string, method: ControllerMethod, request: unknown, timeoutMs: number): Promise<unknown> {
    const client = this.clientFor(address);
    const fn = (client as unknown as Record<string, UnaryFn>)[method]!.bind(client);
    return new Promise((resolve, reject) => {
      fn(request, { deadline: Date.now() + timeoutMs }, (error, response) => (error ? reject(error) : resolve(response)));
    });
  }

  close(): void {
    this.closed = true;
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
  }
}

function isNotController(response: WithControllerHint): boolean {
  if (errorCodeOf(response.error) === "NOT_CONTROLLER") return true;
  // Topic-level answers carry the error per item when the whole call was refused.
  const items = response.topics ?? response.results;
  return Array.isArray(items) && items.length > 0 && items.every((item) => errorCodeOf(item.error) === "NOT_CONTROLLER");
}

export function addressOf(voter: { host: string; port: number }): string {
  const host = voter.host.includes(":") ? `[${voter.host}]` : voter.host || "127.0.0.1";
  return `${host}:${voter.port}`;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
