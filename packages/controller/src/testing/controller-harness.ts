// Test support: a QuorumController driven with a fake clock, whose writes are "committed" by
// applying them to a separate committed image, as a node applying the Raft log would.
import { MetadataImage, messageCodec, resolveServerConfig, type v1 } from "@tributary/protocol";
import {
  type ControllerSettings,
  DEFAULT_MAX_PARTITIONS_PER_REQUEST,
  DEFAULT_PREFERRED_LEADER_CHECK_INTERVAL_MS,
  DEFAULT_PRODUCER_ID_BLOCK_SIZE,
  brokerConnectionGraceMs,
} from "../controller-context.js";
import { applyBatch, batchCodec, cloneImage, encodeBatch } from "../metadata-records.js";
import { type ControllerWrite, QuorumController } from "../quorum-controller.js";

/** The decoded form of a request, with every default filled in, as gRPC hands it to a service. */
export function request<Out>(typeName: string, value: object): Out {
  const codec = messageCodec<object, Out>(typeName);
  return codec.decode(codec.encode(value));
}

export function testSettings(overrides: Record<string, string> = {}): ControllerSettings {
  const server = resolveServerConfig({ flags: { "broker.session.timeout.ms": "9000", ...overrides } }).values;
  return {
    nodeId: 1,
    server,
    producerIdBlockSize: DEFAULT_PRODUCER_ID_BLOCK_SIZE,
    preferredLeaderCheckIntervalMs: DEFAULT_PREFERRED_LEADER_CHECK_INTERVAL_MS,
    maxPartitionsPerRequest: DEFAULT_MAX_PARTITIONS_PER_REQUEST,
    brokerConnectionGraceMs: brokerConnectionGraceMs(server["broker.heartbeat.interval.ms"], server["broker.session.timeout.ms"]),
  };
}

export class ControllerHarness {
  nowMs = 1_000_000;
  readonly committed = new MetadataImage();
  controller: QuorumController;
  private topicCounter = 0;

  constructor(readonly settings: ControllerSettings = testSettings()) {
    this.committed.clusterId = "test-cluster";
    this.controller = this.newController(1);
  }

  private newController(term: number, connectedBrokerIds: readonly number[] = []): QuorumController {
    const controller = new QuorumController({
      image: cloneImage(this.committed, new MetadataImage()),
      settings: this.settings,
      term,
      nowMs: this.nowMs,
      newTopicId: () => `topic-id-${++this.topicCounter}`,
      connectedBrokerIds,
    });
    this.commit(controller.activate(this.nowMs));
    return controller;
  }

  /** A new leader in the next term, built from what has committed; `connectedBrokerIds` have streams open to it. */
  failover(connectedBrokerIds: readonly number[] = []): void {
    this.controller = this.newController(this.controller.term + 1, connectedBrokerIds);
  }

  /** Commits a write through the same bytes the Raft log would hold. */
  commit<R>(write: ControllerWrite<R>): R {
    if (write.records.length > 0) applyBatch(this.committed, batchCodec.decode(encodeBatch(write.baseOffset, write.records)));
    return write.response;
  }

  advance(ms: number): void {
    this.nowMs += ms;
  }

  register(brokerId: number, rack = "", incarnationId = `incarnation-${brokerId}`): number {
    const response = this.commit(this.controller.registerBroker(
      request("RegisterBrokerRequest", { brokerId, incarnationId, rack, listeners: [{ host: "127.0.0.1", port: 9092 + brokerId }] }),
      this.nowMs,
    ));
    if (response.error?.code !== "NONE") throw new Error(`register failed: ${response.error?.message}`);
    return Number(response.brokerEpoch);
  }

  heartbeat(brokerId: number, brokerEpoch: number, extra: { wantShutdown?: boolean; wantFence?: boolean; currentMetadataOffset?: number } = {}): v1.BrokerHeartbeatResponse {
    return this.commit(this.controller.brokerHeartbeat(
      request("BrokerHeartbeatRequest", {
        brokerId,
        brokerEpoch: String(brokerEpoch),
        currentMetadataOffset: String(extra.currentMetadataOffset ?? this.committed.lastAppliedOffset),
        wantShutdown: extra.wantShutdown ?? false,
        wantFence: extra.wantFence ?? false,
      }),
      this.nowMs,
    ));
  }

  /** Registers brokers and unfences them with a caught-up heartbeat; returns their epochs. */
  startBrokers(ids: readonly number[], racks: readonly string[] = []): Map<number, number> {
    const epochs = new Map<number, number>();
    ids.forEach((id, i) => epochs.set(id, this.register(id, racks[i] ?? "")));
    for (const [id, epoch] of epochs) this.heartbeat(id, epoch);
    return epochs;
  }

  createTopic(name: string, numPartitions: number, replicationFactor: number, configs: Record<string, string> = {}): v1.CreateTopicResult {
    const response = this.commit(this.controller.createTopics(
      request("CreateTopicsRequest", { topics: [{ name, numPartitions, replicationFactor, configs }] }),
      this.nowMs,
    ));
    return response.topics![0]!;
  }

  tick(): { fencedBrokerIds: number[]; connectionLostBrokerIds: number[]; preferredLeaderMoves: number } {
    return this.commit(this.controller.tick(this.nowMs));
  }
}
