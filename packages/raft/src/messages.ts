// The values Raft nodes exchange and persist: log entries, hard state, snapshots and the RPCs.
//
// These are plain data types with no behaviour and no encoding: the transport adapter (in the
// controller) maps them to protobuf, and the storage adapters to bytes. Indexes and terms are
// JS numbers; the core asserts they are safe integers.

/** A voter's id, as in `controller.quorum.voters` (`1@host:port,...`). */
export type NodeId = number;

/**
 * `normal` entries carry the application's opaque bytes. A leader appends one `noop` entry at the
 * start of its term: only entries of the leader's own term are committed by counting replicas, so
 * this entry is what lets it commit (and learn the commit index of) everything before it.
 * The application must skip `noop` entries when applying.
 */
export type EntryKind = "normal" | "noop";

export interface Entry {
  readonly index: number;
  readonly term: number;
  readonly kind: EntryKind;
  /** Opaque to Raft. Empty for `noop` entries. */
  readonly data: Uint8Array;
}

/** What must be durable before a node answers anything that depends on it. */
export interface HardState {
  readonly term: number;
  /** The candidate this node voted for in `term`, or null. */
  readonly vote: NodeId | null;
  /** Highest index known committed; losing it is harmless, so it need not be synced alone. */
  readonly commit: number;
}

/** The application's state machine image at `index`; the log up to `index` is compacted into it. */
export interface Snapshot {
  /** Last entry index included in the image. */
  readonly index: number;
  /** Term of the entry at `index`. */
  readonly term: number;
  readonly data: Uint8Array;
}

interface MessageHeader {
  readonly from: NodeId;
  readonly to: NodeId;
  /** The sender's current term (for a pre-vote request: the term it would campaign in). */
  readonly term: number;
}

/** Leader → follower: entries after (prevLogIndex, prevLogTerm); may be empty to carry commit. */
export interface AppendEntries extends MessageHeader {
  readonly type: "AppendEntries";
  readonly prevLogIndex: number;
  readonly prevLogTerm: number;
  readonly entries: readonly Entry[];
  readonly leaderCommit: number;
}

/**
 * Follower → leader. On success `matchIndex` is the last index now known to match the leader's
 * log (and durable on the follower). On rejection `rejectedIndex` is the prevLogIndex refused and
 * (`hintIndex`, `hintTerm`) the follower's last entry at or before it whose term is at most the
 * leader's prevLogTerm, so the leader can skip a whole conflicting term per round trip.
 */
export interface AppendEntriesResponse extends MessageHeader {
  readonly type: "AppendEntriesResponse";
  readonly success: boolean;
  readonly matchIndex: number;
  readonly rejectedIndex: number;
  readonly hintIndex: number;
  readonly hintTerm: number;
}

/** A vote or pre-vote request. A pre-vote changes no state on either side. */
export interface RequestVote extends MessageHeader {
  readonly type: "RequestVote";
  readonly preVote: boolean;
  readonly lastLogIndex: number;
  readonly lastLogTerm: number;
  /** Set when campaigning on TimeoutNow: voters then ignore their leader lease. */
  readonly leadershipTransfer: boolean;
}

export interface RequestVoteResponse extends MessageHeader {
  readonly type: "RequestVoteResponse";
  readonly preVote: boolean;
  readonly granted: boolean;
}

/** Leader → follower too far behind to be caught up from the log. Sent whole, in one message. */
export interface InstallSnapshot extends MessageHeader {
  readonly type: "InstallSnapshot";
  readonly snapshot: Snapshot;
}

export interface InstallSnapshotResponse extends MessageHeader {
  readonly type: "InstallSnapshotResponse";
  /** The follower's log now matches the leader's up to here (at least the snapshot's index). */
  readonly matchIndex: number;
}

/** Leader → chosen successor: campaign now, without waiting for an election timeout. */
export interface TimeoutNow extends MessageHeader {
  readonly type: "TimeoutNow";
}

/**
 * Leader → follower, every heartbeat interval and for each read-index round. `commit` is at most
 * what the leader knows the follower holds, so the follower may apply up to it at once.
 */
export interface Heartbeat extends MessageHeader {
  readonly type: "Heartbeat";
  readonly commit: number;
  /** The newest read-index round this heartbeat confirms leadership for; 0 when none. */
  readonly readRound: number;
}

export interface HeartbeatResponse extends MessageHeader {
  readonly type: "HeartbeatResponse";
  /** Echo of the heartbeat's `readRound`. */
  readonly readRound: number;
}

export type RaftMessage =
  | AppendEntries
  | AppendEntriesResponse
  | RequestVote
  | RequestVoteResponse
  | InstallSnapshot
  | InstallSnapshotResponse
  | TimeoutNow
  | Heartbeat
  | HeartbeatResponse;

export type RaftMessageType = RaftMessage["type"];

/** Bytes of entry payload, for size limits (headers are small and bounded by count limits). */
export function entryPayloadBytes(entries: readonly Entry[]): number {
  let total = 0;
  for (const entry of entries) total += entry.data.byteLength;
  return total;
}
