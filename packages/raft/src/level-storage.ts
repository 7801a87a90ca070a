// RaftStorage on LevelDB (the `level` package, classic-level with prebuilt binaries).
//
// Durability rests on two things:
//  - LevelDB's WriteBatch is atomic: the whole batch is one record in LevelDB's write-ahead log,
//    framed with its own checksum, and recovery drops a torn record whole. So one Ready's write
//    (entries + hard state + snapshot) is read back entirely or not at all, and `sync: true`
//    makes LevelDB fsync its log before the write resolves. We rely on this for atomicity.
//  - Each record we store also carries a CRC-32C (record-codec.ts) checked on every read, and the
//    entries must form an unbroken run after the snapshot. A failure is reported as
//    STORAGE_CORRUPT and the node refuses to start: silently dropping an entry this node had
//    acknowledged could lose a committed write, so a human must restore it from a peer.
import { Level } from "level";
import { RaftError } from "./errors.js";
import type { Entry, HardState, Snapshot } from "./messages.js";
import type { RaftInitialState } from "./node.js";
import {
  decodeEntry,
  decodeHardState,
  decodeSnapshot,
  encodeEntry,
  encodeHardState,
  encodeSnapshot,
  ENTRY_KEY_END,
  entryKey,
  HARD_STATE_KEY,
  indexOfEntryKey,
  SNAPSHOT_KEY,
} from "./record-codec.js";
import type { RaftStorage, StorageWrite } from "./storage.js";

type Operation =
  | { readonly type: "put"; readonly key: Uint8Array; readonly value: Uint8Array }
  | { readonly type: "del"; readonly key: Uint8Array };

export interface LevelRaftStorageOptions {
  /** Bytes of LevelDB's in-memory write buffer; bounds memory and the size of each flush. */
  readonly writeBufferBytes?: number;
}

export class LevelRaftStorage implements RaftStorage {
  /** Stored entries are exactly [firstIndex, lastIndex]; empty when lastIndex < firstIndex. */
  private firstIndex = 1;
  private lastIndex = 0;
  private snapshotIndex = 0;
  private writing = false;
  private loaded = false;

  private constructor(private readonly db: Level<Uint8Array, Uint8Array>) {}

  /** Open (creating if needed) the database in `directory`. */
  static async open(directory: string, options: LevelRaftStorageOptions = {}): Promise<LevelRaftStorage> {
    const db = new Level<Uint8Array, Uint8Array>(directory, {
      keyEncoding: "view",
      valueEncoding: "view",
      writeBufferSize: options.writeBufferBytes ?? 4 * 1024 * 1024,
    });
    await db.open();
    return new LevelRaftStorage(db);
  }

  async load(): Promise<RaftInitialState> {
    const hardStateRecord = await this.db.get(HARD_STATE_KEY);
    const snapshotRecord = await this.db.get(SNAPSHOT_KEY);
    const hardState: HardState | null = hardStateRecord === undefined ? null : decodeHardState(hardStateRecord);
    const snapshot: Snapshot | null = snapshotRecord === undefined ? null : decodeSnapshot(snapshotRecord);
    this.snapshotIndex = snapshot?.index ?? 0;
    const entries: Entry[] = [];
    for await (const [key, value] of this.db.iterator({ gte: entryKey(0), lt: ENTRY_KEY_END })) {
      const index = indexOfEntryKey(key);
      const expected = this.snapshotIndex + 1 + entries.length;
      if (index !== expected) {
        throw new RaftError("STORAGE_CORRUPT", `raft storage is corrupt: expected entry ${expected} after snapshot ${this.snapshotIndex}, found ${index}`);
      }
      entries.push(decodeEntry(value, index));
    }
    this.firstIndex = this.snapshotIndex + 1;
    this.lastIndex = this.snapshotIndex + entries.length;
    if (hardState !== null && hardState.commit > this.lastIndex) {
      throw new RaftError("STORAGE_CORRUPT", `raft storage is corrupt: commit ${hardState.commit} is beyond the last entry ${this.lastIndex}`);
    }
    this.loaded = true;
    return { hardState, snapshot, entries };
  }

  async write(write: StorageWrite, options: { readonly sync: boolean }): Promise<void> {
    if (!this.loaded) throw new Error("LevelRaftStorage.write before load(): the stored entry range is unknown");
    if (this.writing) throw new Error("LevelRaftStorage.write while another write is in flight: writes must be serialized");
    const operations: Operation[] = [];
    const next = { firstIndex: this.firstIndex, lastIndex: this.lastIndex, snapshotIndex: this.snapshotIndex };
    if (write.installSnapshot !== null) {
      operations.push({ type: "put", key: SNAPSHOT_KEY, value: encodeSnapshot(write.installSnapshot) });
      deleteRange(operations, next.firstIndex, next.lastIndex);
      next.snapshotIndex = write.installSnapshot.index;
      next.firstIndex = next.snapshotIndex + 1;
      next.lastIndex = next.snapshotIndex;
    }
    if (write.compaction !== null && write.compaction.index > next.snapshotIndex) {
      operations.push({ type: "put", key: SNAPSHOT_KEY, value: encodeSnapshot(write.compaction) });
      deleteRange(operations, next.firstIndex, Math.min(write.compaction.index, next.lastIndex));
      next.snapshotIndex = write.compaction.index;
      next.firstIndex = next.snapshotIndex + 1;
      next.lastIndex = Math.max(next.lastIndex, next.snapshotIndex);
    }
    const first = write.entries[0];
    if (first !== undefined) {
      if (first.index < next.firstIndex || first.index > next.lastIndex + 1) {
        throw new Error(`entry ${first.index} would leave a gap in stored entries [${next.firstIndex}, ${next.lastIndex}]`);
      }
      for (const entry of write.entries) operations.push({ type: "put", key: entryKey(entry.index), value: encodeEntry(entry) });
      const newLast = write.entries[write.entries.length - 1]!.index;
      deleteRange(operations, newLast + 1, next.lastIndex);
      next.lastIndex = newLast;
    }
    if (write.hardState !== null) operations.push({ type: "put", key: HARD_STATE_KEY, value: encodeHardState(write.hardState) });
    if (operations.length === 0) return;
    this.writing = true;
    try {
      await this.db.batch(operations, { sync: options.sync });
    } finally {
      this.writing = false;
    }
    this.firstIndex = next.firstIndex;
    this.lastIndex = next.lastIndex;
    this.snapshotIndex = next.snapshotIndex;
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}

function deleteRange(operations: Operation[], from: number, to: number): void {
  for (let index = from; index <= to; index++) operations.push({ type: "del", key: entryKey(index) });
}
