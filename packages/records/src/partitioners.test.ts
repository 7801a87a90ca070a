import { describe, expect, it } from "vitest";
import { partitionForKey } from "./murmur2.js";
import { createStickyPartitioner, hasOnNewBatch, partitioners, type PartitionerContext } from "./partitioners.js";

const unkeyed = (topic: string, partitionCount: number, availablePartitions?: number[]): PartitionerContext => ({
  topic,
  key: null,
  partitionCount,
  ...(availablePartitions === undefined ? {} : { availablePartitions }),
});

/** Returns the given values in turn, as a replayable stand-in for Math.random. */
function scriptedRandom(values: number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length]!;
}

describe("partitioners.murmur2Default", () => {
  it("hashes keys over all partitions, ignoring availability (so a key never moves)", () => {
    const key = Buffer.from("order-17");
    expect(partitioners.murmur2Default({ topic: "t", key, partitionCount: 10, availablePartitions: [0] })).toBe(partitionForKey(key, 10));
  });

  it("refuses unkeyed records with a pointer to the sticky partitioner", () => {
    expect(() => partitioners.murmur2Default(unkeyed("t", 3))).toThrow(/createStickyPartitioner/);
  });
});

describe("partitioners.roundRobin", () => {
  it("cycles through partitions, per topic", () => {
    const next = partitioners.roundRobin();
    expect([0, 1, 2, 3].map(() => next(unkeyed("a", 3)))).toEqual([0, 1, 2, 0]);
    expect(next(unkeyed("b", 3))).toBe(0);
  });

  it("cycles through available partitions when some are down", () => {
    const next = partitioners.roundRobin();
    expect([0, 1, 2].map(() => next(unkeyed("a", 6, [1, 4])))).toEqual([1, 4, 1]);
  });
});

describe("partitioners.custom", () => {
  it("passes a valid answer through and refuses an invalid one clearly", () => {
    expect(partitioners.custom(() => 2)(unkeyed("t", 3))).toBe(2);
    expect(() => partitioners.custom(() => 3)(unkeyed("t", 3))).toThrow(/returned 3 for topic t, which has partitions 0..2/);
    expect(() => partitioners.custom(() => 0.5)(unkeyed("t", 3))).toThrow(RangeError);
  });
});

describe("createStickyPartitioner", () => {
  it("hashes keyed records with murmur2", () => {
    const sticky = createStickyPartitioner();
    const key = Buffer.from("user-42");
    expect(sticky({ topic: "t", key, partitionCount: 8 })).toBe(partitionForKey(key, 8));
  });

  it("keeps unkeyed records on one partition until its batch closes, then moves to another", () => {
    const sticky = createStickyPartitioner({ random: scriptedRandom([0.5, 0.0]) });
    expect(hasOnNewBatch(sticky)).toBe(true);
    const first = sticky(unkeyed("t", 4));
    expect(first).toBe(2); // floor(0.5 * 4)
    for (let i = 0; i < 100; i++) expect(sticky(unkeyed("t", 4))).toBe(first);
    sticky.onNewBatch("t", first);
    const second = sticky(unkeyed("t", 4));
    expect(second).not.toBe(first);
    expect(second).toBe(0); // floor(0.0 * 3) over the other partitions [0, 1, 3]
    expect(sticky(unkeyed("t", 4))).toBe(second);
  });

  it("ignores a closed batch on a partition it is not sticking to", () => {
    const sticky = createStickyPartitioner({ random: scriptedRandom([0.1]) });
    const current = sticky(unkeyed("t", 4));
    sticky.onNewBatch("t", (current + 1) % 4);
    expect(sticky(unkeyed("t", 4))).toBe(current);
  });

  it("sticks per topic", () => {
    const sticky = createStickyPartitioner({ random: scriptedRandom([0.0, 0.99]) });
    expect(sticky(unkeyed("a", 4))).toBe(0);
    expect(sticky(unkeyed("b", 4))).toBe(3);
    expect(sticky(unkeyed("a", 4))).toBe(0);
  });

  it("prefers available partitions and leaves one that becomes unavailable", () => {
    const sticky = createStickyPartitioner({ random: scriptedRandom([0.0]) });
    expect(sticky(unkeyed("t", 6, [3, 5]))).toBe(3);
    expect(sticky(unkeyed("t", 6, [5]))).toBe(5);
  });

  it("stays on the only partition there is", () => {
    const sticky = createStickyPartitioner();
    sticky(unkeyed("t", 1));
    sticky.onNewBatch("t", 0);
    expect(sticky(unkeyed("t", 1))).toBe(0);
  });

  it("spreads unkeyed batches over all partitions with the real random source", () => {
    const sticky = createStickyPartitioner();
    const seen = new Set<number>();
    for (let batch = 0; batch < 200; batch++) {
      const partition = sticky(unkeyed("t", 5));
      seen.add(partition);
      sticky.onNewBatch("t", partition);
    }
    expect([...seen].sort()).toEqual([0, 1, 2, 3, 4]);
  });
});
