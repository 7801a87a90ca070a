// Checking a batch's records without decoding them, for the partition leader: a batch whose CRC
// is right can still hold records no consumer can decode (a producer bug, or a client that seals
// garbage), and once appended it poisons the partition for every reader. Kafka's LogValidator
// walks the records of every produced batch for the same reason.
//
// The walk reads each record's varints and skips its bytes: no record objects, no copies, no
// strings. It refuses exactly what decodeBatch would refuse (plus, if asked, offset deltas that
// are not 0, 1, 2, ...), so a batch that passes checkBatch and this walk decodes (with the same
// maxDecompressedBytes). A compressed batch has to be
// decompressed once to be walked; the leader pays that, as Kafka's does.
import { Attributes, BATCH_HEADER_BYTES, BatchField, batchSizeAt } from "./batch-header.js";
import { DEFAULT_MAX_DECOMPRESSED_BYTES, compressionFromAttributes, decompress } from "./compression.js";
import { RecordsError } from "./errors.js";
import { readInt64BE } from "./int64.js";
import { MIN_RECORD_BYTES } from "./record-codec.js";

/** Each header takes at least 2 bytes (two 1-byte lengths), as record-codec's decoder assumes. */
const MIN_HEADER_BYTES = 2;

export interface ValidateRecordsOptions {
  /** Refuse compressed batches whose records would take more than this once decompressed. */
  maxDecompressedBytes?: number;
  /**
   * Require offset deltas 0, 1, 2, ... (a produced batch; compaction leaves gaps, so a log
   * reader must not ask for this). A batch that breaks it is refused with kind "bad-count".
   */
  requireContiguousOffsetDeltas?: boolean;
  /**
   * Require every record to have a key (kind "missing-key"): a compacted topic keeps the newest
   * record per key, so a keyless record there has no meaning (Kafka's leader refuses it too).
   */
  requireKeys?: boolean;
}

/**
 * Walks the records of the batch at `pos`, which must already have passed checkBatch (length,
 * magic, CRC). Decompresses a compressed batch first. Throws a RecordsError on the first record
 * that would not decode; its `kind` tells the caller which protocol error to answer with:
 *   "too-large"               decompressed records over maxDecompressedBytes
 *   "unsupported-compression" codec bits 5-7, or a codec that cannot load here
 *   "bad-count"               offset deltas that are not 0, 1, 2, ... (only when required)
 *   anything else             bytes that cannot be records: the batch is corrupt
 * Allocates nothing for an uncompressed batch; a compressed one costs its decompressed copy.
 */
export function validateBatchRecords(buf: Buffer, pos = 0, options: ValidateRecordsOptions = {}): void {
  const sizeBytes = batchSizeAt(buf, pos);
  if (sizeBytes < BATCH_HEADER_BYTES || sizeBytes > buf.length - pos) {
    throw new RecordsError("truncated", `batch at byte ${pos} says ${sizeBytes} bytes, ${buf.length - pos} present; check it with checkBatch first`);
  }
  // decodeBatch reads these as safe integers: one out of range would fail every consumer too.
  const baseOffset = readInt64BE(buf, pos + BatchField.baseOffset);
  const baseTimestampMs = readInt64BE(buf, pos + BatchField.baseTimestamp);
  readInt64BE(buf, pos + BatchField.maxTimestamp);
  readInt64BE(buf, pos + BatchField.producerId);
  const attributes = buf.readInt16BE(pos + BatchField.attributes);
  const recordCount = buf.readInt32BE(pos + BatchField.recordCount);
  if (recordCount > 0 && !Number.isSafeInteger(baseOffset + recordCount - 1)) {
    throw new RecordsError("unsafe-integer", `batch at byte ${pos}: its last offset is outside the safe integer range`);
  }
  // A log-append-time batch gives every record the batch's max timestamp: deltas are not added.
  const logAppendTime = (attributes & Attributes.timestampTypeLogAppend) !== 0;
  const timestampBaseMs = logAppendTime ? null : baseTimestampMs;
  const contiguous = options.requireContiguousOffsetDeltas === true;
  const compression = compressionFromAttributes(attributes);
  if (compression === "none") {
    walkRecords(buf, pos + BATCH_HEADER_BYTES, pos + sizeBytes, recordCount, timestampBaseMs, contiguous, options.requireKeys === true);
    return;
  }
  const compressed = buf.subarray(pos + BATCH_HEADER_BYTES, pos + sizeBytes);
  const plain = decompress(compression, compressed, options.maxDecompressedBytes ?? DEFAULT_MAX_DECOMPRESSED_BYTES);
  walkRecords(plain, 0, plain.length, recordCount, timestampBaseMs, contiguous, options.requireKeys === true);
}

