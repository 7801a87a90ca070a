// pnpm bench:controller — on 3 controller processes: committed metadata writes per second
// (CreateTopics of 1-partition topics, many in flight) and the time from kill -9 of the leader to
// the next committed write (median of 10 kills). Prints one JSON line.
//
// Env: BENCH_TOPICS (default 20000), BENCH_IN_FLIGHT (256), BENCH_KILLS (10),
//      BENCH_ELECTION_TIMEOUT_MS (the controller default when unset).
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { freePort, sleep } from "./bench-support.mjs";

const require = createRequire(new URL("../../packages/controller/package.json", import.meta.url));
const grpc = require("@grpc/grpc-js");
const protocol = await import(pathToFileURL(require.resolve("@tributary/protocol")).href);
const MAIN = new URL("../../packages/controller/dist/main.js", import.meta.url).pathname;

const TOPICS = Number(process.env.BENCH_TOPICS ?? 20_000);
const IN_FLIGHT = Number(process.env.BENCH_IN_FLIGHT ?? 256);
const KILLS = Number(process.env.BENCH_KILLS ?? 10);
const ELECTION_TIMEOUT_MS = process.env.BENCH_ELECTION_TIMEOUT_MS;
const NODE_IDS = [1, 2, 3];


const root = mkdtempSync(join(tmpdir(), "tributary-controller-bench-"));
const ports = new Map();
for (const id of NODE_IDS) ports.set(id, await freePort());
const voters = NODE_IDS.map((id) => `${id}@127.0.0.1:${ports.get(id)}`).join(",");
const children = new Map();

async function startNode(id) {
  const config = join(root, `controller-${id}.properties`);
  const lines = [
    `node.id=${id}`,
    `listeners=CONTROLLER://127.0.0.1:${ports.get(id)}`,
    `controller.quorum.voters=${voters}`,
    `metadata.log.dir=${join(root, `data-${id}`)}`,
    "broker.session.timeout.ms=60000",
    ...(ELECTION_TIMEOUT_MS ? [`controller.quorum.election.timeout.ms=${ELECTION_TIMEOUT_MS}`] : []),
  ];
  writeFileSync(config, `${lines.join("\n")}\n`);
  // BENCH_CPU_PROF=<dir>: write a CPU profile of each controller (taken at the clean stop at the end).
  const profile = process.env.BENCH_CPU_PROF ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
  const child = spawn(process.execPath, [...profile, MAIN, "--config", config], { stdio: ["ignore", "pipe", "inherit"] });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  await new Promise((resolve, reject) => {
    child.stdout.on("data", (chunk) => { if (chunk.toString().includes('"msg":"listening"')) resolve(); });
    exited.then((code) => reject(new Error(`controller ${id} exited with ${code}`)));
  });
  child.stdout.resume();
  children.set(id, { child, exited });
}

async function kill9(id) {
  const node = children.get(id);
  if (!node) return;
  node.child.kill("SIGKILL");
  await node.exited;
  children.delete(id);
}

const Controller = protocol.tributaryV1().Controller;
const clients = new Map(NODE_IDS.map((id) => [id, new Controller(`127.0.0.1:${ports.get(id)}`, grpc.credentials.createInsecure(), {
  "grpc.initial_reconnect_backoff_ms": 20, "grpc.max_reconnect_backoff_ms": 200, "grpc.enable_channelz": 0,
})]));

function call(id, method, request, timeoutMs = 3_000) {
  return new Promise((resolve, reject) => {
    clients.get(id)[method](request, { deadline: Date.now() + timeoutMs }, (error, response) => (error ? reject(error) : resolve(response)));
  });
}

async function agreedLeader() {
  const answers = await Promise.all(NODE_IDS.map((id) => call(id, "DescribeQuorum", {}, 500).then((r) => r.leaderId, () => -1)));
  const live = answers.filter((id) => id >= 0);
  return live.length === NODE_IDS.length && live.every((id) => id === live[0]) ? live[0] : -1;
}

async function waitForLeader(deadlineMs = 30_000) {
  const end = Date.now() + deadlineMs;
  while (Date.now() < end) {
    const leader = await agreedLeader();
    if (leader >= 0) return leader;
    await sleep(50);
  }
  throw new Error("no leader agreed by all controllers");
}

/** Waits until every controller has committed what the leader had committed (a healthy quorum again). */
async function waitForCaughtUp(deadlineMs = 30_000) {
  const leader = await waitForLeader(deadlineMs);
  const target = Number((await call(leader, "DescribeQuorum", {})).commitIndex);
  const end = Date.now() + deadlineMs;
  while (Date.now() < end) {
    const indexes = await Promise.all(NODE_IDS.map((id) => call(id, "DescribeQuorum", {}, 500).then((r) => Number(r.commitIndex), () => -1)));
    if (indexes.every((index) => index >= target)) return;
    await sleep(20);
  }
  throw new Error("a restarted controller did not catch up");
}

