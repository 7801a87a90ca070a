// The consumer's fetch loop: each partition that is assigned, not paused, positioned, not
// already being fetched, and not holding a full share of buffered data is asked of its leader;
// the partitions a broker leads that are ready at the same moment share one Fetch. A partition
// is in at most one Fetch at a time, but a broker may have several in flight: partitions drained
// at different paces (small polls) become ready one by one, and when each had to wait for the
// Fetch of its neighbour to come back, a broker served one partition at a time (1 KiB records
// with maxPollRecords 1,000 were read at ~300,000/s instead of ~500,000/s). Bytes asked for are
// reserved against fetchMaxBytes until the answer is in the buffer, so buffered + requested
// never passes it (backpressure: a consumer that stops polling stops fetching). Answers for a
// position that was since moved (seek, revoke) are dropped.
//
// Leaders change under it (kill -9, a stalled broker, controlled shutdown, preferred-leader
// election), so it never trusts one broker for long:
//   - each partition is asked with the leader epoch the client knows, so a deposed leader
//     answers FENCED/UNKNOWN_LEADER_EPOCH instead of serving an old view of the log;
//   - a partition error or a failed call marks the topic's metadata stale, asks for a refresh,
//     and holds that broker (or partition) back for a growing backoff, never in a tight loop;
//   - a call that outlives max wait by OVERDUE_AFTER_MS is suspect (a SIGSTOPped broker keeps
//     its connections open and silent): metadata is refreshed while it lasts, and a partition
//     whose leader moved is released from it and fetched from the new leader at once;
//   - every call is settled by its own deadline, whatever the transport does;
//   - one broker's trouble never holds back partitions led by the others.
import { EarliestTimer, int64ToNumber, type v1 } from "@tributary/protocol";
import type { Cluster } from "../cluster.js";
import { TributaryError, asTributaryError, errorFor, responseErrorOf } from "../errors.js";
import { backoffDelayMs } from "../retry.js";
import { sessionRequest } from "../rpc.js";
import { baseOffsetAt, iterateBatches, lastOffsetDeltaAt, youngArray } from "@tributary/records";
import type { FetchBuffer } from "./fetch-buffer.js";
import { FetchBackoff } from "./fetch-backoff.js";
import { fetchErrorAction } from "./fetch-errors.js";
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

/** A call still unanswered this long after its max wait is suspect: refresh metadata while it lasts. */
const OVERDUE_AFTER_MS = 1_000;
/** The fetcher's own deadline runs this much after the call's, in case the transport never settles it. */
const DEADLINE_SLACK_MS = 1_000;

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

// A Fetch is made per answer (at low rates, per record), so its objects are class instances and
// youngArray()s, not literals: a literal's site that V8 saw survive a large prefetch would go on
// allocating in the old generation (see @tributary/records young.ts).

/** One Fetch call in flight. */
class Flight {
  /** Each partition's positionEpoch when asked: an answer for an older position is dropped. */
  readonly positionEpochs = new Map<string, number>();
  /** Each partition's fetch offset as asked. */
  readonly fetchOffsets = new Map<string, number>();
  settled = false;
  overdueChecks = 0;
  /** Date.now() at which the call counts as overdue (again). */
  overdueAtMs = Infinity;
  /** Date.now() at which the call has failed for want of an answer. */
  deadlineAtMs = Infinity;

  constructor(
    readonly id: number,
    readonly nodeId: number,
    readonly address: string,
    readonly partitions: PartitionPosition[],
    readonly maxBytes: number,
  ) {}
}

/**
 * One partition of a Fetch request. Its int64 fields are numbers (fetch offsets are safe
 * integers here), not decimal strings the encoder would parse back with Long.fromString.
 */
class PartitionFetch implements v1.FetchPartition {
  readonly lastFetchedEpoch = -1;
  readonly logStartOffset = -1;
  constructor(
    readonly partition: number,
    readonly fetchOffset: number,
    readonly partitionMaxBytes: number,
    /** The epoch the client believes current (a deposed leader answers FENCED instead of serving). */
    readonly currentLeaderEpoch: number,
  ) {}
}

class TopicFetch implements v1.FetchTopic {
  constructor(
    readonly topic: string,
    readonly partitions: v1.FetchPartition[],
  ) {}
}

class ConsumerFetchRequest implements v1.FetchRequest {
  readonly replicaId = -1;
  readonly replicaEpoch = -1;
  readonly isolationLevel = 0;
  readonly rackId = "";
  constructor(
    readonly maxWaitMs: number,
    readonly minBytes: number,
    readonly maxBytes: number,
    readonly topics: v1.FetchTopic[],
  ) {}
}

