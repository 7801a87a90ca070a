// The seed's Lab 2, automated: 3 brokers, a topic with 1 partition and replication factor 3,
// records produced and consumed; kill -9 the leader; metadata shows a new leader and an ISR
// without the dead broker; records from before and after are all there, in order; the dead
// broker restarts, catches up and rejoins the ISR.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startCluster, type Cluster } from "../support/cluster.js";
import { brokerClients, createTopic, partitionMetadata, type RawBrokerClient } from "../support/raw-client.js";
import { produceValues, readPartition } from "../support/records.js";

describe("Lab 2: replication and failover with 3 brokers", () => {
  let cluster: Cluster;
  const clients = brokerClients((nodeId) => cluster.node(nodeId).address);
  const client = (nodeId: number): RawBrokerClient => clients.get(nodeId);

  beforeAll(async () => {
    cluster = await startCluster({ controllers: 1, brokers: 3 });
  });
  afterAll(async () => {
    clients.closeAll();
    await cluster?.stop();
  });

  it("keeps every record across a kill -9 of the leader, and the restarted broker rejoins the ISR", async () => {
    await cluster.waitFor(async () => (await client(1).metadata({ allTopics: true })).brokers.length === 3, { timeoutMs: 20_000, message: "3 live brokers" });
    await createTopic(client(1), "lab2", 1, 3);
    const before = await cluster.waitFor(async () => {
      const p = await partitionMetadata(client(1), "lab2", 0);
      return p && p.leader > 0 && p.isr.length === 3 ? p : undefined;
    }, { timeoutMs: 20_000, message: "lab2-0 with a leader and 3 in-sync replicas" });

    const firstValues = Array.from({ length: 50 }, (_, i) => `before-${i}`);
    for (let i = 0; i < firstValues.length; i += 10) {
      const outcome = await produceValues(client(before.leader), "lab2", 0, firstValues.slice(i, i + 10));
      expect(outcome.code).toBe("NONE");
    }
    expect((await readPartition(client(before.leader), "lab2", 0)).records.map((r) => r.value)).toEqual(firstValues);

    await cluster.kill(before.leader, "SIGKILL");
    const survivor = cluster.brokers.find((b) => b.nodeId !== before.leader)!.nodeId;
    const after = await cluster.waitFor(async () => {
      const p = await partitionMetadata(client(survivor), "lab2", 0);
      return p && p.leader > 0 && p.leader !== before.leader && !p.isr.includes(before.leader) ? p : undefined;
    }, { timeoutMs: 30_000, message: "a new leader and an ISR without the killed broker" });
    expect(after.leaderEpoch).toBeGreaterThan(before.leaderEpoch);
    expect(after.isr.sort()).toEqual(before.replicas.filter((id) => id !== before.leader).sort());

    const secondValues = Array.from({ length: 50 }, (_, i) => `after-${i}`);
    for (let i = 0; i < secondValues.length; i += 10) {
      const outcome = await produceValues(client(after.leader), "lab2", 0, secondValues.slice(i, i + 10));
      expect(outcome.code).toBe("NONE");
    }
    const all = await readPartition(client(after.leader), "lab2", 0);
    expect(all.records.map((r) => r.value)).toEqual([...firstValues, ...secondValues]);
    expect(all.records.map((r) => r.offset)).toEqual(Array.from({ length: 100 }, (_, i) => i));

    await cluster.restart(before.leader);
    await cluster.waitFor(async () => {
      const p = await partitionMetadata(client(survivor), "lab2", 0);
      return p && p.isr.includes(before.leader) && p.isr.length === 3;
    }, { timeoutMs: 30_000, message: "the restarted broker back in the ISR" });
    // Once in the ISR it has every committed record: a new acks=all write needs it too.
    expect((await produceValues(client(after.leader), "lab2", 0, ["rejoined"])).code).toBe("NONE");
  }, 120_000);
});
