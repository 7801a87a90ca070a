// The ClusterSession implemented with @tributary/client: admin calls, a bytes producer and a
// bytes consumer, their results turned into the views the formatters print.
import { type Admin, type Consumer, type Producer, serializers, Tributary, TributaryError } from "@tributary/client";
import { CliError } from "../errors.js";
import type { ClusterView } from "../format/cluster.js";
import type { GroupPartitionView, GroupView } from "../format/groups.js";
import type { TopicView } from "../format/topics.js";
import type {
  Acks, CliConsumer, CliProducer, ClusterSession, ConsumedRecord, ConsumeSpec, CreateTopicSpec, ResetOffsetResult, ResetOffsetsSpec,
} from "./session.js";

/** Admin calls from the CLI fail fast: a person is waiting at the terminal. */
const REQUEST_TIMEOUT_MS = 10_000;
const RETRIES = 3;

type Bytes = Buffer | null;

async function topicConfigs(admin: Admin, name: string): Promise<Record<string, string>> {
  const [described] = await admin.describeConfigs([{ type: "topic", name }]);
  const configs: Record<string, string> = {};
  for (const entry of described?.configs ?? []) if (!entry.isDefault) configs[entry.name] = entry.value;
  return configs;
}

class SdkProducer implements CliProducer {
  constructor(private readonly producer: Producer<Bytes, Bytes>) {}

  async send(record: { topic: string; key: Buffer | null; value: Buffer; partition?: number }): Promise<{ partition: number; offset: bigint }> {
    const metadata = await this.producer.send({
      topic: record.topic, key: record.key, value: record.value, ...(record.partition !== undefined ? { partition: record.partition } : {}),
    });
    return { partition: metadata.partition, offset: metadata.offset };
  }

  flush(): Promise<void> {
    return this.producer.flush();
  }

  close(): Promise<void> {
    return this.producer.close();
  }
}

class SdkConsumer implements CliConsumer {
  constructor(private readonly consumer: Consumer<Bytes, Bytes>, private readonly hasGroup: boolean) {}

  async poll(maxWaitMs: number): Promise<ConsumedRecord[]> {
    const records = await this.consumer.poll(maxWaitMs);
    return records.map((r) => ({ topic: r.topic, partition: r.partition, offset: r.offset, timestampMs: r.timestamp, key: r.key, value: r.value }));
  }

  async commit(records: readonly ConsumedRecord[]): Promise<void> {
    if (!this.hasGroup || records.length === 0) return;
    const next = new Map<string, { topic: string; partition: number; offset: bigint }>();
    for (const r of records) {
      const key = `${r.topic}\u0000${r.partition}`;
      const offset = r.offset + 1n;
      if ((next.get(key)?.offset ?? -1n) < offset) next.set(key, { topic: r.topic, partition: r.partition, offset });
    }
    await this.consumer.commitSync([...next.values()]);
  }

  close(): Promise<void> {
    return this.consumer.close();
  }
}

class SdkSession implements ClusterSession {
  private readonly client: Tributary;
  private adminClient: Admin | undefined;

  constructor(bootstrapServers: string[], clientId: string) {
    this.client = new Tributary({ bootstrapServers, clientId, requestTimeoutMs: REQUEST_TIMEOUT_MS, retries: RETRIES });
  }

  private get admin(): Admin {
    this.adminClient ??= this.client.admin();
    return this.adminClient;
  }

  listTopics(options: { includeInternal: boolean }): Promise<string[]> {
    return this.admin.listTopics(options);
  }

  async describeTopics(names: string[] | undefined): Promise<TopicView[]> {
    const wanted = names ?? (await this.admin.listTopics({ includeInternal: true }));
    if (wanted.length === 0) return [];
    const described = await this.admin.describeTopics(wanted);
    return Promise.all(described.map(async (topic) => ({
      name: topic.name,
      topicId: topic.topicId,
      internal: topic.isInternal,
      configs: await topicConfigs(this.admin, topic.name),
      partitions: topic.partitions.map((p) => ({ partition: p.partition, leader: p.leader, leaderEpoch: p.leaderEpoch, replicas: p.replicas, isr: p.isr })),
    })));
  }

