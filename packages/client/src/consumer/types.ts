// The consumer's public shapes: records, partitions, options and the rebalance listener.
import type { Deserializer } from "@tributary/records";

export interface TopicPartition {
  topic: string;
  partition: number;
}

export interface ConsumerRecordHeader {
  key: string;
  value: Buffer | null;
}

export interface ConsumerRecord<K, V> {
  topic: string;
  partition: number;
  offset: bigint;
  key: K;
  value: V;
  /** Create time (or the broker's append time for log-append-time topics), ms since the epoch. */
  timestamp: number;
  headers: ConsumerRecordHeader[];
}

export type OffsetResetPolicy = "earliest" | "latest" | "none";

/** Called on rebalances; a listener that throws or rejects is reported as an "error" event, never thrown into poll(). */
export interface RebalanceListener {
  /** Before partitions are taken away, after their offsets were committed (with auto-commit). */
  onPartitionsRevoked?(partitions: TopicPartition[]): void | Promise<void>;
  /** Partitions given to this member, before records of them are returned. */
  onPartitionsAssigned?(partitions: TopicPartition[]): void | Promise<void>;
  /** Partitions lost without the chance to commit (the member was fenced or timed out). */
  onPartitionsLost?(partitions: TopicPartition[]): void | Promise<void>;
}

export interface ConsumerOptions<K, V> {
  /** Without a group, use assign(); subscribe() needs one. */
  groupId?: string;
  keyDeserializer: Deserializer<K>;
  valueDeserializer: Deserializer<V>;
  /** Where to start when the group has no committed offset, or the offset is out of range. */
  autoOffsetReset?: OffsetResetPolicy;
  enableAutoCommit?: boolean;
  autoCommitIntervalMs?: number;
  /** The coordinator removes a member it has not heard from for this long. */
  sessionTimeoutMs?: number;
  /** A member that does not call poll() for this long leaves the group (and rejoins at its next poll). */
  maxPollIntervalMs?: number;
  /** Default: what the coordinator says. */
  heartbeatIntervalMs?: number;
  fetchMinBytes?: number;
  /** Fetched-but-unconsumed bytes (buffered plus requested) stay under this. */
  fetchMaxBytes?: number;
  /** Per partition per fetch; a partition with this much buffered is not fetched again until consumed. */
  maxPartitionFetchBytes?: number;
  fetchMaxWaitMs?: number;
  maxPollRecords?: number;
  /** The coordinator's assignor: "uniform" (sticky) or "range". */
  groupRemoteAssignor?: "uniform" | "range";
  rebalanceListener?: RebalanceListener;
  /** The deadline of one call. */
  requestTimeoutMs?: number;
}

export interface ResolvedConsumerOptions {
  groupId: string | undefined;
  autoOffsetReset: OffsetResetPolicy;
  enableAutoCommit: boolean;
  autoCommitIntervalMs: number;
  sessionTimeoutMs: number;
  maxPollIntervalMs: number;
  heartbeatIntervalMs: number | undefined;
  fetchMinBytes: number;
  fetchMaxBytes: number;
  maxPartitionFetchBytes: number;
  fetchMaxWaitMs: number;
  maxPollRecords: number;
  groupRemoteAssignor: "uniform" | "range" | "";
  requestTimeoutMs: number;
}

function intIn(name: string, value: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isInteger(value) || value < min || value > max) throw new RangeError(`${name} must be an integer in [${min}, ${max}], got ${value}`);
  return value;
}

export function resolveConsumerOptions(options: ConsumerOptions<unknown, unknown>): ResolvedConsumerOptions {
  const reset = options.autoOffsetReset ?? "latest";
  if (reset !== "earliest" && reset !== "latest" && reset !== "none") throw new RangeError(`autoOffsetReset must be earliest, latest or none, got ${String(reset)}`);
  const assignor = options.groupRemoteAssignor ?? "";
  if (assignor !== "" && assignor !== "uniform" && assignor !== "range") throw new RangeError(`groupRemoteAssignor must be "uniform" or "range"`);
  if (options.groupId !== undefined && options.groupId.length === 0) throw new RangeError("groupId must not be empty");
  return {
    groupId: options.groupId,
    autoOffsetReset: reset,
    enableAutoCommit: options.enableAutoCommit ?? options.groupId !== undefined,
    autoCommitIntervalMs: intIn("autoCommitIntervalMs", options.autoCommitIntervalMs ?? 5_000, 1),
    sessionTimeoutMs: intIn("sessionTimeoutMs", options.sessionTimeoutMs ?? 45_000, 1),
    maxPollIntervalMs: intIn("maxPollIntervalMs", options.maxPollIntervalMs ?? 300_000, 1),
    heartbeatIntervalMs: options.heartbeatIntervalMs === undefined ? undefined : intIn("heartbeatIntervalMs", options.heartbeatIntervalMs, 1),
    fetchMinBytes: intIn("fetchMinBytes", options.fetchMinBytes ?? 1, 0),
    fetchMaxBytes: intIn("fetchMaxBytes", options.fetchMaxBytes ?? 50 * 1024 * 1024, 1024),
    maxPartitionFetchBytes: intIn("maxPartitionFetchBytes", options.maxPartitionFetchBytes ?? 1024 * 1024, 1),
    fetchMaxWaitMs: intIn("fetchMaxWaitMs", options.fetchMaxWaitMs ?? 500, 0),
    maxPollRecords: intIn("maxPollRecords", options.maxPollRecords ?? 500, 1),
    groupRemoteAssignor: assignor,
    requestTimeoutMs: intIn("requestTimeoutMs", options.requestTimeoutMs ?? 30_000, 1),
  };
}

export function tpKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

export function tpOfKey(key: string): TopicPartition {
  const at = key.lastIndexOf("\u0000");
  return { topic: key.slice(0, at), partition: Number(key.slice(at + 1)) };
}
