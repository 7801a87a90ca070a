// Writes the coordinator's records to one __consumer_offsets partition, in order, with acks=all.
// Records queued while an append is in flight go out together in the next batch (group commit),
// so many commits cost one replicated append, and the order in the log is the order of write().
// A record's value may be a function, called when the record is taken into a batch: a group's
// membership queued several times while an append is in flight is then written once, as it is
// by then. Bounded: at most maxQueuedRecords wait; beyond that write() fails with RESOURCE_EXHAUSTED.
import { TributaryError } from "@tributary/protocol";
import { encodeBatch, type RecordInput } from "@tributary/records";
import type { Clock, CoordinatorPartitionAccess } from "./types.js";

export interface CoordinatorRecord {
  key: Buffer;
  /** null: a tombstone; a function: encoded when the record goes into a batch. */
  value: Buffer | null | (() => Buffer);
}

interface Pending {
  records: CoordinatorRecord[];
  resolve: () => void;
  reject: (error: unknown) => void;
}

export interface PartitionWriterLimits {
  maxQueuedRecords: number;
  /** A batch is closed once it holds this many bytes of keys and values. */
  maxBatchBytes: number;
}

export class PartitionWriter {
  private readonly queue: Pending[] = [];
  private queuedRecords = 0;
  private flushing = false;
  private closedError: TributaryError | undefined;

  constructor(
    private readonly partition: number,
    private readonly access: CoordinatorPartitionAccess,
    private readonly clock: Clock,
    private readonly limits: PartitionWriterLimits,
  ) {}

  /** Resolves once the records are replicated to the ISR (acks=all); rejects with the append's error. */
  write(records: CoordinatorRecord[]): Promise<void> {
    if (records.length === 0) return Promise.resolve();
    if (this.closedError) return Promise.reject(this.closedError);
    if (this.queuedRecords + records.length > this.limits.maxQueuedRecords) {
      return Promise.reject(new TributaryError("RESOURCE_EXHAUSTED", `offsets partition ${this.partition} has ${this.queuedRecords} records waiting to be written; back off and retry`));
    }
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ records, resolve, reject });
      this.queuedRecords += records.length;
      if (!this.flushing) void this.flush();
    });
  }

  /** Fails everything queued (the partition was resigned); later writes fail at once. */
  close(error: TributaryError): void {
    this.closedError = error;
    for (const pending of this.queue.splice(0)) pending.reject(error);
    this.queuedRecords = 0;
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    try {
      while (this.queue.length > 0 && !this.closedError) {
        const { taken, inputs } = this.takeBatch();
        try {
          await this.access.appendCommitted(this.partition, encodeBatch({ records: inputs }));
          for (const pending of taken) pending.resolve();
        } catch (error) {
          for (const pending of taken) pending.reject(error);
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  /** Takes whole writes up to maxBatchBytes (at least one), encoding deferred values now. */
  private takeBatch(): { taken: Pending[]; inputs: RecordInput[] } {
    const taken: Pending[] = [];
    const inputs: RecordInput[] = [];
    const timestampMs = this.clock();
    let bytes = 0;
    while (this.queue.length > 0 && (taken.length === 0 || bytes < this.limits.maxBatchBytes)) {
      const next = this.queue.shift()!;
      this.queuedRecords -= next.records.length;
      taken.push(next);
      for (const record of next.records) {
        const value = typeof record.value === "function" ? record.value() : record.value;
        bytes += record.key.length + (value?.length ?? 0);
        inputs.push({ key: record.key, value, timestampMs });
      }
    }
    return { taken, inputs };
  }
}
