// The leader's view of one partition's replication (pure: no I/O, time passed in).
//
// It tracks each follower's log end offset (learned from its fetch offset) and when it was last
// caught up, computes the high watermark as the smallest log end offset over the ISR, and says
// when the ISR should shrink (a follower not caught up for replica.lag.time.max.ms) or expand (a
// follower reached the high watermark). It never changes the ISR itself: a change is proposed
// to the controller (AlterPartition, against the partition epoch) and applied only when the
// controller's answer or the metadata log says so. While a change is in flight the HW is
// computed over the "maximal ISR" (current ISR plus proposed additions), as Kafka's KIP-841
// does, so the HW is safe whichever way the controller decides.
import { assert, assertOffset } from "./assert.js";

export interface FollowerProgress {
  brokerId: number;
  /** -1 until the follower's first fetch under this leadership. */
  logEndOffset: number;
  lastCaughtUpTimeMs: number;
  lastFetchTimeMs: number;
  /** The leader's log end offset at this follower's previous fetch (Kafka's rule for "caught up"). */
  leaderEndOffsetAtLastFetch: number;
}

export interface LeaderStateInit {
  brokerId: number;
  leaderEpoch: number;
  partitionEpoch: number;
  replicas: readonly number[];
  isr: readonly number[];
  logEndOffset: number;
  /** The HW this replica knew before becoming leader (a checkpoint or what the old leader said). */
  highWatermark: number;
  nowMs: number;
  replicaLagTimeMaxMs: number;
}

export interface IsrProposal {
  newIsr: number[];
  partitionEpoch: number;
  leaderEpoch: number;
  reason: "isr-shrink" | "isr-expand";
}

export interface FollowerFetchResult {
  /** True when the HW moved: delayed produces and fetches on this partition may complete. */
  highWatermarkAdvanced: boolean;
  /** Set when this fetch made the follower eligible to (re)join the ISR. */
  expansion?: IsrProposal;
}

export class LeaderPartitionState {
  readonly brokerId: number;
  readonly leaderEpoch: number;
  private partitionEpochValue: number;
  private replicasValue: number[];
  private isrValue: number[];
  private pendingIsr: number[] | undefined;
  private logEndOffsetValue: number;
  private highWatermarkValue: number;
  private readonly followers = new Map<number, FollowerProgress>();
  private readonly replicaLagTimeMaxMs: number;
  /** Our log end when this leadership began: a follower below it may still hold another leader's tail. */
  readonly epochStartOffset: number;

  constructor(init: LeaderStateInit) {
    assertOffset(init.logEndOffset, "logEndOffset");
    assert(init.isr.includes(init.brokerId), () => `leader ${init.brokerId} must be in its ISR [${init.isr.join(",")}]`);
    this.brokerId = init.brokerId;
    this.leaderEpoch = init.leaderEpoch;
    this.partitionEpochValue = init.partitionEpoch;
    this.replicasValue = [...init.replicas];
    this.isrValue = [...init.isr];
    this.logEndOffsetValue = init.logEndOffset;
    this.epochStartOffset = init.logEndOffset;
    // A new leader's HW may trail the old leader's; it never exceeds its own log end.
    this.highWatermarkValue = Math.max(0, Math.min(init.highWatermark, init.logEndOffset));
    this.replicaLagTimeMaxMs = init.replicaLagTimeMaxMs;
    for (const id of init.replicas) {
      if (id === init.brokerId) continue;
      // Followers get the full lag time from the moment this broker leads, as in Kafka.
      this.followers.set(id, {
        brokerId: id, logEndOffset: -1, lastCaughtUpTimeMs: init.nowMs, lastFetchTimeMs: init.nowMs, leaderEndOffsetAtLastFetch: -1,
      });
    }
    this.recomputeHighWatermark();
  }

  get isr(): readonly number[] { return this.isrValue; }
  get replicas(): readonly number[] { return this.replicasValue; }
  get partitionEpoch(): number { return this.partitionEpochValue; }
  get highWatermark(): number { return this.highWatermarkValue; }
  get logEndOffset(): number { return this.logEndOffsetValue; }
  get isrChangeInFlight(): boolean { return this.pendingIsr !== undefined; }

