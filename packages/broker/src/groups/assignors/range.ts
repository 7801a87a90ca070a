// Kafka's RangeAssignor, topic by topic: the members subscribed to a topic, sorted by member id,
// each take a contiguous range of its partitions; the first (partitions % members) take one more.
// Not sticky: it is predictable, and co-partitioned topics land on the same member.
import type { Assignment } from "../assignment.js";
import { type Assignor, type AssignorInput, sortedMembers } from "./assignor.js";

export const rangeAssignor: Assignor = {
  name: "range",
  assign(input: AssignorInput): Map<string, Assignment> {
    const members = sortedMembers(input.members);
    const result = new Map<string, Map<string, Set<number>>>();
    for (const member of members) result.set(member.memberId, new Map());
    const topics = [...new Set(members.flatMap((member) => member.subscribedTopicNames))].sort();
    for (const topic of topics) {
      const partitionCount = input.partitionCounts.get(topic) ?? 0;
      const subscribers = members.filter((member) => member.subscribedTopicNames.includes(topic));
      if (partitionCount === 0 || subscribers.length === 0) continue;
      const perMember = Math.floor(partitionCount / subscribers.length);
      const withExtra = partitionCount % subscribers.length;
      subscribers.forEach((member, index) => {
        const start = perMember * index + Math.min(index, withExtra);
        const length = perMember + (index < withExtra ? 1 : 0);
        if (length === 0) return;
        const partitions = new Set<number>();
        for (let partition = start; partition < start + length; partition++) partitions.add(partition);
        result.get(member.memberId)!.set(topic, partitions);
      });
    }
    return result;
  },
};
