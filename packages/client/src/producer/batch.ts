// One producer batch: records bound for one partition, written into a RecordBatch v2 as they
// are appended (RecordBatchBuilder), closed with its header and CRC when first drained, and the
// completions of the records in it. Every record's promise or callback is settled from the
// batch's one acknowledgement: no per-record timers, and no per-record objects kept while the
// batch waits: a record's bytes are in the builder, its completion is a slot in a run of
// consecutive records that share a sink and a timestamp (one run per sendBatch() chunk).
//
// Objects and arrays made per record or per batch are class instances and youngArray()s, never
// literals: V8 would learn to allocate a literal's objects in the old generation while a deep
// pipeline keeps batches waiting, and then keep doing so (see @tributary/records young.ts).
import { type CompressionType, RecordBatchBuilder, type RecordInput, youngArray, youngArrayOfLength } from "@tributary/records";
import type { BatchBufferPool } from "./buffer-pool.js";
import type { RecordMetadata } from "./types.js";

/** Where a record's outcome goes: a promise, a callback, or a slot in a sendBatch() result. */
export interface CompletionSink {
  complete(index: number, metadata: RecordMetadata | null, error: Error | null): void;
  /**
   * Optional: `count` records at indexes firstIndex.. succeeded at offsets baseOffset.. (-1:
   * unknown), all with `timestamp`. A sink that can keep this as one entry and make the
   * RecordMetadata objects later saves an object per record while the other records wait.
   */
  completeRun?(firstIndex: number, count: number, topic: string, partition: number, baseOffset: number, timestamp: number): void;
}

/** Bytes a record is charged in a batch and in the buffer: its payload plus Kafka's worst-case varint overhead. */
export function estimateRecordBytes(record: RecordInput): number {
  let bytes = 21 + (record.key?.length ?? 0) + (record.value?.length ?? 0);
  if (record.headers !== undefined) for (const h of record.headers) bytes += h.key.length * 3 + (h.value?.length ?? 0) + 10;
  return bytes;
}

/** Bytes of a batch header, charged once per batch. */
export const BATCH_OVERHEAD_BYTES = 61;

const NO_OFFSET = -1n;

/** What a send() resolves with (a class: see the note at the top). */
class SentRecordMetadata implements RecordMetadata {
  constructor(
    public topic: string,
    public partition: number,
    public offset: bigint,
    public timestamp: number,
  ) {}
}

export class ProducerBatch {
  /** Until the first drain; then `encoded` holds the bytes. */
  private builder: RecordBatchBuilder | undefined;
  private count = 0;
  // Runs of records: run r covers records [runStarts[r], runStarts[r+1]) of this batch, which
  // complete to runSinks[r] at indexes runFirstSinkIndexes[r] + 0, 1, ... and were created at
  // runTimestampsMs[r].
  private readonly runStarts = youngArray<number>();
  private readonly runSinks = youngArray<CompletionSink>();
  private readonly runFirstSinkIndexes = youngArray<number>();
  private readonly runTimestampsMs = youngArray<number>();
  /** Bytes charged to the buffer for this batch (released when it completes). */
  estimatedBytes = BATCH_OVERHEAD_BYTES;
  /** No more records go in once it is full or drained. */
  closed = false;
  /** Set on first drain; retries send these same bytes. */
  encoded: Buffer | undefined;
  producerId = -1;
  producerEpoch = -1;
  /** -1 until the idempotent producer gives the batch its sequence numbers (at first drain). */
  baseSequence = -1;
  attempts = 0;
  /** Why the last attempt failed, so an expiry can say what kept the batch from being written. */
  lastError: Error | undefined;
  /** A retried batch is not sent again before this time. */
  retryNotBeforeMs = 0;
  inFlight = false;
  done = false;
  /**
   * Produce frames built for this batch whose encoder has not yet copied its bytes out: while
   * one is pending, the batch's pooled buffer is not given back (see recycle()).
   */
  framesPending = 0;
  /** The pool's buffer the batch writes into, until it goes back to the pool. */
  private pooled: Buffer | undefined;

  /**
   * `capacityBytes`: the batch's expected encoded size (its buffer grows if records need more).
   * A batch expected to fill more than half of batchSizeBytes writes into a buffer from `pool`.
   */
  constructor(
    readonly topic: string,
    readonly partition: number,
    readonly createdMs: number,
    capacityBytes = 0,
    private readonly pool?: BatchBufferPool,
  ) {
    if (pool !== undefined && capacityBytes * 2 > pool.bufferBytes) this.pooled = pool.take();
    this.builder = new RecordBatchBuilder(capacityBytes, this.pooled);
  }

  get recordCount(): number {
    return this.count;
  }

  /** Bytes of the batch as encoded so far (before compression), or as sent once encoded. */
  get sizeBytes(): number {
    return this.encoded?.length ?? this.builder?.sizeBytes ?? 0;
  }

