// RaftNode: the consensus state machine of one voter, with no I/O of its own.
//
// It is driven by calls — `tick(nowMs)`, `step(message)`, `propose`, `readIndex`,
// `transferLeadership`, `compact` — and answers with a Ready batch of effects (see ready.ts).
// Time and randomness are passed in, so a seeded run replays exactly.
//
// What it implements: elections with randomized timeouts, pre-vote and check-quorum (with the
// follower lease that makes a rejoining node harmless), log replication with fast backtracking
// by term, commitment only of current-term entries (a no-op starts each term), snapshots,
// read-index reads and leadership transfer. Membership is the static voter set.
import { resolveRaftConfig, type RaftConfig, type RaftConfigInput } from "./config.js";
import { assertIndex, invariant, RaftError } from "./errors.js";
import { RaftLog, type LogPosition } from "./log.js";
import type { Entry, HardState, NodeId, RaftMessage, Snapshot } from "./messages.js";
import { Progress } from "./progress.js";
import type { RandomSource } from "./random.js";
import { ReadIndexTracker, type ReadState } from "./read-index.js";
import type { RaftRole, Ready, SoftState } from "./ready.js";
import type {
  AppendEntries,
  AppendEntriesResponse,
  Heartbeat,
  HeartbeatResponse,
  InstallSnapshot,
  InstallSnapshotResponse,
  RequestVote,
  RequestVoteResponse,
} from "./messages.js";

/** What storage held when the node starts (all empty for a new node). */
export interface RaftInitialState {
  readonly hardState: HardState | null;
  readonly snapshot: Snapshot | null;
  readonly entries: readonly Entry[];
}

/** A leader's view of one follower (see RaftNode.followerProgress). */
export interface FollowerProgress {
  readonly id: NodeId;
  /** The highest index known to match the leader's log (0: nothing known yet). */
  readonly matchIndex: number;
  /** When it last answered the leader, on the node's clock; -Infinity if it has not this term. */
  readonly lastHeardAtMs: number;
}

export interface RaftNodeOptions {
  readonly config: RaftConfigInput;
  /** Uniform in [0, 1): `Math.random` in production, a seeded source in tests. */
  readonly random: RandomSource;
  readonly nowMs: number;
  readonly initialState: RaftInitialState;
}

// Distributive, so the message's own fields survive Omit (a plain Omit on a union keeps only
// the fields common to every member).
type Outgoing = RaftMessage extends infer M ? (M extends RaftMessage ? Omit<M, "from" | "term"> : never) : never;

interface ReadyInFlight {
  readonly lastEntry: LogPosition | null;
  readonly installedSnapshotIndex: number | null;
  readonly appliedTo: number | null;
}

const EMPTY = new Uint8Array(0);

export class RaftNode {
  readonly config: RaftConfig;
  private readonly random: RandomSource;
  private readonly log: RaftLog;
  private readonly quorum: number;
  private readonly peers: readonly NodeId[];

  private currentTerm: number;
  private votedFor: NodeId | null;
  private currentRole: RaftRole = "follower";
  private leader: NodeId | null = null;
  private nowMs: number;
  private electionDeadlineMs = 0;
  /** When a follower last heard from its leader; votes are refused within a timeout of it. */
  private lastLeaderContactMs = Number.NEGATIVE_INFINITY;
  private votes = new Map<NodeId, boolean>();

  // Leader state, reset on every change of role.
  private progress = new Map<NodeId, Progress>();
  private heartbeatDueMs = 0;
  private checkQuorumDueMs = 0;
  private transfer: { readonly target: NodeId; readonly deadlineMs: number } | null = null;
  private uncommittedBytes = 0;
  private appendsDue = false;
  private reads = new ReadIndexTracker();

  // Effects collected for the next Ready.
  private messagesNow: RaftMessage[] = [];
  private messagesAfterPersist: RaftMessage[] = [];
  private readStates: ReadState[] = [];
  private droppedReads: number[] = [];
  private handedOutHardState: HardState;
  private handedOutSoftState: SoftState;
  private inFlight: ReadyInFlight | null = null;

