// pnpm bench:broker — 1 controller and 3 brokers as separate processes, driven by a raw
// produce loop: batches of 100-byte records, replication factor 3, acks=all, 6 partitions,
// many requests in flight. Prints one JSON line: records/s and MB/s in, the replication lag
// at the end (leader log end minus high watermark, summed), and each broker's peak RSS.
//
// Env: BENCH_SECONDS (10), BENCH_RECORDS_PER_BATCH (2000), BENCH_IN_FLIGHT (8 per broker),
//      BENCH_BATCHES_PER_REQUEST (1 per partition; the SDK's producer, fed faster than it sends,
//      puts many 256 KiB batches of a partition in one request),
//      BENCH_PARTITIONS (6), BENCH_RECORD_BYTES (100), BENCH_CPU_PROF_DIR (profile the brokers),
//      BENCH_BROKER_NODE_ARGS (extra node flags for the brokers, e.g. "--trace-gc"),
//      BENCH_BROKER_LOG_DIR (keep each broker's stdout there),
//      BENCH_IDLE_PARTITIONS (0; e.g. 50: a second topic with that many RF 3 partitions that get
//      no writes, as __consumer_offsets is on a cluster with consumer groups: every follower
//      fetch carries them too),
//      BENCH_TRANSPORT (session: Produce on one Broker.Session call per broker, as the SDK sends
//      it; unary: one Produce RPC per request; default session).
import { spawn } from "node:child_process";
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { freePort, sleep } from "./bench-support.mjs";

const require = createRequire(new URL("../../packages/broker/package.json", import.meta.url));
const grpc = require("@grpc/grpc-js");
const protocol = await import(pathToFileURL(require.resolve("@tributary/protocol")).href);
const records = await import(pathToFileURL(require.resolve("@tributary/records")).href);
const CONTROLLER_MAIN = new URL("../../packages/controller/dist/main.js", import.meta.url).pathname;
const BROKER_MAIN = new URL("../../packages/broker/dist/main.js", import.meta.url).pathname;

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const RECORDS_PER_BATCH = Number(process.env.BENCH_RECORDS_PER_BATCH ?? 2000);
const IN_FLIGHT = Number(process.env.BENCH_IN_FLIGHT ?? 8);
const PARTITIONS = Number(process.env.BENCH_PARTITIONS ?? 6);
const IDLE_PARTITIONS = Number(process.env.BENCH_IDLE_PARTITIONS ?? 0);
const RECORD_BYTES = Number(process.env.BENCH_RECORD_BYTES ?? 100);
const BATCHES_PER_REQUEST = Number(process.env.BENCH_BATCHES_PER_REQUEST ?? 1);
const PROFILE_DIR = process.env.BENCH_CPU_PROF_DIR;
const TRANSPORT = process.env.BENCH_TRANSPORT ?? "session";
if (TRANSPORT !== "session" && TRANSPORT !== "unary") throw new Error(`BENCH_TRANSPORT must be session or unary, not ${TRANSPORT}`);
const TOPIC = "bench";
const BROKER_IDS = [1, 2, 3];


const root = mkdtempSync(join(tmpdir(), "tributary-broker-bench-"));
const children = [];
process.on("exit", () => { for (const c of children) try { c.kill("SIGKILL"); } catch {} });

function startProcess(main, configFile, name) {
  const isBroker = name.startsWith("broker");
  const extra = isBroker && process.env.BENCH_BROKER_NODE_ARGS ? process.env.BENCH_BROKER_NODE_ARGS.split(" ").filter(Boolean) : [];
  const args = [...(PROFILE_DIR && isBroker ? ["--cpu-prof", `--cpu-prof-dir=${PROFILE_DIR}`] : []), ...extra, main, "--config", configFile];
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] });
  children.push(child);
  const exited = new Promise((resolve) => child.once("exit", resolve));
  return new Promise((resolve, reject) => {
    let seen = "";
    const onData = (chunk) => {
      seen = (seen + chunk.toString()).slice(-4096);
      if (seen.includes('"msg":"listening"')) {
        child.stdout.off("data", onData);
        if (isBroker && process.env.BENCH_BROKER_LOG_DIR) {
          mkdirSync(process.env.BENCH_BROKER_LOG_DIR, { recursive: true });
          child.stdout.on("data", (c) => appendFileSync(join(process.env.BENCH_BROKER_LOG_DIR, `${name}.log`), c));
        } else child.stdout.resume();
        resolve({ child, exited });
      }
    };
    child.stdout.on("data", onData);
    exited.then((code) => reject(new Error(`${name} exited with ${code}`)));
  });
}

