// The simulator's safety checker: a global record of the whole run, against which every node's
// behaviour is compared. A violation is recorded with the simulated time; the run stops at the first.
//
// Properties checked (Raft paper §5.2-5.4, Figure 3):
//  - election safety: at most one leader per term, over the whole history;
//  - log matching: two logs holding an entry with the same index and term hold the same entry
//    and the same term just before it (so, by induction, identical prefixes);
//  - leader completeness: a new leader's log holds every entry seen committed before it won;
//  - state machine safety: every node applies the same entry at each index, in order, and a
//    committed entry never changes (compared through a hash chain of the applied sequence);
//  - no node that lacks the newest committed entry could win an election: its log is not at
//    least as up to date as a majority's (Raft's inductive invariant behind leader completeness;
//    checked after every event, it catches a bad commit the moment it happens, not only when an
//    unlucky election later exposes it);
//  - durability: every committed entry is, at every moment, in the durable storage of a
//    majority (a node that acknowledged before its write was durable, then crashed, breaks this);
//  - linearizable reads: a read confirmed at index i is not older than any commit observed
//    anywhere before the read was issued.
import type { RaftNodeView } from "../driver.js";
import type { Entry, NodeId } from "../messages.js";
import type { RaftInitialState } from "../node.js";

export interface Violation {
  readonly atMs: number;
  readonly property: string;
  readonly detail: string;
}

/** Enough of a node's log to judge elections: its last entry and whether it holds an entry. */
export interface LogSummary {
  readonly id: NodeId;
  readonly lastIndex: number;
  readonly lastTerm: number;
  holds(index: number, term: number): boolean;
}

export function summarizeView(view: RaftNodeView): LogSummary {
  return {
    id: view.id,
    lastIndex: view.lastIndex,
    lastTerm: view.termAt(view.lastIndex)!,
    holds: (index, term) => index <= view.snapshotIndex || view.termAt(index) === term,
  };
}

export function summarizeStored(id: NodeId, state: RaftInitialState): LogSummary {
  const base = state.snapshot?.index ?? 0;
  const last = state.entries[state.entries.length - 1];
  return {
    id,
    lastIndex: base + state.entries.length,
    lastTerm: last?.term ?? state.snapshot?.term ?? 0,
    holds: (index, term) => index <= base || state.entries[index - base - 1]?.term === term,
  };
}

export interface CommittedEntry {
  readonly term: number;
  readonly key: number;
}

/** What identifies an entry's content in the simulator: the proposal id, or -1 for a no-op. */
export function entryKeyOf(entry: Entry): number {
  if (entry.kind === "noop") return -1;
  return new DataView(entry.data.buffer, entry.data.byteOffset, entry.data.byteLength).getUint32(0);
}

/** The applied-sequence hash after applying `entry` on top of `chain`. */
export function extendChain(chain: number, entry: Entry): number {
  let hash = chain ^ 0x9e3779b9;
  for (const word of [entry.index, entry.term, entryKeyOf(entry) >>> 0]) {
    hash = Math.imul(hash ^ word, 0x85ebca6b);
    hash ^= hash >>> 13;
    hash = Math.imul(hash, 0xc2b2ae35);
    hash ^= hash >>> 16;
  }
  return hash >>> 0;
}

export class SafetyChecker {
  readonly violations: Violation[] = [];
  nowMs = 0;
  private readonly leaderOfTerm = new Map<number, NodeId>();
  readonly committed = new Map<number, CommittedEntry>();
  /** Highest index seen committed on any node. */
  maxCommitted = 0;
  private readonly chainAt = new Map<number, number>();
  /** index:term → content key and the term before it, as first seen in any log. */
  private readonly logShape = new Map<string, { key: number; prevTerm: number }>();
  private readonly checkedCommit = new Map<NodeId, number>();
  readsChecked = 0;
  maxApplied = 0;

  leaderTermCount(): number {
    return this.leaderOfTerm.size;
  }

  get failed(): boolean {
    return this.violations.length > 0;
  }

  violation(property: string, detail: string): void {
    this.violations.push({ atMs: this.nowMs, property, detail });
  }

  /** After every simulator event: leaders and commit indexes of the nodes that are up. */
  observe(nodes: readonly RaftNodeView[]): void {
    for (const node of nodes) {
      if (node.role === "leader") this.observeLeader(node);
      this.observeCommits(node);
    }
  }

  private observeLeader(node: RaftNodeView): void {
    const known = this.leaderOfTerm.get(node.term);
    if (known === node.id) return;
    if (known !== undefined) {
      this.violation("election safety", `nodes ${known} and ${node.id} both led term ${node.term}`);
      return;
    }
    this.leaderOfTerm.set(node.term, node.id);
    // Leader completeness, against everything observed committed so far.
    for (const [index, entry] of this.committed) {
      if (index <= node.snapshotIndex) continue;
      const term = node.termAt(index);
      if (term !== entry.term) {
        this.violation("leader completeness", `leader ${node.id} of term ${node.term} has term ${term} at committed index ${index} (term ${entry.term})`);
        return;
      }
    }
  }

