// The fixed 61-byte header of a Kafka RecordBatch (magic 2), read and patched in place.
//
// This is the only part of a batch the broker and the log engine ever look at: they validate
// length, magic and CRC, and stamp the base offset and partition leader epoch, without decoding
// a single record. Both stamped fields sit before the CRC'd range, so the CRC stays valid.
//
// Offsets and timestamps are JS numbers here: offsets are int64 on the wire, but a partition
// would need 2^53 records (285 years at a million records/s) to leave the safe-integer range,
// and the assertions below refuse anything beyond it instead of silently rounding.
import { crc32c } from "@node-rs/crc32";

export const BATCH_MAGIC_V2 = 2;

/** Byte positions of the header fields (Kafka's DefaultRecordBatch layout). */
export const BatchField = {
  baseOffset: 0, // int64
  batchLength: 8, // int32: bytes after this field
  partitionLeaderEpoch: 12, // int32
  magic: 16, // int8
  crc: 17, // uint32, CRC-32C of bytes [attributes, end)
  attributes: 21, // int16
  lastOffsetDelta: 23, // int32
  baseTimestamp: 27, // int64
  maxTimestamp: 35, // int64
  producerId: 43, // int64
  producerEpoch: 51, // int16
  baseSequence: 53, // int32
  recordCount: 57, // int32
} as const;

/** Size of the batch header; the records follow it. */
export const BATCH_HEADER_BYTES = 61;
/** Bytes before `batchLength` counts from: baseOffset (8) + batchLength (4). */
export const BATCH_LOG_OVERHEAD_BYTES = 12;
/** Where the CRC'd range begins. */
export const CRC_START = BatchField.attributes;

/** Attribute bits (int16). */
export const Attributes = {
  compressionMask: 0x07,
  timestampTypeLogAppend: 0x08,
  transactional: 0x10,
  control: 0x20,
  deleteHorizonSet: 0x40,
} as const;

export const NO_PRODUCER_ID = -1;
export const NO_PRODUCER_EPOCH = -1;
export const NO_SEQUENCE = -1;
export const NO_PARTITION_LEADER_EPOCH = -1;

export interface BatchHeader {
  baseOffset: number;
  /** Total size of the batch in bytes, including the 12-byte log overhead. */
  sizeBytes: number;
  partitionLeaderEpoch: number;
  magic: number;
  crc: number;
  attributes: number;
  lastOffsetDelta: number;
  baseTimestamp: number;
  maxTimestamp: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  recordCount: number;
}

function readSafeInt64(buf: Buffer, pos: number): number {
  const value = buf.readBigInt64BE(pos);
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new RangeError(`int64 at byte ${pos} is outside the safe integer range: ${value}`);
  }
  return Number(value);
}

function writeSafeInt64(buf: Buffer, pos: number, value: number): void {
  if (!Number.isSafeInteger(value)) throw new RangeError(`not a safe integer: ${value}`);
  buf.writeBigInt64BE(BigInt(value), pos);
}

/** Reads the header of the batch starting at `pos`. The caller ensures 61 bytes are there. */
export function readBatchHeader(buf: Buffer, pos = 0): BatchHeader {
  return {
    baseOffset: readSafeInt64(buf, pos + BatchField.baseOffset),
    sizeBytes: buf.readInt32BE(pos + BatchField.batchLength) + BATCH_LOG_OVERHEAD_BYTES,
    partitionLeaderEpoch: buf.readInt32BE(pos + BatchField.partitionLeaderEpoch),
    magic: buf.readInt8(pos + BatchField.magic),
    crc: buf.readUInt32BE(pos + BatchField.crc),
    attributes: buf.readInt16BE(pos + BatchField.attributes),
    lastOffsetDelta: buf.readInt32BE(pos + BatchField.lastOffsetDelta),
    baseTimestamp: readSafeInt64(buf, pos + BatchField.baseTimestamp),
    maxTimestamp: readSafeInt64(buf, pos + BatchField.maxTimestamp),
    producerId: readSafeInt64(buf, pos + BatchField.producerId),
    producerEpoch: buf.readInt16BE(pos + BatchField.producerEpoch),
    baseSequence: buf.readInt32BE(pos + BatchField.baseSequence),
    recordCount: buf.readInt32BE(pos + BatchField.recordCount),
  };
}

/** Size in bytes of the batch at `pos`, from its length field alone (no checks). */
export function batchSizeAt(buf: Buffer, pos = 0): number {
  return buf.readInt32BE(pos + BatchField.batchLength) + BATCH_LOG_OVERHEAD_BYTES;
}

export function baseOffsetAt(buf: Buffer, pos = 0): number {
  return readSafeInt64(buf, pos + BatchField.baseOffset);
}

export function lastOffsetDeltaAt(buf: Buffer, pos = 0): number {
  return buf.readInt32BE(pos + BatchField.lastOffsetDelta);
}

export function maxTimestampAt(buf: Buffer, pos = 0): number {
  return readSafeInt64(buf, pos + BatchField.maxTimestamp);
}

export function partitionLeaderEpochAt(buf: Buffer, pos = 0): number {
  return buf.readInt32BE(pos + BatchField.partitionLeaderEpoch);
}