  constructor(options: RaftNodeOptions) {
    this.config = resolveRaftConfig(options.config);
    this.random = options.random;
    this.nowMs = options.nowMs;
    const { hardState, snapshot, entries } = options.initialState;
    this.currentTerm = hardState?.term ?? 0;
    this.votedFor = hardState?.vote ?? null;
    assertIndex(this.currentTerm, "term");
    this.log = new RaftLog(snapshot, entries, hardState?.commit ?? 0);
    invariant(this.log.lastTerm() <= this.currentTerm, "stored log has entries from a term after the stored term");
    this.peers = this.config.voters.filter((voter) => voter !== this.config.id);
    this.quorum = Math.floor(this.config.voters.length / 2) + 1;
    this.handedOutHardState = this.hardState();
    this.handedOutSoftState = this.softState();
    this.resetElectionTimer();
  }

  // ---- Read-only view (for the driver, status pages and the simulator's checker) ----

  get id(): NodeId {
    return this.config.id;
  }
  get term(): number {
    return this.currentTerm;
  }
  get vote(): NodeId | null {
    return this.votedFor;
  }
  get role(): RaftRole {
    return this.currentRole;
  }
  get leaderId(): NodeId | null {
    return this.leader;
  }
  get commitIndex(): number {
    return this.log.committed;
  }
  get appliedIndex(): number {
    return this.log.applied;
  }
  get lastIndex(): number {
    return this.log.lastIndex();
  }
  get snapshotIndex(): number {
    return this.log.snapshotIndex;
  }
  get latestSnapshot(): Snapshot | null {
    return this.log.snapshot;
  }
  termAt(index: number): number | undefined {
    return this.log.term(index);
  }
  entryAt(index: number): Entry | undefined {
    return this.log.entry(index);
  }
  /**
   * While leading: how far each follower's log is known to match ours, and when it last answered
   * (the node's clock). Empty otherwise. A copy, for status pages.
   */
  followerProgress(): FollowerProgress[] {
    if (this.currentRole !== "leader") return [];
    return [...this.progress].map(([id, p]) => ({ id, matchIndex: p.matchIndex, lastHeardAtMs: p.lastHeardAtMs }));
  }
  /** The earliest time `tick` has anything to do; the driver sets its timer for it. */
  nextDeadlineMs(): number {
    if (this.currentRole !== "leader") return this.electionDeadlineMs;
    return Math.min(this.heartbeatDueMs, this.checkQuorumDueMs, this.transfer?.deadlineMs ?? Infinity);
  }

  // ---- Inputs ----

  /** Time has advanced to `nowMs`: fire whichever timeouts are due. A clock going back is ignored. */
  tick(nowMs: number): void {
    this.nowMs = Math.max(this.nowMs, nowMs);
    if (this.currentRole === "leader") {
      this.tickLeader();
    } else if (this.nowMs >= this.electionDeadlineMs) {
      this.campaign(this.config.preVote ? "preVote" : "vote", false);
    }
  }

  step(message: RaftMessage): void {
    if (message.to !== this.id || message.from === this.id || !this.config.voters.includes(message.from)) return;
    assertIndex(message.term, "message term");
    if (message.term > this.currentTerm) {
      if (message.type === "RequestVote" && !message.leadershipTransfer && this.inLease()) return;
      const keepsTerm =
        (message.type === "RequestVote" && message.preVote) ||
        (message.type === "RequestVoteResponse" && message.preVote && message.granted);
      if (!keepsTerm) {
        const fromLeader = message.type === "AppendEntries" || message.type === "Heartbeat" || message.type === "InstallSnapshot";
        this.becomeFollower(message.term, fromLeader ? message.from : null);
      }
    } else if (message.term < this.currentTerm) {
      this.answerStale(message);
      return;
    }
    this.dispatch(message);
  }

