// Tributary's side of bench:compare: 1 controller + 3 brokers as separate processes (through
// test/support/cluster.ts), driven through the SDK. Topics have 6 partitions, replication
// factor 3, min.insync.replicas 2; producers use acks=all (idempotent, the SDK's default).
import { readdirSync } from "node:fs";
import { Tributary, serializers } from "../../../packages/client/dist/index.js";
import { loadClusterSupport } from "./load-cluster.mjs";
import { latencyWindow, paced, percentiles, pipelined, sleep, stallMs, waitFor } from "./common.mjs";

const PARTITIONS = 6;
const TOPIC_CONFIGS = { "min.insync.replicas": "2" };
const BUFFER_MEMORY_BYTES = 128 * 1024 * 1024;
const CHUNK_RECORDS = 10_000;

export async function startTributary({ sessionTimeoutMs, brokerNodeOptions }) {
  const { startCluster } = await loadClusterSupport();
  // NODE_OPTIONS reaches the broker (and controller) processes only while they start.
  const savedNodeOptions = process.env.NODE_OPTIONS;
  if (brokerNodeOptions) process.env.NODE_OPTIONS = brokerNodeOptions;
  let cluster;
  try {
    cluster = await startCluster({
      controllers: 1,
      brokers: 3,
      controllerOverrides: sessionTimeoutMs ? { "broker.session.timeout.ms": String(sessionTimeoutMs) } : undefined,
      brokerOverrides: sessionTimeoutMs ? { "broker.session.timeout.ms": String(sessionTimeoutMs) } : undefined,
    });
  } finally {
    if (brokerNodeOptions) {
      if (savedNodeOptions === undefined) delete process.env.NODE_OPTIONS;
      else process.env.NODE_OPTIONS = savedNodeOptions;
    }
  }
  const client = new Tributary({ bootstrapServers: cluster.bootstrapServers, clientId: "bench-compare", ...(process.env.BENCH_DEBUG ? { logger: stderrLogger(process.env.BENCH_DEBUG) } : {}) });
  const admin = client.admin();
  try {
    await waitFor(async () => (await admin.describeCluster()).brokers.filter((b) => !b.fenced).length === 3, { timeoutMs: 30_000, message: "3 unfenced brokers" });
  } catch (error) {
    await client.close().catch(() => {});
    await cluster.stop();
    throw error;
  }
  return new TributaryDriver(cluster, client, admin);
}

// BENCH_DEBUG=debug|info|warn: the SDK's own log lines on stderr (with ms since start).
function stderrLogger(level) {
  const levels = ["debug", "info", "warn", "error"];
  const line = (name) => (levels.indexOf(name) < levels.indexOf(level) ? () => {} : (fields, message) => console.error(JSON.stringify({ t: Math.round(performance.now()), level: name, msg: message, ...fields })));
  return { debug: line("debug"), info: line("info"), warn: line("warn"), error: line("error") };
}

// A client logger that keeps every line (with Date.now(), comparable to the servers' pino
// `time`), and prints them too at BENCH_DEBUG's level.
function recordingLogger(events, printLevel) {
  const print = printLevel ? stderrLogger(printLevel) : null;
  const line = (name) => (fields, message) => {
    events.push({ time: Date.now(), level: name, msg: message, ...fields });
    print?.[name](fields, message);
  };
  return { debug: line("debug"), info: line("info"), warn: line("warn"), error: line("error") };
}

/** The servers' JSON log lines at or after `sinceMs` (pino's `time` is wall-clock ms). */
function logLinesSince(node, sinceMs) {
  const out = [];
  for (const text of node.output()) {
    if (!text.startsWith("{")) continue;
    try {
      const line = JSON.parse(text);
      if (typeof line.time === "number" && line.time >= sinceMs) out.push(line);
    } catch { /* not a log line */ }
  }
  return out;
}

/**
 * Where the stall went, each as ms after the kill (null: not seen): the controller fencing the
 * dead broker (decided, then committed), the new leader applying its leadership, the client's
 * first produce error and its last metadata refresh before writes resumed, and the first ack.
 */
