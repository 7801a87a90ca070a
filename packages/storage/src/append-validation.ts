// Checking an append before any byte of it is written: the leader's rules (Kafka's LogValidator
// for magic 2, in place) and the follower's. Both walk the whole buffer first, so one bad batch
// anywhere refuses the whole append and the log and the caller's buffer stay as they were.
//
// The leader also walks every batch's records (validateBatchRecords: varints and lengths, no
// record objects; a compressed batch is decompressed once to be walked, as Kafka's leader does),
// because a batch with a right CRC around records no consumer can decode would otherwise poison
// the partition for every reader. Followers do not repeat that walk: the leader did it, and
// replication stays a CRC check and a copy.
import {
  Attributes,
  BatchField,
  CompressionCodes,
  NO_PRODUCER_ID,
  type ValidateRecordsOptions,
  checkBatch,
  isRecordsError,
  setBaseOffset,
  setMaxTimestamp,
  setPartitionLeaderEpoch,
  validateBatchRecords,
} from "@tributary/records";
import { assert } from "./assert.js";
import { int64At, summarizeBatch } from "./batch-scanner.js";
import type { LogConfig } from "./config.js";
import { StorageError, batchProblemError, recordsProblemError } from "./errors.js";
import type { ProducerAppend, ProducerBatch, ProducerBatchInput } from "./producer-state.js";
import type { BatchPlacement } from "./segment.js";

const KNOWN_CODEC_MAX = Math.max(...Object.values(CompressionCodes));

/**
 * A produced batch numbers its records 0, 1, 2, ... The decompression limit is left at the
 * consumer's default (DecodeBatchOptions.maxDecompressedBytes): what the leader accepts, a
 * consumer with default settings can decode.
 */
const PRODUCED_RECORDS: Readonly<ValidateRecordsOptions> = Object.freeze({ requireContiguousOffsetDeltas: true });
/** The same for a compacted topic, where every record must also have a key. */
const PRODUCED_KEYED_RECORDS: Readonly<ValidateRecordsOptions> = Object.freeze({ requireContiguousOffsetDeltas: true, requireKeys: true });

export interface AppendPlan {
  kind: "append";
  placements: BatchPlacement[];
  /** The first offset the append answers with: its first batch's, or a repeated prefix's (see duplicateOutcome). */
  firstOffset: number;
  lastOffset: number;
  maxTimestampMs: number;
  recordCount: number;
  /** Idempotent batches, for the producer state. */
  producerBatches: ProducerBatchInput[];
  /** Follower only: each batch's partition leader epoch with its base offset, for the epoch cache. */
  epochStarts: { epoch: number; startOffset: number }[];
  /** Bytes of the buffer before this are repeats and are not written; placements count from here. */
  writeFromByte: number;
}

export interface DuplicatePlan {
  kind: "duplicate";
  firstOffset: number;
  lastOffset: number;
}

function invalid(batchIndex: number, reason: string, message: string): StorageError {
  return new StorageError("INVALID_RECORD", `batch ${batchIndex}: ${message}`, { reason, batchIndex });
}

/**
 * The leader's checks: each batch well-formed (length, magic, CRC) and within maxBatchBytes,
 * a known codec, records that decode (walked, not decoded), at least one record with contiguous
 * offset deltas, no control or transactional batch, consistent producer fields, and an
 * in-sequence, unfenced idempotent producer. Offsets are planned from `logEndOffset`; nothing is
 * written or stamped here.
 */
