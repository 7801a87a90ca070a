// What the coordinator holds for one __consumer_offsets partition it leads: the groups that
// hash to it, their committed offsets, and the replay of the partition's records on load.
// Pure: records in, state out; the coordinator does the reading and writing.
import { ConsumerGroup, type GroupEnvironment, type GroupSettings, type GroupSnapshot } from "./group.js";
import { PartitionWriter } from "./partition-writer.js";
import { decodeGroupValue, decodeKey, decodeOffsetValue, type OffsetValue, RecordFormatError } from "./record-format.js";

export interface GroupEntry {
  group: ConsumerGroup;
  /** topic -> partition -> committed offset; only offsets whose write completed. */
  offsets: Map<string, Map<number, OffsetValue>>;
  /** The group version last encoded into a write (in flight or done); -1 forces a rewrite. */
  writtenVersion: number;
  /** That write, so a caller whose change it carries can wait for it. */
  lastWrite: Promise<void> | undefined;
  /** A membership write queued but not yet encoded: it will carry any later change too. */
  queuedWrite: Promise<void> | undefined;
  /** Set while DeleteGroups' tombstones are being written: the group takes no requests. */
  deleting: boolean;
  /** When the group last had no members (or was loaded without any): offsets retention counts from here. */
  emptySinceMs: number;
  /** Set while expired offsets' tombstones are being written. */
  expiring: boolean;
}

export type PartitionStatus = "loading" | "active";

export interface ReplayCounts {
  offsets: number;
  groups: number;
  tombstones: number;
  skipped: number;
}

export class OffsetsPartition {
  status: PartitionStatus = "loading";
  readonly groups = new Map<string, GroupEntry>();
  /** Membership snapshots seen during load; only the last per group matters. */
  private readonly loadedSnapshots = new Map<string, GroupSnapshot>();
  readonly counts: ReplayCounts = { offsets: 0, groups: 0, tombstones: 0, skipped: 0 };

  constructor(
    readonly partition: number,
    readonly leaderEpoch: number,
    readonly writer: PartitionWriter,
    private readonly settings: GroupSettings,
    private readonly env: GroupEnvironment,
  ) {}

  entry(groupId: string): GroupEntry | undefined {
    return this.groups.get(groupId);
  }

  createEntry(groupId: string, nowMs: number): GroupEntry {
    if (this.groups.has(groupId)) throw new Error(`assertion: group ${groupId} created twice`);
    const entry: GroupEntry = {
      group: new ConsumerGroup(groupId, this.settings, this.env),
      offsets: new Map(),
      writtenVersion: 0,
      lastWrite: undefined,
      queuedWrite: undefined,
      deleting: false,
      emptySinceMs: nowMs,
      expiring: false,
    };
    this.groups.set(groupId, entry);
    return entry;
  }

  private entryForLoad(groupId: string): GroupEntry {
    // Retention of a loaded empty group counts from the load, as this coordinator cannot know
    // when the group emptied; finishLoad sets the time.
    return this.groups.get(groupId) ?? this.createEntry(groupId, 0);
  }

  /**
   * Applies one record read back from the partition, in log order. A record this version cannot
   * read (a newer format, or damaged bytes that passed the batch CRC) is counted and skipped:
   * one bad record must not keep every group of the partition offline.
   */
  replay(key: Buffer | null, value: Buffer | null): void {
    try {
      this.replayRecord(key, value);
    } catch (error) {
      if (!(error instanceof RecordFormatError)) throw error;
      this.counts.skipped++;
    }
  }

  private replayRecord(key: Buffer | null, value: Buffer | null): void {
    const decodedKey = key === null ? undefined : decodeKey(key);
    if (!decodedKey) {
      this.counts.skipped++;
      return;
    }
    if (value === null) this.counts.tombstones++;
    if (decodedKey.type === "offset") {
      const offset = value === null ? null : decodeOffsetValue(value);
      if (offset === undefined) {
        this.counts.skipped++;
        return;
      }
      this.applyOffset(decodedKey.groupId, decodedKey.topic, decodedKey.partition, offset, true);
      if (offset) this.counts.offsets++;
      return;
    }
    if (value === null) {
      this.loadedSnapshots.delete(decodedKey.groupId);
      const entry = this.groups.get(decodedKey.groupId);
      if (entry && entry.offsets.size === 0) this.groups.delete(decodedKey.groupId);
      return;
    }
    const snapshot = decodeGroupValue(value);
    if (!snapshot) {
      this.counts.skipped++;
      return;
    }
    this.counts.groups++;
    this.entryForLoad(decodedKey.groupId);
    this.loadedSnapshots.set(decodedKey.groupId, snapshot);
  }

  /** Sets (or with null deletes) a committed offset. */
  applyOffset(groupId: string, topic: string, partition: number, value: OffsetValue | null, loading = false): void {
    const entry = loading ? this.entryForLoad(groupId) : this.groups.get(groupId);
    if (!entry) return;
    let byPartition = entry.offsets.get(topic);
    if (value === null) {
      byPartition?.delete(partition);
      if (byPartition?.size === 0) entry.offsets.delete(topic);
      if (loading && entry.offsets.size === 0 && !this.loadedSnapshots.has(groupId)) this.groups.delete(groupId);
      return;
    }
    if (!byPartition) entry.offsets.set(topic, (byPartition = new Map()));
    byPartition.set(partition, value);
  }

  /** Ends loading: groups get their members back, with session timers starting now. */
  finishLoad(nowMs: number): void {
    for (const entry of this.groups.values()) entry.emptySinceMs = nowMs;
    for (const [groupId, snapshot] of this.loadedSnapshots) {
      const entry = this.entryForLoad(groupId);
      entry.group.restore(snapshot, nowMs);
      entry.writtenVersion = entry.group.version;
    }
    this.loadedSnapshots.clear();
    this.status = "active";
  }
}
