// The Controller gRPC service: each call's request goes to the ControllerNode and its answer
// back, with NOT_CONTROLLER and a LeaderHint put where each response carries errors.
import type * as grpc from "@grpc/grpc-js";
import type { v1 } from "@tributary/protocol";
import type { Logger } from "pino";
import type { ControllerNode, Voter, WriteOutcome } from "../controller-node.js";
import type { WireError } from "../errors.js";
import type { MetadataLog } from "../metadata-log.js";
import { MetadataStream } from "../metadata-stream.js";
import { quorumDescription } from "../quorum-description.js";
import type { ControllerWrite, QuorumController } from "../quorum-controller.js";
import type { RaftDriver } from "@tributary/raft";

export interface ControllerServiceContext {
  node: ControllerNode;
  metadataLog: MetadataLog;
  driver: () => RaftDriver;
  voters: readonly Voter[];
  nodeId: number;
  clusterId: string;
  log: Logger;
  /** The clock the Raft driver runs on (for how long ago a voter was heard from). */
  nowMs: () => number;
  /** Open metadata streams, each as the function that ends it (a clean stop ends them all). */
  openStreams: Set<() => void>;
}

type Unary<Req, Res> = (call: grpc.ServerUnaryCall<Req, Res>, callback: grpc.sendUnaryData<Res>) => void;

/** A write call: run it on the active controller, or answer with `onError` (NOT_CONTROLLER, timeout). */
function writeCall<Req, Res>(
  ctx: ControllerServiceContext,
  name: string,
  run: (controller: QuorumController, request: Req, nowMs: number) => ControllerWrite<Res>,
  onError: (request: Req, error: WireError, controller: v1.LeaderHint) => Res,
  timeoutOf: (request: Req) => number | undefined = () => undefined,
): Unary<Req, Res> {
  return (call, callback) => {
    const request = call.request;
    ctx.node.write((controller, nowMs) => run(controller, request, nowMs), timeoutOf(request)).then(
      (outcome: WriteOutcome<Res>) => callback(null, outcome.ok ? outcome.response : onError(request, outcome.error, outcome.controller)),
      (error: unknown) => {
        ctx.log.error({ err: error, call: name }, "controller call failed");
        callback(null, onError(request, { code: "UNKNOWN_SERVER_ERROR", message: String(error) }, ctx.node.leaderHint()));
      },
    );
  };
}

