// The producer's per-partition queues of batches and its memory budget. Pure: time comes in as
// `nowMs`, leaders and send permissions through the DrainContext, so batching, linger, retry
// ordering and the memory bound are unit-tested without a broker.
//
// Memory: every record is charged its estimated bytes when appended and released when its
// batch completes; `bufferMemoryBytes` caps the total (the producer makes send() wait).
import { type RecordInput, youngArray } from "@tributary/records";
import { BATCH_OVERHEAD_BYTES, type CompletionSink, ProducerBatch } from "./batch.js";
import { BatchBufferPool, poolSizeFor } from "./buffer-pool.js";

export interface AccumulatorOptions {
  batchSizeBytes: number;
  lingerMs: number;
  bufferMemoryBytes: number;
}

export interface PartitionQueue {
  readonly key: string;
  readonly topic: string;
  readonly partition: number;
  /** Oldest first; retried batches go back in sequence order ahead of newer ones. */
  readonly batches: ProducerBatch[];
  /** Estimated bytes of the last batch drained: a new batch's buffer starts that big. */
  lastBatchBytes: number;
}

/** append() result bits: the sender should look now (a batch is full). */
export const APPEND_BATCH_CLOSED = 1;
/** append() result bits: this record opened a new batch (its linger starts now). */
export const APPEND_NEW_BATCH = 2;

export interface DrainContext {
  nowMs: number;
  /** The leader's node id, or undefined when unknown (the batch waits for metadata). */
  leaderOf(topic: string, partition: number): number | undefined;
  /** Whether a request to this node may be started now (in-flight limit). */
  nodeHasCapacity(nodeId: number): boolean;
  /** Idempotence's rule for this partition's head batch (retries go alone, in order). */
  mayDrain(queue: PartitionQueue, head: ProducerBatch): boolean;
  /** Called on each batch as it is drained, before it is returned (assign sequence, encode). */
  prepare(batch: ProducerBatch): void;
  maxRequestBytes: number;
  /** Send everything now: flush() or close() is waiting, or send() is blocked on memory. */
  flushing: boolean;
}

export interface DrainResult {
  /** Batches to send, per leader node, in partition-queue order (a partition's batches in sequence order). */
  byNode: Map<number, ProducerBatch[]>;
  /** Topics with a batch whose partition has no known leader. */
  unknownLeaderTopics: Set<string>;
  /** When a batch not ready now will be (linger or retry backoff), or Infinity. */
  nextReadyMs: number;
}

export function partitionKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

export class RecordAccumulator {
  private readonly queues = new Map<string, PartitionQueue>();
  /** topic -> queues by partition: the per-record lookup without building a key string. */
  private readonly queuesByTopic = new Map<string, PartitionQueue[]>();
  private usedBytes = 0;
  private recordsBuffered = 0;
  /** Buffers of full-size batches, reused once their batch is done. */
  readonly bufferPool: BatchBufferPool;

  constructor(readonly options: AccumulatorOptions) {
    this.bufferPool = new BatchBufferPool(options.batchSizeBytes, poolSizeFor(options.batchSizeBytes, options.bufferMemoryBytes));
  }

  get bufferedBytes(): number {
    return this.usedBytes;
  }

  get pendingRecords(): number {
    return this.recordsBuffered;
  }

  /** Whether `bytes` more fit in the buffer now. */
  hasMemoryFor(bytes: number): boolean {
    return this.usedBytes + bytes + BATCH_OVERHEAD_BYTES <= this.options.bufferMemoryBytes;
  }

  queue(topic: string, partition: number): PartitionQueue {
    let byPartition = this.queuesByTopic.get(topic);
    if (byPartition === undefined) {
      byPartition = [];
      this.queuesByTopic.set(topic, byPartition);
    }
    let queue = byPartition[partition];
    if (queue === undefined) {
      const key = partitionKey(topic, partition);
      queue = { key, topic, partition, batches: [], lastBatchBytes: 0 };
      byPartition[partition] = queue;
      this.queues.set(key, queue);
    }
    return queue;
  }

  /**
   * Adds a record to its partition's open batch, opening a new one when it does not fit.
   * Returns APPEND_* bits: whether a batch was closed by this append (the sender should look
   * now) and whether the record opened a new batch. Throws, changing nothing, if the record
   * cannot be encoded.
   */
  append(topic: string, partition: number, record: RecordInput, recordBytes: number, sink: CompletionSink, sinkIndex: number, nowMs: number): number {
    const queue = this.queue(topic, partition);
    const last = queue.batches[queue.batches.length - 1];
    let outcome = 0;
    let target = last;
    if (target === undefined || !target.hasRoomFor(recordBytes, this.options.batchSizeBytes)) {
      // Sized like this partition's last batch: a busy partition fills whole batches, an idle
      // one sends one record at a time, and neither should pay for the other's buffer.
      const expectedBytes = Math.max(last?.estimatedBytes ?? queue.lastBatchBytes, BATCH_OVERHEAD_BYTES + recordBytes);
      target = new ProducerBatch(topic, partition, nowMs, Math.min(expectedBytes, this.options.batchSizeBytes), this.bufferPool);
      target.append(record, recordBytes, sink, sinkIndex);
      if (last !== undefined && !last.closed) {
        last.closed = true;
        outcome |= APPEND_BATCH_CLOSED;
      }
      queue.batches.push(target);
      this.usedBytes += BATCH_OVERHEAD_BYTES;
      outcome |= APPEND_NEW_BATCH;
    } else {
      target.append(record, recordBytes, sink, sinkIndex);
    }
    this.usedBytes += recordBytes;
    this.recordsBuffered++;
    if (target.estimatedBytes >= this.options.batchSizeBytes) {
      target.closed = true;
      outcome |= APPEND_BATCH_CLOSED;
    }
    return outcome;
  }

