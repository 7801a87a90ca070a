// ISR changes asked for by partition leaders (AlterPartition, checked against the partition
// epoch so a change computed from stale state is refused), leader elections asked for by
// admins (ElectLeaders), and the periodic move of leadership back to preferred replicas.
import { NO_LEADER, type PartitionImage, type v1 } from "@tributary/protocol";
import { requireBrokerEpoch } from "./broker-operations.js";
import { type ControllerContext, eligibility, uncleanElectionAllowed } from "./controller-context.js";
import { fail, OK, toResponseError } from "./errors.js";
import { buildPartitionChange } from "./partition-leadership.js";

function requirePartition(ctx: ControllerContext, topic: string, partition: number): PartitionImage {
  const found = ctx.image.partition(topic, partition);
  if (!found) fail("UNKNOWN_TOPIC_OR_PARTITION", `partition ${topic}-${partition} does not exist`);
  return found;
}

function validateIsrChange(ctx: ControllerContext, brokerId: number, partition: PartitionImage, item: v1.AlterPartitionItem__Output): void {
  const name = `${item.topic}-${item.partition}`;
  if (partition.leader !== brokerId) fail("NOT_LEADER_OR_FOLLOWER", `broker ${brokerId} does not lead ${name} (the leader is ${partition.leader})`);
  if (item.leaderEpoch < partition.leaderEpoch) {
    fail("FENCED_LEADER_EPOCH", `leader epoch ${item.leaderEpoch} of ${name} is older than the current ${partition.leaderEpoch}`);
  }
  if (item.leaderEpoch > partition.leaderEpoch) {
    fail("UNKNOWN_LEADER_EPOCH", `leader epoch ${item.leaderEpoch} of ${name} is newer than the controller's ${partition.leaderEpoch}`);
  }
  if (item.partitionEpoch !== partition.partitionEpoch) {
    fail("INVALID_UPDATE_VERSION", `partition epoch ${item.partitionEpoch} of ${name} is not the current ${partition.partitionEpoch}; refresh metadata and retry`);
  }
  if (!item.newIsr.includes(brokerId)) fail("INVALID_REQUEST", `the new ISR ${item.newIsr.join(",")} of ${name} must include its leader ${brokerId}`);
  if (new Set(item.newIsr).size !== item.newIsr.length) fail("INVALID_REQUEST", `the new ISR ${item.newIsr.join(",")} of ${name} lists a broker twice`);
  const active = eligibility(ctx.image);
  for (const member of item.newIsr) {
    if (!partition.replicas.includes(member)) fail("INELIGIBLE_REPLICA", `broker ${member} is not a replica of ${name}`);
    if (!active.isActive(member)) fail("INELIGIBLE_REPLICA", `broker ${member} is fenced or shutting down and cannot join the ISR of ${name}`);
  }
}

function partitionResult(item: { topic: string; partition: number }, p: PartitionImage): v1.AlterPartitionItemResult {
  return { topic: item.topic, partition: item.partition, error: OK, leader: p.leader, leaderEpoch: p.leaderEpoch, isr: [...p.isr], partitionEpoch: p.partitionEpoch };
}

export function alterPartition(ctx: ControllerContext, request: v1.AlterPartitionRequest__Output): v1.AlterPartitionResponse {
  requireBrokerEpoch(ctx, request.brokerId, request.brokerEpoch);
  const partitions = request.partitions.map((item): v1.AlterPartitionItemResult => {
    try {
      const partition = requirePartition(ctx, item.topic, item.partition);
      validateIsrChange(ctx, request.brokerId, partition, item);
      const change = buildPartitionChange(partition, eligibility(ctx.image), { targetIsr: item.newIsr, uncleanElectionAllowed: false, reason: "isr-change" });
      if (change) ctx.write.add({ partitionChange: change });
      return partitionResult(item, partition);
    } catch (error) {
      return { topic: item.topic, partition: item.partition, error: toResponseError(error) };
    }
  });
  return { error: OK, partitions };
}

