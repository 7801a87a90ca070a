import { describe, expect, it } from "vitest";
import { StorageError } from "./errors.js";
import { ProducerStateTable, incrementSequence } from "./producer-state.js";

function append(table: ProducerStateTable, producerId: number, producerEpoch: number, baseSequence: number, count: number, firstOffset: number) {
  const staged = table.beginAppend();
  const duplicate = staged.check(producerId, producerEpoch, baseSequence, count - 1, 0);
  if (duplicate !== null) return duplicate;
  staged.stage({ producerId, producerEpoch, baseSequence, lastOffsetDelta: count - 1, firstOffset, lastOffset: firstOffset + count - 1, maxTimestampMs: 1 });
  staged.commit();
  return null;
}

function kindOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    if (error instanceof StorageError) return error.kind;
    throw error;
  }
  return undefined;
}

describe("producer state", () => {
  it("accepts in-sequence batches and recognizes an exact repeat of any of the last five", () => {
    const table = new ProducerStateTable();
    for (let i = 0; i < 7; i++) expect(append(table, 42, 0, i * 10, 10, 100 + i * 10)).toBeNull();
    expect(table.entry(42)!.batches).toHaveLength(5);
    expect(append(table, 42, 0, 30, 10, 999)).toEqual({ firstSeq: 30, lastSeq: 39, firstOffset: 130, lastOffset: 139 });
    // Batch seq 10..19 has aged out of the five: it is no longer a known duplicate but a sequence error.
    expect(kindOf(() => append(table, 42, 0, 10, 10, 999))).toBe("OUT_OF_ORDER_SEQUENCE_NUMBER");
  });

  it("refuses a gap and an older epoch, and a new epoch must start at sequence 0", () => {
    const table = new ProducerStateTable();
    append(table, 7, 3, 0, 5, 0);
    expect(kindOf(() => append(table, 7, 3, 6, 1, 5))).toBe("OUT_OF_ORDER_SEQUENCE_NUMBER");
    expect(kindOf(() => append(table, 7, 2, 5, 1, 5))).toBe("INVALID_PRODUCER_EPOCH");
    expect(kindOf(() => append(table, 7, 4, 5, 1, 5))).toBe("OUT_OF_ORDER_SEQUENCE_NUMBER");
    expect(append(table, 7, 4, 0, 1, 5)).toBeNull();
    expect(table.entry(7)).toMatchObject({ producerEpoch: 4, batches: [{ firstSeq: 0, lastSeq: 0, firstOffset: 5 }] });
  });

  it("wraps sequences at int32 max as Kafka does", () => {
    expect(incrementSequence(0x7fff_fffe, 3)).toBe(1);
    const table = new ProducerStateTable();
    append(table, 1, 0, 0x7fff_fffe, 2, 0); // 2147483646, 2147483647
    expect(append(table, 1, 0, 0, 3, 2)).toBeNull(); // wraps to 0
    expect(kindOf(() => append(table, 1, 0, 5, 1, 5))).toBe("OUT_OF_ORDER_SEQUENCE_NUMBER");
  });

  it("leaves the table unchanged when a later batch of the same append is refused", () => {
    const table = new ProducerStateTable();
    append(table, 9, 0, 0, 1, 0);
    const staged = table.beginAppend();
    expect(staged.check(9, 0, 1, 0, 0)).toBeNull();
    staged.stage({ producerId: 9, producerEpoch: 0, baseSequence: 1, lastOffsetDelta: 0, firstOffset: 1, lastOffset: 1, maxTimestampMs: 1 });
    expect(() => staged.check(9, 0, 5, 0, 1)).toThrow(StorageError);
    expect(table.entry(9)!.batches.map((b) => b.lastSeq)).toEqual([0]);
  });

  it("expires idle producers and forgets those wholly below the log start", () => {
    const table = new ProducerStateTable();
    table.apply({ producerId: 1, producerEpoch: 0, baseSequence: 0, lastOffsetDelta: 0, firstOffset: 0, lastOffset: 0, maxTimestampMs: 1000 });
    table.apply({ producerId: 2, producerEpoch: 0, baseSequence: 0, lastOffsetDelta: 0, firstOffset: 10, lastOffset: 10, maxTimestampMs: 5000 });
    table.removeBefore(5);
    expect(table.entry(1)).toBeUndefined();
    expect(table.removeExpired(5000 + 100, 100)).toBe(1);
    expect(table.producerCount).toBe(0);
  });
});
