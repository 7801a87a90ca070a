// The Consumer: subscribe() (a group, server-side assignment) or assign() (no group), poll()
// and `for await`, commits, positions, seeks, pause/resume and lag. Fetching runs in the
// background (fetcher.ts) into a bounded buffer (fetch-buffer.ts); group membership runs on its
// own heartbeat timer (group-member.ts). Rebalances are events for the listener, never
// exceptions from poll(); errors that are the caller's to handle (no offset and reset "none",
// a corrupt batch, a fatal group error) are raised by the next poll().
import { setImmediate as nextEventLoopTurn } from "node:timers/promises";
import { youngArray } from "@tributary/records";
import type { Cluster } from "../cluster.js";
import { IllegalStateError, type TributaryError, asTributaryError } from "../errors.js";
import { type ConsumerEvent, ConsumerEvents } from "./consumer-events.js";
import { FetchBuffer } from "./fetch-buffer.js";
import { Fetcher } from "./fetcher.js";
import { GroupMember } from "./group-member.js";
import { Membership } from "./membership.js";
import { type CommittedOffset, CoordinatorLocator, OffsetClient } from "./offsets.js";
import { PolledRecord } from "./polled-record.js";
import { PositionLookup } from "./position-lookup.js";
import { SubscriptionState } from "./subscription-state.js";
import {
  type ConsumerOptions,
  type ConsumerRecord,
  type ResolvedConsumerOptions,
  type TopicPartition,
  resolveConsumerOptions,
  tpKey,
  tpOfKey,
} from "./types.js";

export interface OffsetAndMetadata {
  offset: bigint;
  metadata?: string;
}

export type CommitCallback = (error: Error | null) => void;

export type { ConsumerEvent };

export interface PartitionLag {
  topic: string;
  partition: number;
  position: bigint | null;
  highWatermark: bigint | null;
  /** highWatermark - position, or null until both are known. */
  lag: bigint | null;
}

export class Consumer<K, V> implements AsyncIterable<ConsumerRecord<K, V>> {
  private readonly options: ResolvedConsumerOptions;
  private readonly subscriptions: SubscriptionState;
  private readonly buffer = new FetchBuffer();
  private readonly fetcher: Fetcher;
  private readonly offsets: OffsetClient;
  private readonly locator: CoordinatorLocator | undefined;
  private member: GroupMember | undefined;
  private readonly events: ConsumerEvents;
  private readonly lookup: PositionLookup;
  private dataWaiters = youngArray<() => void>();
  private pendingErrors: TributaryError[] = [];
  private lastPollMs = Date.now();
  /** The last poll() handed out records and left some buffered; the event loop may not have run since (see poll). */
  private yieldBeforeNextTake = false;
  private lastAutoCommitMs = Date.now();
  private closed = false;
  /** Until a first Fetch has come back, poll() waits for it (see poll()). */
  private firstFetchReturned = false;
  private firstFetchWaiters = youngArray<() => void>();
  private inFlightCommits = new Set<Promise<void>>();

  constructor(
    private readonly cluster: Cluster,
    private readonly userOptions: ConsumerOptions<K, V>,
  ) {
    this.options = resolveConsumerOptions(userOptions as ConsumerOptions<unknown, unknown>);
    this.subscriptions = new SubscriptionState(this.options.autoOffsetReset);
    this.offsets = new OffsetClient(cluster, this.options.requestTimeoutMs);
    this.locator = this.options.groupId === undefined ? undefined : new CoordinatorLocator(cluster, this.options.groupId);
    this.events = new ConsumerEvents(userOptions.rebalanceListener);
    this.lookup = new PositionLookup(this.subscriptions, this.offsets, this.locator, {
      onError: (error) => {
        this.pendingErrors.push(error);
        this.wakePollers();
      },
      onDone: () => this.fetcher.wakeup(),
    });
    this.fetcher = new Fetcher(cluster, this.subscriptions, this.buffer, this.options, {
      onData: () => this.wakePollers(),
      onNeedsLookup: () => void this.resolvePositions(),
      onFetchReturned: () => {
        this.firstFetchReturned = true;
        const waiters = this.firstFetchWaiters;
        this.firstFetchWaiters = youngArray();
        for (const resolve of waiters) resolve();
      },
      onError: (error) => {
        this.pendingErrors.push(error);
        this.wakePollers();
      },
    });
  }

