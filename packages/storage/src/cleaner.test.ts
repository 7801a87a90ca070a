import { decodeBatch, iterateBatches } from "@tributary/records";
import { afterEach, describe, expect, it } from "vitest";
import type { PartitionLog } from "./partition-log.js";
import { ManualClock, batch, openLog, readAll, removeTempDirs, tempPartitionDir } from "./testing/fixtures.js";

afterEach(removeTempDirs);

const DAY_MS = 86_400_000;
const COMPACTED = { cleanupPolicy: "compact" as const, segmentBytes: 700 };

/** Every batch of the log, across segments. */
function allBatches(log: PartitionLog): Buffer[] {
  const batches: Buffer[] = [];
  for (let offset = log.logStartOffset; offset < log.logEndOffset;) {
    const bytes = log.read(offset, 1 << 20);
    for (const { pos, sizeBytes } of iterateBatches(bytes)) {
      const header = decodeBatch(bytes, pos).header;
      batches.push(bytes.subarray(pos, pos + sizeBytes));
      offset = header.baseOffset + header.lastOffsetDelta + 1;
    }
  }
  return batches;
}

/** The newest value per key, as a consumer that reads the whole log ends up with. */
function latestByKey(records: { key: string | null; value: string | null }[]): Map<string, string | null> {
  const latest = new Map<string, string | null>();
  for (const record of records) if (record.key !== null) latest.set(record.key, record.value);
  return latest;
}

