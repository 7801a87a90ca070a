// Hosts this broker's partition replicas and moves them between leader and follower exactly as
// the metadata image says, with the leader epoch it gives. It owns the replication side
// effects: proposing ISR changes to the controller (never applying them locally), telling the
// fetchers which partitions to follow from which broker, waking delayed operations when a
// high watermark or log end moves, checkpointing HWs, and running retention in the background.
import { TributaryError, type MetadataImage, type PartitionImage, type v1 } from "@tributary/protocol";
import type { Logger } from "pino";
import type { DelayedOperations } from "./delayed-operations.js";
import { Partition, followerFetchKey, partitionKey } from "./partition.js";
import type { IsrProposal } from "./partition-state.js";
import type { ReplicaLog } from "./replica-log.js";

export interface LogOpener {
  /** Opens or creates the replica's log; a folder left by a deleted topic of the same name (another topic id) is replaced. */
  open(topic: string, partition: number, topicId: string, topicConfigs: ReadonlyMap<string, string>): ReplicaLog;
  /** Applies changed topic configs to an open log. */
  reconfigure(log: ReplicaLog, topicConfigs: ReadonlyMap<string, string>): void;
  /** Partition folders found on disk at start. */
  existing(): { topic: string; partition: number }[];
  remove(log: ReplicaLog): Promise<void>;
}

export interface FollowerFetchers {
  /** Follow `partition` from `leaderId` (replacing any earlier assignment). */
  follow(partition: Partition, leaderId: number): void;
  unfollow(key: string): void;
}

export type AlterPartitionSender = (items: v1.AlterPartitionItem[]) => Promise<v1.AlterPartitionResponse__Output>;

/**
 * New logs one applyImage pass opens before it yields to the event loop. Creating a log costs a
 * few file creations (a millisecond or more each on a busy or virtual disk), and opening an
 * existing one may recover it: a topic of hundreds of partitions opened in one go held every
 * other partition's requests, and the broker's heartbeats, for seconds (300 new partitions:
 * 1.3-1.8 s). The rest follow in later turns, each against the latest image.
 */
const LOG_OPENS_PER_TURN = 16;

export type LeadershipListener = (topic: string, partition: number, isLeader: boolean, leaderEpoch: number) => void;

export interface ReplicaManagerOptions {
  brokerId: number;
  replicaLagTimeMaxMs: number;
  logs: LogOpener;
  fetchers: FollowerFetchers;
  alterPartition: AlterPartitionSender;
  delayedProduce: DelayedOperations;
  delayedFetch: DelayedOperations;
  now: () => number;
  log: Logger;
}

export class ReplicaManager {
  private readonly partitions = new Map<string, Partition>();
  private readonly topicConfigSnapshots = new Map<string, string>();
  private readonly leadershipListeners: LeadershipListener[] = [];
  private alterInFlight = false;
  private readonly queuedProposals = new Map<string, IsrProposal & { topic: string; partition: number }>();
  private stopped = false;
  /** The next applyImage pass, when the last one stopped at LOG_OPENS_PER_TURN new logs. */
  private continuation: NodeJS.Immediate | undefined;
  private latestImage: MetadataImage | undefined;
  private fullyAppliedValue = false;

  constructor(private readonly options: ReplicaManagerOptions) {}

  /**
   * Whether a pass over the image has opened every log it lists for this broker. Until then the
   * broker does not tell the controller it has caught up, so it stays fenced, with no leadership,
   * while its logs open, as Kafka's does while it loads them.
   */
  get fullyApplied(): boolean {
    return this.fullyAppliedValue;
  }

  get brokerId(): number {
    return this.options.brokerId;
  }

  partition(topic: string, partition: number): Partition | undefined {
    return this.partitions.get(partitionKey(topic, partition));
  }

  allPartitions(): IterableIterator<Partition> {
    return this.partitions.values();
  }

  /** Returns an unsubscribe function. */
  onLeadershipChange(listener: LeadershipListener): () => void {
    this.leadershipListeners.push(listener);
    return () => {
      const index = this.leadershipListeners.indexOf(listener);
      if (index >= 0) this.leadershipListeners.splice(index, 1);
    };
  }

