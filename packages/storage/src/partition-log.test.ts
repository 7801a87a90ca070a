import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { BatchField, decodeBatch, encodeBatch } from "@tributary/records";
import { afterEach, describe, expect, it, vi } from "vitest";
import { StorageError } from "./errors.js";
import { EARLIEST_TIMESTAMP, LATEST_TIMESTAMP, PartitionLog } from "./partition-log.js";
import { ManualClock, batch, batchBaseOffsets, decodeRecords, openLog, readAll, removeTempDirs, tempPartitionDir } from "./testing/fixtures.js";

afterEach(removeTempDirs);

function storageErrorOf(fn: () => unknown): StorageError {
  try {
    fn();
  } catch (error) {
    if (error instanceof StorageError) return error;
    throw error;
  }
  throw new Error("expected a StorageError");
}

/** From now until vi.restoreAllMocks(): every fsync and rename, in order, by file name. */
function recordFsyncsAndRenames(): string[] {
  const events: string[] = [];
  const pathsByFd = new Map<number, string>();
  const realOpen = fs.openSync, realFsync = fs.fsyncSync, realRename = fs.renameSync;
  vi.spyOn(fs, "openSync").mockImplementation((...args: Parameters<typeof fs.openSync>) => {
    const fd = realOpen(...args);
    pathsByFd.set(fd, path.basename(String(args[0])));
    return fd;
  });
  vi.spyOn(fs, "fsyncSync").mockImplementation((fd: number) => {
    events.push(`fsync ${pathsByFd.get(fd)}`);
    realFsync(fd);
  });
  vi.spyOn(fs, "renameSync").mockImplementation((from: fs.PathLike, to: fs.PathLike) => {
    events.push(`rename ${path.basename(String(to))}`);
    realRename(from, to);
  });
  return events;
}

describe("leader appends and reads", () => {
  it("gives contiguous offsets, stamps the leader epoch, and reads whole batches back", () => {
    const clock = new ManualClock();
    const log = openLog(tempPartitionDir(), clock);
    const first = log.appendAsLeader(batch({ count: 3, keyPrefix: "a" }), 5);
    const second = log.appendAsLeader(batch({ count: 2, keyPrefix: "b" }), 5);
    expect(first).toMatchObject({ baseOffset: 0, lastOffset: 2, duplicate: false, logAppendTimeMs: -1 });
    expect(second).toMatchObject({ baseOffset: 3, lastOffset: 4 });
    expect(log.logEndOffset).toBe(5);

    const bytes = log.read(0, 1 << 20);
    expect(decodeRecords(bytes).map((r) => [r.offset, r.key])).toEqual([[0, "a0"], [1, "a1"], [2, "a2"], [3, "b0"], [4, "b1"]]);
    expect(decodeBatch(bytes, 0).header.partitionLeaderEpoch).toBe(5);
    // A read from the middle of a batch starts with that whole batch.
    expect(batchBaseOffsets(log.read(4, 1 << 20))).toEqual([3]);
    expect(log.read(5, 1 << 20)).toHaveLength(0);
  });

  it("appends several batches in one buffer with contiguous offsets", () => {
    const log = openLog(tempPartitionDir(), new ManualClock());
    const result = log.appendAsLeader(Buffer.concat([batch({ count: 2 }), batch({ count: 4 }), batch({ count: 1 })]), 0);
    expect(result).toMatchObject({ baseOffset: 0, lastOffset: 6 });
    expect(batchBaseOffsets(log.read(0, 1 << 20))).toEqual([0, 2, 6]);
  });

  it("honours maxBytes, minOneBatch and maxOffsetExclusive", () => {
    const log = openLog(tempPartitionDir(), new ManualClock());
    for (let i = 0; i < 10; i++) log.appendAsLeader(batch({ count: 1, valueBytes: 100 }), 0);
    const oneBatchBytes = log.read(0, 1 << 20).length / 10;
    expect(batchBaseOffsets(log.read(0, oneBatchBytes * 3 + 10))).toEqual([0, 1, 2]);
    expect(batchBaseOffsets(log.read(0, 10))).toEqual([0]); // at least one whole batch
    expect(log.read(0, 10, { minOneBatch: false })).toHaveLength(0);
    expect(batchBaseOffsets(log.read(2, 1 << 20, { maxOffsetExclusive: 6 }))).toEqual([2, 3, 4, 5]);
    expect(log.read(6, 1 << 20, { maxOffsetExclusive: 6 })).toHaveLength(0);
  });

  it("refuses offsets outside the log with OFFSET_OUT_OF_RANGE carrying the valid range", () => {
    const log = openLog(tempPartitionDir(), new ManualClock());
    log.appendAsLeader(batch({ count: 4 }), 0);
    const error = storageErrorOf(() => log.read(5, 100));
    expect(error).toMatchObject({ kind: "OFFSET_OUT_OF_RANGE", logStartOffset: 0, logEndOffset: 4, retriable: false });
    log.deleteRecordsBefore(2);
    expect(storageErrorOf(() => log.read(1, 100))).toMatchObject({ kind: "OFFSET_OUT_OF_RANGE", logStartOffset: 2 });
  });

  it("stamps log-append time: every record then reads back with it", () => {
    const log = openLog(tempPartitionDir(), new ManualClock());
    const result = log.appendAsLeader(batch({ count: 3, timestampMs: 1000 }), 0, { logAppendTimeMs: 1_700_000_123_456 });
    expect(result).toMatchObject({ logAppendTimeMs: 1_700_000_123_456, maxTimestampMs: 1_700_000_123_456 });
    expect(decodeRecords(log.read(0, 1 << 20)).map((r) => r.timestampMs)).toEqual([1_700_000_123_456, 1_700_000_123_456, 1_700_000_123_456]);
  });
});