  // ---- events -------------------------------------------------------------------------------

  on(event: "partitionsAssigned" | "partitionsRevoked" | "partitionsLost", listener: (partitions: TopicPartition[]) => void): this;
  on(event: "error", listener: (error: Error) => void): this;
  on(event: ConsumerEvent, listener: ((p: TopicPartition[]) => void) | ((e: Error) => void)): this {
    this.events.add(event, listener as (payload: TopicPartition[] | Error) => void);
    return this;
  }

  off(event: ConsumerEvent, listener: ((p: TopicPartition[]) => void) | ((e: Error) => void)): this {
    this.events.remove(event, listener as (payload: TopicPartition[] | Error) => void);
    return this;
  }

  // ---- subscription -------------------------------------------------------------------------

  /** Joins the group with these topics; partitions come from the coordinator. */
  async subscribe(topics: string[]): Promise<void> {
    this.assertOpen();
    if (this.locator === undefined) throw new IllegalStateError("subscribe() needs a groupId; use assign() without a group");
    if (this.subscriptions.mode === "assign") throw new IllegalStateError("this consumer uses assign(); it cannot also subscribe()");
    if (topics.length === 0) throw new RangeError("subscribe() needs at least one topic; use unsubscribe() to leave");
    this.subscriptions.mode = "subscribe";
    this.subscriptions.subscribedTopics = [...topics];
    this.cluster.track(topics);
    if (this.member === undefined) {
      const membership = new Membership({
        groupId: this.locator.groupId,
        clientId: this.cluster.options.clientId,
        rebalanceTimeoutMs: this.options.maxPollIntervalMs,
        sessionTimeoutMs: this.options.sessionTimeoutMs,
        serverAssignor: this.options.groupRemoteAssignor,
      });
      this.member = new GroupMember(
        this.cluster,
        this.locator,
        membership,
        { requestTimeoutMs: this.options.requestTimeoutMs, maxPollIntervalMs: this.options.maxPollIntervalMs, heartbeatIntervalMs: this.options.heartbeatIntervalMs },
        {
          revoke: (partitions) => this.onRevoke(partitions),
          assign: (partitions) => this.onAssign(partitions),
          lose: (partitions) => this.onLose(partitions),
          onFatal: (error) => {
            this.pendingErrors.push(error);
            this.wakePollers();
          },
          lastPollMs: () => this.lastPollMs,
        },
      );
      membership.subscribe(topics);
      this.lastPollMs = Date.now();
      this.member.start();
      this.fetcher.start();
    } else {
      this.member.membership.subscribe(topics);
      this.member.heartbeatSoon(0);
    }
  }

  /** Takes these partitions without a group (positions from committed offsets when a groupId is set, else the reset policy). */
  assign(partitions: TopicPartition[]): void {
    this.assertOpen();
    if (this.subscriptions.mode === "subscribe") throw new IllegalStateError("this consumer uses subscribe(); it cannot also assign()");
    this.subscriptions.mode = "assign";
    const wanted = new Set(partitions.map((p) => tpKey(p.topic, p.partition)));
    const dropped = this.subscriptions.assignedPartitions().filter((p) => !wanted.has(tpKey(p.topic, p.partition)));
    this.subscriptions.remove(dropped);
    for (const p of dropped) this.buffer.clear(tpKey(p.topic, p.partition));
    this.cluster.track(partitions.map((p) => p.topic));
    this.subscriptions.add(partitions, this.locator === undefined ? this.subscriptions.resetSource() : "committed");
    this.fetcher.start();
    void this.resolvePositions();
  }