  /**
   * Applies the image: every partition listing this broker as a replica is opened and set to
   * leader or follower with the image's epochs; partitions no longer ours are closed and deleted.
   * Called after the image is caught up with what the controllers have committed. New logs open
   * at most LOG_OPENS_PER_TURN per event-loop turn: the rest, and any removal, in later passes.
   */
  applyImage(image: MetadataImage): void {
    if (this.stopped) return;
    this.latestImage = image;
    // A pass is already due: it reads the latest image then.
    if (this.continuation !== undefined) return;
    if (this.applyPass(image)) {
      this.fullyAppliedValue = true;
      return;
    }
    this.continuation = setImmediate(() => {
      this.continuation = undefined;
      this.applyImage(this.latestImage!);
    });
  }

  /** One pass over the image; false when it stopped opening logs at LOG_OPENS_PER_TURN (nothing is removed then). */
  private applyPass(image: MetadataImage): boolean {
    const nowMs = this.options.now();
    const seen = new Set<string>();
    let opensLeft = LOG_OPENS_PER_TURN;
    let complete = true;
    for (const topic of image.topicsByName.values()) {
      const configSignature = JSON.stringify([...topic.configs].sort());
      for (const p of topic.partitions.values()) {
        if (!p.replicas.includes(this.brokerId)) continue;
        const key = partitionKey(topic.name, p.partition);
        seen.add(key);
        let partition = this.partitions.get(key);
        if (!partition || partition.topicId !== p.topicId) {
          if (opensLeft === 0) {
            complete = false;
            continue;
          }
          opensLeft--;
        }
        if (partition && partition.topicId !== p.topicId) {
          // Same name, new topic: the old log belongs to a deleted topic.
          this.removePartition(partition);
          partition = undefined;
        }
        if (!partition) {
          partition = new Partition(topic.name, p.partition, p.topicId, this.options.logs.open(topic.name, p.partition, p.topicId, topic.configs));
          this.partitions.set(key, partition);
        } else if (this.topicConfigSnapshots.get(key) !== configSignature) {
          this.options.logs.reconfigure(partition.log, topic.configs);
        }
        this.topicConfigSnapshots.set(key, configSignature);
        this.applyPartitionImage(partition, p, image, nowMs);
      }
    }
    if (!complete) return false;
    for (const partition of [...this.partitions.values()]) {
      if (!seen.has(partition.key)) this.removePartition(partition);
    }
    return true;
  }

  private applyPartitionImage(partition: Partition, p: PartitionImage, image: MetadataImage, nowMs: number): void {
    if (p.leader === this.brokerId) {
      if (partition.isLeader && partition.leaderEpoch === p.leaderEpoch) {
        // Same leadership: the ISR or replicas may have changed through a committed change.
        if (p.partitionEpoch > partition.partitionEpoch) {
          partition.leaderState!.applyCommittedIsr(p.isr, p.partitionEpoch, p.replicas);
          partition.partitionEpoch = p.partitionEpoch;
          partition.isr = [...p.isr];
          partition.replicas = [...p.replicas];
          this.wake(partition);
        }
        return;
      }
      if (partition.leaderEpoch > p.leaderEpoch) return; // an older image than what we act on
      this.options.fetchers.unfollow(partition.key);
      partition.becomeLeader(p, this.brokerId, nowMs, this.options.replicaLagTimeMaxMs);
      this.options.log.info({ topic: partition.topic, partition: partition.partition, leaderEpoch: p.leaderEpoch, isr: p.isr, logEndOffset: partition.log.logEndOffset, highWatermark: partition.highWatermark }, "became leader");
      this.wake(partition);
      this.notifyLeadership(partition, true);
      return;
    }
    const wasLeader = partition.isLeader;
    const sameFollowing = !wasLeader && partition.leaderId === p.leader && partition.leaderEpoch === p.leaderEpoch;
    if (sameFollowing) {
      partition.partitionEpoch = p.partitionEpoch;
      partition.isr = [...p.isr];
      partition.replicas = [...p.replicas];
      return;
    }
    if (partition.leaderEpoch > p.leaderEpoch) return;
    partition.becomeFollower(p);
    const leader = p.leader >= 0 ? image.brokers.get(p.leader) : undefined;
    if (leader) this.options.fetchers.follow(partition, p.leader);
    else this.options.fetchers.unfollow(partition.key);
    this.options.log.info({ topic: partition.topic, partition: partition.partition, leader: p.leader, leaderEpoch: p.leaderEpoch, logEndOffset: partition.log.logEndOffset }, "became follower");
    // Produces waiting on this partition can no longer complete here.
    this.wake(partition);
    if (wasLeader) this.notifyLeadership(partition, false);
  }

