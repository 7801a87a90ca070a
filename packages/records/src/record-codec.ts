// The records inside a RecordBatch v2, byte for byte Kafka's DefaultRecord:
//
//   length            varint   bytes after this field
//   attributes        int8     unused, always 0
//   timestampDelta    varlong  timestamp - batch base timestamp
//   offsetDelta       varint   offset - batch base offset
//   keyLength         varint   -1 = null key
//   key               bytes
//   valueLength       varint   -1 = null value (a tombstone)
//   value             bytes
//   headersCount      varint
//   [headerKeyLength varint, headerKey utf8, headerValueLength varint (-1 = null), headerValue]
//
// A record is sized, then written (recordBodySize, writeRecord): the producer's batch builder
// does both as each record arrives; encodeBatch does each as one pass over all records, so a
// batch is one allocation and one copy of each key and value. Decoding hands out key and value as views into the batch's
// bytes (no copies); every length is checked against the record's own length before use.
import { RecordsError } from "./errors.js";
import { BoundedReader, varintSize, varlongSize, writeVarint, writeVarlong } from "./varint.js";
import { youngArray } from "./young.js";

export interface RecordHeader {
  key: string;
  value: Buffer | null;
}

export interface RecordInput {
  key: Buffer | null;
  value: Buffer | null;
  timestampMs: number;
  headers?: RecordHeader[];
  /** Defaults to the record's index in the batch; compaction sets it to keep offset gaps. */
  offsetDelta?: number;
}

export interface DecodedRecord {
  offset: number;
  timestampMs: number;
  /** A view into the batch's bytes (or its decompressed copy): copy it to keep it past the batch. */
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeader[];
}

/** A decoded record: a class, so that V8 never allocates it in the old generation (young.ts). */
class RecordView implements DecodedRecord {
  constructor(
    public offset: number,
    public timestampMs: number,
    public key: Buffer | null,
    public value: Buffer | null,
    public headers: RecordHeader[],
  ) {}
}

/** One header of a decoded record (a class for the same reason as RecordView). */
class HeaderView implements RecordHeader {
  constructor(
    public key: string,
    public value: Buffer | null,
  ) {}
}

/** Smallest possible record: a 1-byte varint for each of its 6 varint fields, plus attributes. */
export const MIN_RECORD_BYTES = 7;

/** Body sizes from the sizing pass, reused by the writing pass; grown, never shrunk. */
let bodySizesScratch = new Int32Array(1024);

function headersSize(headers: readonly RecordHeader[]): number {
  let bytes = varintSize(headers.length);
  for (const header of headers) {
    if (typeof header.key !== "string") throw new TypeError("a record header key must be a string");
    const keyBytes = Buffer.byteLength(header.key, "utf8");
    bytes += varintSize(keyBytes) + keyBytes;
    const valueBytes = header.value == null ? -1 : header.value.length;
    bytes += varintSize(valueBytes) + Math.max(valueBytes, 0);
  }
  return bytes;
}

function checkRecordInput(record: RecordInput, index: number, offsetDelta: number, previousOffsetDelta: number): void {
  if (!Number.isInteger(offsetDelta) || offsetDelta < 0 || offsetDelta > 0x7fff_ffff) {
    throw new RangeError(`record ${index}: offsetDelta must be an int32 >= 0, got ${offsetDelta}`);
  }
  if (offsetDelta <= previousOffsetDelta) {
    throw new RangeError(`record ${index}: offsetDelta ${offsetDelta} does not follow ${previousOffsetDelta}`);
  }
  if (!Number.isSafeInteger(record.timestampMs)) {
    throw new RangeError(`record ${index}: timestampMs must be a safe integer, got ${record.timestampMs}`);
  }
}

/**
 * Bytes of one record's body (everything after its length varint). Checks header keys, so a
 * bad record throws here, before anything of it is written.
 */
