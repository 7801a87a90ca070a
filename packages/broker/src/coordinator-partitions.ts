// What the group coordinator (src/groups/, written by the group coordinator engineer) needs
// from the broker: appends to and reads from the __consumer_offsets partitions this broker
// leads, with the same acks=all path clients use, leadership change events, and where each
// offsets partition's leader is. The interface is stable; the implementation lives here.
import { TributaryError, errorCodeOf, type v1 } from "@tributary/protocol";
import type { BrokerContext } from "./broker-context.js";
import type { ControllerClient } from "./controller-client.js";
import type { MetadataFollower } from "./metadata-follower.js";
import { handleProduce } from "./produce-handler.js";

export const OFFSETS_TOPIC = "__consumer_offsets";

// The shape agreed with the group coordinator (src/groups/types.ts holds the same contract):
// their version adds the log end to reads, the leader epoch to leaderOf, and an unsubscribe.
export interface PartitionLeader {
  nodeId: number;
  host: string;
  port: number;
  leaderEpoch: number;
}

export interface CommittedRead {
  /** Zero or more whole RecordBatch v2 batches, back to back, all below `highWatermark`. */
  records: Buffer;
  highWatermark: number;
  /** The leader's log end offset when read (>= highWatermark). */
  logEndOffset: number;
}

export interface LeadershipChange {
  /** A partition of __consumer_offsets. */
  partition: number;
  isLeader: boolean;
  leaderEpoch: number;
}

export interface CoordinatorPartitionAccess {
  /** Append one batch to __consumer_offsets-<partition> with acks=all; resolves once committed (HW passed it). Rejects with TributaryError. */
  appendCommitted(partition: number, batch: Buffer): Promise<{ baseOffset: number }>;
  /** Whole batches from `fromOffset` below the HW (for loading offsets on becoming coordinator). */
  readCommitted(partition: number, fromOffset: number, maxBytes: number): Promise<CommittedRead>;
  /** Called when this broker becomes or stops being leader of an offsets partition. Returns an unsubscribe function. */
  onLeadershipChange(listener: (change: LeadershipChange) => void): () => void;
  /** Broker id and endpoint of the current leader of __consumer_offsets-<partition>, for FindCoordinator and NOT_COORDINATOR hints. */
  leaderOf(partition: number): PartitionLeader | undefined;
  /** Creates __consumer_offsets (offsets.topic.num.partitions, RF min(offsets.topic.replication.factor, live brokers), cleanup.policy=compact) if missing; resolves when its partitions have leaders. */
  ensureOffsetsTopic(): Promise<void>;
  partitionCount(): number;
  /** High watermark / log start of any partition this broker leads, for lag in DescribeGroups. */
  offsetsOf(topic: string, partition: number): { logStartOffset: number; highWatermark: number } | undefined;
}

/** How long an offsets append waits for replication before REQUEST_TIMED_OUT. */
const APPEND_TIMEOUT_MS = 15_000;

export class BrokerCoordinatorPartitions implements CoordinatorPartitionAccess {
  private creating: Promise<void> | undefined;

  constructor(
    private readonly ctx: BrokerContext,
    private readonly controllers: ControllerClient,
    private readonly metadata: MetadataFollower,
  ) {}

  async appendCommitted(partition: number, batch: Buffer): Promise<{ baseOffset: number }> {
    const response = await handleProduce(this.ctx, {
      acks: -1, timeoutMs: APPEND_TIMEOUT_MS, transactionalId: "",
      topics: [{ name: OFFSETS_TOPIC, partitions: [{ partition, records: batch }] }],
    });
    const result = response.topics?.[0]?.partitions?.[0];
    const code = errorCodeOf(result?.error as { code?: unknown } | undefined);
    if (!result || code !== "NONE") throw new TributaryError(code === "NONE" ? "UNKNOWN_SERVER_ERROR" : code, result?.error?.message ?? "no answer for the offsets partition");
    return { baseOffset: Number(result.baseOffset) };
  }