  private notifyLeadership(partition: Partition, isLeader: boolean): void {
    for (const listener of this.leadershipListeners) {
      try {
        listener(partition.topic, partition.partition, isLeader, partition.leaderEpoch);
      } catch (error) {
        this.options.log.error({ err: error, topic: partition.topic, partition: partition.partition }, "leadership listener failed");
      }
    }
  }

  private removePartition(partition: Partition): void {
    this.partitions.delete(partition.key);
    this.topicConfigSnapshots.delete(partition.key);
    this.options.fetchers.unfollow(partition.key);
    const wasLeader = partition.isLeader;
    partition.role = "follower";
    partition.leaderState = undefined;
    this.wake(partition);
    if (wasLeader) this.notifyLeadership(partition, false);
    this.options.log.info({ topic: partition.topic, partition: partition.partition }, "removing replica");
    void this.options.logs.remove(partition.log).catch((error: unknown) =>
      this.options.log.error({ err: error, topic: partition.topic, partition: partition.partition }, "cannot delete replica log"));
  }

  /** Wakes delayed operations on the partition (HW or log end moved, or leadership changed). */
  wake(partition: Partition): void {
    const nowMs = this.options.now();
    this.options.delayedProduce.checkKey(partition.key, nowMs);
    this.options.delayedFetch.checkKey(partition.key, nowMs);
  }

  /** The leader's local log grew. */
  afterLeaderAppend(partition: Partition): void {
    const state = partition.leaderState;
    if (!state) return;
    state.onLocalAppend(partition.log.logEndOffset);
    // Followers long-polling on this partition can now be answered; so can acks=1 waiters.
    this.wake(partition);
    // A follower that has not fetched this partition under this leadership yet is most likely
    // long-polling with a fetch sent before it began following it (a new topic, or a new leader
    // it already fetched other partitions from). Its next fetch will carry this partition; answer
    // the one it waits on now, or acks=all writes here wait out replica.fetch.wait.max.ms.
    // Bounded: it stops with the follower's first fetch of this partition; a follower that
    // never fetches it (its log would not open) is answered once per append, as a fetching one is.
    for (const followerId of state.replicas) {
      if (followerId !== state.brokerId && state.follower(followerId)?.logEndOffset === -1) {
        this.options.delayedFetch.expireKey(followerFetchKey(followerId), this.options.now());
      }
    }
  }

  /** A follower fetched at `fetchOffset` (epoch and divergence already checked). */
  recordFollowerFetch(partition: Partition, followerId: number, fetchOffset: number): void {
    const state = partition.leaderState;
    if (!state) return;
    const result = state.onFollowerFetch(followerId, fetchOffset, this.options.now());
    if (result.highWatermarkAdvanced) this.wake(partition);
    if (result.expansion) this.propose(partition, result.expansion);
  }

  /** Periodic: lagging followers leave the ISR (through the controller). */
  checkIsrLag(): void {
    const nowMs = this.options.now();
    for (const partition of this.partitions.values()) {
      const proposal = partition.leaderState?.maybeShrinkIsr(nowMs);
      if (proposal) this.propose(partition, proposal);
    }
  }

  private propose(partition: Partition, proposal: IsrProposal): void {
    this.options.log.info({ topic: partition.topic, partition: partition.partition, newIsr: proposal.newIsr, reason: proposal.reason, partitionEpoch: proposal.partitionEpoch }, "proposing ISR change");
    this.queuedProposals.set(partition.key, { ...proposal, topic: partition.topic, partition: partition.partition });
    void this.sendProposals();
  }

