// Whole RecordBatch v2 encode and decode: the 61-byte header (batch-header.ts) around the
// records (record-codec.ts), compressed as one block when the batch asks for it.
//
// encodeBatch is the producer's hot path: one sizing pass, one allocation, one writing pass and
// one CRC. decodeBatch is the consumer's: it checks length, magic and CRC first (as Kafka's
// consumer does with check.crcs=true), then decodes records as views into the batch's bytes.
import {
  Attributes,
  BATCH_HEADER_BYTES,
  BATCH_LOG_OVERHEAD_BYTES,
  BATCH_MAGIC_V2,
  BatchField,
  type BatchHeader,
  NO_PARTITION_LEADER_EPOCH,
  NO_PRODUCER_EPOCH,
  NO_PRODUCER_ID,
  NO_SEQUENCE,
  checkBatch,
  writeBatchCrc,
} from "./batch-header.js";
import {
  type CompressionType,
  DEFAULT_MAX_DECOMPRESSED_BYTES,
  compress,
  compressionCode,
  compressionFromAttributes,
  decompress,
} from "./compression.js";
import { RecordsError } from "./errors.js";
import { readInt64BE, writeInt64BE } from "./int64.js";
import { type DecodedRecord, type RecordInput, RecordCursor, sizeRecords, writeRecords } from "./record-codec.js";
import { youngArray } from "./young.js";
import { BoundedReader } from "./varint.js";

/** Kafka's RecordBatch.NO_TIMESTAMP: the timestamp of a batch with no records. */
export const NO_TIMESTAMP = -1;

export type TimestampType = "create" | "log-append";

export interface EncodeBatchOptions {
  records: RecordInput[];
  /** Default 0; the leader stamps the real one on append (setBaseOffset). */
  baseOffset?: number;
  /** Default -1; the leader stamps it on append (setPartitionLeaderEpoch). */
  partitionLeaderEpoch?: number;
  compression?: CompressionType;
  /** Codec level for gzip (1-9) and zstd (1-22); defaults are Kafka's (6 and 3). Ignored by others. */
  compressionLevel?: number;
  timestampType?: TimestampType;
  producerId?: number;
  producerEpoch?: number;
  baseSequence?: number;
  isTransactional?: boolean;
  isControl?: boolean;
  /** Defaults to the last record's offsetDelta (0 for no records); compaction keeps the original. */
  lastOffsetDelta?: number;
  /** Defaults to the first record's timestamp (-1 for no records). */
  baseTimestampMs?: number;
  /** Defaults to the largest record timestamp (the base timestamp for no records). */
  maxTimestampMs?: number;
  /**
   * Compaction's delete horizon (KIP-534): sets the attribute bit and is stored as the base
   * timestamp, record timestamps stay what they were. Overrides baseTimestampMs.
   */
  deleteHorizonMs?: number;
}

export interface DecodedBatch {
  header: BatchHeader;
  records: DecodedRecord[];
  compression: CompressionType;
  timestampType: TimestampType;
  isTransactional: boolean;
  isControl: boolean;
  /** The delete horizon compaction set on this batch, or null. */
  deleteHorizonMs: number | null;
}

export interface DecodeBatchOptions {
  /** Refuse batches larger than this (bytes, including the 12-byte log overhead). */
  maxBatchBytes?: number;
  /** Refuse compressed batches whose records would take more than this once decompressed. */
  maxDecompressedBytes?: number;
}

function assertIntRange(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer in [${min}, ${max}], got ${value}`);
  }
}

interface ResolvedHeader {
  baseTimestampMs: number;
  maxTimestampMs: number;
  lastOffsetDelta: number;
  attributes: number;
}

function resolveHeader(opts: EncodeBatchOptions, recordsMaxTimestampMs: number): ResolvedHeader {
  const records = opts.records;
  const last = records[records.length - 1];
  const lastOffsetDelta = opts.lastOffsetDelta ?? (last === undefined ? 0 : (last.offsetDelta ?? records.length - 1));
  assertIntRange("lastOffsetDelta", lastOffsetDelta, 0, 0x7fff_ffff);
  if (last !== undefined && lastOffsetDelta < (last.offsetDelta ?? records.length - 1)) {
    throw new RangeError(`lastOffsetDelta ${lastOffsetDelta} is below the last record's offsetDelta`);
  }
  const baseTimestampMs = baseTimestampOf(opts);
  const maxTimestampMs = opts.maxTimestampMs ?? (records.length === 0 ? baseTimestampMs : recordsMaxTimestampMs);
  if (!Number.isSafeInteger(maxTimestampMs)) throw new RangeError(`maxTimestampMs must be a safe integer, got ${maxTimestampMs}`);
  let attributes = compressionCode(opts.compression ?? "none");
  if (opts.timestampType === "log-append") attributes |= Attributes.timestampTypeLogAppend;
  if (opts.isTransactional === true) attributes |= Attributes.transactional;
  if (opts.isControl === true) attributes |= Attributes.control;
  if (opts.deleteHorizonMs !== undefined) attributes |= Attributes.deleteHorizonSet;
  return { baseTimestampMs, maxTimestampMs, lastOffsetDelta, attributes };
}

