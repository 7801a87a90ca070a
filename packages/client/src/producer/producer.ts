// The Producer: serializes, partitions and appends records to the accumulator, makes send()
// wait (in order) for metadata or buffer space for at most maxBlockMs, and settles flush() and
// close(). Batching and I/O are the accumulator's and the sender's.
import { type Partitioner, type PartitionerContext, type RecordHeader, type RecordInput, type StickyPartitioner, createStickyPartitioner, hasOnNewBatch } from "@tributary/records";
import type { Cluster } from "../cluster.js";
import { BufferExhaustedError, IllegalStateError, RecordTooLargeError, TimeoutError, TributaryError, asTributaryError } from "../errors.js";
import { APPEND_BATCH_CLOSED, APPEND_NEW_BATCH, RecordAccumulator } from "./accumulator.js";
import { BatchSink, CallbackSink, type CompletionSink, PromiseSink, ResultDelivery, estimateRecordBytes } from "./batch.js";
import { IdempotenceState } from "./idempotence.js";
import { Sender } from "./sender.js";
import {
  type ProducerOptions,
  type ProducerRecord,
  type ProducerRecordHeader,
  type RecordMetadata,
  type ResolvedProducerOptions,
  type SendCallback,
  resolveProducerOptions,
} from "./types.js";

/**
 * What one sendBatch() call looked up about the topic of its last record. Metadata changes only
 * between event-loop turns, never inside the synchronous loop of one call, so a chunk of records
 * for one topic asks the metadata cache once, not once per record.
 */
interface TopicLookup {
  topic: string | undefined;
  partitionCount: number | undefined;
  availablePartitions: number[];
}

/** A send waiting for metadata or buffer space, kept in arrival order. */
interface BlockedSend {
  topic: string;
  partition: number | undefined;
  record: RecordInput;
  bytes: number;
  sink: CompletionSink;
  sinkIndex: number;
  deadlineMs: number;
}

export interface ProducerCloseOptions {
  /** How long close() waits for unsent records before failing them (default: deliveryTimeoutMs). */
  timeoutMs?: number;
}

function toHeaders(headers: ProducerRecord<unknown, unknown>["headers"]): RecordHeader[] | undefined {
  if (headers === undefined) return undefined;
  const list: ProducerRecordHeader[] = Array.isArray(headers) ? headers : Object.entries(headers).map(([key, value]) => ({ key, value }));
  return list.map((h) => ({ key: h.key, value: typeof h.value === "string" ? Buffer.from(h.value, "utf8") : h.value }));
}

export class Producer<K, V> {
  private readonly options: ResolvedProducerOptions;
  private readonly accumulator: RecordAccumulator;
  private readonly idempotence: IdempotenceState | undefined;
  private readonly sender: Sender;
  private readonly partitioner: Partitioner;
  /** The partitioner, when it wants onNewBatch (Kafka's sticky rule). */
  private readonly stickyPartitioner: StickyPartitioner | undefined;
  /**
   * One context object reused for every call of the built-in partitioner, which never keeps
   * it; a user's partitioner gets a fresh one each time, as it may keep what it is given.
   */
  private readonly sharedContext: PartitionerContext | undefined;
  private readonly blocked: BlockedSend[] = [];
  private readonly resultDelivery = new ResultDelivery(() => this.settleFlushesIfIdle());
  /**
   * The record being appended, reused: the accumulator copies a record's bytes and keeps
   * nothing of the object, so a new one per record would only be garbage. A send() made from
   * inside the append (a user partitioner or callback) finds it in use and gets its own; a
   * record that must wait gets a copy.
   */
  private readonly scratchRecord: RecordInput = { key: null, value: null, timestampMs: 0, headers: undefined };
  private scratchInUse = false;
  private blockedTimer: NodeJS.Timeout | undefined;
  private readonly metadataWaits = new Set<string>();
  private flushWaiters: Array<() => void> = [];
  private closed = false;