describe("bad input leaves the log untouched", () => {
  function expectRefused(log: PartitionLog, bytes: Buffer, kind: string, reason?: string): void {
    const sizeBefore = log.sizeBytes;
    const endBefore = log.logEndOffset;
    const copy = Buffer.from(bytes);
    const error = storageErrorOf(() => log.appendAsLeader(bytes, 0));
    expect(error.kind).toBe(kind);
    if (reason !== undefined) expect(error.reason).toBe(reason);
    expect(log.sizeBytes).toBe(sizeBefore);
    expect(log.logEndOffset).toBe(endBefore);
    expect(bytes.equals(copy)).toBe(true); // not even the good batches before the bad one were stamped
  }

  it("refuses a bad CRC anywhere in the buffer", () => {
    const log = openLog(tempPartitionDir(), new ManualClock());
    log.appendAsLeader(batch(), 0);
    const bad = batch({ count: 2 });
    bad[bad.length - 3]! ^= 0x55;
    expectRefused(log, Buffer.concat([batch(), bad, batch()]), "CORRUPT_MESSAGE", "crc-mismatch");
    expect(storageErrorOf(() => log.appendAsLeader(Buffer.concat([batch(), bad]), 0)).batchIndex).toBe(1);
    expect(readAll(log)).toHaveLength(1);
  });

  it("refuses oversized batches and appends larger than a segment", () => {
    const log = openLog(tempPartitionDir(), new ManualClock(), { maxBatchBytes: 500, segmentBytes: 4096 });
    expectRefused(log, batch({ count: 1, valueBytes: 600 }), "MESSAGE_TOO_LARGE", "too-large");
    const many = Buffer.concat(Array.from({ length: 20 }, () => batch({ count: 1, valueBytes: 300 })));
    expectRefused(log, many, "RECORD_LIST_TOO_LARGE");
  });

  it("refuses an unsupported magic, a truncated buffer and an empty one", () => {
    const log = openLog(tempPartitionDir(), new ManualClock());
    const magic1 = batch();
    magic1.writeInt8(1, BatchField.magic);
    expectRefused(log, magic1, "CORRUPT_MESSAGE", "unsupported-magic");
    const whole = batch({ count: 3 });
    expectRefused(log, whole.subarray(0, whole.length - 5), "CORRUPT_MESSAGE", "truncated");
    expectRefused(log, Buffer.concat([batch(), Buffer.alloc(30)]), "CORRUPT_MESSAGE", "truncated");
    expectRefused(log, Buffer.alloc(0), "INVALID_RECORD", "empty");
  });

  it("refuses control and transactional batches from clients", () => {
    const log = openLog(tempPartitionDir(), new ManualClock());
    const record = { key: Buffer.from("k"), value: Buffer.from("v"), timestampMs: 1 };
    expectRefused(log, encodeBatch({ records: [record], isControl: true }), "INVALID_RECORD", "control-batch");
    expectRefused(log, encodeBatch({ records: [record], isTransactional: true, producerId: 1, producerEpoch: 0, baseSequence: 0 }), "INVALID_RECORD", "transactional");
    expectRefused(log, encodeBatch({ records: [record], producerId: 1, producerEpoch: 0, baseSequence: -1 }), "INVALID_RECORD", "bad-producer-fields");
  });
});

