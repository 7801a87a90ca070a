// Divergence (KIP-320): a leader appends records its follower never fetched (the follower is
// frozen with SIGSTOP), dies by kill -9; the follower, still in the ISR, becomes leader. When
// the old leader comes back as a follower it must truncate what it alone had and then match
// the new leader's log byte for byte.
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startCluster, type Cluster } from "../support/cluster.js";
import { brokerClients, errorCode, partitionMetadata, type RawBrokerClient } from "../support/raw-client.js";
import { produceValues, readPartition } from "../support/records.js";

const TOPIC = "diverge";

function segmentBytes(cluster: Cluster, nodeId: number): Buffer {
  const dir = path.join(cluster.node(nodeId).dataDir, `${TOPIC}-0`);
  const logs = fs.readdirSync(dir).filter((f) => f.endsWith(".log")).sort();
  return Buffer.concat(logs.map((f) => fs.readFileSync(path.join(dir, f))));
}

describe("log divergence after an unreplicated append and a failover", () => {
  let cluster: Cluster;
  const clients = brokerClients((nodeId) => cluster.node(nodeId).address);
  const client = (nodeId: number): RawBrokerClient => clients.get(nodeId);

  beforeAll(async () => {
    cluster = await startCluster({ controllers: 1, brokers: 3, brokerOverrides: { "replica.lag.time.max.ms": "10000" } });
  });
  afterAll(async () => {
    clients.closeAll();
    await cluster?.stop();
  });

  it("truncates the old leader's unreplicated records and then matches the new leader byte for byte", async () => {
    await cluster.waitFor(async () => (await client(3).metadata({ allTopics: true })).brokers.length === 3, { timeoutMs: 20_000, message: "3 live brokers" });
    const created = await client(3).createTopics({ topics: [{ name: TOPIC, numPartitions: -1, replicationFactor: -1, configs: {}, assignments: [{ partition: 0, brokerIds: [1, 2] }] }], timeoutMs: 10_000 });
    expect(errorCode(created.topics[0]?.error)).toBe("NONE");
    const initial = await cluster.waitFor(async () => {
      const p = await partitionMetadata(client(3), TOPIC, 0);
      return p && p.leader === 1 && p.isr.length === 2 ? p : undefined;
    }, { timeoutMs: 20_000, message: "broker 1 leading with broker 2 in sync" });

    const committed = Array.from({ length: 20 }, (_, i) => `committed-${i}`);
    expect((await produceValues(client(1), TOPIC, 0, committed.slice(0, 10))).code).toBe("NONE");
    expect((await produceValues(client(1), TOPIC, 0, committed.slice(10))).code).toBe("NONE");

    // Freeze the follower; let its parked fetch (replica.fetch.wait.max.ms = 500) come back empty first.
    cluster.pause(2);
    await new Promise((resolve) => setTimeout(resolve, 800));
    const lost = await produceValues(client(1), TOPIC, 0, ["only-on-1-a", "only-on-1-b", "only-on-1-c"], 1);
    expect(lost.code).toBe("NONE");
    expect(lost.baseOffset).toBe(20);
    await cluster.kill(1, "SIGKILL");
    cluster.resume(2);

    const failedOver = await cluster.waitFor(async () => {
      const p = await partitionMetadata(client(3), TOPIC, 0);
      return p && p.leader === 2 && p.leaderEpoch > initial.leaderEpoch ? p : undefined;
    }, { timeoutMs: 30_000, message: "broker 2 elected leader" });
    expect(failedOver.isr).toEqual([2]);
    const afterValues = ["after-0", "after-1", "after-2", "after-3", "after-4"];
    expect((await produceValues(client(2), TOPIC, 0, afterValues.slice(0, 2), 1)).code).toBe("NONE");

    await cluster.restart(1);
    await cluster.waitFor(async () => {
      const p = await partitionMetadata(client(3), TOPIC, 0);
      return p && p.isr.length === 2;
    }, { timeoutMs: 30_000, message: "broker 1 back in the ISR" });
    // acks=all now needs broker 1: when it returns, broker 1 holds everything the leader has.
    expect((await produceValues(client(2), TOPIC, 0, afterValues.slice(2))).code).toBe("NONE");

    const leaderRead = await readPartition(client(2), TOPIC, 0);
    expect(leaderRead.records.map((r) => r.value)).toEqual([...committed, ...afterValues]);
    await cluster.waitFor(() => segmentBytes(cluster, 1).equals(segmentBytes(cluster, 2)), { timeoutMs: 10_000, message: "identical segment bytes on brokers 1 and 2" });
    expect(segmentBytes(cluster, 1).includes(Buffer.from("only-on-1"))).toBe(false);
    // It was the leader-epoch check (KIP-320) that found the divergence, at the end of epoch 0's committed part.
    const parse = (line: string): { msg?: string; truncateTo?: number } => { try { return JSON.parse(line); } catch { return {}; } };
    const truncation = cluster.node(1).output().map(parse).find((l) => l.msg === "log diverges from the leader; truncating");
    expect(truncation?.truncateTo).toBe(20);
  }, 120_000);
});