  constructor(
    private readonly cluster: Cluster,
    private readonly userOptions: ProducerOptions<K, V>,
  ) {
    this.options = resolveProducerOptions(userOptions as ProducerOptions<unknown, unknown>);
    this.accumulator = new RecordAccumulator({
      batchSizeBytes: this.options.batchSizeBytes,
      lingerMs: this.options.lingerMs,
      bufferMemoryBytes: this.options.bufferMemoryBytes,
    });
    this.idempotence = this.options.idempotent ? new IdempotenceState() : undefined;
    this.partitioner = userOptions.partitioner ?? createStickyPartitioner();
    this.stickyPartitioner = hasOnNewBatch(this.partitioner) ? this.partitioner : undefined;
    this.sharedContext = userOptions.partitioner === undefined ? { topic: "", key: null, partitionCount: 0, availablePartitions: [] } : undefined;
    this.sender = new Sender(cluster, this.accumulator, this.idempotence, this.options, {
      onBatchDone: (batch) => {
        this.accumulator.release(batch);
        this.onSpaceOrMetadata();
        this.settleFlushesIfIdle();
      },
    });
  }

  /** Sends one record; resolves with where it landed (or calls `callback`, Kafka's async style). */
  send(record: ProducerRecord<K, V>): Promise<RecordMetadata>;
  send(record: ProducerRecord<K, V>, callback: SendCallback): void;
  send(record: ProducerRecord<K, V>, callback?: SendCallback): Promise<RecordMetadata> | void {
    if (callback !== undefined) {
      this.enqueue(record, new CallbackSink(callback, (error) => this.onCallbackError(error)), 0, Date.now());
      return;
    }
    return new Promise<RecordMetadata>((resolve, reject) => this.enqueue(record, new PromiseSink(resolve, reject), 0, Date.now()));
  }

  /**
   * Sends many records with one promise for all of them (the fast path: no promise per record).
   * Resolves with each record's metadata in input order; rejects with the first error once all
   * records are settled. Records without a timestamp all get the time of this call.
   */
  sendBatch(records: ProducerRecord<K, V>[]): Promise<RecordMetadata[]> {
    return new Promise<RecordMetadata[]>((resolve, reject) => {
      const sink = new BatchSink(records.length, resolve, reject, this.resultDelivery);
      const nowMs = Date.now();
      const lookup: TopicLookup = { topic: undefined, partitionCount: undefined, availablePartitions: [] };
      for (let i = 0; i < records.length; i++) this.enqueue(records[i]!, sink, i, nowMs, lookup);
    });
  }

  /** Sends everything buffered now and resolves when no record is left unsettled. */
  flush(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    this.sender.beginFlush();
    return new Promise<void>((resolve) => {
      this.flushWaiters.push(() => {
        this.sender.endFlush();
        resolve();
      });
    });
  }

