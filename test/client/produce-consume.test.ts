// The SDK against real brokers: admin creates a replicated topic, an idempotent producer
// writes with send() (promise and callback) and sendBatch(), a group consumer reads every
// record back exactly once and in offset order per partition, commits, and its committed
// offsets and lag are what admin reports.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serializers, type ConsumerRecord, type RecordMetadata } from "../../packages/client/dist/index.js";
import { startClientCluster, waitFor, type ClientCluster } from "./support.js";

let env: ClientCluster;

beforeAll(async () => {
  env = await startClientCluster({ controllers: 1, brokers: 3 });
});

afterAll(async () => {
  await env?.stop();
});

describe("produce and consume through a group", () => {
  it("delivers every record once, in order per partition, with exact offsets", async () => {
    const client = env.client();
    const admin = client.admin();
    await admin.createTopics([{ topic: "orders", numPartitions: 6, replicationFactor: 3 }]);
    expect(await admin.listTopics()).toContain("orders");
    const [described] = await admin.describeTopics(["orders"]);
    expect(described!.partitions).toHaveLength(6);
    expect(described!.partitions.every((p) => p.replicas.length === 3 && p.leader >= 1)).toBe(true);

    const producer = client.producer({ keySerializer: serializers.string, valueSerializer: serializers.string, acks: "all", lingerMs: 2 });
    const sent: RecordMetadata[] = [];
    for (let i = 0; i < 50; i++) sent.push(await producer.send({ topic: "orders", key: `k${i % 10}`, value: `single-${i}` }));
    const viaCallback = await new Promise<RecordMetadata>((resolve, reject) =>
      producer.send({ topic: "orders", key: "cb", value: "callback", headers: { trace: "t-1" } }, (error, meta) => (error ? reject(error) : resolve(meta!))),
    );
    sent.push(viaCallback);
    const batch = await producer.sendBatch(Array.from({ length: 2_000 }, (_, i) => ({ topic: "orders", key: `b${i}`, value: `batch-${i}` })));
    sent.push(...batch);
    // Unkeyed records stick to a partition per batch and move on with each new batch (KIP-480).
    const unkeyed: RecordMetadata[] = [];
    for (let i = 0; i < 10; i++) unkeyed.push(await producer.send({ topic: "orders", value: `unkeyed-${i}` }));
    expect(new Set(unkeyed.map((m) => m.partition)).size).toBeGreaterThan(1);
    sent.push(...unkeyed);
    await producer.flush();
    // Keyed records land where murmur2 puts them: one key, one partition.
    const partitionOfK3 = new Set(sent.slice(0, 50).filter((_, i) => i % 10 === 3).map((m) => m.partition));
    expect(partitionOfK3.size).toBe(1);
    // Offsets within a partition are distinct and exact bigints.
    const seen = new Set(sent.map((m) => `${m.partition}:${m.offset}`));
    expect(seen.size).toBe(sent.length);
    expect(sent.every((m) => typeof m.offset === "bigint" && m.offset >= 0n)).toBe(true);

    const consumer = client.consumer({ groupId: "orders-readers", keyDeserializer: serializers.string, valueDeserializer: serializers.string, autoOffsetReset: "earliest", enableAutoCommit: false });
    await consumer.subscribe(["orders"]);
    const received: ConsumerRecord<string | null, string | null>[] = [];
    await waitFor(
      async () => {
        received.push(...(await consumer.poll(200)));
        return received.length >= sent.length;
      },
      { timeoutMs: 30_000, message: "every record consumed" },
    );
    expect(received).toHaveLength(sent.length);
    const byPartition = new Map<number, bigint[]>();
    for (const r of received) byPartition.set(r.partition, [...(byPartition.get(r.partition) ?? []), r.offset]);
    for (const offsets of byPartition.values()) expect(offsets).toEqual([...offsets].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
    const cb = received.find((r) => r.value === "callback")!;
    expect(cb.headers).toEqual([{ key: "trace", value: Buffer.from("t-1") }]);
    expect(`${cb.partition}:${cb.offset}`).toBe(`${viaCallback.partition}:${viaCallback.offset}`);

    await consumer.commitSync();
    const committed = await consumer.committed(consumer.assignment());
    expect(committed.every((c) => c.offset !== null)).toBe(true);
    const group = await admin.describeGroup("orders-readers");
    expect(group.members).toHaveLength(1);
    expect(group.totalLag).toBe(0n);
    await consumer.close();
    await producer.close();
  });
  it("fails an acks=all send that cannot be written with a timeout naming the broker's reason", async () => {
    const client = env.client();
    // One replica but two required in sync: the broker refuses every attempt (retriable), so
    // the send can only end when its delivery timeout runs out, and must say why.
    await client.admin().createTopics([{ topic: "under-replicated", numPartitions: 1, replicationFactor: 1, configs: { "min.insync.replicas": "2" } }]);
    const producer = client.producer({ valueSerializer: serializers.string, acks: "all", lingerMs: 0, requestTimeoutMs: 1_000, deliveryTimeoutMs: 3_000 });
    const failure = await producer.send({ topic: "under-replicated", value: "never" }).then(() => undefined, (error: unknown) => error);
    expect(failure).toMatchObject({ code: "REQUEST_TIMED_OUT" });
    expect(String((failure as Error).message)).toMatch(/NOT_ENOUGH_REPLICAS/);
    await producer.close();
  });
});
