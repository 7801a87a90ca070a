// ControllerNode on a real single-voter Raft driver (in-memory storage): activation, writes that
// answer after commit, snapshots and restarts, with no sockets.
import { performance } from "node:perf_hooks";
import { MetadataImage } from "@tributary/protocol";
import { MemoryRaftStorage, RaftDriver, realTimeScheduler } from "@tributary/raft";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { ControllerNode } from "./controller-node.js";
import { MetadataLog } from "./metadata-log.js";
import { request, testSettings } from "./testing/controller-harness.js";

const log = pino({ level: "silent" });
const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
});

async function startNode(storage: MemoryRaftStorage, snapshotIntervalRecords = 1_000, voters: number[] = [1]): Promise<{ node: ControllerNode; metadataLog: MetadataLog; driver: RaftDriver }> {
  let driver: RaftDriver | null = null;
  let topicCounter = 0;
  const metadataLog: MetadataLog = new MetadataLog({
    clusterId: "c",
    snapshotIntervalRecords,
    retainedRecords: 1_000,
    onSnapshot: (index, data) => driver?.compact(index, data),
    onApplied: (entry) => node.onApplied(entry),
    onBatch: (batch) => node.onCommittedBatch(batch),
    onRestored: () => node.onRestored(),
  });
  const node: ControllerNode = new ControllerNode({
    settings: testSettings(),
    voters: voters.map((id) => ({ id, host: "127.0.0.1", port: 9190 + id })),
    metadataLog,
    log,
    nowMs: () => performance.now(),
    newTopicId: () => `topic-${++topicCounter}`,
    tickIntervalMs: 50,
    writeTimeoutMs: 5_000,
  });
  driver = await RaftDriver.start({
    config: { id: 1, voters, electionTimeoutMs: 50, heartbeatIntervalMs: 10 },
    storage,
    transport: { send: () => undefined },
    scheduler: realTimeScheduler,
    stateMachine: metadataLog,
    onSoftState: (state) => node.onSoftState(state),
  });
  node.attach(driver);
  const running = driver;
  const deadline = performance.now() + 5_000;
  while (voters.length === 1 && !node.isActive() && performance.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  stops.push(async () => {
    node.stop();
    await running.stop();
  });
  return { node, metadataLog, driver };
}

async function createTopic(node: ControllerNode, name: string): Promise<string> {
  const outcome = await node.write((controller, nowMs) => controller.createTopics(request("CreateTopicsRequest", { topics: [{ name, numPartitions: 1, replicationFactor: 1 }] }), nowMs));
  if (!outcome.ok) return outcome.error.code;
  return String(outcome.response.topics![0]!.error!.code);
}

describe("controller node on a single-voter quorum", () => {
  it("answers writes once committed, and a restart from a snapshot keeps them", async () => {
    const storage = new MemoryRaftStorage();
    const first = await startNode(storage, 4);
    expect(first.node.isActive()).toBe(true);
    const reg = await first.node.write((c, now) => c.registerBroker(request("RegisterBrokerRequest", { brokerId: 1, incarnationId: "i", listeners: [{ host: "127.0.0.1", port: 9092 }] }), now));
    expect(reg.ok).toBe(true);
    const epoch = reg.ok ? String(reg.response.brokerEpoch) : "";
    const beat = await first.node.write((c, now) => c.brokerHeartbeat(request("BrokerHeartbeatRequest", { brokerId: 1, brokerEpoch: epoch, currentMetadataOffset: epoch }), now));
    expect(beat.ok && beat.response.isFenced).toBe(false);
    const results = await Promise.all(["a", "b", "c", "d", "e"].map((name) => createTopic(first.node, name)));
    expect(results).toEqual(["NONE", "NONE", "NONE", "NONE", "NONE"]);
    // Every answered write is in the committed image by the time it is answered.
    expect([...first.metadataLog.image.topicsByName.keys()].sort()).toEqual(["a", "b", "c", "d", "e"]);
    expect(first.driver.status().snapshotIndex).toBeGreaterThan(0);
    await stops.pop()!();

    const second = await startNode(storage, 4);
    expect(await createTopic(second.node, "f")).toBe("NONE");
    expect(await createTopic(second.node, "a")).toBe("TOPIC_ALREADY_EXISTS");
    const image: MetadataImage = second.metadataLog.image;
    expect([...image.topicsByName.keys()].sort()).toEqual(["a", "b", "c", "d", "e", "f"]);
    expect(image.brokers.get(1)?.fenced).toBe(false);
  });

  it("answers NOT_CONTROLLER, without a leader to name, when it cannot reach a quorum", async () => {
    const { node } = await startNode(new MemoryRaftStorage(), 1_000, [1, 2, 3]);
    const outcome = await node.write((c, now) => c.createTopics(request("CreateTopicsRequest", { topics: [{ name: "t", numPartitions: 1, replicationFactor: 1 }] }), now));
    expect(outcome.ok).toBe(false);
    if (!outcome.ok) {
      expect(outcome.error.code).toBe("NOT_CONTROLLER");
      expect(outcome.controller.nodeId).toBe(-1);
    }
  });
});
