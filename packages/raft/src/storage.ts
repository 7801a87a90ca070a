// Durable storage for one Raft node: the interface the driver writes through, and the rules
// every implementation must keep. Implementations: LevelRaftStorage (LevelDB, for real use) and
// MemoryRaftStorage (for tests and the simulator, able to lose writes not yet durable).
import type { Entry, HardState, Snapshot } from "./messages.js";
import type { RaftInitialState } from "./node.js";
import type { Ready } from "./ready.js";

/**
 * One Ready's worth of writes, applied atomically and in this order:
 *   1. `installSnapshot`: save it and delete every stored entry (the leader's image replaces the log);
 *   2. `compaction`: save it and delete stored entries at or below its index;
 *   3. `entries`: delete stored entries at or after `entries[0].index`, then store these;
 *   4. `hardState`: save it.
 */
export interface StorageWrite {
  readonly hardState: HardState | null;
  readonly installSnapshot: Snapshot | null;
  readonly compaction: Snapshot | null;
  readonly entries: readonly Entry[];
}

export interface RaftStorage {
  /** Everything durable: the newest snapshot, the entries after it in order, the hard state. */
  load(): Promise<RaftInitialState>;
  /**
   * Apply `write` atomically: after a crash either all of it or none of it is read back.
   * With `sync`, the promise resolves only once the write is durable (fsynced); without it the
   * write may be lost on a crash, but never reordered before an earlier write.
   */
  write(write: StorageWrite, options: { readonly sync: boolean }): Promise<void>;
  close(): Promise<void>;
}

export function storageWriteOf(ready: Ready): StorageWrite {
  return {
    hardState: ready.hardState,
    installSnapshot: ready.installSnapshot,
    compaction: ready.compaction,
    entries: ready.entries,
  };
}