describe("idempotent producers", () => {
  it("answers a retried batch with its original offsets and writes it once", () => {
    const log = openLog(tempPartitionDir(), new ManualClock());
    log.appendAsLeader(batch({ count: 2 }), 0);
    const first = log.appendAsLeader(batch({ count: 3, producerId: 77, producerEpoch: 1, baseSequence: 0 }), 0);
    log.appendAsLeader(batch({ count: 1, producerId: 77, producerEpoch: 1, baseSequence: 3 }), 0);
    const retry = log.appendAsLeader(batch({ count: 3, producerId: 77, producerEpoch: 1, baseSequence: 0 }), 0);
    expect(retry).toMatchObject({ baseOffset: first.baseOffset, lastOffset: first.lastOffset, duplicate: true });
    expect(log.logEndOffset).toBe(6);
    expect(readAll(log)).toHaveLength(6);
  });

  it("answers a retry whose first batches a crash already wrote with one range, and refuses other mixes", () => {
    const log = openLog(tempPartitionDir(), new ManualClock());
    const idempotent = (seq: number, count = 2) => batch({ count, producerId: 8, producerEpoch: 0, baseSequence: seq });
    log.appendAsLeader(idempotent(0), 0); // the first batch of a two-batch append that was cut short
    const retry = log.appendAsLeader(Buffer.concat([idempotent(0), idempotent(2)]), 0);
    expect(retry).toMatchObject({ baseOffset: 0, lastOffset: 3, duplicate: false });
    expect(readAll(log).map((r) => r.offset)).toEqual([0, 1, 2, 3]);
    // A repeat after a new batch, or a repeat that is not the end of the log, has no single range.
    expect(storageErrorOf(() => log.appendAsLeader(Buffer.concat([idempotent(4), idempotent(2)]), 0)).reason).toBe("mixed-duplicates");
    log.appendAsLeader(batch(), 0);
    expect(storageErrorOf(() => log.appendAsLeader(Buffer.concat([idempotent(2), idempotent(4)]), 0)).reason).toBe("mixed-duplicates");
    expect(log.logEndOffset).toBe(5);
  });

  it("refuses a sequence gap and a fenced epoch without writing", () => {
    const log = openLog(tempPartitionDir(), new ManualClock());
    log.appendAsLeader(batch({ count: 2, producerId: 5, producerEpoch: 2, baseSequence: 0 }), 0);
    expect(storageErrorOf(() => log.appendAsLeader(batch({ count: 1, producerId: 5, producerEpoch: 2, baseSequence: 3 }), 0)).kind).toBe("OUT_OF_ORDER_SEQUENCE_NUMBER");
    expect(storageErrorOf(() => log.appendAsLeader(batch({ count: 1, producerId: 5, producerEpoch: 1, baseSequence: 2 }), 0)).kind).toBe("INVALID_PRODUCER_EPOCH");
    expect(log.logEndOffset).toBe(2);
  });

  it("remembers producers across a clean restart and an unclean one", () => {
    const dir = tempPartitionDir();
    const clock = new ManualClock();
    const log = openLog(dir, clock, { segmentBytes: 1024 });
    for (let seq = 0; seq < 40; seq += 2) log.appendAsLeader(batch({ count: 2, producerId: 9, producerEpoch: 0, baseSequence: seq }), 0);
    expect(log.segmentCount).toBeGreaterThan(1);
    log.close();
    const reopened = openLog(dir, clock, { segmentBytes: 1024 });
    expect(reopened.appendAsLeader(batch({ count: 2, producerId: 9, producerEpoch: 0, baseSequence: 38 }), 0)).toMatchObject({ duplicate: true, baseOffset: 38 });
    reopened.appendAsLeader(batch({ count: 2, producerId: 9, producerEpoch: 0, baseSequence: 40 }), 0);
    // No close: the next open recovers, replaying batch headers after the newest snapshot.
    const recovered = openLog(dir, clock, { segmentBytes: 1024 });
    expect(recovered.appendAsLeader(batch({ count: 2, producerId: 9, producerEpoch: 0, baseSequence: 40 }), 0)).toMatchObject({ duplicate: true, baseOffset: 40 });
    expect(storageErrorOf(() => recovered.appendAsLeader(batch({ count: 1, producerId: 9, producerEpoch: 0, baseSequence: 50 }), 0)).kind).toBe("OUT_OF_ORDER_SEQUENCE_NUMBER");
  });
});

