// Sets of topic partitions (an assignment) and the set algebra reconciliation needs.
// An Assignment is treated as immutable once built: every helper returns a new one.

export type Assignment = ReadonlyMap<string, ReadonlySet<number>>;

export interface TopicPartitionList {
  topic: string;
  partitions: number[];
}

export const EMPTY_ASSIGNMENT: Assignment = new Map();

/** Builds an assignment from (topic, partitions) lists, dropping empty topics and duplicates. */
export function assignmentOf(lists: Iterable<TopicPartitionList>): Assignment {
  const result = new Map<string, Set<number>>();
  for (const { topic, partitions } of lists) {
    if (partitions.length === 0) continue;
    let set = result.get(topic);
    if (!set) result.set(topic, (set = new Set()));
    for (const partition of partitions) set.add(partition);
  }
  return result;
}

/** Sorted by topic then partition, so responses and stored records are deterministic. */
export function assignmentToList(assignment: Assignment): TopicPartitionList[] {
  return [...assignment.keys()]
    .sort()
    .map((topic) => ({ topic, partitions: [...(assignment.get(topic) ?? [])].sort((a, b) => a - b) }))
    .filter((entry) => entry.partitions.length > 0);
}

export function assignmentSize(assignment: Assignment): number {
  let total = 0;
  for (const set of assignment.values()) total += set.size;
  return total;
}

export function hasPartition(assignment: Assignment, topic: string, partition: number): boolean {
  return assignment.get(topic)?.has(partition) ?? false;
}

function filterAssignment(a: Assignment, keep: (topic: string, partition: number) => boolean): Assignment {
  const result = new Map<string, Set<number>>();
  for (const [topic, partitions] of a) {
    const kept = new Set<number>();
    for (const partition of partitions) if (keep(topic, partition)) kept.add(partition);
    if (kept.size > 0) result.set(topic, kept);
  }
  return result;
}

export function intersect(a: Assignment, b: Assignment): Assignment {
  return filterAssignment(a, (topic, partition) => hasPartition(b, topic, partition));
}

export function subtract(a: Assignment, b: Assignment): Assignment {
  return filterAssignment(a, (topic, partition) => !hasPartition(b, topic, partition));
}

export function union(a: Assignment, b: Assignment): Assignment {
  return assignmentOf([...assignmentToList(a), ...assignmentToList(b)]);
}

export function isSubset(a: Assignment, of: Assignment): boolean {
  for (const [topic, partitions] of a) for (const partition of partitions) if (!hasPartition(of, topic, partition)) return false;
  return true;
}

export function sameAssignment(a: Assignment, b: Assignment): boolean {
  return assignmentSize(a) === assignmentSize(b) && isSubset(a, b);
}

export function overlaps(a: Assignment, b: Assignment): boolean {
  for (const [topic, partitions] of a) for (const partition of partitions) if (hasPartition(b, topic, partition)) return true;
  return false;
}

export function* partitionsOfAssignment(assignment: Assignment): Generator<[string, number]> {
  for (const [topic, partitions] of assignment) for (const partition of partitions) yield [topic, partition];
}
