// Bad input against a running controller and broker: corrupt and absurd record batches, absurd
// sizes and counts, negative offsets, huge and hostile topic names, unknown enum values, garbage
// protobuf bodies inside gRPC frames, lying gRPC frame headers on raw HTTP/2, non-HTTP/2 bytes on
// the port, and a bounded flood of loopback connections. Every request must end in an error
// answer or a closed connection (never a success, never a hang), both processes must keep their
// PID and answer health checks, their memory must stay bounded, and the logs written before and
// after must read back exactly. The random cases are seeded (FUZZ_SEED, printed on failure).
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startCluster, type Cluster } from "../support/cluster.js";
import { connectBroker, createTopic, errorCode, partitionMetadata, protocol, type RawBrokerClient } from "../support/raw-client.js";
import { produceValues, readPartition } from "../support/records.js";
import { garbageRecordsBatch, namedHostileBatches, randomHostileBatches, undecompressableBatch, validBatch } from "./hostile-batches.js";
import { grpc, grpcFrame, healthCheck, isRunning, rawHttp2, rawTcp, rawUnary, rssBytes, type Outcome } from "./raw-grpc.js";

const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const TOPIC = "fuzz";
const RSS_GROWTH_BOUND_BYTES = 256 * 1024 * 1024;

let cluster: Cluster;
let broker: RawBrokerClient;
let brokerPid: number;
let controllerPid: number;
const rssBefore = new Map<number, number>();
const known = new Map<number, string[]>([[0, []], [1, []]]);

async function produceKnown(tag: string): Promise<void> {
  for (const partition of [0, 1]) {
    const values = Array.from({ length: 50 }, (_, i) => `${tag}-${partition}-${i}`);
    const outcome = await produceValues(broker, TOPIC, partition, values);
    expect(outcome.code, outcome.message).toBe("NONE");
    known.get(partition)!.push(...values);
  }
}

/** An error answer (a non-NONE code in the body or a failed call) — anything but success or a hang. */
function refused(outcome: { code: string } | Outcome): boolean {
  if ("code" in outcome && typeof outcome.code === "string") return outcome.code !== "NONE";
  const o = outcome as Outcome;
  return o.kind === "closed" || (o.kind === "status" && o.code !== 0);
}

async function call<T>(promise: Promise<T>): Promise<T | { code: string }> {
  try {
    return await promise;
  } catch (error) {
    const code = (error as { code?: number }).code;
    if (code === grpc.status.DEADLINE_EXCEEDED) return { code: "HUNG" };
    return { code: `GRPC_${code ?? "?"}` };
  }
}

beforeAll(async () => {
  cluster = await startCluster({ controllers: 1, brokers: 1, brokerOverrides: { "auto.create.topics.enable": "false", "message.max.bytes": "1048576" } });
  broker = connectBroker(cluster.brokers[0]!.address, 10_000);
  brokerPid = cluster.brokers[0]!.pid!;
  controllerPid = cluster.controllers[0]!.pid!;
  await cluster.waitFor(async () => (await broker.metadata({ topics: [], allTopics: true, allowAutoTopicCreation: false })).brokers.length === 1, { timeoutMs: 20_000, message: "the broker registered" });
  await createTopic(broker, TOPIC, 2, 1);
  await cluster.waitFor(async () => ((await partitionMetadata(broker, TOPIC, 1))?.leader ?? -1) > 0, { timeoutMs: 20_000, message: "partition leaders" });
  await produceKnown("before");
  rssBefore.set(brokerPid, rssBytes(brokerPid));
  rssBefore.set(controllerPid, rssBytes(controllerPid));
});

afterAll(async () => {
  broker?.close();
  await cluster?.stop();
});

