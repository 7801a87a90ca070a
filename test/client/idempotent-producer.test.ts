// The idempotent producer across leader failures: a SIGKILL of a partition leader, and a
// SIGSTOP longer than the Produce deadline (requests time out on the client while the broker
// may still hold them, the case idempotence exists for). After each, every acknowledged record
// is in the log exactly once, and each partition holds its records in the order they were sent.
import { afterAll, beforeAll, expect, it } from "vitest";
import { serializers, type Tributary } from "../../packages/client/dist/index.js";
import { startClientCluster, waitFor, type ClientCluster } from "./support.js";
import { startWriter } from "./writer.js";

let env: ClientCluster;

beforeAll(async () => {
  env = await startClientCluster({ controllers: 1, brokers: 3 });
  await env.client().admin().createTopics([
    { topic: "exactly", numPartitions: 3, replicationFactor: 3, configs: { "min.insync.replicas": "2" } },
    { topic: "stalled-leader", numPartitions: 3, replicationFactor: 3, configs: { "min.insync.replicas": "2" } },
  ]);
});

afterAll(async () => {
  await env?.stop();
});

function idempotentProducer(client: Tributary, requestTimeoutMs: number) {
  return client.producer({
    keySerializer: serializers.string,
    valueSerializer: serializers.string,
    idempotent: true,
    maxInFlight: 5,
    lingerMs: 1,
    batchSizeBytes: 512,
    requestTimeoutMs,
    deliveryTimeoutMs: 60_000,
  });
}

/** Reads the whole topic back and checks: acknowledged records present, none twice, order kept. */
async function expectExactlyOnceInOrder(client: Tributary, topic: string, acked: Array<[number, number, string]>): Promise<void> {
  const admin = client.admin();
  const consumer = client.consumer({ keyDeserializer: serializers.string, valueDeserializer: serializers.string, autoOffsetReset: "earliest" });
  const ends = await admin.listOffsets(topic, "latest");
  consumer.assign(ends.map(({ partition }) => ({ topic, partition })));
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
  expect([...counts].filter(([, n]) => n > 1)).toEqual([]);
  const at = new Map(logged.map(([p, o, v]) => [`${p}:${o}`, v]));
  expect(acked.filter(([p, o, value]) => at.get(`${p}:${o}`) !== value)).toEqual([]);
  // Values were sent in increasing order; within a partition they must stay so.
  for (const { partition } of ends) {
    const values = logged.filter(([p]) => p === partition).map(([, , v]) => Number(v));
    expect(values).toEqual([...values].sort((x, y) => x - y));
  }
}

it("writes no duplicates and keeps order per partition across a leader's SIGKILL", async () => {
  const client = env.client({ requestTimeoutMs: 5_000 });
  const admin = client.admin();
  const producer = idempotentProducer(client, 3_000);
  const writer = startWriter(producer, "exactly", 50, 2);
  await waitFor(() => writer.acked.length > 2_000, { timeoutMs: 30_000, message: "records acknowledged before the kill" });
  const leader = (await admin.describeTopics(["exactly"]))[0]!.partitions[0]!.leader;
  await env.cluster.kill(leader, "SIGKILL");
  const ackedAtKill = writer.acked.length;
  await waitFor(() => writer.acked.length > ackedAtKill + 3_000, { timeoutMs: 60_000, message: "records acknowledged after the kill" });
  const acked = await writer.stop();
  await producer.close();
  expect(writer.errors).toEqual([]);
  await expectExactlyOnceInOrder(client, "exactly", acked);

  // Bring the broker back for the next scenario.
  await env.cluster.restart(leader);
  await waitFor(async () => (await admin.describeCluster()).brokers.filter((b) => !b.fenced).length === 3, { timeoutMs: 30_000, message: "three live brokers again" });
});

it("writes no duplicates when a stalled leader's requests time out on the client", async () => {
  const client = env.client({ requestTimeoutMs: 5_000 });
  const admin = client.admin();
  // Produce calls get requestTimeoutMs + 5 s before the client gives up on them.
  const producer = idempotentProducer(client, 1_000);
  const writer = startWriter(producer, "stalled-leader", 50, 2);
  await waitFor(() => writer.acked.length > 2_000, { timeoutMs: 30_000, message: "records acknowledged before the stall" });
  const leader = (await admin.describeTopics(["stalled-leader"]))[0]!.partitions[0]!.leader;
  env.cluster.pause(leader);
  const ackedAtStall = writer.acked.length;
  try {
    // Other leaders take over (the stalled broker is fenced) and writes go on meanwhile.
    await waitFor(() => writer.acked.length > ackedAtStall + 2_000, { timeoutMs: 60_000, message: "records acknowledged during the stall" });
    // Keep it stalled past the client's Produce deadline, so its in-flight calls time out.
    await new Promise((resolve) => setTimeout(resolve, 7_000));
  } finally {
    env.cluster.resume(leader);
  }
  const ackedAtResume = writer.acked.length;
  await waitFor(() => writer.acked.length > ackedAtResume + 2_000, { timeoutMs: 60_000, message: "records acknowledged after the stall" });
  const acked = await writer.stop();
  await producer.close();
  expect(writer.errors).toEqual([]);
  await expectExactlyOnceInOrder(client, "stalled-leader", acked);
});