  /** Leader only: append `data` to the log. Returns where it will commit if it does. */
  propose(data: Uint8Array): LogPosition {
    this.requireLeader();
    if (this.transfer !== null) throw new RaftError("TRANSFER_IN_PROGRESS", `node ${this.id} is handing leadership to ${this.transfer.target}`);
    if (this.uncommittedBytes > 0 && this.uncommittedBytes + data.byteLength > this.config.maxUncommittedBytes) {
      throw new RaftError("OVERLOADED", `${this.uncommittedBytes} uncommitted proposal bytes already; retry after they commit`);
    }
    const entry: Entry = { index: this.log.lastIndex() + 1, term: this.currentTerm, kind: "normal", data };
    this.log.appendOwn(entry);
    this.uncommittedBytes += data.byteLength;
    this.appendsDue = true;
    return { index: entry.index, term: entry.term };
  }

  /** Leader only: ask for a linearizable read; a ReadState with `requestId` follows in a Ready. */
  readIndex(requestId: number): void {
    this.requireLeader();
    if (this.reads.pendingCount() >= this.config.maxPendingReads) {
      throw new RaftError("OVERLOADED", `${this.reads.pendingCount()} reads are already waiting for confirmation`);
    }
    if (!this.committedInCurrentTerm()) this.reads.waitForTermCommit(requestId);
    else this.startReadRound([requestId]);
  }

  /** Leader only: hand leadership to `target` once its log is caught up (for clean shutdown). */
  transferLeadership(target: NodeId): void {
    this.requireLeader();
    if (!this.config.voters.includes(target)) throw new RangeError(`transfer target ${target} is not a voter (${this.config.voters.join(",")})`);
    if (target === this.id || this.transfer?.target === target) return;
    this.transfer = { target, deadlineMs: this.nowMs + this.config.electionTimeoutMs };
    const progress = this.progress.get(target)!;
    if (progress.matchIndex === this.log.lastIndex()) this.send({ type: "TimeoutNow", to: target });
    else this.sendAppend(target, true);
  }

  /** The application took a snapshot of its state at applied index `index`: compact the log. */
  compact(index: number, data: Uint8Array): void {
    this.log.compact(index, data);
  }

  // ---- Ready ----

  hasReady(): boolean {
    if (this.inFlight !== null) return false;
    return (
      (this.appendsDue && this.currentRole === "leader") ||
      this.messagesNow.length > 0 ||
      this.messagesAfterPersist.length > 0 ||
      this.readStates.length > 0 ||
      this.droppedReads.length > 0 ||
      this.log.hasUnstable() ||
      this.log.hasToApply() ||
      !sameHardState(this.hardState(), this.handedOutHardState) ||
      !sameSoftState(this.softState(), this.handedOutSoftState)
    );
  }

  /** The next batch of effects, or null when there is nothing to do. Call `advance` after it. */
  ready(): Ready | null {
    invariant(this.inFlight === null, "ready() called again before advance()");
    if (!this.hasReady()) return null;
    if (this.appendsDue && this.currentRole === "leader") this.broadcastAppends(false);
    this.appendsDue = false;
    const unstable = this.log.takeUnstable();
    const hardState = this.hardState();
    const hardStateChanged = !sameHardState(hardState, this.handedOutHardState);
    const termOrVoteChanged = hardState.term !== this.handedOutHardState.term || hardState.vote !== this.handedOutHardState.vote;
    this.handedOutHardState = hardState;
    const softState = this.softState();
    const softStateChanged = !sameSoftState(softState, this.handedOutSoftState);
    this.handedOutSoftState = softState;
    const committedEntries = this.log.nextToApply(this.config.maxApplyEntriesPerReady);
    const lastEntry = unstable.entries[unstable.entries.length - 1];
    const ready: Ready = {
      hardState: hardStateChanged ? this.persistableHardState(hardState) : null,
      installSnapshot: unstable.install,
      compaction: unstable.compaction,
      entries: unstable.entries,
      mustSync: unstable.entries.length > 0 || unstable.install !== null || termOrVoteChanged,
      messages: this.messagesNow,
      messagesAfterPersist: this.messagesAfterPersist,
      committedEntries,
      readStates: this.readStates,
      droppedReads: this.droppedReads,
      softState: softStateChanged ? softState : null,
    };
    this.messagesNow = [];
    this.messagesAfterPersist = [];
    this.readStates = [];
    this.droppedReads = [];
    this.inFlight = {
      lastEntry: lastEntry === undefined ? null : { index: lastEntry.index, term: lastEntry.term },
      installedSnapshotIndex: unstable.install?.index ?? null,
      appliedTo: committedEntries.length === 0 ? null : committedEntries[committedEntries.length - 1]!.index,
    };
    return ready;
  }

