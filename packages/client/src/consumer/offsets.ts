// Offset calls: commit and fetch committed offsets at the group coordinator, and ListOffsets
// (earliest / latest / by timestamp) at each partition's leader. Retries retriable errors,
// finding the coordinator again or refreshing metadata between attempts.
import { int64, int64ToNumber, type v1 } from "@tributary/protocol";
import type { Cluster, Coordinator } from "../cluster.js";
import { TributaryError, errorFor, responseErrorOf } from "../errors.js";
import { retrying } from "../retry.js";
import { unary } from "../rpc.js";
import { type TopicPartition, tpKey } from "./types.js";

export const EARLIEST_TIMESTAMP = -2;
export const LATEST_TIMESTAMP = -1;

export interface CommittedOffset {
  offset: number; // -1: none
  metadata: string;
}

/** Finds and remembers a group's coordinator; forget() after NOT_COORDINATOR and the like. */
export class CoordinatorLocator {
  private current: Coordinator | undefined;
  private finding: Promise<Coordinator> | undefined;

  constructor(
    private readonly cluster: Cluster,
    readonly groupId: string,
  ) {}

  get(): Promise<Coordinator> {
    if (this.current !== undefined) return Promise.resolve(this.current);
    this.finding ??= this.cluster.findCoordinator(this.groupId).then(
      (found) => {
        this.current = found;
        this.finding = undefined;
        return found;
      },
      (error: unknown) => {
        this.finding = undefined;
        throw error;
      },
    );
    return this.finding;
  }

  forget(): void {
    this.current = undefined;
  }
}

export function isCoordinatorError(error: TributaryError): boolean {
  return ["NOT_COORDINATOR", "COORDINATOR_NOT_AVAILABLE", "NETWORK_EXCEPTION", "REQUEST_TIMED_OUT", "BROKER_SHUTTING_DOWN"].includes(error.code);
}

export class OffsetClient {
  constructor(
    private readonly cluster: Cluster,
    private readonly requestTimeoutMs: number,
  ) {}

  private retryOptions(operation: string, onRetriable?: (error: TributaryError) => void): Parameters<typeof retrying>[1] {
    const { backoff, retries } = this.cluster.options;
    const options: Parameters<typeof retrying>[1] = { policy: backoff, retries, timeoutMs: this.requestTimeoutMs, operation };
    if (onRetriable !== undefined) options.onRetriable = onRetriable;
    return options;
  }

  /**
   * Commits offsets for a group. `member()` gives the member id and epoch at each attempt
   * (empty and -1 outside group management), so a commit that raced a rebalance and got
   * STALE_MEMBER_EPOCH goes again with the epoch the member has now.
   */
  async commit(locator: CoordinatorLocator, member: () => { memberId: string; memberEpoch: number }, offsets: Map<string, { topic: string; partition: number; offset: number; metadata?: string }>): Promise<void> {
    if (offsets.size === 0) return;
    const byTopic = new Map<string, v1.OffsetCommitPartition[]>();
    for (const o of offsets.values()) {
      const list = byTopic.get(o.topic) ?? [];
      list.push({ partition: o.partition, committedOffset: int64(o.offset), committedLeaderEpoch: -1, metadata: o.metadata ?? "" });
      byTopic.set(o.topic, list);
    }
    const topics = [...byTopic].map(([name, partitions]) => ({ name, partitions }));
    const options = this.retryOptions(`OffsetCommit(${locator.groupId})`, (error) => {
      if (isCoordinatorError(error)) locator.forget();
    });
    options.isRetriable = (error) => error.retriable || error.code === "STALE_MEMBER_EPOCH";
    await retrying(async () => {
      const request: v1.OffsetCommitRequest = { groupId: locator.groupId, ...member(), topics };
      const coordinator = await locator.get();
      const stubs = this.cluster.stubs(coordinator.address);
      const response = await unary<v1.OffsetCommitResponse__Output>((o, cb) => stubs.groups.OffsetCommit(request, o, cb), this.requestTimeoutMs, `OffsetCommit(${locator.groupId})`);
      const whole = responseErrorOf(response.error, `OffsetCommit(${locator.groupId})`);
      if (whole !== null) throw whole;
      for (const topic of response.topics) {
        for (const p of topic.partitions) {
          const error = responseErrorOf(p.error, `OffsetCommit(${locator.groupId}) ${topic.name}-${p.partition}`);
          if (error !== null) throw error;
        }
      }
    }, options);
  }

