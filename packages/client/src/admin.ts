// Admin: topics, partitions, configs, cluster and groups. Writes go to any broker (it forwards
// them to the active controller); group calls go to the group's coordinator. Each call retries
// retriable errors (NOT_CONTROLLER while a controller election runs, a moved coordinator) and
// raises anything else as a typed error naming the resource.
import { int64ToBigInt, type v1 } from "@tributary/protocol";
import type { Cluster } from "./cluster.js";
import { type TributaryError, errorFor, responseErrorOf } from "./errors.js";
import { CoordinatorLocator, EARLIEST_TIMESTAMP, LATEST_TIMESTAMP, OffsetClient, isCoordinatorError } from "./consumer/offsets.js";
import { type TopicPartition, tpKey } from "./consumer/types.js";
import type { BrokerStubs } from "./connection-pool.js";
import { retrying, sleep } from "./retry.js";
import { unary } from "./rpc.js";

export interface NewTopic {
  topic: string;
  /** Default: the broker's num.partitions. */
  numPartitions?: number;
  /** Default: the broker's default.replication.factor. */
  replicationFactor?: number;
  configs?: Record<string, string>;
  /** partition -> broker ids, instead of the controller's placement. */
  replicaAssignment?: Record<number, number[]>;
}

export interface CreateTopicsOptions {
  timeoutMs?: number;
  validateOnly?: boolean;
  /** Wait until every new partition has a leader visible in metadata (default true). */
  waitForLeaders?: boolean;
}

export interface PartitionDescription {
  partition: number;
  leader: number;
  leaderEpoch: number;
  replicas: number[];
  isr: number[];
  offlineReplicas: number[];
}

export interface TopicDescription {
  name: string;
  topicId: string;
  isInternal: boolean;
  partitions: PartitionDescription[];
}

export interface ConfigResourceRef {
  type: "topic" | "broker";
  name: string;
}

export interface ConfigDescription {
  resource: ConfigResourceRef;
  configs: Array<{ name: string; value: string; isDefault: boolean; readOnly: boolean; sensitive: boolean }>;
}

export interface GroupListing {
  groupId: string;
  state: string;
  protocolType: string;
  coordinatorId: number;
}

export interface GroupPartitionOffset {
  topic: string;
  partition: number;
  committedOffset: bigint | null;
  endOffset: bigint | null;
  /** endOffset - committedOffset; null when nothing is committed. */
  lag: bigint | null;
}

export interface GroupDescription {
  groupId: string;
  state: string;
  groupEpoch: number;
  assignmentEpoch: number;
  assignor: string;
  members: Array<{
    memberId: string;
    clientId: string;
    clientHost: string;
    memberEpoch: number;
    subscribedTopics: string[];
    assignment: TopicPartition[];
    targetAssignment: TopicPartition[];
  }>;
  offsets: GroupPartitionOffset[];
  /** Sum of the partitions' lags. */
  totalLag: bigint;
}

export interface ListedOffset {
  topic: string;
  partition: number;
  offset: bigint;
  timestamp: number;
}

function flatten(list: v1.TopicPartitions__Output[]): TopicPartition[] {
  return list.flatMap((t) => t.partitions.map((partition) => ({ topic: t.topic, partition })));
}

export class Admin {
  private readonly offsetClient: OffsetClient;

  constructor(private readonly cluster: Cluster) {
    this.offsetClient = new OffsetClient(cluster, cluster.options.requestTimeoutMs);
  }

  private get timeoutMs(): number {
    return this.cluster.options.requestTimeoutMs;
  }

  /** A call any broker answers, retried on retriable errors. */
  private anyBroker<T>(operation: string, call: (stubs: BrokerStubs) => Promise<T>): Promise<T> {
    return retrying(() => this.cluster.onAnyBroker(call), {
      policy: this.cluster.options.backoff,
      retries: this.cluster.options.retries,
      timeoutMs: this.timeoutMs,
      operation,
    });
  }

