// Topic writes: create (with Kafka's validation and even replica placement), delete, add
// partitions and alter configs. Each topic or resource in a request succeeds or fails on its own,
// as in Kafka; a failed one writes nothing.
import { ConfigError, type MetadataImage, NO_LEADER, SERVER_CONFIGS, type v1, parseConfigValue } from "@tributary/protocol";
import { type ControllerContext, eligibility } from "./controller-context.js";
import { fail, OK, toResponseError } from "./errors.js";
import { type PlacementBroker, placeReplicas } from "./placement.js";
import { validatePartitionCount, validateReplicationFactor, validateTopicConfigs, validateTopicName } from "./topic-validation.js";

/** Brokers new replicas may go to: registered, unfenced, not shutting down. */
function placementBrokers(image: MetadataImage): PlacementBroker[] {
  const active = eligibility(image);
  return [...image.brokers.values()].filter((b) => active.isActive(b.brokerId)).map((b) => ({ brokerId: b.brokerId, rack: b.rack }));
}

/** Checks an explicit assignment for partitions firstPartition.. and returns replica lists in partition order. */
function explicitAssignment(image: MetadataImage, assignments: readonly v1.ReplicaAssignment__Output[], firstPartition: number): number[][] {
  const sorted = [...assignments].sort((a, b) => a.partition - b.partition);
  const width = sorted[0]?.brokerIds.length ?? 0;
  sorted.forEach((a, i) => {
    const where = `partition ${a.partition}`;
    if (a.partition !== firstPartition + i) fail("INVALID_REPLICA_ASSIGNMENT", `assignments must cover partitions ${firstPartition}.. once each, in order; found ${where}`);
    if (a.brokerIds.length === 0 || a.brokerIds.length !== width) fail("INVALID_REPLICA_ASSIGNMENT", `${where} lists ${a.brokerIds.length} replicas; every partition must list the same number (at least 1)`);
    if (new Set(a.brokerIds).size !== a.brokerIds.length) fail("INVALID_REPLICA_ASSIGNMENT", `${where} lists a broker twice: ${a.brokerIds.join(",")}`);
    const unknown = a.brokerIds.filter((id) => !image.brokers.has(id));
    if (unknown.length > 0) fail("INVALID_REPLICA_ASSIGNMENT", `${where} names unregistered broker(s) ${unknown.join(",")}`);
  });
  return sorted.map((a) => [...a.brokerIds]);
}

function partitionRecords(ctx: ControllerContext, topicId: string, replicaLists: readonly number[][], firstPartition: number): v1.MetadataRecord[] {
  const active = eligibility(ctx.image);
  return replicaLists.map((replicas, i) => {
    const isr = replicas.filter((id) => active.isActive(id));
    if (isr.length === 0) fail("INVALID_REPLICA_ASSIGNMENT", `every replica of partition ${firstPartition + i} (${replicas.join(",")}) is fenced or shutting down`);
    return { partition: { topicId, partition: firstPartition + i, replicas, isr, leader: isr[0] ?? NO_LEADER, leaderEpoch: 0, partitionEpoch: 0 } };
  });
}

function checkPartitionLimit(ctx: ControllerContext, count: number): void {
  if (count > ctx.settings.maxPartitionsPerRequest) {
    fail("INVALID_PARTITIONS", `${count} partitions exceed the limit of ${ctx.settings.maxPartitionsPerRequest} per request`);
  }
}

