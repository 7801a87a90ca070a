import type { v1 } from "@tributary/protocol";
import { describe, expect, it } from "vitest";
import { MetadataCache } from "./metadata-cache.js";

const NO_ERROR = { code: "NONE", message: "" } as unknown as v1.Error__Output;

function response(offset: number, leaders: number[], brokers = [1, 2, 3], leaderEpoch = 5): v1.MetadataResponse__Output {
  return {
    brokers: brokers.map((id) => ({ nodeId: id, endpoint: { host: "127.0.0.1", port: 9090 + id, listenerName: "" }, rack: "", fenced: false })),
    clusterId: "c",
    controllerId: 100,
    metadataOffset: String(offset),
    topics: [
      {
        error: NO_ERROR,
        name: "t",
        topicId: "id",
        isInternal: false,
        partitions: leaders.map((leader, partition) => ({ error: NO_ERROR, partition, leader, leaderEpoch, replicas: [1, 2, 3], isr: [1, 2, 3], offlineReplicas: [] })),
      },
    ],
  };
}

describe("MetadataCache", () => {
  it("answers leaders and partition counts from the latest Metadata", () => {
    const cache = new MetadataCache(60_000);
    cache.update(response(10, [1, 2, -1]), 0);
    expect(cache.partitionCount("t")).toBe(3);
    expect(cache.leaderFor("t", 1)?.address).toBe("127.0.0.1:9092");
    expect(cache.leaderFor("t", 2)).toBeUndefined();
    expect(cache.availablePartitions("t")).toEqual([0, 1]);
    expect(cache.partitionCount("other")).toBeUndefined();
  });

  it("follows a newer leader hint, ignores an older one and marks the topic stale instead", () => {
    const cache = new MetadataCache(60_000);
    cache.update(response(10, [1, 2, 3]), 0);
    expect(cache.isStale(1)).toBe(false);
    cache.applyLeaderHint("t", 0, { nodeId: 3, leaderEpoch: 6, endpoint: null });
    expect(cache.leaderFor("t", 0)?.nodeId).toBe(3);
    cache.applyLeaderHint("t", 1, { nodeId: 1, leaderEpoch: 4, endpoint: null });
    expect(cache.leaderFor("t", 1)?.nodeId).toBe(2);
    expect(cache.isStale(1)).toBe(true);
    cache.update(response(11, [3, 1, 3]), 2);
    expect(cache.isStale(3)).toBe(false);
    expect(cache.isStale(60_002)).toBe(true);
  });

  it("keeps the newer broker list when a lagging broker answers", () => {
    const cache = new MetadataCache(60_000);
    cache.update(response(20, [1, 2, 3], [1, 2, 3]), 0);
    cache.update(response(15, [1, 1, 1], [1]), 1);
    expect(cache.brokerList().map((b) => b.nodeId)).toEqual([1, 2, 3]);
    // The topic itself is still taken (it was asked for).
    expect(cache.partition("t", 2)?.leaderId).toBe(1);
  });

  it("never takes an older leader epoch for a partition than the one it knows (a lagging broker's answer)", () => {
    const cache = new MetadataCache(60_000);
    cache.update(response(20, [1, 2, 3], [1, 2, 3], 7), 0);
    cache.applyLeaderHint("t", 0, { nodeId: 2, leaderEpoch: 8, endpoint: null });
    cache.update(response(15, [1, 1, 1], [1, 2, 3], 6), 1);
    expect(cache.partition("t", 0)).toMatchObject({ leaderId: 2, leaderEpoch: 8 });
    expect(cache.partition("t", 1)).toMatchObject({ leaderId: 2, leaderEpoch: 7 });
    cache.update(response(21, [3, 3, 3], [1, 2, 3], 9), 2);
    expect([0, 1, 2].map((p) => cache.leaderFor("t", p)?.nodeId)).toEqual([3, 3, 3]);
  });
});
