// LevelRaftStorage: what is written is read back, overwrites and compactions leave exactly the
// right entries, damage is reported rather than read as valid, and kill -9 mid-stream never
// loses a write reported durable nor exposes half of one.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Level } from "level";
import { afterEach, describe, expect, it } from "vitest";
import { LevelRaftStorage } from "./level-storage.js";
import type { RaftInitialState } from "./node.js";
import { createSeededRandom } from "./random.js";
import { entryKey } from "./record-codec.js";
import type { StorageWrite } from "./storage.js";
import { applyPlanned, makeEntry, type PlannedWrite } from "./testing/crash-workload.js";

const directories: string[] = [];
function freshDirectory(): string {
  const directory = mkdtempSync(join(tmpdir(), "raft-level-"));
  directories.push(directory);
  return directory;
}
/** Writer processes still running, killed after each test whatever happened. */
const writers = new Set<ChildProcess>();
afterEach(() => {
  for (const writer of writers) writer.kill("SIGKILL");
  writers.clear();
  for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true });
});

const entries = (from: number, to: number, term: number) => Array.from({ length: to - from + 1 }, (_, k) => makeEntry(from + k, term));
const write = (partial: Partial<StorageWrite>): StorageWrite => ({ hardState: null, installSnapshot: null, compaction: null, entries: [], ...partial });

async function reopen(directory: string): Promise<RaftInitialState> {
  const storage = await LevelRaftStorage.open(directory);
  try {
    return await storage.load();
  } finally {
    await storage.close();
  }
}

describe("LevelRaftStorage", () => {
  it("reads back hard state and entries after a reopen", async () => {
    const directory = freshDirectory();
    const storage = await LevelRaftStorage.open(directory);
    expect(await storage.load()).toEqual({ hardState: null, snapshot: null, entries: [] });
    await storage.write(write({ hardState: { term: 3, vote: 2, commit: 4 }, entries: entries(1, 5, 3) }), { sync: true });
    await storage.close();
    const loaded = await reopen(directory);
    expect(loaded.hardState).toEqual({ term: 3, vote: 2, commit: 4 });
    expect(loaded.entries).toEqual(entries(1, 5, 3));
  });

  it("an overwrite replaces the tail and deletes what lay beyond it", async () => {
    const directory = freshDirectory();
    const storage = await LevelRaftStorage.open(directory);
    await storage.load();
    await storage.write(write({ entries: entries(1, 10, 1) }), { sync: true });
    await storage.write(write({ entries: entries(6, 8, 2) }), { sync: true });
    await storage.close();
    expect((await reopen(directory)).entries).toEqual([...entries(1, 5, 1), ...entries(6, 8, 2)]);
  });

  it("compaction keeps later entries; an installed snapshot drops them all", async () => {
    const directory = freshDirectory();
    const storage = await LevelRaftStorage.open(directory);
    await storage.load();
    await storage.write(write({ entries: entries(1, 10, 1) }), { sync: true });
    const image = { index: 4, term: 1, data: Uint8Array.of(4) };
    await storage.write(write({ compaction: image }), { sync: true });
    await storage.close();
    let loaded = await reopen(directory);
    expect(loaded.snapshot).toEqual(image);
    expect(loaded.entries).toEqual(entries(5, 10, 1));

    const again = await LevelRaftStorage.open(directory);
    await again.load();
    const installed = { index: 20, term: 5, data: Uint8Array.of(20) };
    await again.write(write({ installSnapshot: installed, entries: entries(21, 22, 5) }), { sync: true });
    await again.close();
    loaded = await reopen(directory);
    expect(loaded.snapshot).toEqual(installed);
    expect(loaded.entries).toEqual(entries(21, 22, 5));
  });

  it("reports a damaged entry as STORAGE_CORRUPT instead of reading it", async () => {
    const directory = freshDirectory();
    const storage = await LevelRaftStorage.open(directory);
    await storage.load();
    await storage.write(write({ entries: entries(1, 3, 1) }), { sync: true });
    await storage.close();
    const raw = new Level<Uint8Array, Uint8Array>(directory, { keyEncoding: "view", valueEncoding: "view" });
    const stored = (await raw.get(entryKey(2)))!;
    const damaged = stored.slice();
    damaged[damaged.length - 1]! ^= 0x40;
    await raw.put(entryKey(2), damaged);
    await raw.close();
    await expect(reopen(directory)).rejects.toMatchObject({ code: "STORAGE_CORRUPT" });
  });

  it("reports a gap in the stored entries as STORAGE_CORRUPT", async () => {
    const directory = freshDirectory();
    const storage = await LevelRaftStorage.open(directory);
    await storage.load();
    await storage.write(write({ entries: entries(1, 3, 1) }), { sync: true });
    await storage.close();
    const raw = new Level<Uint8Array, Uint8Array>(directory, { keyEncoding: "view", valueEncoding: "view" });
    await raw.del(entryKey(2));
    await raw.close();
    await expect(reopen(directory)).rejects.toMatchObject({ code: "STORAGE_CORRUPT" });
  });

  it("kill -9 mid-stream never loses a write reported durable nor exposes part of one", { timeout: 120_000 }, async () => {
    const child = new URL("../dist/testing/level-crash-child.js", import.meta.url).pathname;
    expect(existsSync(child), `${child} is missing: build the package first (npx tsc -b packages/raft)`).toBe(true);
    const directory = freshDirectory();
    const random = createSeededRandom(2024);
    let durable: RaftInitialState = { hardState: null, snapshot: null, entries: [] };
    let totalDone = 0;
    for (let round = 0; round < 6; round++) {
      const killAfterDone = 20 + Math.floor(random() * 150);
      const outcome = await runChildUntilKilled(child, directory, round, killAfterDone, durable);
      totalDone += outcome.done;
      const loaded = await reopen(directory);
      // The write in flight at the kill is either wholly there or wholly absent.
      const candidates = outcome.inFlight === null ? [outcome.durable] : [outcome.durable, applyPlanned(outcome.durable, outcome.inFlight)];
      expect(candidates.some((candidate) => sameState(candidate, loaded)), `round ${round}: stored state matches neither the last confirmed write nor the one in flight`).toBe(true);
      durable = loaded;
    }
    expect(totalDone).toBeGreaterThan(100);
  });
});

