// MemoryRaftStorage models a disk that can lose what is not yet durable; the simulator's crash
// tests are only as good as this model, so check it directly.
import { describe, expect, it } from "vitest";
import { MemoryRaftStorage } from "./memory-storage.js";
import type { StorageWrite } from "./storage.js";
import { entriesWithTerms } from "./testing/manual-cluster.js";

const write = (partial: Partial<StorageWrite>): StorageWrite => ({ hardState: null, installSnapshot: null, compaction: null, entries: [], ...partial });

describe("MemoryRaftStorage", () => {
  it("a crash loses a write not yet completed, and its promise never settles", async () => {
    const completions: Array<() => void> = [];
    const storage = new MemoryRaftStorage({ scheduleCompletion: (complete) => completions.push(complete) });
    let settled = false;
    void storage.write(write({ entries: entriesWithTerms([1, 1]) }), { sync: true }).then(() => (settled = true));
    storage.crash();
    completions.forEach((complete) => complete());
    await Promise.resolve();
    expect(settled).toBe(false);
    expect((await storage.load()).entries).toEqual([]);
  });

  it("an unsynced write is lost by a crash unless a later synced write completes", async () => {
    const storage = new MemoryRaftStorage();
    await storage.write(write({ hardState: { term: 1, vote: null, commit: 0 }, entries: entriesWithTerms([1]) }), { sync: true });
    await storage.write(write({ hardState: { term: 1, vote: null, commit: 1 } }), { sync: false });
    expect((await storage.load()).hardState?.commit).toBe(1);
    storage.crash();
    expect((await storage.load()).hardState?.commit).toBe(0);
    await storage.write(write({ hardState: { term: 1, vote: null, commit: 1 } }), { sync: false });
    await storage.write(write({ entries: entriesWithTerms([1], 2) }), { sync: true });
    storage.crash();
    const loaded = await storage.load();
    expect(loaded.hardState?.commit).toBe(1);
    expect(loaded.entries.map((entry) => entry.index)).toEqual([1, 2]);
  });

  it("applies install, compaction and overwrites as StorageWrite documents", async () => {
    const storage = new MemoryRaftStorage();
    await storage.write(write({ entries: entriesWithTerms([1, 1, 1, 1, 1]) }), { sync: true });
    await storage.write(write({ entries: entriesWithTerms([2, 2], 4) }), { sync: true });
    expect((await storage.load()).entries.map((entry) => entry.term)).toEqual([1, 1, 1, 2, 2]);
    await storage.write(write({ compaction: { index: 3, term: 1, data: new Uint8Array(0) } }), { sync: true });
    expect((await storage.load()).entries.map((entry) => entry.index)).toEqual([4, 5]);
    await storage.write(write({ installSnapshot: { index: 9, term: 3, data: new Uint8Array(0) } }), { sync: true });
    const loaded = await storage.load();
    expect(loaded.snapshot?.index).toBe(9);
    expect(loaded.entries).toEqual([]);
    await expect(storage.write(write({ entries: entriesWithTerms([3], 12) }), { sync: true })).rejects.toThrow(/gap/);
  });
});
