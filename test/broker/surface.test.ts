// The broker's protocol surface beyond produce/fetch: idempotent producers (InitProducerId,
// duplicates get their original offsets, gaps are refused), auto-creation, ListOffsets,
// OffsetForLeaderEpoch, DescribeCluster, gRPC health checking and server reflection, a
// seed-style config file (broker.id, port, log.dirs), and a controlled shutdown on SIGTERM.
import { spawn } from "node:child_process";
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, startCluster, waitFor, type Cluster } from "../support/cluster.js";
import { brokerClients, connectBroker, createTopic, errorCode, partitionMetadata, type RawBrokerClient } from "../support/raw-client.js";
import { batchOf, encodeBatch, produceValues, readPartition } from "../support/records.js";

const REPO = path.resolve(import.meta.dirname, "..", "..");
const requireFromBroker = createRequire(path.join(REPO, "packages/broker/package.json"));
const grpc = requireFromBroker("@grpc/grpc-js") as typeof import("@grpc/grpc-js");
const protoLoader = requireFromBroker(requireFromBroker.resolve("@grpc/proto-loader", { paths: [path.join(REPO, "packages/protocol")] })) as typeof import("@grpc/proto-loader");

describe("broker protocol surface", () => {
  let cluster: Cluster;
  const clients = brokerClients((nodeId) => cluster.node(nodeId).address);
  const client = (nodeId: number): RawBrokerClient => clients.get(nodeId);

  beforeAll(async () => {
    cluster = await startCluster({ controllers: 1, brokers: 2, brokerOverrides: { "num.partitions": "2", "default.replication.factor": "2", "log.retention.check.interval.ms": "300" } });
    await cluster.waitFor(async () => (await client(1).metadata({ allTopics: true })).brokers.length === 2, { timeoutMs: 20_000, message: "2 live brokers" });
  });
  afterAll(async () => {
    clients.closeAll();
    await cluster?.stop();
  });

  it("gives idempotent retries their original offsets and refuses sequence gaps", async () => {
    await createTopic(client(1), "idem", 1, 2);
    const p = await cluster.waitFor(async () => {
      const m = await partitionMetadata(client(1), "idem", 0);
      return m && m.leader > 0 && m.isr.length === 2 ? m : undefined;
    }, { timeoutMs: 20_000, message: "idem-0 in sync" });
    const init = await client(1).initProducerId({ transactionalId: "", transactionTimeoutMs: 0, producerId: "-1", producerEpoch: -1 });
    expect(errorCode(init.error)).toBe("NONE");
    const producerId = Number(init.producerId);
    expect(producerId).toBeGreaterThanOrEqual(0);
    const batch = (baseSequence: number, values: string[]) => encodeBatch({
      records: values.map((v) => ({ key: null, value: Buffer.from(v), timestampMs: Date.now() })),
      producerId, producerEpoch: init.producerEpoch, baseSequence,
    });
    const send = async (records: Buffer) => {
      const response = await client(p.leader).produce({ acks: -1, timeoutMs: 5_000, topics: [{ name: "idem", partitions: [{ partition: 0, records }] }] });
      return response.topics[0]!.partitions[0]!;
    };
    const first = batch(0, ["a", "b"]);
    const firstResult = await send(Buffer.from(first));
    expect(errorCode(firstResult.error)).toBe("NONE");
    const retry = await send(Buffer.from(first));
    expect(errorCode(retry.error)).toBe("NONE");
    expect(retry.baseOffset).toBe(firstResult.baseOffset);
    const gap = await send(batch(5, ["c"]));
    expect(errorCode(gap.error)).toBe("OUT_OF_ORDER_SEQUENCE_NUMBER");
    expect(errorCode((await send(batch(2, ["c"]))).error)).toBe("NONE");
    expect((await readPartition(client(p.leader), "idem", 0)).records.map((r) => r.value)).toEqual(["a", "b", "c"]);
  });

  it("creates a topic on first produce when auto.create.topics.enable is on", async () => {
    const first = await produceValues(client(1), "auto-made", 0, ["x"], 1);
    expect(["LEADER_NOT_AVAILABLE", "NOT_LEADER_OR_FOLLOWER", "NONE"]).toContain(first.code);
    const m = await cluster.waitFor(async () => {
      const meta = await client(1).metadata({ topics: ["auto-made"], allTopics: false, allowAutoTopicCreation: false });
      const t = meta.topics[0];
      return t && errorCode(t.error) === "NONE" && t.partitions.every((x) => x.leader > 0) ? t : undefined;
    }, { timeoutMs: 20_000, message: "auto-made with leaders" });
    expect(m.partitions.length).toBe(2);
    expect(m.partitions[0]!.replicas.length).toBe(2);
  });

  it("answers ListOffsets (earliest, latest, by timestamp) and OffsetForLeaderEpoch", async () => {
    await createTopic(client(1), "offsets-q", 1, 1);
    const p = await cluster.waitFor(async () => {
      const m = await partitionMetadata(client(1), "offsets-q", 0);
      return m && m.leader > 0 ? m : undefined;
    }, { timeoutMs: 20_000, message: "offsets-q leader" });
    const t0 = 1_700_000_000_000;
    for (let i = 0; i < 3; i++) {
      const records = encodeBatch({ records: [{ key: null, value: Buffer.from(`v${i}`), timestampMs: t0 + i * 1000 }] });
      const r = await client(p.leader).produce({ acks: -1, timeoutMs: 5000, topics: [{ name: "offsets-q", partitions: [{ partition: 0, records }] }] });
      expect(errorCode(r.topics[0]!.partitions[0]!.error)).toBe("NONE");
    }
    const list = async (timestamp: number) => {
      const r = await client(p.leader).listOffsets({ replicaId: -1, isolationLevel: 0, topics: [{ name: "offsets-q", partitions: [{ partition: 0, timestamp: String(timestamp), currentLeaderEpoch: -1 }] }] });
      return r.topics[0]!.partitions[0]!;
    };
    expect((await list(-2)).offset).toBe("0");
    expect((await list(-1)).offset).toBe("3");
    expect((await list(t0 + 1500)).offset).toBe("2");
    expect((await list(t0 + 99_000)).offset).toBe("-1");
    const epochs = await client(p.leader).offsetForLeaderEpoch({ replicaId: -1, topics: [{ topic: "offsets-q", partitions: [{ partition: 0, currentLeaderEpoch: -1, leaderEpoch: p.leaderEpoch }] }] });
    const e = epochs.topics[0]!.partitions[0]!;
    expect(errorCode(e.error)).toBe("NONE");
    expect(e.leaderEpoch).toBe(p.leaderEpoch);
    expect(e.endOffset).toBe("3");
  });

  it("describes and alters topic configs through any broker, and deletes a topic's logs on every replica", async () => {
    await createTopic(client(1), "configured", 1, 2, { "retention.ms": "60000" });
    await cluster.waitFor(async () => (await partitionMetadata(client(1), "configured", 0))?.isr.length === 2, { timeoutMs: 20_000, message: "configured-0 in sync" });
    const describe = async () => {
      const r = await client(2).describeConfigs({ resources: [{ type: "topic", name: "configured" }], configNames: ["retention.ms", "cleanup.policy"] });
      return new Map(r.results[0]!.configs.map((c) => [c.name, c]));
    };
    const before = await describe();
    expect(before.get("retention.ms")).toMatchObject({ value: "60000", isDefault: false });
    expect(before.get("cleanup.policy")).toMatchObject({ value: "delete", isDefault: true });
    const unknown = await client(2).describeConfigs({ resources: [{ type: "topic", name: "no-such" }], configNames: [] });
    expect(errorCode(unknown.results[0]!.error)).toBe("UNKNOWN_TOPIC_OR_PARTITION");

    const altered = await client(1).alterConfigs({ resources: [{ resource: { type: "topic", name: "configured" }, configs: [{ name: "cleanup.policy", operation: "set", value: "compact" }] }] });
    expect(errorCode(altered.results[0]!.error)).toBe("NONE");
    await cluster.waitFor(async () => (await describe()).get("cleanup.policy")?.value === "compact", { timeoutMs: 10_000, message: "the altered config visible on another broker" });

    const dirs = cluster.brokers.map((b) => path.join(b.dataDir, "configured-0"));
    expect(dirs.every((d) => fs.existsSync(d))).toBe(true);
    const deleted = await client(1).deleteTopics({ names: ["configured"], timeoutMs: 10_000 });
    expect(errorCode(deleted.topics[0]!.error)).toBe("NONE");
    await cluster.waitFor(() => dirs.every((d) => !fs.existsSync(d)), { timeoutMs: 20_000, message: "configured-0 removed from every broker" });
  });

  it("runs retention in the background on the leader and the follower alike", async () => {
    await createTopic(client(1), "retained", 1, 2, { "segment.bytes": "4096", "retention.bytes": "8192" });
    const p = await cluster.waitFor(async () => {
      const m = await partitionMetadata(client(1), "retained", 0);
      return m && m.leader > 0 && m.isr.length === 2 ? m : undefined;
    }, { timeoutMs: 20_000, message: "retained-0 in sync" });
    for (let i = 0; i < 40; i++) {
      expect((await produceValues(client(p.leader), "retained", 0, [`r${i}-${"x".repeat(900)}`])).code).toBe("NONE");
    }
    const earliest = async (nodeId: number) => {
      const r = await client(nodeId).listOffsets({ replicaId: -1, isolationLevel: 0, topics: [{ name: "retained", partitions: [{ partition: 0, timestamp: "-2", currentLeaderEpoch: -1 }] }] });
      return Number(r.topics[0]!.partitions[0]!.offset);
    };
    await cluster.waitFor(async () => (await earliest(p.leader)) > 0, { timeoutMs: 10_000, message: "the leader's log start moved by retention" });
    const segmentsOn = (nodeId: number) => fs.readdirSync(path.join(cluster.node(nodeId).dataDir, "retained-0")).filter((f) => f.endsWith(".log")).length;
    const follower = p.replicas.find((id) => id !== p.leader)!;
    // 40 KB of batches in 4 KB segments, at most 8 KB kept (plus the active segment).
    await cluster.waitFor(() => segmentsOn(follower) <= 4, { timeoutMs: 10_000, message: "old segments deleted on the follower" });
    await cluster.waitFor(() => segmentsOn(p.leader) <= 4, { timeoutMs: 10_000, message: "old segments deleted on the leader" });
    const read = await readPartition(client(p.leader), "retained", 0, await earliest(p.leader));
    expect(read.records.at(-1)!.value.startsWith("r39-")).toBe(true);
  });

  it("compacts a cleanup.policy=compact topic in the background, keeping the newest record per key", async () => {
    await createTopic(client(1), "compacted", 1, 2, { "cleanup.policy": "compact", "segment.bytes": "1024" });
    const p = await cluster.waitFor(async () => {
      const m = await partitionMetadata(client(1), "compacted", 0);
      return m && m.leader > 0 && m.isr.length === 2 ? m : undefined;
    }, { timeoutMs: 20_000, message: "compacted-0 in sync" });
    for (let i = 0; i < 40; i++) {
      const records = encodeBatch({ records: [{ key: Buffer.from(`k${i % 4}`), value: Buffer.from(`v${i}-${"y".repeat(200)}`), timestampMs: Date.now() }] });
      const r = await client(p.leader).produce({ acks: -1, timeoutMs: 5000, topics: [{ name: "compacted", partitions: [{ partition: 0, records }] }] });
      expect(errorCode(r.topics[0]!.partitions[0]!.error)).toBe("NONE");
    }
    const read = await cluster.waitFor(async () => {
      const r = await readPartition(client(p.leader), "compacted", 0);
      return r.records.length < 20 ? r : undefined;
    }, { timeoutMs: 15_000, message: "older records of each key compacted away" });
    const offsets = read.records.map((r) => r.offset);
    expect(offsets).toEqual([...offsets].sort((a, b) => a - b));
    // The newest value of every key is still there, at its original offset.
    for (let k = 0; k < 4; k++) {
      const newest = 36 + k;
      expect(read.records.find((r) => r.offset === newest)).toMatchObject({ key: `k${k}` });
      expect(read.records.find((r) => r.offset === newest)!.value.startsWith(`v${newest}-`)).toBe(true);
    }
  });

  it("describes the cluster with its brokers and controllers", async () => {
    const d = await client(2).describeCluster({});
    expect(errorCode(d.error)).toBe("NONE");
    expect(d.brokers.map((b) => b.nodeId).sort()).toEqual([1, 2]);
    expect(d.controllers.length).toBe(1);
    expect(d.controllers[0]!.reachable).toBe(true);
    expect(d.controllerId).toBe(cluster.controllers[0]!.nodeId);
    // Brokers learn the cluster id when they register (a stream from offset 0 has no snapshot).
    expect(d.clusterId).not.toBe("");
  });

  it("serves gRPC health checking and server reflection", async () => {
    const healthDef = protoLoader.loadSync(path.join(REPO, "packages/broker/node_modules/grpc-health-check/proto/health/v1/health.proto"), { enums: String });
    const Health = (grpc.loadPackageDefinition(healthDef) as any).grpc.health.v1.Health;
    const health = new Health(cluster.node(1).address, grpc.credentials.createInsecure());
    const status = await new Promise<{ status: string }>((resolve, reject) => health.Check({ service: "" }, (e: Error | null, r: { status: string }) => (e ? reject(e) : resolve(r))));
    expect(status.status).toBe("SERVING");
    health.close();

    const reflectionDef = protoLoader.loadSync(path.join(REPO, "packages/broker/node_modules/@grpc/reflection/build/proto/grpc/reflection/v1/reflection.proto"));
    const Reflection = (grpc.loadPackageDefinition(reflectionDef) as any).grpc.reflection.v1.ServerReflection;
    const reflection = new Reflection(cluster.node(1).address, grpc.credentials.createInsecure());
    const services = await new Promise<string[]>((resolve, reject) => {
      const call = reflection.ServerReflectionInfo();
      call.on("data", (r: { listServicesResponse?: { service: { name: string }[] } }) => {
        resolve((r.listServicesResponse?.service ?? []).map((s) => s.name));
        call.end();
      });
      call.on("error", reject);
      call.write({ listServices: "" });
    });
    expect(services).toEqual(expect.arrayContaining(["tributary.v1.Broker", "tributary.v1.Admin", "tributary.v1.Groups"]));
    reflection.close();
  });

  it("starts from a seed-style file (broker.id, port, log.dirs) and stops cleanly on SIGTERM", async () => {
    const port = await freePort();
    const dir = fs.mkdtempSync(path.join(cluster.node(1).dataDir, "..", "seed-"));
    const file = path.join(dir, "server-1.properties");
    fs.writeFileSync(file, `broker.id=7\nport=${port}\nlog.dirs=${path.join(dir, "kafka-logs-7")}\ncontroller.quorum.voters=${cluster.quorumVoters}\nbroker.heartbeat.interval.ms=250\n`);
    const child = spawn(process.execPath, [path.join(REPO, "packages/broker/dist/main.js"), "--config", file], { stdio: ["ignore", "pipe", "pipe"] });
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    let output = "";
    child.stdout!.on("data", (chunk: Buffer) => { output += chunk.toString(); });
    child.stderr!.on("data", (chunk: Buffer) => { output += chunk.toString(); });
    try {
      await waitFor(() => output.includes('"msg":"listening"'), { timeoutMs: 20_000, message: "the seed-configured broker listening" });
      await waitFor(async () => (await client(1).metadata({ allTopics: true })).brokers.some((b) => b.nodeId === 7 && b.endpoint?.port === port), { timeoutMs: 20_000, message: "broker 7 registered on its port" });
      // Give it a partition to lead, so the controlled shutdown has leadership to move.
      const created = await client(1).createTopics({ topics: [{ name: "seed-led", numPartitions: -1, replicationFactor: -1, configs: {}, assignments: [{ partition: 0, brokerIds: [7, 1] }] }], timeoutMs: 10_000 });
      expect(errorCode(created.topics[0]?.error)).toBe("NONE");
      await waitFor(async () => (await partitionMetadata(client(1), "seed-led", 0))?.leader === 7, { timeoutMs: 20_000, message: "broker 7 leading seed-led-0" });
      const seedClient = connectBroker(`127.0.0.1:${port}`);
      expect((await produceValues(seedClient, "seed-led", 0, ["from-seed"], 1)).code).toBe("NONE");
      seedClient.close();
      child.kill("SIGTERM");
      expect(await exited).toBe(0);
      expect(output).toContain("controlled shutdown");
      const p = await partitionMetadata(client(1), "seed-led", 0);
      expect(p?.leader).toBe(1);
      expect(fs.existsSync(path.join(dir, "kafka-logs-7", "seed-led-0", "clean-shutdown"))).toBe(true);
    } finally {
      child.kill("SIGKILL");
    }
  });
});