  /** The last Ready's writes are durable and its committed entries applied. */
  advance(ready: Ready): void {
    const inFlight = this.inFlight;
    invariant(inFlight !== null, "advance() without an outstanding Ready");
    const lastEntry = ready.entries[ready.entries.length - 1];
    invariant(
      (lastEntry?.index ?? null) === (inFlight.lastEntry?.index ?? null),
      "advance() given a different Ready than the outstanding one",
    );
    this.inFlight = null;
    this.log.markDurable(inFlight.lastEntry, inFlight.installedSnapshotIndex);
    // A snapshot installed after this Ready was handed out may already have moved past these entries.
    if (inFlight.appliedTo !== null && inFlight.appliedTo > this.log.applied) this.log.appliedTo(inFlight.appliedTo);
    // The leader's own durable entries count towards the quorum only now.
    if (this.currentRole === "leader" && this.maybeCommit()) this.broadcastAppends(true);
  }

  // ---- Roles ----

  private becomeFollower(term: number, leader: NodeId | null): void {
    invariant(term >= this.currentTerm, "becoming follower of an older term");
    if (term > this.currentTerm) {
      this.currentTerm = term;
      this.votedFor = null;
    }
    if (this.currentRole === "leader") this.leaveLeadership();
    this.currentRole = "follower";
    this.leader = leader;
    if (leader !== null) this.lastLeaderContactMs = this.nowMs;
    this.resetElectionTimer();
  }

  private leaveLeadership(): void {
    this.progress.clear();
    this.transfer = null;
    this.appendsDue = false;
    this.uncommittedBytes = 0;
    this.droppedReads.push(...this.reads.dropAll());
  }

  private campaign(kind: "preVote" | "vote", leadershipTransfer: boolean): void {
    invariant(this.currentRole !== "leader", "leader campaigning");
    if (kind === "preVote") {
      this.currentRole = "preCandidate";
    } else {
      this.currentTerm += 1;
      this.votedFor = this.id;
      this.currentRole = "candidate";
    }
    this.leader = null;
    this.votes = new Map([[this.id, true]]);
    this.resetElectionTimer();
    if (this.votes.size >= this.quorum) {
      if (kind === "preVote") this.campaign("vote", leadershipTransfer);
      else this.becomeLeader();
      return;
    }
    const preVote = kind === "preVote";
    const term = preVote ? this.currentTerm + 1 : this.currentTerm;
    for (const peer of this.peers) {
      this.sendAtTerm(term, {
        type: "RequestVote",
        to: peer,
        preVote,
        lastLogIndex: this.log.lastIndex(),
        lastLogTerm: this.log.lastTerm(),
        leadershipTransfer,
      });
    }
  }

