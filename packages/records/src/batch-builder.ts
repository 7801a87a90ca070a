// An open RecordBatch v2 that records are written into as they arrive (as Kafka's
// MemoryRecordsBuilder): each record is sized and written in one step, so the producer keeps
// nothing per record but its bytes until the batch is acknowledged: no record objects, no
// references to the caller's key and value buffers, nothing for the garbage collector to
// trace and promote while a batch waits for its acknowledgement. build() writes the header and
// CRC around the records (compressing them first when asked) and returns the same bytes that
// encodeBatch would for the same records.
import { NO_TIMESTAMP, writeBatchHeader } from "./batch-codec.js";
import { Attributes, BATCH_HEADER_BYTES, NO_PARTITION_LEADER_EPOCH, NO_PRODUCER_EPOCH, NO_PRODUCER_ID, NO_SEQUENCE, writeBatchCrc } from "./batch-header.js";
import { type CompressionType, compress, compressionCode } from "./compression.js";
import { type RecordHeader, recordBodySize, writeRecord } from "./record-codec.js";
import { varintSize } from "./varint.js";

/** What a built builder holds instead of its working buffer. */
const EMPTY = Buffer.alloc(0);

/** Below this, a builder's buffer starts at this size anyway (one small allocation). */
const MIN_CAPACITY_BYTES = 512;

export interface BuildBatchOptions {
  compression?: CompressionType;
  /** Codec level for gzip (1-9) and zstd (1-22); defaults are Kafka's. Ignored by others. */
  compressionLevel?: number;
  producerId?: number;
  producerEpoch?: number;
  baseSequence?: number;
  isTransactional?: boolean;
}

export class RecordBatchBuilder {
  private buf: Buffer;
  private pos = BATCH_HEADER_BYTES;
  private count = 0;
  private baseTimestampMs = NO_TIMESTAMP;
  private maxTimestampMs = NO_TIMESTAMP;
  private built = false;

  /**
   * `capacityBytes`: the whole batch's expected size, header included; the buffer grows past it
   * if need be. `buffer`: memory to write into instead of a new allocation (a producer's pool);
   * the builder owns it until build(), and the batch may be a view of it after.
   */
  constructor(capacityBytes: number, buffer?: Buffer) {
    this.buf = buffer !== undefined && buffer.length >= MIN_CAPACITY_BYTES ? buffer : Buffer.allocUnsafe(Math.max(MIN_CAPACITY_BYTES, Math.ceil(capacityBytes)));
  }

  get recordCount(): number {
    return this.count;
  }

  /** Bytes the batch takes so far, header included (before compression). */
  get sizeBytes(): number {
    return this.pos;
  }

  /**
   * Writes one record (offsetDelta = its index). Throws a RangeError or TypeError on a record
   * that cannot be encoded, and then leaves the batch as it was.
   */
  append(timestampMs: number, key: Uint8Array | null, value: Uint8Array | null, headers?: readonly RecordHeader[]): void {
    if (this.built) throw new Error("append to a RecordBatchBuilder after build(): a bug");
    if (!Number.isSafeInteger(timestampMs)) throw new RangeError(`record timestampMs must be a safe integer, got ${timestampMs}`);
    const baseTimestampMs = this.count === 0 ? timestampMs : this.baseTimestampMs;
    const timestampDelta = timestampMs - baseTimestampMs;
    if (!Number.isSafeInteger(timestampDelta)) throw new RangeError(`record timestamp ${timestampMs} is too far from the batch's ${baseTimestampMs}`);
    if (this.count === 0x7fff_ffff) throw new RangeError("a batch holds at most 2^31 - 1 records");
    const bodyBytes = recordBodySize(timestampDelta, this.count, key, value, headers);
    const recordBytes = varintSize(bodyBytes) + bodyBytes;
    if (this.pos + recordBytes > this.buf.length) this.grow(this.pos + recordBytes);
    this.pos = writeRecord(this.buf, this.pos, bodyBytes, timestampDelta, this.count, key, value, headers);
    if (this.count === 0) {
      this.baseTimestampMs = timestampMs;
      this.maxTimestampMs = timestampMs;
    } else if (timestampMs > this.maxTimestampMs) {
      this.maxTimestampMs = timestampMs;
    }
    this.count++;
  }

  /**
   * The finished batch, CRC set. Uncompressed, it is a view of the builder's own buffer (copied
   * to an exact-size one when most of that buffer went unused). The builder is done after this.
   */
  build(opts: BuildBatchOptions = {}): Buffer {
    if (this.built) throw new Error("RecordBatchBuilder.build() called twice: a bug");
    this.built = true;
    const compression = opts.compression ?? "none";
    let out: Buffer;
    if (compression === "none") {
      out = this.pos * 2 < this.buf.length && this.buf.length > 4096 ? Buffer.from(this.buf.subarray(0, this.pos)) : this.buf.subarray(0, this.pos);
    } else {
      const compressed = compress(compression, this.buf.subarray(BATCH_HEADER_BYTES, this.pos), opts.compressionLevel);
      out = Buffer.allocUnsafe(BATCH_HEADER_BYTES + compressed.length);
      out.set(compressed, BATCH_HEADER_BYTES);
    }
    this.buf = EMPTY; // nothing keeps the working buffer alive but `out`
    let attributes = compressionCode(compression);
    if (opts.isTransactional === true) attributes |= Attributes.transactional;
    writeBatchHeader(out, {
      baseOffset: 0,
      partitionLeaderEpoch: NO_PARTITION_LEADER_EPOCH,
      attributes,
      lastOffsetDelta: this.count === 0 ? 0 : this.count - 1,
      baseTimestampMs: this.baseTimestampMs,
      maxTimestampMs: this.maxTimestampMs,
      producerId: opts.producerId ?? NO_PRODUCER_ID,
      producerEpoch: opts.producerEpoch ?? NO_PRODUCER_EPOCH,
      baseSequence: opts.baseSequence ?? NO_SEQUENCE,
      recordCount: this.count,
    });
    writeBatchCrc(out, 0);
    return out;
  }

  private grow(neededBytes: number): void {
    const grown = Buffer.allocUnsafe(Math.max(neededBytes, this.buf.length * 2));
    this.buf.copy(grown, 0, 0, this.pos);
    this.buf = grown;
  }
}