  /** Leaves the group (or drops the assignment); the consumer may subscribe or assign again. */
  async unsubscribe(): Promise<void> {
    if (this.member !== undefined) {
      const owned = this.subscriptions.assignedPartitions();
      await this.onRevoke(owned);
      await this.member.leave();
      this.member.stop();
      this.member = undefined;
    }
    this.subscriptions.clear();
    for (const key of this.buffer.keys()) this.buffer.clear(key);
    this.subscriptions.mode = "none";
  }

  assignment(): TopicPartition[] {
    return this.subscriptions.assignedPartitions();
  }

  /** The group's member id and epoch (empty/0 without a group or before joining). */
  groupMetadata(): { groupId: string | undefined; memberId: string; memberEpoch: number } {
    return { groupId: this.options.groupId, memberId: this.member?.membership.memberId ?? "", memberEpoch: this.member?.membership.memberEpoch ?? 0 };
  }

  private async onRevoke(partitions: TopicPartition[]): Promise<void> {
    const owned = partitions.filter((p) => this.subscriptions.has(p.topic, p.partition));
    for (const p of owned) {
      const state = this.subscriptions.get(tpKey(p.topic, p.partition));
      if (state !== undefined) state.revoking = true;
    }
    if (this.options.enableAutoCommit && owned.length > 0) {
      try {
        await this.commitPositions(this.subscriptions.positionsToCommit(owned));
      } catch (error) {
        this.events.reportError(error);
      }
    }
    await this.events.rebalance("onPartitionsRevoked", "partitionsRevoked", owned);
    this.subscriptions.remove(owned);
    for (const p of owned) this.buffer.clear(tpKey(p.topic, p.partition));
  }

  private async onAssign(partitions: TopicPartition[]): Promise<void> {
    this.subscriptions.add(partitions, "committed");
    this.cluster.track(partitions.map((p) => p.topic));
    await this.resolvePositions();
    await this.events.rebalance("onPartitionsAssigned", "partitionsAssigned", partitions);
    this.fetcher.wakeup();
  }

  private async onLose(partitions: TopicPartition[]): Promise<void> {
    const owned = partitions.filter((p) => this.subscriptions.has(p.topic, p.partition));
    this.subscriptions.remove(owned);
    for (const p of owned) this.buffer.clear(tpKey(p.topic, p.partition));
    if (owned.length > 0) await this.events.rebalance("onPartitionsLost", "partitionsLost", owned);
  }

  private resolvePositions(): Promise<void> {
    return this.lookup.resolve();
  }

  // ---- poll ---------------------------------------------------------------------------------

  /**
   * Returns up to maxPollRecords records, waiting up to `timeoutMs` for some. Right after
   * subscribe(), it first waits for the group's first assignment, the positions of its
   * partitions and the first Fetch answer (as Kafka's poll(long) waited for the join), for at
   * most max(timeoutMs, requestTimeoutMs), so a loop that stops at the first empty poll (the
   * seed's KafkaExample) sees the records already in the topic.
   */
  async poll(timeoutMs: number): Promise<ConsumerRecord<K, V>[]> {
    this.assertOpen();
    this.lastPollMs = Date.now();
    this.raisePendingError();
    const member = this.member;
    if (member !== undefined) {
      if (member.leftForPollTimeout) member.rejoin(this.subscriptions.subscribedTopics);
      if (!member.assignmentReceived) await member.waitForAssignment(Math.max(timeoutMs, this.options.requestTimeoutMs));
      const lookup = this.lookup.inProgress;
      if (lookup !== undefined) await lookup;
      if (!this.firstFetchReturned && this.subscriptions.assigned().length > 0) await this.waitForFirstFetch(Math.max(timeoutMs, this.options.requestTimeoutMs));
    }
    this.maybeAutoCommit();
    // A loop that polls while records are buffered gets each answer at once, as a resolved
    // promise, and never lets the event loop run: sockets go unread (so the brokers stall on
    // full socket buffers and the next answers arrive only once the buffer has run dry) and
    // timers wait. One turn of the event loop before taking more records keeps both going.
    if (this.yieldBeforeNextTake) {
      this.yieldBeforeNextTake = false;
      await nextEventLoopTurn();
      this.raisePendingError();
    }
    const deadlineMs = Date.now() + Math.max(0, timeoutMs);
    for (;;) {
      this.raisePendingError();
      const records = this.take();
      if (records.length > 0 || this.closed) return records;
      const remainingMs = deadlineMs - Date.now();
      if (remainingMs <= 0) return records;
      await this.waitForData(remainingMs);
    }
  }

