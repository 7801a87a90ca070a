import { decodeBatch } from "@tributary/records";
import { describe, expect, it } from "vitest";
import { APPEND_BATCH_CLOSED, APPEND_NEW_BATCH, type DrainContext, type PartitionQueue, RecordAccumulator, partitionKey } from "./accumulator.js";
import { BatchSink, type CompletionSink, type ProducerBatch, ResultDelivery, estimateRecordBytes } from "./batch.js";
import { IdempotenceState } from "./idempotence.js";
import type { RecordMetadata } from "./types.js";

const noopSink: CompletionSink = { complete: () => {} };

function record(value: string, timestampMs = 1_000) {
  return { key: null, value: Buffer.from(value), timestampMs };
}

function context(overrides: Partial<DrainContext> = {}): DrainContext {
  return {
    nowMs: 0,
    leaderOf: (_topic, partition) => partition % 2, // partitions 0,2 on node 0; 1,3 on node 1
    nodeHasCapacity: () => true,
    mayDrain: () => true,
    prepare: (batch) => {
      batch.attempts++;
      batch.encode("none");
    },
    maxRequestBytes: 1024 * 1024,
    flushing: false,
    ...overrides,
  };
}

describe("RecordAccumulator", () => {
  it("closes a batch at batchSizeBytes and opens the next one", () => {
    const acc = new RecordAccumulator({ batchSizeBytes: 400, lingerMs: 10, bufferMemoryBytes: 1 << 20 });
    const r = record("x".repeat(100));
    const bytes = estimateRecordBytes(r);
    const outcomes = [1, 2, 3, 4].map(() => acc.append("t", 0, r, bytes, noopSink, 0, 0));
    // 61 header bytes + 2 x 121 fit in 400; a third record does not.
    expect(outcomes.map((o) => (o & APPEND_NEW_BATCH) !== 0)).toEqual([true, false, true, false]);
    expect(outcomes[2]! & APPEND_BATCH_CLOSED).toBe(APPEND_BATCH_CLOSED);
    expect(acc.queue("t", 0).batches.map((b) => b.recordCount)).toEqual([2, 2]);
    expect(acc.pendingRecords).toBe(4);
  });

  it("lingers until lingerMs unless the batch is full, a flush asks, or a later batch exists", () => {
    const acc = new RecordAccumulator({ batchSizeBytes: 16_384, lingerMs: 10, bufferMemoryBytes: 1 << 20 });
    acc.append("t", 0, record("a"), 30, noopSink, 0, 0);
    const early = acc.drain(context({ nowMs: 5 }));
    expect(early.byNode.size).toBe(0);
    expect(early.nextReadyMs).toBe(10);
    expect(acc.drain(context({ nowMs: 5, flushing: true })).byNode.get(0)?.length).toBe(1);
    acc.append("t", 0, record("b"), 30, noopSink, 0, 20);
    expect(acc.drain(context({ nowMs: 30 })).byNode.get(0)?.length).toBe(1);
  });

  it("puts every ready batch for one broker into one drain, partitions grouped by leader", () => {
    const acc = new RecordAccumulator({ batchSizeBytes: 16_384, lingerMs: 0, bufferMemoryBytes: 1 << 20 });
    for (const partition of [0, 1, 2, 3]) acc.append("t", partition, record(`p${partition}`), 30, noopSink, 0, 0);
    const { byNode } = acc.drain(context());
    expect(byNode.get(0)!.map((b) => b.partition)).toEqual([0, 2]);
    expect(byNode.get(1)!.map((b) => b.partition)).toEqual([1, 3]);
    expect(acc.queuedBatchCount()).toBe(0);
  });

  it("skips nodes at their in-flight limit and partitions without a leader", () => {
    const acc = new RecordAccumulator({ batchSizeBytes: 16_384, lingerMs: 0, bufferMemoryBytes: 1 << 20 });
    acc.append("t", 0, record("a"), 30, noopSink, 0, 0);
    acc.append("u", 1, record("b"), 30, noopSink, 0, 0);
    const result = acc.drain(context({ nodeHasCapacity: (node) => node !== 0, leaderOf: (topic, p) => (topic === "u" ? undefined : p) }));
    expect(result.byNode.size).toBe(0);
    expect([...result.unknownLeaderTopics]).toEqual(["u"]);
    expect(acc.queuedBatchCount()).toBe(2);
  });

  it("bounds one drain per broker by maxRequestBytes, but always takes one batch", () => {
    const acc = new RecordAccumulator({ batchSizeBytes: 200, lingerMs: 0, bufferMemoryBytes: 1 << 20 });
    for (let i = 0; i < 6; i++) acc.append("t", 0, record("y".repeat(150)), 171, noopSink, 0, 0);
    const first = acc.drain(context({ maxRequestBytes: 500 })); // 232 bytes charged per batch
    expect(first.byNode.get(0)!.length).toBe(2);
    const tiny = acc.drain(context({ maxRequestBytes: 10 }));
    expect(tiny.byNode.get(0)!.length).toBe(1);
  });

  it("charges memory per record and gives it back when the batch is released", () => {
    const acc = new RecordAccumulator({ batchSizeBytes: 1_000, lingerMs: 0, bufferMemoryBytes: 500 });
    expect(acc.hasMemoryFor(400)).toBe(true);
    acc.append("t", 0, record("z"), 400, noopSink, 0, 0);
    expect(acc.hasMemoryFor(100)).toBe(false);
    const [batch] = acc.drain(context()).byNode.get(0)!;
    acc.release(batch!);
    expect(acc.bufferedBytes).toBe(0);
    expect(acc.hasMemoryFor(400)).toBe(true);
  });

  it("expires waiting batches past the delivery timeout, oldest first only", () => {
    const acc = new RecordAccumulator({ batchSizeBytes: 40, lingerMs: 0, bufferMemoryBytes: 1 << 20 });
    acc.append("t", 0, record("a"), 30, noopSink, 0, 0);
    acc.append("t", 0, record("b"), 30, noopSink, 0, 50);
    expect(acc.takeExpired(100, 100).length).toBe(1);
    expect(acc.queue("t", 0).batches.length).toBe(1);
  });
});