  /** Whether a record of `bytes` fits under `batchSizeBytes` (an empty batch takes any record). */
  hasRoomFor(bytes: number, batchSizeBytes: number): boolean {
    return !this.closed && (this.count === 0 || this.estimatedBytes + bytes <= batchSizeBytes);
  }

  /** Writes the record into the batch; throws (leaving the batch as it was) if it cannot be encoded. */
  append(record: RecordInput, bytes: number, sink: CompletionSink, sinkIndex: number): void {
    if (this.closed || this.builder === undefined) throw new Error(`append to a closed batch of ${this.topic}-${this.partition}: a bug`);
    this.builder.append(record.timestampMs, record.key, record.value, record.headers);
    const last = this.runSinks.length - 1;
    const continuesRun =
      last >= 0 &&
      this.runSinks[last] === sink &&
      this.runTimestampsMs[last] === record.timestampMs &&
      this.runFirstSinkIndexes[last]! + (this.count - this.runStarts[last]!) === sinkIndex;
    if (!continuesRun) {
      this.runStarts.push(this.count);
      this.runSinks.push(sink);
      this.runFirstSinkIndexes.push(sinkIndex);
      this.runTimestampsMs.push(record.timestampMs);
    }
    this.count++;
    this.estimatedBytes += bytes;
  }

  /** Closes the records with the header and CRC; from now on the batch is these bytes. */
  encode(compression: CompressionType): Buffer {
    if (this.encoded !== undefined) return this.encoded;
    if (this.builder === undefined) throw new Error(`batch ${this.topic}-${this.partition} has neither bytes nor a builder: a bug`);
    this.closed = true;
    this.encoded = this.builder.build({ compression, producerId: this.producerId, producerEpoch: this.producerEpoch, baseSequence: this.baseSequence });
    this.builder = undefined;
    // Compressed, grown past it, or copied out because mostly unused: the batch no longer needs its pooled buffer.
    if (this.pooled !== undefined && this.encoded.buffer !== this.pooled.buffer) this.givePooledBack();
    return this.encoded;
  }

  /**
   * The batch is done and released: its pooled buffer goes back to the pool, unless a frame
   * encoder may still read it (a request whose frame was never built). Its bytes are gone after.
   */
  recycle(): void {
    if (!this.done || this.pooled === undefined || this.framesPending !== 0) return;
    this.encoded = undefined;
    this.builder = undefined;
    this.givePooledBack();
  }

  private givePooledBack(): void {
    const pooled = this.pooled!;
    this.pooled = undefined;
    this.pool!.give(pooled);
  }

  /** Settles every record: offsets are baseOffset + index, the batch's records are contiguous. -1 means unknown (acks=0). */
  succeed(baseOffset: number, logAppendTimeMs: number): void {
    if (this.done) return;
    this.done = true;
    const runs = this.runSinks.length;
    for (let r = 0; r < runs; r++) {
      const sink = this.runSinks[r]!;
      const start = this.runStarts[r]!;
      const end = r + 1 < runs ? this.runStarts[r + 1]! : this.count;
      const firstSinkIndex = this.runFirstSinkIndexes[r]!;
      const timestamp = logAppendTimeMs >= 0 ? logAppendTimeMs : this.runTimestampsMs[r]!;
      const runBaseOffset = baseOffset < 0 ? -1 : baseOffset + start;
      if (sink.completeRun !== undefined) {
        sink.completeRun(firstSinkIndex, end - start, this.topic, this.partition, runBaseOffset, timestamp);
        continue;
      }
      let offset = runBaseOffset < 0 ? NO_OFFSET : BigInt(runBaseOffset);
      for (let i = 0; i < end - start; i++) {
        sink.complete(firstSinkIndex + i, new SentRecordMetadata(this.topic, this.partition, offset, timestamp), null);
        if (runBaseOffset >= 0) offset += 1n; // a bigint add costs less than BigInt(number)
      }
    }
  }

  fail(error: Error): void {
    if (this.done) return;
    this.done = true;
    const runs = this.runSinks.length;
    for (let r = 0; r < runs; r++) {
      const end = r + 1 < runs ? this.runStarts[r + 1]! : this.count;
      const first = this.runFirstSinkIndexes[r]!;
      for (let i = this.runStarts[r]!; i < end; i++) this.runSinks[r]!.complete(first + (i - this.runStarts[r]!), null, error);
    }
  }
}

/** A sink for one send() awaited as a promise. */
export class PromiseSink implements CompletionSink {
  constructor(
    private readonly resolve: (metadata: RecordMetadata) => void,
    private readonly reject: (error: Error) => void,
  ) {}
  complete(_index: number, metadata: RecordMetadata | null, error: Error | null): void {
    if (error !== null || metadata === null) this.reject(error ?? new Error("no metadata"));
    else this.resolve(metadata);
  }
}

/** A sink for one send() with a callback; a callback that throws does not break the producer. */
export class CallbackSink implements CompletionSink {
  constructor(
    private readonly callback: (error: Error | null, metadata: RecordMetadata | null) => void,
    private readonly onCallbackError: (error: unknown) => void,
  ) {}
  complete(_index: number, metadata: RecordMetadata | null, error: Error | null): void {
    try {
      this.callback(error, metadata);
    } catch (thrown) {
      this.onCallbackError(thrown);
    }
  }
}