interface ChildOutcome {
  readonly durable: RaftInitialState;
  readonly inFlight: PlannedWrite | null;
  readonly done: number;
}

/** Run the writer child, SIGKILL it after `killAfterDone` confirmed writes, and replay what it reported. */
function runChildUntilKilled(child: string, directory: string, seed: number, killAfterDone: number, start: RaftInitialState): Promise<ChildOutcome> {
  return new Promise((resolve, reject) => {
    const writer = spawn("node", [child, directory, String(seed)], { stdio: ["ignore", "pipe", "pipe"] });
    writers.add(writer);
    let state = start;
    let inFlight: PlannedWrite | null = null;
    let done = 0;
    let buffered = "";
    let stderr = "";
    let killed = false;
    writer.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    writer.stdout.on("data", (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split("\n");
      buffered = lines.pop()!;
      for (const line of lines) {
        if (line.startsWith("begin ")) {
          inFlight = JSON.parse(line.slice(6)) as PlannedWrite;
        } else if (line === "done") {
          state = applyPlanned(state, inFlight!);
          inFlight = null;
          done++;
        }
      }
      if (!killed && done >= killAfterDone) {
        killed = true;
        writer.kill("SIGKILL");
      }
    });
    writer.on("error", reject);
    writer.on("close", (code, signal) => {
      writers.delete(writer);
      if (signal !== "SIGKILL") reject(new Error(`writer exited with ${code ?? signal} before being killed: ${stderr}`));
      else resolve({ durable: state, inFlight, done });
    });
  });
}

function sameState(a: RaftInitialState, b: RaftInitialState): boolean {
  return JSON.stringify(normalize(a)) === JSON.stringify(normalize(b));
}

function normalize(state: RaftInitialState): unknown {
  const bytes = (data: Uint8Array) => Buffer.from(data).toString("base64");
  return {
    hardState: state.hardState,
    snapshot: state.snapshot === null ? null : { ...state.snapshot, data: bytes(state.snapshot.data) },
    entries: state.entries.map((entry) => ({ ...entry, data: bytes(entry.data) })),
  };
}