  /** One AlterPartition call at a time, carrying every queued proposal. */
  private async sendProposals(): Promise<void> {
    if (this.alterInFlight || this.queuedProposals.size === 0 || this.stopped) return;
    this.alterInFlight = true;
    const batch = [...this.queuedProposals.values()];
    this.queuedProposals.clear();
    try {
      const response = await this.options.alterPartition(batch.map((p) => ({
        topic: p.topic, partition: p.partition, leaderEpoch: p.leaderEpoch, newIsr: p.newIsr, partitionEpoch: p.partitionEpoch,
      })));
      const results = new Map(response.partitions.map((r) => [partitionKey(r.topic, r.partition), r]));
      for (const proposal of batch) this.applyAlterResult(proposal, results.get(partitionKey(proposal.topic, proposal.partition)), response.error?.code);
    } catch (error) {
      this.options.log.warn({ err: error }, "AlterPartition failed; will propose again");
      for (const proposal of batch) this.partition(proposal.topic, proposal.partition)?.leaderState?.abandonIsrChange();
    } finally {
      this.alterInFlight = false;
      if (this.queuedProposals.size > 0) setTimeout(() => void this.sendProposals(), 50).unref();
    }
  }

  private applyAlterResult(proposal: IsrProposal & { topic: string; partition: number }, result: v1.AlterPartitionItemResult__Output | undefined, requestError: unknown): void {
    const partition = this.partition(proposal.topic, proposal.partition);
    const state = partition?.leaderState;
    if (!partition || !state || state.leaderEpoch !== proposal.leaderEpoch) return;
    const code = result?.error?.code ?? requestError ?? "UNKNOWN_SERVER_ERROR";
    if (result && (code === "NONE" || code === 0) && result.leaderEpoch === state.leaderEpoch) {
      state.applyCommittedIsr(result.isr, result.partitionEpoch);
      partition.partitionEpoch = Math.max(partition.partitionEpoch, result.partitionEpoch);
      this.options.log.info({ topic: partition.topic, partition: partition.partition, isr: result.isr, partitionEpoch: result.partitionEpoch }, "ISR changed");
      this.wake(partition);
      return;
    }
    // Refused (stale partition epoch, fenced replica, ...): the metadata stream brings the truth.
    this.options.log.info({ topic: partition.topic, partition: partition.partition, code, message: result?.error?.message }, "ISR change refused");
    state.abandonIsrChange();
  }

  checkpointHighWatermarks(): void {
    for (const partition of this.partitions.values()) {
      try {
        partition.log.checkpointHighWatermark(partition.highWatermark);
      } catch (error) {
        this.options.log.error({ err: error, topic: partition.topic, partition: partition.partition }, "cannot checkpoint high watermark");
      }
    }
  }

  runMaintenance(): void {
    const nowMs = this.options.now();
    for (const partition of this.partitions.values()) {
      try {
        partition.log.runMaintenance(partition.highWatermark, nowMs);
      } catch (error) {
        this.options.log.error({ err: error, topic: partition.topic, partition: partition.partition }, "retention failed");
      }
    }
  }

  leaderCount(): number {
    let count = 0;
    for (const partition of this.partitions.values()) if (partition.isLeader) count++;
    return count;
  }

  /** Stops following and closes every log cleanly (after a final HW checkpoint). */
  async close(): Promise<void> {
    this.stopped = true;
    if (this.continuation !== undefined) clearImmediate(this.continuation);
    this.continuation = undefined;
    for (const partition of this.partitions.values()) this.options.fetchers.unfollow(partition.key);
    this.checkpointHighWatermarks();
    for (const partition of this.partitions.values()) {
      try {
        await partition.log.flush();
        await partition.log.close();
      } catch (error) {
        this.options.log.error({ err: error, topic: partition.topic, partition: partition.partition }, "cannot close log");
      }
    }
    this.partitions.clear();
  }
}

/** The leader of a partition as a hint for NOT_LEADER_OR_FOLLOWER answers. */
export function leaderHint(image: MetadataImage, topic: string, partition: number): v1.LeaderHint {
  const p = image.partition(topic, partition);
  if (!p || p.leader < 0) return { nodeId: -1, leaderEpoch: -1 };
  const broker = image.brokers.get(p.leader);
  const listener = broker?.listeners[0];
  return { nodeId: p.leader, leaderEpoch: p.leaderEpoch, ...(listener ? { endpoint: { host: listener.host, port: listener.port, listenerName: listener.listenerName } } : {}) };
}

export function notLeader(topic: string, partition: number, brokerId: number): TributaryError {
  return new TributaryError("NOT_LEADER_OR_FOLLOWER", `broker ${brokerId} is not the leader of ${topic}-${partition}; refresh metadata`);
}
