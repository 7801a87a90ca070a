// The write workload of the kill -9 test for LevelRaftStorage, shared by the child process that
// writes and the test that checks: the child announces each write ("begin <json>") before making
// it and confirms it ("done") once durable; entry and snapshot bytes are derived from their
// index and term, so the checker can rebuild exactly what must have been stored.
import type { Entry, HardState, Snapshot } from "../messages.js";
import type { RaftInitialState } from "../node.js";
import { createSeededRandom, randomInt, type RandomSource } from "../random.js";
import type { StorageWrite } from "../storage.js";

export interface PlannedWrite {
  /** Entries [from, from + count) at `term`, replacing anything stored at or after `from`. */
  readonly from: number;
  readonly count: number;
  readonly term: number;
  /** Compact up to this index first (0 for none). */
  readonly compactTo: number;
  readonly hardState: HardState;
}

export function entryData(index: number, term: number): Uint8Array {
  const random = createSeededRandom(index * 65_537 + term);
  const bytes = new Uint8Array(randomInt(random, 0, 1000));
  for (let k = 0; k < bytes.length; k++) bytes[k] = Math.floor(random() * 256);
  return bytes;
}

export function snapshotData(index: number, term: number): Uint8Array {
  return new TextEncoder().encode(`image@${index}:${term}`);
}

export function makeEntry(index: number, term: number): Entry {
  return { index, term, kind: index % 7 === 0 ? "noop" : "normal", data: index % 7 === 0 ? new Uint8Array(0) : entryData(index, term) };
}

/** The storage write a planned write becomes, given the log it applies to. */
export function toStorageWrite(state: RaftInitialState, planned: PlannedWrite): StorageWrite {
  let compaction: Snapshot | null = null;
  if (planned.compactTo > 0) {
    const base = state.snapshot?.index ?? 0;
    const term = state.entries[planned.compactTo - base - 1]!.term;
    compaction = { index: planned.compactTo, term, data: snapshotData(planned.compactTo, term) };
  }
  const entries = Array.from({ length: planned.count }, (_, k) => makeEntry(planned.from + k, planned.term));
  return { hardState: planned.hardState, installSnapshot: null, compaction, entries };
}

/** The state after applying a planned write (what a reader must see once it is durable). */
export function applyPlanned(state: RaftInitialState, planned: PlannedWrite): RaftInitialState {
  const write = toStorageWrite(state, planned);
  let snapshot = state.snapshot;
  let entries = [...state.entries];
  if (write.compaction !== null) {
    entries = entries.slice(write.compaction.index - (snapshot?.index ?? 0));
    snapshot = write.compaction;
  }
  const base = snapshot?.index ?? 0;
  entries.length = planned.from - base - 1;
  entries.push(...write.entries);
  return { hardState: planned.hardState, snapshot, entries };
}

/** The next write for a log in `state`: mostly appends, sometimes a tail overwrite at a new term, sometimes a compaction. */
export function planNext(state: RaftInitialState, random: RandomSource): PlannedWrite {
  const base = state.snapshot?.index ?? 0;
  const lastIndex = base + state.entries.length;
  const lastTerm = state.entries[state.entries.length - 1]?.term ?? state.snapshot?.term ?? 0;
  let term = Math.max(1, lastTerm, state.hardState?.term ?? 0);
  let from = lastIndex + 1;
  let compactTo = 0;
  const roll = random();
  if (roll < 0.1 && state.entries.length > 4) {
    from = lastIndex - randomInt(random, 0, Math.min(3, state.entries.length - 2));
    term += 1;
  } else if (roll < 0.15 && state.entries.length > 10) {
    compactTo = base + randomInt(random, 1, state.entries.length - 5);
    from = Math.max(from, compactTo + 1);
  }
  const count = randomInt(random, 1, 20);
  const hardState: HardState = { term, vote: randomInt(random, 0, 1) === 0 ? null : 2, commit: Math.max(compactTo, Math.min(lastIndex, from - 1)) };
  return { from, count, term, compactTo, hardState };
}
