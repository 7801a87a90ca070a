// The settings of one partition log, with Kafka's defaults. The property names and their
// parsing live in @tributary/protocol's config definitions (one definition per key); the broker
// resolves a topic's config there and hands the values here, field by field as named below.
import { StorageError } from "./errors.js";

export type CleanupPolicy = "delete" | "compact" | "compact,delete";

/** Kafka stores "never" as Long.MAX_VALUE; a JS number holds up to this exactly. */
export const NEVER = Number.MAX_SAFE_INTEGER;

export interface LogConfig {
  /** segment.bytes: roll the active segment before it would pass this size. */
  segmentBytes: number;
  /** segment.ms: roll the active segment once its first batch is this old (checked on append). */
  segmentMs: number;
  /** segment.index.bytes: roll before a segment's offset index would pass this size (8 bytes an entry). */
  segmentIndexBytes: number;
  /** index.interval.bytes: log bytes between two sparse offset index entries. */
  indexIntervalBytes: number;
  /** retention.ms: delete segments whose newest record is older than this; -1 keeps them forever. */
  retentionMs: number;
  /** retention.bytes: delete the oldest segments while the log is larger than this; -1: no limit. */
  retentionBytes: number;
  /** cleanup.policy: "delete" (retention), "compact" (newest record per key), or both. */
  cleanupPolicy: CleanupPolicy;
  /** delete.retention.ms: how long a tombstone stays after compaction first keeps it. */
  deleteRetentionMs: number;
  /** min.compaction.lag.ms: records younger than this are never compacted away. */
  minCompactionLagMs: number;
  /** min.cleanable.dirty.ratio: compact only when the uncompacted part is at least this share of the log (0..1). */
  minCleanableDirtyRatio: number;
  /** flush.messages: fsync after this many records; NEVER leaves durability to replication. */
  flushMessages: number;
  /** flush.ms: fsync when the oldest unflushed append is this old (checked on append and flushIfDue). */
  flushMs: number;
  /** max.message.bytes: the largest batch a leader accepts, in bytes including the 12-byte log overhead. */
  maxBatchBytes: number;
  /** producer.id.expiration.ms: forget an idempotent producer this long after its last batch. */
  producerIdExpirationMs: number;
}

export const DEFAULT_LOG_CONFIG: Readonly<LogConfig> = Object.freeze({
  segmentBytes: 1_073_741_824,
  segmentMs: 7 * 24 * 3_600_000,
  segmentIndexBytes: 10_485_760,
  indexIntervalBytes: 4096,
  retentionMs: 7 * 24 * 3_600_000,
  retentionBytes: -1,
  cleanupPolicy: "delete",
  deleteRetentionMs: 86_400_000,
  minCompactionLagMs: 0,
  minCleanableDirtyRatio: 0.5,
  flushMessages: NEVER,
  flushMs: NEVER,
  maxBatchBytes: 1_048_588,
  producerIdExpirationMs: 86_400_000,
});

const INT32_MAX = 0x7fff_ffff;

/** Valid ranges; segment positions are int32 in the offset index, hence the segmentBytes cap. */
const RANGES: Readonly<Record<Exclude<keyof LogConfig, "cleanupPolicy" | "minCleanableDirtyRatio">, readonly [number, number]>> = {
  segmentBytes: [64, INT32_MAX],
  segmentMs: [1, NEVER],
  segmentIndexBytes: [16, INT32_MAX],
  indexIntervalBytes: [0, INT32_MAX],
  retentionMs: [-1, NEVER],
  retentionBytes: [-1, NEVER],
  deleteRetentionMs: [0, NEVER],
  minCompactionLagMs: [0, NEVER],
  flushMessages: [1, NEVER],
  flushMs: [0, NEVER],
  maxBatchBytes: [0, INT32_MAX],
  producerIdExpirationMs: [1, NEVER],
};

const POLICIES: readonly CleanupPolicy[] = ["delete", "compact", "compact,delete"];

/** Fills defaults and checks every value; throws a StorageError of kind INVALID_CONFIG. */
export function resolveLogConfig(overrides: Partial<LogConfig> = {}): LogConfig {
  const config: LogConfig = { ...DEFAULT_LOG_CONFIG, ...withoutUndefined(overrides) };
  for (const [key, [min, max]] of Object.entries(RANGES) as [keyof typeof RANGES, readonly [number, number]][]) {
    const value = config[key];
    if (!Number.isSafeInteger(value) || value < min || value > max) {
      throw new StorageError("INVALID_CONFIG", `log config ${key} must be an integer in [${min}, ${max}], got ${value}`);
    }
  }
  if (!(config.minCleanableDirtyRatio >= 0 && config.minCleanableDirtyRatio <= 1)) {
    throw new StorageError("INVALID_CONFIG", `log config minCleanableDirtyRatio must be in [0, 1], got ${config.minCleanableDirtyRatio}`);
  }
  if (!POLICIES.includes(config.cleanupPolicy)) {
    throw new StorageError("INVALID_CONFIG", `log config cleanupPolicy must be one of ${POLICIES.join(" | ")}, got ${String(config.cleanupPolicy)}`);
  }
  return config;
}

function withoutUndefined(overrides: Partial<LogConfig>): Partial<LogConfig> {
  return Object.fromEntries(Object.entries(overrides).filter(([, value]) => value !== undefined)) as Partial<LogConfig>;
}

/** Normalizes a policy list as the protocol's config parser returns it (["compact", "delete"]). */
export function cleanupPolicyOf(policies: readonly string[]): CleanupPolicy {
  const compact = policies.includes("compact");
  const remove = policies.includes("delete");
  if (compact && remove) return "compact,delete";
  if (compact) return "compact";
  if (remove) return "delete";
  throw new StorageError("INVALID_CONFIG", `cleanup policy must name delete, compact or both, got [${policies.join(", ")}]`);
}

export function deletesOldSegments(config: LogConfig): boolean {
  return config.cleanupPolicy !== "compact";
}

export function compacts(config: LogConfig): boolean {
  return config.cleanupPolicy !== "delete";
}