/**
 * Hands out sendBatch() results one per microtask. One Produce answer often completes several
 * sendBatch() calls at once; making all their RecordMetadata objects before any caller runs
 * keeps them all alive together, long enough to be copied (and promoted) by the garbage
 * collector. Delivered one at a time, each caller's continuation (queued by its resolve) runs
 * before the next array is made, so only one is alive at a time unless the caller keeps it.
 * `onDrained` runs after the last delivery, so a flush() settles after the results it covers.
 */
export class ResultDelivery {
  private readonly waiting: BatchSink[] = [];
  private scheduled = false;

  constructor(private readonly onDrained: () => void = () => {}) {}

  /** Results settled but not yet handed to their callers. */
  get pending(): number {
    return this.waiting.length;
  }

  add(sink: BatchSink): void {
    this.waiting.push(sink);
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => this.deliverNext());
  }

  private deliverNext(): void {
    const sink = this.waiting.shift();
    if (sink !== undefined) sink.deliver();
    if (this.waiting.length > 0) {
      queueMicrotask(() => this.deliverNext());
      return;
    }
    this.scheduled = false;
    this.onDrained();
  }
}

/**
 * The sink of one sendBatch(): resolves with every record's metadata in input order once all
 * are acknowledged, or rejects with the first error after all have settled (so nothing is left
 * pending behind the caller's back). Acknowledged runs are kept as one entry each and turned
 * into RecordMetadata objects only when the result is delivered (see ResultDelivery), in an
 * array made then too: an array made at sendBatch() time has usually been moved to the old
 * generation by the time it is filled, and the young objects it points to would then survive
 * every young-generation collection (and be promoted) until the next full one.
 */
export class BatchSink implements CompletionSink {
  private readonly count: number;
  /** Metadata given one record at a time through complete() (not the producer's own path). */
  private readonly singleIndexes = youngArray<number>();
  private readonly singleMetadata = youngArray<RecordMetadata>();
  private remaining: number;
  private firstError: Error | null = null;
  private readonly runFirstIndexes = youngArray<number>();
  private readonly runCounts = youngArray<number>();
  private readonly runTopics = youngArray<string>();
  private readonly runPartitions = youngArray<number>();
  private readonly runBaseOffsets = youngArray<number>();
  private readonly runTimestamps = youngArray<number>();

  constructor(
    count: number,
    private readonly resolve: (metadata: RecordMetadata[]) => void,
    private readonly reject: (error: Error) => void,
    private readonly delivery?: ResultDelivery,
  ) {
    this.count = count;
    this.remaining = count;
    if (count === 0) resolve([]);
  }

  complete(index: number, metadata: RecordMetadata | null, error: Error | null): void {
    if (error !== null) this.firstError ??= error;
    else if (metadata !== null) {
      this.singleIndexes.push(index);
      this.singleMetadata.push(metadata);
    }
    this.settled(1);
  }

  completeRun(firstIndex: number, count: number, topic: string, partition: number, baseOffset: number, timestamp: number): void {
    this.runFirstIndexes.push(firstIndex);
    this.runCounts.push(count);
    this.runTopics.push(topic);
    this.runPartitions.push(partition);
    this.runBaseOffsets.push(baseOffset);
    this.runTimestamps.push(timestamp);
    this.settled(count);
  }

  /** Fills in the acknowledged runs' metadata and resolves. */
  deliver(): void {
    const results = youngArrayOfLength<RecordMetadata>(this.count);
    for (let r = 0; r < this.runCounts.length; r++) this.fillRun(results, r);
    for (let i = 0; i < this.singleIndexes.length; i++) results[this.singleIndexes[i]!] = this.singleMetadata[i]!;
    this.resolve(results);
  }

  private settled(count: number): void {
    this.remaining -= count;
    if (this.remaining > 0) return;
    if (this.remaining < 0) throw new Error("a sendBatch() record was settled twice: a bug");
    if (this.firstError !== null) this.reject(this.firstError);
    else if (this.delivery !== undefined) this.delivery.add(this);
    else this.deliver();
  }

  private fillRun(results: RecordMetadata[], r: number): void {
    const topic = this.runTopics[r]!;
    const partition = this.runPartitions[r]!;
    const timestamp = this.runTimestamps[r]!;
    const baseOffset = this.runBaseOffsets[r]!;
    const first = this.runFirstIndexes[r]!;
    const count = this.runCounts[r]!;
    let offset = baseOffset < 0 ? NO_OFFSET : BigInt(baseOffset);
    for (let i = 0; i < count; i++) {
      results[first + i] = new SentRecordMetadata(topic, partition, offset, timestamp);
      if (baseOffset >= 0) offset += 1n; // a bigint add costs less than BigInt(number)
    }
  }
}
