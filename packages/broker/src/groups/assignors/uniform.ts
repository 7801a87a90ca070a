// The uniform (sticky) assignor: every member ends up with as many partitions as any other
// member that could take them (counts differ by at most one when subscriptions are the same),
// and a partition stays with the member that had it unless balance forces it to move.
//
// 1. Keep: each member keeps the partitions of its current target that still exist and that it
//    still subscribes to (the first member in id order wins a partition two members claim).
// 2. Place: every partition nobody kept goes to the eligible member with the fewest partitions
//    (topics with fewer subscribers first, so members with narrow subscriptions are served first).
// 3. Balance: while some member has at least two more partitions than a member that could take
//    one of them, move one across, preferring partitions placed in step 2 over kept ones. Each
//    move lowers the sum of squared counts, so this ends.
import type { Assignment } from "../assignment.js";
import { type Assignor, type AssignorInput, type AssignorMember, sortedMembers } from "./assignor.js";

interface MemberSlot {
  member: AssignorMember;
  subscribed: ReadonlySet<string>;
  /** topic -> partitions, kept in insertion order. */
  owned: Map<string, Set<number>>;
  /** The partitions it kept from its previous target: moved last. */
  kept: Set<string>;
  count: number;
}

const keyOf = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

export const uniformAssignor: Assignor = {
  name: "uniform",
  assign(input: AssignorInput): Map<string, Assignment> {
    const slots = sortedMembers(input.members).map(
      (member): MemberSlot => ({ member, subscribed: new Set(member.subscribedTopicNames), owned: new Map(), kept: new Set(), count: 0 }),
    );
    const taken = new Set<string>();
    keepCurrent(slots, input.partitionCounts, taken);
    placeUnassigned(slots, input.partitionCounts, taken);
    balance(slots);
    const result = new Map<string, Assignment>();
    for (const slot of slots) result.set(slot.member.memberId, slot.owned);
    return result;
  },
};

function give(slot: MemberSlot, topic: string, partition: number): void {
  let set = slot.owned.get(topic);
  if (!set) slot.owned.set(topic, (set = new Set()));
  set.add(partition);
  slot.count++;
}

function take(slot: MemberSlot, topic: string, partition: number): void {
  const set = slot.owned.get(topic);
  if (!set?.delete(partition)) throw new Error(`assertion: ${slot.member.memberId} does not own ${topic}-${partition}`);
  if (set.size === 0) slot.owned.delete(topic);
  slot.kept.delete(keyOf(topic, partition));
  slot.count--;
}

function keepCurrent(slots: MemberSlot[], partitionCounts: ReadonlyMap<string, number>, taken: Set<string>): void {
  for (const slot of slots) {
    for (const [topic, partitions] of slot.member.currentTarget) {
      if (!slot.subscribed.has(topic)) continue;
      const partitionCount = partitionCounts.get(topic) ?? 0;
      for (const partition of [...partitions].sort((a, b) => a - b)) {
        const key = keyOf(topic, partition);
        if (partition >= partitionCount || taken.has(key)) continue;
        taken.add(key);
        give(slot, topic, partition);
        slot.kept.add(key);
      }
    }
  }
}

function placeUnassigned(slots: MemberSlot[], partitionCounts: ReadonlyMap<string, number>, taken: Set<string>): void {
  const topics = [...new Set(slots.flatMap((slot) => [...slot.subscribed]))]
    .map((topic) => ({ topic, subscribers: slots.filter((slot) => slot.subscribed.has(topic)) }))
    .sort((a, b) => a.subscribers.length - b.subscribers.length || (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : 0));
  for (const { topic, subscribers } of topics) {
    const partitionCount = partitionCounts.get(topic) ?? 0;
    for (let partition = 0; partition < partitionCount; partition++) {
      if (taken.has(keyOf(topic, partition))) continue;
      let fewest = subscribers[0]!;
      for (const slot of subscribers) if (slot.count < fewest.count) fewest = slot;
      taken.add(keyOf(topic, partition));
      give(fewest, topic, partition);
    }
  }
}

/** The partition `from` should hand to `to`, or undefined when `to` subscribes to none of them. */
function movablePartition(from: MemberSlot, to: MemberSlot): [string, number] | undefined {
  let best: [string, number] | undefined;
  let bestIsKept = true;
  for (const [topic, partitions] of from.owned) {
    if (!to.subscribed.has(topic)) continue;
    for (const partition of partitions) {
      const isKept = from.kept.has(keyOf(topic, partition));
      // Prefer a partition placed this round; among equals, the highest (topic, partition).
      const better =
        best === undefined ||
        (bestIsKept && !isKept) ||
        (bestIsKept === isKept && (topic > best[0] || (topic === best[0] && partition > best[1])));
      if (better) {
        best = [topic, partition];
        bestIsKept = isKept;
      }
    }
  }
  return best;
}

function balance(slots: MemberSlot[]): void {
  // Each move lowers the sum of squared counts by at least 2, which bounds the loop.
  let movesLeft = slots.reduce((sum, slot) => sum + slot.count * slot.count, 0);
  for (;;) {
    const move = findMove(slots);
    if (!move) return;
    if (movesLeft-- <= 0) throw new Error("assertion: uniform assignor failed to converge");
    const [from, to, [topic, partition]] = move;
    take(from, topic, partition);
    give(to, topic, partition);
  }
}

function findMove(slots: MemberSlot[]): [MemberSlot, MemberSlot, [string, number]] | undefined {
  const byCountDesc = [...slots].sort((a, b) => b.count - a.count);
  const byCountAsc = [...slots].sort((a, b) => a.count - b.count);
  for (const from of byCountDesc) {
    for (const to of byCountAsc) {
      if (from.count <= to.count + 1) break;
      const partition = movablePartition(from, to);
      if (partition) return [from, to, partition];
    }
  }
  return undefined;
}
