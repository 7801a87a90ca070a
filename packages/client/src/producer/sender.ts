// The producer's I/O: takes ready batches from the accumulator, sends all batches bound for one
// broker in one Produce call (up to maxInFlight calls per broker), and settles, retries or fails
// them from the answer. One timer (the next linger end, retry backoff or expiry) and one
// setImmediate wake-up drive it; nothing here is per record.
import type { SessionFrameSpec, v1 } from "@tributary/protocol";
import { EarliestTimer, int64ToNumber } from "@tributary/protocol";
import { youngArray } from "@tributary/records";
import type { Cluster } from "../cluster.js";
import { TimeoutError, TributaryError, asTributaryError, errorFor, responseErrorOf } from "../errors.js";
import { backoffDelayMs, retrying } from "../retry.js";
import { sessionRequest, unary } from "../rpc.js";
import type { PartitionQueue, RecordAccumulator } from "./accumulator.js";
import type { ProducerBatch } from "./batch.js";
import { type IdempotenceState } from "./idempotence.js";
import type { ResolvedProducerOptions } from "./types.js";
import { partitionKey } from "./accumulator.js";
import { ProducePartitionBody, ProduceRequestBody, ProduceTopicBody, encodeProduceRequest } from "./produce-request-codec.js";

export interface SenderHooks {
  /** A batch is settled for good: give its memory back and wake blocked sends. */
  onBatchDone(batch: ProducerBatch): void;
}

/** How often waiting batches are re-checked while their partition has no known leader. */
const UNKNOWN_LEADER_RECHECK_MS = 100;
/**
 * While a batch waits to be retried after its leader failed, metadata is asked again this often
 * until it names a new leader; the batch then goes at once instead of sitting out its backoff
 * (KIP-951's rule). A killed leader is fenced ~0.5 s after it dies: learning the new leader at
 * the next backoff step instead cost up to a second of stalled writes.
 */
const LEADER_CHANGE_RECHECK_MS = 100;

/** Errors after which the batch's partition probably has, or soon will have, another leader. */
const LEADER_ERRORS: ReadonlySet<string> = new Set(["NOT_LEADER_OR_FOLLOWER", "LEADER_NOT_AVAILABLE", "FENCED_LEADER_EPOCH", "NETWORK_EXCEPTION", "REQUEST_TIMED_OUT"]);

export class Sender {
  private readonly inFlightByNode = new Map<number, number>();
  /** Requeued batches whose leader failed them, with that leader's node id. */
  private readonly awaitingNewLeader = new Map<ProducerBatch, number>();
  private leaderRecheckTimer: NodeJS.Timeout | undefined;
  /** Runs the sender when the earliest batch's linger ends. */
  private readonly lingerTimer = new EarliestTimer(Date.now, () => this.run(), { keepsProcessAlive: true });
  private wakeScheduled = false;
  private producerIdRequest: Promise<void> | undefined;
  private flushRequests = 0;
  private fatalError: TributaryError | undefined;
  private stopped = false;

  constructor(
    private readonly cluster: Cluster,
    private readonly accumulator: RecordAccumulator,
    private readonly idempotence: IdempotenceState | undefined,
    private readonly options: ResolvedProducerOptions,
    private readonly hooks: SenderHooks,
  ) {}

  get inFlightRequests(): number {
    let total = 0;
    for (const count of this.inFlightByNode.values()) total += count;
    return total;
  }

  get fatal(): TributaryError | undefined {
    return this.fatalError;
  }

  /** Send what is ready on the next turn of the event loop (coalesces many wake-ups into one). */
  wakeup(): void {
    if (this.wakeScheduled || this.stopped) return;
    this.wakeScheduled = true;
    setImmediate(() => {
      this.wakeScheduled = false;
      this.run();
    });
  }

  /** Run at `atMs` at the latest (a batch's linger end). */
  wakeAt(atMs: number): void {
    if (!this.stopped) this.lingerTimer.armAt(atMs);
  }