describe("follower appends and leader epochs", () => {
  it("keeps the leader's offsets and epochs, allows gaps, refuses going backwards", () => {
    const leader = openLog(tempPartitionDir("leader"), new ManualClock());
    leader.appendAsLeader(batch({ count: 3 }), 1);
    leader.appendAsLeader(batch({ count: 2 }), 2);
    const follower = openLog(tempPartitionDir("follower"), new ManualClock());
    expect(follower.appendAsFollower(leader.read(0, 1 << 20))).toMatchObject({ baseOffset: 0, lastOffset: 4 });
    expect(follower.leaderEpochEntries()).toEqual([{ epoch: 1, startOffset: 0 }, { epoch: 2, startOffset: 3 }]);
    expect(follower.appendAsFollower(Buffer.alloc(0))).toBeNull();

    const overlapping = leader.read(3, 1 << 20);
    const error = storageErrorOf(() => follower.appendAsFollower(overlapping));
    expect(error.kind).toBe("OFFSET_OUT_OF_ORDER");
    expect(follower.logEndOffset).toBe(5);

    const gapped = batch({ count: 2 });
    gapped.writeBigInt64BE(10n, BatchField.baseOffset); // outside the CRC: still valid
    expect(follower.appendAsFollower(gapped)).toMatchObject({ baseOffset: 10, lastOffset: 11 });
    expect(follower.logEndOffset).toBe(12);
    expect(batchBaseOffsets(follower.read(6, 1 << 20))).toEqual([10]);
  });

  it("creates a new log without an fsync or a checkpoint file: their absence says the same", () => {
    const dir = tempPartitionDir();
    const events = recordFsyncsAndRenames();
    try {
      openLog(dir, new ManualClock());
      expect(events).toEqual([]);
    } finally {
      vi.restoreAllMocks();
    }
    expect(fs.readdirSync(dir).filter((name) => name.includes("checkpoint"))).toEqual([]);
    const reopened = openLog(dir, new ManualClock());
    expect([reopened.logStartOffset, reopened.recoveryPoint, reopened.logEndOffset, reopened.leaderEpochEntries()]).toEqual([0, 0, 0, []]);
  });

  it("writes what reopening a crashed log derived without an fsync: the next open would derive it again", () => {
    const dir = tempPartitionDir();
    const clock = new ManualClock();
    const crashed = openLog(dir, clock);
    crashed.appendAsLeader(batch({ count: 2 }), 1);
    crashed.flush();
    crashed.appendAsLeader(batch({ count: 2 }), 2);
    // Not closed (a crash), and its epoch checkpoint lost: reopening derives the epochs from the batches.
    fs.rmSync(path.join(dir, "leader-epoch-checkpoint"));
    const events = recordFsyncsAndRenames();
    try {
      const reopened = openLog(dir, clock);
      expect(reopened.leaderEpochEntries()).toEqual([{ epoch: 1, startOffset: 0 }, { epoch: 2, startOffset: 2 }]);
      expect(events.filter((event) => event.startsWith("fsync"))).toEqual([]);
      expect(events).toContain("rename leader-epoch-checkpoint");
    } finally {
      vi.restoreAllMocks();
    }
    expect(fs.readFileSync(path.join(dir, "leader-epoch-checkpoint"), "utf8")).toBe("0\n2\n1 0\n2 2\n");
  });

  it("replaces the epoch checkpoint on the append path without an fsync, and fsyncs it before a recovery point passes it", () => {
    const leader = openLog(tempPartitionDir("leader"), new ManualClock());
    leader.appendAsLeader(batch({ count: 3 }), 1);
    leader.appendAsLeader(batch({ count: 2 }), 2);
    const dir = tempPartitionDir("follower");
    const clock = new ManualClock();
    const follower = openLog(dir, clock);
    const events = recordFsyncsAndRenames();
    try {
      follower.appendAsFollower(leader.read(0, 1 << 20));
      follower.assignEpochStartOffset(4, follower.logEndOffset); // became leader
      expect(events).toEqual(["rename leader-epoch-checkpoint", "rename leader-epoch-checkpoint"]);
      // Replaced at once (a process crash keeps it), with every epoch.
      expect(fs.readFileSync(path.join(dir, "leader-epoch-checkpoint"), "utf8")).toBe("0\n3\n1 0\n2 3\n4 5\n");

      events.length = 0;
      follower.flush(); // its first recovery point checkpoint (later ones at most once a minute)
      const epochSynced = events.indexOf("fsync leader-epoch-checkpoint");
      const recoveryPointWritten = events.indexOf("rename recovery-point-checkpoint");
      expect(epochSynced).toBeGreaterThanOrEqual(0);
      expect(recoveryPointWritten).toBeGreaterThan(epochSynced);
      expect(events[epochSynced + 1]).toBe("fsync follower-0"); // and its folder, for the rename

      events.length = 0;
      clock.advance(60_000);
      follower.flush(); // the epochs did not change since they were synced
      expect(events).toContain("rename recovery-point-checkpoint");
      expect(events).not.toContain("fsync leader-epoch-checkpoint"); // synced once, not on every recovery point
    } finally {
      vi.restoreAllMocks();
    }
  });

  it("answers OffsetsForLeaderEpoch and keeps the cache consistent through truncation and restart", () => {
    const dir = tempPartitionDir();
    const clock = new ManualClock();
    const log = openLog(dir, clock);
    log.appendAsLeader(batch({ count: 4 }), 0);
    log.appendAsLeader(batch({ count: 4 }), 2);
    log.assignEpochStartOffset(5, log.logEndOffset);
    expect(log.latestEpoch).toBe(5);
    log.appendAsLeader(batch({ count: 4 }), 5);
    expect(log.endOffsetForEpoch(1)).toEqual({ leaderEpoch: 0, endOffset: 4 });
    expect(log.endOffsetForEpoch(2)).toEqual({ leaderEpoch: 2, endOffset: 8 });
    expect(log.endOffsetForEpoch(5)).toEqual({ leaderEpoch: 5, endOffset: 12 });
    log.truncateTo(8);
    expect(log.endOffsetForEpoch(5)).toEqual({ leaderEpoch: -1, endOffset: -1 });
    expect(log.endOffsetForEpoch(2)).toEqual({ leaderEpoch: 2, endOffset: 8 });
    log.close();
    expect(openLog(dir, clock).leaderEpochEntries()).toEqual([{ epoch: 0, startOffset: 0 }, { epoch: 2, startOffset: 4 }]);
  });
});