/** Stamps the base offset; outside the CRC'd range, so the CRC stays valid. */
export function setBaseOffset(buf: Buffer, pos: number, baseOffset: number): void {
  writeSafeInt64(buf, pos + BatchField.baseOffset, baseOffset);
}

/** Stamps the partition leader epoch; outside the CRC'd range, so the CRC stays valid. */
export function setPartitionLeaderEpoch(buf: Buffer, pos: number, leaderEpoch: number): void {
  buf.writeInt32BE(leaderEpoch, pos + BatchField.partitionLeaderEpoch);
}

/** CRC-32C (Castagnoli) of `buf[start, end)`, hardware accelerated. */
export function crc32cOf(buf: Buffer, start = 0, end = buf.length): number {
  return crc32c(start === 0 && end === buf.length ? buf : buf.subarray(start, end)) >>> 0;
}

/** Computes and writes the CRC of the batch at `pos` (its length field must be set). */
export function writeBatchCrc(buf: Buffer, pos = 0): void {
  const end = pos + batchSizeAt(buf, pos);
  buf.writeUInt32BE(crc32cOf(buf, pos + CRC_START, end), pos + BatchField.crc);
}

/** Why a batch was refused; the broker maps these to protocol error codes. */
export type BatchProblem =
  | { kind: "truncated"; message: string } // fewer bytes than the header or length says
  | { kind: "bad-length"; message: string } // length field negative or below the header size
  | { kind: "too-large"; message: string }
  | { kind: "unsupported-magic"; message: string }
  | { kind: "crc-mismatch"; message: string }
  | { kind: "bad-count"; message: string };

/**
 * Checks the batch at `pos` without decoding its records: length, magic, record count vs
 * offset delta, and CRC. Returns the batch size, or the problem found. Never throws on bad bytes.
 */
export function checkBatch(
  buf: Buffer,
  pos = 0,
  maxBatchBytes = Number.MAX_SAFE_INTEGER,
): { ok: true; sizeBytes: number } | { ok: false; problem: BatchProblem } {
  const available = buf.length - pos;
  if (available < BATCH_HEADER_BYTES) {
    return fail("truncated", `batch header needs ${BATCH_HEADER_BYTES} bytes, only ${available} present`);
  }
  const sizeBytes = batchSizeAt(buf, pos);
  if (sizeBytes < BATCH_HEADER_BYTES) {
    return fail("bad-length", `batch length field says ${sizeBytes} bytes, below the ${BATCH_HEADER_BYTES}-byte header`);
  }
  if (sizeBytes > maxBatchBytes) {
    return fail("too-large", `batch of ${sizeBytes} bytes exceeds the limit of ${maxBatchBytes} bytes`);
  }
  if (sizeBytes > available) {
    return fail("truncated", `batch length field says ${sizeBytes} bytes, only ${available} present`);
  }
  const magic = buf.readInt8(pos + BatchField.magic);
  if (magic !== BATCH_MAGIC_V2) {
    return fail("unsupported-magic", `batch magic ${magic} is not supported (only magic ${BATCH_MAGIC_V2})`);
  }
  const recordCount = buf.readInt32BE(pos + BatchField.recordCount);
  const lastOffsetDelta = lastOffsetDeltaAt(buf, pos);
  if (recordCount < 0 || lastOffsetDelta < 0 || (recordCount > 0 && lastOffsetDelta < recordCount - 1)) {
    return fail("bad-count", `batch has ${recordCount} records but last offset delta ${lastOffsetDelta}`);
  }
  const expected = buf.readUInt32BE(pos + BatchField.crc);
  const actual = crc32cOf(buf, pos + CRC_START, pos + sizeBytes);
  if (expected !== actual) {
    return fail("crc-mismatch", `batch CRC is ${expected.toString(16)}, computed ${actual.toString(16)}`);
  }
  return { ok: true, sizeBytes };
}

function fail(kind: BatchProblem["kind"], message: string): { ok: false; problem: BatchProblem } {
  return { ok: false, problem: { kind, message } };
}

/**
 * Sets the batch's timestamp type and max timestamp and rewrites its CRC (both fields are
 * inside the CRC'd range), as Kafka's DefaultRecordBatch.setMaxTimestamp does. A broker with
 * message.timestamp.type=LogAppendTime stamps each appended batch this way: consumers then see
 * this time on every record of the batch. A no-op when nothing changes, so the CRC pass is skipped.
 */
export function setMaxTimestamp(buf: Buffer, pos: number, timestampType: "create" | "log-append", maxTimestampMs: number): void {
  const attributes = buf.readInt16BE(pos + BatchField.attributes);
  const logAppend = timestampType === "log-append";
  const newAttributes = logAppend
    ? attributes | Attributes.timestampTypeLogAppend
    : attributes & ~Attributes.timestampTypeLogAppend;
  if (newAttributes === attributes && maxTimestampAt(buf, pos) === maxTimestampMs) return;
  buf.writeInt16BE(newAttributes, pos + BatchField.attributes);
  writeSafeInt64(buf, pos + BatchField.maxTimestamp, maxTimestampMs);
  writeBatchCrc(buf, pos);
}