  async createTopics(topics: NewTopic[], options: CreateTopicsOptions = {}): Promise<Array<{ topic: string; topicId: string; numPartitions: number; replicationFactor: number }>> {
    const request: v1.CreateTopicsRequest = {
      timeoutMs: options.timeoutMs ?? this.timeoutMs,
      validateOnly: options.validateOnly ?? false,
      topics: topics.map((t) => ({
        name: t.topic,
        numPartitions: t.numPartitions ?? -1,
        replicationFactor: t.replicationFactor ?? -1,
        configs: t.configs ?? {},
        assignments: Object.entries(t.replicaAssignment ?? {}).map(([partition, brokerIds]) => ({ partition: Number(partition), brokerIds })),
      })),
    };
    const response = await this.anyBroker("CreateTopics", async (stubs) => {
      const answer = await unary<v1.CreateTopicsResponse__Output>((o, cb) => stubs.admin.CreateTopics(request, o, cb), this.timeoutMs, "CreateTopics");
      // A retriable per-topic error (no controller yet) retries the whole call; the others are the caller's.
      const retriable = answer.topics.map((t) => responseErrorOf(t.error, `create topic ${t.name}`)).find((e) => e !== null && e.retriable);
      if (retriable) throw retriable;
      return answer;
    });
    const firstError = response.topics.map((t) => responseErrorOf(t.error, `create topic ${t.name}`)).find((e): e is TributaryError => e !== null);
    if (firstError !== undefined) throw firstError;
    if ((options.waitForLeaders ?? true) && !(options.validateOnly ?? false)) {
      await this.waitForLeaders(response.topics.map((t) => t.name), options.timeoutMs ?? this.timeoutMs);
    }
    return response.topics.map((t) => ({ topic: t.name, topicId: t.topicId, numPartitions: t.numPartitions, replicationFactor: t.replicationFactor }));
  }

  /** Polls metadata until every partition of these topics has a leader. */
  private async waitForLeaders(topics: string[], timeoutMs: number): Promise<void> {
    const deadlineMs = Date.now() + timeoutMs;
    for (;;) {
      const response = await this.cluster.fetchMetadata({ topics, allTopics: false, allowAutoTopicCreation: false });
      const ready = topics.every((name) => {
        const topic = response.topics.find((t) => t.name === name);
        return topic !== undefined && responseErrorOf(topic.error) === null && topic.partitions.length > 0 && topic.partitions.every((p) => p.leader >= 0);
      });
      if (ready) return;
      if (Date.now() >= deadlineMs) throw errorFor("LEADER_NOT_AVAILABLE", `topics ${topics.join(", ")} have no leaders after ${timeoutMs} ms`);
      await sleep(50);
    }
  }

  async deleteTopics(topics: string[], options: { timeoutMs?: number } = {}): Promise<void> {
    const request: v1.DeleteTopicsRequest = { names: topics, timeoutMs: options.timeoutMs ?? this.timeoutMs };
    const response = await this.anyBroker("DeleteTopics", (stubs) =>
      unary<v1.DeleteTopicsResponse__Output>((o, cb) => stubs.admin.DeleteTopics(request, o, cb), this.timeoutMs, "DeleteTopics"),
    );
    for (const t of response.topics) {
      const error = responseErrorOf(t.error, `delete topic ${t.name}`);
      if (error !== null) throw error;
    }
    this.cluster.untrack(topics);
  }

  /** Topic names; internal topics (__consumer_offsets) only when asked. */
  async listTopics(options: { includeInternal?: boolean } = {}): Promise<string[]> {
    const response = await this.anyBroker("Metadata", () => this.cluster.fetchMetadata({ topics: [], allTopics: true, allowAutoTopicCreation: false }));
    return response.topics.filter((t) => options.includeInternal === true || !t.isInternal).map((t) => t.name).sort();
  }

  async describeTopics(topics: string[]): Promise<TopicDescription[]> {
    const response = await this.anyBroker("Metadata", () => this.cluster.fetchMetadata({ topics, allTopics: false, allowAutoTopicCreation: false }));
    return topics.map((name) => {
      const topic = response.topics.find((t) => t.name === name);
      if (topic === undefined) throw errorFor("UNKNOWN_TOPIC_OR_PARTITION", `topic ${name} does not exist`);
      const error = responseErrorOf(topic.error, `describe topic ${name}`);
      if (error !== null) throw error;
      return {
        name,
        topicId: topic.topicId,
        isInternal: topic.isInternal,
        partitions: [...topic.partitions]
          .sort((a, b) => a.partition - b.partition)
          .map((p) => ({ partition: p.partition, leader: p.leader, leaderEpoch: p.leaderEpoch, replicas: p.replicas, isr: p.isr, offlineReplicas: p.offlineReplicas })),
      };
    });
  }

  /** Grows topics to `count` partitions in total. */
  async createPartitions(topics: Array<{ topic: string; count: number; assignments?: number[][] }>, options: { timeoutMs?: number; validateOnly?: boolean } = {}): Promise<void> {
    const request: v1.CreatePartitionsRequest = {
      timeoutMs: options.timeoutMs ?? this.timeoutMs,
      validateOnly: options.validateOnly ?? false,
      topics: topics.map((t) => ({ name: t.topic, count: t.count, assignments: (t.assignments ?? []).map((brokerIds, i) => ({ partition: i, brokerIds })) })),
    };
    const response = await this.anyBroker("CreatePartitions", (stubs) =>
      unary<v1.CreatePartitionsResponse__Output>((o, cb) => stubs.admin.CreatePartitions(request, o, cb), this.timeoutMs, "CreatePartitions"),
    );
    for (const t of response.topics) {
      const error = responseErrorOf(t.error, `create partitions of ${t.name}`);
      if (error !== null) throw error;
    }
    for (const t of topics) this.cluster.metadata.markStale(t.topic);
  }