export function recordBodySize(timestampDelta: number, offsetDelta: number, key: Uint8Array | null | undefined, value: Uint8Array | null | undefined, headers: readonly RecordHeader[] | undefined): number {
  return (
    1 +
    varlongSize(timestampDelta) +
    varintSize(offsetDelta) +
    (key == null ? 1 : varintSize(key.length) + key.length) +
    (value == null ? 1 : varintSize(value.length) + value.length) +
    (headers === undefined || headers.length === 0 ? 1 : headersSize(headers))
  );
}

/** Writes one record whose body recordBodySize measured; returns the position after it. */
export function writeRecord(
  buf: Buffer,
  pos: number,
  bodyBytes: number,
  timestampDelta: number,
  offsetDelta: number,
  key: Uint8Array | null | undefined,
  value: Uint8Array | null | undefined,
  headers: readonly RecordHeader[] | undefined,
): number {
  pos = writeVarint(buf, pos, bodyBytes);
  buf[pos++] = 0; // attributes
  pos = writeVarlong(buf, pos, timestampDelta);
  pos = writeVarint(buf, pos, offsetDelta);
  pos = writeBytesField(buf, pos, key);
  pos = writeBytesField(buf, pos, value);
  if (headers === undefined || headers.length === 0) {
    buf[pos++] = 0;
    return pos;
  }
  pos = writeVarint(buf, pos, headers.length);
  for (const header of headers) {
    pos = writeVarint(buf, pos, Buffer.byteLength(header.key, "utf8"));
    pos += buf.write(header.key, pos, "utf8");
    pos = writeBytesField(buf, pos, header.value);
  }
  return pos;
}

/**
 * Sizing pass: checks every record and returns the bytes all records take, including their
 * length varints. Also returns the largest timestamp, which the batch header needs.
 */
export function sizeRecords(records: readonly RecordInput[], baseTimestampMs: number): { bytes: number; maxTimestampMs: number } {
  if (bodySizesScratch.length < records.length) bodySizesScratch = new Int32Array(records.length * 2);
  const bodySizes = bodySizesScratch;
  let total = 0;
  let maxTimestampMs = -Infinity;
  let previousOffsetDelta = -1;
  for (let i = 0; i < records.length; i++) {
    const record = records[i]!;
    const offsetDelta = record.offsetDelta ?? i;
    checkRecordInput(record, i, offsetDelta, previousOffsetDelta);
    previousOffsetDelta = offsetDelta;
    const timestampDelta = record.timestampMs - baseTimestampMs;
    if (!Number.isSafeInteger(timestampDelta)) throw new RangeError(`record ${i}: timestamp delta is not a safe integer`);
    if (record.timestampMs > maxTimestampMs) maxTimestampMs = record.timestampMs;
    const body = recordBodySize(timestampDelta, offsetDelta, record.key, record.value, record.headers);
    bodySizes[i] = body;
    total += varintSize(body) + body;
  }
  return { bytes: total, maxTimestampMs };
}

/** Writing pass: writes the records sized by the last sizeRecords call; returns the end position. */
export function writeRecords(buf: Buffer, pos: number, records: readonly RecordInput[], baseTimestampMs: number): number {
  const bodySizes = bodySizesScratch;
  for (let i = 0; i < records.length; i++) {
    const record = records[i]!;
    pos = writeRecord(buf, pos, bodySizes[i]!, record.timestampMs - baseTimestampMs, record.offsetDelta ?? i, record.key, record.value, record.headers);
  }
  return pos;
}

function writeBytesField(buf: Buffer, pos: number, bytes: Uint8Array | null | undefined): number {
  if (bytes == null) {
    buf[pos] = 1; // zig-zag -1
    return pos + 1;
  }
  pos = writeVarint(buf, pos, bytes.length);
  buf.set(bytes, pos);
  return pos + bytes.length;
}

/** What a batch's records are decoded against. */
export interface RecordContext {
  baseOffset: number;
  baseTimestampMs: number;
  /** Set for log-append-time batches: every record's timestamp is the batch max timestamp. */
  logAppendTimeMs: number | null;
}

/**
 * Decodes `count` records from `reader` (positioned at the first record, bounded by the end of
 * the records section) one at a time: a consumer takes a few hundred records per poll from
 * batches of thousands, and records decoded only when taken die young instead of waiting,
 * decoded, for later polls. Any inconsistency throws a RecordsError when the cursor reaches it
 * (a count the bytes cannot hold: at once; leftover bytes: with the last record).
 */
