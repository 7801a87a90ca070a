// The time index of one segment: (timestamp, offset - baseOffset) pairs, added beside offset
// index entries whenever the largest timestamp seen so far has grown. An entry (T, O) says: the
// batch starting at O is where the segment's largest timestamp first reached T, so every batch
// before O has a smaller timestamp. Lookup by timestamp therefore starts its scan at O.
//
// Held in memory and written to `<base>.timeindex` (int64 timestamp, int32 relative offset) on
// roll and close, like the offset index.
import { assert } from "./assert.js";

export const TIME_INDEX_ENTRY_BYTES = 12;
const INITIAL_CAPACITY = 64;

export interface TimestampOffset {
  timestampMs: number;
  offset: number;
}

export class TimeIndex {
  private timestamps = new Float64Array(INITIAL_CAPACITY);
  private relativeOffsets = new Int32Array(INITIAL_CAPACITY);
  private count = 0;

  constructor(
    readonly baseOffset: number,
    readonly maxEntries: number,
  ) {}

  get entryCount(): number {
    return this.count;
  }

  get isFull(): boolean {
    return this.count >= this.maxEntries;
  }

  lastEntry(): TimestampOffset | null {
    if (this.count === 0) return null;
    return this.entryAt(this.count - 1);
  }

  entryAt(index: number): TimestampOffset {
    assert(index >= 0 && index < this.count, () => `time index entry ${index} of ${this.count}`);
    return { timestampMs: this.timestamps[index]!, offset: this.baseOffset + this.relativeOffsets[index]! };
  }

  /** Adds (timestampMs, offset) if the timestamp is newer than the last entry's; returns whether it did. */
  maybeAppend(timestampMs: number, offset: number): boolean {
    const last = this.count - 1;
    if (last >= 0 && timestampMs <= this.timestamps[last]!) return false;
    const relative = offset - this.baseOffset;
    assert(relative >= 0 && relative <= 0x7fff_ffff, () => `offset ${offset} does not fit segment ${this.baseOffset}'s time index`);
    assert(last < 0 || relative >= this.relativeOffsets[last]!, () => `time index offsets must not decrease: ${offset}`);
    if (this.isFull) return false;
    if (this.count === this.timestamps.length) this.grow();
    this.timestamps[this.count] = timestampMs;
    this.relativeOffsets[this.count] = relative;
    this.count++;
    return true;
  }

  /** The offset to start scanning from for the first record with timestamp >= targetMs. */
  lookup(targetMs: number): number {
    let low = 0;
    let high = this.count - 1;
    let found = -1;
    while (low <= high) {
      const mid = (low + high) >>> 1;
      if (this.timestamps[mid]! <= targetMs) {
        found = mid;
        low = mid + 1;
      } else {
        high = mid - 1;
      }
    }
    // Entry `found` has the largest timestamp <= the target; every batch before its offset has a
    // timestamp below the entry's (the maximum first reached it there), so nothing earlier qualifies.
    return found < 0 ? this.baseOffset : this.baseOffset + this.relativeOffsets[found]!;
  }

  /** Forgets entries at or after `offset` (the log was cut there). */
  truncateToOffset(offset: number): void {
    while (this.count > 0 && this.baseOffset + this.relativeOffsets[this.count - 1]! >= offset) this.count--;
  }

  toFileBytes(): Buffer {
    const bytes = Buffer.allocUnsafe(this.count * TIME_INDEX_ENTRY_BYTES);
    for (let i = 0; i < this.count; i++) {
      bytes.writeBigInt64BE(BigInt(this.timestamps[i]!), i * TIME_INDEX_ENTRY_BYTES);
      bytes.writeInt32BE(this.relativeOffsets[i]!, i * TIME_INDEX_ENTRY_BYTES + 8);
    }
    return bytes;
  }

  /** Loads a `.timeindex` file's bytes; returns a reason instead when they cannot be right. */
  static fromFileBytes(baseOffset: number, maxEntries: number, bytes: Buffer, nextOffset: number): TimeIndex | string {
    if (bytes.length % TIME_INDEX_ENTRY_BYTES !== 0) return `size ${bytes.length} is not a multiple of ${TIME_INDEX_ENTRY_BYTES}`;
    const count = bytes.length / TIME_INDEX_ENTRY_BYTES;
    if (count > maxEntries) return `${count} entries, more than the ${maxEntries} allowed`;
    const index = new TimeIndex(baseOffset, maxEntries);
    for (let i = 0; i < count; i++) {
      const timestamp = bytes.readBigInt64BE(i * TIME_INDEX_ENTRY_BYTES);
      const relative = bytes.readInt32BE(i * TIME_INDEX_ENTRY_BYTES + 8);
      const last = index.lastEntry();
      if (timestamp < -1n || timestamp > BigInt(Number.MAX_SAFE_INTEGER)) return `entry ${i} has timestamp ${timestamp}`;
      if (relative < 0 || baseOffset + relative >= nextOffset) return `entry ${i} points at offset ${baseOffset + relative}, outside the segment`;
      if (last !== null && (Number(timestamp) <= last.timestampMs || baseOffset + relative < last.offset)) {
        return `entry ${i} (${timestamp}, ${baseOffset + relative}) does not follow (${last.timestampMs}, ${last.offset})`;
      }
      index.maybeAppend(Number(timestamp), baseOffset + relative);
    }
    return index;
  }

  private grow(): void {
    const capacity = Math.min(this.timestamps.length * 2, Math.max(this.maxEntries, INITIAL_CAPACITY));
    const timestamps = new Float64Array(capacity);
    timestamps.set(this.timestamps);
    const relativeOffsets = new Int32Array(capacity);
    relativeOffsets.set(this.relativeOffsets);
    this.timestamps = timestamps;
    this.relativeOffsets = relativeOffsets;
  }
}
