// What the client believes about the cluster: brokers and their addresses, each topic's
// partitions with leader and leader epoch. Pure: answers come in through update() and
// applyLeaderHint(), staleness is decided against an injected clock. The I/O that fetches
// Metadata lives in cluster.ts.
import { type ErrorCode, errorCodeOf, int64ToNumber, type v1 } from "@tributary/protocol";

export interface BrokerNode {
  nodeId: number;
  host: string;
  port: number;
  /** "host:port", the key of the connection pool. */
  address: string;
}

export interface PartitionInfo {
  topic: string;
  partition: number;
  /** -1 when the partition has no leader. */
  leaderId: number;
  leaderEpoch: number;
  replicas: number[];
  isr: number[];
  offlineReplicas: number[];
  error: ErrorCode;
}

export interface TopicInfo {
  name: string;
  topicId: string;
  isInternal: boolean;
  error: ErrorCode;
  /** Indexed by partition number. */
  partitions: PartitionInfo[];
}

export function addressOf(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

export class MetadataCache {
  private readonly brokers = new Map<number, BrokerNode>();
  private readonly topics = new Map<string, TopicInfo>();
  /** Topics whose leaders are known to be wrong; the next refresh is due now. */
  private readonly staleTopics = new Set<string>();
  private lastUpdateMs = -Infinity;
  /** availablePartitions() answers, dropped whenever leaders or brokers change. */
  private readonly availableCache = new Map<string, number[]>();
  private metadataOffset = -1;
  clusterId = "";
  controllerId = -1;

  constructor(private readonly maxAgeMs: number) {}

  /** Takes a Metadata answer. Topics it carries replace what was known of them. */
  update(response: v1.MetadataResponse__Output, nowMs: number): void {
    const offset = int64ToNumber(response.metadataOffset);
    // A broker that lags behind the last answer may still tell us about topics we asked for;
    // its broker list is older, so only a newer-or-equal answer replaces the brokers.
    if (offset >= this.metadataOffset) {
      this.metadataOffset = offset;
      this.brokers.clear();
      for (const broker of response.brokers) {
        if (broker.endpoint === null) continue;
        const { host, port } = broker.endpoint;
        this.brokers.set(broker.nodeId, { nodeId: broker.nodeId, host, port, address: addressOf(host, port) });
      }
      this.clusterId = response.clusterId;
      this.controllerId = response.controllerId;
    }
    for (const topic of response.topics) {
      const error = errorCodeOf(topic.error);
      const known = this.topics.get(topic.name);
      const knownPartitions = known !== undefined && known.topicId === topic.topicId ? known.partitions : [];
      const partitions: PartitionInfo[] = [];
      for (const p of topic.partitions) {
        // A broker whose metadata lags may name a leader that has since been replaced: a
        // partition's leader epoch only goes up, so an older one never replaces a newer one
        // (a consumer sent back to a deposed leader would read a log it has already passed).
        const current = knownPartitions[p.partition];
        if (current !== undefined && p.leaderEpoch < current.leaderEpoch) {
          partitions[p.partition] = current;
          continue;
        }
        partitions[p.partition] = {
          topic: topic.name,
          partition: p.partition,
          leaderId: p.leader,
          leaderEpoch: p.leaderEpoch,
          replicas: p.replicas,
          isr: p.isr,
          offlineReplicas: p.offlineReplicas,
          error: errorCodeOf(p.error),
        };
      }
      if (error !== "NONE" && partitions.length === 0) this.topics.delete(topic.name);
      else this.topics.set(topic.name, { name: topic.name, topicId: topic.topicId, isInternal: topic.isInternal, error, partitions });
      if (error === "NONE" && partitions.every((p) => p !== undefined && p.leaderId >= 0)) this.staleTopics.delete(topic.name);
    }
    this.lastUpdateMs = nowMs;
    this.availableCache.clear();
  }

  /** A partition's leader moved (NOT_LEADER_OR_FOLLOWER with a hint): believe the hint if it is newer. */
  applyLeaderHint(topic: string, partition: number, hint: v1.LeaderHint__Output): void {
    const info = this.topics.get(topic)?.partitions[partition];
    if (info === undefined) return;
    if (hint.nodeId < 0 || hint.leaderEpoch < info.leaderEpoch) {
      this.staleTopics.add(topic);
      return;
    }
    info.leaderId = hint.nodeId;
    info.leaderEpoch = hint.leaderEpoch;
    this.availableCache.delete(topic);
    if (hint.endpoint !== null && hint.endpoint.host !== "" && !this.brokers.has(hint.nodeId)) {
      const { host, port } = hint.endpoint;
      this.brokers.set(hint.nodeId, { nodeId: hint.nodeId, host, port, address: addressOf(host, port) });
    }
  }

  /** What we know of `topic` is wrong (a leader error, an unknown partition): refresh it next. */
  markStale(topic: string): void {
    this.staleTopics.add(topic);
  }

  isStale(nowMs: number): boolean {
    return this.staleTopics.size > 0 || nowMs - this.lastUpdateMs >= this.maxAgeMs;
  }

  hasStaleTopics(): boolean {
    return this.staleTopics.size > 0;
  }

  /** The topics marked stale: a refresh must ask for them even if nothing tracks them. */
  staleTopicNames(): string[] {
    return [...this.staleTopics];
  }

  topic(name: string): TopicInfo | undefined {
    return this.topics.get(name);
  }

  topicNames(): string[] {
    return [...this.topics.keys()];
  }

  partitionCount(topic: string): number | undefined {
    const info = this.topics.get(topic);
    return info === undefined || info.partitions.length === 0 ? undefined : info.partitions.length;
  }

  partition(topic: string, partition: number): PartitionInfo | undefined {
    return this.topics.get(topic)?.partitions[partition];
  }

  /** The leader's node, when the partition has one and we know its address. */
  leaderFor(topic: string, partition: number): BrokerNode | undefined {
    const info = this.partition(topic, partition);
    if (info === undefined || info.leaderId < 0) return undefined;
    return this.brokers.get(info.leaderId);
  }

  /** Partitions of `topic` with a known leader, for partitioners that prefer available ones. */
  availablePartitions(topic: string): number[] {
    const cached = this.availableCache.get(topic);
    if (cached !== undefined) return cached;
    const info = this.topics.get(topic);
    if (info === undefined) return [];
    const available: number[] = [];
    for (const p of info.partitions) if (p !== undefined && p.leaderId >= 0 && this.brokers.has(p.leaderId)) available.push(p.partition);
    this.availableCache.set(topic, available);
    return available;
  }

  broker(nodeId: number): BrokerNode | undefined {
    return this.brokers.get(nodeId);
  }

  brokerList(): BrokerNode[] {
    return [...this.brokers.values()];
  }
}