const controllerPort = await freePort();
const voters = `3001@127.0.0.1:${controllerPort}`;
const controllerConfig = join(root, "controller.properties");
writeFileSync(controllerConfig, [`node.id=3001`, `listeners=CONTROLLER://127.0.0.1:${controllerPort}`, `controller.quorum.voters=${voters}`, `metadata.log.dir=${join(root, "controller")}`].join("\n") + "\n");
await startProcess(CONTROLLER_MAIN, controllerConfig, "controller");
const brokerPorts = new Map();
const brokers = new Map();
for (const id of BROKER_IDS) brokerPorts.set(id, await freePort());
if (PROFILE_DIR) mkdirSync(PROFILE_DIR, { recursive: true });
await Promise.all(BROKER_IDS.map(async (id) => {
  const file = join(root, `broker-${id}.properties`);
  writeFileSync(file, [`broker.id=${id}`, `listeners=PLAINTEXT://127.0.0.1:${brokerPorts.get(id)}`, `controller.quorum.voters=${voters}`, `log.dirs=${join(root, `broker-${id}`)}`, "min.insync.replicas=2"].join("\n") + "\n");
  brokers.set(id, await startProcess(BROKER_MAIN, file, `broker-${id}`));
}));

const v1 = protocol.tributaryV1();
const clientOptions = { "grpc.max_receive_message_length": 256 << 20, "grpc.max_send_message_length": 256 << 20, "grpc-node.flow_control_window": 16 << 20 };
const brokerClients = new Map(BROKER_IDS.map((id) => [id, new v1.Broker(`127.0.0.1:${brokerPorts.get(id)}`, grpc.credentials.createInsecure(), clientOptions)]));
const admin = new v1.Admin(`127.0.0.1:${brokerPorts.get(1)}`, grpc.credentials.createInsecure(), clientOptions);
const unary = (client, method, request, timeoutMs = 30_000) => new Promise((resolve, reject) => {
  client[method](request, { deadline: Date.now() + timeoutMs }, (error, response) => (error ? reject(error) : resolve(response)));
});

// Wait for the brokers, create the topic, wait for full ISRs.
for (;;) {
  const m = await unary(brokerClients.get(1), "Metadata", { allTopics: true }).catch(() => null);
  if (m && m.brokers.length === 3) break;
  await sleep(100);
}
const created = await unary(admin, "CreateTopics", { topics: [{ name: TOPIC, numPartitions: PARTITIONS, replicationFactor: 3, configs: { "min.insync.replicas": "2" }, assignments: [] }], timeoutMs: 10_000 });
if (protocol.errorCodeOf(created.topics[0].error) !== "NONE") throw new Error(`create topic: ${JSON.stringify(created.topics[0].error)}`);
if (IDLE_PARTITIONS > 0) {
  const idle = await unary(admin, "CreateTopics", { topics: [{ name: "bench-idle", numPartitions: IDLE_PARTITIONS, replicationFactor: 3, configs: {}, assignments: [] }], timeoutMs: 10_000 });
  if (protocol.errorCodeOf(idle.topics[0].error) !== "NONE") throw new Error(`create idle topic: ${JSON.stringify(idle.topics[0].error)}`);
  for (;;) {
    const m = await unary(brokerClients.get(1), "Metadata", { topics: ["bench-idle"] });
    const parts = m.topics[0]?.partitions ?? [];
    if (parts.length === IDLE_PARTITIONS && parts.every((p) => p.leader > 0 && p.isr.length === 3)) break;
    await sleep(100);
  }
}
let leaders;
for (;;) {
  const m = await unary(brokerClients.get(1), "Metadata", { topics: [TOPIC] });
  const parts = m.topics[0]?.partitions ?? [];
  if (parts.length === PARTITIONS && parts.every((p) => p.leader > 0 && p.isr.length === 3)) {
    leaders = new Map(parts.map((p) => [p.partition, p.leader]));
    break;
  }
  await sleep(100);
}

// One encoded batch per partition, reused: the broker stamps offsets into its own copy.
const value = Buffer.alloc(RECORD_BYTES, 0x61);
const now = Date.now();
const oneBatch = records.encodeBatch({ records: Array.from({ length: RECORDS_PER_BATCH }, () => ({ key: null, value, timestampMs: now })) });
const batch = Buffer.concat(Array.from({ length: BATCHES_PER_REQUEST }, () => oneBatch));
const RECORDS_PER_REQUEST_PARTITION = RECORDS_PER_BATCH * BATCHES_PER_REQUEST;
const requestsByBroker = new Map();
for (const [partition, leader] of leaders) {
  const list = requestsByBroker.get(leader) ?? [];
  list.push({ partition, records: batch });
  requestsByBroker.set(leader, list);
}