  private raisePendingError(): void {
    const error = this.pendingErrors.shift();
    if (error !== undefined) throw error;
  }

  private take(): ConsumerRecord<K, V>[] {
    let taken;
    try {
      taken = this.buffer.drain(
        this.options.maxPollRecords,
        (key) => this.subscriptions.isReturnable(key),
        (key) => this.subscriptions.get(key)?.position ?? 0,
      );
    } catch (error) {
      throw asTributaryError(error);
    }
    if (taken.length === 0) return [];
    // Only while records are left: otherwise the next poll() waits for an answer anyway, and a
    // consumer keeping up with a trickle (end-to-end latency) pays no extra turn per poll.
    this.yieldBeforeNextTake = this.buffer.bufferedBytes > 0;
    this.fetcher.fetchNow();
    // Per-poll and per-record objects are born young whatever came before (polled-record.ts).
    const out = youngArray<ConsumerRecord<K, V>>();
    const { keyDeserializer, valueDeserializer } = this.userOptions;
    for (const { key, records, nextPosition } of taken) {
      const state = this.subscriptions.get(key)!;
      const { topic, partition } = state;
      // Keys, values and header values are views into the fetched bytes, which are never
      // reused: no copy per record (bytes deserializers hand the view to the caller).
      for (const r of records) {
        out.push(new PolledRecord(topic, partition, BigInt(r.offset), keyDeserializer.deserialize(r.key, topic), valueDeserializer.deserialize(r.value, topic), r.timestampMs, r.headers));
      }
      // A partition's position only moves forward between seeks: records come out in offset order.
      if (state.position !== null && nextPosition < state.position) throw new Error(`position of ${topic}-${partition} went back from ${state.position} to ${nextPosition}: a bug`);
      state.position = nextPosition;
    }
    return out;
  }

