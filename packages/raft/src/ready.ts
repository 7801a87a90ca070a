// The batch of effects a RaftNode hands back: what to persist, send and apply.
//
// Processing one Ready, in this order (RaftDriver does exactly this):
//   1. send `messages` (a leader's replication traffic; safe before its own disk write),
//   2. write `installSnapshot`, `compaction`, `entries` and `hardState` in one atomic write,
//      synced when `mustSync`,
//   3. once durable, send `messagesAfterPersist` (votes, acknowledgements: they promise state
//      that must survive a crash),
//   4. restore `installSnapshot` into the state machine, apply `committedEntries`, serve
//      `readStates` once applied, fail `droppedReads`,
//   5. call `node.advance(ready)`. Only one Ready is outstanding at a time.
import type { Entry, HardState, NodeId, RaftMessage, Snapshot } from "./messages.js";
import type { ReadState } from "./read-index.js";

export type RaftRole = "follower" | "preCandidate" | "candidate" | "leader";

/** Volatile state worth reporting when it changes (leader changes, role changes). */
export interface SoftState {
  readonly role: RaftRole;
  readonly term: number;
  readonly leaderId: NodeId | null;
}

export interface Ready {
  /** Persist when non-null. */
  readonly hardState: HardState | null;
  /** A leader's snapshot replacing this node's whole log: persist it and drop every stored entry. */
  readonly installSnapshot: Snapshot | null;
  /** The application's own snapshot: persist it and drop stored entries at or below its index. */
  readonly compaction: Snapshot | null;
  /** Append; stored entries at or after `entries[0].index` are replaced. */
  readonly entries: readonly Entry[];
  /** False when only the commit index changed: losing that write is harmless. */
  readonly mustSync: boolean;
  /** Send now, even before the writes above are durable. */
  readonly messages: readonly RaftMessage[];
  /** Send only after the writes above are durable. */
  readonly messagesAfterPersist: readonly RaftMessage[];
  /** Committed and locally durable: apply in order (skipping `noop` entries). */
  readonly committedEntries: readonly Entry[];
  readonly readStates: readonly ReadState[];
  /** Read requests that failed because leadership was lost. */
  readonly droppedReads: readonly number[];
  /** Non-null when role, term or leader changed since the previous Ready. */
  readonly softState: SoftState | null;
}

/** Whether a Ready asks storage to write anything. */
export function readyHasWrites(ready: Ready): boolean {
  return ready.hardState !== null || ready.installSnapshot !== null || ready.compaction !== null || ready.entries.length > 0;
}
