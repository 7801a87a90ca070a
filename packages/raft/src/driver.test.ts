// RaftDriver end to end: three drivers on a fake clock and an in-process transport, and one on
// LevelRaftStorage with real timers, restarted from disk.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { RaftDriver, type RaftScheduler, type RaftStateMachine, realTimeScheduler } from "./driver.js";
import { LevelRaftStorage } from "./level-storage.js";
import { MemoryRaftStorage } from "./memory-storage.js";
import type { Entry, NodeId, RaftMessage, Snapshot } from "./messages.js";
import { createSeededRandom } from "./random.js";

const enc = (value: string) => new TextEncoder().encode(value);
const dec = (data: Uint8Array) => new TextDecoder().decode(data);
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A clock that moves only when the test says, firing due timers in order. */
class FakeClock implements RaftScheduler {
  private now = 0;
  private timers: Array<{ atMs: number; callback: () => void; live: boolean }> = [];
  nowMs(): number {
    return this.now;
  }
  setTimer(delayMs: number, callback: () => void): () => void {
    const timer = { atMs: this.now + delayMs, callback, live: true };
    this.timers.push(timer);
    return () => {
      timer.live = false;
    };
  }
  async advance(ms: number, stepMs = 5): Promise<void> {
    const end = this.now + ms;
    while (this.now < end) {
      this.now = Math.min(end, this.now + stepMs);
      const due = this.timers.filter((timer) => timer.live && timer.atMs <= this.now);
      this.timers = this.timers.filter((timer) => timer.live && timer.atMs > this.now);
      for (const timer of due) timer.callback();
      await settle();
    }
  }
}

/** The application: a list of applied values; its snapshot is that list. */
class ListStateMachine implements RaftStateMachine {
  values: string[] = [];
  apply(entry: Entry): void {
    if (entry.kind === "normal") this.values.push(dec(entry.data));
  }
  restore(snapshot: Snapshot): void {
    this.values = JSON.parse(dec(snapshot.data)) as string[];
  }
  snapshot(): Uint8Array {
    return enc(JSON.stringify(this.values));
  }
}

async function threeNodeCluster() {
  const clock = new FakeClock();
  const ids: NodeId[] = [1, 2, 3];
  const drivers = new Map<NodeId, RaftDriver>();
  const machines = new Map<NodeId, ListStateMachine>();
  const storages = new Map<NodeId, MemoryRaftStorage>();
  const transport = { send: (message: RaftMessage) => queueMicrotask(() => drivers.get(message.to)?.receive(message)) };
  for (const id of ids) {
    machines.set(id, new ListStateMachine());
    storages.set(id, new MemoryRaftStorage());
    const driver = await RaftDriver.start({
      config: { id, voters: ids, electionTimeoutMs: 100, heartbeatIntervalMs: 20 },
      storage: storages.get(id)!,
      transport,
      scheduler: clock,
      stateMachine: machines.get(id)!,
      random: createSeededRandom(id),
      snapshotEveryEntries: 10,
    });
    drivers.set(id, driver);
  }
  await clock.advance(400);
  const leader = [...drivers.values()].find((driver) => driver.status().role === "leader")!;
  expect(leader).toBeDefined();
  return { clock, drivers, machines, storages, leader, transport };
}