  /** Whether appending `recordBytes` to this partition would open a new batch (a sticky partitioner moves on then). */
  wouldOpenBatch(topic: string, partition: number, recordBytes: number): boolean {
    const batches = this.queuesByTopic.get(topic)?.[partition]?.batches;
    const last = batches === undefined ? undefined : batches[batches.length - 1];
    return last === undefined || !last.hasRoomFor(recordBytes, this.options.batchSizeBytes);
  }

  /** A batch that was sent failed retriably: put it back in sequence order, to go again after `notBeforeMs`. */
  requeue(batch: ProducerBatch, notBeforeMs: number): void {
    batch.inFlight = false;
    batch.retryNotBeforeMs = notBeforeMs;
    const queue = this.queue(batch.topic, batch.partition);
    let at = 0;
    while (at < queue.batches.length) {
      const other = queue.batches[at]!;
      if (other.attempts === 0) break; // never-sent batches come after every retry
      if (batch.baseSequence >= 0 && other.baseSequence > batch.baseSequence) break;
      at++;
    }
    queue.batches.splice(at, 0, batch);
  }

  /** The batch is done (acknowledged or failed for good): give its memory back. */
  release(batch: ProducerBatch): void {
    this.usedBytes -= batch.estimatedBytes;
    this.recordsBuffered -= batch.recordCount;
    if (this.usedBytes < 0 || this.recordsBuffered < 0) throw new Error("producer buffer accounting went negative: a bug");
    batch.recycle();
  }

  private isReady(head: ProducerBatch, queue: PartitionQueue, ctx: DrainContext): { ready: boolean; readyAtMs: number } {
    if (head.retryNotBeforeMs > ctx.nowMs) return { ready: false, readyAtMs: head.retryNotBeforeMs };
    if (head.closed || queue.batches.length > 1 || ctx.flushing || head.attempts > 0) return { ready: true, readyAtMs: ctx.nowMs };
    const lingerEndsMs = head.createdMs + this.options.lingerMs;
    return lingerEndsMs <= ctx.nowMs ? { ready: true, readyAtMs: ctx.nowMs } : { ready: false, readyAtMs: lingerEndsMs };
  }

  /** Takes every batch that is ready and may go now, grouped by leader, up to maxRequestBytes per node. */
  drain(ctx: DrainContext): DrainResult {
    const byNode = new Map<number, ProducerBatch[]>();
    const bytesByNode = new Map<number, number>();
    const unknownLeaderTopics = new Set<string>();
    let nextReadyMs = Infinity;
    for (const queue of this.queues.values()) {
      const head = queue.batches[0];
      if (head === undefined) continue;
      const { ready, readyAtMs } = this.isReady(head, queue, ctx);
      if (!ready) {
        nextReadyMs = Math.min(nextReadyMs, readyAtMs);
        continue;
      }
      const leader = ctx.leaderOf(queue.topic, queue.partition);
      if (leader === undefined) {
        unknownLeaderTopics.add(queue.topic);
        continue;
      }
      if (!ctx.nodeHasCapacity(leader) || !ctx.mayDrain(queue, head)) continue;
      let list = byNode.get(leader);
      let bytes = bytesByNode.get(leader) ?? 0;
      const retrying = head.baseSequence >= 0 && head.attempts > 0;
      while (queue.batches.length > 0) {
        const batch = queue.batches[0]!;
        // A retry goes out with only the retries after it (in sequence order); fresh batches wait.
        if (retrying && !(batch.baseSequence >= 0 && batch.attempts > 0)) break;
        if (batch !== head && !this.isReady(batch, queue, ctx).ready) break;
        const size = batch.encoded?.length ?? batch.estimatedBytes;
        if (list !== undefined && list.length > 0 && bytes + size > ctx.maxRequestBytes) break;
        queue.batches.shift();
        batch.closed = true;
        queue.lastBatchBytes = batch.estimatedBytes;
        ctx.prepare(batch);
        batch.inFlight = true;
        bytes += batch.encoded?.length ?? size;
        if (list === undefined) {
          list = youngArray(); // made per request: see @tributary/records young.ts
          byNode.set(leader, list);
        }
        list.push(batch);
      }
      bytesByNode.set(leader, bytes);
    }
    return { byNode, unknownLeaderTopics, nextReadyMs };
  }

  /** Batches waiting (not in flight) whose delivery deadline has passed; removed from their queues. */
  takeExpired(nowMs: number, deliveryTimeoutMs: number): ProducerBatch[] {
    const expired: ProducerBatch[] = [];
    for (const queue of this.queues.values()) {
      // Only from the front, so a partition never loses an older batch and keeps a newer one.
      while (queue.batches.length > 0 && queue.batches[0]!.createdMs + deliveryTimeoutMs <= nowMs) {
        expired.push(queue.batches.shift()!);
      }
    }
    return expired;
  }

  /** Every waiting batch, removed (close with force, or a fatal producer error). */
  takeAll(): ProducerBatch[] {
    const all: ProducerBatch[] = [];
    for (const queue of this.queues.values()) all.push(...queue.batches.splice(0));
    return all;
  }

  /** Batches still waiting to be sent, retries included. */
  queuedBatchCount(): number {
    let count = 0;
    for (const queue of this.queues.values()) count += queue.batches.length;
    return count;
  }

  /** Waiting batches that already carry sequence numbers (retries), for an epoch bump to re-stamp. */
  sequencedBatches(): ProducerBatch[] {
    const sequenced: ProducerBatch[] = [];
    for (const queue of this.queues.values()) for (const batch of queue.batches) if (batch.baseSequence >= 0) sequenced.push(batch);
    return sequenced;
  }
}
