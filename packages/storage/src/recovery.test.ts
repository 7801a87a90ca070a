// Recovery from what a crash or a bad disk leaves: torn and corrupt tails, broken index files,
// lost checkpoints and snapshots, interrupted compaction swaps. A "crash" here is abandoning a
// log without close(): its bytes are in the page cache, as after kill -9.
import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ManualClock, batch, openLog, readAll, removeTempDirs, tempPartitionDir } from "./testing/fixtures.js";

afterEach(removeTempDirs);

const SEGMENT = (base: number, suffix: string): string => `${String(base).padStart(20, "0")}${suffix}`;

function filled(dir: string, clock: ManualClock, batches: number, config = {}) {
  const log = openLog(dir, clock, config);
  const ends: number[] = [];
  for (let i = 0; i < batches; i++) {
    log.appendAsLeader(batch({ count: 2, keyPrefix: `b${i}-`, timestampMs: 1000 + i }), 0);
    ends.push(log.sizeBytes);
  }
  return { log, ends };
}

function expectRecords(records: { offset: number; key: string | null }[], batches: number): void {
  expect(records.map((r) => r.offset)).toEqual(Array.from({ length: batches * 2 }, (_, i) => i));
  expect(records.map((r) => r.key)).toEqual(Array.from({ length: batches * 2 }, (_, i) => `b${Math.floor(i / 2)}-${i % 2}`));
}

describe("recovery after an unclean stop", () => {
  it("cuts a batch torn in the middle and keeps every whole one", () => {
    const dir = tempPartitionDir();
    const clock = new ManualClock();
    const { ends } = filled(dir, clock, 10);
    fs.truncateSync(path.join(dir, SEGMENT(0, ".log")), ends[9]! - 7);
    const log = openLog(dir, clock);
    expect(log.logEndOffset).toBe(18);
    expectRecords(readAll(log), 9);
    expect(log.appendAsLeader(batch(), 0).baseOffset).toBe(18);
    expect(fs.statSync(path.join(dir, SEGMENT(0, ".log"))).size).toBeGreaterThan(ends[8]!);
  });

  it("cuts garbage after the last batch, and a batch whose bytes were corrupted", () => {
    const dir = tempPartitionDir();
    const clock = new ManualClock();
    const { ends } = filled(dir, clock, 6);
    const logFile = path.join(dir, SEGMENT(0, ".log"));
    fs.appendFileSync(logFile, Buffer.alloc(100, 0xab));
    let log = openLog(dir, clock);
    expectRecords(readAll(log), 6);
    expect(fs.statSync(logFile).size).toBe(ends[5]);

    const bytes = fs.readFileSync(logFile);
    bytes[ends[3]! + 70]! ^= 0x01; // inside batch 4's records: its CRC no longer matches
    fs.writeFileSync(logFile, bytes);
    fs.rmSync(path.join(dir, "clean-shutdown"), { force: true });
    log = openLog(dir, clock);
    expectRecords(readAll(log), 4);
    expect(log.logEndOffset).toBe(8);
  });

  it("drops the segments after one that had to be cut", () => {
    const dir = tempPartitionDir();
    const clock = new ManualClock();
    const { log: crashed } = filled(dir, clock, 30, { segmentBytes: 600 });
    const bases = crashed.segmentBaseOffsets();
    expect(bases.length).toBeGreaterThan(3);
    fs.writeFileSync(path.join(dir, "recovery-point-checkpoint"), `0\n${bases[1]}\n`);
    const secondLog = path.join(dir, SEGMENT(bases[1]!, ".log"));
    const bytes = fs.readFileSync(secondLog);
    bytes[bytes.length - 20]! ^= 0xff;
    fs.writeFileSync(secondLog, bytes);
    const log = openLog(dir, clock, { segmentBytes: 600 });
    expect(log.segmentBaseOffsets()).toEqual(bases.slice(0, 2));
    expect(log.logEndOffset).toBeLessThan(bases[2]!);
    expectRecords(readAll(log), log.logEndOffset / 2);
  });

  it("skips the scan after a clean shutdown and runs it after an unclean one", () => {
    const dir = tempPartitionDir();
    const clock = new ManualClock();
    const { log, ends } = filled(dir, clock, 5);
    log.close();
    const logFile = path.join(dir, SEGMENT(0, ".log"));
    const bytes = fs.readFileSync(logFile);
    bytes[ends[1]! + 70]! ^= 0x01; // silent corruption in batch 2
    fs.writeFileSync(logFile, bytes);
    // Clean: nothing is re-read, so nothing is noticed (a consumer's CRC check would be).
    const clean = openLog(dir, clock);
    expect(clean.logEndOffset).toBe(10);
    // The clean open removed the marker; without close(), the next open checks every batch.
    const unclean = openLog(dir, clock);
    expect(unclean.logEndOffset).toBe(4);
  });
});

