// Runs the seed's KafkaExample, ported to @tributary/client, against 1 controller + 3 brokers
// (the seed's create-topic.sh first: my-example-topic, RF 3, 1 partition) and checks that it
// prints what the Java program printed: ten "sent record(...)" lines with partition 0 and
// consecutive offsets, then ten "Got Record" lines for the same keys and offsets, then DONE.
import { afterAll, beforeAll, expect, it } from "vitest";
import { main } from "./kafka-example.js";
import { startClientCluster, type ClientCluster } from "./support.js";

let env: ClientCluster;

beforeAll(async () => {
  env = await startClientCluster({ controllers: 1, brokers: 3 });
  await env.client().admin().createTopics([{ topic: "my-example-topic", numPartitions: 1, replicationFactor: 3 }]);
});

afterAll(async () => {
  await env?.stop();
});

it("KafkaExample prints the seed's shape of output", async () => {
  let printed = "";
  await main({ bootstrapServers: env.cluster.bootstrapServers.join(","), print: (text) => (printed += text) });
  const lines = printed.trimEnd().split("\n");
  const sent = lines.filter((l) => l.startsWith("sent record"));
  const got = lines.filter((l) => l.startsWith("Got Record"));
  expect(sent).toHaveLength(10);
  expect(got).toHaveLength(10);
  expect(lines[lines.length - 1]).toBe("DONE");

  const sentPattern = /^sent record\(key=(\d+) value=Hello Mom (\d+)\) meta\(partition=0, offset=(\d+)\) time=\d+$/;
  const sentByKey = new Map<string, string>();
  for (const line of sent) {
    const match = sentPattern.exec(line);
    expect(match, line).not.toBeNull();
    expect(match![1]).toBe(match![2]);
    sentByKey.set(match![1]!, match![3]!);
  }
  expect([...sentByKey.values()].map(Number).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);

  const gotPattern = /^Got Record: \((\d+), Hello Mom (\d+)\) at offset (\d+)$/;
  const offsets: number[] = [];
  for (const line of got) {
    const match = gotPattern.exec(line);
    expect(match, line).not.toBeNull();
    expect(match![1]).toBe(match![2]);
    expect(sentByKey.get(match![1]!)).toBe(match![3]);
    offsets.push(Number(match![3]));
  }
  expect(offsets).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  // Sent lines come before the consumer's lines, as in the seed.
  expect(lines.indexOf(got[0]!)).toBeGreaterThan(lines.indexOf(sent[9]!));
});
