// NATS JetStream's side of bench:compare: 3 nats-server processes (Debian's package) clustered on
// loopback, file storage in a temp dir, one stream per workload with 3 replicas, driven through
// the `nats` package: js.publish() awaits each publish ack (pipelined by keeping many in flight),
// a durable pull consumer (consume()) reads back.
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { AckPolicy, DeliverPolicy, StorageType, connect } from "nats";
import { freePort, latencyWindow, makeTempDir, paced, percentiles, pipelined, removeTempDir, startServer, stallMs, stopServer, waitFor } from "./common.mjs";

const SERVERS = 3;
const PUBLISH_WINDOW = 4_000; // publishes awaiting their ack at once
const PUBLISH_TIMEOUT_MS = 30_000;
const ACK_EVERY = 1_000; // AckPolicy.All: one ack covers every earlier message

export async function startJetStream({ binary = "nats-server" } = {}) {
  const root = makeTempDir("bench-compare-nats-");
  const clientPorts = await Promise.all(Array.from({ length: SERVERS }, () => freePort()));
  const routePorts = await Promise.all(Array.from({ length: SERVERS }, () => freePort()));
  const servers = [];
  try {
    for (let i = 0; i < SERVERS; i++) {
      const config = join(root, `n${i + 1}.conf`);
      writeFileSync(config, [
        `server_name: n${i + 1}`,
        `listen: 127.0.0.1:${clientPorts[i]}`,
        `jetstream { store_dir: "${join(root, `n${i + 1}`)}" }`,
        `cluster { name: bench, listen: 127.0.0.1:${routePorts[i]}, routes: [${routePorts.map((p) => `nats-route://127.0.0.1:${p}`).join(", ")}] }`,
      ].join("\n") + "\n");
      servers.push(await startServer(binary, ["-c", config], { name: `nats n${i + 1}`, readyLine: "Server is ready" }));
    }
  } catch (error) {
    for (const server of servers) await stopServer(server);
    removeTempDir(root);
    throw error;
  }
  const driver = new JetStreamDriver(root, servers, clientPorts);
  try {
    driver.nc = await connect({ servers: clientPorts.map((p) => `127.0.0.1:${p}`), maxReconnectAttempts: -1 });
    driver.jsm = await driver.nc.jetstreamManager({ checkAPI: false });
    // The meta leader must be elected before a stream can be created.
    await waitFor(async () => (await driver.jsm.getAccountInfo()) !== undefined, { timeoutMs: 30_000, message: "a JetStream meta leader" });
  } catch (error) {
    await driver.stop();
    throw error;
  }
  return driver;
}

class JetStreamDriver {
  name = "jetstream";

  constructor(root, servers, clientPorts) {
    this.root = root;
    this.servers = servers;
    this.clientPorts = clientPorts;
  }

  async createStream(name) {
    await waitFor(() => this.jsm.streams.add({ name, subjects: [name], num_replicas: 3, storage: StorageType.File }), { timeoutMs: 30_000, message: `stream ${name}` });
    await waitFor(async () => (await this.jsm.streams.info(name)).cluster?.leader, { timeoutMs: 30_000, message: `a leader for stream ${name}` });
  }

  async produce(stream, count, recordBytes) {
    await this.createStream(stream);
    const js = this.nc.jetstream();
    const payload = Buffer.alloc(recordBytes, 0x61);
    const started = performance.now();
    const failed = await pipelined(count, PUBLISH_WINDOW, () => js.publish(stream, payload, { timeout: PUBLISH_TIMEOUT_MS }));
    const seconds = (performance.now() - started) / 1000;
    return { records: count - failed, failed, seconds };
  }

  async consume(stream, count) {
    const durable = `bench-${stream}`;
    await this.jsm.consumers.add(stream, { durable_name: durable, ack_policy: AckPolicy.All, max_ack_pending: 100_000 });
    const js = this.nc.jetstream();
    const consumer = await js.consumers.get(stream, durable);
    const messages = await consumer.consume({ max_messages: 10_000 });
    let consumed = 0;
    let started;
    for await (const message of messages) {
      if (consumed === 0) started = performance.now();
      consumed++;
      if (consumed % ACK_EVERY === 0 || consumed === count) message.ack();
      if (consumed >= count) break;
    }
    const seconds = (performance.now() - started) / 1000;
    // `break` ended the iterator (return()); awaiting messages.close() after that never resolves.
    // The clock starts at the first message, so that one is not timed.
    return { records: consumed, timedRecords: consumed - 1, seconds };
  }

