// `topics describe` and `topics list` output, in the shape Kafka's kafka-topics.sh prints, so a
// reader of the course sees what the slides show.

export interface PartitionView {
  partition: number;
  /** -1 when the partition has no leader. */
  leader: number;
  replicas: readonly number[];
  isr: readonly number[];
  leaderEpoch?: number;
}

export interface TopicView {
  name: string;
  topicId?: string;
  partitions: readonly PartitionView[];
  /** Only the configs set on the topic (not the defaults), as Kafka shows them. */
  configs: Readonly<Record<string, string>>;
  internal?: boolean;
}

function brokerList(ids: readonly number[]): string {
  return ids.join(",");
}

export function replicationFactorOf(topic: TopicView): number {
  return topic.partitions[0]?.replicas.length ?? 0;
}

/** `Topic: T PartitionCount: N ReplicationFactor: R Configs: k=v,...` then one line per partition. */
export function formatTopicDescription(topic: TopicView): string[] {
  const configs = Object.entries(topic.configs)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, value]) => `${key}=${value}`)
    .join(",");
  const header = `Topic: ${topic.name} PartitionCount: ${topic.partitions.length} ReplicationFactor: ${replicationFactorOf(topic)} Configs: ${configs}`;
  const partitions = [...topic.partitions]
    .sort((a, b) => a.partition - b.partition)
    .map((p) =>
      `Topic: ${topic.name} Partition: ${p.partition} Leader: ${p.leader < 0 ? "none" : p.leader} ` +
      `Replicas: ${brokerList(p.replicas)} Isr: ${brokerList([...p.isr].sort((a, b) => a - b))}`,
    );
  return [header.trimEnd(), ...partitions];
}

export function formatTopicDescriptions(topics: readonly TopicView[]): string[] {
  return [...topics].sort((a, b) => a.name.localeCompare(b.name)).flatMap(formatTopicDescription);
}

/** One name per line, sorted, as `kafka-topics.sh --list` prints them. */
export function formatTopicList(names: readonly string[]): string[] {
  return [...names].sort((a, b) => a.localeCompare(b));
}

/** The --json form of describe: plain data a script can read with jq. */
export function topicToJson(topic: TopicView): Record<string, unknown> {
  return {
    name: topic.name,
    ...(topic.topicId ? { topicId: topic.topicId } : {}),
    partitionCount: topic.partitions.length,
    replicationFactor: replicationFactorOf(topic),
    configs: topic.configs,
    partitions: [...topic.partitions]
      .sort((a, b) => a.partition - b.partition)
      .map((p) => ({ partition: p.partition, leader: p.leader, replicas: p.replicas, isr: p.isr })),
  };
}