  private observeCommits(node: RaftNodeView): void {
    const from = Math.max(this.checkedCommit.get(node.id) ?? 0, node.snapshotIndex) + 1;
    for (let index = from; index <= node.commitIndex; index++) {
      const entry = node.entryAt(index);
      if (entry === undefined) {
        this.violation("log", `node ${node.id} reports commit ${node.commitIndex} but lacks entry ${index}`);
        return;
      }
      this.recordCommitted(node.id, entry, "committed");
    }
    this.checkedCommit.set(node.id, Math.max(this.checkedCommit.get(node.id) ?? 0, node.commitIndex));
  }

  private recordCommitted(nodeId: NodeId, entry: Entry, how: string): void {
    const key = entryKeyOf(entry);
    const known = this.committed.get(entry.index);
    if (known === undefined) {
      this.committed.set(entry.index, { term: entry.term, key });
      this.maxCommitted = Math.max(this.maxCommitted, entry.index);
    } else if (known.term !== entry.term || known.key !== key) {
      this.violation(
        "state machine safety",
        `node ${nodeId} ${how} ${entry.index} as term ${entry.term} key ${key}, but term ${known.term} key ${known.key} was committed there`,
      );
    }
  }

  /** A node applied `entry`, taking its chain from `before` to `after`. */
  onApply(nodeId: NodeId, entry: Entry, expectedIndex: number, after: number): void {
    if (entry.index !== expectedIndex) {
      this.violation("state machine safety", `node ${nodeId} applied ${entry.index} when ${expectedIndex} was next`);
      return;
    }
    this.recordCommitted(nodeId, entry, "applied");
    this.recordChain(nodeId, entry.index, after, "applying");
    this.maxApplied = Math.max(this.maxApplied, entry.index);
  }

  /** A node restored a snapshot whose image is the chain `chain` at `index`. */
  onRestore(nodeId: NodeId, index: number, chain: number): void {
    this.recordChain(nodeId, index, chain, "restoring a snapshot at");
  }

  private recordChain(nodeId: NodeId, index: number, chain: number, how: string): void {
    const known = this.chainAt.get(index);
    if (known === undefined) this.chainAt.set(index, chain);
    else if (known !== chain) this.violation("state machine safety", `node ${nodeId} diverged ${how} index ${index}`);
  }

  /** Log matching over every entry each node holds (run periodically: it walks whole logs). */
  checkLogs(nodes: readonly RaftNodeView[]): void {
    for (const node of nodes) {
      for (let index = node.snapshotIndex + 1; index <= node.lastIndex; index++) {
        const entry = node.entryAt(index)!;
        const prevTerm = node.termAt(index - 1)!;
        const shapeKey = `${index}:${entry.term}`;
        const key = entryKeyOf(entry);
        const known = this.logShape.get(shapeKey);
        if (known === undefined) {
          this.logShape.set(shapeKey, { key, prevTerm });
        } else if (known.key !== key || known.prevTerm !== prevTerm) {
          this.violation(
            "log matching",
            `node ${node.id} holds ${index}@${entry.term} as key ${key} after term ${prevTerm}; seen before as key ${known.key} after term ${known.prevTerm}`,
          );
          return;
        }
      }
    }
  }

  /** After every event: nobody lacking the newest committed entry can collect a majority of votes. */
  checkElectability(logs: readonly LogSummary[]): void {
    const newest = this.committed.get(this.maxCommitted);
    if (newest === undefined) return;
    const majority = Math.floor(logs.length / 2) + 1;
    for (const candidate of logs) {
      if (candidate.holds(this.maxCommitted, newest.term)) continue;
      let voters = 0;
      for (const voter of logs) {
        const upToDate =
          candidate.lastTerm > voter.lastTerm || (candidate.lastTerm === voter.lastTerm && candidate.lastIndex >= voter.lastIndex);
        if (upToDate) voters++;
      }
      if (voters >= majority) {
        this.violation(
          "leader completeness",
          `node ${candidate.id} lacks committed entry ${this.maxCommitted} (term ${newest.term}) yet its log (last ${candidate.lastIndex}@${candidate.lastTerm}) would win ${voters} votes`,
        );
        return;
      }
    }
  }

  /** Every committed entry must be durable (in a stored log or covered by a stored snapshot) on a majority. */
  checkDurableQuorum(states: ReadonlyArray<readonly [NodeId, RaftInitialState]>): void {
    const majority = Math.floor(states.length / 2) + 1;
    for (const [index, entry] of this.committed) {
      let holders = 0;
      for (const [, state] of states) {
        const base = state.snapshot?.index ?? 0;
        if (index <= base) holders++;
        else if (state.entries[index - base - 1]?.term === entry.term) holders++;
      }
      if (holders < majority) {
        this.violation("durability", `committed entry ${index} (term ${entry.term}) is durable on only ${holders} of ${states.length} nodes`);
        return;
      }
    }
  }

  /** A read issued now must come back at an index of at least what is committed now. */
  readIssued(): number {
    return this.maxCommitted;
  }

  readConfirmed(nodeId: NodeId, index: number, floor: number, appliedIndex: number): void {
    this.readsChecked++;
    if (index < floor) {
      this.violation("linearizable read", `node ${nodeId} confirmed a read at ${index}, but ${floor} was committed before the read was issued`);
    }
    if (appliedIndex < index) this.violation("linearizable read", `node ${nodeId} served a read at ${index} having applied only ${appliedIndex}`);
  }
}