describe("index files that do not match the log", () => {
  function closedLogWithSegments(dir: string, clock: ManualClock) {
    const config = { segmentBytes: 1200, indexIntervalBytes: 100 };
    const { log } = filled(dir, clock, 40, config);
    expect(log.segmentCount).toBeGreaterThan(3);
    const bases = log.segmentBaseOffsets();
    log.close();
    return { config, bases };
  }

  it.each([
    ["deleted", (file: string) => fs.rmSync(file)],
    ["cut to an odd size", (file: string) => fs.truncateSync(file, fs.statSync(file).size - 3)],
    ["overwritten with zeros", (file: string) => fs.writeFileSync(file, Buffer.alloc(fs.statSync(file).size))],
    ["shifted to plausible but wrong positions", (file: string) => {
      const bytes = fs.readFileSync(file);
      for (let pos = 0; pos + 8 <= bytes.length; pos += 8) bytes.writeInt32BE(bytes.readInt32BE(pos + 4) + 7, pos + 4);
      fs.writeFileSync(file, bytes);
    }],
  ])("rebuilds an offset index %s, and reads stay right", (_name, damage) => {
    const dir = tempPartitionDir();
    const clock = new ManualClock();
    const { config, bases } = closedLogWithSegments(dir, clock);
    for (const base of [bases[0]!, bases[1]!, bases[bases.length - 1]!]) {
      const file = path.join(dir, SEGMENT(base, ".index"));
      if (fs.existsSync(file) && fs.statSync(file).size > 0) damage(file);
    }
    const log = openLog(dir, clock, config);
    expect(log.logEndOffset).toBe(80);
    expectRecords(readAll(log, 150), 40);
    for (const offset of [3, 17, bases[1]! + 1, 79]) {
      expect(readAll(log, 1).length).toBe(80);
      expect(log.read(offset, 1).readBigInt64BE(0)).toBe(BigInt(offset - (offset % 2)));
    }
    log.close();
    // The rebuilt index was written back and is used as is next time.
    const fixed = fs.readFileSync(path.join(dir, SEGMENT(bases[0]!, ".index")));
    expect(fixed.length % 8).toBe(0);
    expect(fixed.length).toBeGreaterThan(0);
  });

  it("rebuilds a time index that lies, so lookups by time stay right", () => {
    const dir = tempPartitionDir();
    const clock = new ManualClock();
    const { config, bases } = closedLogWithSegments(dir, clock);
    const file = path.join(dir, SEGMENT(bases[0]!, ".timeindex"));
    const bytes = fs.readFileSync(file);
    bytes.writeBigInt64BE(BigInt(9_999_999), bytes.length - 12); // last entry claims a far-future time
    fs.writeFileSync(file, bytes);
    const log = openLog(dir, clock, config);
    expect(log.offsetForTimestamp(1005)).toEqual({ offset: 10, timestampMs: 1005 });
    expect(log.maxTimestampOffset()).toEqual({ offset: 78, timestampMs: 1039 });
  });
});

describe("state kept beside the log", () => {
  it("rebuilds a lost leader epoch checkpoint from the batches", () => {
    const dir = tempPartitionDir();
    const clock = new ManualClock();
    const log = openLog(dir, clock, { segmentBytes: 500 });
    for (let epoch = 0; epoch < 4; epoch++) for (let i = 0; i < 5; i++) log.appendAsLeader(batch(), epoch * 2);
    log.close();
    fs.writeFileSync(path.join(dir, "leader-epoch-checkpoint"), "0\n3\n0 0\n"); // says 3 entries, has 1
    const reopened = openLog(dir, clock, { segmentBytes: 500 });
    expect(reopened.leaderEpochEntries()).toEqual([
      { epoch: 0, startOffset: 0 }, { epoch: 2, startOffset: 5 }, { epoch: 4, startOffset: 10 }, { epoch: 6, startOffset: 15 },
    ]);
  });

  it("ignores a damaged producer snapshot and replays the batches instead", () => {
    const dir = tempPartitionDir();
    const clock = new ManualClock();
    const log = openLog(dir, clock);
    for (let seq = 0; seq < 10; seq++) log.appendAsLeader(batch({ producerId: 4, producerEpoch: 0, baseSequence: seq }), 0);
    log.close();
    const snapshot = path.join(dir, SEGMENT(10, ".snapshot"));
    fs.writeFileSync(snapshot, fs.readFileSync(snapshot, "utf8").replace('"version"', '"versiom"'));
    const reopened = openLog(dir, clock);
    expect(reopened.appendAsLeader(batch({ producerId: 4, producerEpoch: 0, baseSequence: 9 }), 0)).toMatchObject({ duplicate: true, baseOffset: 9 });
    expect(fs.existsSync(snapshot)).toBe(false);
  });

  it("removes files an interrupted write left and finishes an interrupted compaction swap", () => {
    const dir = tempPartitionDir();
    const clock = new ManualClock();
    const { log } = filled(dir, clock, 30, { segmentBytes: 600 });
    const bases = log.segmentBaseOffsets();
    log.close();
    fs.writeFileSync(path.join(dir, "recovery-point-checkpoint.tmp"), "half");
    fs.writeFileSync(path.join(dir, SEGMENT(bases[2]!, ".log.cleaned")), "half-written cleaner output");
    // A swap that replaces the first two segments with their content (a compaction that removed nothing).
    const merged = Buffer.concat([fs.readFileSync(path.join(dir, SEGMENT(bases[0]!, ".log"))), fs.readFileSync(path.join(dir, SEGMENT(bases[1]!, ".log")))]);
    fs.writeFileSync(path.join(dir, SEGMENT(bases[0]!, ".log.swap")), merged);
    const reopened = openLog(dir, clock, { segmentBytes: 600 });
    expect(reopened.segmentBaseOffsets()).toEqual([bases[0], ...bases.slice(2)]);
    expectRecords(readAll(reopened), 30);
    expect(fs.readdirSync(dir).filter((name) => /\.(tmp|cleaned|swap)$/.test(name))).toEqual([]);
  });
});
