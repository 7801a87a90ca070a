// The active controller as a pure state machine (Kafka's QuorumController, without its threads):
// it owns a working copy of the metadata image that already includes its own proposals, takes a
// request or a tick with the time passed in, and returns the records to commit and the response
// to give once they have committed. No I/O, no clock, no randomness of its own.
//
// One instance lives for one term of leadership. It is built from the committed image after the
// new leader has applied every entry before its term, and thrown away when leadership is lost
// (its uncommitted proposals may never commit).
import type { MetadataImage, v1 } from "@tributary/protocol";
import { BrokerLiveness } from "./broker-liveness.js";
import { alterConfigs, createPartitions, createTopics, deleteTopics } from "./topic-operations.js";
import { brokerHeartbeat, expireSessions, fenceLostConnections, registerBroker } from "./broker-operations.js";
import { allocateProducerIds, alterPartition, balancePreferredLeaders, electLeaders } from "./partition-operations.js";
import { type ControllerContext, type ControllerSettings, WriteBuilder } from "./controller-context.js";
import { ControllerError, toResponseError } from "./errors.js";

export interface ControllerWrite<R> {
  /** Records to commit as one batch, in order; empty when the request changes nothing. */
  records: v1.MetadataRecord[];
  /** Offset of the first record (the offset after the working image's last before this write). */
  baseOffset: number;
  /** The response may be given once the committed offset reaches this (the write's last record, or everything proposed before it). */
  waitForOffset: number;
  response: R;
}

export interface QuorumControllerOptions {
  /** The image to start from (committed records, and a new leader's own uncommitted ones); the controller owns and changes it. */
  image: MetadataImage;
  settings: ControllerSettings;
  /** The Raft term of this leadership. */
  term: number;
  nowMs: number;
  newTopicId: () => string;
  /** The broker of each liveness-tracking metadata stream open to this node as it becomes active (an id once per stream). */
  connectedBrokerIds?: Iterable<number>;
}

type ErrorResponse<R> = (error: ReturnType<typeof toResponseError>) => R;

export class QuorumController {
  readonly image: MetadataImage;
  readonly term: number;
  private readonly settings: ControllerSettings;
  private readonly liveness: BrokerLiveness;
  private readonly newTopicId: () => string;
  private placementCursor = 0;
  private lastBalanceMs: number;

  constructor(options: QuorumControllerOptions) {
    this.image = options.image;
    this.settings = options.settings;
    this.term = options.term;
    this.newTopicId = options.newTopicId;
    this.liveness = new BrokerLiveness({
      sessionTimeoutMs: options.settings.server["broker.session.timeout.ms"],
      connectionGraceMs: options.settings.brokerConnectionGraceMs,
    });
    // A fresh session for every broker: this controller cannot know when they were last heard.
    for (const brokerId of this.image.brokers.keys()) this.liveness.touch(brokerId, options.nowMs);
    // Streams that ended before this term are not counted: only an end seen from now on is news.
    for (const brokerId of options.connectedBrokerIds ?? []) this.liveness.streamOpened(brokerId, options.nowMs);
    this.lastBalanceMs = options.nowMs;
    // Start placements where the existing leaders suggest, not always at broker 0.
    this.placementCursor = this.image.topicsByName.size;
  }

  private run<R>(nowMs: number, operation: (ctx: ControllerContext) => R, onError: ErrorResponse<R>): ControllerWrite<R> {
    const write = new WriteBuilder(this.image);
    const ctx: ControllerContext = {
      image: this.image,
      settings: this.settings,
      liveness: this.liveness,
      write,
      nowMs,
      newTopicId: this.newTopicId,
      nextPlacementStart: (count) => {
        const start = this.placementCursor;
        this.placementCursor += Math.max(1, count);
        return start;
      },
    };
    let response: R;
    try {
      response = operation(ctx);
    } catch (error) {
      // Request errors are found before anything is written; anything else is a bug, and the
      // working image may now be ahead of the records returned, so it must not be used again.
      if (!(error instanceof ControllerError) || write.records.length > 0) throw error;
      response = onError(toResponseError(error));
    }
    return { records: write.records, baseOffset: write.baseOffset, waitForOffset: this.image.lastAppliedOffset, response };
  }

  /** The first write of a new active controller: says who controls the cluster from now on. */
  activate(nowMs: number): ControllerWrite<void> {
    return this.run(nowMs, (ctx) => {
      ctx.write.add({ controllerChange: { controllerId: this.settings.nodeId, term: String(this.term) } });
    }, () => undefined);
  }