  private becomeLeader(): void {
    invariant(this.currentRole === "candidate", `becoming leader from ${this.currentRole}`);
    this.currentRole = "leader";
    this.leader = this.id;
    this.progress = new Map(this.peers.map((peer) => [peer, new Progress(this.log.lastIndex() + 1, this.config.maxInflightAppends)]));
    this.heartbeatDueMs = this.nowMs + this.config.heartbeatIntervalMs;
    this.checkQuorumDueMs = this.nowMs + this.config.electionTimeoutMs;
    this.uncommittedBytes = 0;
    this.transfer = null;
    this.log.appendOwn({ index: this.log.lastIndex() + 1, term: this.currentTerm, kind: "noop", data: EMPTY });
    this.broadcastAppends(true);
  }

  private tickLeader(): void {
    if (this.nowMs >= this.checkQuorumDueMs) {
      this.checkQuorumDueMs = this.nowMs + this.config.electionTimeoutMs;
      if (this.config.checkQuorum && !this.quorumRecentlyActive()) {
        this.becomeFollower(this.currentTerm, null);
        return;
      }
      for (const progress of this.progress.values()) progress.recentActive = false;
    }
    if (this.transfer !== null && this.nowMs >= this.transfer.deadlineMs) this.transfer = null;
    if (this.nowMs >= this.heartbeatDueMs) {
      this.heartbeatDueMs = this.nowMs + this.config.heartbeatIntervalMs;
      this.broadcastHeartbeat(this.reads.newestPendingRound());
      this.retryStalledSnapshots();
    }
  }

  private quorumRecentlyActive(): boolean {
    let active = 1;
    for (const progress of this.progress.values()) if (progress.recentActive) active++;
    return active >= this.quorum;
  }

  private retryStalledSnapshots(): void {
    for (const [peer, progress] of this.progress) {
      if (progress.state !== "snapshot" || this.nowMs - progress.snapshotSentAtMs < this.config.snapshotRetryMs) continue;
      progress.becomeProbe();
      progress.nextIndex = progress.matchIndex + 1;
      this.sendAppend(peer, true);
    }
  }

  // ---- Message handling ----

  private dispatch(message: RaftMessage): void {
    switch (message.type) {
      case "RequestVote":
        return this.handleVoteRequest(message);
      case "RequestVoteResponse":
        return this.handleVoteResponse(message);
      case "AppendEntries":
        return this.asFollowerOf(message.from) && this.handleAppend(message);
      case "Heartbeat":
        return this.asFollowerOf(message.from) && this.handleHeartbeat(message);
      case "InstallSnapshot":
        return this.asFollowerOf(message.from) && this.handleSnapshot(message);
      case "TimeoutNow":
        if (this.currentRole === "follower") this.campaign("vote", true);
        return;
      case "AppendEntriesResponse":
      case "InstallSnapshotResponse":
      case "HeartbeatResponse":
        if (this.currentRole === "leader") this.handleLeaderResponse(message);
        return;
    }
  }

  /** A message at our term from `from` acting as leader: follow it. Returns true (for chaining). */
  private asFollowerOf(from: NodeId): true {
    invariant(this.currentRole !== "leader", () => `two leaders in term ${this.currentTerm}: ${this.id} and ${from}`);
    invariant(this.leader === null || this.leader === from, () => `two leaders in term ${this.currentTerm}: ${this.leader} and ${from}`);
    if (this.currentRole !== "follower") this.becomeFollower(this.currentTerm, from);
    this.leader = from;
    this.lastLeaderContactMs = this.nowMs;
    this.resetElectionTimer();
    return true;
  }

  /** A message from an older term: tell stale leaders and pre-candidates about our term. */
  private answerStale(message: RaftMessage): void {
    if (message.type === "AppendEntries" || message.type === "Heartbeat") {
      this.send({ type: "AppendEntriesResponse", to: message.from, success: false, matchIndex: 0, rejectedIndex: 0, hintIndex: 0, hintTerm: 0 });
    } else if (message.type === "RequestVote" && message.preVote) {
      this.send({ type: "RequestVoteResponse", to: message.from, preVote: true, granted: false });
    }
  }