  /** Committed offsets of the group for these partitions (offset -1: none). */
  async fetchCommitted(locator: CoordinatorLocator, partitions: TopicPartition[]): Promise<Map<string, CommittedOffset>> {
    const byTopic = new Map<string, number[]>();
    for (const { topic, partition } of partitions) byTopic.set(topic, [...(byTopic.get(topic) ?? []), partition]);
    const request: v1.OffsetFetchRequest = {
      groupId: locator.groupId,
      topics: [...byTopic].map(([topic, parts]) => ({ topic, partitions: parts })),
      requireStable: true,
    };
    return retrying(async () => {
      const coordinator = await locator.get();
      const stubs = this.cluster.stubs(coordinator.address);
      const response = await unary<v1.OffsetFetchResponse__Output>((o, cb) => stubs.groups.OffsetFetch(request, o, cb), this.requestTimeoutMs, `OffsetFetch(${locator.groupId})`);
      const whole = responseErrorOf(response.error, `OffsetFetch(${locator.groupId})`);
      if (whole !== null) throw whole;
      const out = new Map<string, CommittedOffset>();
      for (const topic of response.topics) {
        for (const p of topic.partitions) {
          const error = responseErrorOf(p.error, `OffsetFetch(${locator.groupId}) ${topic.name}-${p.partition}`);
          if (error !== null && error.code !== "UNKNOWN_TOPIC_OR_PARTITION") throw error;
          out.set(tpKey(topic.name, p.partition), { offset: error === null ? int64ToNumber(p.committedOffset) : -1, metadata: p.metadata });
        }
      }
      return out;
    }, this.retryOptions(`OffsetFetch(${locator.groupId})`, (error) => {
      if (isCoordinatorError(error)) locator.forget();
    }));
  }

  /** Offsets at `timestamp` (EARLIEST_TIMESTAMP, LATEST_TIMESTAMP, or ms) from each partition's leader. */
  async listOffsets(partitions: TopicPartition[], timestamp: number): Promise<Map<string, { offset: number; timestamp: number }>> {
    const out = new Map<string, { offset: number; timestamp: number }>();
    let remaining = partitions;
    await retrying(async () => {
      this.cluster.track(remaining.map((p) => p.topic));
      if (remaining.some((p) => this.cluster.leaderFor(p.topic, p.partition) === undefined)) await this.cluster.refreshMetadata();
      const byLeader = new Map<string, TopicPartition[]>();
      for (const tp of remaining) {
        const leader = this.cluster.leaderFor(tp.topic, tp.partition);
        if (leader === undefined) {
          this.cluster.metadata.markStale(tp.topic);
          throw errorFor("LEADER_NOT_AVAILABLE", `no known leader for ${tp.topic}-${tp.partition}`);
        }
        byLeader.set(leader.address, [...(byLeader.get(leader.address) ?? []), tp]);
      }
      const failures: TributaryError[] = [];
      await Promise.all(
        [...byLeader].map(async ([address, tps]) => {
          const byTopic = new Map<string, v1.ListOffsetsPartition[]>();
          // The leader epoch the client knows: a deposed leader (stopped, then continued) answers
          // FENCED_LEADER_EPOCH instead of an end offset from its old view of the log.
          const partitionFor = (tp: TopicPartition): v1.ListOffsetsPartition => ({ partition: tp.partition, timestamp: int64(timestamp), currentLeaderEpoch: this.cluster.metadata.partition(tp.topic, tp.partition)?.leaderEpoch ?? -1 });
          for (const tp of tps) byTopic.set(tp.topic, [...(byTopic.get(tp.topic) ?? []), partitionFor(tp)]);
          const request: v1.ListOffsetsRequest = { replicaId: -1, isolationLevel: 0, topics: [...byTopic].map(([name, ps]) => ({ name, partitions: ps })) };
          const stubs = this.cluster.stubs(address);
          try {
            const response = await unary<v1.ListOffsetsResponse__Output>((o, cb) => stubs.broker.ListOffsets(request, o, cb), this.requestTimeoutMs, `ListOffsets on ${address}`);
            for (const topic of response.topics) {
              for (const p of topic.partitions) {
                const error = responseErrorOf(p.error, `ListOffsets ${topic.name}-${p.partition}`);
                if (error !== null) {
                  if (error.retriable) this.cluster.metadata.markStale(topic.name);
                  failures.push(error);
                  continue;
                }
                out.set(tpKey(topic.name, p.partition), { offset: int64ToNumber(p.offset), timestamp: int64ToNumber(p.timestamp) });
              }
            }
          } catch (error) {
            this.cluster.metadata.markStale(tps[0]!.topic);
            failures.push(error instanceof TributaryError ? error : errorFor("NETWORK_EXCEPTION", String(error)));
          }
        }),
      );
      remaining = remaining.filter((tp) => !out.has(tpKey(tp.topic, tp.partition)));
      if (failures.length > 0) throw failures.find((f) => !f.retriable) ?? failures[0]!;
    }, this.retryOptions("ListOffsets", () => void this.cluster.refreshMetadata().catch(() => undefined)));
    return out;
  }
}