const nodeKey = (nodeId: number): string => `node:${nodeId}`;

export class Fetcher {
  private readonly flights = new Map<number, Flight>();
  private nextFlightId = 1;
  private reservedBytes = 0;
  private wakeScheduled = false;
  /** Wakes the fetcher when a backoff ends (the earliest of the times asked for wins). */
  private readonly wakeTimer = new EarliestTimer(Date.now, () => this.wakeup(), { keepsProcessAlive: true });
  /** One timer watches every flight's overdue check and deadline (Date.now() ms). */
  private readonly watchdog = new EarliestTimer(Date.now, () => this.onWatchdog());
  private running = false;
  private rotation = 0;
  private readonly backoff: FetchBackoff;

  constructor(
    private readonly cluster: Cluster,
    private readonly subscriptions: SubscriptionState,
    private readonly buffer: FetchBuffer,
    private readonly options: ResolvedConsumerOptions,
    private readonly hooks: FetcherHooks,
  ) {
    this.backoff = new FetchBackoff(cluster.options.backoff);
  }

  start(): void {
    this.running = true;
    this.wakeup();
  }

  stop(): void {
    this.running = false;
    this.wakeTimer.disarm();
    for (const flight of [...this.flights.values()]) this.settle(flight);
    this.watchdog.disarm();
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

  /**
   * Sends at once the fetches there is now room for; poll() calls it as it hands out records,
   * so the next Fetch leaves as soon as there is room for its answer rather than a turn of the
   * event loop later (Kafka's consumer, too, sends its fetches from inside poll()).
   */
  fetchNow(): void {
    this.fetchAll();
  }

  /** Wakes the fetcher at `atMs` (the earliest of the times asked for wins). */
  private wakeAt(atMs: number): void {
    if (this.running) this.wakeTimer.armAt(atMs);
  }

  /** Refreshes metadata (shared with every other caller) and looks again once it is in. */
  private refreshThenWake(): void {
    this.cluster.refreshMetadata().then(
      () => this.wakeup(),
      () => this.wakeAt(Date.now() + this.cluster.options.backoff.initialBackoffMs),
    );
  }

  private fetchAll(): void {
    if (!this.running) return;
    const nowMs = Date.now();
    this.releaseMovedPartitions();
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
      const blockedUntilMs = Math.max(this.backoff.blockedUntil(nodeKey(leader.nodeId), leader.nodeId, nowMs), this.backoff.blockedUntil(state.key, leader.nodeId, nowMs));
      if (blockedUntilMs > 0) {
        this.wakeAt(blockedUntilMs);
        continue;
      }
      let list = byNode.get(leader.nodeId);
      if (list === undefined) byNode.set(leader.nodeId, (list = youngArray()));
      list.push(state);
    }
    if (unknownLeader) this.refreshThenWake();
    for (const [nodeId, partitions] of byNode) this.fetchFrom(nodeId, partitions);
  }

  /**
   * A partition asked of a broker that no longer leads it (the metadata moved on while the call
   * hangs, e.g. on a stopped broker) is released from that call, to be asked of its new leader.
   */
  private releaseMovedPartitions(): void {
    for (const state of this.subscriptions.assigned()) {
      if (state.inFlightFetchId === 0) continue;
      const flight = this.flights.get(state.inFlightFetchId);
      const leader = this.cluster.leaderFor(state.topic, state.partition);
      if (flight === undefined || (leader !== undefined && leader.nodeId !== flight.nodeId)) {
        if (flight !== undefined) this.cluster.options.logger.debug({ topic: state.topic, partition: state.partition, from: flight.nodeId, to: leader?.nodeId }, "partition moved while its fetch was in flight; asking the new leader");
        state.inFlightFetchId = 0;
      }
    }
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
    const flight = new Flight(this.nextFlightId++, nodeId, node.address, partitions, maxBytes);
    const byTopic = new Map<string, v1.FetchPartition[]>();
    for (const state of partitions) {
      const fetchOffset = state.fetchOffset!;
      state.inFlightFetchId = flight.id;
      flight.positionEpochs.set(state.key, state.positionEpoch);
      flight.fetchOffsets.set(state.key, fetchOffset);
      // The epoch the client believes current: a broker that has since lost (or not yet won)
      // the leadership answers FENCED / UNKNOWN_LEADER_EPOCH instead of serving its log.
      const currentLeaderEpoch = this.cluster.metadata.partition(state.topic, state.partition)?.leaderEpoch ?? -1;
      let list = byTopic.get(state.topic);
      if (list === undefined) byTopic.set(state.topic, (list = youngArray()));
      list.push(new PartitionFetch(state.partition, fetchOffset, partitionMaxBytes, currentLeaderEpoch));
    }
    const topics = youngArray<v1.FetchTopic>();
    for (const [topic, topicPartitions] of byTopic) topics.push(new TopicFetch(topic, topicPartitions));
    const request = new ConsumerFetchRequest(this.options.fetchMaxWaitMs, this.options.fetchMinBytes, maxBytes, topics);
    this.flights.set(flight.id, flight);
    this.reservedBytes += maxBytes;
    this.armTimers(flight);
    const stubs = this.cluster.stubs(node.address);
    sessionRequest(() => stubs.fetchSession.fetch(request, this.options.fetchMaxWaitMs + this.options.requestTimeoutMs), `Fetch from broker ${nodeId}`)
      .then(
        (response) => this.onAnswer(flight, response),
        (error: unknown) => this.onFailure(flight, error),
      );
  }

