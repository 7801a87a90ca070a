// kill -9 the group's coordinator broker while a producer writes and a group member consumes
// and commits: the committed offsets survive (a new coordinator loads them), the member finds
// the new coordinator and keeps consuming, and no acknowledged record is missed.
import { afterAll, beforeAll, expect, it } from "vitest";
import { serializers, type ConsumerRecord } from "../../packages/client/dist/index.js";
import { startClientCluster, waitFor, type ClientCluster } from "./support.js";
import { startWriter } from "./writer.js";

let env: ClientCluster;

beforeAll(async () => {
  env = await startClientCluster({ controllers: 1, brokers: 3 });
  await env.client().admin().createTopics([{ topic: "ledger", numPartitions: 6, replicationFactor: 3 }]);
});

afterAll(async () => {
  await env?.stop();
});

it("keeps committed offsets and consumption going across a SIGKILL of the coordinator", async () => {
  const client = env.client({ requestTimeoutMs: 5_000 });
  const admin = client.admin();
  const producer = client.producer({ keySerializer: serializers.string, valueSerializer: serializers.string, lingerMs: 1, requestTimeoutMs: 5_000, deliveryTimeoutMs: 60_000 });
  const writer = startWriter(producer, "ledger");
  const consumer = client.consumer({
    groupId: "g-ledger",
    keyDeserializer: serializers.string,
    valueDeserializer: serializers.string,
    autoOffsetReset: "earliest",
    sessionTimeoutMs: 6_000,
    heartbeatIntervalMs: 250,
    autoCommitIntervalMs: 200,
    fetchMaxWaitMs: 100,
    requestTimeoutMs: 5_000,
  });
  await consumer.subscribe(["ledger"]);
  const consumed: ConsumerRecord<string | null, string | null>[] = [];
  let polling = true;
  const pollLoop = (async () => {
    while (polling) consumed.push(...(await consumer.poll(100)));
  })();

  await waitFor(() => consumed.length > 500, { timeoutMs: 30_000, message: "consuming before the kill" });
  await consumer.commitSync();
  const before = await consumer.committed(consumer.assignment());
  expect(before).toHaveLength(6);
  expect(before.every((c) => c.offset !== null)).toBe(true);

  const coordinatorId = (await admin.listGroups()).find((g) => g.groupId === "g-ledger")!.coordinatorId;
  expect(coordinatorId).toBeGreaterThan(0);
  await env.cluster.kill(coordinatorId, "SIGKILL");
  const consumedAtKill = consumed.length;

  await waitFor(() => consumed.length > consumedAtKill + 1_000, { timeoutMs: 60_000, message: "consuming after the coordinator was killed" });
  await waitFor(
    async () => {
      const groups = await admin.listGroups();
      const coordinator = groups.find((g) => g.groupId === "g-ledger")?.coordinatorId;
      return coordinator !== undefined && coordinator !== coordinatorId;
    },
    { timeoutMs: 30_000, message: "a new coordinator" },
  );
  // The offsets committed before the kill survived, and commits go on at the new coordinator.
  await waitFor(
    async () => {
      await consumer.commitSync();
      const after = await consumer.committed(before);
      return after.every((c, i) => c.offset !== null && c.offset > before[i]!.offset!);
    },
    { timeoutMs: 30_000, message: "commits past the pre-kill offsets at the new coordinator" },
  );

  const acked = await writer.stop();
  expect(writer.errors).toEqual([]);
  const seen = () => new Set(consumed.map((r) => `${r.partition}:${r.offset}`));
  await waitFor(() => acked.every(([p, o]) => seen().has(`${p}:${o}`)), { timeoutMs: 30_000, message: "every acknowledged record consumed" });
  polling = false;
  await pollLoop;
  await consumer.close();
  await producer.close();
});
