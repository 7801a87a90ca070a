// The consumer's fetch loop: one Fetch in flight per leader broker, asking for every partition
// it leads that is assigned, not paused, positioned, and not already holding a full share of
// buffered data. Bytes asked for are reserved against fetchMaxBytes until the answer is in the
// buffer, so buffered + requested never passes it (backpressure: a consumer that stops polling
// stops fetching). Answers for a position that was since moved (seek, revoke) are dropped.
import { int64, int64ToNumber, type v1 } from "@tributary/protocol";
import type { Cluster } from "../cluster.js";
import { TributaryError, asTributaryError, responseErrorOf } from "../errors.js";
import { unary } from "../rpc.js";
import { baseOffsetAt, iterateBatches, lastOffsetDeltaAt } from "@tributary/records";
import type { FetchBuffer } from "./fetch-buffer.js";
import type { PartitionPosition, SubscriptionState } from "./subscription-state.js";
import type { ResolvedConsumerOptions } from "./types.js";

export interface FetcherHooks {
  /** New data is buffered (wake a waiting poll). */
  onData(): void;
  /** Partitions whose positions must be looked up (out of range) — the consumer resolves them. */
  onNeedsLookup(): void;
  /** An error poll() must raise (e.g. a corrupt batch). */
  onError(error: TributaryError): void;
  /** A Fetch call came back (with or without data). */
  onFetchReturned(): void;
}

const RETRY_AFTER_ERROR_MS = 100;

/** Below this much room a fetch is not worth a call (unless a partition's whole share fits). */
const MIN_FETCH_BYTES = 64 * 1024;

export interface FetchBudget {
  fetchMaxBytes: number;
  maxPartitionFetchBytes: number;
  /** Fetched and not yet returned by poll(). */
  bufferedBytes: number;
  /** Asked for by fetches still in flight. */
  reservedBytes: number;
  partitionCount: number;
}

/**
 * How many bytes one Fetch may ask for, so that buffered + in flight never pass fetchMaxBytes;
 * 0 means wait for poll() to make room (backpressure).
 */
export function fetchRequestBytes(budget: FetchBudget): number {
  const room = budget.fetchMaxBytes - budget.bufferedBytes - budget.reservedBytes;
  const wanted = budget.partitionCount * budget.maxPartitionFetchBytes;
  const maxBytes = Math.min(room, wanted);
  return maxBytes < Math.min(budget.maxPartitionFetchBytes, MIN_FETCH_BYTES) ? 0 : maxBytes;
}

export class Fetcher {
  private readonly inFlightByNode = new Set<number>();
  private reservedBytes = 0;
  private wakeScheduled = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private running = false;
  private rotation = 0;

  constructor(
    private readonly cluster: Cluster,
    private readonly subscriptions: SubscriptionState,
    private readonly buffer: FetchBuffer,
    private readonly options: ResolvedConsumerOptions,
    private readonly hooks: FetcherHooks,
  ) {}

  start(): void {
    this.running = true;
    this.wakeup();
  }