  private handleVoteRequest(message: RequestVote): void {
    const canVote =
      this.votedFor === message.from ||
      (this.votedFor === null && this.leader === null) ||
      (message.preVote && message.term > this.currentTerm);
    const granted = canVote && this.log.isUpToDate(message.lastLogIndex, message.lastLogTerm);
    // A granted pre-vote answers at the term asked about, so the pre-candidate does not drop it.
    const term = granted && message.preVote ? message.term : this.currentTerm;
    this.sendAtTerm(term, { type: "RequestVoteResponse", to: message.from, preVote: message.preVote, granted });
    if (granted && !message.preVote) {
      this.votedFor = message.from;
      this.resetElectionTimer();
    }
  }

  private handleVoteResponse(message: RequestVoteResponse): void {
    const counting =
      (this.currentRole === "preCandidate" && message.preVote) ||
      (this.currentRole === "candidate" && !message.preVote && message.term === this.currentTerm);
    if (!counting) return;
    this.votes.set(message.from, message.granted);
    let granted = 0;
    for (const vote of this.votes.values()) if (vote) granted++;
    const rejected = this.votes.size - granted;
    if (granted >= this.quorum) {
      if (this.currentRole === "preCandidate") this.campaign("vote", false);
      else this.becomeLeader();
    } else if (rejected >= this.quorum) {
      this.becomeFollower(this.currentTerm, null);
    }
  }

  private handleAppend(message: AppendEntries): void {
    if (message.prevLogIndex < this.log.committed) {
      // Everything up to our commit index already matches the leader.
      this.sendAppendAccepted(message.from, this.log.committed);
      return;
    }
    const lastNewIndex = this.log.tryAppend(message.prevLogIndex, message.prevLogTerm, message.entries);
    if (lastNewIndex !== undefined) {
      this.log.commitTo(Math.min(message.leaderCommit, lastNewIndex));
      this.sendAppendAccepted(message.from, lastNewIndex);
      return;
    }
    const hint = this.log.findConflictByTerm(Math.min(message.prevLogIndex, this.log.lastIndex()), message.prevLogTerm);
    this.send({
      type: "AppendEntriesResponse",
      to: message.from,
      success: false,
      matchIndex: 0,
      rejectedIndex: message.prevLogIndex,
      hintIndex: hint.index,
      hintTerm: hint.term,
    });
  }

  private sendAppendAccepted(to: NodeId, matchIndex: number): void {
    this.send({ type: "AppendEntriesResponse", to, success: true, matchIndex, rejectedIndex: 0, hintIndex: 0, hintTerm: 0 });
  }

  private handleHeartbeat(message: Heartbeat): void {
    this.log.commitTo(message.commit);
    this.send({ type: "HeartbeatResponse", to: message.from, readRound: message.readRound });
  }

  private handleSnapshot(message: InstallSnapshot): void {
    const snapshot = message.snapshot;
    if (snapshot.index <= this.log.committed) {
      this.send({ type: "InstallSnapshotResponse", to: message.from, matchIndex: this.log.committed });
      return;
    }
    // If our log already holds the snapshot's last entry, everything before it matches too.
    if (this.log.matchTerm(snapshot.index, snapshot.term)) this.log.commitTo(snapshot.index);
    else this.log.restore(snapshot);
    this.send({ type: "InstallSnapshotResponse", to: message.from, matchIndex: snapshot.index });
  }

  private handleLeaderResponse(message: AppendEntriesResponse | InstallSnapshotResponse | HeartbeatResponse): void {
    const progress = this.progress.get(message.from)!;
    progress.recentActive = true;
    progress.lastHeardAtMs = this.nowMs;
    if (message.type === "HeartbeatResponse") {
      this.handleHeartbeatResponse(message, progress);
    } else if (message.type === "AppendEntriesResponse" && !message.success) {
      if (progress.rejected(message.rejectedIndex, this.retryPointFromHint(message.hintIndex, message.hintTerm))) {
        this.sendAppend(message.from, true);
      }
    } else {
      this.handleAccepted(message.from, progress, message.matchIndex);
    }
  }

