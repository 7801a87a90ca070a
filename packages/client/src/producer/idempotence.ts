// The idempotent producer's bookkeeping: its producer id and epoch, and per partition the next
// sequence number, how many of its batches are in flight and the last acknowledged sequence.
// Pure: the sender asks it questions and tells it what happened.
//
// The ordering rule (as Kafka's): fresh batches of a partition pipeline freely (up to the
// node's in-flight limit) with increasing sequences; once a batch must be retried, it and the
// retries after it go alone and in sequence order, only after every in-flight batch of the
// partition has come back, so the broker never sees a later sequence before an earlier one
// that it will accept. A batch answered OUT_OF_ORDER_SEQUENCE_NUMBER while an earlier one is
// still unacknowledged is retried; if it is the earliest, the broker lost our state: the
// producer bumps its epoch and re-stamps waiting batches from sequence 0.
import { BatchField, writeBatchCrc } from "@tributary/records";
import type { ProducerBatch } from "./batch.js";
import type { PartitionQueue } from "./accumulator.js";

/** Sequence numbers are int32 and wrap to 0 after 2^31 - 1, as Kafka's. */
const SEQUENCE_MODULUS = 2 ** 31;

interface PartitionSequence {
  nextSequence: number;
  inFlightBatches: number;
  /** Retried batches in flight: fresh batches wait for them, so a retry that fails again does not drag new ones along. */
  inFlightRetries: number;
  /** -1 before the first acknowledgement. */
  lastAckedSequence: number;
}

export function incrementSequence(sequence: number, by: number): number {
  return (sequence + by) % SEQUENCE_MODULUS;
}

/** Writes producer id, epoch and base sequence into an encoded batch and recomputes its CRC. */
export function stampProducerState(encoded: Buffer, producerId: number, producerEpoch: number, baseSequence: number): void {
  encoded.writeBigInt64BE(BigInt(producerId), BatchField.producerId);
  encoded.writeInt16BE(producerEpoch, BatchField.producerEpoch);
  encoded.writeInt32BE(baseSequence, BatchField.baseSequence);
  writeBatchCrc(encoded, 0);
}

export class IdempotenceState {
  producerId = -1;
  producerEpoch = -1;
  /** Set when the broker lost our sequence state: no new drains until the epoch is bumped. */
  epochBumpNeeded = false;
  private readonly partitions = new Map<string, PartitionSequence>();

  get hasProducerId(): boolean {
    return this.producerId >= 0;
  }

  /** A new id or epoch: every partition starts again at sequence 0. */
  setProducerId(producerId: number, producerEpoch: number): void {
    if (!Number.isSafeInteger(producerId) || producerId < 0) throw new RangeError(`bad producer id ${producerId}`);
    this.producerId = producerId;
    this.producerEpoch = producerEpoch;
    this.epochBumpNeeded = false;
    for (const state of this.partitions.values()) {
      state.nextSequence = 0;
      state.lastAckedSequence = -1;
    }
  }

  private state(key: string): PartitionSequence {
    let state = this.partitions.get(key);
    if (state === undefined) {
      state = { nextSequence: 0, inFlightBatches: 0, inFlightRetries: 0, lastAckedSequence: -1 };
      this.partitions.set(key, state);
    }
    return state;
  }

  /** Gives a batch draining for the first time its sequence numbers. */
  assignSequence(key: string, batch: ProducerBatch): void {
    if (batch.baseSequence >= 0) return;
    if (!this.hasProducerId) throw new Error("sequence asked before the producer has an id: a bug");
    const state = this.state(key);
    batch.producerId = this.producerId;
    batch.producerEpoch = this.producerEpoch;
    batch.baseSequence = state.nextSequence;
    state.nextSequence = incrementSequence(state.nextSequence, batch.recordCount);
  }

  /** Whether the head batch of a partition may be drained now. */
  mayDrain(queue: PartitionQueue, head: ProducerBatch): boolean {
    if (this.epochBumpNeeded || !this.hasProducerId) return false;
    const state = this.state(queue.key);
    const isRetry = head.baseSequence >= 0 && head.attempts > 0;
    if (!isRetry) return state.inFlightRetries === 0;
    return state.inFlightBatches === 0;
  }

  /** The batch went out (its attempts already counted: more than 1 means a retry). */
  onSent(key: string, batch: ProducerBatch): void {
    const state = this.state(key);
    state.inFlightBatches++;
    if (batch.attempts > 1) state.inFlightRetries++;
  }

  /** The batch came back (acknowledged, to be retried, or failed). */
  onReturned(key: string, batch: ProducerBatch): void {
    const state = this.state(key);
    state.inFlightBatches--;
    if (batch.attempts > 1) state.inFlightRetries--;
    if (state.inFlightBatches < 0 || state.inFlightRetries < 0) throw new Error(`in-flight batch count of ${key} went negative: a bug`);
  }

  onAcknowledged(key: string, batch: ProducerBatch): void {
    const state = this.state(key);
    if (batch.producerEpoch !== this.producerEpoch) return; // an answer from before an epoch bump
    state.lastAckedSequence = incrementSequence(batch.baseSequence, batch.recordCount - 1);
  }

  /** Whether `batch` is the first unacknowledged one of its partition (an OUT_OF_ORDER on it is the broker's loss, not ours). */
  isEarliestUnacknowledged(key: string, batch: ProducerBatch): boolean {
    const state = this.state(key);
    return batch.producerEpoch === this.producerEpoch && batch.baseSequence === incrementSequence(state.lastAckedSequence, 1);
  }

  totalInFlight(): number {
    let total = 0;
    for (const state of this.partitions.values()) total += state.inFlightBatches;
    return total;
  }

  /**
   * After an epoch bump: the waiting batches that had sequences (given in each partition's
   * sequence order) get new ones from 0 under the new epoch, re-stamped in their bytes.
   */
  restamp(key: string, batch: ProducerBatch): void {
    const state = this.state(key);
    batch.producerId = this.producerId;
    batch.producerEpoch = this.producerEpoch;
    batch.baseSequence = state.nextSequence;
    state.nextSequence = incrementSequence(state.nextSequence, batch.recordCount);
    if (batch.encoded !== undefined) stampProducerState(batch.encoded, batch.producerId, batch.producerEpoch, batch.baseSequence);
  }
}
