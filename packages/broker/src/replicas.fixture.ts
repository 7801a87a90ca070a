// Test fixture (not built into dist): a replica manager over real partition logs in a temp
// dir, a metadata image fed with records, and a BrokerContext for the request handlers. The
// controller's AlterPartition answer and the follower fetchers are recorded, not networked.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { MetadataImage, resolveServerConfig, type v1 } from "@tributary/protocol";
import { encodeBatch } from "@tributary/records";
import { pino } from "pino";
import { DEFAULT_LIMITS, TopicConfigCache, type BrokerContext } from "./broker-context.js";
import { DelayedOperations } from "./delayed-operations.js";
import { LogManager } from "./log-manager.js";
import type { Partition } from "./partition.js";
import { ReplicaManager } from "./replica-manager.js";

export const silentLog = pino({ level: "silent" });

export interface ReplicaFixture {
  dir: string;
  image: MetadataImage;
  apply(...records: v1.MetadataRecord__Output[]): void;
  manager: ReplicaManager;
  ctx: BrokerContext;
  followed: Map<string, number>;
  alterCalls: v1.AlterPartitionItem[][];
  setAnswer(fn: (items: v1.AlterPartitionItem[]) => v1.AlterPartitionResponse__Output): void;
  advance(ms: number): void;
  now(): number;
  cleanup(): Promise<void>;
}

export function replicaFixture(brokerId = 1, flags: Record<string, string> = {}): ReplicaFixture {
  const tempDir = fs.mkdtempSync(path.join(os.tmpdir(), "broker-fixture-"));
  const config = resolveServerConfig({ flags: { "log.dirs": tempDir, "node.id": String(brokerId), ...flags } }).values;
  // A test may point log.dirs at another fixture's folder (a restart on the same disk).
  const dir = config["log.dirs"][0]!;
  let nowMs = 1_000;
  const now = () => nowMs;
  const followed = new Map<string, number>();
  const alterCalls: v1.AlterPartitionItem[][] = [];
  let alterAnswer: (items: v1.AlterPartitionItem[]) => v1.AlterPartitionResponse__Output = () => { throw new Error("no AlterPartition answer set"); };
  const image = new MetadataImage();
  let offset = 0;
  const delayedProduce = new DelayedOperations(100);
  const delayedFetch = new DelayedOperations(100);
  const manager = new ReplicaManager({
    brokerId, replicaLagTimeMaxMs: config["replica.lag.time.max.ms"],
    logs: new LogManager([dir], config, silentLog, now),
    fetchers: { follow: (p: Partition, leaderId: number) => followed.set(p.key, leaderId), unfollow: (key: string) => followed.delete(key) },
    alterPartition: async (items) => { alterCalls.push(items); return alterAnswer(items); },
    delayedProduce, delayedFetch, now, log: silentLog,
  });
  const topicConfigs = new TopicConfigCache(config, image);
  const ctx: BrokerContext = {
    brokerId, config, limits: { ...DEFAULT_LIMITS }, image, replicas: manager, delayedProduce, delayedFetch, log: silentLog, now,
    queuedProduceBytes: 0,
    topicConfig: (topic) => topicConfigs.get(topic),
    autoCreateTopics: () => {},
    brokerEpochOf: (id) => image.brokers.get(id)?.brokerEpoch ?? -1,
  };
  return {
    dir, image, manager, ctx, followed, alterCalls, now,
    apply(...records) {
      for (const r of records) image.apply(offset++, r);
      topicConfigs.invalidate();
    },
    setAnswer(fn) { alterAnswer = fn; },
    advance(ms) { nowMs += ms; },
    async cleanup() {
      await manager.close();
      fs.rmSync(tempDir, { recursive: true, force: true });
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const records = {
  broker: (brokerId: number): v1.MetadataRecord__Output => ({
    record: "brokerRegistration",
    brokerRegistration: { brokerId, brokerEpoch: String(brokerId * 10), incarnationId: `i${brokerId}`, listeners: [{ host: "127.0.0.1", port: 9000 + brokerId, listenerName: "PLAINTEXT" }], rack: "", fenced: false },
  }) as v1.MetadataRecord__Output,
  topic: (name: string, topicId: string): v1.MetadataRecord__Output => ({ record: "topic", topic: { name, topicId } }) as v1.MetadataRecord__Output,
  config: (topicName: string, name: string, value: string): v1.MetadataRecord__Output => ({ record: "config", config: { resourceType: "topic", resourceName: topicName, name, value } }) as v1.MetadataRecord__Output,
  partition: (topicId: string, index: number, replicas: number[], isr: number[], leader: number, leaderEpoch: number, partitionEpoch: number): v1.MetadataRecord__Output =>
    ({ record: "partition", partition: { topicId, partition: index, replicas, isr, leader, leaderEpoch, partitionEpoch } }) as v1.MetadataRecord__Output,
  change: (topicId: string, index: number, fields: { leader?: number; isr?: number[]; leaderEpoch: number; partitionEpoch: number }): v1.MetadataRecord__Output =>
    ({ record: "partitionChange", partitionChange: { topicId, partition: index, leader: fields.leader, isr: fields.isr ?? [], isrChanged: fields.isr !== undefined, replicas: [], replicasChanged: false, leaderEpoch: fields.leaderEpoch, partitionEpoch: fields.partitionEpoch, reason: "" } }) as v1.MetadataRecord__Output,
};

export function batchOf(count: number, timestampMs = 1): Buffer {
  return encodeBatch({ records: Array.from({ length: count }, (_, i) => ({ key: null, value: Buffer.from(`v${i}`), timestampMs })) });
}
