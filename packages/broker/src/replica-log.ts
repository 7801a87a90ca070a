// What the broker needs from one partition replica's log. The log engine (@tributary/storage's
// PartitionLog) provides it; log-manager.ts adapts it to this shape, so the replication rules
// name exactly the operations they depend on and nothing of the engine's internals.
import type { EpochEndOffset } from "./partition-state.js";

export interface LeaderAppendResult {
  baseOffset: number;
  lastOffset: number;
  /** The time stamped on the batches when the topic uses LogAppendTime, else -1. */
  logAppendTimeMs: number;
  /** For an idempotent retry the log answers with the offsets the batch got the first time. */
  duplicate: boolean;
}

export interface ReadResult {
  /** Whole batches, as stored. May be empty. */
  records: Buffer;
}

export interface TimestampLookup {
  offset: number;
  timestampMs: number;
  leaderEpoch: number;
}

export interface ReplicaLog {
  readonly name: string;
  readonly logStartOffset: number;
  readonly logEndOffset: number;
  /** The HW read from the log's checkpoint when opened (0 when none). */
  readonly checkpointedHighWatermark: number;
  /** The epoch of the last batch in the log, -1 when empty. */
  latestEpoch(): number;
  /** Validates the header of every batch (CRC, size, producer state), stamps offsets and the epoch, appends. */
  appendAsLeader(records: Buffer, leaderEpoch: number, nowMs: number): LeaderAppendResult;
  /** Appends batches as the leader stamped them; they must start at our log end. */
  appendAsFollower(records: Buffer): void;
  /** Whole batches from `fromOffset`, up to maxBytes (at least one batch when any), none at or past `maxOffset`. */
  read(fromOffset: number, maxBytes: number, maxOffset: number): ReadResult;
  truncateTo(offset: number): void;
  /** Empties the log and starts it at `offset` (a follower behind the leader's log start). */
  resetTo(offset: number): void;
  /** Largest epoch <= `epoch` and where it ends; {-1,-1} when we have none that old. */
  endOffsetForEpoch(epoch: number): EpochEndOffset;
  /**
   * Told on every role change: a follower's log (following = true) drops the bytes it has
   * written to disk from the page cache, where the broker is set to (log.follower.page.cache.drop).
   */
  setFollowing(following: boolean): void;
  /** Records the start of a new leader epoch at our log end (on becoming leader). */
  assignEpochStart(epoch: number, startOffset: number): void;
  offsetForTimestamp(timestampMs: number): TimestampLookup | undefined;
  /** The offset and timestamp of the record with the largest timestamp. */
  maxTimestampOffset(): TimestampLookup | undefined;
  checkpointHighWatermark(highWatermark: number): void;
  /** Retention (and compaction when the policy says so), bounded by the HW. */
  runMaintenance(highWatermark: number, nowMs: number): void;
  flush(): Promise<void> | void;
  close(): Promise<void> | void;
  deleteFiles(): Promise<void> | void;
}
