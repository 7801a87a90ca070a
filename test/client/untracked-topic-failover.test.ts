// A producer writing to a topic it never tracked — its metadata came from Admin.createTopics on
// the same client — while the client tracks another topic (a subscribed consumer): when the
// topic's leader is killed, the producer must still learn the new leader. Before the fix, its
// metadata refreshes asked only for the tracked topic, so its writes stalled until something
// else happened to fetch the topic (bench:compare saw 12-20 s, the length of its window).
import { afterAll, beforeAll, expect, it } from "vitest";
import { serializers } from "../../packages/client/dist/index.js";
import { startClientCluster, waitFor, type ClientCluster } from "./support.js";

let env: ClientCluster;

beforeAll(async () => {
  env = await startClientCluster({ controllers: 1, brokers: 3 });
});

afterAll(async () => {
  await env?.stop();
});

it("resumes writes after the leader's SIGKILL when the topic is known only through Admin", async () => {
  const client = env.client();
  const admin = client.admin();
  await admin.createTopics([
    { topic: "written", numPartitions: 1, replicationFactor: 3, configs: { "min.insync.replicas": "2" } },
    { topic: "subscribed", numPartitions: 1, replicationFactor: 3 },
  ]);
  const consumer = client.consumer({ groupId: "tracker", keyDeserializer: serializers.bytes, valueDeserializer: serializers.bytes });
  await consumer.subscribe(["subscribed"]); // the client now tracks "subscribed", not "written"
  const producer = client.producer({ keySerializer: serializers.string, valueSerializer: serializers.string, acks: "all", lingerMs: 0, deliveryTimeoutMs: 120_000 });
  await producer.send({ topic: "written", value: "before" });

  const [described] = await admin.describeTopics(["written"]);
  const leader = described!.partitions[0]!.leader;
  await env.cluster.kill(leader, "SIGKILL");
  // No Admin or consumer call on "written" from here on: only the producer's own refreshes.
  const acked: string[] = [];
  let writing = true;
  const writer = (async () => {
    for (let i = 0; writing; i++) {
      await producer.send({ topic: "written", value: `after-${i}` }).then(() => acked.push(`after-${i}`), () => undefined);
    }
  })();
  try {
    await waitFor(() => acked.length > 0, { timeoutMs: 30_000, message: "a write acknowledged after the leader's SIGKILL" });
  } finally {
    writing = false;
    // Fails a send still waiting (the stuck case) so the writer loop ends.
    await producer.close({ timeoutMs: 1_000 }).catch(() => undefined);
    await writer;
    await consumer.close();
  }
  expect(acked[0]).toMatch(/^after-/);
}, 120_000);