  private armTimers(flight: Flight): void {
    const nowMs = Date.now();
    flight.deadlineAtMs = nowMs + this.options.fetchMaxWaitMs + this.options.requestTimeoutMs + DEADLINE_SLACK_MS;
    flight.overdueAtMs = nowMs + this.options.fetchMaxWaitMs + OVERDUE_AFTER_MS;
    this.armWatchdog(Math.min(flight.overdueAtMs, flight.deadlineAtMs));
  }

  private armWatchdog(atMs: number): void {
    if (this.running) this.watchdog.armAt(atMs);
  }

  private onWatchdog(): void {
    const nowMs = Date.now();
    const callDeadlineMs = this.options.fetchMaxWaitMs + this.options.requestTimeoutMs;
    for (const flight of [...this.flights.values()]) {
      if (flight.settled) continue;
      if (nowMs >= flight.deadlineAtMs) {
        this.onFailure(flight, errorFor("REQUEST_TIMED_OUT", `Fetch from broker ${flight.nodeId}: no answer within ${callDeadlineMs} ms`));
      } else if (nowMs >= flight.overdueAtMs) {
        this.onOverdue(flight);
      }
    }
    let earliestMs = Infinity;
    for (const flight of this.flights.values()) {
      if (!flight.settled) earliestMs = Math.min(earliestMs, flight.overdueAtMs, flight.deadlineAtMs);
    }
    if (earliestMs < Infinity) this.armWatchdog(earliestMs);
  }

  /** The broker should have answered by max wait: it may be stalled, and its partitions may have moved. */
  private onOverdue(flight: Flight): void {
    if (flight.settled) return;
    flight.overdueChecks++;
    this.cluster.noteUnreachable(flight.address);
    for (const state of flight.partitions) if (state.inFlightFetchId === flight.id) this.cluster.metadata.markStale(state.topic);
    if (flight.overdueChecks === 1) this.cluster.options.logger.debug({ broker: flight.nodeId, waitedMs: this.options.fetchMaxWaitMs + OVERDUE_AFTER_MS }, "fetch overdue; refreshing metadata while it lasts");
    this.refreshThenWake();
    flight.overdueAtMs = Date.now() + backoffDelayMs(this.cluster.options.backoff, flight.overdueChecks);
  }

  /**
   * Ends the flight's bookkeeping once (its answer, its failure or its deadline, whichever comes
   * first) and returns the partitions it still owned; undefined if it had ended already.
   */
  private settle(flight: Flight): PartitionPosition[] | undefined {
    if (flight.settled) return undefined;
    flight.settled = true;
    this.flights.delete(flight.id);
    this.reservedBytes -= flight.maxBytes;
    const owned = flight.partitions.filter((s) => s.inFlightFetchId === flight.id && this.subscriptions.get(s.key) === s);
    for (const state of flight.partitions) if (state.inFlightFetchId === flight.id) state.inFlightFetchId = 0;
    return owned;
  }

  private afterFlight(): void {
    this.hooks.onFetchReturned();
    this.wakeup();
  }

  private onFailure(flight: Flight, error: unknown): void {
    const owned = this.settle(flight);
    if (owned === undefined) return;
    const typed = asTributaryError(error);
    const retryAtMs = this.backoff.fail(nodeKey(flight.nodeId), flight.nodeId, Date.now());
    if (typed.code === "NETWORK_EXCEPTION" || typed.code === "REQUEST_TIMED_OUT" || typed.code === "BROKER_SHUTTING_DOWN") this.cluster.noteUnreachable(flight.address);
    this.cluster.options.logger.debug({ broker: flight.nodeId, code: typed.code, error: typed.message, retryInMs: retryAtMs - Date.now() }, "fetch failed; refreshing metadata");
    for (const state of owned) this.cluster.metadata.markStale(state.topic);
    if (!typed.retriable) this.hooks.onError(typed);
    this.refreshThenWake();
    this.wakeAt(retryAtMs);
    this.afterFlight();
  }

