// The proof that kill -9 at any moment loses nothing written and keeps nothing torn: a child
// process appends a deterministic workload flat out and reports each append after it returned;
// it is killed at a random moment, 20 times over the same log. After each kill the log is
// reopened (recovering it) and must hold every reported batch, byte for byte, contiguous from
// offset 0, followed by nothing but possibly the batches of the one append in flight.
//
// The child runs the built package (dist/), as the broker does: build before testing.
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { decodeBatch, iterateBatches } from "@tributary/records";
import { afterEach, describe, expect, it } from "vitest";
import { PartitionLog } from "./partition-log.js";
// @ts-expect-error -- a plain .mjs module shared with the child process; typed by use here.
import { callEndOf, expectedBatch, firstOffsetOf, INDEX_INTERVAL_BYTES, PRODUCER_ID, SEGMENT_BYTES } from "./testing/crash-workload.mjs";
import { removeTempDirs, tempPartitionDir } from "./testing/fixtures.js";

const ROUNDS = 20;
const CHILD = fileURLToPath(new URL("./testing/append-child.mjs", import.meta.url));
const children = new Set<ChildProcess>();

afterEach(() => {
  for (const child of children) child.kill("SIGKILL");
  children.clear();
  removeTempDirs();
});

interface Round {
  /** The last batch index the child reported as appended, or -1. */
  lastReported: number;
  stderr: string;
  exitSignal: NodeJS.Signals | null;
}

function logBytesOnDisk(dir: string): number {
  return fs.readdirSync(dir).filter((name) => name.endsWith(".log")).reduce((sum, name) => sum + fs.statSync(path.join(dir, name)).size, 0);
}

type KillMoment =
  /** `afterMs` after the child was spawned: possibly during its open and recovery. */
  | { kind: "during-open"; afterMs: number }
  /** `afterMs` after the child reported its first append: somewhere in its append loop. */
  | { kind: "appending"; afterMs: number }
  /** As soon as the child announces a big write (about 4 MB): usually in the middle of it. */
  | { kind: "big-write" };

/** How long to wait for a big write before killing anyway. */
const BIG_WRITE_WAIT_MS = 1500;

/** Runs the child and kills it with SIGKILL at the given moment. */
function runChildAndKill(dir: string, moment: KillMoment): Promise<Round> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, dir], { stdio: ["ignore", "pipe", "pipe"] });
    children.add(child);
    let stdout = "";
    let stderr = "";
    let timer: NodeJS.Timeout | undefined;
    const killAfter = (ms: number): void => {
      timer ??= setTimeout(() => child.kill("SIGKILL"), ms);
    };
    if (moment.kind === "during-open") killAfter(moment.afterMs);
    child.stdout!.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      if (moment.kind === "appending" && stdout.includes("appended")) killAfter(moment.afterMs);
      if (moment.kind === "big-write" && stdout.includes("ready")) killAfter(BIG_WRITE_WAIT_MS);
      if (moment.kind === "big-write" && stdout.includes("writing")) child.kill("SIGKILL");
    });
    child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", reject);
    child.on("exit", (_code, signal) => {
      clearTimeout(timer);
      children.delete(child);
      let lastReported = -1;
      // Only whole lines count: a line cut by the kill was not fully reported.
      for (const line of stdout.split("\n").slice(0, -1)) {
        const match = /^appended (\d+) (\d+) (\d+) (\d+)$/.exec(line);
        if (match === null) continue;
        const [first, last, baseOffset, lastOffset] = match.slice(1).map(Number) as [number, number, number, number];
        expect(baseOffset).toBe(firstOffsetOf(first));
        expect(lastOffset).toBe(firstOffsetOf(last + 1) - 1);
        lastReported = last;
      }
      resolve({ lastReported, stderr, exitSignal: signal });
    });
  });
}

/**
 * Every batch in the log, in order: offsets contiguous from 0 and CRC intact, and from batch
 * `compareFrom` on (the ones written since the last check) byte for byte what the workload says.
 * Returns how many batches there are.
 */
function verifyLog(log: PartitionLog, compareFrom: number): number {
  let index = 0;
  let offset = log.logStartOffset;
  let bytesRead = 0;
  expect(offset).toBe(0);
  while (offset < log.logEndOffset) {
    const bytes = log.read(offset, 256 * 1024);
    expect(bytes.length).toBeGreaterThan(0);
    bytesRead += bytes.length;
    for (const { pos, sizeBytes } of iterateBatches(bytes)) {
      const stored = bytes.subarray(pos, pos + sizeBytes);
      const decoded = decodeBatch(stored); // checks the CRC
      expect(decoded.header.baseOffset).toBe(firstOffsetOf(index));
      expect(decoded.header.producerId).toBe(PRODUCER_ID);
      if (index >= compareFrom) {
        // Equal to what the producer sent, apart from the two fields the leader stamps.
        expect(stored.subarray(17).equals((expectedBatch(index) as Buffer).subarray(17))).toBe(true);
      }
      offset = decoded.header.baseOffset + decoded.header.lastOffsetDelta + 1;
      index++;
    }
  }
  expect(offset).toBe(log.logEndOffset);
  // Nothing but these batches is left in the segment files.
  expect(bytesRead).toBe(log.sizeBytes);
  return index;
}

describe("kill -9 while appending", () => {
  it(`keeps every reported batch and nothing torn, over ${ROUNDS} kills`, async () => {
    const dir = tempPartitionDir("crash");
    let batchesBefore = 0;
    let reportedTotal = 0;
    let tornTails = 0;
    let appendingRounds = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const moment: KillMoment = round % 5 === 4
        ? { kind: "during-open", afterMs: Math.floor(Math.random() * 300) }
        : round % 3 === 1 ? { kind: "big-write" } : { kind: "appending", afterMs: Math.floor(Math.random() * 60) };
      if (moment.kind === "appending") appendingRounds++;
      const { lastReported, stderr, exitSignal } = await runChildAndKill(dir, moment);
      expect(stderr).toBe("");
      expect(exitSignal).toBe("SIGKILL");
      const bytesOnDisk = logBytesOnDisk(dir);
      const log = PartitionLog.open({ dir, config: { segmentBytes: SEGMENT_BYTES, indexIntervalBytes: INDEX_INTERVAL_BYTES }, now: Date.now });
      if (log.sizeBytes < bytesOnDisk) tornTails++;
      const batches = verifyLog(log, Math.max(0, batchesBefore - 1));
      // Every reported batch is there; beyond them at most (a prefix of) the one unreported call.
      const firstUnreported = Math.max(lastReported + 1, batchesBefore);
      expect(batches).toBeGreaterThanOrEqual(firstUnreported);
      expect(batches).toBeLessThanOrEqual(callEndOf(firstUnreported));
      reportedTotal += Math.max(0, lastReported + 1 - batchesBefore);
      if (process.env.CRASH_TEST_VERBOSE) console.log(JSON.stringify({ round, moment, lastReported, batches, segments: log.segmentCount, bytes: log.sizeBytes, cutBytes: bytesOnDisk - log.sizeBytes }));
      batchesBefore = batches;
      // Half the rounds end with a clean close (the child then opens cleanly); half leave the
      // log as the kill did, so the child's own open recovers it too.
      if (round % 2 === 0) log.close();
    }
    // The kills landed while the child was appending, not only before it started.
    expect(reportedTotal).toBeGreaterThanOrEqual(appendingRounds);
    if (process.env.CRASH_TEST_VERBOSE) console.log(`torn tails cut by recovery: ${tornTails} of ${ROUNDS} kills`);
  }, 120_000);
});
