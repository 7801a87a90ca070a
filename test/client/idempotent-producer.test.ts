// The idempotent producer across a SIGKILL of a partition leader: every acknowledged record is
// in the log exactly once, and each partition holds its records in the order they were sent.
import { afterAll, beforeAll, expect, it } from "vitest";
import { serializers } from "../../packages/client/dist/index.js";
import { startClientCluster, waitFor, type ClientCluster } from "./support.js";
import { startWriter } from "./writer.js";

let env: ClientCluster;

beforeAll(async () => {
  env = await startClientCluster({ controllers: 1, brokers: 3 });
  await env.client().admin().createTopics([{ topic: "exactly", numPartitions: 3, replicationFactor: 3, configs: { "min.insync.replicas": "2" } }]);
});

afterAll(async () => {
  await env?.stop();
});

it("writes no duplicates and keeps order per partition across a leader's SIGKILL", async () => {
  const client = env.client({ requestTimeoutMs: 5_000 });
  const admin = client.admin();
  const producer = client.producer({
    keySerializer: serializers.string,
    valueSerializer: serializers.string,
    idempotent: true,
    maxInFlight: 5,
    lingerMs: 1,
    batchSizeBytes: 512,
    requestTimeoutMs: 3_000,
    deliveryTimeoutMs: 60_000,
  });
  const writer = startWriter(producer, "exactly", 50, 2);
  await waitFor(() => writer.acked.length > 2_000, { timeoutMs: 30_000, message: "records acknowledged before the kill" });
  const leader = (await admin.describeTopics(["exactly"]))[0]!.partitions[0]!.leader;
  await env.cluster.kill(leader, "SIGKILL");
  const ackedAtKill = writer.acked.length;
  await waitFor(() => writer.acked.length > ackedAtKill + 3_000, { timeoutMs: 60_000, message: "records acknowledged after the kill" });
  const acked = await writer.stop();
  await producer.close();
  expect(writer.errors).toEqual([]);

  const consumer = client.consumer({ keyDeserializer: serializers.string, valueDeserializer: serializers.string, autoOffsetReset: "earliest" });
  const ends = await admin.listOffsets("exactly", "latest");
  consumer.assign(ends.map(({ topic, partition }) => ({ topic, partition })));
  const logged: Array<[number, number, string]> = [];
  await waitFor(
    async () => {
      for (const r of await consumer.poll(200)) logged.push([r.partition, Number(r.offset), r.value!]);
      return ends.every((e) => logged.filter(([p]) => p === e.partition).length >= Number(e.offset));
    },
    { timeoutMs: 30_000, message: "the whole log read back" },
  );
  await consumer.close();

  const counts = new Map<string, number>();
  for (const [, , value] of logged) counts.set(value, (counts.get(value) ?? 0) + 1);
  const duplicated = [...counts].filter(([, n]) => n > 1);
  expect(duplicated).toEqual([]);
  const at = new Map(logged.map(([p, o, v]) => [`${p}:${o}`, v]));
  const missing = acked.filter(([p, o, value]) => at.get(`${p}:${o}`) !== value);
  expect(missing).toEqual([]);
  // Values were sent in increasing order; within a partition they must stay so.
  for (const partition of [0, 1, 2]) {
    const values = logged.filter(([p]) => p === partition).map(([, , v]) => Number(v));
    expect(values).toEqual([...values].sort((x, y) => x - y));
  }
});
