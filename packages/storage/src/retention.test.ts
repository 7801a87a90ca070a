import fs from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { ManualClock, batch, openLog, readAll, removeTempDirs, tempPartitionDir } from "./testing/fixtures.js";

afterEach(removeTempDirs);

const HOUR_MS = 3_600_000;

describe("retention", () => {
  it("deletes whole segments whose newest record is older than retentionMs, never the active one", () => {
    const clock = new ManualClock();
    const dir = tempPartitionDir();
    const log = openLog(dir, clock, { segmentBytes: 600, retentionMs: 10 * HOUR_MS });
    const start = clock.nowMs;
    for (let i = 0; i < 30; i++) log.appendAsLeader(batch({ count: 2, timestampMs: start + i * HOUR_MS }), 0);
    const bases = log.segmentBaseOffsets();
    expect(bases.length).toBeGreaterThan(4);
    clock.nowMs = start + 29 * HOUR_MS;
    const result = log.runRetention();
    // Batch i (offsets 2i, 2i+1) is older than 10 h when i < 19: a segment goes when all of it is.
    const expectedGone = bases.filter((_, s) => s + 1 < bases.length && bases[s + 1]! <= 38);
    expect(result.segmentsDeleted).toBe(expectedGone.length);
    expect(result.reasons.every((reason) => reason === "time")).toBe(true);
    expect(log.logStartOffset).toBe(bases[expectedGone.length]);
    expect(readAll(log)[0]!.offset).toBe(log.logStartOffset);
    expect(fs.readdirSync(dir).filter((name) => name.endsWith(".log"))).toHaveLength(bases.length - expectedGone.length);

    clock.nowMs = start + 1000 * HOUR_MS; // everything expired: the active segment still stays
    log.runRetention();
    expect(log.segmentCount).toBe(1);
    expect(log.logEndOffset).toBe(60);
  });

  it("keeps everything with retentionMs -1", () => {
    const clock = new ManualClock();
    const log = openLog(tempPartitionDir(), clock, { segmentBytes: 600, retentionMs: -1 });
    for (let i = 0; i < 20; i++) log.appendAsLeader(batch({ count: 2, timestampMs: 0 }), 0);
    expect(log.runRetention().segmentsDeleted).toBe(0);
  });

  it("deletes the oldest segments while the log is over retentionBytes", () => {
    const clock = new ManualClock();
    const log = openLog(tempPartitionDir(), clock, { segmentBytes: 1000, retentionBytes: 2500, retentionMs: -1 });
    for (let i = 0; i < 60; i++) log.appendAsLeader(batch({ count: 2 }), 0);
    const sizeBefore = log.sizeBytes;
    const result = log.runRetention();
    expect(result.reasons.every((reason) => reason === "size")).toBe(true);
    expect(log.sizeBytes).toBeLessThanOrEqual(2500 + 1000);
    expect(log.sizeBytes).toBeGreaterThan(2500 - 1000);
    expect(result.bytesDeleted).toBe(sizeBefore - log.sizeBytes);
  });

  it("keeps segments holding offsets at or past the high watermark", () => {
    const clock = new ManualClock();
    const log = openLog(tempPartitionDir(), clock, { segmentBytes: 600, retentionMs: 1000 });
    for (let i = 0; i < 30; i++) log.appendAsLeader(batch({ count: 2, timestampMs: 0 }), 0);
    const bases = log.segmentBaseOffsets();
    log.runRetention({ highWatermark: bases[2]! });
    expect(log.segmentBaseOffsets()).toEqual(bases.slice(2));
  });

  it("applies only the log start rule when the policy is compact", () => {
    const clock = new ManualClock();
    const log = openLog(tempPartitionDir(), clock, { segmentBytes: 600, retentionMs: 1000, retentionBytes: 100, cleanupPolicy: "compact" });
    for (let i = 0; i < 30; i++) log.appendAsLeader(batch({ count: 2, timestampMs: 0 }), 0);
    const segments = log.segmentCount;
    expect(log.runRetention().segmentsDeleted).toBe(0);
    log.deleteRecordsBefore(log.segmentBaseOffsets()[1]!);
    expect(log.segmentCount).toBe(segments - 1);
  });

  it("remembers what it deleted across a restart, and forgets idle producers", () => {
    const clock = new ManualClock();
    const dir = tempPartitionDir();
    const config = { segmentBytes: 600, retentionMs: HOUR_MS, producerIdExpirationMs: 2 * HOUR_MS };
    const log = openLog(dir, clock, config);
    for (let i = 0; i < 30; i++) log.appendAsLeader(batch({ count: 2, timestampMs: clock.nowMs, producerId: 1, producerEpoch: 0, baseSequence: i * 2 }), 0);
    expect(log.producerCount).toBe(1);
    clock.advance(3 * HOUR_MS);
    const result = log.runRetention();
    expect(result.producersExpired).toBe(1);
    const logStart = log.logStartOffset;
    expect(logStart).toBeGreaterThan(0);
    log.close();
    const reopened = openLog(dir, clock, config);
    expect(reopened.logStartOffset).toBe(logStart);
    expect(reopened.segmentCount).toBe(1);
    // The producer's state is gone with its batches: it may start again at any sequence.
    expect(reopened.appendAsLeader(batch({ producerId: 1, producerEpoch: 0, baseSequence: 500 }), 0).duplicate).toBe(false);
  });
});