export class RecordCursor {
  private index = 0;
  private readonly sectionEnd: number;

  constructor(
    private readonly reader: BoundedReader,
    readonly count: number,
    private readonly context: RecordContext,
  ) {
    if (count < 0 || count > reader.remaining() / MIN_RECORD_BYTES) {
      throw new RecordsError("bad-count", `batch claims ${count} records but has only ${reader.remaining()} bytes of them`);
    }
    this.sectionEnd = reader.end;
    if (count === 0) this.checkNothingLeft();
  }

  /** Records not yet decoded. */
  get remaining(): number {
    return this.count - this.index;
  }

  /** The next record, or undefined after the last. */
  next(): DecodedRecord | undefined {
    if (this.index >= this.count) return undefined;
    const i = this.index++;
    const reader = this.reader;
    const sectionEnd = this.sectionEnd;
    const start = reader.pos;
    const length = reader.readVarint();
    if (length < MIN_RECORD_BYTES - 1 || length > sectionEnd - reader.pos) {
      throw new RecordsError("bad-record", `record ${i} at byte ${start} has length ${length}, ${sectionEnd - reader.pos} bytes remain`);
    }
    const recordEnd = reader.pos + length;
    reader.end = recordEnd;
    const record = readRecordBody(reader, this.context, i);
    if (reader.pos !== recordEnd) {
      throw new RecordsError("bad-record", `record ${i} at byte ${start} says ${length} bytes but its fields take ${reader.pos - (recordEnd - length)}`);
    }
    reader.end = sectionEnd;
    if (this.index === this.count) this.checkNothingLeft();
    return record;
  }

  private checkNothingLeft(): void {
    if (this.reader.pos !== this.sectionEnd) {
      throw new RecordsError("bad-record", `${this.sectionEnd - this.reader.pos} bytes remain after the batch's ${this.count} records`);
    }
  }
}

function readRecordBody(reader: BoundedReader, context: RecordContext, index: number): DecodedRecord {
  reader.readInt8(); // attributes: unused by every record version so far
  const timestampDelta = reader.readVarlong();
  const offset = context.baseOffset + reader.readVarint();
  const timestampMs = context.logAppendTimeMs ?? context.baseTimestampMs + timestampDelta;
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(timestampMs)) {
    throw new RecordsError("unsafe-integer", `record ${index}: offset or timestamp is outside the safe integer range`);
  }
  const key = readBytesField(reader, "key", index);
  const value = readBytesField(reader, "value", index);
  const headerCount = reader.readVarint();
  // Each header takes at least 2 bytes (two 1-byte lengths), so this bounds the array below.
  if (headerCount < 0 || headerCount > reader.remaining() / 2) {
    throw new RecordsError("bad-record", `record ${index}: header count ${headerCount} does not fit its ${reader.remaining()} bytes`);
  }
  const headers = youngArray<RecordHeader>();
  for (let h = 0; h < headerCount; h++) {
    const keyLength = reader.readVarint();
    if (keyLength < 0 || keyLength > reader.remaining()) {
      throw new RecordsError("bad-record", `record ${index}: header ${h} key length ${keyLength} does not fit the record`);
    }
    const headerKey = reader.buf.toString("utf8", reader.pos, reader.pos + keyLength);
    reader.pos += keyLength;
    headers.push(new HeaderView(headerKey, readBytesField(reader, "header value", index)));
  }
  return new RecordView(offset, timestampMs, key, value, headers);
}

function readBytesField(reader: BoundedReader, what: string, index: number): Buffer | null {
  const length = reader.readVarint();
  if (length === -1) return null;
  if (length < -1 || length > reader.remaining()) {
    throw new RecordsError("bad-record", `record ${index}: ${what} length ${length} does not fit the record's ${reader.remaining()} remaining bytes`);
  }
  const start = reader.pos;
  reader.pos = start + length;
  return reader.buf.subarray(start, start + length);
}