function electPreferred(ctx: ControllerContext, p: PartitionImage): void {
  const preferred = p.replicas[0]!;
  if (p.leader === preferred) fail("ELECTION_NOT_NEEDED", `${p.topicName}-${p.partition} is already led by its preferred replica ${preferred}`);
  if (!p.isr.includes(preferred) || !eligibility(ctx.image).isActive(preferred)) {
    fail("ELIGIBLE_LEADERS_NOT_AVAILABLE", `preferred replica ${preferred} of ${p.topicName}-${p.partition} is not an active ISR member`);
  }
  const change = buildPartitionChange(p, eligibility(ctx.image), { preferPreferredLeader: true, uncleanElectionAllowed: false, reason: "preferred-leader" });
  if (change) ctx.write.add({ partitionChange: change });
}

function electUnclean(ctx: ControllerContext, p: PartitionImage): void {
  if (p.leader !== NO_LEADER) fail("ELECTION_NOT_NEEDED", `${p.topicName}-${p.partition} has a leader (${p.leader})`);
  const change = buildPartitionChange(p, eligibility(ctx.image), { uncleanElectionAllowed: true, reason: "unclean-election" });
  if (!change || change.leader === undefined || change.leader === NO_LEADER) {
    fail("ELIGIBLE_LEADERS_NOT_AVAILABLE", `no replica of ${p.topicName}-${p.partition} (${p.replicas.join(",")}) is active`);
  }
  ctx.write.add({ partitionChange: change });
}

export function electLeaders(ctx: ControllerContext, request: v1.ElectLeadersRequest__Output): v1.ElectLeadersResponse {
  const type = request.electionType;
  const all = request.partitions.length === 0;
  const targets = all
    ? [...ctx.image.partitions()].map((p) => ({ topic: p.topicName, partition: p.partition }))
    : request.partitions.map((tp) => ({ topic: tp.topic, partition: tp.partition }));
  const results: v1.ElectLeadersResult[] = [];
  for (const target of targets) {
    try {
      if (type !== "preferred" && type !== "unclean") fail("INVALID_REQUEST", `election type "${type}" is not "preferred" or "unclean"`);
      const p = requirePartition(ctx, target.topic, target.partition);
      if (type === "preferred") electPreferred(ctx, p);
      else electUnclean(ctx, p);
      results.push({ partition: target, error: OK });
    } catch (error) {
      const response = toResponseError(error);
      // Asked for every partition: report only those that needed an election.
      if (!(all && response.code === "ELECTION_NOT_NEEDED")) results.push({ partition: target, error: response });
    }
  }
  return { results };
}

/** Moves leadership back to each preferred replica that is an active ISR member (periodic). */
export function balancePreferredLeaders(ctx: ControllerContext): number {
  const active = eligibility(ctx.image);
  const candidates = [...ctx.image.partitions()].filter((p) => {
    const preferred = p.replicas[0];
    return preferred !== undefined && p.leader !== preferred && p.isr.includes(preferred) && active.isActive(preferred);
  });
  for (const p of candidates) {
    const change = buildPartitionChange(p, active, { preferPreferredLeader: true, uncleanElectionAllowed: uncleanElectionAllowed(ctx.image, p.topicName, ctx.settings.server), reason: "preferred-leader" });
    if (change) ctx.write.add({ partitionChange: change });
  }
  return candidates.length;
}

export function allocateProducerIds(ctx: ControllerContext, request: v1.AllocateProducerIdsRequest__Output): v1.AllocateProducerIdsResponse {
  requireBrokerEpoch(ctx, request.brokerId, request.brokerEpoch);
  const start = ctx.image.nextProducerId;
  const length = ctx.settings.producerIdBlockSize;
  ctx.write.add({ producerIds: { brokerId: request.brokerId, brokerEpoch: request.brokerEpoch, nextProducerId: String(start + length) } });
  return { error: OK, producerIdStart: String(start), producerIdLen: length };
}
