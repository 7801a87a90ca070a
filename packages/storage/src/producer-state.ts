// Idempotent producers' state for one partition, built from batch headers alone: for each
// producer id, its epoch and the sequence and offset ranges of its last 5 batches (Kafka keeps 5
// because a producer has at most 5 requests in flight). The leader checks each new batch against
// it: an exact repeat of a retained batch is a duplicate (answered with the original offsets, not
// written twice), a gap in sequence or an older epoch is refused.
//
// Pure state: the log feeds it batches on append (leader and follower) and on recovery replay,
// and persists it as snapshots (producer-snapshot.ts).
import { StorageError } from "./errors.js";

export const RETAINED_BATCHES_PER_PRODUCER = 5;
const INT32_MAX = 0x7fff_ffff;

export interface ProducerBatch {
  firstSeq: number;
  lastSeq: number;
  firstOffset: number;
  lastOffset: number;
}

export interface ProducerEntry {
  producerId: number;
  producerEpoch: number;
  /** Oldest first, at most RETAINED_BATCHES_PER_PRODUCER. */
  batches: ProducerBatch[];
  /** The max timestamp of its last batch, for producer id expiration. */
  lastTimestampMs: number;
}

/** One batch as the producer state sees it. */
export interface ProducerBatchInput {
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  lastOffsetDelta: number;
  firstOffset: number;
  lastOffset: number;
  maxTimestampMs: number;
}

/** Sequences are int32 and wrap to 0 after 2^31-1 (Kafka's DefaultRecordBatch.incrementSequence). */
export function incrementSequence(sequence: number, increment: number): number {
  if (sequence > INT32_MAX - increment) return increment - (INT32_MAX - sequence) - 1;
  return sequence + increment;
}

function inSequence(lastSeq: number, nextSeq: number): boolean {
  return nextSeq === lastSeq + 1 || (nextSeq === 0 && lastSeq === INT32_MAX);
}

export class ProducerStateTable {
  private readonly producers = new Map<number, ProducerEntry>();

  get producerCount(): number {
    return this.producers.size;
  }

  entry(producerId: number): ProducerEntry | undefined {
    return this.producers.get(producerId);
  }

  entries(): IterableIterator<ProducerEntry> {
    return this.producers.values();
  }

  /** Starts checking the batches of one leader append; nothing changes until `commit`. */
  beginAppend(): ProducerAppend {
    return new ProducerAppend(this);
  }

  /** Records a batch without checking it: follower appends and recovery replay take the log as it is. */
  apply(batch: ProducerBatchInput): void {
    this.producers.set(batch.producerId, withBatch(this.producers.get(batch.producerId), batch));
  }

  /** Replaces entries with the ones an append staged. */
  replace(entry: ProducerEntry): void {
    this.producers.set(entry.producerId, entry);
  }

  /** Forgets producers idle for `expirationMs` (their batches' timestamps are older than that). */
  removeExpired(nowMs: number, expirationMs: number): number {
    let removed = 0;
    for (const [producerId, entry] of this.producers) {
      if (nowMs - entry.lastTimestampMs >= expirationMs) {
        this.producers.delete(producerId);
        removed++;
      }
    }
    return removed;
  }

  /** Forgets producers whose last batch is below the log start: the log no longer holds them. */
  removeBefore(logStartOffset: number): void {
    for (const [producerId, entry] of this.producers) {
      const last = entry.batches[entry.batches.length - 1];
      if (last === undefined || last.lastOffset < logStartOffset) this.producers.delete(producerId);
    }
  }

  clear(): void {
    this.producers.clear();
  }
}

/** The checks of one leader append, staged so a refused batch leaves the table as it was. */
export class ProducerAppend {
  private readonly staged = new Map<number, ProducerEntry>();

  constructor(private readonly table: ProducerStateTable) {}

  /**
   * Checks one idempotent batch (Kafka's ProducerAppendInfo): returns the retained batch it
   * repeats exactly, or null when it is new and in sequence. Throws INVALID_PRODUCER_EPOCH for an
   * older epoch and OUT_OF_ORDER_SEQUENCE_NUMBER for a gap.
   */
  check(producerId: number, producerEpoch: number, baseSequence: number, lastOffsetDelta: number, batchIndex: number): ProducerBatch | null {
    const current = this.staged.get(producerId) ?? this.table.entry(producerId);
    if (current === undefined) return null; // unknown producer (new, or expired): any sequence starts it
    const lastSeq = incrementSequence(baseSequence, lastOffsetDelta);
    if (producerEpoch < current.producerEpoch) {
      throw new StorageError("INVALID_PRODUCER_EPOCH",
        `batch ${batchIndex}: producer ${producerId} epoch ${producerEpoch} is older than the current epoch ${current.producerEpoch}`,
        { reason: "fenced-epoch", batchIndex });
    }
    if (producerEpoch > current.producerEpoch) {
      if (baseSequence !== 0) {
        throw new StorageError("OUT_OF_ORDER_SEQUENCE_NUMBER",
          `batch ${batchIndex}: producer ${producerId} has a new epoch ${producerEpoch} but sequence ${baseSequence} instead of 0`,
          { reason: "new-epoch-not-zero", batchIndex });
      }
      return null;
    }
    const duplicate = current.batches.find((batch) => batch.firstSeq === baseSequence && batch.lastSeq === lastSeq);
    if (duplicate !== undefined) return duplicate;
    const last = current.batches[current.batches.length - 1];
    if (last !== undefined && !inSequence(last.lastSeq, baseSequence)) {
      throw new StorageError("OUT_OF_ORDER_SEQUENCE_NUMBER",
        `batch ${batchIndex}: producer ${producerId} epoch ${producerEpoch} sent sequence ${baseSequence}, expected ${incrementSequence(last.lastSeq, 1)}`,
        { reason: "sequence-gap", batchIndex });
    }
    return null;
  }

  /** Stages a checked, non-duplicate batch with the offsets it will get. */
  stage(batch: ProducerBatchInput): void {
    this.staged.set(batch.producerId, withBatch(this.staged.get(batch.producerId) ?? this.table.entry(batch.producerId), batch));
  }

  commit(): void {
    for (const entry of this.staged.values()) this.table.replace(entry);
  }
}

/** A new entry: `previous` plus `batch` (a new epoch starts the batch list afresh). */
function withBatch(previous: ProducerEntry | undefined, batch: ProducerBatchInput): ProducerEntry {
  const sameEpoch = previous !== undefined && previous.producerEpoch === batch.producerEpoch;
  const batches = sameEpoch ? previous.batches.slice(-(RETAINED_BATCHES_PER_PRODUCER - 1)) : [];
  batches.push({
    firstSeq: batch.baseSequence,
    lastSeq: incrementSequence(batch.baseSequence, batch.lastOffsetDelta),
    firstOffset: batch.firstOffset,
    lastOffset: batch.lastOffset,
  });
  return {
    producerId: batch.producerId,
    producerEpoch: batch.producerEpoch,
    batches,
    lastTimestampMs: Math.max(batch.maxTimestampMs, sameEpoch ? previous.lastTimestampMs : -1),
  };
}