describe("batch completion", () => {
  it("settles every record of a batch from one acknowledgement, offsets following the base", () => {
    const acc = new RecordAccumulator({ batchSizeBytes: 16_384, lingerMs: 0, bufferMemoryBytes: 1 << 20 });
    let result: RecordMetadata[] | undefined;
    const sink = new BatchSink(3, (r) => (result = r), () => {});
    for (let i = 0; i < 3; i++) acc.append("t", 0, record(`v${i}`, 1_000 + i), 30, sink, i, 0);
    const [batch] = acc.drain(context()).byNode.get(0)!;
    batch!.succeed(41, -1);
    expect(result!.map((m) => [m.partition, m.offset, m.timestamp])).toEqual([
      [0, 41n, 1_000],
      [0, 42n, 1_001],
      [0, 43n, 1_002],
    ]);
  });

  it("gives each record its own sink slot and timestamp when sends of several callers interleave in one batch", () => {
    const acc = new RecordAccumulator({ batchSizeBytes: 16_384, lingerMs: 0, bufferMemoryBytes: 1 << 20 });
    const seen: Array<[string, number, bigint | null, number | null, string | null]> = [];
    const sinkNamed = (name: string): CompletionSink => ({ complete: (i, m, e) => seen.push([name, i, m?.offset ?? null, m?.timestamp ?? null, e?.message ?? null]) });
    const a = sinkNamed("a");
    const b = sinkNamed("b");
    // a[0..1] at 10, b[0], a[2] at 10, a[3] at 11 (its own timestamp), a[5] (index 4 went elsewhere)
    acc.append("t", 0, record("1", 10), 30, a, 0, 0);
    acc.append("t", 0, record("2", 10), 30, a, 1, 0);
    acc.append("t", 0, record("3", 10), 30, b, 0, 0);
    acc.append("t", 0, record("4", 10), 30, a, 2, 0);
    acc.append("t", 0, record("5", 11), 30, a, 3, 0);
    acc.append("t", 0, record("6", 11), 30, a, 5, 0);
    const [batch] = acc.drain(context()).byNode.get(0)!;
    expect(decodeBatch(batch!.encoded!).records.map((r) => [r.offset, r.timestampMs, r.value?.toString()])).toEqual([
      [0, 10, "1"],
      [1, 10, "2"],
      [2, 10, "3"],
      [3, 10, "4"],
      [4, 11, "5"],
      [5, 11, "6"],
    ]);
    batch!.succeed(100, -1);
    expect(seen).toEqual([
      ["a", 0, 100n, 10, null],
      ["a", 1, 101n, 10, null],
      ["b", 0, 102n, 10, null],
      ["a", 2, 103n, 10, null],
      ["a", 3, 104n, 11, null],
      ["a", 5, 105n, 11, null],
    ]);
    seen.length = 0;
    const failed = new RecordAccumulator({ batchSizeBytes: 16_384, lingerMs: 0, bufferMemoryBytes: 1 << 20 });
    failed.append("t", 0, record("1", 10), 30, a, 7, 0);
    failed.append("t", 0, record("2", 10), 30, b, 3, 0);
    failed.append("t", 0, record("3", 10), 30, a, 8, 0);
    failed.drain(context()).byNode.get(0)![0]!.fail(new Error("gone"));
    expect(seen).toEqual([
      ["a", 7, null, null, "gone"],
      ["b", 3, null, null, "gone"],
      ["a", 8, null, null, "gone"],
    ]);
  });

  it("reports the broker's log-append time and -1 offsets for acks=0", () => {
    const acc = new RecordAccumulator({ batchSizeBytes: 16_384, lingerMs: 0, bufferMemoryBytes: 1 << 20 });
    let result: RecordMetadata[] | undefined;
    const sink = new BatchSink(2, (r) => (result = r), () => {});
    for (let i = 0; i < 2; i++) acc.append("t", 3, record(`v${i}`, 1_000), 30, sink, i, 0);
    acc.drain(context()).byNode.get(1)![0]!.succeed(-1, 5_000);
    expect(result).toEqual([
      { topic: "t", partition: 3, offset: -1n, timestamp: 5_000 },
      { topic: "t", partition: 3, offset: -1n, timestamp: 5_000 },
    ]);
  });

  it("refuses a record the batch format cannot carry and leaves the accumulator as it was", () => {
    const acc = new RecordAccumulator({ batchSizeBytes: 16_384, lingerMs: 0, bufferMemoryBytes: 1 << 20 });
    acc.append("t", 0, record("a", 1_000), 30, noopSink, 0, 0);
    expect(() => acc.append("t", 0, record("b", 0.5), 30, noopSink, 1, 0)).toThrow(RangeError);
    expect(() => acc.append("t", 1, record("c", Number.NaN), 30, noopSink, 2, 0)).toThrow(RangeError);
    expect(acc.pendingRecords).toBe(1);
    expect(acc.bufferedBytes).toBe(30 + 61);
    expect(acc.queuedBatchCount()).toBe(1);
    const [batch] = acc.drain(context()).byNode.get(0)!;
    expect(decodeBatch(batch!.encoded!).records.map((r) => r.value?.toString())).toEqual(["a"]);
  });

  it("resolves a sendBatch in input order when its batches are acknowledged out of order", () => {
    const acc = new RecordAccumulator({ batchSizeBytes: 16_384, lingerMs: 0, bufferMemoryBytes: 1 << 20 });
    let result: RecordMetadata[] | undefined;
    const sink = new BatchSink(4, (r) => (result = r), () => {});
    acc.append("t", 0, record("a", 7), 30, sink, 0, 0);
    acc.append("t", 1, record("b", 7), 30, sink, 1, 0);
    acc.append("t", 0, record("c", 8), 30, sink, 2, 0);
    acc.append("t", 1, record("d", 7), 30, sink, 3, 0);
    const { byNode } = acc.drain(context());
    byNode.get(1)![0]!.succeed(500, -1);
    expect(result).toBeUndefined();
    byNode.get(0)![0]!.succeed(20, -1);
    expect(result).toEqual([
      { topic: "t", partition: 0, offset: 20n, timestamp: 7 },
      { topic: "t", partition: 1, offset: 500n, timestamp: 7 },
      { topic: "t", partition: 0, offset: 21n, timestamp: 8 },
      { topic: "t", partition: 1, offset: 501n, timestamp: 7 },
    ]);
  });

  it("delivers settled sendBatch results one at a time, and a flush waiting on the drain runs after every caller", async () => {
    const order: string[] = [];
    let settleFlush = (): void => {};
    const flushed = new Promise<void>((resolve) => (settleFlush = resolve)).then(() => order.push("flushed"));
    const delivery = new ResultDelivery(() => settleFlush());
    const promises = ["a", "b", "c"].map(
      (name) =>
        new Promise<RecordMetadata[]>((resolve, reject) => {
          const sink = new BatchSink(1, resolve, reject, delivery);
          sink.completeRun(0, 1, "t", 0, 10, 5);
        }).then((result) => order.push(`${name}:${result[0]!.offset}`)),
    );
    expect(delivery.pending).toBe(3);
    expect(order).toEqual([]);
    await Promise.all([...promises, flushed]);
    expect(order).toEqual(["a:10", "b:10", "c:10", "flushed"]);
    expect(delivery.pending).toBe(0);
  });

  it("rejects a sendBatch with the first error only after every record settled", () => {
    let rejected: Error | undefined;
    const sink = new BatchSink(2, () => {}, (e) => (rejected = e));
    sink.complete(0, null, new Error("first"));
    expect(rejected).toBeUndefined();
    sink.complete(1, { topic: "t", partition: 0, offset: 1n, timestamp: 0 }, null);
    expect(rejected?.message).toBe("first");
  });
});

