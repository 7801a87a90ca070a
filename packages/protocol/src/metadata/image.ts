// The cluster metadata image: what the committed metadata log says, applied record by record.
// The controller builds it from its Raft log; every broker builds the same image from the
// metadata stream. Pure: no I/O, no clocks. Applying the same records in the same order gives
// the same image on every node, which is what makes the log the single source of truth.
import type * as v1 from "../generated/tributary/v1/index.js";
import { int64ToNumber } from "../int64.js";

export interface BrokerImage {
  brokerId: number;
  brokerEpoch: number;
  incarnationId: string;
  listeners: { host: string; port: number; listenerName: string }[];
  rack: string;
  fenced: boolean;
  inControlledShutdown: boolean;
}

export interface PartitionImage {
  topicId: string;
  topicName: string;
  partition: number;
  /** The first replica is the preferred leader. */
  replicas: number[];
  isr: number[];
  /** -1 when the partition has no leader. */
  leader: number;
  leaderEpoch: number;
  partitionEpoch: number;
}

export interface TopicImage {
  name: string;
  topicId: string;
  partitions: Map<number, PartitionImage>;
  /** Per-topic overrides only; effective values come from resolveTopicConfig. */
  configs: Map<string, string>;
}

export const NO_LEADER = -1;

export class MetadataImage {
  clusterId = "";
  /** Offset of the last record applied; -1 before any. */
  lastAppliedOffset = -1;
  readonly brokers = new Map<number, BrokerImage>();
  readonly topicsByName = new Map<string, TopicImage>();
  readonly topicsById = new Map<string, TopicImage>();
  /** Broker-level dynamic configs: broker id ("" for the cluster default) -> key -> value. */
  readonly brokerConfigs = new Map<string, Map<string, string>>();
  nextProducerId = 0;
  controllerId = -1;
  controllerTerm = -1;

  /** Applies one committed record at `offset`; offsets must increase. */
  apply(offset: number, record: v1.MetadataRecord__Output): void {
    if (offset <= this.lastAppliedOffset) {
      throw new Error(`metadata offset ${offset} applied after ${this.lastAppliedOffset}: records must be applied once, in order`);
    }
    this.applyRecord(record);
    this.lastAppliedOffset = offset;
  }

  private applyRecord(record: v1.MetadataRecord__Output): void {
    switch (record.record) {
      case "brokerRegistration":
        return this.applyBrokerRegistration(record.brokerRegistration!);
      case "brokerFencing":
        return this.applyBrokerFencing(record.brokerFencing!);
      case "brokerUnregistration":
        this.brokers.delete(record.brokerUnregistration!.brokerId);
        return;
      case "topic":
        return this.applyTopic(record.topic!);
      case "partition":
        return this.applyPartition(record.partition!);
      case "partitionChange":
        return this.applyPartitionChange(record.partitionChange!);
      case "removeTopic":
        return this.applyRemoveTopic(record.removeTopic!);
      case "config":
        return this.applyConfig(record.config!);
      case "producerIds":
        this.nextProducerId = int64ToNumber(record.producerIds!.nextProducerId);
        return;
      case "controllerChange":
        this.controllerId = record.controllerChange!.controllerId;
        this.controllerTerm = int64ToNumber(record.controllerChange!.term);
        return;
      default:
        // A record type from a newer version: skipping it keeps older nodes running; the
        // fields they do understand are still applied consistently.
        return;
    }
  }

  private applyBrokerRegistration(r: v1.BrokerRegistrationRecord__Output): void {
    this.brokers.set(r.brokerId, {
      brokerId: r.brokerId,
      brokerEpoch: int64ToNumber(r.brokerEpoch),
      incarnationId: r.incarnationId,
      listeners: r.listeners.map((l) => ({ host: l.host, port: l.port, listenerName: l.listenerName })),
      rack: r.rack,
      fenced: r.fenced,
      inControlledShutdown: false,
    });
  }

  private applyBrokerFencing(r: v1.BrokerFencingRecord__Output): void {
    const broker = this.brokers.get(r.brokerId);
    if (!broker || broker.brokerEpoch !== int64ToNumber(r.brokerEpoch)) return; // stale: a newer registration won
    broker.fenced = r.fenced;
    broker.inControlledShutdown = r.inControlledShutdown;
  }

  private applyTopic(r: v1.TopicRecord__Output): void {
    const topic: TopicImage = { name: r.name, topicId: r.topicId, partitions: new Map(), configs: new Map() };
    // Configs set before the topic record (in the same batch) belong to the new topic.
    const pending = this.pendingTopicConfigs.get(r.name);
    if (pending) {
      for (const [k, v] of pending) topic.configs.set(k, v);
      this.pendingTopicConfigs.delete(r.name);
    }
    this.topicsByName.set(r.name, topic);
    this.topicsById.set(r.topicId, topic);
  }

  private readonly pendingTopicConfigs = new Map<string, Map<string, string>>();