  /** While at least one flush is waiting, batches go without lingering. */
  beginFlush(): void {
    this.flushRequests++;
    this.wakeup();
  }

  endFlush(): void {
    this.flushRequests--;
  }

  stop(): void {
    this.stopped = true;
    this.lingerTimer.disarm();
    if (this.leaderRecheckTimer !== undefined) clearTimeout(this.leaderRecheckTimer);
    this.awaitingNewLeader.clear();
  }

  private run(): void {
    if (this.stopped) return;
    const nowMs = Date.now();
    for (const batch of this.accumulator.takeExpired(nowMs, this.options.deliveryTimeoutMs)) {
      const lastError = batch.lastError ? `; the last attempt failed with ${(batch.lastError as { code?: string }).code ?? "an error"}: ${batch.lastError.message}` : "";
      this.failBatch(batch, new TimeoutError("REQUEST_TIMED_OUT", `${batch.recordCount} record(s) for ${batch.topic}-${batch.partition} expired: not acknowledged within deliveryTimeoutMs ${this.options.deliveryTimeoutMs} ms${lastError}`, batch.lastError ? { cause: batch.lastError } : undefined));
    }
    if (this.accumulator.queuedBatchCount() === 0) return;
    if (this.idempotence !== undefined && !this.idempotence.hasProducerId) {
      this.requestProducerId();
      return;
    }
    if (this.idempotence?.epochBumpNeeded === true) {
      if (this.idempotence.totalInFlight() === 0) this.requestProducerId();
      return;
    }
    const drained = this.accumulator.drain({
      nowMs,
      leaderOf: (topic, partition) => this.cluster.leaderFor(topic, partition)?.nodeId,
      nodeHasCapacity: (nodeId) => (this.inFlightByNode.get(nodeId) ?? 0) < this.options.maxInFlight,
      mayDrain: (queue: PartitionQueue, head: ProducerBatch) => this.idempotence?.mayDrain(queue, head) ?? true,
      prepare: (batch) => this.prepare(batch),
      maxRequestBytes: this.options.maxRequestBytes,
      flushing: this.flushRequests > 0 || !this.accumulator.hasMemoryFor(this.options.batchSizeBytes),
    });
    for (const [nodeId, batches] of drained.byNode) this.sendProduce(nodeId, batches);
    let nextMs = drained.nextReadyMs;
    if (drained.unknownLeaderTopics.size > 0) {
      for (const topic of drained.unknownLeaderTopics) this.cluster.metadata.markStale(topic);
      this.refreshMetadata();
      nextMs = Math.min(nextMs, nowMs + UNKNOWN_LEADER_RECHECK_MS);
    }
    if (this.accumulator.queuedBatchCount() > 0) {
      // Waiting batches must still expire on time even if nothing else wakes us.
      nextMs = Math.min(nextMs, nowMs + Math.max(UNKNOWN_LEADER_RECHECK_MS, this.options.deliveryTimeoutMs / 10));
    }
    if (nextMs < Infinity) this.wakeAt(nextMs);
  }

  private refreshMetadata(): void {
    this.cluster.refreshMetadata().then(
      () => {
        this.releaseBatchesWithNewLeaders();
        this.wakeup();
      },
      () => {
        this.scheduleLeaderRecheck();
        this.wakeAt(Date.now() + UNKNOWN_LEADER_RECHECK_MS);
      },
    );
  }

  /**
   * Batches that failed on a leader which metadata no longer names go now; for the others,
   * metadata is asked again shortly (bounded: a batch leaves the map when it is sent, settled
   * or expired).
   */
  private releaseBatchesWithNewLeaders(): void {
    let released = false;
    for (const [batch, failedLeaderId] of this.awaitingNewLeader) {
      if (batch.done || batch.inFlight) {
        this.awaitingNewLeader.delete(batch);
        continue;
      }
      const leaderId = this.cluster.leaderFor(batch.topic, batch.partition)?.nodeId;
      if (leaderId !== undefined && leaderId !== failedLeaderId) {
        batch.retryNotBeforeMs = 0;
        this.awaitingNewLeader.delete(batch);
        released = true;
      }
    }
    if (this.awaitingNewLeader.size > 0) this.scheduleLeaderRecheck();
    if (released) this.wakeup();
  }

