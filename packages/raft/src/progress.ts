// What a leader knows about one follower's log, and how it paces replication to it.
//
// probe:     we do not know where the follower's log matches ours; send one AppendEntries at a
//            time and wait for the answer (or the next heartbeat) before sending another.
// replicate: the follower is caught up to `matchIndex`; stream entries optimistically, at most
//            `maxInflight` messages ahead of its acknowledgements.
// snapshot:  the follower needs entries we compacted; an InstallSnapshot is on its way and
//            nothing else is sent until it is answered or `snapshotRetryMs` passes.
import { invariant } from "./errors.js";

export type ProgressState = "probe" | "replicate" | "snapshot";

export class Progress {
  matchIndex = 0;
  nextIndex: number;
  state: ProgressState = "probe";
  /** Probe state: an AppendEntries is out and unanswered. */
  probeSent = false;
  /** Snapshot state: the snapshot's index and when it was sent. */
  pendingSnapshotIndex = 0;
  snapshotSentAtMs = 0;
  /** Heard from this follower since the last check-quorum round. */
  recentActive = false;
  /** When this follower last answered us (for status pages); -Infinity before it has. */
  lastHeardAtMs = Number.NEGATIVE_INFINITY;
  /** Replicate state: last index of each unacknowledged AppendEntries, oldest first, and when it left. */
  private readonly inflight: number[] = [];
  private readonly inflightSentAtMs: number[] = [];

  constructor(
    nextIndex: number,
    private readonly maxInflight: number,
  ) {
    this.nextIndex = nextIndex;
  }

  isPaused(): boolean {
    switch (this.state) {
      case "probe":
        return this.probeSent;
      case "replicate":
        return this.inflight.length >= this.maxInflight;
      case "snapshot":
        return true;
    }
  }

  inflightCount(): number {
    return this.inflight.length;
  }

  becomeProbe(): void {
    // After a snapshot the follower holds at least the snapshot's index.
    const floor = this.state === "snapshot" ? Math.max(this.matchIndex, this.pendingSnapshotIndex) : this.matchIndex;
    this.state = "probe";
    this.nextIndex = floor + 1;
    this.probeSent = false;
    this.pendingSnapshotIndex = 0;
    this.clearInflight();
  }

  becomeReplicate(): void {
    this.state = "replicate";
    this.nextIndex = this.matchIndex + 1;
    this.probeSent = false;
    this.pendingSnapshotIndex = 0;
    this.clearInflight();
  }

  becomeSnapshot(snapshotIndex: number, nowMs: number): void {
    this.state = "snapshot";
    this.pendingSnapshotIndex = snapshotIndex;
    this.snapshotSentAtMs = nowMs;
    this.clearInflight();
  }

  /** Record an AppendEntries just sent whose last entry is `lastIndex` (prev index if empty). */
  sentAppend(lastIndex: number, entryCount: number, nowMs: number): void {
    if (this.state === "replicate") {
      if (entryCount === 0) return;
      this.nextIndex = lastIndex + 1;
      this.inflight.push(lastIndex);
      this.inflightSentAtMs.push(nowMs);
    } else {
      invariant(this.state === "probe", "append sent while a snapshot is pending");
      this.probeSent = true;
    }
  }

  /** The follower's log matches up to `index`. Returns whether that told us anything new. */
  acknowledge(index: number): boolean {
    this.probeSent = false;
    if (index <= this.matchIndex) return false;
    this.matchIndex = index;
    this.nextIndex = Math.max(this.nextIndex, index + 1);
    while (this.inflight.length > 0 && this.inflight[0]! <= index) {
      this.inflight.shift();
      this.inflightSentAtMs.shift();
    }
    return true;
  }

  /**
   * The follower refused an AppendEntries at `rejectedIndex`; `retryAfter` is the last index its
   * hint says may still match. Returns false when the refusal is stale (already past it).
   */
  rejected(rejectedIndex: number, retryAfter: number): boolean {
    if (this.state === "snapshot") return false;
    if (this.state === "replicate") {
      // A refusal of something we already know matches is a stale duplicate.
      if (rejectedIndex <= this.matchIndex) return false;
      this.becomeProbe();
      this.nextIndex = Math.max(this.matchIndex + 1, Math.min(rejectedIndex, retryAfter + 1));
      return true;
    }
    // In probe state only the refusal of the probe we sent (nextIndex - 1) is news.
    if (this.nextIndex - 1 !== rejectedIndex) return false;
    this.nextIndex = Math.max(this.matchIndex + 1, Math.min(rejectedIndex, retryAfter + 1));
    this.probeSent = false;
    return true;
  }

  /**
   * A heartbeat answer arrived, so the follower is alive: a probe may be sent again, and a stream
   * whose oldest append has gone unanswered for `stallMs` lost it, so fall back to probing.
   */
  heardHeartbeatResponse(nowMs: number, stallMs: number): void {
    this.probeSent = false;
    const oldestSentAtMs = this.inflightSentAtMs[0];
    if (this.state === "replicate" && oldestSentAtMs !== undefined && nowMs - oldestSentAtMs >= stallMs) this.becomeProbe();
  }

  private clearInflight(): void {
    this.inflight.length = 0;
    this.inflightSentAtMs.length = 0;
  }
}
