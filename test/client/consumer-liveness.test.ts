// Heartbeats are not tied to message processing: a handler slower than the session timeout
// keeps its partitions (the member is not kicked out), while a consumer that stops calling
// poll() for maxPollIntervalMs leaves the group, is told its partitions are lost, and rejoins
// at its next poll(). And a loop that polls buffered records without awaiting anything else
// still lets the event loop (timers, sockets) run between polls.
import { afterAll, beforeAll, expect, it } from "vitest";
import { serializers, type TopicPartition } from "../../packages/client/dist/index.js";
import { startClientCluster, waitFor, type ClientCluster } from "./support.js";

let env: ClientCluster;

beforeAll(async () => {
  env = await startClientCluster({ controllers: 1, brokers: 3 });
  const client = env.client();
  await client.admin().createTopics([
    { topic: "slow", numPartitions: 2, replicationFactor: 3 },
    { topic: "idle", numPartitions: 2, replicationFactor: 3 },
    { topic: "busy", numPartitions: 2, replicationFactor: 3 },
  ]);
  const producer = client.producer({ keySerializer: serializers.string, valueSerializer: serializers.string });
  await producer.sendBatch(Array.from({ length: 20 }, (_, i) => ({ topic: "slow", key: `k${i}`, value: `v${i}` })));
  await producer.sendBatch(Array.from({ length: 20 }, (_, i) => ({ topic: "idle", key: `k${i}`, value: `v${i}` })));
  await producer.sendBatch(Array.from({ length: 2_000 }, (_, i) => ({ topic: "busy", key: `k${i}`, value: `v${i}` })));
  await producer.close();
});

afterAll(async () => {
  await env?.stop();
});

it("keeps a member whose handler runs longer than the session timeout", async () => {
  const client = env.client();
  const consumer = client.consumer({
    groupId: "g-slow",
    keyDeserializer: serializers.string,
    valueDeserializer: serializers.string,
    autoOffsetReset: "earliest",
    sessionTimeoutMs: 2_000,
    heartbeatIntervalMs: 250,
    maxPollIntervalMs: 60_000,
  });
  const lost: TopicPartition[] = [];
  consumer.on("partitionsLost", (partitions) => lost.push(...partitions));
  await consumer.subscribe(["slow"]);
  const { memberId, memberEpoch } = await (async () => {
    for await (const _record of consumer) {
      const before = consumer.groupMetadata();
      // A handler busy (asynchronously) for twice the session timeout.
      await new Promise((resolve) => setTimeout(resolve, 4_000));
      return before;
    }
    throw new Error("no record");
  })();
  const group = await client.admin().describeGroup("g-slow");
  expect(group.members.map((m) => m.memberId)).toEqual([memberId]);
  expect(consumer.groupMetadata().memberEpoch).toBe(memberEpoch);
  expect(lost).toEqual([]);
  expect(consumer.assignment()).toHaveLength(2);
  await consumer.close();
});

it("leaves the group after maxPollIntervalMs without poll(), and rejoins at the next poll()", async () => {
  const logged: Array<{ level: string; message: string; fields: Record<string, unknown> }> = [];
  const at = (level: string) => (fields: Record<string, unknown>, message: string) => void logged.push({ level, message, fields });
  const client = env.client({ logger: { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") } });
  const consumer = client.consumer({
    groupId: "g-idle",
    keyDeserializer: serializers.string,
    valueDeserializer: serializers.string,
    autoOffsetReset: "earliest",
    sessionTimeoutMs: 10_000,
    heartbeatIntervalMs: 250,
    maxPollIntervalMs: 1_500,
  });
  const lost: TopicPartition[] = [];
  consumer.on("partitionsLost", (partitions) => lost.push(...partitions));
  await consumer.subscribe(["idle"]);
  let read = 0;
  await waitFor(async () => (read += (await consumer.poll(100)).length) >= 20, { timeoutMs: 20_000, message: "records read" });
  // Stop polling: the member must leave on its own.
  await waitFor(async () => (await client.admin().describeGroup("g-idle")).members.length === 0, { timeoutMs: 10_000, message: "the idle member gone from the group" });
  await waitFor(() => lost.length === 2, { timeoutMs: 5_000, message: "both partitions reported lost" });
  expect(lost.map((p) => p.partition).sort()).toEqual([0, 1]);
  // The application's logger heard why, with the group's ids.
  const warning = logged.find((l) => l.level === "warn" && l.message.includes("maxPollIntervalMs"));
  expect(warning?.fields).toMatchObject({ groupId: "g-idle", maxPollIntervalMs: 1_500 });
  expect(logged.some((l) => l.level === "info" && l.message === "reconciling assignment")).toBe(true);
  expect(consumer.assignment()).toEqual([]);
  await consumer.poll(100);
  await waitFor(async () => (await client.admin().describeGroup("g-idle")).members.length === 1, { timeoutMs: 10_000, message: "rejoined" });
  await waitFor(async () => (await consumer.poll(100), consumer.assignment().length === 2), { timeoutMs: 10_000, message: "partitions back" });
  await consumer.close();
});

it("lets the event loop run between polls that hand out buffered records", async () => {
  const consumer = env.client().consumer({
    groupId: "g-busy",
    keyDeserializer: serializers.string,
    valueDeserializer: serializers.string,
    autoOffsetReset: "earliest",
    maxPollRecords: 10,
  });
  await consumer.subscribe(["busy"]);
  let read = 0;
  await waitFor(async () => (read += (await consumer.poll(100)).length) > 0, { timeoutMs: 20_000, message: "first records" });
  // Counts turns of the event loop from here on.
  let turns = 0;
  let ticking = true;
  const tick = (): void => {
    turns++;
    if (ticking) setImmediate(tick);
  };
  setImmediate(tick);
  let recordPolls = 0;
  try {
    // Each poll() finds records buffered (2,000 records come in a few Fetch answers, 10 at a time
    // go out): without a turn of the loop in poll(), this loop would starve every timer.
    while (read < 2_000) {
      const records = await consumer.poll(5_000);
      if (records.length === 0) throw new Error(`no records after ${read}`);
      read += records.length;
      recordPolls++;
    }
  } finally {
    ticking = false;
  }
  expect(recordPolls).toBeGreaterThanOrEqual(199);
  expect(turns).toBeGreaterThanOrEqual(recordPolls - 1);
  await consumer.close();
});
