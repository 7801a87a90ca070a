import { describe, expect, it } from "vitest";
import { OffsetIndex } from "./offset-index.js";
import { TimeIndex } from "./time-index.js";

describe("offset index", () => {
  it("finds the entry at or below an offset, and position 0 below the first entry", () => {
    const index = new OffsetIndex(100, 1000);
    index.append(110, 4096);
    index.append(125, 8200);
    index.append(140, 12_300);
    expect(index.lookup(105)).toEqual({ offset: 100, position: 0 });
    expect(index.lookup(110)).toEqual({ offset: 110, position: 4096 });
    expect(index.lookup(139)).toEqual({ offset: 125, position: 8200 });
    expect(index.lookup(10_000)).toEqual({ offset: 140, position: 12_300 });
    expect(index.positionAtOrAfter(126)).toBe(12_300);
    expect(index.positionAtOrAfter(141)).toBeNull();
  });

  it("round-trips through its file bytes and refuses files that cannot describe the segment", () => {
    const index = new OffsetIndex(0, 1000);
    for (let i = 1; i <= 200; i++) index.append(i * 10, i * 4096);
    const loaded = OffsetIndex.fromFileBytes(0, 1000, index.toFileBytes(), 201 * 4096);
    expect(loaded).toBeInstanceOf(OffsetIndex);
    expect((loaded as OffsetIndex).lookup(1234)).toEqual({ offset: 1230, position: 123 * 4096 });

    expect(OffsetIndex.fromFileBytes(0, 1000, index.toFileBytes().subarray(0, 13), 1 << 30)).toMatch(/multiple of 8/);
    expect(OffsetIndex.fromFileBytes(0, 1000, index.toFileBytes(), 4096)).toMatch(/past the log/);
    expect(OffsetIndex.fromFileBytes(0, 1000, Buffer.alloc(64), 1 << 20)).toMatch(/out of order/);
  });

  it("forgets entries at or past a cut position", () => {
    const index = new OffsetIndex(0, 1000);
    index.append(10, 100);
    index.append(20, 200);
    index.truncateToPosition(200);
    expect(index.entryCount).toBe(1);
    expect(index.lookup(25)).toEqual({ offset: 10, position: 100 });
  });
});

describe("time index", () => {
  it("starts the scan where the largest timestamp <= target first appeared", () => {
    const index = new TimeIndex(0, 1000);
    expect(index.maybeAppend(1000, 0)).toBe(true);
    expect(index.maybeAppend(1000, 5)).toBe(false); // not newer
    expect(index.maybeAppend(2000, 10)).toBe(true);
    expect(index.maybeAppend(3000, 20)).toBe(true);
    expect(index.lookup(500)).toBe(0);
    expect(index.lookup(2000)).toBe(10);
    expect(index.lookup(2999)).toBe(10);
    expect(index.lookup(9999)).toBe(20);
    index.truncateToOffset(20);
    expect(index.lastEntry()).toEqual({ timestampMs: 2000, offset: 10 });
  });

  it("round-trips through its file bytes and refuses decreasing entries", () => {
    const index = new TimeIndex(50, 100);
    index.maybeAppend(1_700_000_000_000, 50);
    index.maybeAppend(1_700_000_000_500, 60);
    const loaded = TimeIndex.fromFileBytes(50, 100, index.toFileBytes(), 100);
    expect((loaded as TimeIndex).lastEntry()).toEqual({ timestampMs: 1_700_000_000_500, offset: 60 });
    const swapped = Buffer.concat([index.toFileBytes().subarray(12), index.toFileBytes().subarray(0, 12)]);
    expect(TimeIndex.fromFileBytes(50, 100, swapped, 100)).toMatch(/does not follow/);
  });
});