describe("truncation to the log end", () => {
  it("drops an epoch that starts at the log end with no records, so the follower stops diverging", () => {
    const dir = tempPartitionDir();
    const clock = new ManualClock();
    const log = openLog(dir, clock);
    log.appendAsLeader(batch({ count: 4 }), 0);
    // Led briefly at epoch 3, appended nothing, then became a follower of a leader that never had epoch 3.
    log.assignEpochStartOffset(3, log.logEndOffset);
    expect(log.latestEpoch).toBe(3);
    log.truncateTo(log.logEndOffset);
    expect(log.logEndOffset).toBe(4);
    expect(log.latestEpoch).toBe(0);
    log.truncateTo(10); // past the end: nothing to drop, nothing changes
    expect([log.logEndOffset, log.latestEpoch]).toEqual([4, 0]);
    log.close();
    expect(openLog(dir, clock).leaderEpochEntries()).toEqual([{ epoch: 0, startOffset: 0 }]);
  });
});

describe("segments", () => {
  it("rolls by size into files named by 20-digit base offsets, and reads across them", () => {
    const dir = tempPartitionDir();
    const log = openLog(dir, new ManualClock(), { segmentBytes: 1000 });
    for (let i = 0; i < 30; i++) log.appendAsLeader(batch({ count: 2, valueBytes: 50 }), 0);
    expect(log.segmentCount).toBeGreaterThan(3);
    const names = fs.readdirSync(dir).filter((name) => name.endsWith(".log"));
    expect(names[0]).toBe("00000000000000000000.log");
    expect(names.every((name) => /^\d{20}\.log$/.test(name))).toBe(true);
    expect(log.segmentBaseOffsets().map((base) => `${String(base).padStart(20, "0")}.log`)).toEqual(names);
    for (const name of names) expect(fs.statSync(path.join(dir, name)).size).toBeLessThanOrEqual(1000);
    expect(readAll(log).map((r) => r.offset)).toEqual(Array.from({ length: 60 }, (_, i) => i));
    // A read never crosses a segment boundary.
    const second = log.segmentBaseOffsets()[1]!;
    expect(Math.max(...batchBaseOffsets(log.read(0, 1 << 20)))).toBeLessThan(second);
  });

  it("keeps the indexes of only a few recently read old segments in memory", () => {
    const dir = tempPartitionDir();
    const clock = new ManualClock();
    const log = openLog(dir, clock, { segmentBytes: 300 });
    for (let i = 0; i < 100; i++) log.appendAsLeader(batch({ count: 2 }), 0);
    expect(log.segmentCount).toBeGreaterThan(20);
    expect(readAll(log)).toHaveLength(200);
    expect(log.segmentsWithIndexesInMemory).toBeLessThanOrEqual(9);
    log.close();
    const reopened = openLog(dir, clock, { segmentBytes: 300 });
    expect(reopened.offsetForTimestamp(0)).toEqual({ offset: 0, timestampMs: 1_700_000_000_000 });
    expect(readAll(reopened)).toHaveLength(200);
    expect(reopened.segmentsWithIndexesInMemory).toBeLessThanOrEqual(9);
  });

  it("rolls by age once segmentMs has passed since the segment started", () => {
    const clock = new ManualClock();
    const log = openLog(tempPartitionDir(), clock, { segmentMs: 60_000 });
    log.appendAsLeader(batch({ timestampMs: clock.nowMs }), 0);
    clock.advance(59_000);
    log.appendAsLeader(batch({ timestampMs: clock.nowMs }), 0);
    expect(log.segmentCount).toBe(1);
    clock.advance(2_000);
    log.appendAsLeader(batch({ timestampMs: clock.nowMs }), 0);
    expect(log.segmentBaseOffsets()).toEqual([0, 2]);
  });

  it("finds offsets by timestamp, and the record with the largest timestamp", () => {
    const log = openLog(tempPartitionDir(), new ManualClock(), { segmentBytes: 600, indexIntervalBytes: 100 });
    for (let i = 0; i < 20; i++) log.appendAsLeader(batch({ count: 2, timestampMs: 1000 + i * 10 }), 0);
    expect(log.segmentCount).toBeGreaterThan(2);
    expect(log.offsetForTimestamp(0)).toEqual({ offset: 0, timestampMs: 1000 });
    expect(log.offsetForTimestamp(1055)).toEqual({ offset: 12, timestampMs: 1060 });
    expect(log.offsetForTimestamp(1190)).toEqual({ offset: 38, timestampMs: 1190 });
    expect(log.offsetForTimestamp(1191)).toBeNull();
    expect(log.offsetForTimestamp(LATEST_TIMESTAMP)).toEqual({ offset: 40, timestampMs: -1 });
    expect(log.offsetForTimestamp(EARLIEST_TIMESTAMP)).toEqual({ offset: 0, timestampMs: -1 });
    expect(log.maxTimestampOffset()).toEqual({ offset: 38, timestampMs: 1190 });
  });
});

