// The rest of the SDK's surface against real brokers: admin (topics, partitions, configs,
// offsets, groups), the consumer without a group (assign, seek, pause/resume, lag, for await),
// and the producer's limits (a full buffer fails send() after maxBlockMs with a typed error).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  BufferExhaustedError,
  TopicError,
  TributaryError,
  serializers,
  type ConsumerRecord,
  type RecordMetadata,
} from "../../packages/client/dist/index.js";
import { startClientCluster, waitFor, type ClientCluster } from "./support.js";

let env: ClientCluster;

beforeAll(async () => {
  env = await startClientCluster({ controllers: 1, brokers: 3 });
});

afterAll(async () => {
  await env?.stop();
});

describe("admin", () => {
  it("creates, describes, grows, configures and deletes topics, with typed errors", async () => {
    const admin = env.client().admin();
    await admin.createTopics([{ topic: "admin-a", numPartitions: 2, replicationFactor: 2, configs: { "retention.ms": "3600000" } }]);
    const error = await admin.createTopics([{ topic: "admin-a", numPartitions: 2, replicationFactor: 2 }]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TopicError);
    expect((error as TributaryError).code).toBe("TOPIC_ALREADY_EXISTS");

    await admin.createPartitions([{ topic: "admin-a", count: 4 }]);
    await waitFor(async () => (await admin.describeTopics(["admin-a"]))[0]!.partitions.length === 4, { timeoutMs: 10_000, message: "four partitions" });

    const [described] = await admin.describeConfigs([{ type: "topic", name: "admin-a" }]);
    expect(described!.configs.find((c) => c.name === "retention.ms")).toMatchObject({ value: "3600000", isDefault: false });
    await admin.alterConfigs([{ resource: { type: "topic", name: "admin-a" }, configs: { "retention.ms": "7200000" } }]);
    await waitFor(
      async () => (await admin.describeConfigs([{ type: "topic", name: "admin-a" }], ["retention.ms"]))[0]!.configs[0]?.value === "7200000",
      { timeoutMs: 10_000, message: "retention.ms altered" },
    );

    const cluster = await admin.describeCluster();
    expect(cluster.brokers.map((b) => b.nodeId).sort()).toEqual([1, 2, 3]);
    expect(cluster.controllerId).toBeGreaterThan(0);

    await admin.deleteTopics(["admin-a"]);
    await waitFor(async () => !(await admin.listTopics()).includes("admin-a"), { timeoutMs: 10_000, message: "admin-a gone" });
    const missing = await admin.describeTopics(["admin-a"]).catch((e: unknown) => e);
    expect((missing as TributaryError).code).toBe("UNKNOWN_TOPIC_OR_PARTITION");
  });

  it("lists offsets and describes a group with its lag, then deletes it once empty", async () => {
    const client = env.client();
    const admin = client.admin();
    await admin.createTopics([{ topic: "admin-lag", numPartitions: 2, replicationFactor: 3 }]);
    const producer = client.producer({ keySerializer: serializers.string, valueSerializer: serializers.string });
    const before = Date.now();
    await producer.sendBatch(Array.from({ length: 100 }, (_, i) => ({ topic: "admin-lag", partition: i % 2, value: `v${i}` })));
    await producer.close();
    expect((await admin.listOffsets("admin-lag", "earliest")).map((o) => o.offset)).toEqual([0n, 0n]);
    expect((await admin.listOffsets("admin-lag", "latest")).map((o) => o.offset)).toEqual([50n, 50n]);
    const byTime = await admin.listOffsets("admin-lag", { timestamp: before });
    expect(byTime.map((o) => o.offset)).toEqual([0n, 0n]);

    const consumer = client.consumer({ groupId: "g-lag", keyDeserializer: serializers.string, valueDeserializer: serializers.string, autoOffsetReset: "earliest", enableAutoCommit: false, maxPollRecords: 30 });
    await consumer.subscribe(["admin-lag"]);
    let read = 0;
    await waitFor(async () => (read += (await consumer.poll(200)).length) >= 30, { timeoutMs: 20_000, message: "30 records read" });
    await consumer.commitSync();
    const group = await admin.describeGroup("g-lag");
    expect(group.members).toHaveLength(1);
    expect(group.members[0]!.assignment).toHaveLength(2);
    expect(group.totalLag).toBe(BigInt(100 - read));
    expect(group.offsets.every((o) => o.endOffset === 50n)).toBe(true);
    expect((await admin.listGroups()).map((g) => g.groupId)).toContain("g-lag");
    const busy = await admin.deleteGroup("g-lag").catch((e: unknown) => e);
    expect((busy as TributaryError).code).toBe("NON_EMPTY_GROUP");
    await consumer.close();
    await waitFor(async () => (await admin.deleteGroup("g-lag").then(() => true, () => false)), { timeoutMs: 20_000, message: "empty group deleted" });
  });
});

