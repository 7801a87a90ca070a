// Broker registration, heartbeats, fencing and controlled shutdown (Kafka's ClusterControlManager
// and BrokerHeartbeatManager rules). A broker starts fenced, with a new epoch (the offset of its
// registration record); it is unfenced once a heartbeat shows it has applied the metadata log up
// to that record; it is fenced when its session expires, when it asks, or when it re-registers,
// and every partition it led then gets a new leader from the rest of the ISR.
import { type BrokerImage, NO_LEADER, type v1, int64, int64ToNumber } from "@tributary/protocol";
import { type ControllerContext, eligibility, uncleanElectionAllowed } from "./controller-context.js";
import { fail, OK } from "./errors.js";
import { type ChangeReason, buildPartitionChange, isrWithout } from "./partition-leadership.js";

/** Takes `brokerId` out of every ISR it is in (never emptying one) and moves its leaderships. */
export function removeBrokerFromPartitions(ctx: ControllerContext, brokerId: number, reason: ChangeReason): void {
  const affected = [...ctx.image.partitions()].filter((p) => p.leader === brokerId || p.isr.includes(brokerId));
  const brokers = eligibility(ctx.image);
  for (const partition of affected) {
    const change = buildPartitionChange(partition, brokers, {
      targetIsr: isrWithout(partition.isr, brokerId),
      uncleanElectionAllowed: uncleanElectionAllowed(ctx.image, partition.topicName, ctx.settings.server),
      reason,
    });
    if (change) ctx.write.add({ partitionChange: change });
  }
}

/** After `brokerId` becomes active: give a leader to leaderless partitions it can lead. */
function electLeaderlessPartitions(ctx: ControllerContext, brokerId: number): void {
  const affected = [...ctx.image.partitions()].filter((p) => p.leader === NO_LEADER && p.replicas.includes(brokerId));
  const brokers = eligibility(ctx.image);
  for (const partition of affected) {
    const change = buildPartitionChange(partition, brokers, {
      uncleanElectionAllowed: uncleanElectionAllowed(ctx.image, partition.topicName, ctx.settings.server),
      reason: "broker-unfenced",
    });
    if (change) ctx.write.add({ partitionChange: change });
  }
}

export function fenceBroker(ctx: ControllerContext, broker: BrokerImage, reason: ChangeReason): void {
  ctx.write.add({ brokerFencing: { brokerId: broker.brokerId, brokerEpoch: int64(broker.brokerEpoch), fenced: true, inControlledShutdown: false } });
  removeBrokerFromPartitions(ctx, broker.brokerId, reason);
}

export function registerBroker(ctx: ControllerContext, request: v1.RegisterBrokerRequest__Output): v1.RegisterBrokerResponse {
  const { image, nowMs } = ctx;
  if (request.clusterId !== "" && request.clusterId !== image.clusterId) {
    fail("INCONSISTENT_CLUSTER_ID", `broker ${request.brokerId} belongs to cluster ${request.clusterId}, but this is cluster ${image.clusterId}`);
  }
  if (!Number.isSafeInteger(request.brokerId) || request.brokerId < 0) fail("INVALID_REQUEST", `broker id ${request.brokerId} is not a non-negative integer`);
  // Every endpoint lands in the metadata image that clients dial: a broker with no endpoint, or one
  // on port 70000, could be unfenced and given leaderships nobody can reach (and Node's net.connect
  // throws on an out-of-range port instead of failing the connection).
  if (request.listeners.length === 0) fail("INVALID_REQUEST", `broker ${request.brokerId} registered no listener`);
  for (const l of request.listeners) {
    if (l.host === "" || !Number.isInteger(l.port) || l.port < 1 || l.port > 65_535) {
      fail("INVALID_REQUEST", `broker ${request.brokerId} listener "${l.host}:${l.port}" needs a host and a port in 1..65535`);
    }
  }
  const existing = image.brokers.get(request.brokerId);
  if (existing && !existing.fenced) {
    if (existing.incarnationId !== request.incarnationId && ctx.liveness.isAlive(request.brokerId, nowMs)) {
      fail(
        "DUPLICATE_BROKER_REGISTRATION",
        `broker ${request.brokerId} is registered by another live process (incarnation ${existing.incarnationId}); ` +
          `it may register again once that one stops heartbeating for broker.session.timeout.ms`,
      );
    }
    // A restart: the old incarnation may have lost unflushed records, so it gives up its
    // leaderships and ISR places before the new one starts (fenced) at a new epoch.
    fenceBroker(ctx, existing, "broker-reregistered");
  }
  const brokerEpoch = ctx.write.nextOffset();
  ctx.write.add({
    brokerRegistration: {
      brokerId: request.brokerId,
      brokerEpoch: int64(brokerEpoch),
      incarnationId: request.incarnationId,
      listeners: request.listeners,
      rack: request.rack,
      fenced: true,
    },
  });
  ctx.liveness.touch(request.brokerId, nowMs);
  return { error: OK, brokerEpoch: int64(brokerEpoch), clusterId: image.clusterId };
}