  follower(brokerId: number): Readonly<FollowerProgress> | undefined {
    return this.followers.get(brokerId);
  }

  /** The local log grew (an append as leader). Returns true when the HW moved. */
  onLocalAppend(logEndOffset: number): boolean {
    assert(logEndOffset >= this.logEndOffsetValue, () => `leader log end went back from ${this.logEndOffsetValue} to ${logEndOffset}`);
    this.logEndOffsetValue = logEndOffset;
    return this.recomputeHighWatermark();
  }

  /**
   * A follower fetched from `fetchOffset`: everything below it is on its log. Called after the
   * fetch was checked for epoch and divergence, so the offset is a true log end of that follower.
   */
  onFollowerFetch(brokerId: number, fetchOffset: number, nowMs: number): FollowerFetchResult {
    const progress = this.followers.get(brokerId);
    if (!progress) return { highWatermarkAdvanced: false };
    assertOffset(fetchOffset, "fetchOffset");
    // A follower may ask beyond our log end only after an unclean leader change; never count it so.
    const logEndOffset = Math.min(fetchOffset, this.logEndOffsetValue);
    if (logEndOffset >= this.logEndOffsetValue) progress.lastCaughtUpTimeMs = Math.max(progress.lastCaughtUpTimeMs, nowMs);
    else if (logEndOffset >= progress.leaderEndOffsetAtLastFetch && progress.leaderEndOffsetAtLastFetch >= 0) {
      // It has everything we had when it last asked: it was caught up at that time.
      progress.lastCaughtUpTimeMs = Math.max(progress.lastCaughtUpTimeMs, progress.lastFetchTimeMs);
    }
    progress.logEndOffset = logEndOffset;
    progress.leaderEndOffsetAtLastFetch = this.logEndOffsetValue;
    progress.lastFetchTimeMs = nowMs;
    const highWatermarkAdvanced = this.recomputeHighWatermark();
    const expansion = this.expansionFor(progress);
    return expansion ? { highWatermarkAdvanced, expansion } : { highWatermarkAdvanced };
  }

  /** Followers in the ISR that have not been caught up for replica.lag.time.max.ms. */
  laggingFollowers(nowMs: number): number[] {
    return this.isrValue.filter((id) => {
      const progress = this.followers.get(id);
      return progress !== undefined && nowMs - progress.lastCaughtUpTimeMs > this.replicaLagTimeMaxMs;
    });
  }

  /** Proposes dropping lagging followers, unless a change is already in flight. */
  maybeShrinkIsr(nowMs: number): IsrProposal | undefined {
    if (this.pendingIsr) return undefined;
    const lagging = this.laggingFollowers(nowMs);
    if (lagging.length === 0) return undefined;
    const newIsr = this.isrValue.filter((id) => !lagging.includes(id));
    // For HW purposes a pending shrink keeps the old (larger) set until committed.
    this.pendingIsr = [...this.isrValue];
    return { newIsr, partitionEpoch: this.partitionEpochValue, leaderEpoch: this.leaderEpoch, reason: "isr-shrink" };
  }

  private expansionFor(progress: FollowerProgress): IsrProposal | undefined {
    if (this.pendingIsr || this.isrValue.includes(progress.brokerId)) return undefined;
    if (!this.replicasValue.includes(progress.brokerId)) return undefined;
    // Kafka's rule: caught up to the HW and to the start of this leader's epoch. Below the epoch
    // start its log may still end in another leader's records that diverge from ours.
    if (progress.logEndOffset < this.highWatermarkValue || progress.logEndOffset < this.epochStartOffset) return undefined;
    const newIsr = [...this.isrValue, progress.brokerId].sort((a, b) => a - b);
    this.pendingIsr = newIsr;
    return { newIsr, partitionEpoch: this.partitionEpochValue, leaderEpoch: this.leaderEpoch, reason: "isr-expand" };
  }

  /** The controller refused or the call failed: forget the proposal so a later one can be made. */
  abandonIsrChange(): void {
    this.pendingIsr = undefined;
    this.recomputeHighWatermark();
  }

