// A group consumer in its own process, for tests that add, stop and kill -9 members.
// Usage: node consumer-process.mjs <bootstrap,servers> <groupId> <topic> <name> <sessionTimeoutMs>
// Prints one JSON line per event: {"e":"assigned"|"revoked"|"lost","p":[...]},
// {"e":"records","r":[[partition, offset, value], ...]}, {"e":"closed"}. SIGTERM closes cleanly
// (commit, leave the group); SIGKILL is the test's business.
import { Tributary, serializers } from "../../packages/client/dist/index.js";

const [bootstrap, groupId, topic, name, sessionTimeoutMs] = process.argv.slice(2);
const emit = (event) => process.stdout.write(`${JSON.stringify(event)}\n`);
const client = new Tributary({ bootstrapServers: bootstrap.split(","), clientId: name, requestTimeoutMs: 10_000 });
const consumer = client.consumer({
  groupId,
  keyDeserializer: serializers.string,
  valueDeserializer: serializers.string,
  autoOffsetReset: "earliest",
  sessionTimeoutMs: Number(sessionTimeoutMs),
  heartbeatIntervalMs: 250,
  autoCommitIntervalMs: 200,
  fetchMaxWaitMs: 100,
});
for (const event of ["partitionsAssigned", "partitionsRevoked", "partitionsLost"]) {
  consumer.on(event, (partitions) => emit({ e: event, p: partitions.map((tp) => tp.partition).sort((a, b) => a - b) }));
}
consumer.on("error", (error) => emit({ e: "error", message: error.message }));
let stopping = false;
process.on("SIGTERM", () => (stopping = true));
await consumer.subscribe([topic]);
emit({ e: "subscribed" });
while (!stopping) {
  const records = await consumer.poll(100);
  if (records.length > 0) emit({ e: "records", r: records.map((r) => [r.partition, Number(r.offset), r.value]) });
}
await consumer.close();
await client.close();
emit({ e: "closed" });
process.exit(0);