  private scheduleLeaderRecheck(): void {
    if (this.leaderRecheckTimer !== undefined || this.stopped) return;
    this.leaderRecheckTimer = setTimeout(() => {
      this.leaderRecheckTimer = undefined;
      if (this.awaitingNewLeader.size === 0) return;
      for (const batch of this.awaitingNewLeader.keys()) this.cluster.metadata.markStale(batch.topic);
      this.refreshMetadata();
    }, LEADER_CHANGE_RECHECK_MS);
  }

  /** First drain: sequence numbers, then the one encoding of the batch. */
  private prepare(batch: ProducerBatch): void {
    batch.attempts++;
    if (batch.encoded !== undefined) return;
    if (this.idempotence !== undefined) this.idempotence.assignSequence(partitionKey(batch.topic, batch.partition), batch);
    batch.encode(this.options.compression);
  }

  private requestProducerId(): void {
    if (this.producerIdRequest !== undefined || this.idempotence === undefined) return;
    const idempotence = this.idempotence;
    const bump = idempotence.hasProducerId;
    const request: v1.InitProducerIdRequest = {
      transactionalId: "",
      transactionTimeoutMs: 0,
      producerId: bump ? String(idempotence.producerId) : "-1",
      producerEpoch: bump ? idempotence.producerEpoch : -1,
    };
    this.producerIdRequest = retrying(
      async () => {
        const response = await this.cluster.onAnyBroker((stubs) =>
          unary<v1.InitProducerIdResponse__Output>((o, cb) => stubs.broker.InitProducerId(request, o, cb), this.options.requestTimeoutMs, `InitProducerId on ${stubs.address}`),
        );
        const error = responseErrorOf(response.error, "InitProducerId");
        if (error !== null) throw error;
        return response;
      },
      {
        policy: { initialBackoffMs: this.options.retryBackoffMs, maxBackoffMs: this.options.retryBackoffMaxMs, multiplier: 2, jitterFraction: 0.2 },
        retries: this.options.retries,
        timeoutMs: this.options.deliveryTimeoutMs,
        operation: "InitProducerId",
      },
    )
      .then((response) => {
        idempotence.setProducerId(int64ToNumber(response.producerId), response.producerEpoch);
        this.cluster.options.logger.info({ producerId: response.producerId, producerEpoch: response.producerEpoch, bump }, "producer id assigned");
        // Waiting retries keep their order but take new sequences from 0 under the new epoch.
        for (const batch of this.accumulator.sequencedBatches()) idempotence.restamp(partitionKey(batch.topic, batch.partition), batch);
      })
      .catch((error: unknown) => {
        const typed = asTributaryError(error);
        // What waits now cannot be delivered in time; a later send tries again, unless the
        // brokers refused for good (e.g. an unsupported request), which no retry will change.
        this.cluster.options.logger.error({ code: typed.code, error: typed.message }, "no producer id: failing the records waiting for one");
        if (!typed.retriable) this.fatalError = typed;
        for (const batch of this.accumulator.takeAll()) this.failBatch(batch, typed);
      })
      .finally(() => {
        this.producerIdRequest = undefined;
        this.wakeup();
      });
  }