describe(`hostile requests (seed ${SEED})`, () => {
  it("refuses every corrupt, truncated or absurd record batch", async () => {
    const batches = [...namedHostileBatches(), ...randomHostileBatches(SEED, 150)];
    const accepted: string[] = [];
    for (const { name, bytes } of batches) {
      for (const acks of [-1, 1, 0]) {
        const response = await call(broker.produce({ acks, timeoutMs: 2_000, topics: [{ name: TOPIC, partitions: [{ partition: 0, records: bytes }] }] }));
        const code = "topics" in response ? errorCode(response.topics[0]?.partitions[0]?.error) : response.code;
        // acks=0 answers nothing per partition by design, so it cannot report the refusal; the
        // read-back at the end proves nothing was appended.
        if (acks !== 0 && (code === "NONE" || code === "HUNG")) accepted.push(`${name} (acks ${acks}): ${code}`);
      }
    }
    expect(accepted, `seed ${SEED}`).toEqual([]);
  });

  it("refuses absurd sizes, counts, offsets, names and enum values", async () => {
    const good = validBatch(["x"]);
    const hugeName = "t".repeat(1_000_000);
    const cases: Array<[string, Promise<unknown>, (r: never) => string]> = [];
    const produce = (name: string, request: object) =>
      cases.push([name, call(broker.produce(request as never)), (r: { topics?: Array<{ partitions: Array<{ error?: unknown }> }>; code?: string }) =>
        r.code ?? (r.topics?.length ? r.topics.flatMap((t) => t.partitions.map((p) => errorCode(p.error as never))).find((c) => c !== "NONE") ?? "NONE" : "EMPTY")]);
    produce("acks 7", { acks: 7, timeoutMs: 1_000, topics: [{ name: TOPIC, partitions: [{ partition: 0, records: good }] }] });
    produce("acks -2", { acks: -2, timeoutMs: 1_000, topics: [{ name: TOPIC, partitions: [{ partition: 0, records: good }] }] });
    produce("partition -1", { acks: 1, timeoutMs: 1_000, topics: [{ name: TOPIC, partitions: [{ partition: -1, records: good }] }] });
    produce("partition 2^31-1", { acks: 1, timeoutMs: 1_000, topics: [{ name: TOPIC, partitions: [{ partition: 2 ** 31 - 1, records: good }] }] });
    produce("5,000 unknown partitions in one request", { acks: 1, timeoutMs: 1_000, topics: [{ name: TOPIC, partitions: Array.from({ length: 5_000 }, (_, i) => ({ partition: 1_000 + i, records: good })) }] });
    produce("a 1 MB topic name", { acks: 1, timeoutMs: 1_000, topics: [{ name: hugeName, partitions: [{ partition: 0, records: good }] }] });
    produce("an empty topic name", { acks: 1, timeoutMs: 1_000, topics: [{ name: "", partitions: [{ partition: 0, records: good }] }] });
    produce("a path-traversal topic name", { acks: 1, timeoutMs: 1_000, topics: [{ name: "../../../tmp/evil", partitions: [{ partition: 0, records: good }] }] });
    produce("a 64 MiB records field", { acks: 1, timeoutMs: 1_000, topics: [{ name: TOPIC, partitions: [{ partition: 0, records: Buffer.alloc(64 << 20, 7) }] }] });
    produce("a batch over message.max.bytes", { acks: 1, timeoutMs: 1_000, topics: [{ name: TOPIC, partitions: [{ partition: 0, records: validBatch(["y".repeat(2 * 1024 * 1024)]) }] }] });

    const fetchCode = (r: { topics?: Array<{ partitions: Array<{ error?: unknown }> }>; code?: string; error?: unknown }) =>
      r.code ?? (r.error && errorCode(r.error as never) !== "NONE" ? errorCode(r.error as never) : r.topics?.[0]?.partitions[0] ? errorCode(r.topics[0].partitions[0].error as never) : "EMPTY");
    const fetch = (name: string, partition: object, extra: object = {}) =>
      cases.push([name, call(broker.fetch({ replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, ...extra, topics: [{ topic: TOPIC, partitions: [{ partition: 0, fetchOffset: "0", partitionMaxBytes: 1 << 20, currentLeaderEpoch: -1, lastFetchedEpoch: -1, ...partition }] }] } as never)), fetchCode as never]);
    fetch("fetch offset -1", { fetchOffset: "-1" });
    fetch("fetch offset -2^63", { fetchOffset: "-9223372036854775808" });
    fetch("fetch offset 2^63-1", { fetchOffset: "9223372036854775807" });
    fetch("fetch offset 2^53+1", { fetchOffset: "9007199254740993" });
    fetch("fetch partition -5", { partition: -5 });
    fetch("fetch from a replica id that is no broker", {}, { replicaId: 424242 });
    fetch("fetch with leader epoch 2^31-1", { currentLeaderEpoch: 2 ** 31 - 1 });
    const listCode = (r: { topics?: Array<{ partitions: Array<{ error?: unknown }> }>; code?: string }) =>
      r.code ?? (r.topics?.[0]?.partitions[0] ? errorCode(r.topics[0].partitions[0].error as never) : "EMPTY");
    for (const timestamp of ["-4", "-9223372036854775808"]) {
      cases.push([`list offsets at timestamp ${timestamp}`, call(broker.listOffsets({ replicaId: -1, isolationLevel: 0, topics: [{ name: TOPIC, partitions: [{ partition: 0, timestamp, currentLeaderEpoch: -1 }] }] } as never)), listCode as never]);
    }
    const topicCode = (r: { topics?: Array<{ error?: unknown }>; code?: string }) => r.code ?? (r.topics?.[0] ? errorCode(r.topics[0].error as never) : "EMPTY");
    const create = (name: string, topic: object) =>
      cases.push([name, call(broker.createTopics({ topics: [{ name: "ok-name", numPartitions: 1, replicationFactor: 1, configs: {}, assignments: [], ...topic }], timeoutMs: 5_000 } as never)), topicCode as never]);
    create("create a topic with a 1 MB name", { name: hugeName });
    create("create a topic named ..", { name: ".." });
    create("create a topic with a slash", { name: "a/b" });
    create("create a topic with a NUL", { name: "a\u0000b" });
    create("create 2^31-1 partitions", { name: "too-many", numPartitions: 2 ** 31 - 1 });
    create("create -7 partitions", { name: "negative", numPartitions: -7 });
    create("create replication factor 1000", { name: "wide", replicationFactor: 1000 });
    create("create with an unknown config", { name: "bad-config", configs: { "no.such.config": "1" } });
    create("create with cleanup.policy=shred", { name: "bad-enum", configs: { "cleanup.policy": "shred" } });
    create("create with min.insync.replicas=-1", { name: "bad-isr", configs: { "min.insync.replicas": "-1" } });
    cases.push(["describe configs of resource type 'planet'", call(broker.describeConfigs({ resources: [{ type: "planet", name: "x" }], configNames: [] } as never)),
      ((r: { results?: Array<{ error?: unknown }>; code?: string }) => r.code ?? (r.results?.[0] ? errorCode(r.results[0].error as never) : "EMPTY")) as never]);

    const answers = await Promise.all(cases.map(async ([name, promise, codeOf]) => [name, codeOf((await promise) as never)] as const));
    const notRefused = answers.filter(([, code]) => code === "NONE" || code === "HUNG" || code === "EMPTY");
    expect(notRefused, `seed ${SEED}`).toEqual([]);
  });

  it("answers garbage protobuf bodies with an error or a closed stream, on the broker and the controller", async () => {
    const { Random } = await import("../faults/history.js");
    const random = new Random(SEED);
    const methods = {
      [cluster.brokers[0]!.address]: ["/tributary.v1.Broker/Produce", "/tributary.v1.Broker/Fetch", "/tributary.v1.Broker/ListOffsets", "/tributary.v1.Admin/CreateTopics", "/tributary.v1.Groups/OffsetCommit", "/tributary.v1.Groups/ConsumerGroupHeartbeat"],
      [cluster.controllers[0]!.address]: ["/tributary.v1.Controller/RegisterBroker", "/tributary.v1.Controller/AlterPartition", "/tributary.v1.Controller/CreateTopics", "/tributary.v1.Raft/AppendEntries", "/tributary.v1.Raft/RequestVote"],
    };
    const hung: string[] = [];
    for (const [address, paths] of Object.entries(methods)) {
      const client = new grpc.Client(address, grpc.credentials.createInsecure());
      try {
        for (let i = 0; i < 60; i++) {
          const method = random.pick(paths);
          // 0x07 first: field 0 with wire type 7 cannot be decoded by any protobuf reader, so a
          // random tail can never become a valid (and possibly harmful, e.g. a Raft vote) request.
          const body = Buffer.concat([Buffer.from([0x07]), Buffer.from(Array.from({ length: random.int(0, 2000) }, () => random.int(0, 255)))]);
          const outcome = await rawUnary(client, method, body);
          if (!refused(outcome)) hung.push(`${method} ${body.length} bytes: ${JSON.stringify(outcome)}`);
        }
      } finally {
        client.close();
      }
    }
    expect(hung, `seed ${SEED}`).toEqual([]);
  });

  it("survives lying gRPC frames on raw HTTP/2, non-HTTP/2 bytes, and unknown methods", async () => {
    const targets = [cluster.brokers[0]!.address, cluster.controllers[0]!.address]; // broker first, then controller
    const results: Array<[string, Outcome]> = [];
    for (const address of targets) {
      const produce = "/tributary.v1.Broker/Produce";
      results.push([`${address} frame says 1 GiB, sends 10 bytes`, await rawHttp2(address, produce, grpcFrame(Buffer.alloc(10, 1), { declaredLength: 1 << 30 }))]);
      results.push([`${address} frame says 4 GiB-1`, await rawHttp2(address, produce, grpcFrame(Buffer.alloc(3), { declaredLength: 0xffffffff }))]);
      results.push([`${address} compressed flag, no grpc-encoding, garbage body`, await rawHttp2(address, produce, grpcFrame(Buffer.from([0x07, 0xff, 0x01]), { compressed: true }))]);
      results.push([`${address} unknown grpc-encoding`, await rawHttp2(address, produce, grpcFrame(Buffer.from([0x1f, 0x8b, 0, 0]), { compressed: true }), 5_000, { "grpc-encoding": "zebra" })]);
      results.push([`${address} gzip flag with a non-gzip body`, await rawHttp2(address, produce, grpcFrame(Buffer.from("not gzip at all"), { compressed: true }), 5_000, { "grpc-encoding": "gzip" })]);
      results.push([`${address} frame header cut at 3 bytes`, await rawHttp2(address, produce, Buffer.from([0, 0, 0]))]);
      results.push([`${address} two frames in a unary call`, await rawHttp2(address, produce, Buffer.concat([grpcFrame(Buffer.alloc(0)), grpcFrame(Buffer.alloc(0))]))]);
      results.push([`${address} unknown method`, await rawHttp2(address, "/tributary.v1.Nope/Nothing", grpcFrame(Buffer.alloc(0)))]);
      results.push([`${address} not a path`, await rawHttp2(address, "*", grpcFrame(Buffer.alloc(0)))]);
      const [host, port] = address.split(":") as [string, string];
      results.push([`${address} HTTP/1.1 request`, await rawTcp(host, Number(port), Buffer.from("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))]);
      results.push([`${address} 64 KiB of 0xff instead of a preface`, await rawTcp(host, Number(port), Buffer.alloc(65_536, 0xff))]);
      results.push([`${address} preface then a garbage frame`, await rawTcp(host, Number(port), Buffer.concat([Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), Buffer.from([0xff, 0xff, 0xff, 0x99, 0xff, 0xff, 0xff, 0xff, 0xff])]))]);
    }
    expect(results.filter(([, outcome]) => !refused(outcome)), `seed ${SEED}`).toEqual([]);
  });

  it("survives a bounded flood of loopback connections and keeps answering", async () => {
    const FLOOD = 400;
    for (const node of [cluster.brokers[0]!, cluster.controllers[0]!]) {
      const sockets: net.Socket[] = [];
      await Promise.all(Array.from({ length: FLOOD }, (_, i) => new Promise<void>((resolve) => {
        const socket = net.connect(node.port, "127.0.0.1", () => {
          // A third start an HTTP/2 preface and stall; a third send garbage; the rest stay idle.
          if (i % 3 === 0) socket.write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
          else if (i % 3 === 1) socket.write(Buffer.alloc(1024, i & 0xff));
          resolve();
        });
        socket.on("error", () => resolve());
        sockets.push(socket);
      })));
      // While the flood holds its connections, the node still answers a well-formed call.
      expect(await healthCheck(node.address)).toBe("SERVING");
      for (const s of sockets) s.destroy();
    }
  });
});

describe(`absurd structured requests to the controller (seed ${SEED})`, () => {
  type Answer = { code: string };
  /** The first non-NONE error code anywhere in a response (top level or per item). */
  const firstError = (value: unknown): string => {
    if (value === null || typeof value !== "object") return "NONE";
    const error = (value as { error?: { code?: unknown } }).error;
    if (error && errorCode(error as never) !== "NONE") return errorCode(error as never);
    for (const child of Object.values(value)) {
      const found = firstError(child);
      if (found !== "NONE") return found;
    }
    return "NONE";
  };

  it("refuses registrations, heartbeats, ISR changes and id blocks that cannot be right", async () => {
    const Controller = protocol.tributaryV1().Controller;
    const controller = new Controller(cluster.controllers[0]!.address, grpc.credentials.createInsecure()) as unknown as Record<string, (r: object, o: object, cb: (e: { code?: number } | null, v?: unknown) => void) => void>;
    const ask = (method: string, request: object) => new Promise<Answer>((resolve) => {
      controller[method]!.call(controller, request, { deadline: Date.now() + 5_000 }, (error, value) => {
        if (error) resolve({ code: error.code === grpc.status.DEADLINE_EXCEEDED ? "HUNG" : `GRPC_${error.code}` });
        else resolve({ code: firstError(value) });
      });
    });
    const endpoint = { host: "127.0.0.1", port: 1, listenerName: "PLAINTEXT" };
    const answers: Array<[string, Answer]> = [
      ["register broker id -1", await ask("RegisterBroker", { brokerId: -1, incarnationId: "x", listeners: [endpoint], rack: "" })],
      ["register with no listener", await ask("RegisterBroker", { brokerId: 77, incarnationId: "y", listeners: [], rack: "" })],
      ["register with port 70000", await ask("RegisterBroker", { brokerId: 78, incarnationId: "z", listeners: [{ ...endpoint, port: 70_000 }], rack: "" })],
      ["register with port -1", await ask("RegisterBroker", { brokerId: 79, incarnationId: "w", listeners: [{ ...endpoint, port: -1 }], rack: "" })],
      ["register the live broker's id under another incarnation", await ask("RegisterBroker", { brokerId: cluster.brokers[0]!.nodeId, incarnationId: "impostor", listeners: [endpoint], rack: "" })],
      ["heartbeat from an unregistered broker", await ask("BrokerHeartbeat", { brokerId: 4242, brokerEpoch: "1", currentMetadataOffset: "0", wantFence: false, wantShutdown: false })],
      ["heartbeat with a stale epoch", await ask("BrokerHeartbeat", { brokerId: cluster.brokers[0]!.nodeId, brokerEpoch: "-5", currentMetadataOffset: "-9223372036854775808", wantFence: false, wantShutdown: false })],
      ["ISR change with a stale broker epoch", await ask("AlterPartition", { brokerId: cluster.brokers[0]!.nodeId, brokerEpoch: "-1", partitions: [{ topic: TOPIC, partition: 0, leaderEpoch: 0, newIsr: [], partitionEpoch: 0 }] })],
      ["producer ids for an unregistered broker", await ask("AllocateProducerIds", { brokerId: 4242, brokerEpoch: "1" })],
    ];
    (controller as unknown as { close(): void }).close();
    expect(answers.filter(([, a]) => a.code === "NONE" || a.code === "HUNG"), `seed ${SEED}`).toEqual([]);
  });
});

// A batch with a correct CRC around records no consumer can decode used to be appended, and from
// then on every consumer of the partition failed on it and could not read past it: one bad
// producer poisoned the partition for everyone. The leader now walks every produced batch's
// records (decompressing compressed ones, as Kafka's LogValidator does) and refuses such a batch
// with CORRUPT_MESSAGE; the partition stays readable from its first offset.
describe("batches whose records do not decode under a correct CRC", () => {
  const POISON_TOPIC = "fuzz-poison";

  it("refuses a compressed batch whose body does not decompress (CORRUPT_MESSAGE)", async () => {
    await createTopic(broker, POISON_TOPIC, 1, 1);
    await cluster.waitFor(async () => ((await partitionMetadata(broker, POISON_TOPIC, 0))?.leader ?? -1) > 0, { timeoutMs: 20_000, message: "a leader for fuzz-poison" });
    const response = await broker.produce({ acks: 1, timeoutMs: 2_000, topics: [{ name: POISON_TOPIC, partitions: [{ partition: 0, records: undecompressableBatch() }] }] });
    expect(errorCode(response.topics[0]?.partitions[0]?.error)).toBe("CORRUPT_MESSAGE");
  });

  it("refuses an uncompressed batch whose records do not decode (CORRUPT_MESSAGE)", async () => {
    await cluster.waitFor(async () => ((await partitionMetadata(broker, POISON_TOPIC, 0))?.leader ?? -1) > 0, { timeoutMs: 20_000, message: "a leader for fuzz-poison" });
    const response = await broker.produce({ acks: 1, timeoutMs: 2_000, topics: [{ name: POISON_TOPIC, partitions: [{ partition: 0, records: garbageRecordsBatch() }] }] });
    expect(errorCode(response.topics[0]?.partitions[0]?.error)).toBe("CORRUPT_MESSAGE");
  });

  it("leaves the partition as if they were never sent: good records after them read back from offset 0", async () => {
    const values = ["after-poison-0", "after-poison-1", "after-poison-2"];
    const outcome = await produceValues(broker, POISON_TOPIC, 0, values);
    expect(outcome.code, outcome.message).toBe("NONE");
    const { records } = await readPartition(broker, POISON_TOPIC, 0, 0);
    expect(records.map((r) => [r.offset, r.value])).toEqual(values.map((value, offset) => [offset, value]));
  });
});

describe("fetch requests the broker cannot honour", () => {
  // An unknown isolation level is refused with INVALID_REQUEST rather than guessed at.
  it("refuses a fetch with an unknown isolation level", async () => {
    const response = await broker.fetch({
      replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 99,
      topics: [{ topic: TOPIC, partitions: [{ partition: 0, fetchOffset: "0", partitionMaxBytes: 1 << 20, currentLeaderEpoch: -1, lastFetchedEpoch: -1 }] }],
    } as never);
    expect(errorCode(response.error)).toBe("INVALID_REQUEST");
  });
});

describe("after the fuzzing", () => {
  it("both processes are the same ones, healthy, with bounded memory, and every log reads back intact", async () => {
    expect(isRunning(brokerPid) && cluster.brokers[0]!.pid === brokerPid).toBe(true);
    expect(isRunning(controllerPid) && cluster.controllers[0]!.pid === controllerPid).toBe(true);
    expect(await healthCheck(cluster.brokers[0]!.address)).toBe("SERVING");
    expect(await healthCheck(cluster.controllers[0]!.address)).toBe("SERVING");
    const controller = new (protocol.tributaryV1().Controller)(cluster.controllers[0]!.address, grpc.credentials.createInsecure());
    const quorum = await new Promise<{ leaderId: number }>((resolve, reject) =>
      (controller as unknown as { DescribeQuorum(r: object, o: object, cb: (e: Error | null, v?: { leaderId: number }) => void): void })
        .DescribeQuorum({}, { deadline: Date.now() + 5_000 }, (e, v) => (e ? reject(e) : resolve(v!))));
    controller.close();
    expect(quorum.leaderId).toBe(cluster.controllers[0]!.nodeId);

    await produceKnown("after");
    for (const [partition, values] of known) {
      const { records } = await readPartition(broker, TOPIC, partition, 0);
      expect(records.map((r) => r.value)).toEqual(values);
      expect(records.map((r) => r.offset)).toEqual(values.map((_, i) => i));
    }
    // The broker still creates topics, so the controller path is intact too.
    await createTopic(broker, "fuzz-after", 1, 1);

    for (const pid of [brokerPid, controllerPid]) {
      const grown = rssBytes(pid) - rssBefore.get(pid)!;
      expect(grown, `pid ${pid} RSS grew by ${grown} bytes`).toBeLessThan(RSS_GROWTH_BOUND_BYTES);
    }
  });
});