  /**
   * The committed state from the controller (AlterPartition answer or a metadata record) for
   * this leader epoch. A newer partition epoch replaces ours; an older one is ignored.
   */
  applyCommittedIsr(isr: readonly number[], partitionEpoch: number, replicas?: readonly number[]): boolean {
    if (partitionEpoch < this.partitionEpochValue) return false;
    if (partitionEpoch === this.partitionEpochValue && this.pendingIsr === undefined) return false;
    this.partitionEpochValue = partitionEpoch;
    this.isrValue = [...isr];
    if (replicas) {
      this.replicasValue = [...replicas];
      for (const id of replicas) {
        if (id !== this.brokerId && !this.followers.has(id)) {
          this.followers.set(id, { brokerId: id, logEndOffset: -1, lastCaughtUpTimeMs: 0, lastFetchTimeMs: 0, leaderEndOffsetAtLastFetch: -1 });
        }
      }
    }
    this.pendingIsr = undefined;
    this.recomputeHighWatermark();
    return true;
  }

  /** The set the HW is computed over: the ISR, plus proposed members while a change is pending. */
  private maximalIsr(): number[] {
    if (!this.pendingIsr) return this.isrValue;
    return [...new Set([...this.isrValue, ...this.pendingIsr])];
  }

  private recomputeHighWatermark(): boolean {
    let candidate = this.logEndOffsetValue;
    for (const id of this.maximalIsr()) {
      if (id === this.brokerId) continue;
      const progress = this.followers.get(id);
      // A member we have not heard from under this leadership holds the HW where it is.
      const followerEnd = progress ? progress.logEndOffset : -1;
      candidate = Math.min(candidate, followerEnd);
    }
    if (candidate <= this.highWatermarkValue) return false;
    assert(candidate <= this.logEndOffsetValue, () => `HW ${candidate} would pass the log end ${this.logEndOffsetValue}`);
    this.highWatermarkValue = candidate;
    return true;
  }
}

export type LeaderEpochCheck = "ok" | "FENCED_LEADER_EPOCH" | "UNKNOWN_LEADER_EPOCH";

/** Kafka's check of the epoch a client or follower believes current: -1 skips it. */
export function checkLeaderEpoch(requestEpoch: number, currentEpoch: number): LeaderEpochCheck {
  if (requestEpoch < 0 || requestEpoch === currentEpoch) return "ok";
  return requestEpoch < currentEpoch ? "FENCED_LEADER_EPOCH" : "UNKNOWN_LEADER_EPOCH";
}

export interface EpochEndOffset {
  epoch: number;
  endOffset: number;
}

/**
 * KIP-320 on the leader: does a follower at (fetchOffset, lastFetchedEpoch) share our history?
 * `endOffsetForEpoch(e)` answers with the largest epoch <= e in our log and where it ends (the
 * start of the next epoch, or our log end). Returns the point to truncate to, or undefined.
 */
export function findDivergence(
  fetchOffset: number,
  lastFetchedEpoch: number,
  endOffsetForEpoch: (epoch: number) => EpochEndOffset,
): EpochEndOffset | undefined {
  if (lastFetchedEpoch < 0) return undefined;
  const ours = endOffsetForEpoch(lastFetchedEpoch);
  if (ours.epoch === lastFetchedEpoch && ours.endOffset >= fetchOffset) return undefined;
  return ours;
}

/**
 * KIP-320 on the follower: where to truncate after the leader said `diverging`. The follower
 * keeps what both logs hold: up to the end of the shared epoch on both sides.
 */
export function truncationOffset(
  diverging: EpochEndOffset,
  followerEndOffsetForEpoch: (epoch: number) => EpochEndOffset,
  followerLogEndOffset: number,
  followerHighWatermark: number,
): number {
  if (diverging.epoch < 0 || diverging.endOffset < 0) {
    // The leader knows no epoch this old: only what was committed (below our HW) is shared.
    return Math.min(followerLogEndOffset, followerHighWatermark);
  }
  const mine = followerEndOffsetForEpoch(diverging.epoch);
  if (mine.epoch === diverging.epoch) return Math.min(diverging.endOffset, mine.endOffset, followerLogEndOffset);
  // Our largest epoch <= theirs is older: we share history only up to where ours ends.
  if (mine.epoch < 0) return Math.min(followerLogEndOffset, followerHighWatermark);
  return Math.min(mine.endOffset, diverging.endOffset, followerLogEndOffset);
}
