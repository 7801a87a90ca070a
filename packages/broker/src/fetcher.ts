// The follower side of replication: one fetcher per source broker, carrying every partition
// this broker follows from it in one long-poll Fetch request at a time. Each partition sends
// its fetch offset (our log end) and the epoch of our last batch; the leader answers with
// batches to append as they are, its HW (ours becomes min(its HW, our log end)), or a
// diverging epoch, on which we truncate to the end of the last shared epoch and fetch on.
import * as grpc from "@grpc/grpc-js";
import { BrokerSession, errorCodeOf, int64, int64ToNumber, tributaryV1, type MetadataImage, type v1 } from "@tributary/protocol";
import type { Logger } from "pino";
import { addressOf } from "./controller-client.js";
import { partitionKey, type Partition } from "./partition.js";
import { truncationOffset } from "./partition-state.js";
import type { FollowerFetchers } from "./replica-manager.js";
import { COMMON_GRPC_OPTIONS, FLOW_CONTROL_WINDOW_BYTES } from "./grpc-options.js";

export interface FetcherSettings {
  brokerId: number;
  brokerEpoch: () => number;
  maxWaitMs: number;
  maxBytes: number;
  partitionMaxBytes: number;
  requestTimeoutMs: number;
  /** Pause after an error before a partition (or the whole fetcher) tries again. */
  backoffMs: number;
  maxMessageBytes: number;
  image: MetadataImage;
  log: Logger;
  /** Called after a follower append, so anything waiting on our log end can look. */
  onAppended?: (partition: Partition) => void;
}

interface Followed {
  partition: Partition;
  leaderEpoch: number;
  /** No fetching for this partition before this time (after an error). */
  pausedUntilMs: number;
  /** The fetch that last carried this partition (its answer is applied only to that fetch's partitions). */
  inFetch: number;
}

/** What the leader's fetch session holds for a partition: the fields our last request gave it. */
interface ToldLeader {
  topic: string;
  partition: number;
  fetchOffset: number;
  leaderEpoch: number;
  lastFetchedEpoch: number;
  logStartOffset: number;
}

class ReplicaFetcher {
  readonly partitions = new Map<string, Followed>();
  private readonly client: v1.BrokerClient;
  /** Fetches go over one long-lived call: a follower fetches once or twice per leader append. */
  private readonly session: BrokerSession;
  private running = false;
  private stopped = false;
  /** The last fetch session epoch the leader answered; 0 when the next fetch must be a full one. */
  private sessionEpoch = 0;
  /** What the leader's session holds for each partition, by partition key. */
  private readonly toldLeader = new Map<string, ToldLeader>();
  /** Numbers the fetches, so an answer is applied only to the partitions its request carried. */
  private fetchCount = 0;
  private wakeTimer: NodeJS.Timeout | undefined;

  constructor(readonly leaderId: number, readonly address: string, private readonly settings: FetcherSettings) {
    this.client = new (tributaryV1().Broker)(address, grpc.credentials.createInsecure(), {
      ...COMMON_GRPC_OPTIONS,
      "grpc.max_receive_message_length": settings.maxMessageBytes,
      "grpc.max_send_message_length": settings.maxMessageBytes,
      "grpc.initial_reconnect_backoff_ms": 100,
      "grpc.max_reconnect_backoff_ms": 1000,
      // Fetch responses carry megabytes: a 64 KiB window would cost a round trip per 64 KiB.
      "grpc-node.flow_control_window": FLOW_CONTROL_WINDOW_BYTES,
    });
    this.session = new BrokerSession(this.client, `leader ${leaderId} at ${address}`);
  }

  add(partition: Partition): void {
    this.partitions.set(partition.key, { partition, leaderEpoch: partition.leaderEpoch, pausedUntilMs: 0, inFetch: 0 });
    if (!this.running) void this.run();
  }

  remove(key: string): void {
    this.partitions.delete(key);
  }

