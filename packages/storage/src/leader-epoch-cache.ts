// The leader epoch cache: for each leader epoch that wrote to this log, the offset its first
// batch got. Followers use it (through OffsetsForLeaderEpoch) to find where their log diverged
// from a new leader's and truncate there, instead of trusting the high watermark (KIP-101).
//
// A pure state machine: the log feeds it batch epochs on append and recovery, and writes the
// checkpoint (`leader-epoch-checkpoint`, Kafka's text format) whenever a method reports a change.
import { assert } from "./assert.js";
import { CheckpointFormatError, parseOffset } from "./checkpoint-file.js";

export interface EpochEntry {
  epoch: number;
  startOffset: number;
}

/** Kafka's answer when no epoch fits: UNDEFINED_EPOCH and UNDEFINED_EPOCH_OFFSET. */
export const UNDEFINED_EPOCH = -1;
export const UNDEFINED_EPOCH_OFFSET = -1;

export interface EpochEndOffset {
  leaderEpoch: number;
  endOffset: number;
}

export class LeaderEpochCache {
  private entries: EpochEntry[] = [];

  constructor(entries: readonly EpochEntry[] = []) {
    for (const entry of entries) {
      const last = this.entries[this.entries.length - 1];
      assert(last === undefined || (entry.epoch > last.epoch && entry.startOffset > last.startOffset),
        () => `leader epoch entries must increase: (${entry.epoch}, ${entry.startOffset}) after (${last?.epoch}, ${last?.startOffset})`);
      this.entries.push({ ...entry });
    }
  }

  get latestEpoch(): number {
    return this.entries[this.entries.length - 1]?.epoch ?? UNDEFINED_EPOCH;
  }

  snapshot(): EpochEntry[] {
    return this.entries.map((entry) => ({ ...entry }));
  }

  /**
   * Records that `epoch` starts at `startOffset` (a batch of that epoch was appended there).
   * Entries that would break monotonicity (same or newer epoch, same or later offset) go first,
   * as in Kafka. Returns whether anything changed.
   */
  assign(epoch: number, startOffset: number): boolean {
    assert(epoch >= 0 && startOffset >= 0, () => `cannot assign epoch ${epoch} at offset ${startOffset}`);
    const latest = this.entries[this.entries.length - 1];
    if (latest !== undefined && latest.epoch === epoch && latest.startOffset <= startOffset) return false;
    while (this.entries.length > 0) {
      const last = this.entries[this.entries.length - 1]!;
      if (last.epoch < epoch && last.startOffset < startOffset) break;
      this.entries.pop();
    }
    this.entries.push({ epoch, startOffset });
    return true;
  }

  /**
   * Kafka's OffsetsForLeaderEpoch answer: the largest epoch <= `requestedEpoch` this log knows,
   * and where it ended (the next epoch's start offset, or the log end offset for the latest).
   */
  endOffsetFor(requestedEpoch: number, logEndOffset: number): EpochEndOffset {
    const undefinedAnswer = { leaderEpoch: UNDEFINED_EPOCH, endOffset: UNDEFINED_EPOCH_OFFSET };
    if (requestedEpoch === UNDEFINED_EPOCH || this.entries.length === 0) return undefinedAnswer;
    if (requestedEpoch === this.latestEpoch) return { leaderEpoch: requestedEpoch, endOffset: logEndOffset };
    const higherIndex = this.entries.findIndex((entry) => entry.epoch > requestedEpoch);
    if (higherIndex < 0) return undefinedAnswer;
    const higher = this.entries[higherIndex]!;
    const floor = higherIndex > 0 ? this.entries[higherIndex - 1]! : null;
    // An epoch older than all we know ended where our first known epoch starts.
    return { leaderEpoch: floor === null ? requestedEpoch : floor.epoch, endOffset: higher.startOffset };
  }

  /** After truncating the log to `endOffset`: epochs that start at or after it are gone. */
  truncateFromEnd(endOffset: number): boolean {
    const before = this.entries.length;
    while (this.entries.length > 0 && this.entries[this.entries.length - 1]!.startOffset >= endOffset) this.entries.pop();
    return this.entries.length !== before;
  }

  /** After the log start moved to `startOffset`: the epoch in force there now starts there. */
  truncateFromStart(startOffset: number): boolean {
    let lastBefore = -1;
    while (lastBefore + 1 < this.entries.length && this.entries[lastBefore + 1]!.startOffset <= startOffset) lastBefore++;
    if (lastBefore < 0) return false;
    const inForce = this.entries[lastBefore]!;
    if (lastBefore === 0 && inForce.startOffset === startOffset) return false;
    this.entries.splice(0, lastBefore + 1, { epoch: inForce.epoch, startOffset });
    return true;
  }

  clear(): boolean {
    const changed = this.entries.length > 0;
    this.entries = [];
    return changed;
  }

  toCheckpointLines(): string[] {
    return [String(this.entries.length), ...this.entries.map((entry) => `${entry.epoch} ${entry.startOffset}`)];
  }

  static fromCheckpointLines(lines: readonly string[], where: string): LeaderEpochCache {
    const count = parseOffset(lines[0] ?? "", where);
    if (count !== lines.length - 1) throw new CheckpointFormatError(`${where} says ${count} entries but has ${lines.length - 1}`);
    const entries = lines.slice(1).map((line) => {
      const parts = line.split(" ");
      if (parts.length !== 2) throw new CheckpointFormatError(`${where}: "${line}" is not "<epoch> <offset>"`);
      return { epoch: parseOffset(parts[0]!, where), startOffset: parseOffset(parts[1]!, where) };
    });
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i]!;
      const previous = entries[i - 1];
      if (entry.epoch < 0 || entry.startOffset < 0 || (previous !== undefined && (entry.epoch <= previous.epoch || entry.startOffset <= previous.startOffset))) {
        throw new CheckpointFormatError(`${where}: entry ${i} (${entry.epoch}, ${entry.startOffset}) is out of order`);
      }
    }
    return new LeaderEpochCache(entries);
  }
}
