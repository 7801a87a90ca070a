// The leader's record walk: a batch with a right CRC around records no consumer can decode is
// refused before a byte is written (the log, and every other batch of the append, untouched);
// good batches of every codec still go in and read back.
import { BATCH_HEADER_BYTES, BATCH_LOG_OVERHEAD_BYTES, BatchField, type CompressionType, CompressionCodes, compress, writeBatchCrc } from "@tributary/records";
import { afterEach, describe, expect, it } from "vitest";
import { StorageError } from "./errors.js";
import type { PartitionLog } from "./partition-log.js";
import { ManualClock, batch, decodeRecords, openLog, readAll, removeTempDirs, tempPartitionDir } from "./testing/fixtures.js";

afterEach(removeTempDirs);

function refusal(log: PartitionLog, bytes: Buffer): StorageError {
  const sizeBefore = log.sizeBytes;
  const endBefore = log.logEndOffset;
  const copy = Buffer.from(bytes);
  let caught: unknown;
  try {
    log.appendAsLeader(bytes, 0);
  } catch (error) {
    caught = error;
  }
  if (!(caught instanceof StorageError)) throw new Error(`expected a StorageError, got ${String(caught)}`);
  expect(log.sizeBytes).toBe(sizeBefore);
  expect(log.logEndOffset).toBe(endBefore);
  expect(bytes.equals(copy)).toBe(true); // nothing stamped either
  return caught;
}

/** A copy of `good` whose records section is replaced by `section`, header and CRC made consistent. */
function withRecordsSection(good: Buffer, section: Buffer, attributes?: number): Buffer {
  const out = Buffer.concat([good.subarray(0, BATCH_HEADER_BYTES), section]);
  out.writeInt32BE(out.length - BATCH_LOG_OVERHEAD_BYTES, BatchField.batchLength);
  if (attributes !== undefined) out.writeInt16BE(attributes, BatchField.attributes);
  writeBatchCrc(out, 0);
  return out;
}

describe("the leader walks the records of every batch", () => {
  it("refuses uncompressed garbage under a right CRC with CORRUPT_MESSAGE, naming the batch", () => {
    const log = openLog(tempPartitionDir(), new ManualClock());
    log.appendAsLeader(batch({ count: 2 }), 0);
    const good = batch({ count: 3 });
    const garbage = withRecordsSection(good, Buffer.alloc(good.length - BATCH_HEADER_BYTES, 0xff));
    const error = refusal(log, Buffer.concat([batch(), garbage, batch()]));
    expect(error).toMatchObject({ kind: "CORRUPT_MESSAGE", reason: "bad-varint", batchIndex: 1 });
    expect(readAll(log)).toHaveLength(2);
  });

  it("refuses records whose lengths lie or leave bytes over", () => {
    const log = openLog(tempPartitionDir(), new ManualClock());
    const good = batch({ count: 3 });
    const section = good.subarray(BATCH_HEADER_BYTES);
    const lengthTooLong = Buffer.from(section);
    lengthTooLong[0] = lengthTooLong[0]! + 2; // the first record's length varint, one byte here
    expect(refusal(log, withRecordsSection(good, lengthTooLong))).toMatchObject({ kind: "CORRUPT_MESSAGE", reason: "bad-record" });
    expect(refusal(log, withRecordsSection(good, Buffer.concat([section, Buffer.from([0, 0])])))).toMatchObject({ kind: "CORRUPT_MESSAGE", reason: "bad-record" });
    const oneRecordShort = Buffer.from(withRecordsSection(good, section));
    oneRecordShort.writeInt32BE(4, BatchField.recordCount);
    oneRecordShort.writeInt32BE(3, BatchField.lastOffsetDelta);
    writeBatchCrc(oneRecordShort, 0);
    expect(refusal(log, oneRecordShort)).toMatchObject({ kind: "CORRUPT_MESSAGE" });
    expect(log.logEndOffset).toBe(0);
  });

  it("refuses a record without a key on a compacted topic with INVALID_RECORD, and takes it elsewhere", () => {
    const compacted = openLog(tempPartitionDir(), new ManualClock(), { cleanupPolicy: "compact" });
    const keyless = batch({ count: 2, keys: ["k0", null] });
    expect(refusal(compacted, keyless)).toMatchObject({ kind: "INVALID_RECORD", reason: "missing-key" });
    compacted.appendAsLeader(batch({ count: 2 }), 0);
    expect(compacted.logEndOffset).toBe(2);
    const deleting = openLog(tempPartitionDir(), new ManualClock());
    deleting.appendAsLeader(keyless, 0);
    expect(deleting.logEndOffset).toBe(2);
  });

  it("refuses offset deltas that are not 0, 1, 2, ... with INVALID_RECORD", () => {
    const log = openLog(tempPartitionDir(), new ManualClock());
    const good = batch({ count: 2, valueBytes: 20 });
    const repeated = Buffer.from(good);
    // Record 0 is under 64 bytes (a 1-byte length); record 1's offset delta follows its length,
    // attributes and 1-byte timestamp delta. Zig-zag 1 (2) becomes 0: offsets 0, 0.
    const second = BATCH_HEADER_BYTES + 1 + repeated[BATCH_HEADER_BYTES]! / 2;
    expect(repeated[second + 3]).toBe(2);
    repeated[second + 3] = 0;
    writeBatchCrc(repeated, 0);
    expect(refusal(log, repeated)).toMatchObject({ kind: "INVALID_RECORD", reason: "bad-count" });
  });

  it("refuses a batch whose attributes name a codec its body is not, and garbage inside a real frame", () => {
    const log = openLog(tempPartitionDir(), new ManualClock());
    const plain = batch({ count: 3 });
    for (const codec of ["gzip", "snappy", "lz4", "zstd"] as const) {
      const mislabelled = withRecordsSection(plain, plain.subarray(BATCH_HEADER_BYTES), CompressionCodes[codec]);
      expect(refusal(log, mislabelled), codec).toMatchObject({ kind: "CORRUPT_MESSAGE" });
    }
    const framedGarbage = withRecordsSection(plain, compress("gzip", Buffer.alloc(200, 0xff)), CompressionCodes.gzip);
    expect(refusal(log, framedGarbage)).toMatchObject({ kind: "CORRUPT_MESSAGE", reason: "bad-varint" });
    expect(log.logEndOffset).toBe(0);
  });

  it.each<CompressionType>(["none", "gzip", "snappy", "lz4", "zstd"])("appends a good %s batch and reads it back", (compression) => {
    const log = openLog(tempPartitionDir(), new ManualClock());
    log.appendAsLeader(batch({ count: 5, compression, keyPrefix: "c" }), 0);
    expect(decodeRecords(log.read(0, 1 << 20)).map((r) => [r.offset, r.key])).toEqual([[0, "c0"], [1, "c1"], [2, "c2"], [3, "c3"], [4, "c4"]]);
  });
});

describe("followers copy what the leader validated", () => {
  // The leader walked the records; the follower checks header and CRC only, so replication is a
  // checksum and a copy. This pins that choice: a follower handed a CRC-valid batch does not
  // re-decode it (and its log stays byte-identical to the leader's).
  it("takes a CRC-valid batch without walking its records", () => {
    const good = batch({ count: 3 });
    const unwalked = withRecordsSection(good, Buffer.alloc(good.length - BATCH_HEADER_BYTES, 0xff));
    const follower = openLog(tempPartitionDir(), new ManualClock());
    expect(follower.appendAsFollower(unwalked)).toMatchObject({ baseOffset: 0, lastOffset: 2 });
    expect(follower.read(0, 1 << 20).equals(unwalked)).toBe(true);
  });
});
