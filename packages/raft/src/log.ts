// The in-memory Raft log of one node: the newest snapshot, the entries after it, and the
// indexes that say how far the log is committed, applied, handed to storage and durable.
//
// Ordering of the indexes, asserted after every change:
//   snapshotIndex <= applied <= committed <= lastIndex, and persistedIndex <= lastIndex.
// `unstableFrom` is the first index not yet handed to storage in a Ready; `persistedIndex` is the
// last index known durable *and still in this log* (a truncation lowers it). A leader counts
// itself towards a quorum only up to persistedIndex, and entries are applied only once durable.
import { assertIndex, invariant } from "./errors.js";
import type { Entry, Snapshot } from "./messages.js";

export interface LogPosition {
  readonly index: number;
  readonly term: number;
}

export class RaftLog {
  private snapshotMeta: LogPosition;
  /** The newest snapshot with its data, kept to send to followers that fell behind it. */
  private latestSnapshot: Snapshot | null;
  /** entries[k].index === snapshotMeta.index + 1 + k */
  private entries: Entry[];
  private committedIndex: number;
  private appliedIndex: number;
  private persisted: number;
  private unstableFrom: number;
  /** A snapshot received from the leader that replaces the whole log; not yet handed out. */
  private pendingInstall: Snapshot | null = null;
  /** A local snapshot the application took; the log before it is compacted. Not yet handed out. */
  private pendingCompaction: Snapshot | null = null;

  constructor(snapshot: Snapshot | null, entries: readonly Entry[], commit: number) {
    this.latestSnapshot = snapshot;
    this.snapshotMeta = snapshot === null ? { index: 0, term: 0 } : { index: snapshot.index, term: snapshot.term };
    this.entries = [...entries];
    entries.forEach((entry, k) => {
      invariant(entry.index === this.snapshotMeta.index + 1 + k, () => `stored entry ${entry.index} is out of sequence at position ${k}`);
      invariant(entry.term >= (k === 0 ? this.snapshotMeta.term : entries[k - 1]!.term), `stored entry ${entry.index} has a decreasing term`);
    });
    this.committedIndex = Math.max(commit, this.snapshotMeta.index);
    this.appliedIndex = this.snapshotMeta.index;
    this.persisted = this.lastIndex();
    this.unstableFrom = this.lastIndex() + 1;
    this.check();
  }

  get snapshotIndex(): number {
    return this.snapshotMeta.index;
  }
  get snapshotTerm(): number {
    return this.snapshotMeta.term;
  }
  get snapshot(): Snapshot | null {
    return this.latestSnapshot;
  }
  get committed(): number {
    return this.committedIndex;
  }
  get applied(): number {
    return this.appliedIndex;
  }
  get persistedIndex(): number {
    return this.persisted;
  }

  lastIndex(): number {
    return this.snapshotMeta.index + this.entries.length;
  }

  lastTerm(): number {
    return this.entries.length === 0 ? this.snapshotMeta.term : this.entries[this.entries.length - 1]!.term;
  }

  /** Term of the entry at `index`, or undefined when it is compacted or beyond the end. */
  term(index: number): number | undefined {
    if (index === this.snapshotMeta.index) return this.snapshotMeta.term;
    return this.entry(index)?.term;
  }

  entry(index: number): Entry | undefined {
    if (index <= this.snapshotMeta.index) return undefined;
    return this.entries[index - this.snapshotMeta.index - 1];
  }

  matchTerm(index: number, term: number): boolean {
    return this.term(index) === term;
  }

