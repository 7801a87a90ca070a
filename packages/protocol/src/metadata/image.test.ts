import { describe, expect, it } from "vitest";
import { messageCodec } from "../codec.js";
import type * as v1 from "../generated/tributary/v1/index.js";
import { MetadataImage } from "./image.js";

const recordCodec = messageCodec<v1.MetadataRecord, v1.MetadataRecord__Output>("MetadataRecord");
const snapshotCodec = messageCodec<v1.MetadataImageSnapshot, v1.MetadataImageSnapshot__Output>("MetadataImageSnapshot");

/** Records go through the wire codec, as they do between controller and broker. */
function applyAll(image: MetadataImage, records: v1.MetadataRecord[], firstOffset = 0): void {
  records.forEach((record, i) => image.apply(firstOffset + i, recordCodec.decode(recordCodec.encode(record))));
}

const history: v1.MetadataRecord[] = [
  { brokerRegistration: { brokerId: 1, brokerEpoch: "10", incarnationId: "a", listeners: [{ host: "localhost", port: 9092 }], fenced: true } },
  { brokerRegistration: { brokerId: 2, brokerEpoch: "11", incarnationId: "b", listeners: [{ host: "localhost", port: 9093 }], fenced: true } },
  { brokerFencing: { brokerId: 1, brokerEpoch: "10", fenced: false } },
  { brokerFencing: { brokerId: 2, brokerEpoch: "11", fenced: false } },
  { config: { resourceType: "topic", resourceName: "orders", name: "cleanup.policy", value: "compact" } },
  { topic: { name: "orders", topicId: "t-1" } },
  { partition: { topicId: "t-1", partition: 0, replicas: [1, 2], isr: [1, 2], leader: 1, leaderEpoch: 0, partitionEpoch: 0 } },
  { partitionChange: { topicId: "t-1", partition: 0, leader: 2, isr: [2], isrChanged: true, leaderEpoch: 1, partitionEpoch: 1, reason: "broker-fenced" } },
  { brokerFencing: { brokerId: 1, brokerEpoch: "9", fenced: true } }, // stale epoch: ignored
];

describe("metadata image", () => {
  it("applies broker, topic, partition and config records in order", () => {
    const image = new MetadataImage();
    applyAll(image, history);
    expect(image.liveBrokers().map((b) => b.brokerId)).toEqual([1, 2]);
    expect(image.partition("orders", 0)).toMatchObject({ leader: 2, isr: [2], replicas: [1, 2], leaderEpoch: 1, partitionEpoch: 1 });
    expect(image.topicsByName.get("orders")?.configs.get("cleanup.policy")).toBe("compact");
    expect(image.lastAppliedOffset).toBe(history.length - 1);
  });

  it("refuses a record applied twice or out of order", () => {
    const image = new MetadataImage();
    applyAll(image, history.slice(0, 2));
    expect(() => image.apply(1, recordCodec.decode(recordCodec.encode(history[2]!)))).toThrow(/applied once, in order/);
  });

  it("rebuilds the same image from its snapshot", () => {
    const image = new MetadataImage();
    image.clusterId = "cluster-x";
    applyAll(image, history);
    const restored = new MetadataImage();
    restored.loadSnapshot(snapshotCodec.decode(snapshotCodec.encode(image.toSnapshot(3))));
    expect(restored.clusterId).toBe("cluster-x");
    expect(restored.lastAppliedOffset).toBe(image.lastAppliedOffset);
    expect(restored.partition("orders", 0)).toEqual(image.partition("orders", 0));
    expect([...restored.brokers.values()]).toEqual([...image.brokers.values()]);
    expect(restored.topicsByName.get("orders")?.configs).toEqual(image.topicsByName.get("orders")?.configs);
  });

  it("forgets a removed topic so its name can be reused", () => {
    const image = new MetadataImage();
    applyAll(image, [...history, { removeTopic: { topicId: "t-1" } }, { topic: { name: "orders", topicId: "t-2" } }]);
    expect(image.topicsByName.get("orders")?.topicId).toBe("t-2");
    expect(image.topicsById.has("t-1")).toBe(false);
  });
});
