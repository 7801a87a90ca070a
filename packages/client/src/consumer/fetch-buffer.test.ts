import { BATCH_HEADER_BYTES, encodeBatch, writeBatchCrc } from "@tributary/records";
import { describe, expect, it } from "vitest";
import { FetchBuffer } from "./fetch-buffer.js";

/** Batches of `perBatch` records starting at `baseOffset`, as a broker would return them. */
function batches(baseOffset: number, count: number, perBatch: number, compression: "none" | "gzip" = "none"): Buffer {
  const parts: Buffer[] = [];
  for (let start = 0; start < count; start += perBatch) {
    const n = Math.min(perBatch, count - start);
    parts.push(
      encodeBatch({
        baseOffset: baseOffset + start,
        compression,
        records: Array.from({ length: n }, (_, i) => ({ key: null, value: Buffer.from(`v${baseOffset + start + i}`), timestampMs: 1_000 })),
      }),
    );
  }
  return Buffer.concat(parts);
}

const all = () => true;

describe("FetchBuffer", () => {
  it("returns a partition's records in offset order, skipping those below the position", () => {
    const buffer = new FetchBuffer();
    buffer.add("a", batches(10, 10, 5));
    const taken = buffer.drain(100, all, () => 13);
    expect(taken).toHaveLength(1);
    expect(taken[0]!.records.map((r) => r.offset)).toEqual([13, 14, 15, 16, 17, 18, 19]);
    expect(taken[0]!.nextPosition).toBe(20);
    expect(buffer.bufferedBytes).toBe(0);
  });

  it("is fair: a partition with a deep backlog does not starve the others", () => {
    const buffer = new FetchBuffer();
    buffer.add("deep", batches(0, 10_000, 500));
    buffer.add("b", batches(0, 3, 3));
    buffer.add("c", batches(0, 3, 3));
    const positions = new Map<string, number>();
    const taken = buffer.drain(30, all, (k) => positions.get(k) ?? 0);
    const byKey = new Map(taken.map((t) => [t.key, t.records.length]));
    expect(byKey.get("b")).toBe(3);
    expect(byKey.get("c")).toBe(3);
    expect(byKey.get("deep")).toBe(24);
  });

  it("rotates which partition goes first, so equal partitions share small polls", () => {
    const buffer = new FetchBuffer();
    for (const key of ["a", "b", "c"]) buffer.add(key, batches(0, 100, 10));
    const positions = new Map<string, number>();
    const firsts: string[] = [];
    for (let i = 0; i < 3; i++) {
      const taken = buffer.drain(1, all, (k) => positions.get(k) ?? 0);
      firsts.push(taken[0]!.key);
      positions.set(taken[0]!.key, taken[0]!.nextPosition);
    }
    expect(new Set(firsts).size).toBe(3);
  });

  it("counts bytes until a chunk is used up, holds back ineligible (paused) partitions, and clears on seek", () => {
    const buffer = new FetchBuffer();
    const bytes = batches(0, 20, 10);
    buffer.add("a", bytes);
    buffer.add("b", batches(0, 5, 5));
    expect(buffer.partitionBytes("a")).toBe(bytes.length);
    const onlyB = buffer.drain(100, (k) => k === "b", () => 0);
    expect(onlyB.map((t) => t.key)).toEqual(["b"]);
    expect(buffer.bufferedBytes).toBe(bytes.length);
    buffer.clear("a");
    expect(buffer.bufferedBytes).toBe(0);
    expect(buffer.hasData()).toBe(false);
  });

  it("ignores a batch cut off at the end of a fetch answer, and decodes compressed batches", () => {
    const buffer = new FetchBuffer();
    const whole = batches(0, 4, 2, "gzip");
    buffer.add("a", whole.subarray(0, whole.length - 5));
    const taken = buffer.drain(100, all, () => 0);
    expect(taken[0]!.records.map((r) => r.value!.toString())).toEqual(["v0", "v1"]);
    expect(taken[0]!.nextPosition).toBe(2);
  });

  it("returns what it took before a corrupt batch, then raises the error once and goes on after that batch", () => {
    const buffer = new FetchBuffer();
    const good = batches(0, 4, 2);
    const bad = batches(4, 2, 2);
    bad[bad.length - 1] ^= 0xff; // the CRC no longer matches
    buffer.add("a", Buffer.concat([good, bad, batches(6, 2, 2)]));
    const first = buffer.drain(100, all, () => 0);
    expect(first[0]!.records.map((r) => r.offset)).toEqual([0, 1, 2, 3]);
    expect(first[0]!.nextPosition).toBe(4);
    expect(() => buffer.drain(100, all, () => 4)).toThrow(/CRC/);
    expect(buffer.drain(100, all, () => 4)[0]!.records.map((r) => r.offset)).toEqual([6, 7]);
  });

  it("decodes records only as they are taken: a bad record is met when reached, after the good ones", () => {
    const buffer = new FetchBuffer();
    const batch = batches(0, 3, 3);
    // The third record's length varint (at the start of its bytes) claims more than is left;
    // the CRC is rewritten, so only record decoding can notice.
    const firstRecord = BATCH_HEADER_BYTES;
    const recordBytes = (batch.length - firstRecord) / 3;
    batch[firstRecord + 2 * recordBytes] = 0x7e;
    writeBatchCrc(batch, 0);
    buffer.add("a", batch);
    expect(buffer.drain(1, all, () => 0)[0]!.records.map((r) => r.offset)).toEqual([0]);
    expect(buffer.drain(1, all, () => 1)[0]!.records.map((r) => r.offset)).toEqual([1]);
    expect(() => buffer.drain(1, all, () => 2)).toThrow(/record 2/);
    expect(buffer.drain(1, all, () => 2)).toEqual([]);
  });
});
