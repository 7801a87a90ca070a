import { MetadataImage, type v1 } from "@tributary/protocol";
import { describe, expect, it } from "vitest";
import { applyBatch, batchCodec, cloneImage, encodeBatch, normalizeRecord, recordCodec } from "./metadata-records.js";
import { ControllerHarness } from "./testing/controller-harness.js";

const samples: v1.MetadataRecord[] = [
  { brokerRegistration: { brokerId: 3, brokerEpoch: "17", incarnationId: "x", listeners: [{ host: "h", port: 1 }], rack: "r", fenced: true } },
  { brokerFencing: { brokerId: 3, brokerEpoch: "17", fenced: false, inControlledShutdown: true } },
  { brokerUnregistration: { brokerId: 3, brokerEpoch: "17" } },
  { topic: { name: "t", topicId: "id" } },
  { partition: { topicId: "id", partition: 2, replicas: [1, 2], isr: [1], leader: 1, leaderEpoch: 0, partitionEpoch: 0 } },
  { partitionChange: { topicId: "id", partition: 2, leader: 0, isr: [], isrChanged: true, leaderEpoch: 1, partitionEpoch: 4, reason: "broker-fenced" } },
  { partitionChange: { topicId: "id", partition: 2, isr: [1, 2], isrChanged: true, leaderEpoch: 1, partitionEpoch: 5 } },
  { removeTopic: { topicId: "id" } },
  { config: { resourceType: "topic", resourceName: "t", name: "retention.ms", value: "" } },
  { config: { resourceType: "broker", resourceName: "", name: "num.partitions" } },
  { producerIds: { brokerId: 1, brokerEpoch: "5", nextProducerId: "2000" } },
  { controllerChange: { controllerId: 2, term: "9" } },
];

describe("metadata records", () => {
  it("normalizes every record type exactly as the codec decodes it", () => {
    for (const record of samples) expect(normalizeRecord(record)).toEqual(recordCodec.decode(recordCodec.encode(record)));
  });

  it("refuses a batch that does not follow the last applied offset", () => {
    const image = new MetadataImage();
    applyBatch(image, batchCodec.decode(encodeBatch(0, [samples[3]!])));
    expect(() => applyBatch(image, batchCodec.decode(encodeBatch(5, [samples[0]!])))).toThrow(/does not follow the last applied offset 0/);
  });

  it("clones an image into an equal, independent copy", () => {
    const h = new ControllerHarness();
    h.startBrokers([1, 2, 3]);
    h.createTopic("a", 3, 2, { "retention.ms": "5" });
    h.createTopic("b", 1, 1);
    const copy = cloneImage(h.committed, new MetadataImage());
    expect(copy.toSnapshot(1)).toEqual(h.committed.toSnapshot(1));
    copy.partition("a", 0)!.isr.push(99);
    expect(h.committed.partition("a", 0)!.isr).not.toContain(99);
  });
});
