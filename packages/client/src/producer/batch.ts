// One producer batch: records bound for one partition, encoded once (when first drained) into a
// RecordBatch v2, and the completions of the records in it. Every record's promise or callback
// is settled from the batch's one acknowledgement: no per-record timers, no per-record state
// beyond the record itself and where its completion goes.
import type { RecordInput } from "@tributary/records";
import type { RecordMetadata } from "./types.js";

/** Where a record's outcome goes: a promise, a callback, or a slot in a sendBatch() result. */
export interface CompletionSink {
  complete(index: number, metadata: RecordMetadata | null, error: Error | null): void;
}

/** Bytes a record is charged in a batch and in the buffer: its payload plus Kafka's worst-case varint overhead. */
export function estimateRecordBytes(record: RecordInput): number {
  let bytes = 21 + (record.key?.length ?? 0) + (record.value?.length ?? 0);
  if (record.headers !== undefined) for (const h of record.headers) bytes += h.key.length * 3 + (h.value?.length ?? 0) + 10;
  return bytes;
}

/** Bytes of a batch header, charged once per batch. */
export const BATCH_OVERHEAD_BYTES = 61;

export class ProducerBatch {
  readonly records: RecordInput[] = [];
  readonly sinks: CompletionSink[] = [];
  readonly sinkIndexes: number[] = [];
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

  constructor(
    readonly topic: string,
    readonly partition: number,
    readonly createdMs: number,
  ) {}

  get recordCount(): number {
    return this.records.length;
  }

  /** Whether a record of `bytes` fits under `batchSizeBytes` (an empty batch takes any record). */
  hasRoomFor(bytes: number, batchSizeBytes: number): boolean {
    return !this.closed && (this.records.length === 0 || this.estimatedBytes + bytes <= batchSizeBytes);
  }

  append(record: RecordInput, bytes: number, sink: CompletionSink, sinkIndex: number): void {
    if (this.closed) throw new Error(`append to a closed batch of ${this.topic}-${this.partition}: a bug`);
    this.records.push(record);
    this.sinks.push(sink);
    this.sinkIndexes.push(sinkIndex);
    this.estimatedBytes += bytes;
  }

  /** Settles every record: offsets are baseOffset + index, the batch's records are contiguous. */
  succeed(baseOffset: bigint, logAppendTimeMs: number): void {
    if (this.done) return;
    this.done = true;
    for (let i = 0; i < this.records.length; i++) {
      const metadata: RecordMetadata = {
        topic: this.topic,
        partition: this.partition,
        offset: baseOffset < 0n ? -1n : baseOffset + BigInt(i),
        timestamp: logAppendTimeMs >= 0 ? logAppendTimeMs : this.records[i]!.timestampMs,
      };
      this.sinks[i]!.complete(this.sinkIndexes[i]!, metadata, null);
    }
  }

  fail(error: Error): void {
    if (this.done) return;
    this.done = true;
    for (let i = 0; i < this.records.length; i++) this.sinks[i]!.complete(this.sinkIndexes[i]!, null, error);
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
 * The sink of one sendBatch(): resolves with every record's metadata in input order once all
 * are acknowledged, or rejects with the first error after all have settled (so nothing is left
 * pending behind the caller's back).
 */
export class BatchSink implements CompletionSink {
  private readonly results: RecordMetadata[];
  private remaining: number;
  private firstError: Error | null = null;

  constructor(
    count: number,
    private readonly resolve: (metadata: RecordMetadata[]) => void,
    private readonly reject: (error: Error) => void,
  ) {
    this.results = new Array<RecordMetadata>(count);
    this.remaining = count;
    if (count === 0) resolve([]);
  }

  complete(index: number, metadata: RecordMetadata | null, error: Error | null): void {
    if (error !== null) this.firstError ??= error;
    else if (metadata !== null) this.results[index] = metadata;
    if (--this.remaining > 0) return;
    if (this.firstError !== null) this.reject(this.firstError);
    else this.resolve(this.results);
  }
}
