// One partition replica hosted on this broker: its log, its role (leader or follower) under a
// given leader epoch, and the leader-side replication state when it leads. The role changes
// only through the replica manager applying the metadata image.
import type { PartitionImage } from "@tributary/protocol";
import { assert } from "./assert.js";
import { LeaderPartitionState } from "./partition-state.js";
import type { ReplicaLog } from "./replica-log.js";

export type ReplicaRole = "leader" | "follower";

export function partitionKey(topic: string, partition: number): string {
  return `${topic}-${partition}`;
}

/**
 * The key a follower's long-poll fetch watches besides its partitions' keys, so the leader can
 * answer it early (see ReplicaManager.afterLeaderAppend). A topic name has no ':', so it never
 * collides with a partition key.
 */
export function followerFetchKey(followerId: number): string {
  return `follower-fetch:${followerId}`;
}

export class Partition {
  readonly key: string;
  role: ReplicaRole = "follower";
  leaderId = -1;
  leaderEpoch = -1;
  partitionEpoch = -1;
  replicas: number[] = [];
  /** The ISR as the metadata image says (the leader's own view is in leaderState). */
  isr: number[] = [];
  leaderState: LeaderPartitionState | undefined;
  /**
   * The last read made for a follower. The followers of a partition usually ask for the same
   * range one after the other; below the log end a leader's log never changes (only a follower
   * truncates), so the second can be sent the same bytes without reading them again.
   */
  lastFollowerRead: { fromOffset: number; maxOffset: number; maxBytes: number; records: Buffer } | undefined;
  /** A follower's HW: the leader's HW capped at our log end. */
  private followerHighWatermark: number;

  constructor(
    readonly topic: string,
    readonly partition: number,
    readonly topicId: string,
    readonly log: ReplicaLog,
  ) {
    this.key = partitionKey(topic, partition);
    this.followerHighWatermark = Math.min(log.checkpointedHighWatermark, log.logEndOffset);
  }

  get highWatermark(): number {
    return this.leaderState ? this.leaderState.highWatermark : this.followerHighWatermark;
  }

  get isLeader(): boolean {
    return this.role === "leader" && this.leaderState !== undefined;
  }

  /** The ISR this replica acts on: the leader's committed view, else the image's. */
  get currentIsr(): readonly number[] {
    return this.leaderState ? this.leaderState.isr : this.isr;
  }

  becomeLeader(image: PartitionImage, brokerId: number, nowMs: number, replicaLagTimeMaxMs: number): void {
    assert(image.leader === brokerId, () => `${this.key}: becomeLeader for leader ${image.leader} on broker ${brokerId}`);
    const previousHighWatermark = this.highWatermark;
    this.lastFollowerRead = undefined;
    this.role = "leader";
    this.log.setFollowing(false);
    this.leaderId = brokerId;
    this.leaderEpoch = image.leaderEpoch;
    this.partitionEpoch = image.partitionEpoch;
    this.replicas = [...image.replicas];
    this.isr = [...image.isr];
    // Later appends in this epoch start here: followers use it to find where logs diverge.
    this.log.assignEpochStart(image.leaderEpoch, this.log.logEndOffset);
    const isr = image.isr.includes(brokerId) ? image.isr : [...image.isr, brokerId];
    this.leaderState = new LeaderPartitionState({
      brokerId,
      leaderEpoch: image.leaderEpoch,
      partitionEpoch: image.partitionEpoch,
      replicas: image.replicas,
      isr,
      logEndOffset: this.log.logEndOffset,
      highWatermark: previousHighWatermark,
      nowMs,
      replicaLagTimeMaxMs,
    });
  }

  becomeFollower(image: PartitionImage): void {
    if (this.leaderState) this.followerHighWatermark = Math.min(this.leaderState.highWatermark, this.log.logEndOffset);
    this.lastFollowerRead = undefined;
    this.role = "follower";
    this.log.setFollowing(true);
    this.leaderState = undefined;
    this.leaderId = image.leader;
    this.leaderEpoch = image.leaderEpoch;
    this.partitionEpoch = image.partitionEpoch;
    this.replicas = [...image.replicas];
    this.isr = [...image.isr];
  }

  /** A follower learned the leader's HW (or truncated): HW = min(leader's HW, our log end). */
  updateFollowerHighWatermark(leaderHighWatermark: number): void {
    assert(!this.leaderState, () => `${this.key}: follower HW update while leading`);
    const next = Math.min(leaderHighWatermark, this.log.logEndOffset);
    // A follower's HW may only go back when it truncated below it (then its log end bounds it).
    if (next > this.followerHighWatermark || this.followerHighWatermark > this.log.logEndOffset) this.followerHighWatermark = next;
  }
}