export function planLeaderAppend(bytes: Buffer, logEndOffset: number, config: LogConfig, producers: ProducerAppend): AppendPlan | DuplicatePlan {
  if (bytes.length === 0) throw new StorageError("INVALID_RECORD", "the append holds no batches", { reason: "empty" });
  if (bytes.length > config.segmentBytes) {
    throw new StorageError("RECORD_LIST_TOO_LARGE", `the append is ${bytes.length} bytes, larger than a segment (${config.segmentBytes} bytes)`);
  }
  const plan: AppendPlan = emptyPlan(logEndOffset);
  const duplicates: ProducerBatch[] = [];
  let nextOffset = logEndOffset;
  for (let position = 0, batchIndex = 0; position < bytes.length; batchIndex++) {
    const checked = checkBatch(bytes, position, config.maxBatchBytes);
    if (!checked.ok) throw batchProblemError(checked.problem, batchIndex);
    const attributes = bytes.readInt16BE(position + BatchField.attributes);
    const recordCount = bytes.readInt32BE(position + BatchField.recordCount);
    const lastOffsetDelta = bytes.readInt32BE(position + BatchField.lastOffsetDelta);
    const maxTimestampMs = int64At(bytes, position + BatchField.maxTimestamp);
    const producerId = int64At(bytes, position + BatchField.producerId);
    checkLeaderBatchFields(batchIndex, attributes, recordCount, lastOffsetDelta, maxTimestampMs, producerId);
    checkRecords(bytes, position, batchIndex, config);
    if (producerId !== NO_PRODUCER_ID) {
      const producerEpoch = bytes.readInt16BE(position + BatchField.producerEpoch);
      const baseSequence = bytes.readInt32BE(position + BatchField.baseSequence);
      if (producerEpoch < 0 || baseSequence < 0) {
        throw invalid(batchIndex, "bad-producer-fields", `producer ${producerId} has epoch ${producerEpoch} and sequence ${baseSequence}; both must be >= 0`);
      }
      const duplicate = producers.check(producerId, producerEpoch, baseSequence, lastOffsetDelta, batchIndex);
      if (duplicate !== null) {
        if (plan.placements.length > 0) throw mixedDuplicates();
        duplicates.push(duplicate);
        position += checked.sizeBytes;
        continue;
      }
      const batch = { producerId, producerEpoch, baseSequence, lastOffsetDelta, firstOffset: nextOffset, lastOffset: nextOffset + lastOffsetDelta, maxTimestampMs };
      producers.stage(batch);
      plan.producerBatches.push(batch);
    }
    addPlacement(plan, position, checked.sizeBytes, nextOffset, nextOffset + lastOffsetDelta, maxTimestampMs, recordCount);
    nextOffset += lastOffsetDelta + 1;
    position += checked.sizeBytes;
  }
  if (duplicates.length > 0) return duplicateOutcome(duplicates, plan, logEndOffset);
  return plan;
}

function checkLeaderBatchFields(batchIndex: number, attributes: number, recordCount: number, lastOffsetDelta: number, maxTimestampMs: number, producerId: number): void {
  if ((attributes & Attributes.compressionMask) > KNOWN_CODEC_MAX) {
    throw new StorageError("UNSUPPORTED_COMPRESSION_TYPE", `batch ${batchIndex}: compression codec ${attributes & Attributes.compressionMask} is unknown`, { batchIndex });
  }
  if ((attributes & Attributes.control) !== 0) throw invalid(batchIndex, "control-batch", "control batches may not be produced by clients");
  if ((attributes & Attributes.transactional) !== 0) throw invalid(batchIndex, "transactional", "transactional batches are not supported");
  if (recordCount < 1) throw invalid(batchIndex, "no-records", "a produced batch must hold at least one record");
  if (lastOffsetDelta !== recordCount - 1) {
    throw invalid(batchIndex, "offset-deltas", `${recordCount} records but last offset delta ${lastOffsetDelta}; a produced batch has contiguous offsets`);
  }
  if (Number.isNaN(maxTimestampMs) || maxTimestampMs < -1) {
    throw new StorageError("INVALID_TIMESTAMP", `batch ${batchIndex}: max timestamp is not a valid time`, { batchIndex });
  }
  if (Number.isNaN(producerId) || producerId < NO_PRODUCER_ID) throw invalid(batchIndex, "bad-producer-fields", "producer id is out of range");
}

/** Walks the batch's records; a batch no consumer could decode is refused here, before any write. */
function checkRecords(bytes: Buffer, position: number, batchIndex: number, config: LogConfig): void {
  try {
    validateBatchRecords(bytes, position, config.cleanupPolicy === "delete" ? PRODUCED_RECORDS : PRODUCED_KEYED_RECORDS);
  } catch (error) {
    if (isRecordsError(error)) throw recordsProblemError(error, batchIndex);
    throw error;
  }
}

/**
 * A retried append is answered with the offsets it got the first time, as Kafka does. Repeats
 * must be one contiguous run. When new batches follow them, the repeats must be the end of the
 * log (a retry of an append a crash cut short after its first batches): the new ones then go
 * right after, and the answer covers the whole buffer. Any other mix has no single answer.
 */
function duplicateOutcome(duplicates: ProducerBatch[], plan: AppendPlan, logEndOffset: number): AppendPlan | DuplicatePlan {
  for (let i = 1; i < duplicates.length; i++) {
    if (duplicates[i]!.firstOffset !== duplicates[i - 1]!.lastOffset + 1) throw mixedDuplicates();
  }
  const firstOffset = duplicates[0]!.firstOffset;
  const lastOffset = duplicates[duplicates.length - 1]!.lastOffset;
  if (plan.placements.length === 0) return { kind: "duplicate", firstOffset, lastOffset };
  if (lastOffset + 1 !== logEndOffset) throw mixedDuplicates();
  plan.firstOffset = firstOffset;
  plan.writeFromByte = plan.placements[0]!.offsetInBuffer;
  for (const placement of plan.placements) placement.offsetInBuffer -= plan.writeFromByte;
  return plan;
}

