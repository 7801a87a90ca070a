// Bad input gets its error code and changes nothing on disk: a batch with a bad CRC, a batch
// over max.message.bytes, a produce to a follower, a fetch with a leader epoch the broker does
// not hold, an unknown topic, and acks that mean nothing.
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startCluster, type Cluster } from "../support/cluster.js";
import { brokerClients, createTopic, errorCode, partitionMetadata, type RawBrokerClient } from "../support/raw-client.js";
import { batchOf, produceValues, readPartition } from "../support/records.js";

const TOPIC = "strict";

describe("bad input", () => {
  let cluster: Cluster;
  const clients = brokerClients((nodeId) => cluster.node(nodeId).address);
  const client = (nodeId: number): RawBrokerClient => clients.get(nodeId);
  let leader = -1;
  let leaderEpoch = -1;
  let follower = -1;

  /** Every replica's segment files, name -> bytes. */
  const disk = () => cluster.brokers.map((b) => {
    const dir = path.join(b.dataDir, `${TOPIC}-0`);
    if (!fs.existsSync(dir)) return "";
    return fs.readdirSync(dir).filter((f) => f.endsWith(".log")).sort().map((f) => `${f}:${fs.readFileSync(path.join(dir, f)).toString("hex")}`).join("|");
  });

  const produceRaw = (nodeId: number, records: Buffer, acks = -1) =>
    client(nodeId).produce({ acks, timeoutMs: 5_000, topics: [{ name: TOPIC, partitions: [{ partition: 0, records }] }] });

  beforeAll(async () => {
    cluster = await startCluster({ controllers: 1, brokers: 3, brokerOverrides: { "auto.create.topics.enable": "false", "socket.request.max.bytes": "1048576" } });
    await cluster.waitFor(async () => (await client(1).metadata({ allTopics: true })).brokers.length === 3, { timeoutMs: 20_000, message: "3 live brokers" });
    await createTopic(client(1), TOPIC, 1, 3, { "max.message.bytes": "2048" });
    const p = await cluster.waitFor(async () => {
      const m = await partitionMetadata(client(1), TOPIC, 0);
      return m && m.leader > 0 && m.isr.length === 3 ? m : undefined;
    }, { timeoutMs: 20_000, message: "a leader with 3 in-sync replicas" });
    leader = p.leader;
    leaderEpoch = p.leaderEpoch;
    follower = p.replicas.find((id) => id !== leader)!;
    expect((await produceValues(client(leader), TOPIC, 0, ["good-0", "good-1"])).code).toBe("NONE");
    // Followers hold the committed records before we snapshot the disk.
    await cluster.waitFor(() => new Set(disk()).size === 1, { timeoutMs: 10_000, message: "replicas with identical logs" });
  });
  afterAll(async () => {
    clients.closeAll();
    await cluster?.stop();
  });

  it("refuses a batch whose CRC does not match with CORRUPT_MESSAGE", async () => {
    const before = disk();
    const corrupt = batchOf(["tampered"]);
    corrupt[corrupt.length - 2] ^= 0xff; // a record byte, inside the CRC'd range
    const response = await produceRaw(leader, corrupt);
    expect(errorCode(response.topics[0]!.partitions[0]!.error)).toBe("CORRUPT_MESSAGE");
    expect(response.topics[0]!.partitions[0]!.baseOffset).toBe("-1");
    expect(disk()).toEqual(before);
  });

  it("refuses bytes that are not a record batch, and a truncated batch, with CORRUPT_MESSAGE", async () => {
    const before = disk();
    // A plausible length field, then junk where the magic byte and CRC should be.
    const junk = Buffer.alloc(80, 0x5a);
    junk.writeInt32BE(80 - 12, 8);
    const garbage = await produceRaw(leader, junk);
    expect(errorCode(garbage.topics[0]!.partitions[0]!.error)).toBe("CORRUPT_MESSAGE");
    const whole = batchOf(["cut short"]);
    const truncated = await produceRaw(leader, whole.subarray(0, whole.length - 3));
    expect(errorCode(truncated.topics[0]!.partitions[0]!.error)).toBe("CORRUPT_MESSAGE");
    const negative = await client(leader).fetch({
      replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20,
      topics: [{ topic: TOPIC, partitions: [{ partition: 0, fetchOffset: "-5", partitionMaxBytes: -1, currentLeaderEpoch: -1, lastFetchedEpoch: -1 }] }],
    });
    expect(errorCode(negative.topics[0]!.partitions[0]!.error)).toBe("OFFSET_OUT_OF_RANGE");
    expect(disk()).toEqual(before);
  });

  it("refuses a batch larger than the topic's max.message.bytes with MESSAGE_TOO_LARGE", async () => {
    const before = disk();
    const response = await produceRaw(leader, batchOf(["x".repeat(5000)]));
    expect(errorCode(response.topics[0]!.partitions[0]!.error)).toBe("MESSAGE_TOO_LARGE");
    expect(disk()).toEqual(before);
  });

  it("refuses a request larger than socket.request.max.bytes with RESOURCE_EXHAUSTED", async () => {
    const before = disk();
    const huge = Buffer.alloc(2 * 1024 * 1024, 1);
    const error = await produceRaw(leader, huge).then(() => undefined, (e: { code?: number; details?: string }) => e);
    expect(error?.code).toBe(8); // gRPC RESOURCE_EXHAUSTED
    expect(disk()).toEqual(before);
    // The broker is still serving.
    expect((await partitionMetadata(client(leader), TOPIC, 0))?.leader).toBe(leader);
  });

  it("refuses a produce to a follower with NOT_LEADER_OR_FOLLOWER and names the leader", async () => {
    const before = disk();
    const response = await produceRaw(follower, batchOf(["misdirected"]));
    const p = response.topics[0]!.partitions[0]!;
    expect(errorCode(p.error)).toBe("NOT_LEADER_OR_FOLLOWER");
    expect(p.currentLeader?.nodeId).toBe(leader);
    expect(p.currentLeader?.endpoint?.port).toBe(cluster.node(leader).port);
    expect(disk()).toEqual(before);
  });

  it("refuses a fetch for a leader epoch the broker does not hold", async () => {
    const fetchAt = (epoch: number) => client(leader).fetch({
      replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20,
      topics: [{ topic: TOPIC, partitions: [{ partition: 0, fetchOffset: "0", partitionMaxBytes: 1 << 20, currentLeaderEpoch: epoch, lastFetchedEpoch: -1 }] }],
    });
    const newer = (await fetchAt(leaderEpoch + 3)).topics[0]!.partitions[0]!;
    expect(errorCode(newer.error)).toBe("UNKNOWN_LEADER_EPOCH");
    expect(newer.records.length).toBe(0);
    const current = (await fetchAt(leaderEpoch)).topics[0]!.partitions[0]!;
    expect(errorCode(current.error)).toBe("NONE");
    expect(current.records.length).toBeGreaterThan(0);
  });

  it("answers a fetch past the log end with OFFSET_OUT_OF_RANGE and the log's bounds", async () => {
    const response = await client(leader).fetch({
      replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20,
      topics: [{ topic: TOPIC, partitions: [{ partition: 0, fetchOffset: "999", partitionMaxBytes: 1 << 20, currentLeaderEpoch: -1, lastFetchedEpoch: -1 }] }],
    });
    const p = response.topics[0]!.partitions[0]!;
    expect(errorCode(p.error)).toBe("OFFSET_OUT_OF_RANGE");
    expect(p.logStartOffset).toBe("0");
    expect(p.logEndOffset).toBe("2");
  });

  it("answers an unknown topic with UNKNOWN_TOPIC_OR_PARTITION and bad acks with INVALID_REQUIRED_ACKS", async () => {
    const unknown = await client(leader).produce({ acks: 1, timeoutMs: 1000, topics: [{ name: "no-such-topic", partitions: [{ partition: 0, records: batchOf(["x"]) }] }] });
    expect(errorCode(unknown.topics[0]!.partitions[0]!.error)).toBe("UNKNOWN_TOPIC_OR_PARTITION");
    const badAcks = await produceRaw(leader, batchOf(["x"]), 7);
    expect(errorCode(badAcks.topics[0]!.partitions[0]!.error)).toBe("INVALID_REQUIRED_ACKS");
    const invalidName = await client(leader).produce({ acks: 1, timeoutMs: 1000, topics: [{ name: "bad/name", partitions: [{ partition: 0, records: batchOf(["x"]) }] }] });
    expect(errorCode(invalidName.topics[0]!.partitions[0]!.error)).toBe("INVALID_TOPIC");
  });

  it("still holds exactly the good records", async () => {
    const read = await readPartition(client(leader), TOPIC, 0);
    expect(read.records.map((r) => r.value)).toEqual(["good-0", "good-1"]);
  });
});