function stallTimeline({ cluster, topic, killedBroker, killedAtWallMs, clientEvents, stallMs: stall }) {
  const after = (time) => (time === undefined ? null : time - killedAtWallMs);
  const controllerLines = cluster.controllers.flatMap((node) => logLinesSince(node, killedAtWallMs));
  const fenceDecided = controllerLines.find((l) => Array.isArray(l.brokerIds) && l.brokerIds.includes(killedBroker) && /fenc/.test(l.msg) && !/committed/.test(l.msg));
  const fenceCommitted = controllerLines.find((l) => Array.isArray(l.brokerIds) && l.brokerIds.includes(killedBroker) && /committed/.test(l.msg));
  const becameLeader = cluster.brokers
    .filter((node) => node.nodeId !== killedBroker)
    .flatMap((node) => logLinesSince(node, killedAtWallMs))
    .filter((l) => l.msg === "became leader" && l.topic === topic)
    .sort((a, b) => a.time - b.time)[0];
  const clientAfter = clientEvents.filter((e) => e.time >= killedAtWallMs);
  const firstError = clientAfter.find((e) => e.msg === "retrying a produce batch" || e.level === "warn");
  const resumedAtWallMs = stall === null ? Infinity : killedAtWallMs + stall;
  // BENCH_STALL_EVENTS=1: every client log line from the kill until writes resumed.
  if (process.env.BENCH_STALL_EVENTS) {
    for (const e of clientAfter) if (e.time <= resumedAtWallMs + 50) console.error(`  client +${e.time - killedAtWallMs} ms ${e.msg} ${JSON.stringify({ ...e, time: undefined, msg: undefined, level: undefined })}`);
  }
  const refreshes = clientAfter.filter((e) => e.msg === "metadata refreshed" && e.time <= resumedAtWallMs);
  return [
    ["controller-fence-decided", after(fenceDecided?.time)],
    ["fence-committed", after(fenceCommitted?.time)],
    ["new-leader-applied", after(becameLeader?.time)],
    ["client-first-error", after(firstError?.time)],
    ["client-refreshes", refreshes.length],
    ["client-last-refresh", after(refreshes.at(-1)?.time)],
    ["first-ack", stall],
  ];
}

class TributaryDriver {
  name = "tributary";

  constructor(cluster, client, admin) {
    this.cluster = cluster;
    this.client = client;
    this.admin = admin;
  }

  async createTopic(topic, partitions = PARTITIONS) {
    await this.admin.createTopics([{ topic, numPartitions: partitions, replicationFactor: 3, configs: TOPIC_CONFIGS }]);
  }

  /** `count` records of `recordBytes`, acks=all, sendBatch with up to `outstandingRecords` unacknowledged. */
  async produce(topic, count, recordBytes) {
    await this.createTopic(topic);
    const producer = this.client.producer({
      keySerializer: serializers.bytes, valueSerializer: serializers.bytes,
      acks: "all", lingerMs: 5, batchSizeBytes: 262_144, bufferMemoryBytes: BUFFER_MEMORY_BYTES,
    });
    const value = Buffer.alloc(recordBytes, 0x61);
    const chunks = Math.ceil(count / CHUNK_RECORDS);
    const fullChunk = Array.from({ length: CHUNK_RECORDS }, () => ({ topic, value }));
    const chunkOf = (i) => (count - i * CHUNK_RECORDS >= CHUNK_RECORDS ? fullChunk : fullChunk.slice(0, count - i * CHUNK_RECORDS));
    // Outstanding bytes bounded by half the buffer, so sendBatch never waits for buffer space.
    const window = Math.max(1, Math.floor(BUFFER_MEMORY_BYTES / 2 / (recordBytes + 70) / CHUNK_RECORDS));
    const started = performance.now();
    const failed = await pipelined(chunks, window, (i) => producer.sendBatch(chunkOf(i)));
    await producer.flush();
    const seconds = (performance.now() - started) / 1000;
    await producer.close();
    return { records: count, failedChunks: failed, seconds };
  }

