import { describe, expect, it } from "vitest";
import { RecordBatchBuilder } from "./batch-builder.js";
import { decodeBatch, encodeBatch } from "./batch-codec.js";
import { checkBatch } from "./batch-header.js";
import type { RecordInput } from "./record-codec.js";

const KAFKA_ONE_RECORD_BODY = "3a000000012e010c00116d657461646174612e76657273696f6e00140000";

/** A deterministic mix: null and present keys, empty values, tombstones, headers, timestamps before and after the first. */
function records(count: number, seed = 7): RecordInput[] {
  let state = seed;
  const next = (): number => (state = (state * 1_103_515_245 + 12_345) % 2 ** 31);
  const out: RecordInput[] = [];
  for (let i = 0; i < count; i++) {
    const kind = next() % 5;
    const record: RecordInput = {
      key: kind === 0 ? null : Buffer.from(`key-${next() % 1000}`),
      value: kind === 1 ? null : Buffer.alloc(next() % 300, i),
      timestampMs: 1_700_000_000_000 + (next() % 20_000) - 10_000,
    };
    if (kind === 2) record.headers = [{ key: "h€", value: Buffer.from("v") }, { key: "", value: null }];
    out.push(record);
  }
  return out;
}

function build(input: RecordInput[], capacityBytes: number, opts: Parameters<RecordBatchBuilder["build"]>[0] = {}): Buffer {
  const builder = new RecordBatchBuilder(capacityBytes);
  for (const r of input) builder.append(r.timestampMs, r.key, r.value, r.headers);
  return builder.build(opts);
}

describe("RecordBatchBuilder", () => {
  it("writes the bytes encodeBatch writes, for any mix of records and from any starting capacity", () => {
    for (const count of [0, 1, 2, 37, 500]) {
      const input = records(count, count + 1);
      const expected = encodeBatch({ records: input, producerId: 42, producerEpoch: 3, baseSequence: 1_000 });
      for (const capacity of [0, 100, expected.length, 1 << 20]) {
        expect(build(input, capacity, { producerId: 42, producerEpoch: 3, baseSequence: 1_000 }).equals(expected)).toBe(true);
      }
    }
  });

  it("matches a record written by Apache Kafka byte for byte", () => {
    const builder = new RecordBatchBuilder(64);
    builder.append(0x191e05af818, null, Buffer.from("010c00116d657461646174612e76657273696f6e001400", "hex"));
    const batch = builder.build();
    expect(batch.subarray(61).toString("hex")).toBe(KAFKA_ONE_RECORD_BODY);
    expect(checkBatch(batch, 0).ok).toBe(true);
  });

  it("compresses the records as encodeBatch does, and they decode to what went in", () => {
    const input = records(200);
    for (const compression of ["gzip", "snappy", "lz4", "zstd"] as const) {
      const batch = build(input, 1024, { compression });
      expect(batch.equals(encodeBatch({ records: input, compression }))).toBe(true);
      const decoded = decodeBatch(batch);
      expect(decoded.compression).toBe(compression);
      expect(decoded.records.map((r) => [r.timestampMs, r.key?.toString() ?? null, r.value?.length ?? null])).toEqual(
        input.map((r) => [r.timestampMs, r.key?.toString() ?? null, r.value?.length ?? null]),
      );
    }
  });

  it("refuses a record it cannot encode and leaves the batch as it was", () => {
    const builder = new RecordBatchBuilder(256);
    builder.append(1_000, null, Buffer.from("a"));
    expect(() => builder.append(1.5, null, Buffer.from("b"))).toThrow(RangeError);
    expect(() => builder.append(1_000, null, Buffer.from("c"), [{ key: 7 as unknown as string, value: null }])).toThrow(TypeError);
    builder.append(1_001, null, Buffer.from("d"));
    expect(builder.recordCount).toBe(2);
    const decoded = decodeBatch(builder.build());
    expect(decoded.records.map((r) => [r.offset, r.timestampMs, r.value?.toString()])).toEqual([
      [0, 1_000, "a"],
      [1, 1_001, "d"],
    ]);
    expect(decoded.header.maxTimestamp).toBe(1_001);
  });

  it("does not keep the caller's buffers: changing a value after append changes nothing", () => {
    const value = Buffer.from("original");
    const builder = new RecordBatchBuilder(0);
    builder.append(5, null, value);
    value.write("changed!");
    expect(decodeBatch(builder.build()).records[0]!.value?.toString()).toBe("original");
  });

  it("writes into a buffer it is given, and returns a view of it while it fits", () => {
    const input = records(20);
    const expected = encodeBatch({ records: input });
    const given = Buffer.allocUnsafeSlow(expected.length + 100);
    const builder = new RecordBatchBuilder(0, given);
    for (const r of input) builder.append(r.timestampMs, r.key, r.value, r.headers);
    const batch = builder.build();
    expect(batch.equals(expected)).toBe(true);
    expect(batch.buffer).toBe(given.buffer);
    const tooSmall = Buffer.allocUnsafeSlow(600);
    expect(build(input, 0).equals(expected)).toBe(true);
    const grown = new RecordBatchBuilder(0, tooSmall);
    for (const r of input) grown.append(r.timestampMs, r.key, r.value, r.headers);
    const grownBatch = grown.build();
    expect(grownBatch.equals(expected)).toBe(true);
    expect(grownBatch.buffer).not.toBe(tooSmall.buffer);
  });

  it("is done after build", () => {
    const builder = new RecordBatchBuilder(0);
    builder.build();
    expect(() => builder.append(1, null, null)).toThrow(/after build/);
    expect(() => builder.build()).toThrow(/twice/);
  });
});