  private waitForFirstFetch(timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.firstFetchWaiters.push(done);
    });
  }

  private waitForData(timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      const waiters = this.dataWaiters;
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      waiters.push(done);
    });
  }

  private wakePollers(): void {
    const waiters = this.dataWaiters;
    if (waiters.length === 0) return;
    this.dataWaiters = youngArray();
    for (const resolve of waiters) resolve();
  }

  /** The same records as poll(), one at a time, until close(). */
  async *[Symbol.asyncIterator](): AsyncIterator<ConsumerRecord<K, V>> {
    while (!this.closed) {
      const records = await this.poll(this.options.fetchMaxWaitMs);
      for (const record of records) yield record;
    }
  }

  // ---- offsets ------------------------------------------------------------------------------

  private maybeAutoCommit(): void {
    if (!this.options.enableAutoCommit || this.locator === undefined) return;
    const nowMs = Date.now();
    if (nowMs - this.lastAutoCommitMs < this.options.autoCommitIntervalMs) return;
    this.lastAutoCommitMs = nowMs;
    this.commitAsync((error) => {
      if (error !== null) this.events.reportError(error);
    });
  }

  private toCommitMap(offsets: Map<string, number>): Map<string, { topic: string; partition: number; offset: number; metadata?: string }> {
    const out = new Map<string, { topic: string; partition: number; offset: number }>();
    for (const [key, offset] of offsets) out.set(key, { ...tpOfKey(key), offset });
    return out;
  }

  private async commitPositions(offsets: Map<string, number>, metadata?: Map<string, string>): Promise<void> {
    if (this.locator === undefined) throw new IllegalStateError("committing offsets needs a groupId");
    const map = this.toCommitMap(offsets);
    if (metadata !== undefined) for (const [key, value] of metadata) { const entry = map.get(key); if (entry) entry.metadata = value; }
    const member = () => {
      const membership = this.member?.membership;
      return membership === undefined || membership.memberId === "" ? { memberId: "", memberEpoch: -1 } : { memberId: membership.memberId, memberEpoch: membership.memberEpoch };
    };
    const commit = this.offsets.commit(this.locator, member, map);
    this.inFlightCommits.add(commit);
    try {
      await commit;
    } finally {
      this.inFlightCommits.delete(commit);
    }
  }

  private explicitOffsets(offsets: Map<TopicPartition, OffsetAndMetadata> | Array<TopicPartition & OffsetAndMetadata> | undefined): { offsets: Map<string, number>; metadata: Map<string, string> } | undefined {
    if (offsets === undefined) return undefined;
    const entries: Array<TopicPartition & OffsetAndMetadata> = Array.isArray(offsets) ? offsets : [...offsets].map(([tp, om]) => ({ ...tp, ...om }));
    const out = new Map<string, number>();
    const metadata = new Map<string, string>();
    for (const e of entries) {
      const key = tpKey(e.topic, e.partition);
      out.set(key, Number(e.offset));
      if (e.metadata !== undefined) metadata.set(key, e.metadata);
    }
    return { offsets: out, metadata };
  }

  /** Commits the positions of every owned partition (or the offsets given) and waits for the coordinator. */
  async commitSync(offsets?: Map<TopicPartition, OffsetAndMetadata> | Array<TopicPartition & OffsetAndMetadata>): Promise<void> {
    this.assertOpen();
    const explicit = this.explicitOffsets(offsets);
    await this.commitPositions(explicit?.offsets ?? this.subscriptions.positionsToCommit(), explicit?.metadata);
  }

  /** Commits without waiting; the callback (if any) hears the outcome. */
  commitAsync(callback?: CommitCallback): void;
  commitAsync(offsets: Map<TopicPartition, OffsetAndMetadata> | Array<TopicPartition & OffsetAndMetadata>, callback?: CommitCallback): void;
  commitAsync(
    offsetsOrCallback?: Map<TopicPartition, OffsetAndMetadata> | Array<TopicPartition & OffsetAndMetadata> | CommitCallback,
    maybeCallback?: CommitCallback,
  ): void {
    const callback = typeof offsetsOrCallback === "function" ? offsetsOrCallback : maybeCallback;
    const explicit = typeof offsetsOrCallback === "function" ? undefined : this.explicitOffsets(offsetsOrCallback);
    const positions = explicit?.offsets ?? this.subscriptions.positionsToCommit();
    this.commitPositions(positions, explicit?.metadata).then(
      () => callback?.(null),
      (error: unknown) => {
        const typed = error instanceof Error ? error : asTributaryError(error);
        if (callback !== undefined) callback(typed);
        else this.events.reportError(typed);
      },
    );
  }

  /** The group's committed offsets for these partitions, in the order asked (offset null: none). */
  async committed(partitions: TopicPartition[]): Promise<Array<TopicPartition & { offset: bigint | null; metadata: string }>> {
    if (this.locator === undefined) throw new IllegalStateError("committed() needs a groupId");
    const found = await this.offsets.fetchCommitted(this.locator, partitions);
    return partitions.map(({ topic, partition }) => {
      const entry: CommittedOffset | undefined = found.get(tpKey(topic, partition));
      return { topic, partition, offset: entry === undefined || entry.offset < 0 ? null : BigInt(entry.offset), metadata: entry?.metadata ?? "" };
    });
  }

  /** The next offset poll() returns for this partition, looking it up first if needed. */
  async position(tp: TopicPartition): Promise<bigint> {
    const key = tpKey(tp.topic, tp.partition);
    const state = this.subscriptions.get(key);
    if (state === undefined) throw new IllegalStateError(`${tp.topic}-${tp.partition} is not assigned to this consumer`);
    if (state.position === null) await this.resolvePositions();
    this.raisePendingError();
    const now = this.subscriptions.get(key)?.position;
    if (now === null || now === undefined) throw new IllegalStateError(`no position for ${tp.topic}-${tp.partition} yet`);
    return BigInt(now);
  }

  seek(tp: TopicPartition, offset: bigint | number): void {
    const key = tpKey(tp.topic, tp.partition);
    this.subscriptions.seek(key, Number(offset));
    this.buffer.clear(key);
    this.fetcher.wakeup();
  }

  seekToBeginning(partitions?: TopicPartition[]): void {
    this.seekToSource(partitions, "earliest");
  }

  seekToEnd(partitions?: TopicPartition[]): void {
    this.seekToSource(partitions, "latest");
  }

  private seekToSource(partitions: TopicPartition[] | undefined, source: "earliest" | "latest"): void {
    for (const tp of partitions ?? this.subscriptions.assignedPartitions()) {
      const key = tpKey(tp.topic, tp.partition);
      this.subscriptions.requestLookup(key, source);
      this.buffer.clear(key);
    }
    void this.resolvePositions();
  }

  pause(partitions: TopicPartition[]): void {
    for (const tp of partitions) {
      const state = this.subscriptions.get(tpKey(tp.topic, tp.partition));
      if (state === undefined) throw new IllegalStateError(`${tp.topic}-${tp.partition} is not assigned to this consumer`);
      state.paused = true;
    }
  }

  resume(partitions: TopicPartition[]): void {
    for (const tp of partitions) {
      const state = this.subscriptions.get(tpKey(tp.topic, tp.partition));
      if (state !== undefined) state.paused = false;
    }
    this.fetcher.wakeup();
  }

  paused(): TopicPartition[] {
    return this.subscriptions.assigned().filter((s) => s.paused).map(({ topic, partition }) => ({ topic, partition }));
  }

  /** Per owned partition: position, last high watermark seen, and the lag between them. */
  lag(): PartitionLag[] {
    return this.subscriptions.assigned().map((s) => {
      const position = s.position === null ? null : BigInt(s.position);
      const highWatermark = s.highWatermark < 0 ? null : BigInt(s.highWatermark);
      return { topic: s.topic, partition: s.partition, position, highWatermark, lag: position === null || highWatermark === null ? null : highWatermark - position };
    });
  }

  /** Bytes fetched and not yet returned by poll(), and bytes requested from brokers. */
  bufferMetrics(): { bufferedBytes: number; reservedBytes: number } {
    return { bufferedBytes: this.buffer.bufferedBytes, reservedBytes: this.fetcher.bytesReserved };
  }

  // ---- close --------------------------------------------------------------------------------

  /** Commits (with auto-commit), leaves the group, and stops fetching. */
  async close(): Promise<void> {
    if (this.closed) return;
    try {
      if (this.member !== undefined) {
        const owned = this.subscriptions.assignedPartitions();
        if (owned.length > 0) await this.onRevoke(owned);
        await this.member.leave();
        this.member.stop();
      } else if (this.options.enableAutoCommit && this.locator !== undefined) {
        await this.commitPositions(this.subscriptions.positionsToCommit()).catch((error: unknown) => this.events.reportError(error));
      }
      await Promise.allSettled([...this.inFlightCommits]);
    } finally {
      this.closed = true;
      this.fetcher.stop();
      this.wakePollers();
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new IllegalStateError("the consumer is closed");
  }
}
