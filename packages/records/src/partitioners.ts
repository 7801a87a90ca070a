// Choosing a partition for a record, as Kafka's producer does:
//   - a keyed record goes to toPositive(murmur2(key)) % partitionCount, over all partitions,
//     available or not, so a key always lands on the same partition (Kafka's DefaultPartitioner
//     and BuiltInPartitioner);
//   - an unkeyed record goes to a "sticky" partition, kept until the producer closes a batch
//     for it (it calls onNewBatch), then another one is picked at random (KIP-480), so unkeyed
//     traffic fills whole batches instead of spraying one record per partition;
//   - roundRobin() is Kafka's RoundRobinPartitioner (every record to the next partition);
//   - custom(fn) wraps a user function and checks what it returns.
// Randomness is injected, so a test can replay a sequence.
import { partitionForKey, toPositive } from "./murmur2.js";

export interface PartitionerContext {
  topic: string;
  /** The serialized key; null for an unkeyed record. */
  key: Buffer | null;
  partitionCount: number;
  /** Partitions whose leader is known and reachable; when given and non-empty, preferred for unkeyed records. */
  availablePartitions?: number[];
}

/** Returns the partition for a record: an integer in [0, partitionCount). */
export type Partitioner = (ctx: PartitionerContext) => number;

/** A partitioner that wants to hear when the producer starts a new batch on a partition. */
export interface StickyPartitioner extends Partitioner {
  /** The batch the producer had open for `topic` on `prevPartition` is full or sent. */
  onNewBatch(topic: string, prevPartition: number): void;
}

export function hasOnNewBatch(partitioner: Partitioner): partitioner is StickyPartitioner {
  return typeof (partitioner as Partial<StickyPartitioner>).onNewBatch === "function";
}

function assertPartitionCount(partitionCount: number): void {
  if (!Number.isInteger(partitionCount) || partitionCount < 1) {
    throw new RangeError(`partitionCount must be a positive integer, got ${partitionCount}`);
  }
}

/** Kafka's keyed rule. Unkeyed records have no hash: use createStickyPartitioner() (the default). */
function murmur2Default(ctx: PartitionerContext): number {
  assertPartitionCount(ctx.partitionCount);
  if (ctx.key === null) {
    throw new TypeError("partitioners.murmur2Default needs a key; createStickyPartitioner() handles unkeyed records");
  }
  return partitionForKey(ctx.key, ctx.partitionCount);
}

/** Kafka's RoundRobinPartitioner: a counter per topic, over the available partitions if any. */
function roundRobin(): Partitioner {
  const counters = new Map<string, number>();
  return (ctx) => {
    assertPartitionCount(ctx.partitionCount);
    const next = counters.get(ctx.topic) ?? 0;
    counters.set(ctx.topic, toPositive(next + 1));
    const available = ctx.availablePartitions;
    if (available !== undefined && available.length > 0) return available[next % available.length]!;
    return next % ctx.partitionCount;
  };
}

/** Wraps a user partitioner so a wrong answer is a clear error, not a record sent nowhere. */
function custom(partitioner: Partitioner): Partitioner {
  return (ctx) => {
    const partition = partitioner(ctx);
    if (!Number.isInteger(partition) || partition < 0 || partition >= ctx.partitionCount) {
      throw new RangeError(`partitioner returned ${partition} for topic ${ctx.topic}, which has partitions 0..${ctx.partitionCount - 1}`);
    }
    return partition;
  };
}

export const partitioners = { murmur2Default, roundRobin, custom } as const;

export interface StickyPartitionerOptions {
  /** A number in [0, 1), as Math.random returns; injected for tests. */
  random?: () => number;
}

/**
 * Kafka's default partitioner: murmur2 for keyed records, a sticky partition per topic for
 * unkeyed ones. The producer calls `onNewBatch(topic, partition)` when it closes a batch on the
 * sticky partition; the next unkeyed record then moves to a different partition.
 */
export function createStickyPartitioner(options: StickyPartitionerOptions = {}): StickyPartitioner {
  const random = options.random ?? Math.random;
  const sticky = new Map<string, number>();
  const leaving = new Map<string, number>(); // topic -> partition whose batch just closed

  const pick = (candidates: readonly number[], avoid: number | undefined): number => {
    const others = avoid === undefined || candidates.length < 2 ? candidates : candidates.filter((p) => p !== avoid);
    const choices = others.length > 0 ? others : candidates;
    return choices[Math.min(Math.floor(random() * choices.length), choices.length - 1)]!;
  };

  const partition = (ctx: PartitionerContext): number => {
    assertPartitionCount(ctx.partitionCount);
    if (ctx.key !== null) return partitionForKey(ctx.key, ctx.partitionCount);
    const available = ctx.availablePartitions !== undefined && ctx.availablePartitions.length > 0 ? ctx.availablePartitions : undefined;
    const current = sticky.get(ctx.topic);
    const stillGood = current !== undefined && current < ctx.partitionCount && (available === undefined || available.includes(current));
    if (stillGood && leaving.get(ctx.topic) !== current) return current;
    const candidates = available ?? Array.from({ length: ctx.partitionCount }, (_, p) => p);
    const chosen = pick(candidates, current);
    sticky.set(ctx.topic, chosen);
    leaving.delete(ctx.topic);
    return chosen;
  };

  return Object.assign(partition, {
    onNewBatch(topic: string, prevPartition: number): void {
      // Only a batch on the sticky partition moves it (Kafka's StickyPartitionCache rule): a
      // keyed record's batch closing elsewhere says nothing about where unkeyed records go.
      if (sticky.get(topic) === prevPartition) leaving.set(topic, prevPartition);
    },
  });
}