function createTopic(ctx: ControllerContext, topic: v1.CreatableTopic__Output, validateOnly: boolean): v1.CreateTopicResult {
  const { image, settings } = ctx;
  validateTopicName(topic.name);
  if (image.topicsByName.has(topic.name)) fail("TOPIC_ALREADY_EXISTS", `topic "${topic.name}" already exists`);
  validateTopicConfigs(topic.configs, settings.server);
  let replicaLists: number[][];
  if (topic.assignments.length > 0) {
    if (topic.numPartitions !== -1 || topic.replicationFactor !== -1) {
      fail("INVALID_REQUEST", "give either explicit assignments or num_partitions/replication_factor (as -1), not both");
    }
    replicaLists = explicitAssignment(image, topic.assignments, 0);
    checkPartitionLimit(ctx, replicaLists.length);
  } else {
    const partitions = topic.numPartitions === -1 ? settings.server["num.partitions"] : topic.numPartitions;
    const replicationFactor = topic.replicationFactor === -1 ? settings.server["default.replication.factor"] : topic.replicationFactor;
    validatePartitionCount(partitions);
    checkPartitionLimit(ctx, partitions);
    const brokers = placementBrokers(image);
    validateReplicationFactor(replicationFactor, brokers.length);
    replicaLists = placeReplicas(brokers, partitions, replicationFactor, ctx.nextPlacementStart(partitions));
  }
  const result = { name: topic.name, error: OK, numPartitions: replicaLists.length, replicationFactor: replicaLists[0]?.length ?? 0 };
  if (validateOnly) {
    partitionRecords(ctx, "validate-only", replicaLists, 0); // the same checks, nothing written
    return { ...result, topicId: "" };
  }
  const topicId = ctx.newTopicId();
  const partitions = partitionRecords(ctx, topicId, replicaLists, 0);
  ctx.write.add({ topic: { name: topic.name, topicId } });
  for (const [name, value] of Object.entries(topic.configs)) ctx.write.add({ config: { resourceType: "topic", resourceName: topic.name, name, value } });
  for (const record of partitions) ctx.write.add(record);
  return { ...result, topicId };
}

function duplicates(names: readonly string[]): Set<string> {
  const seen = new Set<string>();
  const twice = new Set<string>();
  for (const name of names) (seen.has(name) ? twice : seen).add(name);
  return twice;
}

export function createTopics(ctx: ControllerContext, request: v1.CreateTopicsRequest__Output): v1.CreateTopicsResponse {
  const twice = duplicates(request.topics.map((t) => t.name));
  const topics = request.topics.map((topic): v1.CreateTopicResult => {
    try {
      if (twice.has(topic.name)) fail("INVALID_REQUEST", `topic "${topic.name}" appears more than once in the request`);
      return createTopic(ctx, topic, request.validateOnly);
    } catch (error) {
      return { name: topic.name, topicId: "", error: toResponseError(error), numPartitions: 0, replicationFactor: 0 };
    }
  });
  return { topics };
}

export function deleteTopics(ctx: ControllerContext, request: v1.DeleteTopicsRequest__Output): v1.DeleteTopicsResponse {
  const twice = duplicates(request.names);
  const topics = request.names.map((name): v1.DeleteTopicResult => {
    try {
      if (twice.has(name)) fail("INVALID_REQUEST", `topic "${name}" appears more than once in the request`);
      const topic = ctx.image.topicsByName.get(name);
      if (!topic) fail("UNKNOWN_TOPIC_OR_PARTITION", `topic "${name}" does not exist`);
      ctx.write.add({ removeTopic: { topicId: topic.topicId } });
      return { name, error: OK };
    } catch (error) {
      return { name, error: toResponseError(error) };
    }
  });
  return { topics };
}

