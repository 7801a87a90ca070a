import { describe, expect, it } from "vitest";
import { fetchRequestBytes } from "./fetcher.js";

describe("fetchRequestBytes (prefetch bound and backpressure)", () => {
  const base = { fetchMaxBytes: 10 * 1024 * 1024, maxPartitionFetchBytes: 1024 * 1024, bufferedBytes: 0, reservedBytes: 0, partitionCount: 2 };

  it("asks for each partition's share while there is room", () => {
    expect(fetchRequestBytes(base)).toBe(2 * 1024 * 1024);
  });

  it("never lets buffered plus in-flight bytes pass fetchMaxBytes", () => {
    const budget = { ...base, bufferedBytes: 7 * 1024 * 1024, reservedBytes: 2 * 1024 * 1024, partitionCount: 6 };
    const asked = fetchRequestBytes(budget);
    expect(asked).toBe(1024 * 1024);
    expect(budget.bufferedBytes + budget.reservedBytes + asked).toBeLessThanOrEqual(budget.fetchMaxBytes);
  });

  it("stops fetching (0) when a consumer does not poll and the buffer is full", () => {
    expect(fetchRequestBytes({ ...base, bufferedBytes: 10 * 1024 * 1024 })).toBe(0);
    expect(fetchRequestBytes({ ...base, bufferedBytes: 10 * 1024 * 1024 - 1000 })).toBe(0);
  });

  it("allows small partitions' whole share even below the minimum worth a call", () => {
    expect(fetchRequestBytes({ ...base, maxPartitionFetchBytes: 1000, partitionCount: 1 })).toBe(1000);
  });
});