/**
 * Walks `recordCount` records in `buf[start, end)` (the records section, or a decompressed copy of
 * it), checking what record-codec's RecordCursor checks: each record's fields fit its length
 * exactly, every length is in range, and the records fill the section exactly. `baseTimestampMs`
 * null skips the timestamp sum check (log-append time).
 *
 * This runs on every produced record (about 150 per 16 KiB batch), so it is written for the
 * optimiser: positions in locals, varints read by small inlinable functions, and every error
 * message built out of line, so a record costs tens of nanoseconds.
 */
function walkRecords(
  buf: Buffer,
  start: number,
  end: number,
  recordCount: number,
  baseTimestampMs: number | null,
  requireContiguousOffsetDeltas: boolean,
  requireKeys: boolean,
): void {
  if (recordCount < 0 || recordCount > (end - start) / MIN_RECORD_BYTES) throw countError(recordCount, end - start);
  // base + delta must stay a safe integer: bounds on the delta, exact as both ends are safe.
  const minTimestampDelta = baseTimestampMs === null ? -Infinity : Number.MIN_SAFE_INTEGER - baseTimestampMs;
  const maxTimestampDelta = baseTimestampMs === null ? Infinity : Number.MAX_SAFE_INTEGER - baseTimestampMs;
  let pos = start;
  for (let index = 0; index < recordCount; index++) {
    const bodyStart = skipVarint(buf, pos, end);
    const length = varintValue;
    if (length < MIN_RECORD_BYTES - 1 || length > end - bodyStart) throw recordLengthError(index, pos - start, length, end - bodyStart);
    const recordEnd = bodyStart + length;
    // The attributes byte is unused by every record version so far: skipped.
    pos = skipVarlong(buf, bodyStart + 1, recordEnd);
    if (varintValue < minTimestampDelta || varintValue > maxTimestampDelta) throw unsafeTimestampError(index);
    pos = skipVarint(buf, pos, recordEnd);
    if (requireContiguousOffsetDeltas && varintValue !== index) throw offsetDeltaError(index, varintValue);
    pos = skipBytesField(buf, pos, recordEnd, "key", index);
    // skipBytesField leaves the key's length in varintValue: -1 is a null key.
    if (requireKeys && varintValue === -1) throw missingKeyError(index);
    pos = skipBytesField(buf, pos, recordEnd, "value", index);
    pos = skipVarint(buf, pos, recordEnd);
    if (varintValue !== 0) pos = skipHeaders(buf, pos, recordEnd, varintValue, index);
    if (pos !== recordEnd) throw fieldsError(index, bodyStart - start, length, pos - bodyStart);
  }
  if (pos !== end) throw new RecordsError("bad-record", `${end - pos} bytes remain after the batch's ${recordCount} records`);
}

/** A record's headers after their count; returns where they end. */
function skipHeaders(buf: Buffer, pos: number, end: number, headerCount: number, index: number): number {
  if (headerCount < 0 || headerCount > (end - pos) / MIN_HEADER_BYTES) {
    throw new RecordsError("bad-record", `record ${index}: header count ${headerCount} does not fit its ${end - pos} bytes`);
  }
  for (let header = 0; header < headerCount; header++) {
    pos = skipVarint(buf, pos, end);
    const keyLength = varintValue;
    if (keyLength < 0 || keyLength > end - pos) {
      throw new RecordsError("bad-record", `record ${index}: header ${header} key length ${keyLength} does not fit the record`);
    }
    pos = skipBytesField(buf, pos + keyLength, end, "header value", index);
  }
  return pos;
}

/** Skips a varint-length-prefixed byte field (-1 = null); returns the position after it. */
function skipBytesField(buf: Buffer, pos: number, end: number, what: string, index: number): number {
  const fieldStart = skipVarint(buf, pos, end);
  const length = varintValue;
  if (length >= 0 && length <= end - fieldStart) return fieldStart + length;
  if (length === -1) return fieldStart;
  throw bytesFieldError(index, what, length, end - fieldStart);
}

function missingKeyError(index: number): RecordsError {
  return new RecordsError("missing-key", `record ${index} has no key, and this topic is compacted: every record needs a key`);
}

function countError(recordCount: number, sectionBytes: number): RecordsError {
  return new RecordsError("truncated", `batch claims ${recordCount} records but has only ${sectionBytes} bytes of them`);
}

function recordLengthError(index: number, at: number, length: number, remainingBytes: number): RecordsError {
  return new RecordsError("bad-record", `record ${index} at byte ${at} has length ${length}, ${remainingBytes} bytes remain`);
}

function unsafeTimestampError(index: number): RecordsError {
  return new RecordsError("unsafe-integer", `record ${index}: timestamp is outside the safe integer range`);
}

function offsetDeltaError(index: number, offsetDelta: number): RecordsError {
  return new RecordsError("bad-count", `record ${index} has offset delta ${offsetDelta}; a produced batch numbers its records 0, 1, 2, ...`);
}

