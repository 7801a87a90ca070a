// Typed errors the Raft core and driver raise to their callers. Each has a stable code and a
// `retriable` flag, in the manner of Kafka's error codes, so the controller can map them to the
// protocol's shared error list without parsing messages.
import type { NodeId } from "./messages.js";

export type RaftErrorCode =
  /** This node is not the leader; `leaderId` says who is, when known. Retry there. */
  | "NOT_LEADER"
  /** A leadership transfer is under way; proposals are refused until it ends. */
  | "TRANSFER_IN_PROGRESS"
  /** Too many uncommitted proposal bytes or pending reads; back off and retry. */
  | "OVERLOADED"
  /** The entry was overwritten by another leader's log, so it will never commit. */
  | "PROPOSAL_DROPPED"
  /** The entry's index was covered by an installed snapshot; whether it committed is unknown. */
  | "OUTCOME_UNKNOWN"
  /** The read could not be confirmed because leadership was lost. */
  | "READ_DROPPED"
  /** The driver was stopped or failed; nothing more will happen on this node. */
  | "STOPPED"
  /** Stored Raft state failed a checksum or an invariant: refuse to run rather than lose data. */
  | "STORAGE_CORRUPT";

const RETRIABLE: Readonly<Record<RaftErrorCode, boolean>> = {
  NOT_LEADER: true,
  TRANSFER_IN_PROGRESS: true,
  OVERLOADED: true,
  PROPOSAL_DROPPED: true,
  OUTCOME_UNKNOWN: false,
  READ_DROPPED: true,
  STOPPED: false,
  STORAGE_CORRUPT: false,
};

export class RaftError extends Error {
  readonly code: RaftErrorCode;
  readonly retriable: boolean;
  /** For NOT_LEADER: the leader this node knows of, or null. */
  readonly leaderId: NodeId | null;

  constructor(code: RaftErrorCode, message: string, leaderId: NodeId | null = null) {
    super(message);
    this.name = "RaftError";
    this.code = code;
    this.retriable = RETRIABLE[code];
    this.leaderId = leaderId;
  }
}

/**
 * A broken internal invariant: a bug, never bad input. The node must not continue after one;
 * the simulator treats it as a failed run.
 */
export class RaftInvariantError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RaftInvariantError";
  }
}

export function invariant(condition: boolean, message: string | (() => string)): asserts condition {
  if (!condition) throw new RaftInvariantError(typeof message === "string" ? message : message());
}

export function assertIndex(value: number, what: string): void {
  invariant(Number.isSafeInteger(value) && value >= 0, () => `${what} must be a non-negative safe integer, got ${value}`);
}