describe("truncation and log start", () => {
  it("truncates whole batches, across segments, and appends continue from the new end", () => {
    const dir = tempPartitionDir();
    const clock = new ManualClock();
    const log = openLog(dir, clock, { segmentBytes: 800 });
    for (let i = 0; i < 20; i++) log.appendAsLeader(batch({ count: 3 }), 0);
    log.truncateTo(31); // inside the batch 30..32: it goes whole
    expect(log.logEndOffset).toBe(30);
    expect(log.segmentBaseOffsets().every((base) => base <= 30)).toBe(true);
    expect(readAll(log).map((r) => r.offset)).toEqual(Array.from({ length: 30 }, (_, i) => i));
    expect(log.appendAsLeader(batch({ count: 2 }), 0)).toMatchObject({ baseOffset: 30, lastOffset: 31 });
    log.close();
    const reopened = openLog(dir, clock, { segmentBytes: 800 });
    expect(reopened.logEndOffset).toBe(32);
    expect(readAll(reopened)).toHaveLength(32);
  });

  it("forgets truncated idempotent batches so the producer can write them again", () => {
    const log = openLog(tempPartitionDir(), new ManualClock());
    log.appendAsLeader(batch({ count: 2, producerId: 3, producerEpoch: 0, baseSequence: 0 }), 0);
    log.appendAsLeader(batch({ count: 2, producerId: 3, producerEpoch: 0, baseSequence: 2 }), 0);
    log.truncateTo(2);
    expect(log.appendAsLeader(batch({ count: 2, producerId: 3, producerEpoch: 0, baseSequence: 2 }), 0)).toMatchObject({ duplicate: false, baseOffset: 2 });
  });

  it("empties the log and restarts it at an offset", () => {
    const dir = tempPartitionDir();
    const clock = new ManualClock();
    const log = openLog(dir, clock);
    log.appendAsLeader(batch({ count: 5 }), 1);
    log.truncateFullyAndStartAt(1000);
    expect([log.logStartOffset, log.logEndOffset, log.segmentCount, log.latestEpoch]).toEqual([1000, 1000, 1, -1]);
    expect(log.appendAsLeader(batch({ count: 1 }), 2)).toMatchObject({ baseOffset: 1000 });
    log.close();
    const reopened = openLog(dir, clock);
    expect([reopened.logStartOffset, reopened.logEndOffset]).toEqual([1000, 1001]);
  });

  it("moves the log start with deleteRecordsBefore, deletes segments below it, and remembers it", () => {
    const dir = tempPartitionDir();
    const clock = new ManualClock();
    const log = openLog(dir, clock, { segmentBytes: 700 });
    for (let i = 0; i < 20; i++) log.appendAsLeader(batch({ count: 2 }), 0);
    const segmentsBefore = log.segmentCount;
    const target = log.segmentBaseOffsets()[2]! + 1;
    expect(log.deleteRecordsBefore(target)).toBe(target);
    expect(log.segmentCount).toBe(segmentsBefore - 2);
    expect(readAll(log)[0]!.offset).toBe(target);
    expect(storageErrorOf(() => log.deleteRecordsBefore(1000)).kind).toBe("OFFSET_OUT_OF_RANGE");
    log.close();
    expect(openLog(dir, clock, { segmentBytes: 700 }).logStartOffset).toBe(target);
  });
});