export function requireBrokerEpoch(ctx: ControllerContext, brokerId: number, brokerEpoch: string): BrokerImage {
  const broker = ctx.image.brokers.get(brokerId);
  if (!broker) fail("BROKER_ID_NOT_REGISTERED", `broker ${brokerId} is not registered; register first`);
  const epoch = int64ToNumber(brokerEpoch);
  if (epoch !== broker.brokerEpoch) {
    fail("STALE_BROKER_EPOCH", `broker ${brokerId} epoch ${epoch} is not the current epoch ${broker.brokerEpoch}; the broker must register again`);
  }
  return broker;
}

function leadsAnyPartition(ctx: ControllerContext, brokerId: number): boolean {
  for (const p of ctx.image.partitions()) if (p.leader === brokerId) return true;
  return false;
}

export function brokerHeartbeat(ctx: ControllerContext, request: v1.BrokerHeartbeatRequest__Output): v1.BrokerHeartbeatResponse {
  const broker = requireBrokerEpoch(ctx, request.brokerId, request.brokerEpoch);
  ctx.liveness.touch(broker.brokerId, ctx.nowMs);
  const epoch = int64(broker.brokerEpoch);
  const caughtUp = int64ToNumber(request.currentMetadataOffset) >= broker.brokerEpoch;
  if (request.wantShutdown) {
    if (!broker.fenced && !broker.inControlledShutdown) {
      ctx.write.add({ brokerFencing: { brokerId: broker.brokerId, brokerEpoch: epoch, fenced: false, inControlledShutdown: true } });
      removeBrokerFromPartitions(ctx, broker.brokerId, "controlled-shutdown");
    }
    // Leadership has moved away: fence it now rather than wait for its session to expire.
    if (!broker.fenced && !leadsAnyPartition(ctx, broker.brokerId)) {
      ctx.write.add({ brokerFencing: { brokerId: broker.brokerId, brokerEpoch: epoch, fenced: true, inControlledShutdown: true } });
    }
  } else if (request.wantFence && !broker.fenced) {
    fenceBroker(ctx, broker, "broker-fenced");
  } else if (broker.fenced && caughtUp && !request.wantFence) {
    ctx.write.add({ brokerFencing: { brokerId: broker.brokerId, brokerEpoch: epoch, fenced: false, inControlledShutdown: false } });
    electLeaderlessPartitions(ctx, broker.brokerId);
  }
  const after = ctx.image.brokers.get(broker.brokerId)!;
  return {
    error: OK,
    isCaughtUp: caughtUp,
    isFenced: after.fenced,
    shouldShutDown: request.wantShutdown && after.fenced,
  };
}

/**
 * Fences every unfenced broker whose connection is lost (its metadata streams to this controller
 * ended the grace ago and it has been silent since), without waiting for its session to expire.
 * Only while at least as many brokers stay connected as are lost: when most connections drop at
 * once the fault is more likely this controller's own network, and session expiry decides.
 */
export function fenceLostConnections(ctx: ControllerContext): number[] {
  const unfenced = [...ctx.image.brokers.values()].filter((b) => !b.fenced).map((b) => b.brokerId);
  const lost = ctx.liveness.connectionLost(unfenced, ctx.nowMs);
  if (lost.length === 0) return [];
  const connected = unfenced.filter((brokerId) => ctx.liveness.hasOpenStream(brokerId)).length;
  if (connected < lost.length) return [];
  for (const brokerId of lost) fenceBroker(ctx, ctx.image.brokers.get(brokerId)!, "broker-connection-lost");
  return lost;
}

/** Fences every active broker whose session has expired; the active controller calls it on each tick. */
export function expireSessions(ctx: ControllerContext): number[] {
  const unfenced = [...ctx.image.brokers.values()].filter((b) => !b.fenced).map((b) => b.brokerId);
  const expired = ctx.liveness.expired(unfenced, ctx.nowMs);
  for (const brokerId of expired) fenceBroker(ctx, ctx.image.brokers.get(brokerId)!, "broker-fenced");
  return expired;
}