  stop(): void {
    this.stopped = true;
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    this.session.close();
    this.client.close();
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      while (!this.stopped && this.partitions.size > 0) {
        const nowMs = Date.now();
        let readyCount = 0;
        let nextReadyMs = Infinity;
        for (const followed of this.partitions.values()) {
          if (followed.pausedUntilMs <= nowMs) readyCount++;
          else nextReadyMs = Math.min(nextReadyMs, followed.pausedUntilMs);
        }
        if (readyCount === 0) {
          await this.sleep(Math.max(1, nextReadyMs - nowMs));
          continue;
        }
        let ok = false;
        try {
          ok = await this.fetchOnce(nowMs);
        } catch (error) {
          // A bug, not a network failure (those are answered inside fetchOnce): keep the fetcher alive.
          this.settings.log.error({ leader: this.leaderId, err: error }, "follower fetch loop failed");
        }
        if (!ok) await this.sleep(this.settings.backoffMs);
      }
    } finally {
      this.running = false;
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => { this.wakeTimer = setTimeout(resolve, ms); });
  }

  private async fetchOnce(nowMs: number): Promise<boolean> {
    // An incremental fetch session (KIP-227): after a full fetch (epoch 1) each request lists
    // only the partitions whose fetch position changed, forgets those no longer fetched (paused
    // after an error, or unfollowed), and is answered only about partitions that changed.
    // This runs once or twice per leader append, over every partition followed from the leader
    // (~20 here, most of them idle offsets partitions): the loop compares numbers and builds
    // nothing for a partition that did not move.
    const epoch = this.sessionEpoch === 0 ? 1 : this.sessionEpoch + 1;
    if (epoch === 1) this.toldLeader.clear();
    const fetchId = ++this.fetchCount;
    const byTopic = new Map<string, v1.FetchPartition[]>();
    const told: ToldLeader[] = [];
    for (const followed of this.partitions.values()) {
      if (followed.pausedUntilMs > nowMs) continue;
      followed.inFetch = fetchId;
      const { partition } = followed;
      const log = partition.log;
      const fetchOffset = log.logEndOffset;
      const lastFetchedEpoch = log.latestEpoch();
      const logStartOffset = log.logStartOffset;
      const before = this.toldLeader.get(partition.key);
      if (before !== undefined && before.fetchOffset === fetchOffset && before.leaderEpoch === followed.leaderEpoch
        && before.lastFetchedEpoch === lastFetchedEpoch && before.logStartOffset === logStartOffset) continue;
      told.push({ topic: partition.topic, partition: partition.partition, fetchOffset, leaderEpoch: followed.leaderEpoch, lastFetchedEpoch, logStartOffset });
      let list = byTopic.get(partition.topic);
      if (!list) byTopic.set(partition.topic, (list = []));
      // int64 fields as numbers (safe integers: the log asserts it); the encoder takes them as they are.
      list.push({
        partition: partition.partition,
        fetchOffset,
        partitionMaxBytes: this.settings.partitionMaxBytes,
        currentLeaderEpoch: followed.leaderEpoch,
        lastFetchedEpoch,
        logStartOffset,
      });
    }
    const forgotten = new Map<string, v1.FetchPartition[]>();
    const forgottenKeys: string[] = [];
    for (const [key, where] of this.toldLeader) {
      if (this.partitions.get(key)?.inFetch === fetchId) continue;
      forgottenKeys.push(key);
      let list = forgotten.get(where.topic);
      if (!list) forgotten.set(where.topic, (list = []));
      list.push({ partition: where.partition });
    }
    const request: v1.FetchRequest = {
      replicaId: this.settings.brokerId,
      replicaEpoch: int64(this.settings.brokerEpoch()),
      maxWaitMs: this.settings.maxWaitMs,
      minBytes: 1,
      maxBytes: this.settings.maxBytes,
      topics: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })),
      sessionEpoch: epoch,
      forgotten: [...forgotten].map(([topic, partitions]) => ({ topic, partitions })),
    };
    let response: v1.FetchResponse__Output;
    try {
      response = await this.session.fetch(request, this.settings.maxWaitMs + this.settings.requestTimeoutMs);
    } catch (error) {
      this.sessionEpoch = 0; // the leader may or may not have taken it: start the session over
      if (!this.stopped) this.settings.log.debug({ leader: this.leaderId, err: error }, "follower fetch failed");
      return false;
    }
    const requestError = errorCodeOf(response.error);
    if (requestError !== "NONE") {
      this.sessionEpoch = 0;
      if (requestError === "INVALID_FETCH_SESSION_EPOCH") return true; // a full fetch next, at once
      this.settings.log.debug({ leader: this.leaderId, code: requestError, message: response.error?.message }, "follower fetch refused");
      return false;
    }
    this.sessionEpoch = epoch;
    for (const entry of told) this.toldLeader.set(partitionKey(entry.topic, entry.partition), entry);
    for (const key of forgottenKeys) this.toldLeader.delete(key);
    for (const topic of response.topics) {
      for (const p of topic.partitions) {
        const followed = this.partitions.get(partitionKey(topic.topic, p.partition));
        // Only partitions this request carried (not one unfollowed and followed again meanwhile),
        // and not when leadership moved while the request was out: then this answer is stale.
        if (!followed || followed.inFetch !== fetchId || followed.partition.leaderEpoch !== followed.leaderEpoch) continue;
        this.handlePartition(followed, p);
      }
    }
    return true;
  }

  private handlePartition(followed: Followed, p: v1.FetchPartitionResponse__Output): void {
    const { partition } = followed;
    const log = partition.log;
    const code = errorCodeOf(p.error);
    const context = { topic: partition.topic, partition: partition.partition, leader: this.leaderId, leaderEpoch: followed.leaderEpoch };
    try {
      if (code === "NONE") {
        const diverging = p.divergingEpoch;
        if (diverging) {
          const target = truncationOffset(
            { epoch: diverging.epoch, endOffset: int64ToNumber(diverging.endOffset) },
            (epoch) => log.endOffsetForEpoch(epoch),
            log.logEndOffset,
            partition.highWatermark,
          );
          this.settings.log.info({ ...context, logEndOffset: log.logEndOffset, divergingEpoch: diverging.epoch, divergingEndOffset: diverging.endOffset, truncateTo: target }, "log diverges from the leader; truncating");
          log.truncateTo(target);
          partition.updateFollowerHighWatermark(int64ToNumber(p.highWatermark));
          return;
        }
        if (p.records.length > 0) {
          log.appendAsFollower(p.records);
          this.settings.onAppended?.(partition);
        }
        partition.updateFollowerHighWatermark(int64ToNumber(p.highWatermark));
        return;
      }
      if (code === "OFFSET_OUT_OF_RANGE") {
        const leaderEnd = int64ToNumber(p.logEndOffset);
        const leaderStart = int64ToNumber(p.logStartOffset);
        if (log.logEndOffset > leaderEnd && leaderEnd >= 0) {
          this.settings.log.warn({ ...context, logEndOffset: log.logEndOffset, leaderEnd }, "ahead of the leader; truncating to its log end");
          log.truncateTo(Math.max(leaderEnd, 0));
        } else if (log.logEndOffset < leaderStart) {
          this.settings.log.warn({ ...context, logEndOffset: log.logEndOffset, leaderStart }, "behind the leader's log start; starting over there");
          log.resetTo(leaderStart);
        }
        return;
      }
      // Epoch or leadership mismatch: the metadata image will say who leads; pause meanwhile.
      this.settings.log.debug({ ...context, code, message: p.error?.message }, "follower fetch partition error");
      followed.pausedUntilMs = Date.now() + this.settings.backoffMs;
    } catch (error) {
      this.settings.log.warn({ ...context, err: error }, "follower append failed; refetching");
      followed.pausedUntilMs = Date.now() + this.settings.backoffMs;
    }
  }
}