  private sendProduce(nodeId: number, batches: ProducerBatch[]): void {
    const node = this.cluster.metadata.broker(nodeId);
    if (node === undefined) {
      for (const batch of batches) {
        batch.inFlight = false;
        this.retryOrFail(batch, errorFor("LEADER_NOT_AVAILABLE", `broker ${nodeId} has no known address`), Date.now());
      }
      return;
    }
    const topics = new Map<string, Map<number, ProducerBatch[]>>();
    for (const batch of batches) {
      let partitions = topics.get(batch.topic);
      if (partitions === undefined) topics.set(batch.topic, (partitions = new Map()));
      let list = partitions.get(batch.partition);
      if (list === undefined) partitions.set(batch.partition, (list = youngArray()));
      list.push(batch);
      if (this.idempotence !== undefined) this.idempotence.onSent(partitionKey(batch.topic, batch.partition), batch);
    }
    // Class instances and youngArray()s, not literals (see ProduceRequestBody).
    const topicBodies = youngArray<ProduceTopicBody>();
    for (const [name, byPartition] of topics) {
      const partitionBodies = youngArray<ProducePartitionBody>();
      for (const [partition, list] of byPartition) partitionBodies.push(new ProducePartitionBody(partition, list.map((b) => b.encoded!)));
      topicBodies.push(new ProduceTopicBody(name, partitionBodies));
    }
    const request = new ProduceRequestBody(this.options.acks, this.options.requestTimeoutMs, topicBodies);
    this.inFlightByNode.set(nodeId, (this.inFlightByNode.get(nodeId) ?? 0) + 1);
    const stubs = this.cluster.stubs(node.address);
    // Until the frame is built, a batch's pooled buffer must not be reused (ProducerBatch.recycle).
    for (const batch of batches) batch.framesPending++;
    const encodeFrame = (frame: SessionFrameSpec): Buffer => {
      const out = encodeProduceRequest(request, frame);
      for (const batch of batches) batch.framesPending--;
      return out;
    };
    // The call's deadline leaves the broker its own timeout plus a margin to answer it.
    sessionRequest(() => stubs.produceSession.produceFramed(encodeFrame, this.options.requestTimeoutMs + 5_000), `Produce to broker ${nodeId}`).then(
      (response) => this.onProduceResponse(nodeId, topics, response),
      (error: unknown) => this.onProduceFailure(nodeId, batches, asTributaryError(error)),
    );
  }

  private requestReturned(nodeId: number): void {
    this.inFlightByNode.set(nodeId, (this.inFlightByNode.get(nodeId) ?? 1) - 1);
  }

  private onProduceResponse(nodeId: number, topics: Map<string, Map<number, ProducerBatch[]>>, response: v1.ProduceResponse__Output): void {
    this.requestReturned(nodeId);
    const nowMs = Date.now();
    const answered = new Map<string, v1.ProducePartitionResponse__Output>();
    for (const topic of response.topics) for (const p of topic.partitions) answered.set(partitionKey(topic.name, p.partition), p);
    for (const [topic, partitions] of topics) {
      for (const [partition, batches] of partitions) {
        const key = partitionKey(topic, partition);
        const answer = answered.get(key);
        if (answer === undefined) {
          if (this.options.acks === 0) {
            for (const batch of batches) this.succeedBatch(batch, -1, -1);
            continue;
          }
          for (const batch of batches) this.onBatchError(batch, errorFor("UNKNOWN_SERVER_ERROR", `Produce answer from broker ${nodeId} has no entry for ${topic}-${partition}`), nowMs, nodeId);
          continue;
        }
        const error = responseErrorOf(answer.error, `Produce ${topic}-${partition} on broker ${nodeId}`);
        if (error === null) {
          // Batches of one partition are appended together, in order: offsets follow on.
          // Offsets are safe integers (int64ToNumber refuses others), so a record's bigint offset is one BigInt().
          let baseOffset = this.options.acks === 0 ? -1 : int64ToNumber(answer.baseOffset);
          const logAppendTimeMs = int64ToNumber(answer.logAppendTimeMs);
          for (const batch of batches) {
            this.succeedBatch(batch, baseOffset, logAppendTimeMs);
            if (baseOffset >= 0) baseOffset += batch.recordCount;
          }
          continue;
        }
        if (answer.currentLeader !== null && answer.currentLeader.nodeId >= 0) this.cluster.metadata.applyLeaderHint(topic, partition, answer.currentLeader);
        for (const batch of batches) this.onBatchError(batch, error, nowMs, nodeId);
      }
    }
    this.wakeup();
  }

