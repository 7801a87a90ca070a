import { describe, expect, it } from "vitest";
import {
  BATCH_HEADER_BYTES,
  BatchField,
  checkBatch,
  readBatchHeader,
  setBaseOffset,
  setPartitionLeaderEpoch,
  writeBatchCrc,
} from "./batch-header.js";

/** A header-only batch (zero records is not valid for producers but exercises the header). */
function headerOnlyBatch(): Buffer {
  const buf = Buffer.alloc(BATCH_HEADER_BYTES + 3);
  buf.writeInt32BE(buf.length - 12, BatchField.batchLength);
  buf.writeInt8(2, BatchField.magic);
  buf.writeInt32BE(0, BatchField.lastOffsetDelta);
  buf.writeInt32BE(1, BatchField.recordCount);
  buf.writeBigInt64BE(1_700_000_000_000n, BatchField.baseTimestamp);
  buf.writeBigInt64BE(-1n, BatchField.producerId);
  buf.writeInt16BE(-1, BatchField.producerEpoch);
  buf.writeInt32BE(-1, BatchField.baseSequence);
  buf.set([1, 2, 3], BATCH_HEADER_BYTES);
  writeBatchCrc(buf);
  return buf;
}

describe("batch header", () => {
  it("CRC-32C matches the standard check value", async () => {
    const { crc32cOf } = await import("./batch-header.js");
    // The CRC-32C check value of "123456789" is 0xE3069283 (RFC 3720, iSCSI).
    expect(crc32cOf(Buffer.from("123456789"))).toBe(0xe3069283);
  });

  it("accepts a well-formed batch and keeps its CRC valid after stamping offset and epoch", () => {
    const buf = headerOnlyBatch();
    expect(checkBatch(buf)).toEqual({ ok: true, sizeBytes: buf.length });
    setBaseOffset(buf, 0, 42);
    setPartitionLeaderEpoch(buf, 0, 7);
    expect(checkBatch(buf).ok).toBe(true);
    const header = readBatchHeader(buf);
    expect(header.baseOffset).toBe(42);
    expect(header.partitionLeaderEpoch).toBe(7);
    expect(header.sizeBytes).toBe(buf.length);
  });

  it("refuses a flipped byte, a wrong magic, a short buffer and an oversized batch", () => {
    const flipped = headerOnlyBatch();
    flipped[BATCH_HEADER_BYTES + 1]! ^= 0xff;
    expect(checkBatch(flipped)).toMatchObject({ ok: false, problem: { kind: "crc-mismatch" } });

    const magic = headerOnlyBatch();
    magic.writeInt8(1, BatchField.magic);
    expect(checkBatch(magic)).toMatchObject({ ok: false, problem: { kind: "unsupported-magic" } });

    expect(checkBatch(headerOnlyBatch().subarray(0, 63))).toMatchObject({ ok: false, problem: { kind: "truncated" } });
    expect(checkBatch(headerOnlyBatch(), 0, 32)).toMatchObject({ ok: false, problem: { kind: "too-large" } });

    const negative = headerOnlyBatch();
    negative.writeInt32BE(-5, BatchField.batchLength);
    expect(checkBatch(negative)).toMatchObject({ ok: false, problem: { kind: "bad-length" } });
  });
});
