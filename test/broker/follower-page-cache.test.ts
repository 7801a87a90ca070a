// log.follower.page.cache.drop: a follower replica's log drops what its background writebacks
// wrote from the OS page cache; the leader's log keeps its pages for the consumers who read
// them. Checked on real broker processes with fincore (util-linux), which reports how much of
// a file is cached; and after the leader is killed, the follower (now leader) serves every
// acknowledged record from disk.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startCluster, type Cluster } from "../support/cluster.js";
import { brokerClients, createTopic, partitionMetadata, type RawBrokerClient } from "../support/raw-client.js";
import { produceValues, readPartition } from "../support/records.js";

const hasFincore = (() => { try { execFileSync("fincore", ["--version"], { stdio: "ignore" }); return true; } catch { return false; } })();
const cachedBytes = (file: string) => Number(execFileSync("fincore", ["--bytes", "--noheadings", "--output", "RES", file], { encoding: "utf8" }).trim());
const WRITEBACK_BYTES = 256 * 1024;
const VALUE = "v".repeat(1000);

describe.skipIf(!hasFincore)("a follower's log and the page cache", () => {
  let cluster: Cluster;
  const clients = brokerClients((nodeId) => cluster.node(nodeId).address);
  const client = (nodeId: number): RawBrokerClient => clients.get(nodeId);

  beforeAll(async () => {
    cluster = await startCluster({ controllers: 1, brokers: 2, brokerOverrides: { "log.writeback.bytes": String(WRITEBACK_BYTES) } });
  });
  afterAll(async () => {
    clients.closeAll();
    await cluster?.stop();
  });

  it("is dropped from the cache once written to disk, while the leader's stays; both read back whole", async () => {
    await cluster.waitFor(async () => (await client(cluster.brokers[0]!.nodeId).metadata({ allTopics: true })).brokers.length === 2, { timeoutMs: 20_000, message: "2 live brokers" });
    await createTopic(client(cluster.brokers[0]!.nodeId), "cached", 1, 2);
    const leader = await cluster.waitFor(async () => {
      const p = await partitionMetadata(client(cluster.brokers[0]!.nodeId), "cached", 0);
      return p && p.leader > 0 && p.isr.length === 2 ? p.leader : undefined;
    }, { timeoutMs: 20_000, message: "cached-0 with a leader and both replicas in sync" });
    const follower = cluster.brokers.find((b) => b.nodeId !== leader)!.nodeId;
    const segmentOf = (nodeId: number) => path.join(cluster.node(nodeId).dataDir, "cached-0", "00000000000000000000.log");
    let acknowledged = 0;
    const produceSome = async () => {
      const outcome = await produceValues(client(leader), "cached", 0, Array.from({ length: 64 }, () => VALUE), -1);
      expect(outcome.code, outcome.message).toBe("NONE");
      acknowledged += 64;
    };
    for (let i = 0; i < 32; i++) await produceSome(); // ~2 MiB
    // Each writeback drops what was written before it started: produce on until most is dropped.
    await cluster.waitFor(async () => {
      await produceSome();
      return cachedBytes(segmentOf(follower)) < fs.statSync(segmentOf(follower)).size / 4;
    }, { timeoutMs: 30_000, message: "the follower's segment mostly out of the page cache" });
    expect(cachedBytes(segmentOf(leader))).toBeGreaterThan(fs.statSync(segmentOf(leader)).size * 0.9);

    // The follower takes over and serves every acknowledged record, read from disk.
    await cluster.kill(leader, "SIGKILL");
    await cluster.waitFor(async () => (await partitionMetadata(client(follower), "cached", 0))?.leader === follower, { timeoutMs: 30_000, message: `broker ${follower} leading cached-0` });
    // Its high watermark reaches its log end once it leads (the ISR is itself).
    const { records } = await cluster.waitFor(async () => {
      const read = await readPartition(client(follower), "cached", 0);
      return read.records.length >= acknowledged ? read : undefined;
    }, { timeoutMs: 20_000, message: `all ${acknowledged} acknowledged records readable from broker ${follower}` });
    expect(records.map((r) => r.offset)).toEqual(Array.from({ length: acknowledged }, (_, i) => i));
    expect(records.every((r) => r.value === VALUE)).toBe(true);
  }, 120_000);
});