  /** The §5.4.1 election restriction: is a candidate's log at least as up to date as ours? */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const ourTerm = this.lastTerm();
    return lastTerm > ourTerm || (lastTerm === ourTerm && lastIndex >= this.lastIndex());
  }

  /** Entries in [from, to] inclusive, cut to `maxBytes` (at least one) and `maxCount`; undefined if compacted. */
  slice(from: number, to: number, maxBytes: number, maxCount: number): Entry[] | undefined {
    if (from <= this.snapshotMeta.index) return undefined;
    const end = Math.min(to, this.lastIndex(), from + maxCount - 1);
    const out: Entry[] = [];
    let bytes = 0;
    for (let index = from; index <= end; index++) {
      const entry = this.entry(index)!;
      bytes += entry.data.byteLength;
      if (out.length > 0 && bytes > maxBytes) break;
      out.push(entry);
    }
    return out;
  }

  /** Leader: append one entry of its own at the end. */
  appendOwn(entry: Entry): void {
    invariant(entry.index === this.lastIndex() + 1, () => `leader appends ${entry.index} after ${this.lastIndex()}`);
    invariant(entry.term >= this.lastTerm(), `leader appends an entry of an older term`);
    this.entries.push(entry);
  }

  /**
   * Follower: accept the leader's entries after (prevIndex, prevTerm). Returns the last index now
   * known to match the leader, or undefined if our log does not contain (prevIndex, prevTerm).
   */
  tryAppend(prevIndex: number, prevTerm: number, entries: readonly Entry[]): number | undefined {
    if (!this.matchTerm(prevIndex, prevTerm)) return undefined;
    const lastNewIndex = prevIndex + entries.length;
    for (let k = 0; k < entries.length; k++) {
      const incoming = entries[k]!;
      invariant(incoming.index === prevIndex + 1 + k, `AppendEntries carries out-of-sequence entries`);
      if (this.term(incoming.index) === incoming.term) continue;
      this.truncateFrom(incoming.index);
      for (let j = k; j < entries.length; j++) this.entries.push(entries[j]!);
      break;
    }
    this.check();
    return lastNewIndex;
  }

  private truncateFrom(index: number): void {
    invariant(index > this.committedIndex, () => `truncating committed entry ${index} (committed ${this.committedIndex})`);
    this.entries.length = index - this.snapshotMeta.index - 1;
    this.persisted = Math.min(this.persisted, index - 1);
    this.unstableFrom = Math.min(this.unstableFrom, index);
  }

  /**
   * The last position at or before `index` whose term is at most `term`: the leader or follower
   * can skip every entry after it, since they all belong to terms the other side does not have
   * at those indexes. Stops at the snapshot.
   */
  findConflictByTerm(index: number, term: number): LogPosition {
    let probe = Math.min(index, this.lastIndex());
    while (probe > this.snapshotMeta.index) {
      const probeTerm = this.term(probe)!;
      if (probeTerm <= term) return { index: probe, term: probeTerm };
      probe--;
    }
    return { index: this.snapshotMeta.index, term: this.snapshotMeta.term };
  }

  commitTo(index: number): boolean {
    if (index <= this.committedIndex) return false;
    invariant(index <= this.lastIndex(), () => `commit ${index} beyond last index ${this.lastIndex()}`);
    this.committedIndex = index;
    return true;
  }

  /** Follower: replace the whole log with the leader's snapshot. */
  restore(snapshot: Snapshot): void {
    invariant(snapshot.index > this.committedIndex, `restoring a snapshot at or below the commit index`);
    this.entries = [];
    this.snapshotMeta = { index: snapshot.index, term: snapshot.term };
    this.latestSnapshot = snapshot;
    this.committedIndex = snapshot.index;
    this.appliedIndex = snapshot.index;
    this.persisted = Math.min(this.persisted, snapshot.index);
    this.unstableFrom = snapshot.index + 1;
    this.pendingInstall = snapshot;
    this.pendingCompaction = null;
    this.check();
  }

  /** Compact the log up to an applied index the application has taken a snapshot at. */
  compact(index: number, data: Uint8Array): void {
    assertIndex(index, "snapshot index");
    invariant(index <= this.appliedIndex, () => `snapshot at ${index} is beyond applied ${this.appliedIndex}`);
    if (index <= this.snapshotMeta.index) return;
    const term = this.term(index)!;
    const snapshot: Snapshot = { index, term, data };
    this.entries.splice(0, index - this.snapshotMeta.index);
    this.snapshotMeta = { index, term };
    this.latestSnapshot = snapshot;
    this.pendingCompaction = snapshot;
    this.check();
  }

  hasUnstable(): boolean {
    return this.unstableFrom <= this.lastIndex() || this.pendingInstall !== null || this.pendingCompaction !== null;
  }

  /** Hands out what storage must write next; the caller puts it in a Ready. */
  takeUnstable(): { entries: Entry[]; install: Snapshot | null; compaction: Snapshot | null } {
    const from = Math.max(this.unstableFrom, this.snapshotMeta.index + 1);
    const entries = this.entries.slice(from - this.snapshotMeta.index - 1);
    this.unstableFrom = this.lastIndex() + 1;
    const out = { entries, install: this.pendingInstall, compaction: this.pendingCompaction };
    this.pendingInstall = null;
    this.pendingCompaction = null;
    return out;
  }

  /** Storage reports the handed-out write durable: entries up to `last` (if still ours) and snapshots. */
  markDurable(last: LogPosition | null, snapshotIndex: number | null): void {
    if (snapshotIndex !== null && snapshotIndex <= this.snapshotMeta.index) {
      this.persisted = Math.max(this.persisted, Math.min(snapshotIndex, this.snapshotMeta.index));
    }
    // A truncation after the hand-out may have replaced these entries: then they do not count.
    if (last !== null && this.term(last.index) === last.term) this.persisted = Math.max(this.persisted, last.index);
    this.check();
  }

  /** Committed, durable entries not yet handed to the application. */
  nextToApply(maxCount: number): Entry[] {
    const to = Math.min(this.committedIndex, this.persisted, this.appliedIndex + maxCount);
    if (to <= this.appliedIndex) return [];
    return this.entries.slice(this.appliedIndex - this.snapshotMeta.index, to - this.snapshotMeta.index);
  }

  hasToApply(): boolean {
    return Math.min(this.committedIndex, this.persisted) > this.appliedIndex;
  }

  appliedTo(index: number): void {
    invariant(index >= this.appliedIndex && index <= this.committedIndex, () => `applied ${index} outside [${this.appliedIndex}, ${this.committedIndex}]`);
    this.appliedIndex = index;
  }

  private check(): void {
    const last = this.lastIndex();
    invariant(
      this.snapshotMeta.index <= this.appliedIndex && this.appliedIndex <= this.committedIndex && this.committedIndex <= last,
      () => `log indexes out of order: snapshot ${this.snapshotMeta.index} applied ${this.appliedIndex} committed ${this.committedIndex} last ${last}`,
    );
    invariant(this.persisted <= last, () => `persisted ${this.persisted} beyond last ${last}`);
    assertIndex(last, "last index");
  }
}
