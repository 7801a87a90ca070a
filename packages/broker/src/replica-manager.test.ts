// The replica manager against real partition logs in a temp dir and a metadata image built
// from records: roles follow the image, ISR changes are proposed and applied only as the
// controller answers, and partitions that are no longer ours are deleted.
import fs from "node:fs";
import path from "node:path";
import { MetadataImage, type v1 } from "@tributary/protocol";
import { afterEach, describe, expect, it } from "vitest";
import { batchOf, records, replicaFixture, type ReplicaFixture } from "./replicas.fixture.js";

const fixtures: ReplicaFixture[] = [];
afterEach(async () => {
  for (const f of fixtures.splice(0)) await f.cleanup();
});

function setup(brokerId = 1, flags: Record<string, string> = { "replica.lag.time.max.ms": "1000" }): ReplicaFixture {
  const f = replicaFixture(brokerId, flags);
  fixtures.push(f);
  return f;
}

const { broker, topic, partition, change } = records;
const batch = batchOf;

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
  });

  it("never serves a deleted topic's records as those of a new topic with the same name", async () => {
    const old = setup(1);
    old.apply(broker(1), topic("reused", "OLD"), partition("OLD", 0, [1], [1], 1, 0, 0));
    old.manager.applyImage(old.image);
    const p = old.manager.partition("reused", 0)!;
    p.log.appendAsLeader(batch(7), 0, 1);
    await old.manager.close();
    expect(fs.readFileSync(path.join(old.dir, "reused-0", "partition.metadata"), "utf8")).toContain("topic_id: OLD");

    // The same log dir after a restart, where the metadata now says "reused" is a new topic.
    const again = setup(1, { "log.dirs": old.dir });
    again.apply(broker(1), topic("reused", "NEW"), partition("NEW", 0, [1], [1], 1, 0, 0));
    again.manager.applyImage(again.image);
    expect(again.manager.partition("reused", 0)!.log.logEndOffset).toBe(0);
    expect(fs.readFileSync(path.join(old.dir, "reused-0", "partition.metadata"), "utf8")).toContain("topic_id: NEW");
  });

  it("opens a big topic's logs a few per event-loop turn, and counts as applied only when all are open", async () => {
    const t = setup(1);
    const partitions = Array.from({ length: 40 }, (_, i) => partition("B", i, [1], [1], 1, 0, 0));
    t.apply(broker(1), topic("big", "B"), ...partitions);
    t.manager.applyImage(t.image);
    const opened = () => partitions.filter((_, i) => t.manager.partition("big", i) !== undefined).length;
    // The first pass stops after 16 new logs, so the event loop (other requests, heartbeats) runs between passes.
    expect(opened()).toBe(16);
    expect(t.manager.fullyApplied).toBe(false);
    expect(t.manager.partition("big", 0)?.isLeader).toBe(true);
    await new Promise((resolve) => setImmediate(resolve));
    expect(opened()).toBe(32);
    await expect.poll(() => t.manager.fullyApplied).toBe(true);
    expect(opened()).toBe(40);
    expect(partitions.every((_, i) => t.manager.partition("big", i)?.isLeader)).toBe(true);
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