  private handleAccepted(peer: NodeId, progress: Progress, matchIndex: number): void {
    invariant(matchIndex <= this.log.lastIndex(), () => `${peer} acknowledged ${matchIndex} beyond our last index ${this.log.lastIndex()}`);
    if (progress.acknowledge(matchIndex)) {
      if (progress.state === "probe") progress.becomeReplicate();
      else if (progress.state === "snapshot" && progress.matchIndex >= progress.pendingSnapshotIndex) progress.becomeReplicate();
      if (this.maybeCommit()) this.broadcastAppends(true);
    }
    while (this.sendAppend(peer, false));
    if (this.transfer?.target === peer && progress.matchIndex === this.log.lastIndex()) this.send({ type: "TimeoutNow", to: peer });
  }

  private handleHeartbeatResponse(message: HeartbeatResponse, progress: Progress): void {
    progress.heardHeartbeatResponse(this.nowMs, this.config.heartbeatIntervalMs);
    if (progress.matchIndex < this.log.lastIndex()) this.sendAppend(message.from, progress.state === "probe");
    this.readStates.push(...this.reads.acknowledge(message.from, message.readRound, this.quorum));
  }

  /** From a follower's hint, the last index at which our logs may still agree. */
  private retryPointFromHint(hintIndex: number, hintTerm: number): number {
    if (hintIndex < this.log.snapshotIndex) return hintIndex;
    const position = this.log.findConflictByTerm(hintIndex, hintTerm);
    if (position.index === this.log.snapshotIndex && this.log.snapshotTerm > hintTerm) return position.index - 1;
    return position.index;
  }

  // ---- Replication ----

  /** Send the next AppendEntries (or snapshot) to `peer` if its pacing allows; true if entries went. */
  private sendAppend(peer: NodeId, allowEmpty: boolean): boolean {
    const progress = this.progress.get(peer)!;
    if (progress.isPaused()) return false;
    invariant(progress.nextIndex <= this.log.lastIndex() + 1, `next index ${progress.nextIndex} of ${peer} beyond our log`);
    const prevLogIndex = progress.nextIndex - 1;
    const prevLogTerm = this.log.term(prevLogIndex);
    const entries = this.log.slice(progress.nextIndex, this.log.lastIndex(), this.config.maxAppendBytes, this.config.maxEntriesPerAppend);
    if (prevLogTerm === undefined || entries === undefined) return this.sendSnapshot(peer, progress);
    if (entries.length === 0 && !allowEmpty) return false;
    this.send({ type: "AppendEntries", to: peer, prevLogIndex, prevLogTerm, entries, leaderCommit: this.log.committed });
    progress.sentAppend(prevLogIndex + entries.length, entries.length, this.nowMs);
    return entries.length > 0;
  }

  private sendSnapshot(peer: NodeId, progress: Progress): boolean {
    const snapshot = this.log.snapshot;
    invariant(snapshot !== null, `entries for ${peer} are compacted but no snapshot is held`);
    this.send({ type: "InstallSnapshot", to: peer, snapshot });
    progress.becomeSnapshot(snapshot.index, this.nowMs);
    return false;
  }

  /** To every follower; `allowEmpty` to carry a new commit index even with no new entries. */
  private broadcastAppends(allowEmpty: boolean): void {
    for (const peer of this.peers) {
      let first = true;
      while (this.sendAppend(peer, allowEmpty && first)) first = false;
    }
  }

  private broadcastHeartbeat(readRound: number): void {
    for (const [peer, progress] of this.progress) {
      const commit = Math.min(progress.matchIndex, this.log.committed);
      this.send({ type: "Heartbeat", to: peer, commit, readRound });
    }
  }