  async latency(ratePerSec, seconds, recordBytes, warmupSeconds) {
    const stream = "latency";
    await this.createStream(stream);
    await this.jsm.consumers.add(stream, { durable_name: "bench-latency", ack_policy: AckPolicy.None, deliver_policy: DeliverPolicy.New });
    const js = this.nc.jetstream();
    const consumer = await js.consumers.get(stream, "bench-latency");
    const messages = await consumer.consume({ max_messages: 1_000 });
    const window = latencyWindow(warmupSeconds);
    const latenciesMs = [];
    const consumeLoop = (async () => {
      for await (const message of messages) {
        const stampMs = Buffer.from(message.data.buffer, message.data.byteOffset, 8).readDoubleBE(0);
        if (window.counts(stampMs)) latenciesMs.push(performance.now() - stampMs);
      }
    })();
    let failed = 0;
    const ackLatenciesMs = [];
    await paced(ratePerSec, warmupSeconds + seconds, () => {
      const { payload, stampMs, counted } = window.offer(recordBytes);
      js.publish(stream, payload, { timeout: PUBLISH_TIMEOUT_MS }).then(() => { if (counted) ackLatenciesMs.push(performance.now() - stampMs); }, () => { if (counted) failed++; });
    });
    await waitFor(() => latenciesMs.length + failed >= window.sent, { timeoutMs: 10_000, message: "jetstream latency records" }).catch(() => {});
    messages.stop();
    await consumeLoop;
    return { sent: window.sent, received: latenciesMs.length, failed, warmupSeconds, ...percentiles(latenciesMs), produceAck: percentiles(ackLatenciesMs) };
  }

  /** Publishes at `ratePerSec` to an R3 stream, kill -9 the stream leader: how long until publishes are acknowledged again. */
  async leaderKillStall(ratePerSec, recordBytes) {
    const stream = "stall";
    await this.createStream(stream);
    const leaderName = (await this.jsm.streams.info(stream)).cluster.leader;
    const leaderIndex = Number(leaderName.slice(1)) - 1;
    // A client on the surviving servers: the figure is the stream's failover, not a reconnect.
    const nc = await connect({ servers: this.clientPorts.filter((_, i) => i !== leaderIndex).map((p) => `127.0.0.1:${p}`), maxReconnectAttempts: -1 });
    const js = nc.jetstream();
    const payload = Buffer.alloc(recordBytes, 0x61);
    const acks = [];
    let failed = 0;
    const send = () => {
      const sentAtMs = performance.now();
      js.publish(stream, payload, { timeout: 5_000 }).then(() => acks.push([sentAtMs, performance.now()]), () => { failed++; });
    };
    await paced(ratePerSec, 3, send);
    const killedAtMs = performance.now();
    await stopServer(this.servers[leaderIndex], "SIGKILL");
    const afterKillSeconds = 12;
    await paced(ratePerSec, afterKillSeconds, send);
    await sleep(5_500); // let the last publishes succeed or time out
    await nc.close();
    return { killedServer: leaderName, afterKillSeconds, stallMs: stallMs(acks, killedAtMs), acknowledged: acks.length, failed };
  }

  /** Deletes the stream and waits until no server's store holds its directory. */
  async drop(stream) {
    await this.jsm.streams.delete(stream);
    const held = () => this.servers.some((_, i) => existsSync(join(this.root, `n${i + 1}`, "jetstream", "$G", "streams", stream)));
    await waitFor(() => !held(), { timeoutMs: 60_000, message: `stream ${stream} deleted` });
  }

  /** The PIDs whose CPU a phase costs on the server side. */
  serverPids() {
    return this.servers.map((server) => server.pid);
  }

  async stop() {
    if (this.nc) await this.nc.close().catch(() => {});
    for (const server of this.servers) await stopServer(server);
    removeTempDir(this.root);
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