describe("idempotent retries keep each partition's order", () => {
  function setup() {
    const acc = new RecordAccumulator({ batchSizeBytes: 100, lingerMs: 0, bufferMemoryBytes: 1 << 20 });
    const idem = new IdempotenceState();
    idem.setProducerId(7, 0);
    const key = partitionKey("t", 0);
    const ctx = context({
      leaderOf: () => 0,
      mayDrain: (queue: PartitionQueue, head: ProducerBatch) => idem.mayDrain(queue, head),
      prepare: (batch) => {
        batch.attempts++;
        if (batch.encoded !== undefined) return;
        idem.assignSequence(key, batch);
        batch.encode("none");
      },
    });
    return { acc, idem, key, ctx };
  }

  it("numbers batches by record count, pipelines fresh batches, and sends retries alone and in sequence order", () => {
    const { acc, idem, key, ctx } = setup();
    for (let i = 0; i < 6; i++) acc.append("t", 0, record("r".repeat(40)), 61, noopSink, 0, 0); // one record per batch
    // Three requests in flight, two batches each.
    const inFlight = [acc.drain({ ...ctx, maxRequestBytes: 250 }), acc.drain({ ...ctx, maxRequestBytes: 250 }), acc.drain({ ...ctx, maxRequestBytes: 250 })].map((d) => d.byNode.get(0)!);
    expect(inFlight.map((list) => list.map((b) => b.baseSequence))).toEqual([[0, 1], [2, 3], [4, 5]]);
    for (const list of inFlight) for (const batch of list) idem.onSent(key, batch);

    // The first request fails retriably; the later ones come back OUT_OF_ORDER (a gap at the broker).
    const now = 10;
    for (const list of [inFlight[2]!, inFlight[0]!, inFlight[1]!]) {
      for (const batch of list) {
        idem.onReturned(key, batch);
        expect(idem.isEarliestUnacknowledged(key, batch)).toBe(batch.baseSequence === 0);
        acc.requeue(batch, now);
      }
    }
    expect(acc.queue("t", 0).batches.map((b) => b.baseSequence)).toEqual([0, 1, 2, 3, 4, 5]);

    // A fresh record waits behind the retries.
    acc.append("t", 0, record("new"), 30, noopSink, 0, now);
    const retry = acc.drain({ ...ctx, nowMs: now }).byNode.get(0)!;
    expect(retry.map((b) => b.baseSequence)).toEqual([0, 1, 2, 3, 4, 5]);
    for (const batch of retry) idem.onSent(key, batch);
    // While retries are in flight nothing else of the partition goes.
    const blocked = acc.drain({ ...ctx, nowMs: now });
    expect(blocked.byNode.size).toBe(0);
    for (const batch of retry) {
      idem.onReturned(key, batch);
      idem.onAcknowledged(key, batch);
    }
    const fresh = acc.drain({ ...ctx, nowMs: now }).byNode.get(0)!;
    expect(fresh.map((b) => b.baseSequence)).toEqual([6]);
  });

  it("re-stamps waiting batches after an epoch bump with valid CRCs", () => {
    const { acc, idem, key, ctx } = setup();
    acc.append("t", 0, record("a"), 30, noopSink, 0, 0);
    const [batch] = acc.drain(ctx).byNode.get(0)!;
    idem.onSent(key, batch!);
    idem.onReturned(key, batch!);
    acc.requeue(batch!, 0);
    idem.setProducerId(7, 1);
    for (const waiting of acc.sequencedBatches()) idem.restamp(key, waiting);
    const decoded = decodeBatch(batch!.encoded!);
    expect(decoded.header).toMatchObject({ producerId: 7, producerEpoch: 1, baseSequence: 0 });
    expect(decoded.records[0]!.value?.toString()).toBe("a");
  });

  it("wraps sequence numbers at 2^31", () => {
    const { acc, idem, key, ctx } = setup();
    const state = idem as unknown as { partitions: Map<string, { nextSequence: number }> };
    acc.append("t", 0, record("a"), 30, noopSink, 0, 0);
    acc.append("t", 0, record("b"), 30, noopSink, 0, 0);
    idem.assignSequence(key, acc.queue("t", 0).batches[0]!);
    state.partitions.get(key)!.nextSequence = 2 ** 31 - 1;
    const [, second] = acc.drain(ctx).byNode.get(0)!;
    expect(second!.baseSequence).toBe(2 ** 31 - 1);
    expect(state.partitions.get(key)!.nextSequence).toBe(0);
  });
});