  /** Reads `count` records back through a consumer group; timed from the first record. */
  async consume(topic, count) {
    // The SDK's fetch sizes (Kafka's: fetchMaxBytes 50 MiB, maxPartitionFetchBytes 1 MiB). This
    // ran with 64 MiB and 4 MiB until 14d2557: against those, three alternated tributary-only runs
    // each way read 1 KiB records back at 657k-787k a second instead of 581k-663k, the client
    // spending 1.21-1.63 CPU-s per million records instead of 1.73-2.05, and 100 B at the same rate
    // (2.18M-3.09M against 2.14M-3.10M). Probably memory again: the client copies each Fetch
    // answer into one new buffer (grpc-js's message assembly, 16.5% of its profile), and buffers
    // of a few MiB are reused by malloc where ones of 8+ MiB are mapped fresh each time.
    const consumer = this.client.consumer({
      groupId: `bench-${topic}`, keyDeserializer: serializers.bytes, valueDeserializer: serializers.bytes,
      autoOffsetReset: "earliest",
    });
    await consumer.subscribe([topic]);
    let consumed = 0;
    const joinDeadline = Date.now() + 60_000;
    while (consumed === 0) {
      if (Date.now() > joinDeadline) throw new Error(`tributary: no records from ${topic} within 60 s`);
      consumed += (await consumer.poll(1000)).length;
    }
    // The clock starts when the first records arrive (after the group join); those first records
    // were fetched before it started, so only the ones after them are timed.
    const started = performance.now();
    const untimed = consumed;
    const deadline = Date.now() + 300_000;
    while (consumed < count && Date.now() < deadline) consumed += (await consumer.poll(500)).length;
    const seconds = (performance.now() - started) / 1000;
    await consumer.close();
    return { records: consumed, timedRecords: consumed - untimed, seconds };
  }

  /** End to end (send -> poll returns it) at a steady rate, lingerMs 0, acks=all, after a warm-up. */
  async latency(ratePerSec, seconds, recordBytes, warmupSeconds) {
    const topic = "latency";
    await this.createTopic(topic);
    const producer = this.client.producer({ keySerializer: serializers.bytes, valueSerializer: serializers.bytes, acks: "all", lingerMs: 0 });
    const consumer = this.client.consumer({ groupId: "bench-latency", keyDeserializer: serializers.bytes, valueDeserializer: serializers.bytes, autoOffsetReset: "latest", fetchMaxWaitMs: 500 });
    await consumer.subscribe([topic]);
    await consumer.poll(0); // joined and positioned at the end before the clock starts
    const window = latencyWindow(warmupSeconds);
    const latenciesMs = [];
    let consuming = true;
    const consumeLoop = (async () => {
      while (consuming) {
        for (const record of await consumer.poll(100)) {
          const stampMs = record.value.readDoubleBE(0);
          if (window.counts(stampMs)) latenciesMs.push(performance.now() - stampMs);
        }
      }
    })();
    const ackLatenciesMs = [];
    await paced(ratePerSec, warmupSeconds + seconds, () => {
      const { payload, stampMs, counted } = window.offer(recordBytes);
      producer.send({ topic, value: payload }, (error) => { if (!error && counted) ackLatenciesMs.push(performance.now() - stampMs); });
    });
    await producer.flush();
    await waitFor(() => latenciesMs.length >= window.sent, { timeoutMs: 10_000, message: "tributary latency records" }).catch(() => {});
    consuming = false;
    await consumeLoop;
    await consumer.close();
    await producer.close();
    return { sent: window.sent, received: latenciesMs.length, warmupSeconds, ...percentiles(latenciesMs), produceAck: percentiles(ackLatenciesMs) };
  }

