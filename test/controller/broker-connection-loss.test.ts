// A killed broker is fenced when its connection to the active controller closes, not when its
// session expires: 3 controllers and 3 real brokers with 20 s sessions; the active controller is
// killed first (brokers must move their metadata streams to the new one, and none may be fenced
// by the failover), then the broker leading a partition is killed -9. The new active controller
// must fence it and move its leaderships to the rest of the ISR within a deadline well short of
// the session timeout, so a pass cannot come from session expiry.
import { afterAll, describe, expect, it } from "vitest";
import { type Cluster, startCluster } from "../support/cluster.js";
import { type ClusterSpec, ControllerClients, pollUntil, protocol } from "./support.js";

const SESSION_TIMEOUT_MS = 20_000;
const HEARTBEAT_INTERVAL_MS = 250;
/** Generous for a loaded 2-core machine, yet far below the session timeout. */
const FENCE_DEADLINE_MS = 12_000;

type Image = InstanceType<typeof protocol.MetadataImage>;
type WireError = { code: string; message: string };

/** The JSON log lines of a process (pino), parsed; other lines skipped. */
function logLines(lines: string[]): { msg?: string; brokerId?: number; brokerIds?: number[] }[] {
  const out = [];
  for (const line of lines) {
    if (!line.startsWith("{")) continue;
    try { out.push(JSON.parse(line) as { msg?: string; brokerId?: number; brokerIds?: number[] }); } catch { /* not JSON */ }
  }
  return out;
}

describe("fencing a broker whose connection to the active controller is lost", () => {
  let cluster: Cluster | undefined;
  let clients: ControllerClients | undefined;

  afterAll(async () => {
    clients?.close();
    await cluster?.stop();
  });

  it("fences a killed partition leader and elects a new leader long before its session would expire, after a controller failover", async () => {
    const timing = { "broker.session.timeout.ms": String(SESSION_TIMEOUT_MS), "broker.heartbeat.interval.ms": String(HEARTBEAT_INTERVAL_MS) };
    cluster = await startCluster({ controllers: 3, brokers: 3, controllerOverrides: timing, brokerOverrides: timing });
    const spec: ClusterSpec = {
      nodeIds: cluster.controllers.map((c) => c.nodeId),
      ports: new Map(cluster.controllers.map((c) => [c.nodeId, c.port])),
      dataDirs: new Map(cluster.controllers.map((c) => [c.nodeId, c.dataDir])),
      overrides: {},
    };
    clients = new ControllerClients(spec);
    const unfenced = (image: Image, ids: readonly number[]): boolean => ids.every((id) => image.brokers.get(id)?.fenced === false);
    const firstLeader = await pollUntil("a controller leader", 20_000, () => clients!.leader());
    await clients.streamImage(firstLeader, (image) => unfenced(image, [1, 2, 3]), 30_000);

    const created = await clients.write<{ topics: { error: WireError }[] }>("CreateTopics", {
      topics: [{ name: "replicated", numPartitions: 3, replicationFactor: 3 }],
    }, (r) => r.topics[0]?.error);
    expect(created.topics[0]!.error.code).toBe("NONE");

    // The active controller dies; the brokers find the new one and move their streams to it.
    await cluster.kill(firstLeader, "SIGKILL");
    const survivors = spec.nodeIds.filter((id) => id !== firstLeader);
    // Until they notice, the survivors still name the dead one.
    const leader = await pollUntil("a new controller leader", 20_000, async () => {
      const known = await clients!.leader(survivors);
      return known !== undefined && survivors.includes(known) ? known : undefined;
    });
    const newActive = cluster.node(leader);
    await pollUntil("every broker's metadata stream on the new active controller", 20_000, () => {
      const opened = new Set(logLines(newActive.output()).filter((l) => l.msg === "broker metadata stream opened").map((l) => l.brokerId));
      return [1, 2, 3].every((id) => opened.has(id)) ? true : undefined;
    });
    const before = await clients.streamImage(leader, (image) => image.topicsByName.get("replicated")?.partitions.size === 3);
    expect(unfenced(before, [1, 2, 3])).toBe(true); // the failover fenced nobody

    const victim = before.partition("replicated", 0)!.leader;
    const led = [...before.topicsByName.get("replicated")!.partitions.values()].filter((p) => p.leader === victim).map((p) => ({ ...p, isr: [...p.isr] }));
    const others = [1, 2, 3].filter((id) => id !== victim);
    await cluster.kill(victim, "SIGKILL");

    const movedOff = (image: Image): boolean => image.brokers.get(victim)?.fenced === true
      && led.every((old) => { const now = image.partition("replicated", old.partition)?.leader; return now !== undefined && now !== victim; });
    const after = await clients.streamImage(leader, movedOff, FENCE_DEADLINE_MS);
    for (const old of led) {
      const now = after.partition("replicated", old.partition)!;
      expect(old.isr).toContain(now.leader);
      expect(now.isr).not.toContain(victim);
      expect(now.leaderEpoch).toBe(old.leaderEpoch + 1);
    }
    expect(unfenced(after, others)).toBe(true);
    // It was the lost connection, not an expired session, that fenced it.
    const fencing = logLines(newActive.output()).filter((l) => Array.isArray(l.brokerIds) && l.brokerIds.includes(victim));
    expect(fencing.map((l) => l.msg)).toContain("broker connections lost; fencing");
    expect(fencing.map((l) => l.msg)).not.toContain("broker sessions expired; fencing");
  });
});