  async createTopic(spec: CreateTopicSpec): Promise<boolean> {
    try {
      await this.admin.createTopics([{
        topic: spec.name,
        ...(spec.partitions !== undefined ? { numPartitions: spec.partitions } : {}),
        ...(spec.replicationFactor !== undefined ? { replicationFactor: spec.replicationFactor } : {}),
        configs: spec.configs,
      }]);
      return true;
    } catch (error) {
      if (spec.ifNotExists && error instanceof TributaryError && error.code === "TOPIC_ALREADY_EXISTS") return false;
      throw error;
    }
  }

  deleteTopic(name: string): Promise<void> {
    return this.admin.deleteTopics([name]);
  }

  createPartitions(name: string, totalCount: number): Promise<void> {
    return this.admin.createPartitions([{ topic: name, count: totalCount }]);
  }

  alterTopicConfigs(name: string, set: Record<string, string>, deleted: string[]): Promise<void> {
    const configs: Record<string, string | null> = { ...set };
    for (const key of deleted) configs[key] = null;
    return this.admin.alterConfigs([{ resource: { type: "topic", name }, configs }]);
  }

  async describeCluster(): Promise<ClusterView> {
    const cluster = await this.admin.describeCluster();
    return {
      clusterId: cluster.clusterId,
      controllerId: cluster.controllerId,
      controllers: cluster.controllers.map((c) => ({
        nodeId: c.nodeId, host: c.host, port: c.port, isLeader: c.isLeader, term: Number(c.term), reachable: c.reachable,
      })),
      brokers: cluster.brokers.map((b) => ({ nodeId: b.nodeId, host: b.host, port: b.port, rack: b.rack, fenced: b.fenced })),
    };
  }

  async listGroups(): Promise<{ groupId: string; state: string }[]> {
    return (await this.admin.listGroups()).map((g) => ({ groupId: g.groupId, state: g.state }));
  }

  async describeGroup(groupId: string): Promise<GroupView> {
    const group = await this.admin.describeGroup(groupId);
    const listing = (await this.admin.listGroups().catch(() => [])).find((g) => g.groupId === groupId);
    const owner = new Map<string, { memberId: string; clientId: string; host: string }>();
    for (const member of group.members) {
      for (const tp of member.assignment) owner.set(`${tp.topic}-${tp.partition}`, { memberId: member.memberId, clientId: member.clientId, host: member.clientHost });
    }
    const partitions: GroupPartitionView[] = group.offsets.map((o) => {
      const assigned = owner.get(`${o.topic}-${o.partition}`);
      return {
        topic: o.topic, partition: o.partition, committedOffset: o.committedOffset, logEndOffset: o.endOffset,
        ...(assigned ? { memberId: assigned.memberId, clientId: assigned.clientId, host: assigned.host } : {}),
      };
    });
    return {
      groupId: group.groupId,
      state: group.state,
      ...(listing && listing.coordinatorId >= 0 ? { coordinator: listing.coordinatorId } : {}),
      members: group.members.map((m) => ({
        memberId: m.memberId, clientId: m.clientId, host: m.clientHost,
        assignments: groupByTopic(m.assignment),
      })),
      partitions,
    };
  }