function baseTimestampOf(opts: EncodeBatchOptions): number {
  const value = opts.deleteHorizonMs ?? opts.baseTimestampMs ?? opts.records[0]?.timestampMs ?? NO_TIMESTAMP;
  if (!Number.isSafeInteger(value)) throw new RangeError(`base timestamp must be a safe integer, got ${value}`);
  return value;
}

/** Encodes one RecordBatch v2, CRC included, ready to send or append. */
export function encodeBatch(opts: EncodeBatchOptions): Buffer {
  const records = opts.records;
  const baseTimestampMs = baseTimestampOf(opts);
  const sized = sizeRecords(records, baseTimestampMs);
  const header = resolveHeader(opts, sized.maxTimestampMs);
  const compression = opts.compression ?? "none";
  let buf: Buffer;
  if (compression === "none") {
    buf = Buffer.allocUnsafe(BATCH_HEADER_BYTES + sized.bytes);
    const end = writeRecords(buf, BATCH_HEADER_BYTES, records, baseTimestampMs);
    assertWritten(end, buf.length);
  } else {
    const plain = Buffer.allocUnsafe(sized.bytes);
    assertWritten(writeRecords(plain, 0, records, baseTimestampMs), plain.length);
    const compressed = compress(compression, plain, opts.compressionLevel);
    buf = Buffer.allocUnsafe(BATCH_HEADER_BYTES + compressed.length);
    buf.set(compressed, BATCH_HEADER_BYTES);
  }
  writeHeader(buf, opts, header, records.length);
  writeBatchCrc(buf, 0);
  return buf;
}

function assertWritten(end: number, expected: number): void {
  if (end !== expected) throw new Error(`record encoder wrote ${end} bytes where it sized ${expected}: a bug`);
}

function writeHeader(buf: Buffer, opts: EncodeBatchOptions, header: ResolvedHeader, recordCount: number): void {
  writeBatchHeader(buf, {
    baseOffset: opts.baseOffset ?? 0,
    partitionLeaderEpoch: opts.partitionLeaderEpoch ?? NO_PARTITION_LEADER_EPOCH,
    attributes: header.attributes,
    lastOffsetDelta: header.lastOffsetDelta,
    baseTimestampMs: header.baseTimestampMs,
    maxTimestampMs: header.maxTimestampMs,
    producerId: opts.producerId ?? NO_PRODUCER_ID,
    producerEpoch: opts.producerEpoch ?? NO_PRODUCER_EPOCH,
    baseSequence: opts.baseSequence ?? NO_SEQUENCE,
    recordCount,
  });
}

/** Every header field but the length (the buffer's) and the CRC (written after). */
export interface BatchHeaderFields {
  baseOffset: number;
  partitionLeaderEpoch: number;
  attributes: number;
  lastOffsetDelta: number;
  baseTimestampMs: number;
  maxTimestampMs: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  recordCount: number;
}

/** Writes the 61-byte header at the start of `buf`, whose length is the batch's; the CRC is left 0. */
export function writeBatchHeader(buf: Buffer, fields: BatchHeaderFields): void {
  assertIntRange("partitionLeaderEpoch", fields.partitionLeaderEpoch, -0x8000_0000, 0x7fff_ffff);
  assertIntRange("producerEpoch", fields.producerEpoch, -0x8000, 0x7fff);
  assertIntRange("baseSequence", fields.baseSequence, -0x8000_0000, 0x7fff_ffff);
  writeInt64BE(buf, BatchField.baseOffset, fields.baseOffset);
  buf.writeInt32BE(buf.length - BATCH_LOG_OVERHEAD_BYTES, BatchField.batchLength);
  buf.writeInt32BE(fields.partitionLeaderEpoch, BatchField.partitionLeaderEpoch);
  buf.writeInt8(BATCH_MAGIC_V2, BatchField.magic);
  buf.writeUInt32BE(0, BatchField.crc);
  buf.writeInt16BE(fields.attributes, BatchField.attributes);
  buf.writeInt32BE(fields.lastOffsetDelta, BatchField.lastOffsetDelta);
  writeInt64BE(buf, BatchField.baseTimestamp, fields.baseTimestampMs);
  writeInt64BE(buf, BatchField.maxTimestamp, fields.maxTimestampMs);
  writeInt64BE(buf, BatchField.producerId, fields.producerId);
  buf.writeInt16BE(fields.producerEpoch, BatchField.producerEpoch);
  buf.writeInt32BE(fields.baseSequence, BatchField.baseSequence);
  buf.writeInt32BE(fields.recordCount, BatchField.recordCount);
}

