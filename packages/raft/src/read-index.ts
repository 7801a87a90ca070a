// Linearizable reads without writing to the log (Raft thesis §6.4): the leader notes its commit
// index when a read arrives, confirms it is still leader by a heartbeat round that a quorum
// answers, and only then releases the read at that index. The application serves it once it
// has applied up to the index.
//
// A new leader does not know the latest commit index until an entry of its own term commits,
// so reads wait for that first (the leader's no-op entry makes it happen promptly).
import type { NodeId } from "./messages.js";

/** A confirmed read: serve it from the state machine once it has applied `index`. */
export interface ReadState {
  readonly requestId: number;
  readonly index: number;
}

interface ReadRound {
  readonly round: number;
  readonly index: number;
  readonly requestIds: number[];
  readonly acks: Set<NodeId>;
}

export class ReadIndexTracker {
  private awaitingTermCommit: number[] = [];
  private rounds: ReadRound[] = [];
  private lastRound = 0;

  pendingCount(): number {
    let count = this.awaitingTermCommit.length;
    for (const round of this.rounds) count += round.requestIds.length;
    return count;
  }

  waitForTermCommit(requestId: number): void {
    this.awaitingTermCommit.push(requestId);
  }

  takeWaitingForTermCommit(): number[] {
    const out = this.awaitingTermCommit;
    this.awaitingTermCommit = [];
    return out;
  }

  /** Start a round for reads at `index`; the leader then broadcasts a heartbeat carrying it. */
  startRound(index: number, requestIds: number[], self: NodeId): number {
    const round = ++this.lastRound;
    this.rounds.push({ round, index, requestIds, acks: new Set([self]) });
    return round;
  }

  /** The newest round still waiting, so periodic heartbeats retry it after a loss; 0 if none. */
  newestPendingRound(): number {
    return this.rounds.length === 0 ? 0 : this.rounds[this.rounds.length - 1]!.round;
  }

  /**
   * `from` answered a heartbeat sent for `round`. That heartbeat left after every earlier round
   * started, so it confirms those too. Returns the reads now confirmed, oldest first.
   */
  acknowledge(from: NodeId, round: number, quorum: number): ReadState[] {
    if (round === 0) return [];
    for (const pending of this.rounds) {
      if (pending.round > round) break;
      pending.acks.add(from);
    }
    let confirmedThrough = -1;
    this.rounds.forEach((pending, k) => {
      if (pending.acks.size >= quorum) confirmedThrough = k;
    });
    const released = this.rounds.splice(0, confirmedThrough + 1);
    return released.flatMap((pending) => pending.requestIds.map((requestId) => ({ requestId, index: pending.index })));
  }

  /** Leadership lost: every waiting read fails. */
  dropAll(): number[] {
    const dropped = [...this.awaitingTermCommit, ...this.rounds.flatMap((pending) => pending.requestIds)];
    this.awaitingTermCommit = [];
    this.rounds = [];
    return dropped;
  }
}