  private applyPartition(r: v1.PartitionRecord__Output): void {
    const topic = this.topicsById.get(r.topicId);
    if (!topic) throw new Error(`partition record for unknown topic id ${r.topicId}`);
    topic.partitions.set(r.partition, {
      topicId: r.topicId,
      topicName: topic.name,
      partition: r.partition,
      replicas: [...r.replicas],
      isr: [...r.isr],
      leader: r.leader,
      leaderEpoch: r.leaderEpoch,
      partitionEpoch: r.partitionEpoch,
    });
  }

  private applyPartitionChange(r: v1.PartitionChangeRecord__Output): void {
    const partition = this.topicsById.get(r.topicId)?.partitions.get(r.partition);
    if (!partition) return; // the topic was deleted in between
    if (r.leader !== undefined && r.leader !== null) partition.leader = r.leader;
    if (r.isrChanged) partition.isr = [...r.isr];
    if (r.replicasChanged) partition.replicas = [...r.replicas];
    partition.leaderEpoch = r.leaderEpoch;
    partition.partitionEpoch = r.partitionEpoch;
  }

  private applyRemoveTopic(r: v1.RemoveTopicRecord__Output): void {
    const topic = this.topicsById.get(r.topicId);
    if (!topic) return;
    this.topicsById.delete(r.topicId);
    if (this.topicsByName.get(topic.name) === topic) this.topicsByName.delete(topic.name);
  }

  private applyConfig(r: v1.ConfigRecord__Output): void {
    let target: Map<string, string> | undefined;
    if (r.resourceType === "topic") {
      const topic = this.topicsByName.get(r.resourceName);
      if (topic) target = topic.configs;
      else {
        target = this.pendingTopicConfigs.get(r.resourceName) ?? new Map();
        this.pendingTopicConfigs.set(r.resourceName, target);
      }
    } else {
      target = this.brokerConfigs.get(r.resourceName) ?? new Map();
      this.brokerConfigs.set(r.resourceName, target);
    }
    if (r.value === undefined || r.value === null) target.delete(r.name);
    else target.set(r.name, r.value);
  }

  /** Every partition, in topic then partition order. */
  *partitions(): Generator<PartitionImage> {
    for (const topic of this.topicsByName.values()) yield* topic.partitions.values();
  }

  partition(topic: string, partition: number): PartitionImage | undefined {
    return this.topicsByName.get(topic)?.partitions.get(partition);
  }

  liveBrokers(): BrokerImage[] {
    return [...this.brokers.values()].filter((b) => !b.fenced).sort((a, b) => a.brokerId - b.brokerId);
  }

  /** Records that rebuild this image when applied to an empty one: the body of a snapshot. */
  toRecords(): v1.MetadataRecord[] {
    const records: v1.MetadataRecord[] = [];
    if (this.controllerId >= 0) {
      records.push({ controllerChange: { controllerId: this.controllerId, term: String(this.controllerTerm) } });
    }
    for (const b of this.brokers.values()) {
      records.push({
        brokerRegistration: {
          brokerId: b.brokerId, brokerEpoch: String(b.brokerEpoch), incarnationId: b.incarnationId,
          listeners: b.listeners, rack: b.rack, fenced: b.fenced,
        },
      });
      if (b.inControlledShutdown) {
        records.push({ brokerFencing: { brokerId: b.brokerId, brokerEpoch: String(b.brokerEpoch), fenced: b.fenced, inControlledShutdown: true } });
      }
    }
    for (const topic of this.topicsByName.values()) {
      records.push({ topic: { name: topic.name, topicId: topic.topicId } });
      for (const [name, value] of topic.configs) records.push({ config: { resourceType: "topic", resourceName: topic.name, name, value } });
      for (const p of topic.partitions.values()) {
        records.push({
          partition: {
            topicId: p.topicId, partition: p.partition, replicas: p.replicas, isr: p.isr,
            leader: p.leader, leaderEpoch: p.leaderEpoch, partitionEpoch: p.partitionEpoch,
          },
        });
      }
    }
    for (const [resourceName, configs] of this.brokerConfigs) {
      for (const [name, value] of configs) records.push({ config: { resourceType: "broker", resourceName, name, value } });
    }
    records.push({ producerIds: { brokerId: -1, brokerEpoch: "-1", nextProducerId: String(this.nextProducerId) } });
    return records;
  }

  /** Replaces this image with a snapshot's content. */
  loadSnapshot(snapshot: v1.MetadataImageSnapshot__Output): void {
    this.brokers.clear();
    this.topicsByName.clear();
    this.topicsById.clear();
    this.brokerConfigs.clear();
    this.pendingTopicConfigs.clear();
    this.nextProducerId = 0;
    this.controllerId = -1;
    this.controllerTerm = -1;
    this.clusterId = snapshot.clusterId;
    for (const record of snapshot.records) this.applyRecord(record);
    this.lastAppliedOffset = int64ToNumber(snapshot.lastOffset);
  }

  toSnapshot(lastTerm: number): v1.MetadataImageSnapshot {
    return {
      lastOffset: String(this.lastAppliedOffset),
      lastTerm: String(lastTerm),
      clusterId: this.clusterId,
      records: this.toRecords(),
    };
  }
}
