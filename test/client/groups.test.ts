// Consumer groups through the SDK with members in their own processes: 1 -> 3 -> 2 members on a
// 6-partition topic while a producer writes (every record consumed, none twice across graceful
// hand-overs, none missing); a member killed with SIGKILL has its partitions moved within the
// session timeout; two groups on one topic each receive every record.
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serializers } from "../../packages/client/dist/index.js";
import { startClientCluster, waitFor, type ClientCluster } from "./support.js";
import { startWriter } from "./writer.js";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SESSION_TIMEOUT_MS = 6_000;

interface MemberProcess {
  name: string;
  child: ChildProcess;
  /** partition:offset -> value, as this member consumed it (in order). */
  consumed: Array<[number, number, string]>;
  events: Array<{ e: string; p?: number[] }>;
  exited: Promise<void>;
}

const members: MemberProcess[] = [];
let env: ClientCluster;

function startMember(name: string, groupId: string, topic: string): MemberProcess {
  const child = spawn(process.execPath, [path.join(HERE, "consumer-process.mjs"), env.cluster.bootstrapServers.join(","), groupId, topic, name, String(SESSION_TIMEOUT_MS)], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const member: MemberProcess = { name, child, consumed: [], events: [], exited: new Promise((resolve) => child.once("exit", () => resolve())) };
  let pending = "";
  child.stdout!.setEncoding("utf8");
  child.stdout!.on("data", (chunk: string) => {
    pending += chunk;
    let at: number;
    while ((at = pending.indexOf("\n")) >= 0) {
      const line = pending.slice(0, at);
      pending = pending.slice(at + 1);
      const event = JSON.parse(line) as { e: string; p?: number[]; r?: Array<[number, number, string]> };
      if (event.e === "records") member.consumed.push(...event.r!);
      else member.events.push(event);
    }
  });
  members.push(member);
  return member;
}

async function stopMember(member: MemberProcess, signal: NodeJS.Signals): Promise<void> {
  if (member.child.exitCode === null && member.child.signalCode === null) member.child.kill(signal);
  await member.exited;
}

/** What a member's rebalance listener says it owns now. */
function ownedBy(member: MemberProcess): number[] {
  const owned = new Set<number>();
  for (const event of member.events) {
    if (event.e === "partitionsAssigned") for (const p of event.p!) owned.add(p);
    if (event.e === "partitionsRevoked" || event.e === "partitionsLost") for (const p of event.p!) owned.delete(p);
  }
  return [...owned].sort((a, b) => a - b);
}

async function ownership(groupId: string): Promise<Map<string, number[]>> {
  const group = await env.client().admin().describeGroup(groupId);
  return new Map(group.members.map((m) => [m.memberId, m.assignment.map((tp) => tp.partition).sort((a, b) => a - b)]));
}

/** The group has `count` members whose assignments cover all 6 partitions with no overlap. */
async function settled(groupId: string, count: number): Promise<boolean> {
  const owned = await ownership(groupId);
  const all = [...owned.values()].flat().sort((a, b) => a - b);
  return owned.size === count && all.join() === "0,1,2,3,4,5";
}

beforeAll(async () => {
  env = await startClientCluster({ controllers: 1, brokers: 3 });
  await env.client().admin().createTopics([
    { topic: "events", numPartitions: 6, replicationFactor: 3 },
    { topic: "kills", numPartitions: 6, replicationFactor: 3 },
    { topic: "pubsub", numPartitions: 6, replicationFactor: 3 },
  ]);
});

afterAll(async () => {
  await Promise.all(members.map((m) => stopMember(m, "SIGKILL")));
  await env?.stop();
});

describe("consumer groups", () => {
  it("1 -> 3 -> 2 members while a producer writes: every record consumed, none twice", async () => {
    const producer = env.client().producer({ keySerializer: serializers.string, valueSerializer: serializers.string, lingerMs: 1 });
    const writer = startWriter(producer, "events");
    const a = startMember("a", "g-events", "events");
    await waitFor(() => settled("g-events", 1), { timeoutMs: 20_000, message: "one member owning all six partitions" });
    await waitFor(() => a.consumed.length > 200, { timeoutMs: 20_000, message: "member a consuming" });
    const b = startMember("b", "g-events", "events");
    const c = startMember("c", "g-events", "events");
    await waitFor(async () => (await settled("g-events", 3)) && [...(await ownership("g-events")).values()].every((p) => p.length === 2), {
      timeoutMs: 30_000,
      message: "three members with two partitions each",
    });
    await waitFor(() => b.consumed.length > 0 && c.consumed.length > 0, { timeoutMs: 20_000, message: "b and c consuming" });
    await stopMember(c, "SIGTERM");
    await waitFor(async () => (await settled("g-events", 2)) && [...(await ownership("g-events")).values()].every((p) => p.length === 3), {
      timeoutMs: 30_000,
      message: "two members with three partitions each",
    });
    const settledAtCount = { a: a.consumed.length, b: b.consumed.length };
    const acked = await writer.stop();
    await producer.close();
    const consumedKeys = () => new Set([...a.consumed, ...b.consumed, ...c.consumed].map(([p, o]) => `${p}:${o}`));
    await waitFor(() => acked.every(([p, o]) => consumedKeys().has(`${p}:${o}`)), { timeoutMs: 30_000, message: "every acknowledged record consumed" });

    // No gaps: each partition's consumed offsets are exactly 0..end, and values match what was acknowledged.
    const all = [...a.consumed, ...b.consumed, ...c.consumed];
    const byKey = new Map<string, string[]>();
    for (const [p, o, v] of all) byKey.set(`${p}:${o}`, [...(byKey.get(`${p}:${o}`) ?? []), v]);
    for (const [p, o, v] of acked) expect(byKey.get(`${p}:${o}`)?.[0], `record ${p}:${o}`).toBe(v);
    // Graceful hand-overs commit before revoking: no record was consumed twice.
    const twice = [...byKey].filter(([, values]) => values.length > 1);
    expect(twice).toEqual([]);
    // After the last rebalance settled, a and b consumed disjoint partitions.
    const after = (m: MemberProcess, from: number) => new Set(m.consumed.slice(from).map(([p]) => p));
    const aParts = after(a, settledAtCount.a);
    for (const p of after(b, settledAtCount.b)) expect(aParts.has(p)).toBe(false);
    // Per member and partition, offsets only go up.
    for (const m of [a, b, c]) {
      const last = new Map<number, number>();
      for (const [p, o] of m.consumed) {
        expect(o).toBeGreaterThan(last.get(p) ?? -1);
        last.set(p, o);
      }
    }
    await Promise.all([stopMember(a, "SIGTERM"), stopMember(b, "SIGTERM")]);
    expect(c.events.some((e) => e.e === "partitionsRevoked")).toBe(true);
  });

  it("moves a SIGKILLed member's partitions to the others within the session timeout", async () => {
    const x = startMember("x", "g-kills", "kills");
    const y = startMember("y", "g-kills", "kills");
    await waitFor(async () => (await settled("g-kills", 2)) && [...(await ownership("g-kills")).values()].every((p) => p.length === 3), {
      timeoutMs: 30_000,
      message: "two members with three partitions each",
    });
    await stopMember(y, "SIGKILL");
    // Session timeout, plus one heartbeat interval for the survivor to hear of it.
    await waitFor(() => settled("g-kills", 1), { timeoutMs: SESSION_TIMEOUT_MS + 3_000, message: "the survivor owning all six partitions" });
    await waitFor(() => ownedBy(x).join() === "0,1,2,3,4,5", {
      timeoutMs: 5_000,
      message: "the survivor told of all six partitions",
    });
    await stopMember(x, "SIGTERM");
  });

  it("gives every record to each of two groups (pub/sub), and shares it within a group (queue)", async () => {
    const client = env.client();
    const producer = client.producer({ keySerializer: serializers.string, valueSerializer: serializers.string });
    const acked = await producer.sendBatch(Array.from({ length: 600 }, (_, i) => ({ topic: "pubsub", key: `k${i}`, value: `v${i}` })));
    await producer.close();
    const readAll = async (groupId: string) => {
      const consumer = client.consumer({ groupId, keyDeserializer: serializers.string, valueDeserializer: serializers.string, autoOffsetReset: "earliest" });
      await consumer.subscribe(["pubsub"]);
      const values: string[] = [];
      await waitFor(async () => {
        for (const r of await consumer.poll(200)) values.push(r.value!);
        return values.length >= acked.length;
      }, { timeoutMs: 30_000, message: `group ${groupId} reading every record` });
      await consumer.close();
      return values;
    };
    const [first, second] = await Promise.all([readAll("pub-1"), readAll("pub-2")]);
    const expected = Array.from({ length: 600 }, (_, i) => `v${i}`).sort();
    expect([...first].sort()).toEqual(expected);
    expect([...second].sort()).toEqual(expected);
  });
});
