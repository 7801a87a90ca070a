// The replica manager against real partition logs in a temp dir and a metadata image built
// from records: roles follow the image, ISR changes are proposed and applied only as the
// controller answers, and partitions that are no longer ours are deleted.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { MetadataImage, resolveServerConfig, type v1 } from "@tributary/protocol";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { encodeBatch } from "@tributary/records";
import { DelayedOperations } from "./delayed-operations.js";
import { LogManager } from "./log-manager.js";
import type { Partition } from "./partition.js";
import { ReplicaManager } from "./replica-manager.js";

const log = pino({ level: "silent" });
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

function setup(brokerId = 1) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "replica-manager-"));
  dirs.push(dir);
  const config = resolveServerConfig({ flags: { "log.dirs": dir } }).values;
  let nowMs = 1_000;
  const followed = new Map<string, number>();
  const alterCalls: v1.AlterPartitionItem[][] = [];
  let alterAnswer: (items: v1.AlterPartitionItem[]) => v1.AlterPartitionResponse__Output = () => { throw new Error("no answer set"); };
  const image = new MetadataImage();
  let offset = 0;
  const apply = (...records: v1.MetadataRecord__Output[]) => { for (const r of records) image.apply(offset++, r); };
  const manager = new ReplicaManager({
    brokerId, replicaLagTimeMaxMs: 1000,
    logs: new LogManager([dir], config, log, () => nowMs),
    fetchers: { follow: (p: Partition, leaderId: number) => followed.set(p.key, leaderId), unfollow: (key: string) => followed.delete(key) },
    alterPartition: async (items) => { alterCalls.push(items); return alterAnswer(items); },
    delayedProduce: new DelayedOperations(100), delayedFetch: new DelayedOperations(100),
    now: () => nowMs, log,
  });
  return {
    dir, image, apply, manager, followed, alterCalls,
    setAnswer(fn: typeof alterAnswer) { alterAnswer = fn; },
    advance(ms: number) { nowMs += ms; },
  };
}

const broker = (brokerId: number): v1.MetadataRecord__Output => ({
  record: "brokerRegistration",
  brokerRegistration: { brokerId, brokerEpoch: String(brokerId * 10), incarnationId: `i${brokerId}`, listeners: [{ host: "127.0.0.1", port: 9000 + brokerId, listenerName: "PLAINTEXT" }], rack: "", fenced: false },
}) as v1.MetadataRecord__Output;
const topic = (name: string, topicId: string): v1.MetadataRecord__Output => ({ record: "topic", topic: { name, topicId } }) as v1.MetadataRecord__Output;
const partition = (topicId: string, index: number, replicas: number[], isr: number[], leader: number, leaderEpoch: number, partitionEpoch: number): v1.MetadataRecord__Output =>
  ({ record: "partition", partition: { topicId, partition: index, replicas, isr, leader, leaderEpoch, partitionEpoch } }) as v1.MetadataRecord__Output;
const change = (topicId: string, index: number, fields: { leader?: number; isr?: number[]; leaderEpoch: number; partitionEpoch: number }): v1.MetadataRecord__Output =>
  ({ record: "partitionChange", partitionChange: { topicId, partition: index, leader: fields.leader, isr: fields.isr ?? [], isrChanged: fields.isr !== undefined, replicas: [], replicasChanged: false, leaderEpoch: fields.leaderEpoch, partitionEpoch: fields.partitionEpoch, reason: "" } }) as v1.MetadataRecord__Output;

const batch = (count: number) => encodeBatch({ records: Array.from({ length: count }, (_, i) => ({ key: null, value: Buffer.from(`v${i}`), timestampMs: 1 })) });

