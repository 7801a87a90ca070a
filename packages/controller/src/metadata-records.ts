// The bytes of the metadata log: each Raft entry's data is one MetadataRecordBatch, and a
// snapshot is one MetadataImageSnapshot, both encoded with the protocol's protobuf codec so the
// log, the snapshot and the broker stream all carry exactly the same shapes.
import { type MetadataImage, type PartitionImage, type TopicImage, int64, int64ToNumber, messageCodec, type v1 } from "@tributary/protocol";
import { invariant } from "./errors.js";

export const batchCodec = messageCodec<v1.MetadataRecordBatch, v1.MetadataRecordBatch__Output>("MetadataRecordBatch");
export const recordCodec = messageCodec<v1.MetadataRecord, v1.MetadataRecord__Output>("MetadataRecord");
export const snapshotCodec = messageCodec<v1.MetadataImageSnapshot, v1.MetadataImageSnapshot__Output>("MetadataImageSnapshot");

export function encodeBatch(baseOffset: number, records: readonly v1.MetadataRecord[]): Buffer {
  return batchCodec.encode({ baseOffset: int64(baseOffset), records: [...records] });
}

type Int64In = string | number | { toString(): string } | null | undefined;
const i64 = (value: Int64In): string => (value === null || value === undefined ? "0" : String(value));
const ints = (values: readonly number[] | null | undefined): number[] => (values ? [...values] : []);

/**
 * The decoded (output) form of a record, as a node reading the log will see it: every field
 * present with its proto3 default, int64 as a decimal string, `record` naming the set field.
 * Built directly rather than by a protobuf round trip because the active controller does this
 * for every record it writes; metadata-records.test.ts checks it against the codec.
 */
export function normalizeRecord(record: v1.MetadataRecord): v1.MetadataRecord__Output {
  const r = record;
  if (r.brokerRegistration) {
    const b = r.brokerRegistration;
    const listeners = (b.listeners ?? []).map((l) => ({ host: l.host ?? "", port: l.port ?? 0, listenerName: l.listenerName ?? "" }));
    return { record: "brokerRegistration", brokerRegistration: { brokerId: b.brokerId ?? 0, brokerEpoch: i64(b.brokerEpoch), incarnationId: b.incarnationId ?? "", listeners, rack: b.rack ?? "", fenced: b.fenced ?? false } };
  }
  if (r.brokerFencing) {
    const b = r.brokerFencing;
    return { record: "brokerFencing", brokerFencing: { brokerId: b.brokerId ?? 0, brokerEpoch: i64(b.brokerEpoch), fenced: b.fenced ?? false, inControlledShutdown: b.inControlledShutdown ?? false } };
  }
  if (r.brokerUnregistration) {
    return { record: "brokerUnregistration", brokerUnregistration: { brokerId: r.brokerUnregistration.brokerId ?? 0, brokerEpoch: i64(r.brokerUnregistration.brokerEpoch) } };
  }
  if (r.topic) return { record: "topic", topic: { name: r.topic.name ?? "", topicId: r.topic.topicId ?? "" } };
  if (r.partition) {
    const p = r.partition;
    return { record: "partition", partition: { topicId: p.topicId ?? "", partition: p.partition ?? 0, replicas: ints(p.replicas), isr: ints(p.isr), leader: p.leader ?? 0, leaderEpoch: p.leaderEpoch ?? 0, partitionEpoch: p.partitionEpoch ?? 0 } };
  }
  if (r.partitionChange) {
    const c = r.partitionChange;
    const leader = c.leader === undefined || c.leader === null ? {} : { leader: c.leader, _leader: "leader" as const };
    return {
      record: "partitionChange",
      partitionChange: {
        topicId: c.topicId ?? "", partition: c.partition ?? 0, ...leader, isr: ints(c.isr), isrChanged: c.isrChanged ?? false,
        replicas: ints(c.replicas), replicasChanged: c.replicasChanged ?? false, leaderEpoch: c.leaderEpoch ?? 0, partitionEpoch: c.partitionEpoch ?? 0, reason: c.reason ?? "",
      },
    };
  }
  if (r.removeTopic) return { record: "removeTopic", removeTopic: { topicId: r.removeTopic.topicId ?? "" } };
  if (r.config) {
    const c = r.config;
    const value = c.value === undefined || c.value === null ? {} : { value: c.value, _value: "value" as const };
    return { record: "config", config: { resourceType: c.resourceType ?? "", resourceName: c.resourceName ?? "", name: c.name ?? "", ...value } };
  }
  if (r.producerIds) {
    const p = r.producerIds;
    return { record: "producerIds", producerIds: { brokerId: p.brokerId ?? 0, brokerEpoch: i64(p.brokerEpoch), nextProducerId: i64(p.nextProducerId) } };
  }
  if (r.controllerChange) return { record: "controllerChange", controllerChange: { controllerId: r.controllerChange.controllerId ?? 0, term: i64(r.controllerChange.term) } };
  // A record type this version does not build: the codec's round trip is the reference.
  return recordCodec.decode(recordCodec.encode(record));
}

/**
 * Applies a committed batch in order. Offsets are contiguous across the log: the leader numbers
 * a batch from the offset after the last one it applied, and becomes active only after applying
 * everything before its own term, so a gap or overlap here is a bug.
 */
export function applyBatch(image: MetadataImage, batch: v1.MetadataRecordBatch__Output): void {
  const baseOffset = int64ToNumber(batch.baseOffset);
  invariant(
    baseOffset === image.lastAppliedOffset + 1,
    `metadata batch at offset ${baseOffset} does not follow the last applied offset ${image.lastAppliedOffset}`,
  );
  batch.records.forEach((record, i) => image.apply(baseOffset + i, record));
}

/**
 * A deep copy of an image (the new leader's working copy). Copied field by field rather than
 * through the snapshot codec: activation is on the failover path, and with tens of thousands of
 * partitions a protobuf round trip costs a noticeable part of the time to the first commit.
 */
export function cloneImage(image: MetadataImage, into: MetadataImage): MetadataImage {
  into.clusterId = image.clusterId;
  into.lastAppliedOffset = image.lastAppliedOffset;
  into.nextProducerId = image.nextProducerId;
  into.controllerId = image.controllerId;
  into.controllerTerm = image.controllerTerm;
  into.brokers.clear();
  for (const [id, b] of image.brokers) into.brokers.set(id, { ...b, listeners: b.listeners.map((l) => ({ ...l })) });
  into.topicsByName.clear();
  into.topicsById.clear();
  // By name first, so iteration order (and so every later decision) matches the original's.
  for (const topic of [...image.topicsByName.values(), ...image.topicsById.values()]) {
    if (into.topicsById.has(topic.topicId)) continue;
    const partitions = new Map<number, PartitionImage>();
    for (const [index, p] of topic.partitions) partitions.set(index, { ...p, replicas: [...p.replicas], isr: [...p.isr] });
    const copy: TopicImage = { name: topic.name, topicId: topic.topicId, partitions, configs: new Map(topic.configs) };
    into.topicsById.set(copy.topicId, copy);
    if (image.topicsByName.get(topic.name) === topic) into.topicsByName.set(copy.name, copy);
  }
  into.brokerConfigs.clear();
  for (const [name, configs] of image.brokerConfigs) into.brokerConfigs.set(name, new Map(configs));
  return into;
}