  registerBroker(request: v1.RegisterBrokerRequest__Output, nowMs: number): ControllerWrite<v1.RegisterBrokerResponse> {
    return this.run(nowMs, (ctx) => registerBroker(ctx, request), (error) => ({ error, brokerEpoch: "-1", clusterId: this.image.clusterId }));
  }

  brokerHeartbeat(request: v1.BrokerHeartbeatRequest__Output, nowMs: number): ControllerWrite<v1.BrokerHeartbeatResponse> {
    return this.run(nowMs, (ctx) => brokerHeartbeat(ctx, request), (error) => ({ error, isFenced: true }));
  }

  createTopics(request: v1.CreateTopicsRequest__Output, nowMs: number): ControllerWrite<v1.CreateTopicsResponse> {
    return this.run<v1.CreateTopicsResponse>(nowMs, (ctx) => createTopics(ctx, request), () => ({ topics: [] }));
  }

  deleteTopics(request: v1.DeleteTopicsRequest__Output, nowMs: number): ControllerWrite<v1.DeleteTopicsResponse> {
    return this.run<v1.DeleteTopicsResponse>(nowMs, (ctx) => deleteTopics(ctx, request), () => ({ topics: [] }));
  }

  createPartitions(request: v1.CreatePartitionsRequest__Output, nowMs: number): ControllerWrite<v1.CreatePartitionsResponse> {
    return this.run<v1.CreatePartitionsResponse>(nowMs, (ctx) => createPartitions(ctx, request), () => ({ topics: [] }));
  }

  alterConfigs(request: v1.AlterConfigsRequest__Output, nowMs: number): ControllerWrite<v1.AlterConfigsResponse> {
    return this.run<v1.AlterConfigsResponse>(nowMs, (ctx) => alterConfigs(ctx, request), () => ({ results: [] }));
  }

  alterPartition(request: v1.AlterPartitionRequest__Output, nowMs: number): ControllerWrite<v1.AlterPartitionResponse> {
    return this.run(nowMs, (ctx) => alterPartition(ctx, request), (error) => ({ error, partitions: [] }));
  }

  allocateProducerIds(request: v1.AllocateProducerIdsRequest__Output, nowMs: number): ControllerWrite<v1.AllocateProducerIdsResponse> {
    return this.run(nowMs, (ctx) => allocateProducerIds(ctx, request), (error) => ({ error, producerIdStart: "-1", producerIdLen: 0 }));
  }

  electLeaders(request: v1.ElectLeadersRequest__Output, nowMs: number): ControllerWrite<v1.ElectLeadersResponse> {
    return this.run<v1.ElectLeadersResponse>(nowMs, (ctx) => electLeaders(ctx, request), () => ({ results: [] }));
  }

  /** A broker's liveness-tracking metadata stream to this node opened. */
  brokerStreamOpened(brokerId: number, nowMs: number): void {
    this.liveness.streamOpened(brokerId, nowMs);
  }

  /** A broker's liveness-tracking metadata stream to this node ended; `tick` fences it once the grace passes in silence. */
  brokerStreamClosed(brokerId: number, nowMs: number): void {
    this.liveness.streamClosed(brokerId, nowMs);
  }

  /** When, after `nowMs`, a `tick` may next fence a broker whose connection was lost (undefined: none pending). */
  nextConnectionDeadlineMs(nowMs: number): number | undefined {
    return this.liveness.nextConnectionDeadlineMs(nowMs);
  }

  /**
   * Periodic work: fence brokers whose connection was lost or whose session expired; now and
   * then, rebalance preferred leaders.
   */
  tick(nowMs: number): ControllerWrite<{ fencedBrokerIds: number[]; connectionLostBrokerIds: number[]; preferredLeaderMoves: number }> {
    return this.run(nowMs, (ctx) => {
      const connectionLostBrokerIds = fenceLostConnections(ctx);
      const fencedBrokerIds = expireSessions(ctx);
      let preferredLeaderMoves = 0;
      if (nowMs - this.lastBalanceMs >= this.settings.preferredLeaderCheckIntervalMs) {
        this.lastBalanceMs = nowMs;
        preferredLeaderMoves = balancePreferredLeaders(ctx);
      }
      return { fencedBrokerIds, connectionLostBrokerIds, preferredLeaderMoves };
    }, () => ({ fencedBrokerIds: [], connectionLostBrokerIds: [], preferredLeaderMoves: 0 }));
  }

  /** When the broker was last heard from, for DescribeCluster and logs. */
  lastBrokerContactMs(brokerId: number): number | undefined {
    return this.liveness.lastContact(brokerId);
  }
}