  /** Stops accepting records, sends what is buffered, and releases the producer. */
  async close(options: ProducerCloseOptions = {}): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const timeoutMs = options.timeoutMs ?? this.options.deliveryTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      this.flush().then(() => false),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), timeoutMs))),
    ]);
    clearTimeout(timer);
    this.sender.stop();
    if (this.blockedTimer !== undefined) clearTimeout(this.blockedTimer);
    if (timedOut) {
      const error = new IllegalStateError(`producer closed after ${timeoutMs} ms with records still unsent`);
      for (const blocked of this.blocked.splice(0)) blocked.sink.complete(blocked.sinkIndex, null, error);
      for (const batch of this.accumulator.takeAll()) {
        batch.fail(error);
        this.accumulator.release(batch);
      }
    }
  }

  /** Records buffered and not yet acknowledged, and the bytes they hold. */
  metrics(): { pendingRecords: number; bufferedBytes: number; blockedSends: number; inFlightRequests: number } {
    return {
      pendingRecords: this.accumulator.pendingRecords,
      bufferedBytes: this.accumulator.bufferedBytes,
      blockedSends: this.blocked.length,
      inFlightRequests: this.sender.inFlightRequests,
    };
  }

  private onCallbackError(error: unknown): void {
    // A user callback threw: the producer keeps going; the error is surfaced, not swallowed.
    queueMicrotask(() => {
      throw error;
    });
  }

  private fail(sink: CompletionSink, index: number, error: Error): void {
    sink.complete(index, null, error);
  }

  /** `nowMs`: the time of the send() or sendBatch() call, the timestamp of records given none. */
  private enqueue(record: ProducerRecord<K, V>, sink: CompletionSink, index: number, nowMs: number, lookup?: TopicLookup): void {
    if (this.closed) return this.fail(sink, index, new IllegalStateError("cannot send after the producer is closed"));
    const fatal = this.sender.fatal;
    if (fatal !== undefined) return this.fail(sink, index, fatal);
    let key: Buffer | null;
    let value: Buffer | null;
    let headers: RecordHeader[] | undefined;
    try {
      key = record.key === undefined ? null : this.userOptions.keySerializer.serialize(record.key, record.topic);
      value = this.userOptions.valueSerializer.serialize(record.value, record.topic);
      headers = toHeaders(record.headers);
    } catch (error) {
      return this.fail(sink, index, error instanceof Error ? error : asTributaryError(error));
    }
    const ownsScratch = !this.scratchInUse;
    const input: RecordInput = ownsScratch ? this.scratchRecord : { key: null, value: null, timestampMs: 0, headers: undefined };
    input.key = key;
    input.value = value;
    input.timestampMs = record.timestamp ?? nowMs;
    input.headers = headers;
    this.scratchInUse = true;
    try {
      this.enqueueInput(record.topic, record.partition, input, sink, index, nowMs, lookup);
    } finally {
      if (ownsScratch) {
        this.scratchInUse = false;
        input.key = input.value = null; // no reference to the caller's buffers beyond the append
        input.headers = undefined;
      }
    }
  }

  private enqueueInput(topic: string, explicitPartition: number | undefined, input: RecordInput, sink: CompletionSink, index: number, nowMs: number, lookup: TopicLookup | undefined): void {
    const bytes = estimateRecordBytes(input);
    if (bytes > this.options.bufferMemoryBytes || bytes > this.options.maxRequestBytes) {
      return this.fail(
        sink,
        index,
        new RecordTooLargeError("MESSAGE_TOO_LARGE", `record of ${bytes} bytes is larger than bufferMemoryBytes or maxRequestBytes`),
      );
    }
    if (this.blocked.length > 0 || !this.tryAppend(topic, explicitPartition, input, bytes, sink, index, nowMs, lookup)) {
      const record: RecordInput = { key: input.key, value: input.value, timestampMs: input.timestampMs, headers: input.headers };
      this.block({ topic, partition: explicitPartition, record, bytes, sink, sinkIndex: index, deadlineMs: nowMs + this.options.maxBlockMs });
    }
  }

  /** Appends now if metadata and memory allow; false means the send must wait. */
  private tryAppend(
    topic: string,
    explicitPartition: number | undefined,
    record: RecordInput,
    bytes: number,
    sink: CompletionSink,
    index: number,
    nowMs: number,
    lookup?: TopicLookup,
  ): boolean {
    if (lookup !== undefined && lookup.topic !== topic) {
      lookup.topic = topic;
      lookup.partitionCount = this.cluster.metadata.partitionCount(topic);
      lookup.availablePartitions = this.cluster.metadata.availablePartitions(topic);
    }
    const partitionCount = lookup === undefined ? this.cluster.metadata.partitionCount(topic) : lookup.partitionCount;
    if (partitionCount === undefined) {
      this.waitForMetadata(topic);
      return false;
    }
    if (!this.accumulator.hasMemoryFor(bytes)) {
      this.sender.wakeup();
      return false;
    }
    let partition: number;
    try {
      partition = explicitPartition ?? this.choosePartition(topic, record.key, partitionCount, lookup?.availablePartitions ?? this.cluster.metadata.availablePartitions(topic), bytes);
      if (!Number.isInteger(partition) || partition < 0 || partition >= partitionCount) {
        throw new TributaryError("UNKNOWN_TOPIC_OR_PARTITION", `partition ${partition} is not in topic ${topic}, which has partitions 0..${partitionCount - 1}`);
      }
    } catch (error) {
      this.fail(sink, index, error instanceof Error ? error : asTributaryError(error));
      return true;
    }
    let outcome: number;
    try {
      outcome = this.accumulator.append(topic, partition, record, bytes, sink, index, nowMs);
    } catch (error) {
      // A record the batch format cannot carry (e.g. a timestamp that is not a safe integer).
      this.fail(sink, index, error instanceof Error ? error : asTributaryError(error));
      return true;
    }
    if ((outcome & APPEND_BATCH_CLOSED) !== 0) {
      this.sender.wakeup();
    } else if ((outcome & APPEND_NEW_BATCH) !== 0) {
      if (this.options.lingerMs === 0) this.sender.wakeup();
      else this.sender.wakeAt(nowMs + this.options.lingerMs);
    }
    return true;
  }

  private choosePartition(topic: string, key: Buffer | null, partitionCount: number, availablePartitions: number[], bytes: number): number {
    const context = this.sharedContext ?? { topic, key, partitionCount, availablePartitions: [] };
    context.topic = topic;
    context.key = key;
    context.partitionCount = partitionCount;
    context.availablePartitions = availablePartitions;
    let partition = this.partitioner(context);
    // Kafka's sticky rule (KIP-480): an unkeyed record that would open a new batch moves the
    // sticky partition first, so unkeyed traffic spreads batch by batch over the partitions.
    if (key === null && this.stickyPartitioner !== undefined && this.accumulator.wouldOpenBatch(topic, partition, bytes)) {
      this.stickyPartitioner.onNewBatch(topic, partition);
      partition = this.partitioner(context);
    }
    return partition;
  }

  private block(send: BlockedSend): void {
    this.blocked.push(send);
    if (this.blocked.length === 1) this.armBlockedTimer();
  }

  /** One timer for all blocked sends: the head's deadline is the earliest (same maxBlockMs for all). */
  private armBlockedTimer(): void {
    if (this.blockedTimer !== undefined) clearTimeout(this.blockedTimer);
    this.blockedTimer = undefined;
    const head = this.blocked[0];
    if (head === undefined) return;
    this.blockedTimer = setTimeout(() => this.onSpaceOrMetadata(), Math.max(0, head.deadlineMs - Date.now()));
  }

  private waitForMetadata(topic: string): void {
    if (this.metadataWaits.has(topic)) return;
    this.metadataWaits.add(topic);
    this.cluster
      .waitForTopic(topic, this.options.maxBlockMs, true)
      .catch(() => undefined)
      .finally(() => {
        this.metadataWaits.delete(topic);
        this.onSpaceOrMetadata();
      });
  }

  /** Moves blocked sends into the accumulator, in order, as far as metadata and memory allow; expires the overdue. */
  private onSpaceOrMetadata(): void {
    const nowMs = Date.now();
    while (this.blocked.length > 0) {
      const head = this.blocked[0]!;
      if (this.tryAppend(head.topic, head.partition, head.record, head.bytes, head.sink, head.sinkIndex, nowMs)) {
        this.blocked.shift();
        continue;
      }
      if (head.deadlineMs > nowMs) break;
      this.blocked.shift();
      const known = this.cluster.metadata.partitionCount(head.topic) !== undefined;
      const error = known
        ? new BufferExhaustedError("REQUEST_TIMED_OUT", `no buffer space for a ${head.bytes}-byte record within maxBlockMs ${this.options.maxBlockMs} ms (bufferMemoryBytes ${this.options.bufferMemoryBytes})`)
        : new TimeoutError("REQUEST_TIMED_OUT", `topic ${head.topic} not present in metadata after maxBlockMs ${this.options.maxBlockMs} ms`);
      head.sink.complete(head.sinkIndex, null, error);
    }
    this.armBlockedTimer();
    this.settleFlushesIfIdle();
  }

  private isIdle(): boolean {
    return this.blocked.length === 0 && this.accumulator.pendingRecords === 0 && this.resultDelivery.pending === 0;
  }

  private settleFlushesIfIdle(): void {
    if (this.flushWaiters.length === 0 || !this.isIdle()) return;
    const waiters = this.flushWaiters;
    this.flushWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
