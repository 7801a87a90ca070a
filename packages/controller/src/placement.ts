// Where a new partition's replicas go. Kafka's scheme: walk the brokers round-robin from a start
// that shifts with every partition, so replicas and preferred leaders (the first replica) spread
// evenly; when brokers name racks, walk them in rack-alternating order and prefer a rack the
// partition does not use yet, so one rack failing leaves a replica elsewhere.
import { fail, invariant } from "./errors.js";

export interface PlacementBroker {
  brokerId: number;
  /** Empty when the broker names no rack. */
  rack: string;
}

/** Brokers ordered so consecutive ones sit on different racks: a1, b1, c1, a2, b2, ... */
export function rackAlternatedOrder(brokers: readonly PlacementBroker[]): PlacementBroker[] {
  const byRack = new Map<string, PlacementBroker[]>();
  for (const broker of [...brokers].sort((a, b) => a.brokerId - b.brokerId)) {
    const list = byRack.get(broker.rack) ?? [];
    list.push(broker);
    byRack.set(broker.rack, list);
  }
  const racks = [...byRack.keys()].sort();
  const ordered: PlacementBroker[] = [];
  for (let round = 0; ordered.length < brokers.length; round++) {
    for (const rack of racks) {
      const broker = byRack.get(rack)![round];
      if (broker) ordered.push(broker);
    }
  }
  return ordered;
}

/**
 * Replica lists for partitions `firstPartition .. firstPartition + count - 1`. `startIndex` is
 * where the round-robin begins (the controller advances it between topics so that one-partition
 * topics do not all land their leader on the same broker).
 */
export function placeReplicas(
  brokers: readonly PlacementBroker[],
  count: number,
  replicationFactor: number,
  startIndex: number,
  firstPartition = 0,
): number[][] {
  invariant(count >= 0 && Number.isSafeInteger(startIndex), `bad placement input count=${count} start=${startIndex}`);
  if (replicationFactor > brokers.length) {
    fail("INVALID_REPLICATION_FACTOR", `replication factor ${replicationFactor} is larger than the ${brokers.length} live brokers`);
  }
  const order = rackAlternatedOrder(brokers);
  const brokerCount = order.length;
  const rackCount = new Set(order.map((b) => b.rack)).size;
  const placements: number[][] = [];
  for (let i = 0; i < count; i++) {
    const partition = firstPartition + i;
    const first = (startIndex + partition) % brokerCount;
    // Kafka's shift: followers start a varying distance after the leader, so the followers of
    // one broker's partitions do not all sit on the same next broker.
    const shift = brokerCount > 1 ? Math.floor(partition / brokerCount) % (brokerCount - 1) : 0;
    placements.push(pickReplicas(order, first, shift, replicationFactor, rackCount));
  }
  return placements;
}

function pickReplicas(order: readonly PlacementBroker[], first: number, shift: number, replicationFactor: number, rackCount: number): number[] {
  const chosen: PlacementBroker[] = [order[first]!];
  const usedRacks = new Set([order[first]!.rack]);
  const candidates: PlacementBroker[] = [];
  for (let step = 0; step < order.length - 1; step++) {
    candidates.push(order[(first + 1 + ((shift + step) % (order.length - 1))) % order.length]!);
  }
  while (chosen.length < replicationFactor) {
    const wantNewRack = usedRacks.size < rackCount;
    const next = candidates.find((c) => !chosen.includes(c) && (!wantNewRack || !usedRacks.has(c.rack)))
      ?? candidates.find((c) => !chosen.includes(c));
    invariant(next, "ran out of brokers while placing replicas");
    chosen.push(next);
    usedRacks.add(next.rack);
  }
  return chosen.map((b) => b.brokerId);
}