function mixedDuplicates(): StorageError {
  return new StorageError("INVALID_RECORD",
    "the append mixes batches already written with new ones in a way that has no single answer; send a retried batch alone or with exactly the batches it was first sent with",
    { reason: "mixed-duplicates" });
}

/**
 * Writes the planned base offsets and the leader epoch (and log-append time) into the batches
 * of `bytes` (the part of the appended buffer that is written: from plan.writeFromByte on).
 */
export function stampLeaderAppend(bytes: Buffer, plan: AppendPlan, leaderEpoch: number, logAppendTimeMs: number | null): void {
  for (const placement of plan.placements) {
    setBaseOffset(bytes, placement.offsetInBuffer, placement.baseOffset);
    setPartitionLeaderEpoch(bytes, placement.offsetInBuffer, leaderEpoch);
    if (logAppendTimeMs !== null) {
      setMaxTimestamp(bytes, placement.offsetInBuffer, "log-append", logAppendTimeMs);
      placement.maxTimestampMs = logAppendTimeMs;
    }
  }
  if (logAppendTimeMs !== null) plan.maxTimestampMs = logAppendTimeMs;
}

/**
 * The follower's checks: each batch well-formed (length, magic, CRC) and offsets that go forward
 * from `logEndOffset`. Gaps are allowed: a compacted leader log has them. Returns null for an
 * empty buffer (a fetch that brought nothing).
 */
export function planFollowerAppend(bytes: Buffer, logEndOffset: number): AppendPlan | null {
  if (bytes.length === 0) return null;
  const plan = emptyPlan(logEndOffset);
  let expectedOffset = logEndOffset;
  for (let position = 0, batchIndex = 0; position < bytes.length; batchIndex++) {
    const checked = checkBatch(bytes, position);
    if (!checked.ok) throw batchProblemError(checked.problem, batchIndex);
    const batch = summarizeBatch(bytes, position, position);
    if (batch === null) throw new StorageError("CORRUPT_MESSAGE", `batch ${batchIndex}: an int64 header field is out of range`, { batchIndex, reason: "bad-header" });
    if (batch.baseOffset < expectedOffset) {
      throw new StorageError("OFFSET_OUT_OF_ORDER", `batch ${batchIndex}: base offset ${batch.baseOffset} is below the expected ${expectedOffset}`, { batchIndex });
    }
    if (batch.producerId !== NO_PRODUCER_ID) {
      plan.producerBatches.push({
        producerId: batch.producerId,
        producerEpoch: batch.producerEpoch,
        baseSequence: batch.baseSequence,
        lastOffsetDelta: batch.lastOffset - batch.baseOffset,
        firstOffset: batch.baseOffset,
        lastOffset: batch.lastOffset,
        maxTimestampMs: batch.maxTimestampMs,
      });
    }
    if (batch.partitionLeaderEpoch >= 0) plan.epochStarts.push({ epoch: batch.partitionLeaderEpoch, startOffset: batch.baseOffset });
    if (plan.placements.length === 0) plan.firstOffset = batch.baseOffset;
    addPlacement(plan, position, checked.sizeBytes, batch.baseOffset, batch.lastOffset, batch.maxTimestampMs, batch.recordCount);
    expectedOffset = batch.lastOffset + 1;
    position += checked.sizeBytes;
  }
  return plan;
}

function emptyPlan(firstOffset: number): AppendPlan {
  return { kind: "append", placements: [], firstOffset, lastOffset: firstOffset - 1, maxTimestampMs: -1, recordCount: 0, producerBatches: [], epochStarts: [], writeFromByte: 0 };
}

function addPlacement(plan: AppendPlan, offsetInBuffer: number, sizeBytes: number, baseOffset: number, lastOffset: number, maxTimestampMs: number, recordCount: number): void {
  assert(Number.isSafeInteger(lastOffset), () => `offset ${lastOffset} is past the safe-integer range`);
  plan.placements.push({ offsetInBuffer, sizeBytes, baseOffset, lastOffset, maxTimestampMs });
  plan.lastOffset = lastOffset;
  plan.recordCount += recordCount;
  if (maxTimestampMs > plan.maxTimestampMs) plan.maxTimestampMs = maxTimestampMs;
}
