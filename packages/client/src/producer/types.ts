// The producer's public shapes: what a caller sends, what it gets back, and its options.
import type { CompressionType, Partitioner, Serializer } from "@tributary/records";

export interface ProducerRecordHeader {
  key: string;
  value: Buffer | string | null;
}

export interface ProducerRecord<K, V> {
  topic: string;
  key?: K;
  value: V;
  /** Chosen by the partitioner when absent. */
  partition?: number;
  /** Create time in ms since the epoch; now when absent. */
  timestamp?: number;
  headers?: ProducerRecordHeader[] | Record<string, Buffer | string | null>;
}

/** Where a record landed. `offset` is -1n with acks=0 (the broker does not say). */
export interface RecordMetadata {
  topic: string;
  partition: number;
  offset: bigint;
  /** The record's create time, or the broker's append time for log-append-time topics. */
  timestamp: number;
}

export type SendCallback = (error: Error | null, metadata: RecordMetadata | null) => void;

export type Acks = 0 | 1 | -1 | "all";

export interface ProducerOptions<K, V> {
  keySerializer: Serializer<K>;
  valueSerializer: Serializer<V>;
  /** "all" (-1): every in-sync replica has the write; 1: the leader has it; 0: no answer wanted. */
  acks?: Acks;
  /** How long a partition's batch waits for more records before it is sent. */
  lingerMs?: number;
  /** A batch is sent once it holds this many bytes. */
  batchSizeBytes?: number;
  /** All unsent and unacknowledged records together take at most this many bytes. */
  bufferMemoryBytes?: number;
  /** How long send() may wait for buffer space or metadata before it fails with BufferExhaustedError. */
  maxBlockMs?: number;
  compression?: CompressionType;
  /** Default: murmur2 for keyed records, sticky for unkeyed ones (Kafka's default). */
  partitioner?: Partitioner;
  /** No duplicates and no reordering on retry (default true; needs acks "all"). */
  idempotent?: boolean;
  /** Produce requests in flight per broker (1..5). */
  maxInFlight?: number;
  /** Retries of a batch on retriable errors, bounded also by deliveryTimeoutMs. */
  retries?: number;
  /** The deadline of one Produce call. */
  requestTimeoutMs?: number;
  /** From send() to success or failure, retries included. */
  deliveryTimeoutMs?: number;
  /**
   * One Produce request carries at most this many bytes of batches, and no record may be larger.
   * 8 MiB, not Kafka's 1 MiB (max.request.size): measured in bench:compare's phases, 1 MiB
   * requests wrote 1 KiB records ~6% faster but the same client read them back ~21% slower right
   * after, as its consumer then copied fetch answers into memory the VM had to fault in.
   */
  maxRequestBytes?: number;
  retryBackoffMs?: number;
  retryBackoffMaxMs?: number;
}

export interface ResolvedProducerOptions {
  acks: 0 | 1 | -1;
  lingerMs: number;
  batchSizeBytes: number;
  bufferMemoryBytes: number;
  maxBlockMs: number;
  compression: CompressionType;
  idempotent: boolean;
  maxInFlight: number;
  retries: number;
  requestTimeoutMs: number;
  deliveryTimeoutMs: number;
  maxRequestBytes: number;
  retryBackoffMs: number;
  retryBackoffMaxMs: number;
}

function positiveInt(name: string, value: number, min = 1, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isInteger(value) || value < min || value > max) throw new RangeError(`${name} must be an integer in [${min}, ${max}], got ${value}`);
  return value;
}

export function resolveProducerOptions(options: ProducerOptions<unknown, unknown>): ResolvedProducerOptions {
  const acksOption = options.acks ?? "all";
  const acks = acksOption === "all" ? -1 : acksOption;
  if (acks !== 0 && acks !== 1 && acks !== -1) throw new RangeError(`acks must be 0, 1, -1 or "all", got ${String(acksOption)}`);
  const idempotent = options.idempotent ?? acks === -1;
  if (idempotent && acks !== -1) throw new RangeError('an idempotent producer needs acks "all"; set idempotent: false for acks 0 or 1');
  const batchSizeBytes = positiveInt("batchSizeBytes", options.batchSizeBytes ?? 16_384);
  const resolved: ResolvedProducerOptions = {
    acks,
    lingerMs: positiveInt("lingerMs", options.lingerMs ?? 5, 0, 60_000),
    batchSizeBytes,
    bufferMemoryBytes: positiveInt("bufferMemoryBytes", options.bufferMemoryBytes ?? 32 * 1024 * 1024),
    maxBlockMs: positiveInt("maxBlockMs", options.maxBlockMs ?? 60_000, 0),
    compression: options.compression ?? "none",
    idempotent,
    maxInFlight: positiveInt("maxInFlight", options.maxInFlight ?? 5, 1, idempotent ? 5 : 100),
    retries: positiveInt("retries", options.retries ?? 2_147_483_647, 0),
    requestTimeoutMs: positiveInt("requestTimeoutMs", options.requestTimeoutMs ?? 30_000),
    deliveryTimeoutMs: positiveInt("deliveryTimeoutMs", options.deliveryTimeoutMs ?? 120_000),
    maxRequestBytes: positiveInt("maxRequestBytes", options.maxRequestBytes ?? 8 * 1024 * 1024),
    retryBackoffMs: positiveInt("retryBackoffMs", options.retryBackoffMs ?? 100, 0),
    retryBackoffMaxMs: positiveInt("retryBackoffMaxMs", options.retryBackoffMaxMs ?? 1_000, 0),
  };
  if (resolved.batchSizeBytes > resolved.bufferMemoryBytes) throw new RangeError("batchSizeBytes must not exceed bufferMemoryBytes");
  if (resolved.deliveryTimeoutMs < resolved.lingerMs + resolved.requestTimeoutMs) {
    throw new RangeError("deliveryTimeoutMs must be at least lingerMs + requestTimeoutMs");
  }
  return resolved;
}