/** Reads the header of an already checked batch, as RecordsErrors rather than RangeErrors. */
function readCheckedHeader(buf: Buffer, pos: number, sizeBytes: number): BatchHeader {
  return {
    baseOffset: readInt64BE(buf, pos + BatchField.baseOffset),
    sizeBytes,
    partitionLeaderEpoch: buf.readInt32BE(pos + BatchField.partitionLeaderEpoch),
    magic: buf.readInt8(pos + BatchField.magic),
    crc: buf.readUInt32BE(pos + BatchField.crc),
    attributes: buf.readInt16BE(pos + BatchField.attributes),
    lastOffsetDelta: buf.readInt32BE(pos + BatchField.lastOffsetDelta),
    baseTimestamp: readInt64BE(buf, pos + BatchField.baseTimestamp),
    maxTimestamp: readInt64BE(buf, pos + BatchField.maxTimestamp),
    producerId: readInt64BE(buf, pos + BatchField.producerId),
    producerEpoch: buf.readInt16BE(pos + BatchField.producerEpoch),
    baseSequence: buf.readInt32BE(pos + BatchField.baseSequence),
    recordCount: buf.readInt32BE(pos + BatchField.recordCount),
  };
}

/**
 * Decodes the batch at `pos`: checks length, magic and CRC, decompresses, and decodes every
 * record. Throws a RecordsError (see its `kind`) on bad bytes; never reads outside the batch.
 */
export function decodeBatch(buf: Buffer, pos = 0, opts: DecodeBatchOptions = {}): DecodedBatch {
  const opened = openBatch(buf, pos, opts);
  const records = youngArray<DecodedRecord>();
  for (let record = opened.records.next(); record !== undefined; record = opened.records.next()) records.push(record);
  return {
    header: opened.header,
    records,
    compression: opened.compression,
    timestampType: opened.timestampType,
    isTransactional: opened.isTransactional,
    isControl: opened.isControl,
    deleteHorizonMs: opened.deleteHorizonMs,
  };
}

/** A checked batch whose records are decoded as they are asked for (see openBatch). */
export interface OpenedBatch extends Omit<DecodedBatch, "records"> {
  records: RecordCursor;
}

/**
 * What decodeBatch does, except the records: length, magic and CRC are checked and the records
 * decompressed now, and they are decoded one at a time by `records.next()` (a consumer's way:
 * it takes a poll's worth at a time). Throws the RecordsErrors decodeBatch would, each when
 * it is reached.
 */
export function openBatch(buf: Buffer, pos = 0, opts: DecodeBatchOptions = {}): OpenedBatch {
  const checked = checkBatch(buf, pos, opts.maxBatchBytes);
  if (!checked.ok) throw new RecordsError(checked.problem.kind, checked.problem.message);
  const header = readCheckedHeader(buf, pos, checked.sizeBytes);
  const compression = compressionFromAttributes(header.attributes);
  const logAppend = (header.attributes & Attributes.timestampTypeLogAppend) !== 0;
  const deleteHorizonSet = (header.attributes & Attributes.deleteHorizonSet) !== 0;
  let reader: BoundedReader;
  if (compression === "none") {
    reader = new BoundedReader(buf, pos + BATCH_HEADER_BYTES, pos + checked.sizeBytes);
  } else {
    const compressed = buf.subarray(pos + BATCH_HEADER_BYTES, pos + checked.sizeBytes);
    const plain = decompress(compression, compressed, opts.maxDecompressedBytes ?? DEFAULT_MAX_DECOMPRESSED_BYTES);
    reader = new BoundedReader(plain, 0, plain.length);
  }
  const records = new RecordCursor(reader, header.recordCount, {
    baseOffset: header.baseOffset,
    baseTimestampMs: header.baseTimestamp,
    logAppendTimeMs: logAppend ? header.maxTimestamp : null,
  });
  return {
    header,
    records,
    compression,
    timestampType: logAppend ? "log-append" : "create",
    isTransactional: (header.attributes & Attributes.transactional) !== 0,
    isControl: (header.attributes & Attributes.control) !== 0,
    deleteHorizonMs: deleteHorizonSet ? header.baseTimestamp : null,
  };
}

/**
 * Walks the whole batches in `buf` by their length fields, without checking or decoding them.
 * Stops quietly at a partial batch at the end (a fetch response may cut the last one, as Kafka
 * consumers expect); throws a RecordsError for a length field that cannot be right.
 */
export function* iterateBatches(buf: Buffer): Generator<{ pos: number; sizeBytes: number }> {
  let pos = 0;
  while (buf.length - pos >= BATCH_LOG_OVERHEAD_BYTES) {
    const sizeBytes = buf.readInt32BE(pos + BatchField.batchLength) + BATCH_LOG_OVERHEAD_BYTES;
    if (sizeBytes < BATCH_HEADER_BYTES) {
      throw new RecordsError("bad-length", `batch at byte ${pos} has length ${sizeBytes}, below the ${BATCH_HEADER_BYTES}-byte header`);
    }
    if (buf.length - pos < sizeBytes) return;
    yield { pos, sizeBytes };
    pos += sizeBytes;
  }
}
