// No acknowledged write lost: producers with acks=all (min.insync.replicas=2, replication
// factor 3) write continuously while brokers are killed -9 and restarted one at a time. Then
// every acknowledged record is read back exactly once, at the offset it was acknowledged with,
// in its partition's order.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startCluster, type Cluster } from "../support/cluster.js";
import { brokerClients, createTopic, partitionMetadata, type RawBrokerClient } from "../support/raw-client.js";
import { produceValues, readPartition } from "../support/records.js";

const TOPIC = "durable";
const PARTITIONS = 2;
const ROUNDS = 3;

interface Acked {
  baseOffset: number;
  values: string[];
}

describe("acknowledged writes survive repeated kill -9", () => {
  let cluster: Cluster;
  const clients = brokerClients((nodeId) => cluster.node(nodeId).address, 15_000);
  const client = (nodeId: number): RawBrokerClient => clients.get(nodeId);
  const anyLive = () => cluster.brokers.find((b) => b.alive)!.nodeId;

  beforeAll(async () => {
    cluster = await startCluster({ controllers: 1, brokers: 3, brokerOverrides: { "min.insync.replicas": "2" } });
  });
  afterAll(async () => {
    clients.closeAll();
    await cluster?.stop();
  });

  it("reads back every acknowledged record exactly once, in order", async () => {
    await cluster.waitFor(async () => (await client(1).metadata({ allTopics: true })).brokers.length === 3, { timeoutMs: 20_000, message: "3 live brokers" });
    await createTopic(client(1), TOPIC, PARTITIONS, 3, { "min.insync.replicas": "2" });
    const fullIsr = async () => {
      for (let p = 0; p < PARTITIONS; p++) {
        const m = await partitionMetadata(client(anyLive()), TOPIC, p);
        if (!m || m.leader < 0 || m.isr.length !== 3) return false;
      }
      return true;
    };
    await cluster.waitFor(fullIsr, { timeoutMs: 20_000, message: "all partitions fully in sync" });

    const acked: Acked[][] = Array.from({ length: PARTITIONS }, () => []);
    const refused = new Map<string, number>();
    let running = true;
    let sequence = 0;
    const produceLoop = async (partition: number) => {
      while (running) {
        const values = Array.from({ length: 5 }, () => `p${partition}-v${sequence++}`);
        try {
          const m = await partitionMetadata(client(anyLive()), TOPIC, partition);
          if (!m || m.leader < 0 || !cluster.node(m.leader).alive) throw new Error("no live leader");
          const outcome = await produceValues(client(m.leader), TOPIC, partition, values, -1, 8_000);
          if (outcome.code === "NONE") acked[partition]!.push({ baseOffset: outcome.baseOffset, values });
          else refused.set(outcome.code, (refused.get(outcome.code) ?? 0) + 1);
        } catch {
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      }
    };
    const loops = Array.from({ length: PARTITIONS }, (_, p) => produceLoop(p));

    for (let round = 0; round < ROUNDS; round++) {
      // Even rounds kill a partition leader (acknowledged writes must survive the failover),
      // odd rounds a broker that only follows partition 0.
      const p0 = await partitionMetadata(client(anyLive()), TOPIC, round % PARTITIONS);
      const victim = round % 2 === 0 ? p0!.leader : p0!.replicas.find((id) => id !== p0!.leader)!;
      const ackedBefore = acked.flat().length;
      await cluster.waitFor(() => acked.flat().length >= ackedBefore + 10, { timeoutMs: 30_000, message: `writes before round ${round}` });
      await cluster.kill(victim, "SIGKILL");
      const ackedAtKill = acked.flat().length;
      // Writes go on with two replicas left (min.insync.replicas=2).
      await cluster.waitFor(() => acked.flat().length >= ackedAtKill + 10, { timeoutMs: 30_000, message: `writes while broker ${victim} is down` });
      await cluster.restart(victim);
      await cluster.waitFor(fullIsr, { timeoutMs: 30_000, message: `broker ${victim} back in every ISR` });
    }
    running = false;
    await Promise.all(loops);

    for (let partition = 0; partition < PARTITIONS; partition++) {
      const m = await cluster.waitFor(async () => {
        const meta = await partitionMetadata(client(1), TOPIC, partition);
        return meta && meta.leader > 0 ? meta : undefined;
      }, { timeoutMs: 10_000, message: "a leader" });
      const { records } = await readPartition(client(m.leader), TOPIC, partition);
      const offsets = records.map((r) => r.offset);
      expect(offsets).toEqual([...offsets].sort((a, b) => a - b));
      expect(new Set(offsets).size).toBe(offsets.length);
      const byOffset = new Map(records.map((r) => [r.offset, r.value]));
      const seen = new Map<string, number>();
      for (const r of records) seen.set(r.value, (seen.get(r.value) ?? 0) + 1);
      for (const batch of acked[partition]!) {
        batch.values.forEach((value, i) => {
          expect(byOffset.get(batch.baseOffset + i), `acknowledged ${value} at ${batch.baseOffset + i}`).toBe(value);
          expect(seen.get(value)).toBe(1);
        });
      }
      expect(acked[partition]!.length).toBeGreaterThan(10);
    }
  }, 180_000);
});