  stop(): void {
    this.running = false;
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  get bytesReserved(): number {
    return this.reservedBytes;
  }

  wakeup(): void {
    if (this.wakeScheduled || !this.running) return;
    this.wakeScheduled = true;
    setImmediate(() => {
      this.wakeScheduled = false;
      this.fetchAll();
    });
  }

  private retryLater(): void {
    if (this.retryTimer !== undefined || !this.running) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.wakeup();
    }, RETRY_AFTER_ERROR_MS);
  }

  private fetchAll(): void {
    if (!this.running) return;
    const byNode = new Map<number, PartitionPosition[]>();
    let unknownLeader = false;
    // A broker fills a response partition by partition in request order; rotating the order
    // keeps a size-limited response from always favouring the same partitions.
    const fetchable = this.subscriptions.fetchable();
    const start = fetchable.length === 0 ? 0 : this.rotation++ % fetchable.length;
    for (const state of [...fetchable.slice(start), ...fetchable.slice(0, start)]) {
      if (this.buffer.partitionBytes(state.key) >= this.options.maxPartitionFetchBytes) continue;
      const leader = this.cluster.leaderFor(state.topic, state.partition);
      if (leader === undefined) {
        unknownLeader = true;
        this.cluster.metadata.markStale(state.topic);
        continue;
      }
      if (this.inFlightByNode.has(leader.nodeId)) continue;
      const list = byNode.get(leader.nodeId);
      if (list === undefined) byNode.set(leader.nodeId, [state]);
      else list.push(state);
    }
    if (unknownLeader) {
      this.cluster.refreshMetadata().then(
        () => this.wakeup(),
        () => this.retryLater(),
      );
    }
    for (const [nodeId, partitions] of byNode) this.fetchFrom(nodeId, partitions);
  }

  private fetchFrom(nodeId: number, partitions: PartitionPosition[]): void {
    const node = this.cluster.metadata.broker(nodeId);
    if (node === undefined) return;
    const maxBytes = fetchRequestBytes({
      fetchMaxBytes: this.options.fetchMaxBytes,
      maxPartitionFetchBytes: this.options.maxPartitionFetchBytes,
      bufferedBytes: this.buffer.bufferedBytes,
      reservedBytes: this.reservedBytes,
      partitionCount: partitions.length,
    });
    if (maxBytes === 0) return; // poll() frees space and wakes the fetcher
    const partitionMaxBytes = Math.min(this.options.maxPartitionFetchBytes, maxBytes);
    const byTopic = new Map<string, v1.FetchPartition[]>();
    const epochs = new Map<string, number>();
    for (const state of partitions) {
      state.fetching = true;
      epochs.set(state.key, state.positionEpoch);
      const list = byTopic.get(state.topic) ?? [];
      list.push({ partition: state.partition, fetchOffset: int64(state.fetchOffset!), partitionMaxBytes, currentLeaderEpoch: -1, lastFetchedEpoch: -1, logStartOffset: "-1" });
      byTopic.set(state.topic, list);
    }
    const request: v1.FetchRequest = {
      replicaId: -1,
      replicaEpoch: "-1",
      maxWaitMs: this.options.fetchMaxWaitMs,
      minBytes: this.options.fetchMinBytes,
      maxBytes,
      topics: [...byTopic].map(([topic, ps]) => ({ topic, partitions: ps })),
      isolationLevel: 0,
      rackId: "",
    };
    this.inFlightByNode.add(nodeId);
    this.reservedBytes += maxBytes;
    const stubs = this.cluster.stubs(node.address);
    unary<v1.FetchResponse__Output>((o, cb) => stubs.broker.Fetch(request, o, cb), this.options.fetchMaxWaitMs + this.options.requestTimeoutMs, `Fetch from broker ${nodeId}`)
      .then(
        (response) => this.onResponse(partitions, epochs, response),
        (error: unknown) => {
          const typed = asTributaryError(error);
          for (const state of partitions) this.cluster.metadata.markStale(state.topic);
          if (!typed.retriable) this.hooks.onError(typed);
          this.cluster.refreshMetadata().catch(() => undefined);
          this.retryLater();
        },
      )
      .finally(() => {
        for (const state of partitions) state.fetching = false;
        this.inFlightByNode.delete(nodeId);
        this.reservedBytes -= maxBytes;
        this.hooks.onFetchReturned();
        this.wakeup();
      });
  }

  private onResponse(partitions: PartitionPosition[], epochs: Map<string, number>, response: v1.FetchResponse__Output): void {
    const whole = responseErrorOf(response.error, "Fetch");
    if (whole !== null) {
      if (!whole.retriable) this.hooks.onError(whole);
      this.retryLater();
      return;
    }
    const byKey = new Map(partitions.map((s) => [s.key, s]));
    let gotData = false;
    let needsLookup = false;
    for (const topic of response.topics) {
      for (const p of topic.partitions) {
        const state = byKey.get(`${topic.topic}\u0000${p.partition}`);
        // Seeked, reset or revoked since the request went out: this answer is for an old position.
        if (state === undefined || this.subscriptions.get(state.key) !== state || epochs.get(state.key) !== state.positionEpoch) continue;
        const error = responseErrorOf(p.error, `Fetch ${topic.topic}-${p.partition}`);
        if (error !== null) {
          if (error.code === "OFFSET_OUT_OF_RANGE") {
            this.subscriptions.requestLookup(state.key, this.subscriptions.resetSource());
            needsLookup = true;
          } else if (error.retriable) {
            if (p.currentLeader !== null && p.currentLeader.nodeId >= 0) this.cluster.metadata.applyLeaderHint(topic.topic, p.partition, p.currentLeader);
            else this.cluster.metadata.markStale(topic.topic);
            this.cluster.refreshMetadata().catch(() => undefined);
            this.retryLater();
          } else {
            this.hooks.onError(error);
          }
          continue;
        }
        state.highWatermark = int64ToNumber(p.highWatermark);
        state.logStartOffset = int64ToNumber(p.logStartOffset);
        if (p.records.length === 0) continue;
        try {
          const before = this.buffer.partitionBytes(state.key);
          this.buffer.add(state.key, p.records);
          if (this.buffer.partitionBytes(state.key) > before) {
            state.fetchOffset = nextFetchOffset(p.records, state.fetchOffset!);
            gotData = true;
          }
        } catch (thrown) {
          this.hooks.onError(asTributaryError(thrown));
        }
      }
    }
    if (needsLookup) this.hooks.onNeedsLookup();
    if (gotData) this.hooks.onData();
  }
}

/** The offset after the last whole batch in `records`. */
function nextFetchOffset(records: Buffer, current: number): number {
  let next = current;
  for (const { pos } of iterateBatches(records)) {
    const end = baseOffsetAt(records, pos) + lastOffsetDeltaAt(records, pos) + 1;
    if (end > next) next = end;
  }
  return next;
}