  async describeCluster(): Promise<{
    clusterId: string;
    controllerId: number;
    brokers: Array<{ nodeId: number; host: string; port: number; rack: string; fenced: boolean; brokerEpoch: bigint; inControlledShutdown: boolean }>;
    controllers: Array<{ nodeId: number; host: string; port: number; isLeader: boolean; term: bigint; reachable: boolean; lastCommittedOffset: bigint }>;
  }> {
    const response = await this.anyBroker("DescribeCluster", (stubs) =>
      unary<v1.DescribeClusterResponse__Output>((o, cb) => stubs.admin.DescribeCluster({}, o, cb), this.timeoutMs, "DescribeCluster"),
    );
    const error = responseErrorOf(response.error, "DescribeCluster");
    if (error !== null) throw error;
    return {
      clusterId: response.clusterId,
      controllerId: response.controllerId,
      brokers: response.brokers.map((b) => ({
        nodeId: b.nodeId,
        host: b.endpoint?.host ?? "",
        port: b.endpoint?.port ?? 0,
        rack: b.rack,
        fenced: b.fenced,
        brokerEpoch: int64ToBigInt(b.brokerEpoch),
        inControlledShutdown: b.inControlledShutdown,
      })),
      controllers: response.controllers.map((c) => ({
        nodeId: c.nodeId,
        host: c.endpoint?.host ?? "",
        port: c.endpoint?.port ?? 0,
        isLeader: c.isLeader,
        term: int64ToBigInt(c.term),
        reachable: c.reachable,
        lastCommittedOffset: int64ToBigInt(c.lastCommittedOffset),
      })),
    };
  }

  async describeConfigs(resources: ConfigResourceRef[], configNames: string[] = []): Promise<ConfigDescription[]> {
    const request: v1.DescribeConfigsRequest = { resources, configNames };
    const response = await this.anyBroker("DescribeConfigs", (stubs) =>
      unary<v1.DescribeConfigsResponse__Output>((o, cb) => stubs.admin.DescribeConfigs(request, o, cb), this.timeoutMs, "DescribeConfigs"),
    );
    return response.results.map((r) => {
      const error = responseErrorOf(r.error, `describe configs of ${r.resource?.type} ${r.resource?.name}`);
      if (error !== null) throw error;
      return {
        resource: { type: (r.resource?.type ?? "topic") as ConfigResourceRef["type"], name: r.resource?.name ?? "" },
        configs: r.configs.map((c) => ({ name: c.name, value: c.value, isDefault: c.isDefault, readOnly: c.readOnly, sensitive: c.sensitive })),
      };
    });
  }

  /** Sets configs (value null: delete, back to the default). */
  async alterConfigs(changes: Array<{ resource: ConfigResourceRef; configs: Record<string, string | null> }>, options: { validateOnly?: boolean } = {}): Promise<void> {
    const request: v1.AlterConfigsRequest = {
      validateOnly: options.validateOnly ?? false,
      resources: changes.map((c) => ({
        resource: c.resource,
        configs: Object.entries(c.configs).map(([name, value]) => (value === null ? { name, operation: "delete", value: "" } : { name, operation: "set", value })),
      })),
    };
    const response = await this.anyBroker("AlterConfigs", (stubs) =>
      unary<v1.AlterConfigsResponse__Output>((o, cb) => stubs.admin.AlterConfigs(request, o, cb), this.timeoutMs, "AlterConfigs"),
    );
    for (const r of response.results) {
      const error = responseErrorOf(r.error, `alter configs of ${r.resource?.type} ${r.resource?.name}`);
      if (error !== null) throw error;
    }
  }

  /** Every group, from every live broker (each lists the groups it coordinates). */
  async listGroups(): Promise<GroupListing[]> {
    await this.cluster.fetchMetadata({ topics: [], allTopics: false, allowAutoTopicCreation: false });
    const brokers = this.cluster.metadata.brokerList();
    const byId = new Map<string, GroupListing>();
    await Promise.all(
      brokers.map(async (broker) => {
        const stubs = this.cluster.stubs(broker.address);
        const response = await unary<v1.ListGroupsResponse__Output>((o, cb) => stubs.groups.ListGroups({ statesFilter: [] }, o, cb), this.timeoutMs, `ListGroups on broker ${broker.nodeId}`);
        const error = responseErrorOf(response.error, `ListGroups on broker ${broker.nodeId}`);
        if (error !== null) throw error;
        for (const g of response.groups) byId.set(g.groupId, { groupId: g.groupId, state: g.state, protocolType: g.protocolType, coordinatorId: g.coordinatorId });
      }),
    );
    return [...byId.values()].sort((a, b) => a.groupId.localeCompare(b.groupId));
  }