// CPU seconds a process has used (utime + stime from /proc), to report cost per record,
// which unlike records/s does not depend on what else the machine is running.
function cpuSeconds(pid, which = "both") {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  const user = Number(fields[11]) / 100;
  const system = Number(fields[12]) / 100;
  return which === "system" ? system : which === "user" ? user : user + system;
}
const brokerCpuAtStart = [...brokers.values()].reduce((sum, { child }) => sum + cpuSeconds(child.pid), 0);
const brokerSystemCpuAtStart = [...brokers.values()].reduce((sum, { child }) => sum + cpuSeconds(child.pid, "system"), 0);
const selfCpuAtStart = process.cpuUsage();
let latencyTotalMs = 0;
let latencyCount = 0;
let ackedRecords = 0;
let ackedBytes = 0;
let errors = 0;
const errorCodes = {};
let running = true;
const started = Date.now();
const produceRequestCodec = protocol.messageCodec("ProduceRequest");
const sessions = new Map([...brokerClients].map(([id, client]) => [id, new protocol.BrokerSession(client, `broker ${id}`)]));
async function loop(brokerId, partitions) {
  const client = brokerClients.get(brokerId);
  const session = sessions.get(brokerId);
  const request = { acks: -1, timeoutMs: 30_000, topics: [{ name: TOPIC, partitions }] };
  while (running) {
    const sentAt = performance.now();
    const response = await (TRANSPORT === "session" ? session.produce(produceRequestCodec.encode(request), 35_000) : unary(client, "Produce", request)).catch((e) => ({ failed: e }));
    latencyTotalMs += performance.now() - sentAt;
    latencyCount++;
    if (response.failed) { errors++; errorCodes[response.failed.code] = (errorCodes[response.failed.code] ?? 0) + 1; continue; }
    for (const p of response.topics[0].partitions) {
      const code = protocol.errorCodeOf(p.error);
      if (code === "NONE") {
        ackedRecords += RECORDS_PER_REQUEST_PARTITION;
        ackedBytes += batch.length;
      } else {
        errors++;
        errorCodes[code] = (errorCodes[code] ?? 0) + 1;
      }
    }
  }
}
const loops = [];
for (const [brokerId, partitions] of requestsByBroker) for (let i = 0; i < IN_FLIGHT; i++) loops.push(loop(brokerId, partitions));
await sleep(SECONDS * 1000);
running = false;
const elapsedMs = Date.now() - started;
await Promise.all(loops);
const brokerCpu = [...brokers.values()].reduce((sum, { child }) => sum + cpuSeconds(child.pid), 0) - brokerCpuAtStart;
const brokerSystemCpu = [...brokers.values()].reduce((sum, { child }) => sum + cpuSeconds(child.pid, "system"), 0) - brokerSystemCpuAtStart;
const selfCpu = process.cpuUsage(selfCpuAtStart);
const loadAverage = (await import("node:os")).loadavg()[0];

// Replication lag: the leaders' log end minus high watermark once the producers stopped.
let lagRecords = 0;
for (const [partition, leader] of leaders) {
  const r = await unary(brokerClients.get(leader), "Fetch", { replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1, topics: [{ topic: TOPIC, partitions: [{ partition, fetchOffset: "0", partitionMaxBytes: 1, currentLeaderEpoch: -1 }] }] });
  const p = r.topics[0].partitions[0];
  lagRecords += Number(p.logEndOffset) - Number(p.highWatermark);
}
const peakRssMb = {};
for (const [id, { child }] of brokers) {
  const status = readFileSync(`/proc/${child.pid}/status`, "utf8");
  const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
  peakRssMb[`broker${id}`] = Math.round(kb / 1024);
}
for (const session of sessions.values()) session.close();
for (const client of brokerClients.values()) client.close();
admin.close();
// SIGTERM so --cpu-prof writes its profile; then make sure nothing is left.
await Promise.all([...brokers.values()].map(async ({ child, exited }) => { child.kill("SIGTERM"); await Promise.race([exited, sleep(15_000)]); }));
for (const c of children) try { c.kill("SIGKILL"); } catch {}
rmSync(root, { recursive: true, force: true });
console.log(JSON.stringify({
  bench: "broker", transport: TRANSPORT, seconds: Math.round(elapsedMs / 100) / 10, partitions: PARTITIONS, replicationFactor: 3, acks: "all",
  recordBytes: RECORD_BYTES, recordsPerBatch: RECORDS_PER_BATCH, batchesPerRequest: BATCHES_PER_REQUEST, idlePartitions: IDLE_PARTITIONS, inFlightPerBroker: IN_FLIGHT,
  recordsPerSec: Math.round(ackedRecords / (elapsedMs / 1000)),
  mbPerSecIn: Math.round((ackedBytes / (elapsedMs / 1000) / 1e6) * 10) / 10,
  errors, errorCodes, replicationLagRecords: lagRecords, peakRssMb,
  meanProduceLatencyMs: Math.round(latencyTotalMs / Math.max(1, latencyCount)),
  brokerCpuSecondsPerMillionRecords: Math.round((brokerCpu / Math.max(1, ackedRecords)) * 1e6 * 100) / 100,
  // The kernel's part of it (socket and file syscalls, page faults).
  brokerSystemCpuSecondsPerMillionRecords: Math.round((brokerSystemCpu / Math.max(1, ackedRecords)) * 1e6 * 100) / 100,
  clientCpuSecondsPerMillionRecords: Math.round(((selfCpu.user + selfCpu.system) / 1e6 / Math.max(1, ackedRecords)) * 1e6 * 100) / 100,
  loadAverage1m: Math.round(loadAverage * 10) / 10,
}));
process.exit(0);
