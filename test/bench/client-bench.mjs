// pnpm bench:client — the SDK against 1 controller + 3 brokers (separate processes), topic of
// 6 partitions with replication factor 3 (min.insync.replicas 2), 100-byte values. Prints one
// JSON line:
//   producer   records/s acknowledged with acks=all (idempotent, sendBatch pipelined), and the
//              same through send() with one promise per record
//   consumer   records/s reading it all back through a group (server-side assignment)
//   latency    end to end (send() -> poll() returns it) at a steady 5,000 records/s, lingerMs 0,
//              measured for 10 s after 20 s of the same rate as an uncounted warm-up
//   clientCpu  records per second of this process's CPU (user+system), the SDK's own cost
//              whatever the brokers manage
// Env: BENCH_SECONDS (8: producer phase), BENCH_LATENCY_SECONDS (10), BENCH_LATENCY_WARMUP_SECONDS
//      (20), BENCH_RATE (5000),
//      BENCH_BATCH_SIZE_BYTES (262144), BENCH_LINGER_MS (5), BENCH_OUTSTANDING (480000 records
//      sent and not yet acknowledged), BENCH_MAX_REQUEST_BYTES, BENCH_LATENCY_RF (3),
//      BENCH_LATENCY_ACKS ("all"), BENCH_DEBUG (producer metrics every second), BENCH_LOG_DIR
//      (keep each process's log there), BENCH_SLOW_MS (print the wall time of every record
//      slower than this end to end, to line up with those logs). Profile with
//      `node --cpu-prof --cpu-prof-dir=/tmp/prof test/bench/client-bench.mjs`.
import { spawn } from "node:child_process";
import { createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { Tributary, serializers } from "../../packages/client/dist/index.js";
import { freePort, sleep } from "./bench-support.mjs";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const LATENCY_SECONDS = Number(process.env.BENCH_LATENCY_SECONDS ?? 10);
const LATENCY_WARMUP_SECONDS = Number(process.env.BENCH_LATENCY_WARMUP_SECONDS ?? 20);
const RATE = Number(process.env.BENCH_RATE ?? 5000);
const BATCH_SIZE_BYTES = Number(process.env.BENCH_BATCH_SIZE_BYTES ?? 262_144);
const LINGER_MS = Number(process.env.BENCH_LINGER_MS ?? 5);
const RECORD_BYTES = 100;
const PARTITIONS = 6;
const CONTROLLER_MAIN = new URL("../../packages/controller/dist/main.js", import.meta.url).pathname;
const BROKER_MAIN = new URL("../../packages/broker/dist/main.js", import.meta.url).pathname;


const root = mkdtempSync(join(tmpdir(), "tributary-client-bench-"));
const children = [];
process.on("exit", () => {
  for (const c of children) try { c.kill("SIGKILL"); } catch {}
  rmSync(root, { recursive: true, force: true });
});

function startProcess(main, configFile, name) {
  const child = spawn(process.execPath, [main, "--config", configFile], { stdio: ["ignore", "pipe", "inherit"] });
  children.push(child);
  return new Promise((resolve, reject) => {
    let seen = "";
    const onData = (chunk) => {
      seen = (seen + chunk.toString()).slice(-4096);
      if (seen.includes('"msg":"listening"')) {
        child.stdout.off("data", onData);
        child.stdout.resume();
        resolve(child);
      }
    };
    child.stdout.on("data", onData);
    if (process.env.BENCH_LOG_DIR) child.stdout.pipe(createWriteStream(join(process.env.BENCH_LOG_DIR, `${name}.log`)));
    child.once("exit", (code) => reject(new Error(`${name} exited with ${code}`)));
  });
}

const controllerPort = await freePort();
const voters = `3001@127.0.0.1:${controllerPort}`;
const controllerConfig = join(root, "controller.properties");
writeFileSync(controllerConfig, [`node.id=3001`, `listeners=CONTROLLER://127.0.0.1:${controllerPort}`, `controller.quorum.voters=${voters}`, `metadata.log.dir=${join(root, "controller")}`].join("\n") + "\n");
await startProcess(CONTROLLER_MAIN, controllerConfig, "controller");
const brokerPorts = await Promise.all([1, 2, 3].map(() => freePort()));
await Promise.all([1, 2, 3].map((id, i) => {
  const file = join(root, `broker-${id}.properties`);
  writeFileSync(file, [`broker.id=${id}`, `listeners=PLAINTEXT://127.0.0.1:${brokerPorts[i]}`, `controller.quorum.voters=${voters}`, `log.dirs=${join(root, `broker-${id}`)}`, "offsets.topic.replication.factor=3"].join("\n") + "\n");
  return startProcess(BROKER_MAIN, file, `broker-${id}`);
}));

const client = new Tributary({ bootstrapServers: brokerPorts.map((p) => `127.0.0.1:${p}`), clientId: "client-bench" });
const admin = client.admin();
for (;;) {
  const cluster = await admin.describeCluster().catch(() => null);
  if (cluster && cluster.brokers.filter((b) => !b.fenced).length === 3) break;
  await sleep(100);
}
await admin.createTopics([{ topic: "bench", numPartitions: PARTITIONS, replicationFactor: 3, configs: { "min.insync.replicas": "2" } }]);
// BENCH_LATENCY_RF=1 separates the client's share of the latency from replication's.
const LATENCY_RF = Number(process.env.BENCH_LATENCY_RF ?? 3);
await admin.createTopics([{ topic: "latency", numPartitions: PARTITIONS, replicationFactor: LATENCY_RF, configs: { "min.insync.replicas": String(Math.min(2, LATENCY_RF)) } }]);

const cpuSeconds = (start) => {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1e6;
};
// The brokers' CPU (user+system, from /proc) beside this process's: CPU-seconds per million
// records is the figure that holds when other work shares the machine; records/s does not.
const brokerPids = children.slice(1).map((c) => c.pid);
const brokerCpuSeconds = () => brokerPids.reduce((sum, pid) => {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return sum + (Number(fields[11]) + Number(fields[12])) / 100;
}, 0);
const perMillion = (seconds, records) => (records > 0 ? Math.round((seconds / records) * 1e6 * 10) / 10 : null);
const loadAtStart = loadavg()[0];

// ---- producer: sendBatch, pipelined -------------------------------------------------------
const value = Buffer.alloc(RECORD_BYTES, 0x61);
const producer = client.producer({
  keySerializer: serializers.bytes,
  valueSerializer: serializers.bytes,
  acks: "all",
  lingerMs: LINGER_MS,
  batchSizeBytes: BATCH_SIZE_BYTES,
  bufferMemoryBytes: 128 * 1024 * 1024,
  ...(process.env.BENCH_MAX_REQUEST_BYTES ? { maxRequestBytes: Number(process.env.BENCH_MAX_REQUEST_BYTES) } : {}),
});
// Records outstanding (sent, not yet acknowledged): with acks=all a Produce round trip is long,
// so throughput is outstanding / round trip; bufferMemoryBytes bounds it.
const OUTSTANDING = Number(process.env.BENCH_OUTSTANDING ?? 480_000);
const CHUNK = 10_000;
const chunk = Array.from({ length: CHUNK }, () => ({ topic: "bench", value }));
let produced = 0;
let produceErrors = 0;
{
  let running = true;
  const started = performance.now();
  const cpuStart = process.cpuUsage();
  var producerBrokerCpuStart = brokerCpuSeconds();
  const loops = Array.from({ length: Math.max(1, Math.round(OUTSTANDING / CHUNK)) }, async () => {
    while (running) {
      try {
        await producer.sendBatch(chunk);
        produced += CHUNK;
      } catch {
        produceErrors++;
      }
    }
  });
  const progress = process.env.BENCH_DEBUG ? setInterval(() => console.error(JSON.stringify({ produced, ...producer.metrics() })), 1000) : undefined;
  await sleep(SECONDS * 1000);
  running = false;
  await Promise.all(loops);
  clearInterval(progress);
  var producerSeconds = (performance.now() - started) / 1000;
  var producerCpuSeconds = cpuSeconds(cpuStart);
  var producerBrokerCpuSeconds = brokerCpuSeconds() - producerBrokerCpuStart;
}

// ---- producer: send() with a promise per record ------------------------------------------
let sentOne = 0;
{
  const started = performance.now();
  const cpuStart = process.cpuUsage();
  const until = started + Math.min(3, SECONDS) * 1000;
  while (performance.now() < until) {
    const pending = [];
    for (let i = 0; i < 20_000; i++) pending.push(producer.send({ topic: "bench", value }));
    await Promise.all(pending);
    sentOne += pending.length;
  }
  var sendSeconds = (performance.now() - started) / 1000;
  var sendCpuSeconds = cpuSeconds(cpuStart);
}
await producer.flush();
const totalInTopic = produced + sentOne;

// ---- consumer: read it all back through a group -------------------------------------------
const consumer = client.consumer({
  groupId: "bench-readers",
  keyDeserializer: serializers.bytes,
  valueDeserializer: serializers.bytes,
  autoOffsetReset: "earliest",
  fetchMaxBytes: 64 * 1024 * 1024,
  maxPartitionFetchBytes: 4 * 1024 * 1024,
});
await consumer.subscribe(["bench"]);
let consumed = 0;
{
  // The first poll also waits for the group's assignment; time from the first record.
  const joinDeadline = Date.now() + 60_000;
  while (consumed === 0) {
    if (Date.now() > joinDeadline) throw new Error(`the bench consumer got no records within 60 s: ${JSON.stringify(consumer.groupMetadata())}`);
    consumed += (await consumer.poll(1000)).length;
  }
  const started = performance.now();
  const cpuStart = process.cpuUsage();
  var consumerBrokerCpuStart = brokerCpuSeconds();
  const fromConsumed = consumed;
  const deadline = Date.now() + 120_000;
  while (consumed < totalInTopic && Date.now() < deadline) consumed += (await consumer.poll(500)).length;
  var consumerSeconds = (performance.now() - started) / 1000;
  var consumerCpuSeconds = cpuSeconds(cpuStart);
  var consumerBrokerCpuSeconds = brokerCpuSeconds() - consumerBrokerCpuStart;
  var consumerRecords = consumed - fromConsumed;
}
await consumer.close();

// ---- latency at a steady rate, lingerMs 0 -------------------------------------------------
const LATENCY_ACKS = process.env.BENCH_LATENCY_ACKS === "1" ? 1 : "all";
const latencyProducer = client.producer({ keySerializer: serializers.bytes, valueSerializer: serializers.bytes, acks: LATENCY_ACKS, idempotent: LATENCY_ACKS === "all", lingerMs: 0 });
const latencyConsumer = client.consumer({ groupId: "bench-latency", keyDeserializer: serializers.bytes, valueDeserializer: serializers.bytes, autoOffsetReset: "latest", fetchMaxWaitMs: 500 });
await latencyConsumer.subscribe(["latency"]);
await latencyConsumer.poll(0); // joined and positioned at the end before the clock starts
const latenciesMs = [];
const ackLatenciesMs = [];
let latencySent = 0;
{
  // The rate runs without a pause through a warm-up and then the measured window; only records
  // stamped inside the window count, and CPU is taken over the window alone. In the first ~10 s
  // of this load V8 is still compiling the single-record paths (~0.1 core of background TurboFan
  // per broker) and every process's heap is still growing to its new size, with a major GC (a
  // 10-30 ms stall) every few seconds in each of the four; a window that starts there times that,
  // not the steady state.
  const started = performance.now();
  const measuredFromMs = started + LATENCY_WARMUP_SECONDS * 1000;
  const end = measuredFromMs + LATENCY_SECONDS * 1000;
  let consuming = true;
  const consumeLoop = (async () => {
    while (consuming) {
      for (const record of await latencyConsumer.poll(100)) {
        const stampMs = record.value.readDoubleBE(0);
        if (stampMs >= measuredFromMs) latenciesMs.push(performance.now() - stampMs);
        if (process.env.BENCH_SLOW_MS && performance.now() - stampMs > Number(process.env.BENCH_SLOW_MS)) console.error(`slow ${Math.round(performance.timeOrigin + stampMs)} ${(performance.now() - stampMs).toFixed(1)}`);
      }
    }
  })();
  let offered = 0;
  let windowOpen = false;
  while (performance.now() < end) {
    const due = Math.floor(((performance.now() - started) / 1000) * RATE);
    while (offered < due) {
      const payload = Buffer.alloc(RECORD_BYTES);
      const stampMs = performance.now();
      payload.writeDoubleBE(stampMs, 0);
      const counted = stampMs >= measuredFromMs;
      if (counted && !windowOpen) {
        windowOpen = true;
        var latencyCpuStart = process.cpuUsage();
        var latencyBrokerCpuStart = brokerCpuSeconds();
      }
      latencyProducer.send({ topic: "latency", value: payload }, () => { if (counted) ackLatenciesMs.push(performance.now() - stampMs); });
      offered++;
      if (counted) latencySent++;
    }
    // A 1 ms timer, not a busy loop: the generator must not take the CPU the brokers need.
    await sleep(1);
  }
  var latencyCpuSeconds = cpuSeconds(latencyCpuStart);
  var latencyBrokerCpuSeconds = brokerCpuSeconds() - latencyBrokerCpuStart;
  await latencyProducer.flush();
  const deadline = Date.now() + 10_000;
  while (latenciesMs.length < latencySent && Date.now() < deadline) await sleep(20);
  consuming = false;
  await consumeLoop;
}
await latencyConsumer.close();
await latencyProducer.close();
await producer.close();
await client.close();

latenciesMs.sort((a, b) => a - b);
ackLatenciesMs.sort((a, b) => a - b);
const percentileOf = (list, p) => (list.length === 0 ? null : Math.round(list[Math.min(list.length - 1, Math.floor((p / 100) * list.length))] * 100) / 100);
const percentile = (p) => percentileOf(latenciesMs, p);
console.log(JSON.stringify({
  bench: "client",
  brokers: 3,
  partitions: PARTITIONS,
  replicationFactor: 3,
  recordBytes: RECORD_BYTES,
  loadAverage1m: { start: Math.round(loadAtStart * 100) / 100, end: Math.round(loadavg()[0] * 100) / 100 },
  producer: {
    acks: "all",
    idempotent: true,
    lingerMs: LINGER_MS,
    batchSizeBytes: BATCH_SIZE_BYTES,
    outstandingRecords: OUTSTANDING,
    recordsPerSec: Math.round(produced / producerSeconds),
    errors: produceErrors,
    clientCpuRecordsPerSec: Math.round(produced / producerCpuSeconds),
    brokersCpuSecPerMRecords: perMillion(producerBrokerCpuSeconds, produced),
    clientCpuSecPerMRecords: perMillion(producerCpuSeconds, produced),
    sendPerRecordPromiseRecordsPerSec: Math.round(sentOne / sendSeconds),
    sendClientCpuRecordsPerSec: Math.round(sentOne / sendCpuSeconds),
  },
  consumer: {
    recordsPerSec: Math.round(consumerRecords / consumerSeconds),
    clientCpuRecordsPerSec: Math.round(consumerRecords / consumerCpuSeconds),
    brokersCpuSecPerMRecords: perMillion(consumerBrokerCpuSeconds, consumerRecords),
    clientCpuSecPerMRecords: perMillion(consumerCpuSeconds, consumerRecords),
    readBack: consumed,
    expected: totalInTopic,
  },
  latency: {
    ratePerSec: RATE,
    replicationFactor: LATENCY_RF,
    acks: LATENCY_ACKS,
    lingerMs: 0,
    warmupSeconds: LATENCY_WARMUP_SECONDS,
    seconds: LATENCY_SECONDS,
    sent: latencySent,
    received: latenciesMs.length,
    p50Ms: percentile(50),
    p99Ms: percentile(99),
    produceAckP50Ms: percentileOf(ackLatenciesMs, 50),
    produceAckP99Ms: percentileOf(ackLatenciesMs, 99),
    brokersCpuSecPerMRecords: perMillion(latencyBrokerCpuSeconds, latencySent),
    clientCpuSecPerMRecords: perMillion(latencyCpuSeconds, latencySent),
    maxMs: latenciesMs.length === 0 ? null : Math.round(latenciesMs[latenciesMs.length - 1] * 100) / 100,
  },
}));
process.exit(0);
