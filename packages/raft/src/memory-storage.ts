// RaftStorage in memory, for unit tests and the deterministic simulator.
//
// It models a disk with a volatile cache: a write is accepted at once but becomes durable only
// when `completeWrite` (or, by default, the next microtask) says so, and a non-synced write only
// when a later synced write completes. `crash()` throws away everything not yet durable, as a
// power loss would, so the simulator can check that Raft never relied on such a write.
import { invariant } from "./errors.js";
import type { Entry, HardState, Snapshot } from "./messages.js";
import type { RaftInitialState } from "./node.js";
import type { RaftStorage, StorageWrite } from "./storage.js";

export interface DurableImage {
  hardState: HardState | null;
  snapshot: Snapshot | null;
  /** entries[k].index === (snapshot?.index ?? 0) + 1 + k */
  entries: Entry[];
}

interface PendingWrite {
  readonly write: StorageWrite;
  readonly sync: boolean;
  readonly resolve: () => void;
}

export interface MemoryRaftStorageOptions {
  /**
   * Called for each write with a function that completes it. The simulator schedules the call
   * after a simulated disk latency; by default writes complete on the next microtask.
   */
  readonly scheduleCompletion?: (complete: () => void) => void;
}

export class MemoryRaftStorage implements RaftStorage {
  private durable: DurableImage = { hardState: null, snapshot: null, entries: [] };
  /** Completed but not synced: lost by a crash unless a later synced write completes. */
  private volatile: StorageWrite[] = [];
  private queued: PendingWrite[] = [];
  /** The image once every accepted write lands. */
  private projected: DurableImage = { hardState: null, snapshot: null, entries: [] };
  private generation = 0;
  private readonly scheduleCompletion: (complete: () => void) => void;
  /** Count of writes made durable, for tests. */
  durableWrites = 0;

  constructor(options: MemoryRaftStorageOptions = {}) {
    this.scheduleCompletion = options.scheduleCompletion ?? ((complete) => queueMicrotask(complete));
  }

  async load(): Promise<RaftInitialState> {
    const image = this.image();
    return { hardState: image.hardState, snapshot: image.snapshot, entries: [...image.entries] };
  }

  write(write: StorageWrite, options: { readonly sync: boolean }): Promise<void> {
    // Check the write against everything accepted so far, so a bad one is refused to its caller.
    try {
      applyStorageWrite(this.projected, write);
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise((resolve) => {
      const generation = this.generation;
      this.queued.push({ write, sync: options.sync, resolve });
      this.scheduleCompletion(() => {
        if (generation === this.generation) this.completeOldest();
      });
    });
  }

  async close(): Promise<void> {}

  /** Power loss: every write not yet durable is gone, and its promise never settles. */
  crash(): void {
    this.generation++;
    this.queued = [];
    this.volatile = [];
    this.projected = { ...this.durable, entries: [...this.durable.entries] };
  }

  /** The durable state as a restarted node would load it. */
  durableState(): RaftInitialState {
    return { hardState: this.durable.hardState, snapshot: this.durable.snapshot, entries: [...this.durable.entries] };
  }

  private completeOldest(): void {
    const pending = this.queued.shift();
    invariant(pending !== undefined, "write completion without a queued write");
    this.volatile.push(pending.write);
    if (pending.sync) {
      for (const write of this.volatile) applyStorageWrite(this.durable, write);
      this.volatile = [];
      this.durableWrites++;
    }
    pending.resolve();
  }

  /** What a reader sees now: durable writes plus completed unsynced ones. */
  private image(): DurableImage {
    const image: DurableImage = { ...this.durable, entries: [...this.durable.entries] };
    for (const write of this.volatile) applyStorageWrite(image, write);
    return image;
  }
}

/** Apply one write to an image of stored state, with the semantics StorageWrite documents. */
export function applyStorageWrite(image: DurableImage, write: StorageWrite): void {
  if (write.installSnapshot !== null) {
    image.snapshot = write.installSnapshot;
    image.entries = [];
  }
  if (write.compaction !== null) {
    const compaction = write.compaction;
    const base = image.snapshot?.index ?? 0;
    if (compaction.index > base) {
      image.entries = image.entries.slice(compaction.index - base);
      image.snapshot = compaction;
    }
  }
  const first = write.entries[0];
  if (first !== undefined) {
    const base = image.snapshot?.index ?? 0;
    invariant(first.index > base && first.index <= base + image.entries.length + 1, () => `write of entry ${first.index} leaves a gap after ${base + image.entries.length}`);
    image.entries.length = first.index - base - 1;
    image.entries.push(...write.entries);
  }
  if (write.hardState !== null) image.hardState = write.hardState;
}
