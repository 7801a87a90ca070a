// Metadata: any broker answers from its image (topics, partitions, leaders, replicas, ISR,
// live brokers), creating missing topics first when asked and auto.create.topics.enable is on.
import { int64, type MetadataImage, type v1 } from "@tributary/protocol";
import type { BrokerContext } from "./broker-context.js";
import { topicNameProblem } from "./topic-names.js";

const NONE = { code: "NONE", message: "" } as const;

export function handleMetadata(ctx: BrokerContext, request: v1.MetadataRequest__Output): v1.MetadataResponse {
  const image = ctx.image;
  const names = request.allTopics || request.topics.length === 0 ? [...image.topicsByName.keys()].sort() : request.topics;
  const missing: string[] = [];
  const topics: v1.TopicMetadata[] = names.map((name) => {
    const problem = topicNameProblem(name);
    if (problem) return { name, error: { code: "INVALID_TOPIC", message: problem }, partitions: [] };
    const topic = image.topicsByName.get(name);
    if (!topic) {
      const create = request.allowAutoTopicCreation && ctx.config["auto.create.topics.enable"] && !request.allTopics;
      if (create) missing.push(name);
      return create
        ? { name, error: { code: "LEADER_NOT_AVAILABLE", message: `topic ${name} is being created; retry` }, partitions: [] }
        : { name, error: { code: "UNKNOWN_TOPIC_OR_PARTITION", message: `topic ${name} does not exist` }, partitions: [] };
    }
    return {
      name, topicId: topic.topicId, error: NONE, isInternal: name.startsWith("__"),
      partitions: [...topic.partitions.values()].sort((a, b) => a.partition - b.partition).map((p) => ({
        error: p.leader < 0 ? { code: "LEADER_NOT_AVAILABLE", message: `partition ${p.partition} has no leader` } : NONE,
        partition: p.partition, leader: p.leader, leaderEpoch: p.leaderEpoch, replicas: p.replicas, isr: p.isr,
        offlineReplicas: p.replicas.filter((id) => !isLive(image, id)),
      })),
    };
  });
  if (missing.length > 0) ctx.autoCreateTopics(missing);
  return {
    brokers: describeLiveBrokers(image),
    clusterId: image.clusterId,
    controllerId: image.controllerId,
    topics,
    metadataOffset: int64(Math.max(image.lastAppliedOffset, -1)),
  };
}

function isLive(image: MetadataImage, brokerId: number): boolean {
  const broker = image.brokers.get(brokerId);
  return broker !== undefined && !broker.fenced;
}

export function describeLiveBrokers(image: MetadataImage): v1.BrokerDescription[] {
  return image.liveBrokers().map((b) => ({
    nodeId: b.brokerId,
    endpoint: b.listeners[0] ? { host: b.listeners[0].host, port: b.listeners[0].port, listenerName: b.listeners[0].listenerName } : null,
    rack: b.rack,
    fenced: b.fenced,
  }));
}
