// A follower's long-poll fetch carries only the partitions it followed when it sent it. When a
// topic is created, each follower already long-polls its leaders for older partitions, so the
// first acks=all write to the new topic waits until the follower fetches the new partition.
// The leader answers such a follower's pending fetch as soon as the new partition gets data
// (ReplicaManager.afterLeaderAppend); without that, the write would wait out the follower's
// long-poll. Here that long-poll is 25 s and the write's own timeout 10 s, so the write fails
// with REQUEST_TIMED_OUT unless the leader wakes the follower.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startCluster, type Cluster } from "../support/cluster.js";
import { brokerClients, createTopic, partitionMetadata, type RawBrokerClient } from "../support/raw-client.js";
import { produceValues } from "../support/records.js";

const LONG_POLL_MS = 25_000;
const WRITE_TIMEOUT_MS = 10_000;

describe("replicating a partition created while followers long-poll", () => {
  let cluster: Cluster;
  const clients = brokerClients((nodeId) => cluster.node(nodeId).address);
  const client = (nodeId: number): RawBrokerClient => clients.get(nodeId);

  beforeAll(async () => {
    cluster = await startCluster({ controllers: 1, brokers: 2, brokerOverrides: { "replica.fetch.wait.max.ms": String(LONG_POLL_MS) } });
  });
  afterAll(async () => {
    clients.closeAll();
    await cluster?.stop();
  });

  /** Waits until every broker's own metadata shows the partition with a leader and both replicas in sync. */
  async function waitUntilEveryBrokerKnows(topic: string, partition: number): Promise<number> {
    return cluster.waitFor(async () => {
      const seen = await Promise.all(cluster.brokers.map((b) => partitionMetadata(client(b.nodeId), topic, partition)));
      const leaders = new Set(seen.map((p) => (p && p.leader > 0 && p.isr.length === 2 ? p.leader : -1)));
      const [leader] = [...leaders];
      return leaders.size === 1 && leader !== undefined && leader > 0 ? leader : undefined;
    }, { timeoutMs: 20_000, message: `${topic}-${partition} known to both brokers, with a leader` });
  }

  it("acknowledges the first acks=all write to a new topic without waiting out the follower's long-poll", async () => {
    await cluster.waitFor(async () => (await client(1).metadata({ allTopics: true })).brokers.length === 2, { timeoutMs: 20_000, message: "2 live brokers" });
    // Two partitions, one led by each broker: each broker then long-polls the other.
    await createTopic(client(1), "older", 2, 2);
    for (const partition of [0, 1]) {
      const leader = await waitUntilEveryBrokerKnows("older", partition);
      expect((await produceValues(client(leader), "older", partition, [`older-${partition}`], -1, WRITE_TIMEOUT_MS)).code).toBe("NONE");
    }
    const leadersOfOlder = new Set(await Promise.all([0, 1].map((p) => waitUntilEveryBrokerKnows("older", p))));
    expect(leadersOfOlder.size).toBe(2);

    await createTopic(client(1), "newer", 2, 2);
    for (const partition of [0, 1]) {
      const leader = await waitUntilEveryBrokerKnows("newer", partition);
      const outcome = await produceValues(client(leader), "newer", partition, [`newer-${partition}`], -1, WRITE_TIMEOUT_MS);
      expect(outcome.code, outcome.message).toBe("NONE");
    }
  }, 90_000);
});