export function controllerServiceHandlers(ctx: ControllerServiceContext): grpc.UntypedServiceImplementation {
  const registerBroker = writeCall<v1.RegisterBrokerRequest__Output, v1.RegisterBrokerResponse>(ctx, "RegisterBroker",
    (c, r, now) => c.registerBroker(r, now), (_r, error, controller) => ({ error, brokerEpoch: "-1", clusterId: ctx.clusterId, controller }));
  const brokerHeartbeat = writeCall<v1.BrokerHeartbeatRequest__Output, v1.BrokerHeartbeatResponse>(ctx, "BrokerHeartbeat",
    (c, r, now) => c.brokerHeartbeat(r, now), (_r, error, controller) => ({ error, isFenced: true, controller }));
  const alterPartition = writeCall<v1.AlterPartitionRequest__Output, v1.AlterPartitionResponse>(ctx, "AlterPartition",
    (c, r, now) => c.alterPartition(r, now), (_r, error, controller) => ({ error, partitions: [], controller }));
  const allocateProducerIds = writeCall<v1.AllocateProducerIdsRequest__Output, v1.AllocateProducerIdsResponse>(ctx, "AllocateProducerIds",
    (c, r, now) => c.allocateProducerIds(r, now), (_r, error, controller) => ({ error, producerIdStart: "-1", producerIdLen: 0, controller }));
  const createTopics = writeCall<v1.CreateTopicsRequest__Output, v1.CreateTopicsResponse>(ctx, "CreateTopics",
    (c, r, now) => c.createTopics(r, now),
    (r, error, controller) => ({ topics: r.topics.map((t) => ({ name: t.name, topicId: "", error, numPartitions: 0, replicationFactor: 0 })), controller }),
    (r) => r.timeoutMs);
  const deleteTopics = writeCall<v1.DeleteTopicsRequest__Output, v1.DeleteTopicsResponse>(ctx, "DeleteTopics",
    (c, r, now) => c.deleteTopics(r, now), (r, error, controller) => ({ topics: r.names.map((name) => ({ name, error })), controller }), (r) => r.timeoutMs);
  const createPartitions = writeCall<v1.CreatePartitionsRequest__Output, v1.CreatePartitionsResponse>(ctx, "CreatePartitions",
    (c, r, now) => c.createPartitions(r, now), (r, error, controller) => ({ topics: r.topics.map((t) => ({ name: t.name, error })), controller }), (r) => r.timeoutMs);
  const alterConfigs = writeCall<v1.AlterConfigsRequest__Output, v1.AlterConfigsResponse>(ctx, "AlterConfigs",
    (c, r, now) => c.alterConfigs(r, now), (r, error, controller) => ({ results: r.resources.map((res) => ({ resource: res.resource, error })), controller }));
  const electLeaders = writeCall<v1.ElectLeadersRequest__Output, v1.ElectLeadersResponse>(ctx, "ElectLeaders",
    (c, r, now) => c.electLeaders(r, now), (r, error, controller) => ({ results: r.partitions.map((partition) => ({ partition, error })), controller }));

  const describeQuorum: Unary<v1.DescribeQuorumRequest__Output, v1.DescribeQuorumResponse> = (_call, callback) => {
    const driver = ctx.driver();
    callback(null, quorumDescription({
      nodeId: ctx.nodeId, clusterId: ctx.clusterId, voters: ctx.voters,
      status: driver.status(), followers: driver.node.followerProgress(), nowMs: ctx.nowMs(),
    }));
  };

  const streamMetadata = (call: grpc.ServerWritableStream<v1.StreamMetadataRequest__Output, v1.StreamMetadataResponse>): void => {
    const { brokerId, fromOffset, tracksLiveness } = call.request;
    // A broker's own stream: its end (a killed broker's socket closing) is a sign of death.
    // Its opening and end are rare (start, reconnect, controller change) and worth a line.
    const liveness = tracksLiveness && Number.isSafeInteger(brokerId) && brokerId >= 0;
    if (liveness) ctx.log.info({ brokerId, fromOffset }, "broker metadata stream opened");
    else ctx.log.debug({ brokerId, fromOffset }, "metadata stream opened");
    const stream = new MetadataStream(ctx.metadataLog, call.request, {
      write: (message) => call.write(message),
      onDrain: (callback) => call.once("drain", callback),
    });
    if (liveness) ctx.node.brokerStreamOpened(brokerId);
    let closed = false;
    const close = (): void => {
      if (closed) return;
      closed = true;
      stream.close();
      ctx.openStreams.delete(end);
      if (liveness) {
        ctx.log.info({ brokerId }, "broker metadata stream ended");
        ctx.node.brokerStreamClosed(brokerId);
      }
    };
    const end = (): void => {
      close();
      call.end();
    };
    ctx.openStreams.add(end);
    call.on("cancelled", close);
    call.on("close", close);
    call.on("error", close);
  };

  return {
    RegisterBroker: registerBroker,
    BrokerHeartbeat: brokerHeartbeat,
    StreamMetadata: streamMetadata,
    AlterPartition: alterPartition,
    AllocateProducerIds: allocateProducerIds,
    DescribeQuorum: describeQuorum,
    CreateTopics: createTopics,
    DeleteTopics: deleteTopics,
    CreatePartitions: createPartitions,
    AlterConfigs: alterConfigs,
    ElectLeaders: electLeaders,
  } as grpc.UntypedServiceImplementation;
}
