// The Groups gRPC service: a thin adapter from grpc-js calls to the GroupCoordinator, plus the
// timer that expires sessions and the subscription to offsets-partition leadership.
import { randomUUID } from "node:crypto";
import * as grpc from "@grpc/grpc-js";
import type { v1 } from "@tributary/protocol";
import { pino, type Logger } from "pino";
import { type CoordinatorLogger, GroupCoordinator } from "./coordinator.js";
import { type CoordinatorSettings, DEFAULT_COORDINATOR_SETTINGS } from "./settings.js";
import type { Clock, CoordinatorPartitionAccess, LeadershipChange } from "./types.js";

export interface GroupsServiceDeps {
  /** This broker's node.id (ListGroups' coordinator_id). */
  nodeId: number;
  access: CoordinatorPartitionAccess;
  /** Partition count of a topic in the broker's MetadataImage; undefined when it does not exist. */
  partitionsOf(topic: string): number | undefined;
  /** Use coordinatorSettingsFromConfig(serverConfig) to take group.consumer.* from the broker's config. */
  settings?: Partial<CoordinatorSettings>;
  logger?: Logger | CoordinatorLogger;
  clock?: Clock;
  newMemberId?: () => string;
}

export interface GroupsService {
  /** Register with `server.addService(tributaryV1().Groups.service, handlers)`. */
  handlers: v1.GroupsHandlers;
  coordinator: GroupCoordinator;
  /** Also subscribed to access.onLeadershipChange; call directly for partitions led before the subscription. */
  onLeadershipChange(change: LeadershipChange): void;
  close(): void;
}

function unary<Req, Res>(logger: CoordinatorLogger, method: string, run: (request: Req) => Promise<Res> | Res): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    Promise.resolve()
      .then(() => run(call.request))
      .then(
        (response) => callback(null, response),
        (error: unknown) => {
          // The coordinator answers every expected failure inside the response; reaching here is a bug.
          logger.warn({ method, err: error instanceof Error ? error.message : String(error) }, "groups RPC failed unexpectedly");
          callback({ code: grpc.status.INTERNAL, details: error instanceof Error ? error.message : String(error) });
        },
      );
  };
}

export function createGroupsService(deps: GroupsServiceDeps): GroupsService {
  const logger: CoordinatorLogger = deps.logger ?? pino({ name: "groups" });
  const settings: CoordinatorSettings = { ...DEFAULT_COORDINATOR_SETTINGS, ...deps.settings };
  const coordinator = new GroupCoordinator({
    nodeId: deps.nodeId,
    access: deps.access,
    partitionsOf: deps.partitionsOf,
    settings,
    clock: deps.clock ?? Date.now,
    newMemberId: deps.newMemberId ?? randomUUID,
    logger,
    delay: (ms) => new Promise((resolve) => setTimeout(resolve, ms).unref()),
  });
  const onLeadershipChange = (change: LeadershipChange): void => coordinator.handleLeadershipChange(change);
  const unsubscribe = deps.access.onLeadershipChange(onLeadershipChange);
  const timer = setInterval(() => coordinator.tick(), settings.tickIntervalMs);
  timer.unref();
  const handlers: v1.GroupsHandlers = {
    FindCoordinator: unary(logger, "FindCoordinator", (r: v1.FindCoordinatorRequest__Output) => coordinator.findCoordinator(r)),
    ConsumerGroupHeartbeat: unary(logger, "ConsumerGroupHeartbeat", (r: v1.ConsumerGroupHeartbeatRequest__Output) => coordinator.heartbeat(r)),
    OffsetCommit: unary(logger, "OffsetCommit", (r: v1.OffsetCommitRequest__Output) => coordinator.commitOffsets(r)),
    OffsetFetch: unary(logger, "OffsetFetch", (r: v1.OffsetFetchRequest__Output) => coordinator.fetchOffsets(r)),
    ListGroups: unary(logger, "ListGroups", (r: v1.ListGroupsRequest__Output) => coordinator.listGroups(r)),
    DescribeGroups: unary(logger, "DescribeGroups", (r: v1.DescribeGroupsRequest__Output) => coordinator.describeGroups(r)),
    DeleteGroups: unary(logger, "DeleteGroups", (r: v1.DeleteGroupsRequest__Output) => coordinator.deleteGroups(r)),
  };
  return {
    handlers,
    coordinator,
    onLeadershipChange,
    close(): void {
      clearInterval(timer);
      unsubscribe();
      coordinator.close();
    },
  };
}