describe("checkpoints, flushing and the folder", () => {
  it("stores the high watermark atomically and clamps it to the log when read", () => {
    const dir = tempPartitionDir();
    const clock = new ManualClock();
    const log = openLog(dir, clock);
    expect(log.readHighWatermarkCheckpoint()).toBeNull();
    for (let i = 0; i < 10; i++) log.appendAsLeader(batch(), 0);
    log.checkpointHighWatermark(7);
    expect(log.readHighWatermarkCheckpoint()).toBe(7);
    expect(fs.readdirSync(dir).filter((name) => name.endsWith(".tmp"))).toEqual([]);
    log.truncateTo(5);
    expect(log.readHighWatermarkCheckpoint()).toBe(5);
    log.close();
    expect(fs.readFileSync(path.join(dir, "high-watermark-checkpoint"), "utf8")).toBe("0\n7\n");
  });

  it("flushes every flushMessages records, moving the recovery point", () => {
    const log = openLog(tempPartitionDir(), new ManualClock(), { flushMessages: 5 });
    log.appendAsLeader(batch({ count: 3 }), 0);
    expect(log.recoveryPoint).toBe(0);
    log.appendAsLeader(batch({ count: 3 }), 0);
    expect(log.recoveryPoint).toBe(6);
  });

  it("flushes when flushMs has passed", () => {
    const clock = new ManualClock();
    const log = openLog(tempPartitionDir(), clock, { flushMs: 1000 });
    log.appendAsLeader(batch({ count: 3 }), 0);
    expect(log.flushIfDue()).toBe(false);
    clock.advance(1000);
    expect(log.flushIfDue()).toBe(true);
    expect(log.recoveryPoint).toBe(3);
  });

  it("starts a background writeback every writebackBytes appended, one at a time, and closes safely with one in flight", async () => {
    const dir = tempPartitionDir();
    const oneBatch = batch({ count: 1, valueBytes: 500 });
    const log = PartitionLog.open({ dir, now: new ManualClock().now, writebackBytes: oneBatch.length * 2 });
    log.appendAsLeader(batch({ count: 1, valueBytes: 500 }), 0);
    expect(log.writebacksStarted).toBe(0);
    log.appendAsLeader(batch({ count: 1, valueBytes: 500 }), 0);
    expect(log.writebacksStarted).toBe(1);
    // Still on the thread pool (its callback cannot have run yet): no second one on top of it.
    log.appendAsLeader(batch({ count: 1, valueBytes: 500 }), 0);
    log.appendAsLeader(batch({ count: 1, valueBytes: 500 }), 0);
    expect(log.writebacksStarted).toBe(1);
    // Once it lands, the next append past the threshold starts the next one.
    await vi.waitFor(() => {
      log.appendAsLeader(batch({ count: 1, valueBytes: 500 }), 0);
      expect(log.writebacksStarted).toBe(2);
    }, { timeout: 10_000, interval: 5 });
    const appended = log.logEndOffset;
    log.close(); // with the second writeback likely still in flight: the fd closes after it
    const reopened = PartitionLog.open({ dir, now: new ManualClock().now });
    expect(reopened.logEndOffset).toBe(appended);
    expect(readAll(reopened)).toHaveLength(appended);
    reopened.close();
  });

  // fincore (util-linux) reports how many of a file's bytes are in the page cache.
  const hasFincore = (() => { try { execFileSync("fincore", ["--version"], { stdio: "ignore" }); return true; } catch { return false; } })();
  const cachedBytes = (file: string) => Number(execFileSync("fincore", ["--bytes", "--noheadings", "--output", "RES", file], { encoding: "utf8" }).trim());

  it.skipIf(!hasFincore)("drops from the page cache what its writebacks wrote when told to (a follower's log), and keeps it otherwise", async () => {
    const logs = [true, false].map((drop) => {
      const dir = tempPartitionDir();
      const log = PartitionLog.open({ dir, now: new ManualClock().now, writebackBytes: 256 * 1024 });
      expect(log.setDropWrittenPages(drop)).toBe(true);
      return { drop, log, file: path.join(dir, "00000000000000000000.log") };
    });
    const appendToBoth = () => { for (const { log } of logs) log.appendAsLeader(batch({ count: 64, valueBytes: 1000 }), 0); };
    for (let i = 0; i < 64; i++) {
      appendToBoth();
      await new Promise((resolve) => setImmediate(resolve));
    }
    const [dropping, keeping] = logs;
    // Writebacks land on the thread pool in their own time: append on until they have dropped
    // most of the file (each drops what was written before it started).
    await vi.waitFor(() => {
      appendToBoth();
      expect(cachedBytes(dropping!.file)).toBeLessThan(fs.statSync(dropping!.file).size / 4);
    }, { timeout: 20_000, interval: 20 });
    expect(cachedBytes(keeping!.file)).toBeGreaterThan(fs.statSync(keeping!.file).size * 0.9);
    // Truncated (as a diverged follower is) and written again, the rewritten range is dropped too.
    const sizeBeforeTruncation = fs.statSync(dropping!.file).size;
    dropping!.log.truncateTo(Math.floor(dropping!.log.logEndOffset / 2));
    // Truncating reads some of the kept part (to find the cut and the last batch), caching it again.
    const cachedAfterTruncation = cachedBytes(dropping!.file);
    await vi.waitFor(() => {
      dropping!.log.appendAsLeader(batch({ count: 64, valueBytes: 1000 }), 0);
      expect(fs.statSync(dropping!.file).size).toBeGreaterThan(sizeBeforeTruncation);
      // Besides that, only what was written since the last writeback started (~256 KiB and more).
      expect(cachedBytes(dropping!.file)).toBeLessThan(cachedAfterTruncation + 1024 * 1024);
    }, { timeout: 20_000, interval: 20 });
    // Dropped pages are only uncached: every record still reads back.
    expect(readAll(dropping!.log)).toHaveLength(dropping!.log.logEndOffset);
    for (const { log } of logs) log.close();
  });

  it("leaves writeback to the OS by default", () => {
    const log = openLog(tempPartitionDir(), new ManualClock());
    for (let i = 0; i < 20; i++) log.appendAsLeader(batch({ count: 10, valueBytes: 1000 }), 0);
    expect(log.writebacksStarted).toBe(0);
  });

  it("refuses a log folder that is not a folder or not writable, saying which", (context) => {
    const dir = tempPartitionDir();
    fs.mkdirSync(path.dirname(dir), { recursive: true });
    fs.writeFileSync(dir, "a file where the folder should be");
    expect(storageErrorOf(() => openLog(dir, new ManualClock()))).toMatchObject({ kind: "KAFKA_STORAGE_ERROR", message: expect.stringMatching(/not a folder/) });

    const readOnly = tempPartitionDir("readonly");
    fs.mkdirSync(readOnly, { recursive: true });
    if (!makeReadOnly(readOnly)) {
      context.skip();
      return;
    }
    try {
      const error = storageErrorOf(() => openLog(readOnly, new ManualClock()));
      expect(error.kind).toBe("KAFKA_STORAGE_ERROR");
      expect(error.message).toMatch(new RegExp(`log folder ${readOnly} is not writable`));
    } finally {
      makeWritable(readOnly);
    }
  });

  it("refuses a config value out of range", () => {
    expect(storageErrorOf(() => PartitionLog.open({ dir: tempPartitionDir(), config: { segmentBytes: 10 }, now: () => 0 })).kind).toBe("INVALID_CONFIG");
  });
});

/** Root ignores permission bits, so the immutable attribute stands in for them there. */
function makeReadOnly(dir: string): boolean {
  if (process.getuid?.() !== 0) {
    fs.chmodSync(dir, 0o500);
    return true;
  }
  try {
    execFileSync("chattr", ["+i", dir], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

function makeWritable(dir: string): void {
  if (process.getuid?.() !== 0) fs.chmodSync(dir, 0o700);
  else execFileSync("chattr", ["-i", dir], { stdio: "ignore" });
}