  private onProduceFailure(nodeId: number, batches: ProducerBatch[], error: TributaryError): void {
    this.requestReturned(nodeId);
    const nowMs = Date.now();
    for (const batch of batches) {
      this.cluster.metadata.markStale(batch.topic);
      this.onBatchError(batch, error, nowMs, nodeId);
    }
    this.refreshMetadata();
    this.wakeup();
  }

  private returned(batch: ProducerBatch): void {
    batch.inFlight = false;
    this.idempotence?.onReturned(partitionKey(batch.topic, batch.partition), batch);
  }

  private succeedBatch(batch: ProducerBatch, baseOffset: number, logAppendTimeMs: number): void {
    this.returned(batch);
    this.idempotence?.onAcknowledged(partitionKey(batch.topic, batch.partition), batch);
    batch.succeed(baseOffset, logAppendTimeMs);
    this.hooks.onBatchDone(batch);
  }

  /** `nodeId`: the broker the batch was sent to. */
  private onBatchError(batch: ProducerBatch, error: TributaryError, nowMs: number, nodeId: number): void {
    this.returned(batch);
    const key = partitionKey(batch.topic, batch.partition);
    if (error.code === "DUPLICATE_SEQUENCE_NUMBER" && this.idempotence !== undefined) {
      // The broker already has this batch (an earlier attempt landed): it is written once.
      this.idempotence.onAcknowledged(key, batch);
      batch.succeed(-1, -1);
      this.hooks.onBatchDone(batch);
      return;
    }
    if (this.idempotence !== undefined && (error.code === "OUT_OF_ORDER_SEQUENCE_NUMBER" || error.code === "UNKNOWN_PRODUCER_ID")) {
      if (error.code === "UNKNOWN_PRODUCER_ID" || this.idempotence.isEarliestUnacknowledged(key, batch)) {
        // The broker lost our sequence state: new epoch, re-stamped batches, same order.
        this.idempotence.epochBumpNeeded = true;
      }
      this.retryOrFail(batch, error, nowMs, true);
      return;
    }
    const leaderSuspect = LEADER_ERRORS.has(error.code);
    if (leaderSuspect || error.code === "UNKNOWN_TOPIC_OR_PARTITION") {
      this.cluster.metadata.markStale(batch.topic);
      this.refreshMetadata();
    }
    this.retryOrFail(batch, error, nowMs, error.retriable);
    if (leaderSuspect && !batch.done) this.awaitingNewLeader.set(batch, nodeId);
  }

  private retryOrFail(batch: ProducerBatch, error: TributaryError, nowMs: number, retriable = true): void {
    const expired = batch.createdMs + this.options.deliveryTimeoutMs <= nowMs;
    if (!retriable || batch.attempts > this.options.retries || expired || this.stopped) {
      const final = expired && retriable ? new TimeoutError("REQUEST_TIMED_OUT", `delivery timed out after ${batch.attempts} attempt(s); the last failed with ${error.code}: ${error.message}`, { cause: error }) : error;
      this.failBatch(batch, final);
      return;
    }
    batch.lastError = error;
    const policy = { initialBackoffMs: this.options.retryBackoffMs, maxBackoffMs: this.options.retryBackoffMaxMs, multiplier: 2, jitterFraction: 0.2 };
    this.cluster.options.logger.debug(
      { topic: batch.topic, partition: batch.partition, baseSequence: batch.baseSequence, attempts: batch.attempts, code: error.code },
      "retrying a produce batch",
    );
    this.accumulator.requeue(batch, nowMs + backoffDelayMs(policy, Math.max(1, batch.attempts)));
    this.wakeAt(batch.retryNotBeforeMs);
  }

  private failBatch(batch: ProducerBatch, error: Error): void {
    batch.inFlight = false;
    // A sequence that will never be written leaves a gap the broker would refuse after: start a new epoch.
    if (this.idempotence !== undefined && batch.baseSequence >= 0 && batch.producerEpoch === this.idempotence.producerEpoch) {
      this.idempotence.epochBumpNeeded = true;
    }
    batch.fail(error);
    this.hooks.onBatchDone(batch);
  }
}