describe("ReplicaManager", () => {
  it("leads, follows and deletes partitions exactly as the image says", async () => {
    const t = setup(1);
    t.apply(broker(1), broker(2), topic("orders", "T1"), partition("T1", 0, [1, 2], [1, 2], 1, 0, 0), partition("T1", 1, [2, 1], [2, 1], 2, 0, 0), partition("T1", 2, [2, 3], [2, 3], 2, 0, 0));
    t.manager.applyImage(t.image);
    expect(t.manager.partition("orders", 0)?.isLeader).toBe(true);
    expect(t.manager.partition("orders", 1)?.isLeader).toBe(false);
    expect(t.followed.get("orders-1")).toBe(2);
    expect(t.manager.partition("orders", 2)).toBeUndefined(); // not a replica here
    expect(fs.existsSync(path.join(t.dir, "orders-0"))).toBe(true);

    // Leadership moves: partition 0 to broker 2, partition 1 to us.
    t.apply(change("T1", 0, { leader: 2, leaderEpoch: 1, partitionEpoch: 1 }), change("T1", 1, { leader: 1, leaderEpoch: 1, partitionEpoch: 1 }));
    t.manager.applyImage(t.image);
    expect(t.manager.partition("orders", 0)?.isLeader).toBe(false);
    expect(t.followed.get("orders-0")).toBe(2);
    expect(t.manager.partition("orders", 1)?.isLeader).toBe(true);
    expect(t.followed.has("orders-1")).toBe(false);

    t.apply({ record: "removeTopic", removeTopic: { topicId: "T1" } } as v1.MetadataRecord__Output);
    t.manager.applyImage(t.image);
    expect(t.manager.partition("orders", 0)).toBeUndefined();
    await expect.poll(() => fs.existsSync(path.join(t.dir, "orders-0"))).toBe(false);
    await t.manager.close();
  });

  it("ignores an image older than the leader epoch it acts on", () => {
    const t = setup(1);
    t.apply(broker(1), broker(2), topic("t", "T"), partition("T", 0, [1, 2], [1, 2], 1, 5, 5));
    t.manager.applyImage(t.image);
    const stale = new MetadataImage();
    stale.apply(0, broker(1));
    stale.apply(1, broker(2));
    stale.apply(2, topic("t", "T"));
    stale.apply(3, partition("T", 0, [1, 2], [1, 2], 2, 4, 4));
    t.manager.applyImage(stale);
    expect(t.manager.partition("t", 0)?.isLeader).toBe(true);
    expect(t.manager.partition("t", 0)?.leaderEpoch).toBe(5);
  });

  it("proposes an ISR shrink to the controller and applies only what it answers", async () => {
    const t = setup(1);
    t.apply(broker(1), broker(2), broker(3), topic("t", "T"), partition("T", 0, [1, 2, 3], [1, 2, 3], 1, 0, 0));
    t.manager.applyImage(t.image);
    const p = t.manager.partition("t", 0)!;
    p.log.appendAsLeader(batch(10), p.leaderEpoch, 1);
    t.manager.afterLeaderAppend(p);
    t.manager.recordFollowerFetch(p, 2, 10);
    t.manager.recordFollowerFetch(p, 3, 4);
    expect(p.highWatermark).toBe(4);

    t.setAnswer((items) => ({
      error: { code: "NONE", message: "" }, controller: null,
      partitions: items.map((i) => ({ topic: i.topic!, partition: i.partition!, error: { code: "NONE", message: "" }, leader: 1, leaderEpoch: 0, isr: i.newIsr!, partitionEpoch: 1 })),
    }) as v1.AlterPartitionResponse__Output);
    t.advance(1500);
    t.manager.recordFollowerFetch(p, 2, 10); // broker 2 stays caught up
    t.manager.checkIsrLag();
    expect(t.alterCalls).toEqual([[{ topic: "t", partition: 0, leaderEpoch: 0, newIsr: [1, 2], partitionEpoch: 0 }]]);
    await expect.poll(() => p.currentIsr.join(",")).toBe("1,2");
    expect(p.highWatermark).toBe(10); // broker 3 no longer holds it back
  });

  it("keeps the ISR when the controller refuses the change", async () => {
    const t = setup(1);
    t.apply(broker(1), broker(2), topic("t", "T"), partition("T", 0, [1, 2], [1, 2], 1, 0, 3));
    t.manager.applyImage(t.image);
    const p = t.manager.partition("t", 0)!;
    t.setAnswer((items) => ({
      error: { code: "NONE", message: "" }, controller: null,
      partitions: items.map((i) => ({ topic: i.topic!, partition: i.partition!, error: { code: "INVALID_UPDATE_VERSION", message: "stale" }, leader: 1, leaderEpoch: 0, isr: [], partitionEpoch: 4 })),
    }) as v1.AlterPartitionResponse__Output);
    t.advance(1500);
    t.manager.checkIsrLag();
    expect(t.alterCalls.length).toBe(1);
    await expect.poll(() => p.leaderState?.isrChangeInFlight).toBe(false);
    expect(p.currentIsr).toEqual([1, 2]);
  });
});