describe("compaction", () => {
  it("keeps the newest record per key before the active segment and never changes an offset", async () => {
    const clock = new ManualClock();
    const dir = tempPartitionDir();
    const log = openLog(dir, clock, COMPACTED);
    for (let i = 0; i < 60; i++) log.appendAsLeader(batch({ keys: [`key-${i % 5}`], values: [`value-${i}`] }), 0);
    const before = readAll(log);
    const activeBase = log.segmentBaseOffsets().at(-1)!;
    const stats = await log.compact();

    expect(stats.abortedBecause).toBeNull();
    expect(stats.endOffset).toBe(activeBase);
    expect(stats.recordsRemoved).toBeGreaterThan(40);
    const after = readAll(log);
    expect(latestByKey(after)).toEqual(latestByKey(before));
    // Every record kept has the offset and value it had; below the active segment one per key remains.
    const byOffset = new Map(before.map((record) => [record.offset, record]));
    for (const record of after) expect(record).toEqual(byOffset.get(record.offset));
    const compactedPart = after.filter((record) => record.offset < activeBase);
    expect(new Set(compactedPart.map((record) => record.key)).size).toBe(compactedPart.length);
    // The active segment is untouched.
    expect(after.filter((record) => record.offset >= activeBase)).toEqual(before.filter((record) => record.offset >= activeBase));
    expect(log.logEndOffset).toBe(60);
    expect(log.sizeBytes).toBeLessThan(stats.bytesRead + (log.sizeBytes - stats.bytesWritten));

    log.close();
    expect(readAll(openLog(dir, clock, COMPACTED))).toEqual(after);
  });

  it("keeps tombstones for deleteRetentionMs after first compacting them, then drops them", async () => {
    const clock = new ManualClock();
    const log = openLog(tempPartitionDir(), clock, { ...COMPACTED, deleteRetentionMs: DAY_MS });
    log.appendAsLeader(batch({ keys: ["gone", "kept"], values: ["v1", "v1"] }), 0);
    log.appendAsLeader(batch({ keys: ["gone"], values: [null] }), 0); // tombstone
    for (let i = 0; i < 20; i++) log.appendAsLeader(batch({ keys: [`filler-${i}`], values: ["x".repeat(40)] }), 0);

    await log.compact();
    let records = readAll(log);
    expect(records.filter((record) => record.key === "gone")).toEqual([expect.objectContaining({ offset: 2, value: null })]);

    clock.advance(DAY_MS - 1);
    await log.compact();
    expect(readAll(log).some((record) => record.key === "gone")).toBe(true);

    clock.advance(2);
    const stats = await log.compact();
    expect(stats.tombstonesRemoved).toBe(1);
    records = readAll(log);
    expect(records.some((record) => record.key === "gone")).toBe(false);
    expect(records.find((record) => record.key === "kept")).toMatchObject({ offset: 1, value: "v1" });
  });

  it("leaves records younger than minCompactionLagMs and offsets at or past the high watermark", async () => {
    const clock = new ManualClock();
    const log = openLog(tempPartitionDir(), clock, { ...COMPACTED, minCompactionLagMs: 60_000 });
    for (let i = 0; i < 40; i++) log.appendAsLeader(batch({ keys: ["same"], values: [`v${i}`], timestampMs: clock.nowMs }), 0);
    expect((await log.compact()).endOffset).toBe(0); // all too young
    clock.advance(60_001);
    const bases = log.segmentBaseOffsets();
    const stats = await log.compact({ highWatermark: bases[2]! });
    expect(stats.endOffset).toBe(bases[2]);
    // Below the bound the newest record of the key survives: what lies past the bound is not looked at.
    const records = readAll(log);
    expect(records.filter((record) => record.offset < bases[2]!).map((record) => record.offset)).toEqual([bases[2]! - 1]);
    expect(records.filter((record) => record.offset >= bases[2]!)).toHaveLength(40 - bases[2]!);
  });

  it("keeps producer fields on rewritten batches and a producer's last batch even when it empties", async () => {
    const clock = new ManualClock();
    const dir = tempPartitionDir();
    const log = openLog(dir, clock, COMPACTED);
    for (let seq = 0; seq < 10; seq++) log.appendAsLeader(batch({ keys: ["k", `unique-${seq}`], values: ["a", "b"], producerId: 31, producerEpoch: 2, baseSequence: seq * 2 }), 0);
    for (let i = 0; i < 20; i++) log.appendAsLeader(batch({ keys: ["k"], values: [`newer-${i}`] }), 0);
    await log.compact();
    const headers = allBatches(log).map((bytes) => decodeBatch(bytes).header);
    expect(headers.slice(0, 10).map((header) => [header.baseOffset, header.lastOffsetDelta, header.producerId, header.producerEpoch, header.baseSequence]))
      .toEqual(Array.from({ length: 10 }, (_, seq) => [seq * 2, 1, 31, 2, seq * 2]));
    // The producer's batches lost their "k" record; the retry of its last batch is still a duplicate.
    expect(readAll(log).filter((record) => record.offset < 20).map((record) => record.key)).toEqual(Array.from({ length: 10 }, (_, seq) => `unique-${seq}`));
    log.close();
    const reopened = openLog(dir, clock, COMPACTED);
    expect(reopened.appendAsLeader(batch({ keys: ["k", "unique-9"], values: ["a", "b"], producerId: 31, producerEpoch: 2, baseSequence: 18 }), 0))
      .toMatchObject({ duplicate: true, baseOffset: 18 });
  });

  it("keeps a compressed batch's codec when it rewrites it", async () => {
    const log = openLog(tempPartitionDir(), new ManualClock(), COMPACTED);
    log.appendAsLeader(batch({ keys: ["a", "b", "a"], values: ["1", "2", "3"], compression: "gzip" }), 0);
    for (let i = 0; i < 20; i++) log.appendAsLeader(batch({ keys: [`f${i}`], valueBytes: 40 }), 0);
    await log.compact();
    const first = decodeBatch(log.read(0, 1 << 20), 0);
    expect(first.compression).toBe("gzip");
    expect(first.records.map((record) => [record.offset, record.key?.toString()])).toEqual([[1, "b"], [2, "a"]]);
  });

  it("lets appends and reads go on while it works, and a follower can copy the result", async () => {
    const clock = new ManualClock();
    const log = openLog(tempPartitionDir(), clock, { cleanupPolicy: "compact", segmentBytes: 8 * 1024 });
    for (let i = 0; i < 2000; i++) log.appendAsLeader(batch({ keys: [`key-${i % 50}`], valueBytes: 60 }), 0);
    let appendsDuring = 0;
    let done = false;
    const compaction = log.compact({ chunkBytes: 4096 }).finally(() => (done = true));
    while (!done) {
      log.appendAsLeader(batch({ keys: [`during-${appendsDuring}`], valueBytes: 60 }), 0);
      expect(log.read(0, 100).length).toBeGreaterThan(0);
      appendsDuring++;
      await new Promise((resolve) => setImmediate(resolve));
    }
    const stats = await compaction;
    expect(stats.abortedBecause).toBeNull();
    expect(appendsDuring).toBeGreaterThan(10);
    const records = readAll(log);
    expect(records.filter((record) => record.key?.startsWith("during-"))).toHaveLength(appendsDuring);
    expect(log.logEndOffset).toBe(2000 + appendsDuring);

    const follower = openLog(tempPartitionDir("follower"), clock, { cleanupPolicy: "compact" });
    for (let offset = 0; offset < log.logEndOffset;) {
      const bytes = log.read(offset, 64 * 1024);
      const appended = follower.appendAsFollower(bytes)!;
      offset = appended.lastOffset + 1;
    }
    expect(readAll(follower)).toEqual(records);
  });

  it("gives up cleanly when the log is truncated under it", async () => {
    const clock = new ManualClock();
    const log = openLog(tempPartitionDir(), clock, { cleanupPolicy: "compact", segmentBytes: 4096 });
    for (let i = 0; i < 500; i++) log.appendAsLeader(batch({ keys: [`key-${i % 10}`], valueBytes: 60 }), 0);
    const compaction = log.compact({ chunkBytes: 1024 });
    await new Promise((resolve) => setImmediate(resolve));
    log.truncateTo(300);
    const stats = await compaction;
    expect(stats.abortedBecause).toMatch(/truncated/);
    expect(readAll(log).map((record) => record.offset)).toEqual(Array.from({ length: 300 }, (_, i) => i));
    expect((await log.compact()).abortedBecause).toBeNull();
  });

  it("waits until the uncompacted part is minCleanableDirtyRatio of the log", async () => {
    const log = openLog(tempPartitionDir(), new ManualClock(), COMPACTED);
    for (let i = 0; i < 60; i++) log.appendAsLeader(batch({ keys: [`key-${i}`], valueBytes: 40 }), 0);
    expect((await log.compact()).segmentsCleaned).toBeGreaterThan(3);
    for (let i = 0; i < 10; i++) log.appendAsLeader(batch({ keys: [`key-${i}`], valueBytes: 40 }), 0);
    const skipped = await log.compact();
    expect(skipped.dirtyRatio).toBeGreaterThan(0);
    expect(skipped.dirtyRatio).toBeLessThan(0.5);
    expect(skipped.segmentsCleaned).toBe(0);
    log.updateConfig({ minCleanableDirtyRatio: 0.01 });
    expect((await log.compact()).recordsRemoved).toBeGreaterThan(0);
  });

  it("refuses to run on a log whose policy does not compact", async () => {
    const log = openLog(tempPartitionDir(), new ManualClock());
    await expect(log.compact()).rejects.toMatchObject({ kind: "INVALID_CONFIG" });
  });
});