  async readCommitted(partition: number, fromOffset: number, maxBytes: number): Promise<CommittedRead> {
    const p = this.ctx.replicas.partition(OFFSETS_TOPIC, partition);
    if (!p?.isLeader) throw new TributaryError("NOT_COORDINATOR", `broker ${this.ctx.brokerId} does not lead ${OFFSETS_TOPIC}-${partition}`);
    const highWatermark = p.highWatermark;
    const logEndOffset = p.log.logEndOffset;
    if (fromOffset >= highWatermark) return { records: Buffer.alloc(0), highWatermark, logEndOffset };
    const start = Math.max(fromOffset, p.log.logStartOffset);
    return { records: p.log.read(start, Math.max(1, maxBytes), highWatermark).records, highWatermark, logEndOffset };
  }

  onLeadershipChange(listener: (change: LeadershipChange) => void): () => void {
    return this.ctx.replicas.onLeadershipChange((topic, partition, isLeader, leaderEpoch) => {
      if (topic === OFFSETS_TOPIC) listener({ partition, isLeader, leaderEpoch });
    });
  }

  leaderOf(partition: number): PartitionLeader | undefined {
    const p = this.ctx.image.partition(OFFSETS_TOPIC, partition);
    if (!p || p.leader < 0) return undefined;
    const listener = this.ctx.image.brokers.get(p.leader)?.listeners[0];
    return listener ? { nodeId: p.leader, host: listener.host, port: listener.port, leaderEpoch: p.leaderEpoch } : undefined;
  }

  ensureOffsetsTopic(): Promise<void> {
    if (this.ctx.image.topicsByName.has(OFFSETS_TOPIC) && this.allOffsetsPartitionsLed()) return Promise.resolve();
    this.creating ??= this.create().finally(() => { this.creating = undefined; });
    return this.creating;
  }

  private async create(): Promise<void> {
    if (!this.ctx.image.topicsByName.has(OFFSETS_TOPIC)) await this.createTopic();
    const deadline = Date.now() + APPEND_TIMEOUT_MS;
    while (!this.allOffsetsPartitionsLed() && Date.now() < deadline) {
      await this.metadata.waitForOffset(this.ctx.image.lastAppliedOffset + 1, Math.max(1, deadline - Date.now()));
    }
    if (!this.allOffsetsPartitionsLed()) throw new TributaryError("COORDINATOR_NOT_AVAILABLE", "the offsets topic's partitions have no leaders yet; retry");
  }

  private async createTopic(): Promise<void> {
    const live = this.ctx.image.liveBrokers().length;
    const replicationFactor = Math.max(1, Math.min(this.ctx.config["offsets.topic.replication.factor"], live));
    const request: v1.CreateTopicsRequest = {
      topics: [{
        name: OFFSETS_TOPIC, numPartitions: this.partitionCount(), replicationFactor,
        configs: { "cleanup.policy": "compact" }, assignments: [],
      }],
      timeoutMs: APPEND_TIMEOUT_MS, validateOnly: false,
    };
    const response = await this.controllers.call("CreateTopics", request);
    const code = errorCodeOf(response.topics[0]?.error);
    if (code !== "NONE" && code !== "TOPIC_ALREADY_EXISTS") throw new TributaryError(code, response.topics[0]?.error?.message ?? "cannot create the offsets topic");
    // Callers next ask leaderOf(): wait until this broker's image shows the topic.
    const deadline = Date.now() + APPEND_TIMEOUT_MS;
    while (!this.ctx.image.topicsByName.has(OFFSETS_TOPIC) && Date.now() < deadline) {
      await this.metadata.waitForOffset(this.ctx.image.lastAppliedOffset + 1, Math.max(1, deadline - Date.now()));
    }
    if (!this.ctx.image.topicsByName.has(OFFSETS_TOPIC)) throw new TributaryError("COORDINATOR_NOT_AVAILABLE", "the offsets topic was created but has not reached this broker yet; retry");
  }

  private allOffsetsPartitionsLed(): boolean {
    const topic = this.ctx.image.topicsByName.get(OFFSETS_TOPIC);
    return topic !== undefined && [...topic.partitions.values()].every((p) => p.leader >= 0);
  }

  partitionCount(): number {
    return this.ctx.image.topicsByName.get(OFFSETS_TOPIC)?.partitions.size ?? this.ctx.config["offsets.topic.num.partitions"];
  }

  offsetsOf(topic: string, partition: number): { logStartOffset: number; highWatermark: number } | undefined {
    const p = this.ctx.replicas.partition(topic, partition);
    if (!p?.isLeader) return undefined;
    return { logStartOffset: p.log.logStartOffset, highWatermark: p.highWatermark };
  }
}