describe("RaftDriver", () => {
  it("elects a leader; a proposal resolves once applied, and every node applies it", async () => {
    const { clock, machines, leader } = await threeNodeCluster();
    const position = await leader.propose(enc("hello"));
    expect(position).toEqual({ index: 2, term: leader.status().term });
    expect(machines.get(leader.status().id)!.values).toEqual(["hello"]);
    await clock.advance(60);
    for (const machine of machines.values()) expect(machine.values).toEqual(["hello"]);
  });

  it("a follower refuses proposals and reads with the leader's id", async () => {
    const { drivers, leader } = await threeNodeCluster();
    const follower = [...drivers.values()].find((driver) => driver !== leader)!;
    await expect(follower.propose(enc("x"))).rejects.toMatchObject({ code: "NOT_LEADER", leaderId: leader.status().id, retriable: true });
    await expect(follower.read()).rejects.toMatchObject({ code: "NOT_LEADER" });
  });

  it("read() resolves at an index that covers every write acknowledged before it", async () => {
    const { leader, machines } = await threeNodeCluster();
    for (let k = 0; k < 5; k++) await leader.propose(enc(`w${k}`));
    const index = await leader.read();
    expect(index).toBe(6);
    expect(machines.get(leader.status().id)!.values).toEqual(["w0", "w1", "w2", "w3", "w4"]);
  });

  it("snapshots every N entries and a restarted node recovers its state from storage", async () => {
    const { clock, drivers, machines, storages, leader, transport } = await threeNodeCluster();
    for (let k = 0; k < 25; k++) await leader.propose(enc(`v${k}`));
    await clock.advance(60);
    const followerId = [...drivers.keys()].find((id) => id !== leader.status().id)!;
    expect(drivers.get(followerId)!.status().snapshotIndex).toBeGreaterThanOrEqual(20);
    await drivers.get(followerId)!.stop();
    const machine = new ListStateMachine();
    const restarted = await RaftDriver.start({
      config: { id: followerId, voters: [1, 2, 3], electionTimeoutMs: 100, heartbeatIntervalMs: 20 },
      storage: storages.get(followerId)!,
      transport,
      scheduler: clock,
      stateMachine: machine,
      random: createSeededRandom(9),
    });
    await settle();
    // From its own disk: the snapshot plus the entries its stored commit index covers.
    const leaderValues = machines.get(leader.status().id)!.values;
    expect(machine.values.length).toBeGreaterThanOrEqual(19);
    expect(leaderValues.slice(0, machine.values.length)).toEqual(machine.values);
    // The rest from the leader.
    drivers.set(followerId, restarted);
    await clock.advance(100);
    expect(machine.values).toEqual(leaderValues);
  });

  it("transfers leadership on request, and stop() fails what is pending", async () => {
    const { clock, drivers, leader } = await threeNodeCluster();
    const target = [...drivers.keys()].find((id) => id !== leader.status().id)!;
    leader.transferLeadership(target);
    await clock.advance(50);
    expect(drivers.get(target)!.status().role).toBe("leader");
    const newLeader = drivers.get(target)!;
    const others = [...drivers.values()].filter((driver) => driver !== newLeader);
    for (const driver of others) await driver.stop();
    // No quorum: the proposal cannot commit, and stopping fails it.
    const pending = newLeader.propose(enc("stranded"));
    await clock.advance(20);
    await newLeader.stop();
    await expect(pending).rejects.toMatchObject({ code: "STOPPED" });
  });

  it("runs on LevelRaftStorage with real timers and replays its log after a restart", { timeout: 30_000 }, async () => {
    const directory = mkdtempSync(join(tmpdir(), "raft-driver-"));
    const scheduler: RaftScheduler = realTimeScheduler;
    const start = async (machine: ListStateMachine) => {
      const storage = await LevelRaftStorage.open(directory);
      const driver = await RaftDriver.start({
        config: { id: 1, voters: [1], electionTimeoutMs: 50, heartbeatIntervalMs: 10 },
        storage,
        transport: { send: () => {} },
        scheduler,
        stateMachine: machine,
      });
      const deadline = Date.now() + 10_000;
      while (driver.status().role !== "leader" && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
      expect(driver.status().role).toBe("leader");
      return { storage, driver };
    };
    try {
      const first = new ListStateMachine();
      const one = await start(first);
      await Promise.all(Array.from({ length: 200 }, (_, k) => one.driver.propose(enc(`e${k}`))));
      await one.driver.stop();
      await one.storage.close();
      const second = new ListStateMachine();
      const two = await start(second);
      await two.driver.read();
      expect(second.values).toEqual(first.values);
      expect(second.values).toHaveLength(200);
      await two.driver.stop();
      await two.storage.close();
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });
});
