// Reading batch headers out of a segment file without loading the segment: a small window is
// read at a time and headers are parsed from it. Two walks use it:
//   - HeaderReader: trusted data (reads, index rebuilds, producer-state replay) — header fields
//     only, no CRC, stops at anything that is not a plausible header;
//   - scanForRecovery: untrusted data after an unclean stop — every batch is read whole and
//     checked (length, magic, count, CRC), and the scan stops at the first that fails.
import fs from "node:fs";
import {
  BATCH_HEADER_BYTES,
  BatchField,
  batchSizeAt,
  checkBatch,
  type BatchProblem,
} from "@tributary/records";

const TWO_POW_32 = 0x1_0000_0000;

/** The header fields the log engine uses, read from a batch at `position` in its segment. */
export interface BatchSummary {
  position: number;
  sizeBytes: number;
  baseOffset: number;
  lastOffset: number;
  maxTimestampMs: number;
  partitionLeaderEpoch: number;
  attributes: number;
  recordCount: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
}

/** A big-endian int64 as a number, or NaN when it is outside the safe-integer range. */
export function int64At(buf: Buffer, pos: number): number {
  const value = buf.readInt32BE(pos) * TWO_POW_32 + buf.readUInt32BE(pos + 4);
  return Number.isSafeInteger(value) ? value : Number.NaN;
}

/** Summary of the batch header at `pos` in `buf`; null when a field cannot be right. */
export function summarizeBatch(buf: Buffer, pos: number, position: number): BatchSummary | null {
  const sizeBytes = batchSizeAt(buf, pos);
  const baseOffset = int64At(buf, pos + BatchField.baseOffset);
  const lastOffsetDelta = buf.readInt32BE(pos + BatchField.lastOffsetDelta);
  const maxTimestampMs = int64At(buf, pos + BatchField.maxTimestamp);
  const producerId = int64At(buf, pos + BatchField.producerId);
  if (sizeBytes < BATCH_HEADER_BYTES || !(baseOffset >= 0) || lastOffsetDelta < 0 || Number.isNaN(maxTimestampMs) || Number.isNaN(producerId)) {
    return null;
  }
  return {
    position,
    sizeBytes,
    baseOffset,
    lastOffset: baseOffset + lastOffsetDelta,
    maxTimestampMs,
    partitionLeaderEpoch: buf.readInt32BE(pos + BatchField.partitionLeaderEpoch),
    attributes: buf.readInt16BE(pos + BatchField.attributes),
    recordCount: buf.readInt32BE(pos + BatchField.recordCount),
    producerId,
    producerEpoch: buf.readInt16BE(pos + BatchField.producerEpoch),
    baseSequence: buf.readInt32BE(pos + BatchField.baseSequence),
  };
}

/** Reads exactly `length` bytes at `position` (fewer only at end of file). */
export function readFully(fd: number, target: Buffer, targetOffset: number, length: number, position: number): number {
  let done = 0;
  while (done < length) {
    const bytesRead = fs.readSync(fd, target, targetOffset + done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done;
}

const DEFAULT_HEADER_WINDOW_BYTES = 16 * 1024;

/**
 * Walks batch headers of a trusted segment, reading `windowBytes` at a time, so small batches
 * cost one read per window and large ones one small read each.
 */
export class HeaderReader {
  private readonly window: Buffer;
  private windowStart = 0;
  private windowEnd = 0;

  constructor(
    private readonly fd: number,
    private readonly endPosition: number,
    windowBytes = DEFAULT_HEADER_WINDOW_BYTES,
  ) {
    this.window = Buffer.allocUnsafe(Math.max(windowBytes, BATCH_HEADER_BYTES));
  }

  /** The batch whose header starts at `position`, or null at the end or at an implausible header. */
  readAt(position: number): BatchSummary | null {
    if (position + BATCH_HEADER_BYTES > this.endPosition) return null;
    if (position < this.windowStart || position + BATCH_HEADER_BYTES > this.windowEnd) {
      const length = Math.min(this.window.length, this.endPosition - position);
      const bytesRead = readFully(this.fd, this.window, 0, length, position);
      this.windowStart = position;
      this.windowEnd = position + bytesRead;
      if (bytesRead < BATCH_HEADER_BYTES) return null;
    }
    const summary = summarizeBatch(this.window, position - this.windowStart, position);
    if (summary === null || position + summary.sizeBytes > this.endPosition) return null;
    return summary;
  }
}

export type RecoveryStop =
  | { kind: "end" }
  | { kind: "bad-batch"; position: number; problem: BatchProblem }
  | { kind: "bad-offset"; position: number; message: string };

const RECOVERY_CHUNK_BYTES = 8 * 1024 * 1024;

/**
 * Checks every batch of an untrusted segment, in order, calling `visit` for each good one; `visit`
 * returns an error message when the batch's offsets cannot follow the previous batch's. Stops at
 * the first batch that is torn, corrupt or out of order, and returns where and why.
 */
export function scanForRecovery(fd: number, sizeBytes: number, visit: (summary: BatchSummary) => string | null): RecoveryStop {
  let chunk = Buffer.allocUnsafe(Math.max(BATCH_HEADER_BYTES, Math.min(RECOVERY_CHUNK_BYTES, sizeBytes)));
  let chunkStart = 0;
  let chunkLength = 0;
  let position = 0;
  const refill = (minBytes: number): void => {
    if (minBytes > chunk.length) chunk = Buffer.allocUnsafe(minBytes);
    chunkStart = position;
    chunkLength = readFully(fd, chunk, 0, Math.min(chunk.length, sizeBytes - position), position);
  };
  while (position < sizeBytes) {
    const remaining = sizeBytes - position;
    if (position + Math.min(BATCH_HEADER_BYTES, remaining) > chunkStart + chunkLength) refill(BATCH_HEADER_BYTES);
    if (remaining >= BATCH_HEADER_BYTES) {
      const size = batchSizeAt(chunk, position - chunkStart);
      if (size >= BATCH_HEADER_BYTES && size <= remaining && position + size > chunkStart + chunkLength) refill(size);
    }
    const inChunk = position - chunkStart;
    const view = chunk.subarray(0, chunkLength);
    const checked = checkBatch(view, inChunk);
    if (!checked.ok) return { kind: "bad-batch", position, problem: checked.problem };
    const summary = summarizeBatch(view, inChunk, position);
    if (summary === null) return { kind: "bad-offset", position, message: "an int64 header field is outside the safe-integer range" };
    const offsetProblem = visit(summary);
    if (offsetProblem !== null) return { kind: "bad-offset", position, message: offsetProblem };
    position += checked.sizeBytes;
  }
  return { kind: "end" };
}