let leaderGuess = 1;
/** A write that follows NOT_CONTROLLER hints; resolves with the response once it committed. */
async function write(method, request, errorOf, deadlineMs = 30_000) {
  const end = Date.now() + deadlineMs;
  let retried = false;
  while (Date.now() < end) {
    const target = leaderGuess;
    try {
      const response = await call(target, method, request, 2_000);
      const error = errorOf(response);
      if (!error || error.code === "NONE") return response;
      // A retry of a write whose first attempt committed after all (e.g. it timed out, or the
      // leader died after committing): the topic is there, which is what was asked.
      if (retried && error.code === "TOPIC_ALREADY_EXISTS") return response;
      retried = true;
      if (error.code !== "NOT_CONTROLLER" && error.code !== "REQUEST_TIMED_OUT") throw new Error(`${method}: ${error.code} ${error.message}`);
      const hint = response.controller?.nodeId ?? -1;
      if (leaderGuess === target) leaderGuess = hint >= 0 && hint !== target ? hint : NODE_IDS[(NODE_IDS.indexOf(target) + 1) % NODE_IDS.length];
      if (hint < 0) await sleep(5);
    } catch (error) {
      if (error instanceof Error && error.message.startsWith(method)) throw error;
      retried = true;
      if (leaderGuess === target) leaderGuess = NODE_IDS[(NODE_IDS.indexOf(target) + 1) % NODE_IDS.length];
      await sleep(5);
    }
  }
  throw new Error(`${method} did not commit within ${deadlineMs} ms`);
}

const topicError = (r) => r.topics[0]?.error;
let topicCounter = 0;
const createTopic = () => write("CreateTopics", { topics: [{ name: `bench-${topicCounter++}`, numPartitions: 1, replicationFactor: 3 }] }, topicError);

const brokerEpochs = new Map();
async function registerBrokers() {
  for (const brokerId of [1, 2, 3]) {
    const reg = await write("RegisterBroker", { brokerId, incarnationId: `bench-${brokerId}`, listeners: [{ host: "127.0.0.1", port: 9092 + brokerId }] }, (r) => r.error);
    brokerEpochs.set(brokerId, reg.brokerEpoch);
    const beat = await write("BrokerHeartbeat", { brokerId, brokerEpoch: reg.brokerEpoch, currentMetadataOffset: reg.brokerEpoch }, (r) => r.error);
    if (beat.isFenced) throw new Error(`broker ${brokerId} still fenced`);
  }
}
const heartbeatTimer = setInterval(() => {
  for (const [brokerId, brokerEpoch] of brokerEpochs) {
    write("BrokerHeartbeat", { brokerId, brokerEpoch, currentMetadataOffset: "9007199254740991" }, (r) => r.error, 5_000).catch(() => undefined);
  }
}, 1_000);

async function throughput() {
  let next = 0;
  const startedAt = performance.now();
  const worker = async () => {
    while (next < TOPICS) {
      next++;
      await createTopic();
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  return TOPICS / ((performance.now() - startedAt) / 1000);
}

async function failoverOnce() {
  const leader = await waitForLeader();
  leaderGuess = leader;
  await createTopic();
  let stop = false;
  let firstCommitAfterKillMs = null;
  let killedAt = 0;
  // Eight writers keep writes going across the kill, as brokers and admins would.
  const writers = Array.from({ length: 8 }, async () => {
    while (!stop) {
      try {
        const sentAt = performance.now();
        await createTopic();
        // Only a write sent after the kill proves the new leader commits.
        if (killedAt > 0 && sentAt >= killedAt && firstCommitAfterKillMs === null) firstCommitAfterKillMs = performance.now() - killedAt;
      } catch {
        // keep trying until stopped
      }
    }
  });
  await sleep(200);
  killedAt = performance.now();
  await kill9(leader);
  while (firstCommitAfterKillMs === null && performance.now() - killedAt < 30_000) await sleep(5);
  stop = true;
  await Promise.all(writers);
  await startNode(leader);
  await waitForCaughtUp();
  return firstCommitAfterKillMs;
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

try {
  await Promise.all(NODE_IDS.map(startNode));
  leaderGuess = await waitForLeader();
  await registerBrokers();
  const topicCreationsPerSec = await throughput();
  const failoverMs = [];
  for (let i = 0; i < KILLS; i++) failoverMs.push(await failoverOnce());
  const result = {
    bench: "controller",
    controllers: NODE_IDS.length,
    topicsCreated: TOPICS,
    inFlight: IN_FLIGHT,
    topicCreationsPerSec: Math.round(topicCreationsPerSec),
    targetTopicCreationsPerSec: 2000,
    leaderKillToCommitMsMedian: Math.round(median(failoverMs)),
    leaderKillToCommitMs: failoverMs.map((ms) => Math.round(ms)),
    targetLeaderKillToCommitMs: 1500,
    // The machine is shared: figures here move with what else runs, so say how busy it was.
    loadAverage1mAtEnd: Number(loadavg()[0].toFixed(1)),
    electionTimeoutMs: Number(ELECTION_TIMEOUT_MS ?? protocol.SERVER_CONFIGS.find((d) => d.name === "controller.quorum.election.timeout.ms").default),
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
} finally {
  clearInterval(heartbeatTimer);
  for (const client of clients.values()) client.close();
  for (const [id, node] of children) {
    node.child.kill("SIGTERM");
    const stopped = await Promise.race([node.exited.then(() => true), sleep(5_000).then(() => false)]);
    if (!stopped) await kill9(id);
  }
  rmSync(root, { recursive: true, force: true });
}