function fieldsError(index: number, at: number, length: number, fieldBytes: number): RecordsError {
  return new RecordsError("bad-record", `record ${index} at byte ${at} says ${length} bytes but its fields take ${fieldBytes}`);
}

function bytesFieldError(index: number, what: string, length: number, remainingBytes: number): RecordsError {
  return new RecordsError("bad-record", `record ${index}: ${what} length ${length} does not fit the record's ${remainingBytes} remaining bytes`);
}

/**
 * The value of the last varint or varlong read by skipVarint / skipVarlong, which return the
 * position after it. Module state rather than a returned pair, so a read allocates nothing; the
 * walk is synchronous, so no other walk can interleave.
 */
let varintValue = 0;

/**
 * Reads the zig-zag varint (int32) at `pos` into varintValue and returns the position after it,
 * exactly as BoundedReader.readVarint reads it (Java's quirk of dropping bits above 31 in the
 * 5th byte included). Not BoundedReader itself: an object per read would double the walk's cost.
 * The tests hold the two to agreement.
 */
export function skipVarint(buf: Buffer, pos: number, end: number): number {
  // One and two bytes (values -8192..8191) cover nearly every length and delta in a record.
  if (pos < end) {
    const first = buf[pos]!;
    if (first < 0x80) {
      varintValue = (first >>> 1) ^ -(first & 1);
      return pos + 1;
    }
    const second = pos + 1 < end ? buf[pos + 1]! : 0x80;
    if (second < 0x80) {
      const raw = (first & 0x7f) | (second << 7);
      varintValue = (raw >>> 1) ^ -(raw & 1);
      return pos + 2;
    }
  }
  return skipLongVarint(buf, pos, end);
}

function skipLongVarint(buf: Buffer, pos: number, end: number): number {
  let raw = 0;
  for (let shift = 0, at = pos; shift <= 28; shift += 7) {
    if (at >= end) throw truncated("a varint", pos);
    const byte = buf[at++]!;
    raw |= (byte & 0x7f) << shift;
    if (byte < 0x80) {
      varintValue = (raw >>> 1) ^ -(raw & 1);
      return at;
    }
  }
  throw new RecordsError("bad-varint", `varint at byte ${pos} is longer than 5 bytes`);
}

const TWO_POW_28 = 0x1000_0000;
const TWO_POW_26 = 0x400_0000;

/**
 * Reads the zig-zag varlong at `pos` into varintValue (a safe integer, or a RecordsError) and
 * returns the position after it, exactly as BoundedReader.readVarlong reads it.
 */
export function skipVarlong(buf: Buffer, pos: number, end: number): number {
  // Up to 4 bytes a varlong is a varint (28 bits); a timestamp delta rarely needs more.
  if (pos < end) {
    const byte = buf[pos]!;
    if (byte < 0x80) {
      varintValue = (byte >>> 1) ^ -(byte & 1);
      return pos + 1;
    }
  }
  return skipLongVarlong(buf, pos, end);
}

function skipLongVarlong(buf: Buffer, pos: number, end: number): number {
  let at = pos;
  let low = 0; // the first 28 bits
  for (let shift = 0; shift < 28; shift += 7) {
    if (at >= end) throw truncated("a varlong", pos);
    const byte = buf[at++]!;
    low |= (byte & 0x7f) << shift;
    if (byte < 0x80) {
      varintValue = (low >>> 1) ^ -(low & 1);
      return at;
    }
  }
  let high = 0; // bits 28 and up; must stay below 2^26 (raw below 2^54)
  let scale = 1;
  for (let groups = 4; ; groups++) {
    if (groups >= 10) throw new RecordsError("bad-varint", `varlong at byte ${pos} is longer than 10 bytes`);
    if (at >= end) throw truncated("a varlong", pos);
    const byte = buf[at++]!;
    high += (byte & 0x7f) * scale;
    scale *= 128;
    if (high >= TWO_POW_26) throw unsafeVarlong(pos);
    if (byte < 0x80) break;
  }
  const magnitude = high * (TWO_POW_28 / 2) + (low >>> 1);
  const value = low & 1 ? -magnitude - 1 : magnitude;
  if (!Number.isSafeInteger(value)) throw unsafeVarlong(pos);
  varintValue = value;
  return at;
}

/** The value the last skipVarint or skipVarlong read (for tests). */
export function lastVarintValue(): number {
  return varintValue;
}

function truncated(what: string, pos: number): RecordsError {
  return new RecordsError("truncated", `${what} at byte ${pos} runs past the end of its field`);
}

function unsafeVarlong(pos: number): RecordsError {
  return new RecordsError("unsafe-integer", `varlong at byte ${pos} is outside the safe integer range`);
}
