// @tributary/storage: the partition log engine — segments, indexes, recovery, retention and
// compaction — for one partition replica per folder. No network code; the broker drives it.
//
// Open
//   PartitionLog.open({ dir, config?, now, logger? })     dir = `<log.dir>/<topic>-<partition>`;
//       creates it if missing; recovers after an unclean stop; KAFKA_STORAGE_ERROR if unusable.
//   LogConfig / DEFAULT_LOG_CONFIG / resolveLogConfig     Kafka's topic settings and defaults.
//
// Write (synchronous; bytes go to the page cache, fsync per flushMessages / flushMs)
//   appendAsLeader(batches, leaderEpoch, { logAppendTimeMs? })  validate headers (CRC, size,
//       idempotent sequence) and walk the records (decompressing compressed batches), stamp
//       offsets + epoch in place, write as is; duplicate retries answer with the original
//       offsets and `duplicate: true`. Undecodable records: CORRUPT_MESSAGE.
//   appendAsFollower(batches)                              keep the leader's offsets and epochs;
//       headers and CRC only (the leader walked the records).
//   assignEpochStartOffset(epoch, offset)                  a new leader marks its epoch's start.
//   truncateTo(offset) / truncateFullyAndStartAt(offset) / deleteRecordsBefore(offset)
//
// Read (synchronous; one segment per call; the first batch may start before `offset`)
//   read(offset, maxBytes, { maxOffsetExclusive?, minOneBatch? }) -> Buffer of whole batches
//   offsetForTimestamp(ts) -> { offset, timestampMs } | null   (-1 latest, -2 earliest as Kafka)
//   maxTimestampOffset() -> { offset, timestampMs } | null     (ListOffsets MAX_TIMESTAMP)
//   endOffsetForEpoch(epoch) -> { leaderEpoch, endOffset }     (OffsetsForLeaderEpoch; -1/-1 = unknown)
//   logStartOffset, logEndOffset, latestEpoch, sizeBytes, segmentCount, recoveryPoint, producerState(id)
//
// Maintenance (the broker calls these periodically)
//   runRetention({ highWatermark? }), compact({ highWatermark? }) (async, chunked), flushIfDue(),
//   flush(), checkpointHighWatermark(hw), readHighWatermarkCheckpoint() (clamped to the log),
//   updateConfig(partial), close() (writes the clean-shutdown marker; the log is unusable after)
//
// Files in the folder: <20-digit base>.log/.index/.timeindex, <offset>.snapshot (producer
// state), leader-epoch-checkpoint, high-watermark-checkpoint, recovery-point-checkpoint,
// log-start-offset-checkpoint, cleaner-offset-checkpoint, clean-shutdown.
//
// Errors: bad input and disk failures throw StorageError, whose `kind` is the protocol's error
// code name (CORRUPT_MESSAGE, MESSAGE_TOO_LARGE, OFFSET_OUT_OF_RANGE, ...), plus `retriable`.
// A broken invariant (a bug) throws AssertionError.
export {
  PartitionLog,
  LATEST_TIMESTAMP,
  EARLIEST_TIMESTAMP,
  type PartitionLogOptions,
  type LeaderAppendOptions,
  type LeaderAppendResult,
  type FollowerAppendResult,
  type ReadOptions,
  type TimestampOffset,
  type RetentionOptions,
  type RetentionResult,
  type CompactOptions,
} from "./partition-log.js";
export { type LogConfig, type CleanupPolicy, DEFAULT_LOG_CONFIG, NEVER, resolveLogConfig, cleanupPolicyOf } from "./config.js";
export { StorageError, isStorageError, type StorageErrorKind, type StorageErrorDetails } from "./errors.js";
export { AssertionError } from "./assert.js";
export { type StorageLogger, SILENT_LOGGER } from "./logger.js";
export { type EpochEndOffset, type EpochEntry, UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET } from "./leader-epoch-cache.js";
export { type ProducerEntry, type ProducerBatch, RETAINED_BATCHES_PER_PRODUCER } from "./producer-state.js";
export { type CleanerStats } from "./cleaner.js";
export type { RetentionReason } from "./retention.js";