  private onCoordinator<T>(groupId: string, operation: string, call: (stubs: BrokerStubs) => Promise<T>): Promise<T> {
    const locator = new CoordinatorLocator(this.cluster, groupId);
    return retrying(async () => call(this.cluster.stubs((await locator.get()).address)), {
      policy: this.cluster.options.backoff,
      retries: this.cluster.options.retries,
      timeoutMs: this.timeoutMs,
      operation,
      onRetriable: (error) => {
        if (isCoordinatorError(error)) locator.forget();
      },
    });
  }

  /** A group's members and assignments, and per partition its committed offset, end offset and lag. */
  async describeGroup(groupId: string): Promise<GroupDescription> {
    const described = await this.onCoordinator(groupId, `DescribeGroups(${groupId})`, async (stubs) => {
      const response = await unary<v1.DescribeGroupsResponse__Output>((o, cb) => stubs.groups.DescribeGroups({ groupIds: [groupId] }, o, cb), this.timeoutMs, `DescribeGroups(${groupId})`);
      const group = response.groups.find((g) => g.groupId === groupId) ?? response.groups[0];
      if (group === undefined) throw errorFor("GROUP_ID_NOT_FOUND", `group ${groupId} was not described`);
      const error = responseErrorOf(group.error, `describe group ${groupId}`);
      if (error !== null) throw error;
      return group;
    });
    const locator = new CoordinatorLocator(this.cluster, groupId);
    const committed = await this.offsetClient.fetchCommitted(locator, []);
    const partitions = new Map<string, TopicPartition>();
    for (const key of committed.keys()) {
      const at = key.lastIndexOf("\u0000");
      partitions.set(key, { topic: key.slice(0, at), partition: Number(key.slice(at + 1)) });
    }
    for (const m of described.members) for (const tp of flatten(m.assignment)) partitions.set(tpKey(tp.topic, tp.partition), tp);
    const ends = partitions.size === 0 ? new Map<string, { offset: number }>() : await this.offsetClient.listOffsets([...partitions.values()], LATEST_TIMESTAMP);
    const offsets: GroupPartitionOffset[] = [...partitions]
      .map(([key, tp]) => {
        const c = committed.get(key);
        const committedOffset = c === undefined || c.offset < 0 ? null : BigInt(c.offset);
        const end = ends.get(key);
        const endOffset = end === undefined ? null : BigInt(end.offset);
        return { ...tp, committedOffset, endOffset, lag: committedOffset === null || endOffset === null ? null : endOffset - committedOffset };
      })
      .sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
    return {
      groupId,
      state: described.state,
      groupEpoch: described.groupEpoch,
      assignmentEpoch: described.assignmentEpoch,
      assignor: described.assignorName,
      members: described.members.map((m) => ({
        memberId: m.memberId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        memberEpoch: m.memberEpoch,
        subscribedTopics: m.subscribedTopicNames,
        assignment: flatten(m.assignment),
        targetAssignment: flatten(m.targetAssignment),
      })),
      offsets,
      totalLag: offsets.reduce((sum, o) => sum + (o.lag ?? 0n), 0n),
    };
  }

  /** Deletes an empty group and its committed offsets (NON_EMPTY_GROUP while it has members). */
  async deleteGroup(groupId: string): Promise<void> {
    await this.onCoordinator(groupId, `DeleteGroups(${groupId})`, async (stubs) => {
      const response = await unary<v1.DeleteGroupsResponse__Output>((o, cb) => stubs.groups.DeleteGroups({ groupIds: [groupId] }, o, cb), this.timeoutMs, `DeleteGroups(${groupId})`);
      for (const r of response.results) {
        const error = responseErrorOf(r.error, `delete group ${r.groupId}`);
        if (error !== null) throw error;
      }
    });
  }

  /** Offsets of every partition of `topic`: "earliest", "latest", or the first at or after a timestamp (ms). */
  async listOffsets(topic: string, spec: "earliest" | "latest" | { timestamp: number } = "latest"): Promise<ListedOffset[]> {
    const count = await this.cluster.waitForTopic(topic, this.timeoutMs);
    const partitions = Array.from({ length: count }, (_, partition) => ({ topic, partition }));
    const timestamp = spec === "earliest" ? EARLIEST_TIMESTAMP : spec === "latest" ? LATEST_TIMESTAMP : spec.timestamp;
    const found = await this.offsetClient.listOffsets(partitions, timestamp);
    return partitions.map(({ partition }) => {
      const entry = found.get(tpKey(topic, partition));
      return { topic, partition, offset: BigInt(entry?.offset ?? -1), timestamp: entry?.timestamp ?? -1 };
    });
  }
}