/** The FollowerFetchers the replica manager drives: one ReplicaFetcher per leader broker. */
export class FetcherManager implements FollowerFetchers {
  private readonly fetchers = new Map<string, ReplicaFetcher>();
  private readonly owner = new Map<string, ReplicaFetcher>();

  constructor(private readonly settings: FetcherSettings) {}

  follow(partition: Partition, leaderId: number): void {
    this.unfollow(partition.key);
    const broker = this.settings.image.brokers.get(leaderId);
    const listener = broker?.listeners[0];
    if (!listener) {
      this.settings.log.warn({ topic: partition.topic, partition: partition.partition, leaderId }, "leader has no endpoint; not fetching");
      return;
    }
    const address = addressOf({ host: listener.host, port: listener.port });
    const id = `${leaderId}@${address}`;
    let fetcher = this.fetchers.get(id);
    if (!fetcher) this.fetchers.set(id, (fetcher = new ReplicaFetcher(leaderId, address, this.settings)));
    fetcher.add(partition);
    this.owner.set(partition.key, fetcher);
  }

  unfollow(key: string): void {
    const fetcher = this.owner.get(key);
    if (!fetcher) return;
    this.owner.delete(key);
    fetcher.remove(key);
    if (fetcher.partitions.size === 0) {
      fetcher.stop();
      for (const [id, f] of this.fetchers) if (f === fetcher) this.fetchers.delete(id);
    }
  }

  stop(): void {
    for (const fetcher of this.fetchers.values()) fetcher.stop();
    this.fetchers.clear();
    this.owner.clear();
  }
}