  /** Commit the highest index durable on a quorum — but only by counting entries of this term. */
  private maybeCommit(): boolean {
    const matches = this.config.voters.map((voter) =>
      voter === this.id ? this.log.persistedIndex : this.progress.get(voter)!.matchIndex,
    );
    matches.sort((a, b) => b - a);
    const quorumIndex = matches[this.quorum - 1]!;
    if (quorumIndex <= this.log.committed) return false;
    const countsOldTerms = this.config.unsafeTesting?.commitOldTermEntries === true;
    if (this.log.term(quorumIndex) !== this.currentTerm && !countsOldTerms) return false;
    const previous = this.log.committed;
    this.log.commitTo(quorumIndex);
    for (let index = previous + 1; index <= quorumIndex; index++) {
      const entry = this.log.entry(index);
      if (entry !== undefined && entry.term === this.currentTerm) this.uncommittedBytes -= entry.data.byteLength;
    }
    this.uncommittedBytes = Math.max(0, this.uncommittedBytes);
    if (this.committedInCurrentTerm()) {
      const waiting = this.reads.takeWaitingForTermCommit();
      if (waiting.length > 0) this.startReadRound(waiting);
    }
    return true;
  }

  private committedInCurrentTerm(): boolean {
    return this.log.term(this.log.committed) === this.currentTerm;
  }

  private startReadRound(requestIds: number[]): void {
    if (this.peers.length === 0 || this.config.unsafeTesting?.readWithoutQuorum === true) {
      for (const requestId of requestIds) this.readStates.push({ requestId, index: this.log.committed });
      return;
    }
    const round = this.reads.startRound(this.log.committed, requestIds, this.id);
    this.broadcastHeartbeat(round);
  }

  // ---- Helpers ----

  private inLease(): boolean {
    if (!this.config.checkQuorum || this.leader === null) return false;
    return this.currentRole === "leader" || this.nowMs - this.lastLeaderContactMs < this.config.electionTimeoutMs;
  }

  /**
   * The next election deadline: the timeout plus a random share of up to half of it. The spread
   * only has to separate two followers' candidacies by more than a round trip (milliseconds on a
   * LAN), and pre-vote absorbs the rare tie; the classic [T, 2T) spread made a dead leader's
   * replacement wait 1.5 T on average, [T, 1.5 T) waits 1.25 T.
   */
  private resetElectionTimer(): void {
    const timeoutMs = this.config.electionTimeoutMs;
    this.electionDeadlineMs = this.nowMs + timeoutMs + Math.floor(this.random() * (timeoutMs / 2));
  }

  private requireLeader(): void {
    if (this.currentRole !== "leader") {
      throw new RaftError("NOT_LEADER", `node ${this.id} is not the leader (leader: ${this.leader ?? "unknown"})`, this.leader);
    }
  }

  private send(message: Outgoing): void {
    this.sendAtTerm(this.currentTerm, message);
  }

  /**
   * A leader's replication traffic may leave before its own disk write (its term and vote were
   * durable before it could win); everything else promises state that must be durable first.
   */
  private sendAtTerm(term: number, message: Outgoing): void {
    const full = { ...message, from: this.id, term } as RaftMessage;
    const leaderTraffic =
      this.currentRole === "leader" &&
      (full.type === "AppendEntries" || full.type === "Heartbeat" || full.type === "InstallSnapshot" || full.type === "TimeoutNow");
    (leaderTraffic ? this.messagesNow : this.messagesAfterPersist).push(full);
  }

  private hardState(): HardState {
    return { term: this.currentTerm, vote: this.votedFor, commit: this.log.committed };
  }

  private persistableHardState(hardState: HardState): HardState {
    return this.config.unsafeTesting?.skipVotePersist === true ? { ...hardState, vote: null } : hardState;
  }

  private softState(): SoftState {
    return { role: this.currentRole, term: this.currentTerm, leaderId: this.leader };
  }
}

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

function sameSoftState(a: SoftState, b: SoftState): boolean {
  return a.role === b.role && a.term === b.term && a.leaderId === b.leaderId;
}