  async resetOffsets(spec: ResetOffsetsSpec): Promise<ResetOffsetResult[]> {
    const group = await this.admin.describeGroup(spec.groupId).catch((error: unknown) => {
      // A group that never committed does not exist yet; resetting creates its offsets.
      if (error instanceof TributaryError && error.code === "GROUP_ID_NOT_FOUND") return undefined;
      throw error;
    });
    if (group && group.members.length > 0) {
      throw new CliError(`group ${spec.groupId} has ${group.members.length} active member(s)`, "stop its consumers first, then reset");
    }
    const target = spec.target;
    let targets: { partition: number; offset: bigint }[];
    if (target.kind === "offset") {
      // As Kafka's tool does, an offset outside the log is moved to the nearest end of it.
      const [earliest, latest] = await Promise.all([this.admin.listOffsets(spec.topic, "earliest"), this.admin.listOffsets(spec.topic, "latest")]);
      targets = latest.map((end) => {
        const start = earliest.find((e) => e.partition === end.partition)?.offset ?? 0n;
        const offset = target.offset < start ? start : target.offset > end.offset ? end.offset : target.offset;
        return { partition: end.partition, offset };
      });
    } else {
      targets = await this.admin.listOffsets(spec.topic, target.kind);
    }
    const chosen = targets.filter((t) => spec.partition === undefined || t.partition === spec.partition);
    if (chosen.length === 0) throw new CliError(`topic ${spec.topic} has no partition ${spec.partition}`);
    const result = chosen.map((t) => ({ topic: spec.topic, partition: t.partition, newOffset: t.offset }));
    if (spec.dryRun) return result;
    const consumer = this.client.consumer<Bytes, Bytes>({
      groupId: spec.groupId, keyDeserializer: serializers.bytes, valueDeserializer: serializers.bytes, enableAutoCommit: false,
    });
    try {
      await consumer.commitSync(result.map((r) => ({ topic: r.topic, partition: r.partition, offset: r.newOffset })));
    } finally {
      await consumer.close();
    }
    return result;
  }

  async producer(options: { acks: Acks; lingerMs?: number; batchBytes?: number }): Promise<CliProducer> {
    const acks = options.acks === "all" ? "all" : options.acks === "1" ? 1 : 0;
    const producer = this.client.producer<Bytes, Bytes>({
      keySerializer: serializers.bytes,
      valueSerializer: serializers.bytes,
      acks,
      idempotent: acks === "all",
      ...(options.lingerMs !== undefined ? { lingerMs: options.lingerMs } : {}),
      ...(options.batchBytes !== undefined ? { batchSizeBytes: options.batchBytes } : {}),
    });
    return new SdkProducer(producer);
  }

  async consumer(spec: ConsumeSpec): Promise<CliConsumer> {
    const consumer = this.client.consumer<Bytes, Bytes>({
      ...(spec.groupId !== undefined ? { groupId: spec.groupId } : {}),
      keyDeserializer: serializers.bytes,
      valueDeserializer: serializers.bytes,
      autoOffsetReset: spec.fromBeginning ? "earliest" : "latest",
      enableAutoCommit: false,
    });
    try {
      if (spec.partition !== undefined) {
        const tp = { topic: spec.topic, partition: spec.partition };
        consumer.assign([tp]);
        if (spec.offset === "earliest") consumer.seekToBeginning([tp]);
        else if (spec.offset === "latest") consumer.seekToEnd([tp]);
        else if (spec.offset !== undefined) consumer.seek(tp, spec.offset);
      } else if (spec.groupId !== undefined) {
        await consumer.subscribe([spec.topic]);
      } else {
        const [topic] = await this.admin.describeTopics([spec.topic]);
        consumer.assign(topic!.partitions.map((p) => ({ topic: spec.topic, partition: p.partition })));
      }
    } catch (error) {
      await consumer.close();
      throw error;
    }
    return new SdkConsumer(consumer, spec.groupId !== undefined);
  }

  close(): Promise<void> {
    return this.client.close();
  }
}

function groupByTopic(partitions: readonly { topic: string; partition: number }[]): { topic: string; partitions: number[] }[] {
  const byTopic = new Map<string, number[]>();
  for (const { topic, partition } of partitions) byTopic.set(topic, [...(byTopic.get(topic) ?? []), partition]);
  return [...byTopic.entries()].map(([topic, list]) => ({ topic, partitions: list.sort((a, b) => a - b) }));
}

/** `clientId` names the command in brokers' logs and in `groups describe` (console-consumer, ...). */
export async function openSdkSession(bootstrapServers: string[], options: { verbose: boolean; clientId: string }): Promise<ClusterSession> {
  return new SdkSession(bootstrapServers, options.clientId);
}
