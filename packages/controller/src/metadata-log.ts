// The committed side of the metadata log on every controller: Raft hands it committed entries
// in order; it applies their MetadataRecordBatch to the committed image, keeps the most recent
// batches for the brokers' metadata streams, wakes whoever waits for an offset, and takes a
// snapshot of the image every metadata.log.max.snapshot.interval.records records.
import { MetadataImage, type v1 } from "@tributary/protocol";
import type { Entry, RaftStateMachine, Snapshot } from "@tributary/raft";
import { invariant } from "./errors.js";
import { applyBatch, batchCodec, snapshotCodec } from "./metadata-records.js";

export interface CommittedBatch {
  baseOffset: number;
  lastOffset: number;
  batch: v1.MetadataRecordBatch__Output;
}

export interface MetadataLogOptions {
  clusterId: string;
  snapshotIntervalRecords: number;
  /** Records kept in memory for streams; an older offset is served a snapshot. */
  retainedRecords: number;
  /** Called (outside the Raft loop) with a snapshot to compact the Raft log to. */
  onSnapshot: (index: number, data: Uint8Array) => void;
  /** Called after each applied Raft entry (noop or normal), in order. */
  onApplied?: (entry: Entry) => void;
  /** Called after each committed batch is applied, with the batch (for images kept in step). */
  onBatch?: (batch: v1.MetadataRecordBatch__Output) => void;
  /** Called after the image was replaced by a snapshot. */
  onRestored?: () => void;
}

export class MetadataLog implements RaftStateMachine {
  readonly image = new MetadataImage();
  private recent: CommittedBatch[] = [];
  private retainedCount = 0;
  private recordsSinceSnapshot = 0;
  private readonly listeners = new Set<() => void>();
  private offsetWaiters: { offset: number; resolve: () => void }[] = [];
  /** Raft index of the last applied entry. */
  appliedIndex = 0;

  constructor(private readonly options: MetadataLogOptions) {
    this.image.clusterId = options.clusterId;
  }

  apply(entry: Entry): void {
    this.appliedIndex = entry.index;
    if (entry.kind === "normal" && entry.data.byteLength > 0) {
      const batch = batchCodec.decode(entry.data);
      const baseOffset = this.image.lastAppliedOffset + 1;
      applyBatch(this.image, batch);
      this.remember({ baseOffset, lastOffset: this.image.lastAppliedOffset, batch });
      this.options.onBatch?.(batch);
      this.recordsSinceSnapshot += batch.records.length;
      if (this.recordsSinceSnapshot >= this.options.snapshotIntervalRecords) {
        this.recordsSinceSnapshot = 0;
        const data = snapshotCodec.encode(this.image.toSnapshot(entry.term));
        const index = entry.index;
        queueMicrotask(() => this.options.onSnapshot(index, data));
      }
      this.wake();
    }
    this.options.onApplied?.(entry);
  }

  restore(snapshot: Snapshot): void {
    const decoded = snapshotCodec.decode(snapshot.data);
    invariant(decoded.clusterId === "" || decoded.clusterId === this.options.clusterId, `snapshot of cluster ${decoded.clusterId} in cluster ${this.options.clusterId}`);
    this.image.loadSnapshot(decoded);
    this.image.clusterId = this.options.clusterId;
    this.appliedIndex = snapshot.index;
    this.recent = [];
    this.retainedCount = 0;
    this.recordsSinceSnapshot = 0;
    this.options.onRestored?.();
    this.wake();
  }

  snapshot(): Uint8Array {
    return snapshotCodec.encode(this.image.toSnapshot(0));
  }

  private remember(batch: CommittedBatch): void {
    this.recent.push(batch);
    this.retainedCount += batch.lastOffset - batch.baseOffset + 1;
    while (this.recent.length > 1 && this.retainedCount > this.options.retainedRecords) {
      const dropped = this.recent.shift()!;
      this.retainedCount -= dropped.lastOffset - dropped.baseOffset + 1;
    }
  }

  /** The offset of the last committed record applied here; -1 before any. */
  get committedOffset(): number {
    return this.image.lastAppliedOffset;
  }

  /**
   * Batches holding offsets from `fromOffset` on (the first trimmed to start there), at most
   * `maxBatches`; null when `fromOffset` is older than what is kept (send a snapshot instead).
   */
  batchesFrom(fromOffset: number, maxBatches: number): CommittedBatch[] | null {
    if (fromOffset > this.committedOffset) return [];
    const first = this.recent[0];
    if (!first || fromOffset < first.baseOffset) return null;
    let lo = 0;
    let hi = this.recent.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.recent[mid]!.lastOffset < fromOffset) lo = mid + 1;
      else hi = mid;
    }
    const out = this.recent.slice(lo, lo + maxBatches);
    const head = out[0];
    if (head && head.baseOffset < fromOffset) {
      const skip = fromOffset - head.baseOffset;
      out[0] = { baseOffset: fromOffset, lastOffset: head.lastOffset, batch: { baseOffset: String(fromOffset), records: head.batch.records.slice(skip) } };
    }
    return out;
  }

  /** Called after every committed batch or restored snapshot; returns the unsubscribe function. */
  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves once the committed offset reaches `offset`. */
  waitForOffset(offset: number): Promise<void> {
    if (this.committedOffset >= offset) return Promise.resolve();
    return new Promise((resolve) => this.offsetWaiters.push({ offset, resolve }));
  }

  private wake(): void {
    if (this.offsetWaiters.length > 0) {
      const ready = this.offsetWaiters.filter((w) => w.offset <= this.committedOffset);
      if (ready.length > 0) {
        this.offsetWaiters = this.offsetWaiters.filter((w) => w.offset > this.committedOffset);
        for (const waiter of ready) waiter.resolve();
      }
    }
    for (const listener of this.listeners) listener();
  }
}
