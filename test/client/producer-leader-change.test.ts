// A producer whose partition leader dies sends its retried batch to the new leader as soon as
// metadata names one, not after its retry backoff (KIP-951's rule). The backoff here is 30 s;
// the send must complete well inside it, so only the leader-change path can make it pass.
import { afterAll, beforeAll, expect, it } from "vitest";
import { serializers } from "../../packages/client/dist/index.js";
import { startClientCluster, type ClientCluster } from "./support.js";

const RETRY_BACKOFF_MS = 30_000;
/** Comfortably more than fencing (~0.5 s here) plus metadata, comfortably less than the backoff's 24 s minimum (20% jitter). */
const SEND_DEADLINE_MS = 15_000;

let env: ClientCluster;

beforeAll(async () => {
  env = await startClientCluster({ controllers: 1, brokers: 3 });
  await env.client().admin().createTopics([{ topic: "moving", numPartitions: 1, replicationFactor: 3, configs: { "min.insync.replicas": "2" } }]);
});

afterAll(async () => {
  await env?.stop();
});

it("retries on the new leader without waiting out its backoff when the old one is killed", async () => {
  const client = env.client({ requestTimeoutMs: 5_000 });
  const producer = client.producer({
    keySerializer: serializers.string,
    valueSerializer: serializers.string,
    acks: "all",
    lingerMs: 0,
    retryBackoffMs: RETRY_BACKOFF_MS,
    retryBackoffMaxMs: RETRY_BACKOFF_MS,
    deliveryTimeoutMs: 120_000,
    requestTimeoutMs: 5_000,
  });
  const before = await producer.send({ topic: "moving", key: "k", value: "before" });
  const admin = client.admin();
  const leader = (await admin.describeTopics(["moving"]))[0]!.partitions[0]!.leader;
  await env.cluster.kill(leader, "SIGKILL");

  const sent = producer.send({ topic: "moving", key: "k", value: "after" });
  const outcome = await Promise.race([
    sent.then((meta) => ({ meta })),
    new Promise<{ timedOut: true }>((resolve) => setTimeout(() => resolve({ timedOut: true }), SEND_DEADLINE_MS)),
  ]);
  expect(outcome).toHaveProperty("meta");
  const after = (outcome as { meta: { offset: bigint; partition: number } }).meta;
  expect(after.partition).toBe(0);
  expect(after.offset).toBe(before.offset + 1n);
  const newLeader = (await admin.describeTopics(["moving"]))[0]!.partitions[0]!.leader;
  expect(newLeader).not.toBe(leader);
  await producer.close();
});
