// One gRPC channel (one HTTP/2 connection) per broker address, shared by the Broker, Groups and
// Admin service stubs on it. Channels are made on first use and kept until close(); grpc-js
// reconnects a channel by itself after a broker restarts.
import * as grpc from "@grpc/grpc-js";
import { BrokerSession, type v1, tributaryV1 } from "@tributary/protocol";

export interface BrokerStubs {
  address: string;
  broker: v1.BrokerClient;
  groups: v1.GroupsClient;
  admin: v1.AdminClient;
  /**
   * Produce requests travel on one long-lived Session call per broker (a quarter of a unary
   * call's CPU), fetches on another, so a megabyte fetch answer never queues a produce
   * acknowledgement behind it on the same HTTP/2 stream.
   */
  produceSession: BrokerSession;
  fetchSession: BrokerSession;
}

/** The HTTP/2 receive window per stream and per connection, as the brokers use. */
const FLOW_CONTROL_WINDOW_BYTES = 16 * 1024 * 1024;

export interface ConnectionPoolOptions {
  /** Sent to brokers as the user agent, so their logs name the application. */
  clientId: string;
  /** Largest message this client sends or accepts. */
  maxMessageBytes: number;
}

export class ConnectionPool {
  private readonly stubsByAddress = new Map<string, BrokerStubs>();
  private closed = false;

  constructor(private readonly options: ConnectionPoolOptions) {}

  /** The stubs for `address` ("host:port"), sharing one channel. */
  get(address: string): BrokerStubs {
    if (this.closed) throw new Error("connection pool is closed");
    const existing = this.stubsByAddress.get(address);
    if (existing !== undefined) return existing;
    const v1ns = tributaryV1();
    const channelOptions: grpc.ChannelOptions = {
      "grpc.max_send_message_length": this.options.maxMessageBytes,
      "grpc.max_receive_message_length": this.options.maxMessageBytes,
      "grpc.primary_user_agent": `tributary-client/${this.options.clientId}`,
      // Fail calls fast while a broker is down instead of queueing them until their deadline.
      "grpc.initial_reconnect_backoff_ms": 100,
      "grpc.max_reconnect_backoff_ms": 1_000,
      "grpc.keepalive_time_ms": 10_000,
      "grpc.keepalive_timeout_ms": 5_000,
      // Channelz keeps per-call counters and traces nobody reads here: measurable CPU per call in profiles.
      "grpc.enable_channelz": 0,
      // Fetch answers of megabytes arrive on one Session stream: with HTTP/2's default 64 KiB
      // window each 64 KiB would wait for a WINDOW_UPDATE round trip.
      "grpc-node.flow_control_window": FLOW_CONTROL_WINDOW_BYTES,
    };
    const credentials = grpc.credentials.createInsecure();
    const broker = new v1ns.Broker(address, credentials, channelOptions);
    const shared = { ...channelOptions, channelOverride: broker.getChannel() };
    const stubs: BrokerStubs = {
      address,
      broker,
      groups: new v1ns.Groups(address, credentials, shared),
      admin: new v1ns.Admin(address, credentials, shared),
      produceSession: new BrokerSession(broker, `broker at ${address}`),
      fetchSession: new BrokerSession(broker, `broker at ${address}`),
    };
    this.stubsByAddress.set(address, stubs);
    return stubs;
  }

  addresses(): string[] {
    return [...this.stubsByAddress.keys()];
  }

  close(): void {
    this.closed = true;
    for (const stubs of this.stubsByAddress.values()) {
      stubs.produceSession.close();
      stubs.fetchSession.close();
      stubs.broker.close();
    }
    this.stubsByAddress.clear();
  }
}