function createPartitionsFor(ctx: ControllerContext, item: v1.CreatePartitionsTopic__Output, validateOnly: boolean): void {
  const topic = ctx.image.topicsByName.get(item.name);
  if (!topic) fail("UNKNOWN_TOPIC_OR_PARTITION", `topic "${item.name}" does not exist`);
  const current = topic.partitions.size;
  if (item.count <= current) fail("INVALID_PARTITIONS", `topic "${item.name}" has ${current} partitions; the new count ${item.count} must be larger`);
  const added = item.count - current;
  checkPartitionLimit(ctx, added);
  let replicaLists: number[][];
  if (item.assignments.length > 0) {
    if (item.assignments.length !== added) fail("INVALID_REPLICA_ASSIGNMENT", `${added} new partitions need ${added} assignments, got ${item.assignments.length}`);
    replicaLists = explicitAssignment(ctx.image, item.assignments, current);
  } else {
    const replicationFactor = topic.partitions.get(0)?.replicas.length ?? ctx.settings.server["default.replication.factor"];
    const brokers = placementBrokers(ctx.image);
    validateReplicationFactor(replicationFactor, brokers.length);
    replicaLists = placeReplicas(brokers, added, replicationFactor, ctx.nextPlacementStart(added), current);
  }
  const records = partitionRecords(ctx, topic.topicId, replicaLists, current);
  if (!validateOnly) for (const record of records) ctx.write.add(record);
}

export function createPartitions(ctx: ControllerContext, request: v1.CreatePartitionsRequest__Output): v1.CreatePartitionsResponse {
  const twice = duplicates(request.topics.map((t) => t.name));
  const topics = request.topics.map((item): v1.CreatePartitionsResult => {
    try {
      if (twice.has(item.name)) fail("INVALID_REQUEST", `topic "${item.name}" appears more than once in the request`);
      createPartitionsFor(ctx, item, request.validateOnly);
      return { name: item.name, error: OK };
    } catch (error) {
      return { name: item.name, error: toResponseError(error) };
    }
  });
  return { topics };
}

const SERVER_CONFIG_BY_NAME = new Map(SERVER_CONFIGS.map((d) => [d.name as string, d]));

function alterResource(ctx: ControllerContext, resource: v1.AlterConfigsResource__Output, validateOnly: boolean): void {
  const type = resource.resource?.type ?? "";
  const name = resource.resource?.name ?? "";
  let current: Map<string, string>;
  if (type === "topic") {
    const topic = ctx.image.topicsByName.get(name);
    if (!topic) fail("UNKNOWN_TOPIC_OR_PARTITION", `topic "${name}" does not exist`);
    current = topic.configs;
  } else if (type === "broker") {
    if (name !== "" && !ctx.image.brokers.has(Number(name))) fail("RESOURCE_NOT_FOUND", `broker "${name}" is not registered`);
    current = ctx.image.brokerConfigs.get(name) ?? new Map();
  } else {
    fail("INVALID_REQUEST", `resource type "${type}" is not "topic" or "broker"`);
  }
  const next = new Map(current);
  for (const change of resource.configs) {
    if (change.operation === "set" || change.operation === "") next.set(change.name, change.value);
    else if (change.operation === "delete") next.delete(change.name);
    else fail("INVALID_REQUEST", `config operation "${change.operation}" is not "set" or "delete"`);
  }
  if (type === "topic") validateTopicConfigs(Object.fromEntries(next), ctx.settings.server);
  else {
    for (const [key, value] of next) {
      const def = SERVER_CONFIG_BY_NAME.get(key);
      if (!def) fail("INVALID_CONFIG", `unknown broker config "${key}"`);
      try {
        parseConfigValue(def, value, "broker config");
      } catch (error) {
        if (error instanceof ConfigError) fail("INVALID_CONFIG", error.message);
        throw error;
      }
    }
  }
  if (validateOnly) return;
  for (const change of resource.configs) {
    const value = change.operation === "delete" ? {} : { value: change.value };
    ctx.write.add({ config: { resourceType: type, resourceName: name, name: change.name, ...value } });
  }
}

export function alterConfigs(ctx: ControllerContext, request: v1.AlterConfigsRequest__Output): v1.AlterConfigsResponse {
  const results = request.resources.map((resource): v1.AlterConfigsResult => {
    try {
      alterResource(ctx, resource, request.validateOnly);
      return { resource: resource.resource, error: OK };
    } catch (error) {
      return { resource: resource.resource, error: toResponseError(error) };
    }
  });
  return { results };
}