describe("consumer without a group", () => {
  it("assigns, seeks, pauses and resumes, reports lag, and iterates with for await", async () => {
    const client = env.client();
    const admin = client.admin();
    await admin.createTopics([{ topic: "solo", numPartitions: 2, replicationFactor: 1 }]);
    const producer = client.producer({ keySerializer: serializers.bigint, valueSerializer: serializers.json });
    const sent: RecordMetadata[] = await producer.sendBatch(
      Array.from({ length: 40 }, (_, i) => ({ topic: "solo", partition: i % 2, key: BigInt(i), value: { n: i }, timestamp: 1_700_000_000_000 + i })),
    );
    expect(sent[5]!.timestamp).toBe(1_700_000_000_005);
    await producer.close();
    expect(sent.filter((m) => m.partition === 0).map((m) => m.offset)).toEqual(Array.from({ length: 20 }, (_, i) => BigInt(i)));

    const consumer = client.consumer({ keyDeserializer: serializers.bigint, valueDeserializer: serializers.json, autoOffsetReset: "earliest" });
    const p0 = { topic: "solo", partition: 0 };
    const p1 = { topic: "solo", partition: 1 };
    consumer.assign([p0, p1]);
    consumer.pause([p1]);
    const got: ConsumerRecord<bigint | null, unknown>[] = [];
    await waitFor(async () => (got.push(...(await consumer.poll(100))), got.length >= 20), { timeoutMs: 20_000, message: "partition 0 read" });
    expect(got.every((r) => r.partition === 0)).toBe(true);
    expect(got.map((r) => r.key)).toEqual(Array.from({ length: 20 }, (_, i) => BigInt(i * 2)));
    expect(await consumer.position(p0)).toBe(20n);
    expect(consumer.paused()).toEqual([p1]);
    const lag0 = consumer.lag().find((l) => l.partition === 0)!;
    expect(lag0.lag).toBe(0n);

    consumer.seek(p0, 15n);
    consumer.resume([p1]);
    const again: ConsumerRecord<bigint | null, unknown>[] = [];
    for await (const record of consumer) {
      again.push(record);
      if (again.length === 25) break;
    }
    const fromP0 = again.filter((r) => r.partition === 0).map((r) => r.offset);
    const fromP1 = again.filter((r) => r.partition === 1).map((r) => r.offset);
    expect(fromP0).toEqual([15n, 16n, 17n, 18n, 19n]);
    expect(fromP1).toEqual(Array.from({ length: 20 }, (_, i) => BigInt(i)));
    expect(again.find((r) => r.partition === 1 && r.offset === 3n)).toMatchObject({ key: 7n, value: { n: 7 }, timestamp: 1_700_000_000_007 });

    consumer.seekToBeginning([p1]);
    expect(await consumer.position(p1)).toBe(0n);
    consumer.seekToEnd([p1]);
    expect(await consumer.position(p1)).toBe(20n);
    await consumer.close();
  });
});

describe("compression", () => {
  it("writes and reads back gzip, snappy, lz4 and zstd batches", async () => {
    const client = env.client();
    await client.admin().createTopics([{ topic: "codecs", numPartitions: 1, replicationFactor: 3 }]);
    const codecs = ["gzip", "snappy", "lz4", "zstd"] as const;
    for (const compression of codecs) {
      const producer = client.producer({ keySerializer: serializers.string, valueSerializer: serializers.string, compression });
      await producer.sendBatch(Array.from({ length: 50 }, (_, i) => ({ topic: "codecs", key: compression, value: `${compression}-${i}-${"z".repeat(200)}` })));
      await producer.close();
    }
    const consumer = client.consumer({ keyDeserializer: serializers.string, valueDeserializer: serializers.string, autoOffsetReset: "earliest" });
    consumer.assign([{ topic: "codecs", partition: 0 }]);
    const values: string[] = [];
    await waitFor(
      async () => {
        for (const record of await consumer.poll(100)) values.push(record.value!);
        return values.length >= 200;
      },
      { timeoutMs: 20_000, message: "200 records" },
    );
    await consumer.close();
    expect(values).toEqual(codecs.flatMap((c) => Array.from({ length: 50 }, (_, i) => `${c}-${i}-${"z".repeat(200)}`)));
  });
});

