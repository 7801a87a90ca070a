// Brokers against a 3-controller quorum: they register, follow metadata and forward admin
// writes to whichever controller is active; when the active controller is killed -9, the
// brokers' metadata streams and writes move to the new one (NOT_CONTROLLER hints, reconnects).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startCluster, type Cluster } from "../support/cluster.js";
import { brokerClients, createTopic, errorCode, partitionMetadata, type RawBrokerClient } from "../support/raw-client.js";
import { produceValues, readPartition } from "../support/records.js";

describe("brokers with a 3-controller quorum", () => {
  let cluster: Cluster;
  const clients = brokerClients((nodeId) => cluster.node(nodeId).address);
  const client = (nodeId: number): RawBrokerClient => clients.get(nodeId);

  beforeAll(async () => {
    cluster = await startCluster({ controllers: 3, brokers: 2 });
  });
  afterAll(async () => {
    clients.closeAll();
    await cluster?.stop();
  });

  it("keeps serving and follows metadata after the active controller dies", async () => {
    await cluster.waitFor(async () => (await client(1).metadata({ allTopics: true })).brokers.length === 2, { timeoutMs: 30_000, message: "2 live brokers" });
    await createTopic(client(2), "quorum-a", 1, 2);
    const a = await cluster.waitFor(async () => {
      const p = await partitionMetadata(client(1), "quorum-a", 0);
      return p && p.leader > 0 && p.isr.length === 2 ? p : undefined;
    }, { timeoutMs: 20_000, message: "quorum-a in sync" });
    expect((await produceValues(client(a.leader), "quorum-a", 0, ["one"])).code).toBe("NONE");

    const described = await client(1).describeCluster({});
    const active = described.controllerId;
    expect(cluster.controllers.map((c) => c.nodeId)).toContain(active);
    await cluster.kill(active, "SIGKILL");

    // A topic created after the failover reaches both brokers' images through the new leader.
    await cluster.waitFor(async () => {
      const response = await client(1).createTopics({ topics: [{ name: "quorum-b", numPartitions: 1, replicationFactor: 2, configs: {}, assignments: [] }], timeoutMs: 5_000 });
      const code = errorCode(response.topics[0]?.error);
      return code === "NONE" || code === "TOPIC_ALREADY_EXISTS";
    }, { timeoutMs: 30_000, message: "a topic created through the new active controller" });
    const b = await cluster.waitFor(async () => {
      const p = await partitionMetadata(client(2), "quorum-b", 0);
      return p && p.leader > 0 && p.isr.length === 2 ? p : undefined;
    }, { timeoutMs: 30_000, message: "quorum-b in sync on both brokers" });
    expect((await produceValues(client(b.leader), "quorum-b", 0, ["two"])).code).toBe("NONE");
    expect((await produceValues(client(a.leader), "quorum-a", 0, ["three"])).code).toBe("NONE");
    expect((await readPartition(client(a.leader), "quorum-a", 0)).records.map((r) => r.value)).toEqual(["one", "three"]);
  }, 120_000);
});