  /** Writes at `ratePerSec` to a 1-partition topic, kill -9 its leader: how long until writes are acknowledged again. */
  async leaderKillStall(ratePerSec, recordBytes) {
    const topic = "stall";
    await this.createTopic(topic, 1);
    // A client of its own whose log lines are kept (with wall-clock times) for the timeline.
    const clientEvents = [];
    const stallClient = new Tributary({ bootstrapServers: this.cluster.bootstrapServers, clientId: "bench-compare-stall", logger: recordingLogger(clientEvents, process.env.BENCH_DEBUG) });
    const producer = stallClient.producer({ keySerializer: serializers.bytes, valueSerializer: serializers.bytes, acks: "all", lingerMs: 0 });
    const acks = [];
    let failures = 0;
    const errors = {};
    const value = Buffer.alloc(recordBytes, 0x61);
    const send = () => {
      const sentAtMs = performance.now();
      producer.send({ topic, value }, (error) => onAck(sentAtMs, error));
    };
    const onAck = (sentAtMs, error) => {
      if (!error) return void acks.push([sentAtMs, performance.now()]);
      failures++;
      const kind = `${error.name}: ${error.message.slice(0, 160)}`;
      errors[kind] = (errors[kind] ?? 0) + 1;
    };
    const before = paced(ratePerSec, 3, send);
    await before;
    const [description] = await this.admin.describeTopics([topic]);
    const leader = description.partitions[0].leader;
    const killedAtMs = performance.now();
    const killedAtWallMs = Date.now();
    await this.cluster.kill(leader, "SIGKILL");
    const afterSeconds = 12;
    await paced(ratePerSec, afterSeconds, send);
    // The partition's high watermark now: whether the new leader committed anything after the kill.
    const highWatermarkAfter = await this.admin.listOffsets(topic, "latest").then((list) => String(list[0]?.offset), () => null);
    if (process.env.BENCH_DEBUG) {
      for (const node of [...this.cluster.controllers, ...this.cluster.brokers]) console.error(`--- ${node.role} ${node.nodeId}\n${node.output().slice(-60).join("\n")}`);
    }
    // Whatever is still unacknowledged now is not waited for (delivery.timeout.ms is minutes).
    await producer.close({ timeoutMs: 5000 }).catch(() => {});
    await stallClient.close().catch(() => {});
    const stall = stallMs(acks, killedAtMs);
    const timeline = stallTimeline({ cluster: this.cluster, topic, killedBroker: leader, killedAtWallMs, clientEvents, stallMs: stall });
    console.error(`[bench:compare] stall timeline (ms after kill -9 of broker ${leader}): ${timeline.map(([what, ms]) => `${what} ${ms ?? "-"}`).join(" | ")}`);
    return { killedBroker: leader, afterKillSeconds: afterSeconds, stallMs: stall, timeline: Object.fromEntries(timeline), acknowledged: acks.length, failed: failures, errors, highWatermarkAfter, leaderAfter: await this.leaderOf(topic).catch(() => null) };
  }

  /** Deletes the topic and waits until no broker holds a log of it (its files, and page cache, gone). */
  async drop(topic) {
    await this.admin.deleteTopics([topic]);
    const isPartitionDir = (name) => name.startsWith(`${topic}-`) && /^\d+$/.test(name.slice(topic.length + 1));
    const held = () => this.cluster.brokers.some((broker) => readdirSync(broker.dataDir).some(isPartitionDir));
    await waitFor(() => !held(), { timeoutMs: 60_000, message: `the logs of ${topic} deleted` });
  }

  async leaderOf(topic) {
    const [description] = await this.admin.describeTopics([topic]);
    return description.partitions[0];
  }

  /** SIGTERM every broker (a profiled process writes its profile on a clean exit). */
  /** The PIDs whose CPU a phase costs on the server side (the controller does no per-record work). */
  serverPids() {
    return this.cluster.brokers.map((broker) => broker.pid);
  }

  async stopBrokersGracefully() {
    for (const broker of this.cluster.brokers) await this.cluster.kill(broker.nodeId, "SIGTERM");
  }

  async stop() {
    await this.client.close().catch(() => {});
    await this.cluster.stop();
  }
}