describe("producer errors reach the caller", () => {
  it("rejects a bad partition, a value the serializer refuses, and a send after close, each with its type", async () => {
    const client = env.client();
    await client.admin().createTopics([{ topic: "errors", numPartitions: 2, replicationFactor: 1 }]);
    const producer = client.producer({ keySerializer: serializers.string, valueSerializer: serializers.int32 });
    const badPartition = await producer.send({ topic: "errors", partition: 7, value: 1 }).catch((e: unknown) => e);
    expect(badPartition).toBeInstanceOf(TributaryError);
    expect((badPartition as TributaryError).code).toBe("UNKNOWN_TOPIC_OR_PARTITION");
    const badValue = await producer.send({ topic: "errors", value: 2 ** 40 }).catch((e: unknown) => e);
    expect((badValue as Error).name).toBe("SerializationError");
    const viaCallback = await new Promise<Error | null>((resolve) => producer.send({ topic: "errors", partition: 9, value: 1 }, (error) => resolve(error)));
    expect((viaCallback as TributaryError).code).toBe("UNKNOWN_TOPIC_OR_PARTITION");
    // One bad record fails its sendBatch() after the others settled; the good ones are written.
    const mixed = await producer.sendBatch([{ topic: "errors", partition: 0, value: 1 }, { topic: "errors", partition: 5, value: 2 }]).catch((e: unknown) => e);
    expect((mixed as TributaryError).code).toBe("UNKNOWN_TOPIC_OR_PARTITION");
    expect((await client.admin().listOffsets("errors", "latest")).find((o) => o.partition === 0)!.offset).toBe(1n);
    await producer.close();
    const closed = await producer.send({ topic: "errors", value: 3 }).catch((e: unknown) => e);
    expect((closed as Error).name).toBe("IllegalStateError");
  });
});

describe("producer limits", () => {
  it("makes send() wait for buffer space and fail after maxBlockMs with BufferExhaustedError", async () => {
    const client = env.client();
    await client.admin().createTopics([{ topic: "stalled", numPartitions: 1, replicationFactor: 1 }]);
    const producer = client.producer({
      keySerializer: serializers.string,
      valueSerializer: serializers.string,
      bufferMemoryBytes: 64 * 1024,
      batchSizeBytes: 16 * 1024,
      maxBlockMs: 500,
      requestTimeoutMs: 2_000,
      deliveryTimeoutMs: 30_000,
    });
    await producer.send({ topic: "stalled", value: "warm-up" }); // metadata known, leader reachable
    const leader = (await client.admin().describeTopics(["stalled"]))[0]!.partitions[0]!.leader;
    env.cluster.pause(leader);
    try {
      const value = "x".repeat(1_000);
      const outcomes: unknown[] = new Array(80).fill("pending");
      const sends = Array.from({ length: 80 }, (_, i) =>
        producer.send({ topic: "stalled", value }).then(
          () => (outcomes[i] = "ok"),
          (e: unknown) => (outcomes[i] = e),
        ),
      );
      // Whatever fit in 64 KiB waits on the stalled broker; the rest gives up after maxBlockMs.
      await waitFor(() => outcomes.filter((o) => o instanceof Error).length > 0 && producer.metrics().blockedSends === 0, {
        timeoutMs: 10_000,
        message: "blocked sends failed",
      });
      const failed = outcomes.filter((o) => o instanceof Error);
      expect(failed.every((e) => e instanceof BufferExhaustedError && (e as TributaryError).code === "REQUEST_TIMED_OUT")).toBe(true);
      expect(outcomes.filter((o) => o === "ok")).toHaveLength(0);
      const waiting = outcomes.filter((o) => o === "pending").length;
      expect(waiting).toBeGreaterThan(0);
      expect(waiting + failed.length).toBe(80);
      expect(producer.metrics().bufferedBytes).toBeLessThanOrEqual(64 * 1024);
      env.cluster.resume(leader);
      await Promise.all(sends);
      // Once the broker is back, every record that was accepted into the buffer is written.
      expect(outcomes.filter((o) => o === "ok")).toHaveLength(waiting);
    } finally {
      env.cluster.resume(leader);
    }
    await producer.flush();
    expect(producer.metrics().pendingRecords).toBe(0);
    await producer.close();
  });
});
