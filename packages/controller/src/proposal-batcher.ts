// Groups the records of many controller writes into one Raft entry (as Kafka's controller
// accumulates records before handing them to its Raft client): every write of one event-loop
// turn shares one proposal, so a burst of CreateTopics costs one replication round and one
// fsync per follower, not one per topic. Records stay in the order the writes were made.
import { invariant } from "./errors.js";
import type { v1 } from "@tributary/protocol";
import { encodeBatch } from "./metadata-records.js";

interface PendingBatch {
  baseOffset: number;
  records: v1.MetadataRecord[];
  settled: Promise<void>;
  resolve: () => void;
  reject: (error: unknown) => void;
}

export class ProposalBatcher {
  private pending: PendingBatch | null = null;

  /**
   * @param propose hands one encoded MetadataRecordBatch to Raft; resolves once committed.
   * @param maxRecordsPerEntry a bound on one entry's size; a full batch is proposed at once.
   */
  constructor(
    private readonly propose: (data: Uint8Array) => Promise<unknown>,
    private readonly maxRecordsPerEntry: number,
  ) {
    invariant(maxRecordsPerEntry > 0, "maxRecordsPerEntry must be positive");
  }

  /** Adds one write's records (starting at `baseOffset`); resolves when they have committed. */
  add(baseOffset: number, records: readonly v1.MetadataRecord[]): Promise<void> {
    invariant(records.length > 0, "a write with no records is not proposed");
    let batch = this.pending;
    if (batch && batch.records.length + records.length > this.maxRecordsPerEntry) {
      this.flush();
      batch = null;
    }
    if (!batch) {
      let resolve!: () => void;
      let reject!: (error: unknown) => void;
      const settled = new Promise<void>((res, rej) => { resolve = res; reject = rej; });
      batch = { baseOffset, records: [], settled, resolve, reject };
      this.pending = batch;
      setImmediate(() => { if (this.pending === batch) this.flush(); });
    }
    invariant(
      baseOffset === batch.baseOffset + batch.records.length,
      `write at offset ${baseOffset} does not follow the pending batch ending at ${batch.baseOffset + batch.records.length - 1}`,
    );
    batch.records.push(...records);
    return batch.settled;
  }

  /** Proposes the pending batch now. */
  flush(): void {
    const batch = this.pending;
    if (!batch) return;
    this.pending = null;
    this.propose(encodeBatch(batch.baseOffset, batch.records)).then(() => batch.resolve(), (error: unknown) => batch.reject(error));
  }
}