  private onAnswer(flight: Flight, response: v1.FetchResponse__Output): void {
    const owned = this.settle(flight);
    if (owned === undefined) return;
    try {
      this.cluster.noteReachable(flight.address);
      const whole = responseErrorOf(response.error, `Fetch from broker ${flight.nodeId}`);
      if (whole !== null) {
        if (!whole.retriable) this.hooks.onError(whole);
        this.wakeAt(this.backoff.fail(nodeKey(flight.nodeId), flight.nodeId, Date.now()));
        return;
      }
      this.backoff.succeed(nodeKey(flight.nodeId));
      this.onPartitions(flight, owned, response);
    } finally {
      this.afterFlight();
    }
  }

  private onPartitions(flight: Flight, owned: PartitionPosition[], response: v1.FetchResponse__Output): void {
    const byKey = new Map(owned.map((s) => [s.key, s]));
    let gotData = false;
    let needsLookup = false;
    let needsMetadata = false;
    for (const topic of response.topics) {
      for (const p of topic.partitions) {
        const state = byKey.get(`${topic.topic}\u0000${p.partition}`);
        // Seeked, reset or revoked since the request went out: this answer is for an old position.
        if (state === undefined || flight.positionEpochs.get(state.key) !== state.positionEpoch) continue;
        const error = responseErrorOf(p.error, `Fetch ${topic.topic}-${p.partition} from broker ${flight.nodeId}`);
        if (error !== null) {
          const outcome = this.onPartitionError(flight, state, p, error);
          needsLookup ||= outcome === "lookup";
          needsMetadata ||= outcome === "metadata";
          continue;
        }
        this.backoff.succeed(state.key);
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
    if (needsMetadata) this.refreshThenWake();
    if (needsLookup) this.hooks.onNeedsLookup();
    if (gotData) this.hooks.onData();
  }

  /** Acts on one partition's error; says whether metadata or a position lookup is needed. */
  private onPartitionError(flight: Flight, state: PartitionPosition, p: v1.FetchPartitionResponse__Output, error: TributaryError): "metadata" | "lookup" | "none" {
    const fetchOffset = flight.fetchOffsets.get(state.key)!;
    const action = fetchErrorAction({
      code: error.code,
      retriable: error.retriable,
      fetchOffset,
      logStartOffset: safeOffset(p.logStartOffset),
      logEndOffset: safeOffset(p.logEndOffset),
    });
    const log = this.cluster.options.logger;
    switch (action.kind) {
      case "find-leader": {
        const hint = p.currentLeader;
        if (hint !== null && hint.nodeId >= 0) this.cluster.metadata.applyLeaderHint(state.topic, state.partition, hint);
        this.cluster.metadata.markStale(state.topic);
        this.wakeAt(this.backoff.fail(state.key, flight.nodeId, Date.now()));
        log.debug({ topic: state.topic, partition: state.partition, broker: flight.nodeId, code: error.code, hint: hint?.nodeId, hintEpoch: hint?.leaderEpoch }, "partition's leader moved; refreshing metadata");
        return "metadata";
      }
      case "retry":
        this.wakeAt(this.backoff.fail(state.key, flight.nodeId, Date.now()));
        return "none";
      case "truncated": {
        const position = state.position ?? fetchOffset;
        const resumeAt = Math.min(position, action.logEndOffset);
        if (this.subscriptions.resetSource() === "none") {
          this.subscriptions.requestLookup(state.key, "none");
          return "lookup";
        }
        log.warn({ topic: state.topic, partition: state.partition, broker: flight.nodeId, fetchOffset, position, logEndOffset: action.logEndOffset }, "the log ends before the consumer's position (truncated by an unclean election); resuming at its end");
        this.subscriptions.seek(state.key, resumeAt);
        this.buffer.clear(state.key);
        return "none";
      }
      case "reset":
        this.subscriptions.requestLookup(state.key, this.subscriptions.resetSource());
        return "lookup";
      case "raise":
        this.hooks.onError(error);
        return "none";
    }
  }
}

function safeOffset(value: string): number {
  try {
    return int64ToNumber(value);
  } catch {
    return -1;
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