describe("batch buffer pool", () => {
  const fill = (acc: RecordAccumulator, tag: string): void => {
    // 61 + 3 x 301 fit 1,000 bytes, a fourth record would not: three records fill a batch.
    for (let i = 0; i < 3; i++) acc.append("t", 0, record(`${tag}${i}`.padEnd(280, "."), 2_000), 301, noopSink, i, 0);
  };
  const tags = (batch: ProducerBatch): string[] => decodeBatch(batch.encoded!).records.map((r) => r.value!.toString().slice(0, 2));

  it("gives a done batch's buffer to the next full batch, whose bytes are its own", () => {
    const acc = new RecordAccumulator({ batchSizeBytes: 1_000, lingerMs: 0, bufferMemoryBytes: 1 << 20 });
    fill(acc, "a"); // the partition's first batch: sized small, not pooled
    fill(acc, "b"); // sized like the full one before it: pooled
    const [first, second] = acc.drain(context()).byNode.get(0)!;
    expect(second!.encoded!.buffer.byteLength).toBe(1_000); // a view of the pool's buffer
    const pooledMemory = second!.encoded!.buffer;
    second!.succeed(3, -1);
    acc.release(second!);
    expect(second!.encoded).toBeUndefined();
    expect(acc.bufferPool.freeBuffers).toBe(1);
    fill(acc, "c");
    const [third] = acc.drain(context()).byNode.get(0)!;
    expect(third!.encoded!.buffer).toBe(pooledMemory);
    expect(acc.bufferPool.freeBuffers).toBe(0);
    expect(tags(third!)).toEqual(["c0", "c1", "c2"]);
    expect(tags(first!)).toEqual(["a0", "a1", "a2"]);
  });

  it("keeps a done batch's buffer while a frame that reads it is still to be built", () => {
    const acc = new RecordAccumulator({ batchSizeBytes: 1_000, lingerMs: 0, bufferMemoryBytes: 1 << 20 });
    fill(acc, "a");
    fill(acc, "b");
    const [, second] = acc.drain(context()).byNode.get(0)!;
    second!.framesPending = 1;
    second!.fail(new Error("timed out"));
    acc.release(second!);
    expect(acc.bufferPool.freeBuffers).toBe(0);
    expect(tags(second!)).toEqual(["b0", "b1", "b2"]);
  });
});

describe("wouldOpenBatch (where a sticky partitioner moves on)", () => {
  it("is true for an empty partition, false while the open batch has room, true when it is full or drained", () => {
    const acc = new RecordAccumulator({ batchSizeBytes: 200, lingerMs: 0, bufferMemoryBytes: 1 << 20 });
    expect(acc.wouldOpenBatch("t", 0, 50)).toBe(true);
    acc.append("t", 0, record("a"), 50, noopSink, 0, 0);
    expect(acc.wouldOpenBatch("t", 0, 50)).toBe(false);
    expect(acc.wouldOpenBatch("t", 0, 100)).toBe(true);
    acc.drain(context());
    expect(acc.wouldOpenBatch("t", 0, 50)).toBe(true);
  });
});
