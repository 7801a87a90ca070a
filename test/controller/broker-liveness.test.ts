// Broker liveness against real controller processes: a test client registers as brokers 1..3
// and heartbeats; when broker 2 stops heartbeating, every partition it led gets a new leader
// from its ISR (leader epoch + 1, ISR without broker 2) once its session expires.
import { afterAll, describe, expect, it } from "vitest";
import { type ClusterSpec, ControllerClients, type ControllerProcess, clusterSpec, kill9, pollUntil, removeDirs, startControllerProcess } from "./support.js";

const SESSION_TIMEOUT_MS = 3_000;
const HEARTBEAT_INTERVAL_MS = 500;

type WireError = { code: string; message: string };

describe("broker liveness through the controller quorum", () => {
  let spec: ClusterSpec;
  let clients: ControllerClients;
  const running: ControllerProcess[] = [];
  const heartbeats = new Map<number, NodeJS.Timeout>();

  afterAll(async () => {
    for (const timer of heartbeats.values()) clearInterval(timer);
    clients?.close();
    for (const proc of running) await kill9(proc);
    if (spec) removeDirs(spec);
  });

  it("moves the leaderships of a broker that stops heartbeating to the rest of the ISR", async () => {
    spec = await clusterSpec(3, { "broker.session.timeout.ms": String(SESSION_TIMEOUT_MS) });
    running.push(...(await Promise.all(spec.nodeIds.map((id) => startControllerProcess(spec, id)))));
    clients = new ControllerClients(spec);
    await pollUntil("a controller leader", 20_000, () => clients.leader());

    const epochs = new Map<number, string>();
    for (const brokerId of [1, 2, 3]) {
      const reg = await clients.write<{ error: WireError; brokerEpoch: string }>("RegisterBroker", {
        brokerId, incarnationId: `test-broker-${brokerId}`, listeners: [{ host: "127.0.0.1", port: 9092 + brokerId }],
      }, (r) => r.error);
      epochs.set(brokerId, reg.brokerEpoch);
    }
    const beat = (brokerId: number): Promise<{ error: WireError; isFenced: boolean }> =>
      clients.write("BrokerHeartbeat", { brokerId, brokerEpoch: epochs.get(brokerId), currentMetadataOffset: "9007199254740991" }, (r: { error: WireError }) => r.error, 2_000);
    for (const brokerId of [1, 2, 3]) {
      await pollUntil(`broker ${brokerId} unfenced`, 10_000, async () => ((await beat(brokerId)).isFenced ? undefined : true));
      heartbeats.set(brokerId, setInterval(() => void beat(brokerId).catch(() => undefined), HEARTBEAT_INTERVAL_MS));
    }

    const created = await clients.write<{ topics: { error: WireError }[] }>("CreateTopics", {
      topics: [{ name: "replicated", numPartitions: 6, replicationFactor: 3 }],
    }, (r) => r.topics[0]?.error);
    expect(created.topics[0]!.error.code).toBe("NONE");
    const before = await clients.streamImage(1, (image) => image.topicsByName.get("replicated")?.partitions.size === 6);
    const ledBy2 = [...before.topicsByName.get("replicated")!.partitions.values()].filter((p) => p.leader === 2).map((p) => ({ ...p, isr: [...p.isr] }));
    expect(ledBy2.length).toBe(2);

    clearInterval(heartbeats.get(2));
    heartbeats.delete(2);
    const movedOff2 = (image: typeof before): boolean => image.brokers.get(2)?.fenced === true
      && ledBy2.every((old) => { const leader = image.partition("replicated", old.partition)?.leader; return leader !== undefined && leader !== 2; });
    const after = await clients.streamImage(1, movedOff2, SESSION_TIMEOUT_MS + 15_000);
    for (const old of ledBy2) {
      const now = after.partition("replicated", old.partition)!;
      expect(old.isr).toContain(now.leader);
      expect(now.leader).not.toBe(2);
      expect(now.isr).not.toContain(2);
      expect(now.leaderEpoch).toBe(old.leaderEpoch + 1);
    }
    // Broker 2's old epoch is refused from now on.
    const stale = await clients.write<{ error: WireError }>("BrokerHeartbeat", { brokerId: 2, brokerEpoch: String(Number(epochs.get(2)) - 1) }, (r) => r.error);
    expect(stale.error.code).toBe("STALE_BROKER_EPOCH");
  });
});
