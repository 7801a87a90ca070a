// Configuration of one Raft node: timing, protocol switches and the limits on every queue.
// One definition per key, with its default and valid range, checked once at construction.
import { invariant } from "./errors.js";
import type { NodeId } from "./messages.js";

/**
 * Deliberately broken rules, so tests can show the simulator catches each kind of bug.
 * Never set any of these outside a test.
 */
export interface RaftUnsafeTestingOptions {
  /** Commit by counting replicas of entries from earlier terms (Figure 8 of the Raft paper). */
  readonly commitOldTermEntries?: boolean;
  /** Persist `vote: null` in the hard state, so a restarted node can vote twice in a term. */
  readonly skipVotePersist?: boolean;
  /** Answer read-index requests at once, without a heartbeat round confirming leadership. */
  readonly readWithoutQuorum?: boolean;
}

export interface RaftConfig {
  readonly id: NodeId;
  /** Every voter including this node. Static: membership changes are not supported. */
  readonly voters: readonly NodeId[];
  /** Minimum election timeout; each wait is drawn from [this, 2 × this). Also the lease length. */
  readonly electionTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
  /** Ask for votes without changing term first, so a rejoining node cannot depose a healthy leader. */
  readonly preVote: boolean;
  /** A leader that hears from no quorum for an election timeout steps down; followers keep a lease. */
  readonly checkQuorum: boolean;
  /** Entries per AppendEntries message. */
  readonly maxEntriesPerAppend: number;
  /** Payload bytes per AppendEntries message (at least one entry is always sent). */
  readonly maxAppendBytes: number;
  /** AppendEntries messages in flight to one follower while replicating optimistically. */
  readonly maxInflightAppends: number;
  /** Payload bytes the leader accepts as proposals before they commit; beyond it, OVERLOADED. */
  readonly maxUncommittedBytes: number;
  /** Read-index requests waiting for confirmation; beyond it, OVERLOADED. */
  readonly maxPendingReads: number;
  /** Committed entries handed to the application per Ready. */
  readonly maxApplyEntriesPerReady: number;
  /** A snapshot sent without an answer for this long is offered again. */
  readonly snapshotRetryMs: number;
  readonly unsafeTesting?: RaftUnsafeTestingOptions;
}

export type RaftConfigInput = Pick<RaftConfig, "id" | "voters"> & Partial<Omit<RaftConfig, "id" | "voters">>;

export const RAFT_CONFIG_DEFAULTS = {
  electionTimeoutMs: 1000,
  heartbeatIntervalMs: 100,
  preVote: true,
  checkQuorum: true,
  maxEntriesPerAppend: 512,
  maxAppendBytes: 1024 * 1024,
  maxInflightAppends: 64,
  maxUncommittedBytes: 64 * 1024 * 1024,
  maxPendingReads: 4096,
  maxApplyEntriesPerReady: 1024,
  snapshotRetryMs: 2000,
} as const;

function positiveInteger(value: number, name: string): void {
  invariant(Number.isSafeInteger(value) && value > 0, `${name} must be a positive integer, got ${value}`);
}

/** Fills defaults and checks every value; throws on a configuration that cannot work. */
export function resolveRaftConfig(input: RaftConfigInput): RaftConfig {
  const config: RaftConfig = { ...RAFT_CONFIG_DEFAULTS, ...input };
  invariant(Number.isSafeInteger(config.id) && config.id >= 0, `id must be a non-negative integer, got ${config.id}`);
  invariant(config.voters.includes(config.id), `voters ${config.voters.join(",")} must include this node ${config.id}`);
  invariant(new Set(config.voters).size === config.voters.length, `voters ${config.voters.join(",")} has duplicates`);
  for (const voter of config.voters) invariant(Number.isSafeInteger(voter) && voter >= 0, `bad voter id ${voter}`);
  positiveInteger(config.electionTimeoutMs, "electionTimeoutMs");
  positiveInteger(config.heartbeatIntervalMs, "heartbeatIntervalMs");
  invariant(
    config.heartbeatIntervalMs < config.electionTimeoutMs,
    `heartbeatIntervalMs (${config.heartbeatIntervalMs}) must be below electionTimeoutMs (${config.electionTimeoutMs})`,
  );
  positiveInteger(config.maxEntriesPerAppend, "maxEntriesPerAppend");
  positiveInteger(config.maxAppendBytes, "maxAppendBytes");
  positiveInteger(config.maxInflightAppends, "maxInflightAppends");
  positiveInteger(config.maxUncommittedBytes, "maxUncommittedBytes");
  positiveInteger(config.maxPendingReads, "maxPendingReads");
  positiveInteger(config.maxApplyEntriesPerReady, "maxApplyEntriesPerReady");
  positiveInteger(config.snapshotRetryMs, "snapshotRetryMs");
  return config;
}
