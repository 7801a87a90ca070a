// The sparse offset index of one segment: (offset - baseOffset, file position) pairs, one every
// `indexIntervalBytes` of log, so a read finds its batch with a binary search and a scan of at
// most one interval. Held in memory (8 bytes an entry, bounded by segmentIndexBytes) and written
// to `<base>.index` when the segment is rolled or closed; after an unclean stop it is rebuilt
// from the log, so it never has to be written on the append path.
//
// Keys are batch base offsets: the batch at `position` starts at `offset`.
import { assert } from "./assert.js";

export const OFFSET_INDEX_ENTRY_BYTES = 8;
const INITIAL_CAPACITY = 64;

export interface OffsetPosition {
  offset: number;
  position: number;
}

export class OffsetIndex {
  private relativeOffsets = new Int32Array(INITIAL_CAPACITY);
  private positions = new Int32Array(INITIAL_CAPACITY);
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

  get sizeBytes(): number {
    return this.count * OFFSET_INDEX_ENTRY_BYTES;
  }

  entryAt(index: number): OffsetPosition {
    assert(index >= 0 && index < this.count, () => `offset index entry ${index} of ${this.count}`);
    return { offset: this.baseOffset + this.relativeOffsets[index]!, position: this.positions[index]! };
  }

  append(offset: number, position: number): void {
    const relative = offset - this.baseOffset;
    assert(relative >= 0 && relative <= 0x7fff_ffff, () => `offset ${offset} does not fit segment ${this.baseOffset}'s index`);
    if (this.count > 0) {
      const last = this.count - 1;
      assert(relative > this.relativeOffsets[last]! && position > this.positions[last]!,
        () => `offset index entries must increase: (${offset}, ${position}) after (${this.baseOffset + this.relativeOffsets[last]!}, ${this.positions[last]!})`);
    }
    assert(!this.isFull, () => `offset index of segment ${this.baseOffset} is full (${this.maxEntries} entries)`);
    if (this.count === this.positions.length) this.grow();
    this.relativeOffsets[this.count] = relative;
    this.positions[this.count] = position;
    this.count++;
  }

  /** The entry with the largest offset <= `targetOffset`, or (baseOffset, 0) when none is. */
  lookup(targetOffset: number): OffsetPosition {
    const slot = this.largestSlotAtOrBelow(targetOffset - this.baseOffset);
    if (slot < 0) return { offset: this.baseOffset, position: 0 };
    return this.entryAt(slot);
  }

  /** The position of the first indexed batch starting at or after `offset`, or null if none is indexed. */
  positionAtOrAfter(offset: number): number | null {
    const slot = this.largestSlotAtOrBelow(offset - this.baseOffset - 1) + 1;
    return slot < this.count ? this.positions[slot]! : null;
  }

  /** Forgets entries for batches at or after `position` (the log was cut there). */
  truncateToPosition(position: number): void {
    while (this.count > 0 && this.positions[this.count - 1]! >= position) this.count--;
  }

  /** The entries as the `.index` file holds them: int32 relative offset, int32 position, big-endian. */
  toFileBytes(): Buffer {
    const bytes = Buffer.allocUnsafe(this.count * OFFSET_INDEX_ENTRY_BYTES);
    for (let i = 0; i < this.count; i++) {
      bytes.writeInt32BE(this.relativeOffsets[i]!, i * OFFSET_INDEX_ENTRY_BYTES);
      bytes.writeInt32BE(this.positions[i]!, i * OFFSET_INDEX_ENTRY_BYTES + 4);
    }
    return bytes;
  }

  /**
   * Loads an `.index` file's bytes, checking them against the segment they describe. Returns a
   * reason instead of an index when they cannot be right, so the caller rebuilds it from the log.
   */
  static fromFileBytes(baseOffset: number, maxEntries: number, bytes: Buffer, segmentSizeBytes: number): OffsetIndex | string {
    if (bytes.length % OFFSET_INDEX_ENTRY_BYTES !== 0) return `size ${bytes.length} is not a multiple of ${OFFSET_INDEX_ENTRY_BYTES}`;
    const count = bytes.length / OFFSET_INDEX_ENTRY_BYTES;
    if (count > maxEntries) return `${count} entries, more than the ${maxEntries} allowed`;
    const index = new OffsetIndex(baseOffset, maxEntries);
    let previousRelative = 0;
    let previousPosition = 0;
    for (let i = 0; i < count; i++) {
      const relative = bytes.readInt32BE(i * OFFSET_INDEX_ENTRY_BYTES);
      const position = bytes.readInt32BE(i * OFFSET_INDEX_ENTRY_BYTES + 4);
      // The first batch (position 0) is never indexed, so every entry is strictly past it.
      if (relative <= previousRelative || position <= previousPosition || position >= segmentSizeBytes) {
        return `entry ${i} (${relative}, ${position}) is out of order or past the log's ${segmentSizeBytes} bytes`;
      }
      index.append(baseOffset + relative, position);
      previousRelative = relative;
      previousPosition = position;
    }
    return index;
  }

  private largestSlotAtOrBelow(relativeTarget: number): number {
    let low = 0;
    let high = this.count - 1;
    let found = -1;
    while (low <= high) {
      const mid = (low + high) >>> 1;
      if (this.relativeOffsets[mid]! <= relativeTarget) {
        found = mid;
        low = mid + 1;
      } else {
        high = mid - 1;
      }
    }
    return found;
  }

  private grow(): void {
    const capacity = Math.min(this.positions.length * 2, Math.max(this.maxEntries, INITIAL_CAPACITY));
    const relativeOffsets = new Int32Array(capacity);
    relativeOffsets.set(this.relativeOffsets);
    const positions = new Int32Array(capacity);
    positions.set(this.positions);
    this.relativeOffsets = relativeOffsets;
    this.positions = positions;
  }
}
