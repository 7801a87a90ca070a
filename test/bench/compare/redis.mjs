// Redis Streams' side of bench:compare: one redis-server (Debian's package; the single-node
// reference, no replication) with appendonly yes / appendfsync everysec in a temp dir, driven
// through `ioredis`: XADD in pipelines, XREADGROUP + XACK to read back.
import { Redis } from "ioredis";
import { freePort, latencyWindow, makeTempDir, paced, percentiles, removeTempDir, sleep, startServer, stopServer, waitFor } from "./common.mjs";

const PIPELINE_COMMANDS = 5_000;
const PIPELINES_IN_FLIGHT = 8;
const READ_COUNT = 10_000;

export async function startRedis({ binary = "redis-server" } = {}) {
  const root = makeTempDir("bench-compare-redis-");
  const port = await freePort();
  const server = await startServer(binary, [
    "--bind", "127.0.0.1", "--port", String(port), "--dir", root, "--appendonly", "yes", "--appendfsync", "everysec",
    "--save", "", "--protected-mode", "yes", "--daemonize", "no",
  ], { name: "redis", readyLine: "Ready to accept connections" });
  const driver = new RedisDriver(root, server, port);
  try {
    driver.redis = driver.connection();
    await waitFor(async () => (await driver.redis.ping()) === "PONG", { timeoutMs: 10_000, message: "redis PONG" });
  } catch (error) {
    await driver.stop();
    throw error;
  }
  return driver;
}

class RedisDriver {
  name = "redis";

  constructor(root, server, port) {
    this.root = root;
    this.server = server;
    this.port = port;
  }

  connection() {
    return new Redis({ host: "127.0.0.1", port: this.port, lazyConnect: false, maxRetriesPerRequest: 1 });
  }

  async produce(key, count, recordBytes) {
    const payload = Buffer.alloc(recordBytes, 0x61);
    const pipelines = Math.ceil(count / PIPELINE_COMMANDS);
    const started = performance.now();
    let next = 0;
    const worker = async () => {
      while (next < pipelines) {
        const index = next++;
        const pipeline = this.redis.pipeline();
        const n = Math.min(PIPELINE_COMMANDS, count - index * PIPELINE_COMMANDS);
        for (let i = 0; i < n; i++) pipeline.xadd(key, "*", "v", payload);
        const results = await pipeline.exec();
        for (const [error] of results) if (error) throw error;
      }
    };
    await Promise.all(Array.from({ length: PIPELINES_IN_FLIGHT }, worker));
    const seconds = (performance.now() - started) / 1000;
    return { records: count, seconds };
  }

  async consume(key, count) {
    await this.redis.xgroup("CREATE", key, "bench", "0");
    let consumed = 0;
    let started;
    let untimed = 0;
    while (consumed < count) {
      const reply = await this.redis.xreadgroupBuffer("GROUP", "bench", "c1", "COUNT", READ_COUNT, "STREAMS", key, ">");
      if (reply === null) continue;
      const entries = reply[0][1];
      // The clock starts at the first reply, whose entries were read before it started.
      if (consumed === 0 && entries.length > 0) {
        started = performance.now();
        untimed = entries.length;
      }
      consumed += entries.length;
      // Acknowledged like a group commit; not awaited before the next read (one connection keeps order).
      if (entries.length > 0) this.redis.xack(key, "bench", ...entries.map(([id]) => id)).catch(() => {});
    }
    await this.redis.ping(); // every XACK answered
    const seconds = (performance.now() - started) / 1000;
    return { records: consumed, timedRecords: consumed - untimed, seconds };
  }

  async latency(ratePerSec, seconds, recordBytes, warmupSeconds) {
    const key = "latency";
    await this.redis.xgroup("CREATE", key, "bench", "$", "MKSTREAM");
    const reader = this.connection();
    const window = latencyWindow(warmupSeconds);
    const latenciesMs = [];
    let consuming = true;
    const consumeLoop = (async () => {
      while (consuming) {
        const reply = await reader.xreadgroupBuffer("GROUP", "bench", "c1", "COUNT", 1_000, "BLOCK", 100, "STREAMS", key, ">");
        if (reply === null) continue;
        const now = performance.now();
        const entries = reply[0][1];
        for (const [, fields] of entries) {
          const stampMs = fields[1].readDoubleBE(0);
          if (window.counts(stampMs)) latenciesMs.push(now - stampMs);
        }
        reader.xack(key, "bench", ...entries.map(([id]) => id)).catch(() => {});
      }
    })();
    let failed = 0;
    const ackLatenciesMs = [];
    await paced(ratePerSec, warmupSeconds + seconds, () => {
      const { payload, stampMs, counted } = window.offer(recordBytes);
      this.redis.xadd(key, "*", "v", payload).then(() => { if (counted) ackLatenciesMs.push(performance.now() - stampMs); }, () => { if (counted) failed++; });
    });
    await waitFor(() => latenciesMs.length + failed >= window.sent, { timeoutMs: 10_000, message: "redis latency records" }).catch(() => {});
    consuming = false;
    await consumeLoop;
    reader.disconnect();
    return { sent: window.sent, received: latenciesMs.length, failed, warmupSeconds, ...percentiles(latenciesMs), produceAck: percentiles(ackLatenciesMs) };
  }

  /** Deletes the stream key (its entries and consumer group); Redis frees it before answering. */
  async drop(key) {
    await this.redis.del(key);
  }

  /** The PIDs whose CPU a phase costs on the server side. */
  serverPids() {
    return [this.server.pid];
  }

  async stop() {
    if (this.redis) this.redis.disconnect();
    await stopServer(this.server, "SIGTERM");
    removeTempDir(this.root);
  }
}

export { sleep };
