import { NO_LEADER, type v1 } from "@tributary/protocol";
import { describe, expect, it } from "vitest";
import { ControllerHarness, request, testSettings } from "./testing/controller-harness.js";

const code = (error: { code?: unknown } | null | undefined): unknown => error?.code;

describe("topic creation", () => {
  it("refuses invalid names, counts and replication factors with Kafka's errors", () => {
    const h = new ControllerHarness();
    h.startBrokers([1, 2]);
    expect(code(h.createTopic("", 1, 1).error)).toBe("INVALID_TOPIC");
    expect(code(h.createTopic(".", 1, 1).error)).toBe("INVALID_TOPIC");
    expect(code(h.createTopic("..", 1, 1).error)).toBe("INVALID_TOPIC");
    expect(code(h.createTopic("bad/name", 1, 1).error)).toBe("INVALID_TOPIC");
    expect(code(h.createTopic("x".repeat(250), 1, 1).error)).toBe("INVALID_TOPIC");
    expect(code(h.createTopic("x".repeat(249), 1, 1).error)).toBe("NONE");
    expect(code(h.createTopic("zero", 0, 1).error)).toBe("INVALID_PARTITIONS");
    const tooWide = h.createTopic("wide", 1, 3);
    expect(code(tooWide.error)).toBe("INVALID_REPLICATION_FACTOR");
    expect(tooWide.error?.message).toMatch(/replication factor 3 .* 2 live/);
    expect(code(h.createTopic("cfg", 1, 1, { "retention.ms": "soon" }).error)).toBe("INVALID_CONFIG");
    expect(code(h.createTopic("cfg", 1, 1, { "no.such.key": "1" }).error)).toBe("INVALID_CONFIG");
    expect(code(h.createTopic("ok.topic_1-a", 2, 2).error)).toBe("NONE");
    expect(code(h.createTopic("ok.topic_1-a", 2, 2).error)).toBe("TOPIC_ALREADY_EXISTS");
    expect([...h.committed.topicsByName.keys()].sort()).toEqual(["ok.topic_1-a", "x".repeat(249)].sort());
  });

  it("fenced brokers do not count as live for the replication factor", () => {
    const h = new ControllerHarness();
    h.startBrokers([1, 2]);
    h.register(3); // registered, still fenced
    expect(h.createTopic("t", 1, 3).error?.message).toMatch(/3 is larger than the 2 live/);
  });

  it("uses the server defaults for -1 and keeps config overrides", () => {
    const h = new ControllerHarness(testSettings({ "num.partitions": "3", "default.replication.factor": "2" }));
    h.startBrokers([1, 2, 3]);
    const result = h.createTopic("orders", -1, -1, { "cleanup.policy": "compact" });
    expect(result).toMatchObject({ numPartitions: 3, replicationFactor: 2, topicId: "topic-id-1" });
    const topic = h.committed.topicsByName.get("orders")!;
    expect(topic.configs.get("cleanup.policy")).toBe("compact");
    for (const p of topic.partitions.values()) {
      expect(p.isr).toEqual(p.replicas);
      expect(p.leader).toBe(p.replicas[0]);
      expect(p.leaderEpoch).toBe(0);
    }
  });

  it("spreads leaders and replicas evenly across brokers", () => {
    const h = new ControllerHarness();
    h.startBrokers([1, 2, 3]);
    h.createTopic("wide", 6, 3);
    for (let i = 0; i < 6; i++) h.createTopic(`single-${i}`, 1, 2);
    const leaders = new Map<number, number>();
    const replicas = new Map<number, number>();
    for (const p of h.committed.partitions()) {
      leaders.set(p.leader, (leaders.get(p.leader) ?? 0) + 1);
      for (const r of p.replicas) replicas.set(r, (replicas.get(r) ?? 0) + 1);
      expect(new Set(p.replicas).size).toBe(p.replicas.length);
    }
    expect([...leaders.values()]).toEqual([4, 4, 4]);
    expect([...replicas.values()]).toEqual([10, 10, 10]);
  });

  it("validate_only checks everything and writes nothing", () => {
    const h = new ControllerHarness();
    h.startBrokers([1]);
    const write = h.controller.createTopics(request("CreateTopicsRequest", { topics: [{ name: "t", numPartitions: 2, replicationFactor: 1 }], validateOnly: true }), h.nowMs);
    expect(write.records).toEqual([]);
    expect(write.response.topics![0]).toMatchObject({ numPartitions: 2, error: { code: "NONE" } });
  });

  it("accepts explicit assignments and refuses bad ones", () => {
    const h = new ControllerHarness();
    h.startBrokers([1, 2, 3]);
    const create = (assignments: { partition: number; brokerIds: number[] }[]): unknown =>
      code(h.commit(h.controller.createTopics(request("CreateTopicsRequest", {
        topics: [{ name: `a${assignments.length}-${assignments[0]?.brokerIds.join("")}`, numPartitions: -1, replicationFactor: -1, assignments }],
      }), h.nowMs)).topics![0]!.error);
    expect(create([{ partition: 0, brokerIds: [3, 1] }, { partition: 1, brokerIds: [2, 3] }])).toBe("NONE");
    expect(h.committed.partition("a2-31", 0)).toMatchObject({ replicas: [3, 1], leader: 3 });
    expect(create([{ partition: 0, brokerIds: [1, 1] }])).toBe("INVALID_REPLICA_ASSIGNMENT");
    expect(create([{ partition: 0, brokerIds: [9] }])).toBe("INVALID_REPLICA_ASSIGNMENT");
    expect(create([{ partition: 1, brokerIds: [1] }])).toBe("INVALID_REPLICA_ASSIGNMENT");
  });

  it("deletes topics and adds partitions", () => {
    const h = new ControllerHarness();
    h.startBrokers([1, 2]);
    h.createTopic("t", 2, 2);
    const grow = (count: number): unknown => code(h.commit(h.controller.createPartitions(request("CreatePartitionsRequest", { topics: [{ name: "t", count }] }), h.nowMs)).topics![0]!.error);
    expect(grow(2)).toBe("INVALID_PARTITIONS");
    expect(grow(5)).toBe("NONE");
    expect(h.committed.topicsByName.get("t")!.partitions.size).toBe(5);
    expect(h.committed.partition("t", 4)!.replicas).toHaveLength(2);
    const del = (names: string[]): v1.DeleteTopicResult[] => h.commit(h.controller.deleteTopics(request("DeleteTopicsRequest", { names }), h.nowMs)).topics!;
    expect(del(["t", "nope"]).map((r) => code(r.error))).toEqual(["NONE", "UNKNOWN_TOPIC_OR_PARTITION"]);
    expect(h.committed.topicsByName.has("t")).toBe(false);
  });

  it("alters topic configs only to valid values", () => {
    const h = new ControllerHarness();
    h.startBrokers([1]);
    h.createTopic("t", 1, 1, { "retention.ms": "1000" });
    const alter = (configs: object[], type = "topic", name = "t"): unknown =>
      code(h.commit(h.controller.alterConfigs(request("AlterConfigsRequest", { resources: [{ resource: { type, name }, configs }] }), h.nowMs)).results![0]!.error);
    expect(alter([{ name: "segment.bytes", operation: "set", value: "2048" }])).toBe("NONE");
    expect(alter([{ name: "retention.ms", operation: "delete" }])).toBe("NONE");
    expect(alter([{ name: "min.insync.replicas", operation: "set", value: "0" }])).toBe("INVALID_CONFIG");
    expect(alter([{ name: "x", operation: "set", value: "1" }], "topic", "missing")).toBe("UNKNOWN_TOPIC_OR_PARTITION");
    expect(alter([{ name: "num.partitions", operation: "set", value: "4" }], "broker", "")).toBe("NONE");
    expect(alter([{ name: "num.partitions", operation: "set", value: "-4" }], "broker", "")).toBe("INVALID_CONFIG");
    expect([...h.committed.topicsByName.get("t")!.configs]).toEqual([["segment.bytes", "2048"]]);
    expect(h.committed.brokerConfigs.get("")?.get("num.partitions")).toBe("4");
  });
});

describe("broker registration and heartbeats", () => {
  it("starts a broker fenced with a new epoch and unfences it once caught up", () => {
    const h = new ControllerHarness();
    const epoch = h.register(1);
    expect(h.committed.brokers.get(1)).toMatchObject({ fenced: true, brokerEpoch: epoch });
    const behind = h.heartbeat(1, epoch, { currentMetadataOffset: epoch - 1 });
    expect(behind).toMatchObject({ isCaughtUp: false, isFenced: true });
    const caughtUp = h.heartbeat(1, epoch, { currentMetadataOffset: epoch });
    expect(caughtUp).toMatchObject({ isCaughtUp: true, isFenced: false });
    expect(h.committed.brokers.get(1)!.fenced).toBe(false);
    h.advance(9_001); // a new process may take over once the old one's session has expired
    const again = h.register(1, "", "incarnation-restarted");
    expect(again).toBeGreaterThan(epoch);
    expect(code(h.heartbeat(1, epoch).error)).toBe("STALE_BROKER_EPOCH");
    expect(code(h.heartbeat(7, 1).error)).toBe("BROKER_ID_NOT_REGISTERED");
  });

  it("refuses a second live process with the same id, and another cluster's broker", () => {
    const h = new ControllerHarness();
    h.startBrokers([1]);
    const dup = h.commit(h.controller.registerBroker(request("RegisterBrokerRequest", { brokerId: 1, incarnationId: "other", listeners: [{ host: "127.0.0.1", port: 9093 }] }), h.nowMs));
    expect(code(dup.error)).toBe("DUPLICATE_BROKER_REGISTRATION");
    const foreign = h.commit(h.controller.registerBroker(request("RegisterBrokerRequest", { brokerId: 2, clusterId: "another" }), h.nowMs));
    expect(code(foreign.error)).toBe("INCONSISTENT_CLUSTER_ID");
    h.advance(10_000);
    const later = h.commit(h.controller.registerBroker(request("RegisterBrokerRequest", { brokerId: 1, incarnationId: "other", listeners: [{ host: "127.0.0.1", port: 9093 }] }), h.nowMs));
    expect(code(later.error)).toBe("NONE");
  });

  it("refuses a registration without a reachable endpoint (no listener, empty host, port outside 1..65535)", () => {
    const h = new ControllerHarness();
    const register = (brokerId: number, listeners: Array<{ host: string; port: number }>) =>
      h.commit(h.controller.registerBroker(request("RegisterBrokerRequest", { brokerId, incarnationId: `i-${brokerId}`, listeners }), h.nowMs));
    expect(code(register(1, []).error)).toBe("INVALID_REQUEST");
    expect(code(register(2, [{ host: "127.0.0.1", port: 70_000 }]).error)).toBe("INVALID_REQUEST");
    expect(code(register(3, [{ host: "127.0.0.1", port: 0 }]).error)).toBe("INVALID_REQUEST");
    expect(code(register(4, [{ host: "", port: 9092 }]).error)).toBe("INVALID_REQUEST");
    expect(code(register(5, [{ host: "127.0.0.1", port: 9092 }, { host: "127.0.0.1", port: -1 }]).error)).toBe("INVALID_REQUEST");
    expect([...h.committed.brokers.keys()]).toEqual([]);
    expect(code(register(6, [{ host: "127.0.0.1", port: 65_535 }]).error)).toBe("NONE");
  });

  it("a restarted broker gives up its leaderships and ISR places", () => {
    const h = new ControllerHarness();
    h.startBrokers([1, 2, 3]);
    h.createTopic("t", 3, 3);
    h.advance(9_001);
    h.register(1, "", "incarnation-restarted");
    for (const p of h.committed.partitions()) {
      expect(p.leader).not.toBe(1);
      expect(p.isr).not.toContain(1);
    }
  });
});

describe("session expiry (fake clock)", () => {
  it("fences a silent broker after broker.session.timeout.ms and moves its leaderships within the ISR", () => {
    const h = new ControllerHarness();
    const epochs = h.startBrokers([1, 2, 3]);
    h.createTopic("t", 6, 3);
    const before = new Map([...h.committed.partitions()].map((p) => [p.partition, { ...p, isr: [...p.isr] }]));
    const led = [...before.values()].filter((p) => p.leader === 2).map((p) => p.partition);
    expect(led.length).toBeGreaterThan(0);
    for (let elapsed = 0; elapsed <= 9_000; elapsed += 1_000) {
      h.advance(1_000);
      h.heartbeat(1, epochs.get(1)!);
      h.heartbeat(3, epochs.get(3)!);
      const { fencedBrokerIds } = h.tick();
      if (elapsed < 8_000) expect(fencedBrokerIds).toEqual([]);
    }
    expect(h.committed.brokers.get(2)!.fenced).toBe(true);
    for (const p of h.committed.partitions()) {
      const old = before.get(p.partition)!;
      expect(p.isr).toEqual(old.isr.filter((id) => id !== 2));
      expect(p.leader).not.toBe(2);
      if (led.includes(p.partition)) {
        expect(old.isr).toContain(p.leader);
        expect(p.leaderEpoch).toBe(old.leaderEpoch + 1);
      } else {
        expect(p.leaderEpoch).toBe(old.leaderEpoch);
      }
      expect(p.partitionEpoch).toBe(old.partitionEpoch + 1);
    }
  });

  it("leaves a partition leaderless when its last ISR member is fenced, unless unclean election is allowed", () => {
    const h = new ControllerHarness();
    const epochs = h.startBrokers([1, 2]);
    h.commit(h.controller.createTopics(request("CreateTopicsRequest", { topics: [
      { name: "clean", numPartitions: -1, replicationFactor: -1, assignments: [{ partition: 0, brokerIds: [1, 2] }] },
      { name: "unclean", numPartitions: -1, replicationFactor: -1, assignments: [{ partition: 0, brokerIds: [1, 2] }], configs: { "unclean.leader.election.enable": "true" } },
    ] }), h.nowMs));
    // The leader drops broker 2 from both ISRs (it fell behind).
    for (const topic of ["clean", "unclean"]) {
      const res = h.commit(h.controller.alterPartition(request("AlterPartitionRequest", {
        brokerId: 1, brokerEpoch: String(epochs.get(1)), partitions: [{ topic, partition: 0, leaderEpoch: 0, partitionEpoch: 0, newIsr: [1] }],
      }), h.nowMs));
      expect(code(res.partitions![0]!.error)).toBe("NONE");
    }
    h.advance(9_500);
    h.heartbeat(2, epochs.get(2)!);
    expect(h.tick().fencedBrokerIds).toEqual([1]);
    expect(h.committed.partition("clean", 0)).toMatchObject({ leader: NO_LEADER, isr: [1] });
    expect(h.committed.partition("unclean", 0)).toMatchObject({ leader: 2, isr: [2] });
    // Broker 1 comes back (re-registers), catches up, and leads its partition again.
    const epoch1 = h.register(1, "", "incarnation-restarted");
    h.heartbeat(1, epoch1);
    expect(h.committed.partition("clean", 0)).toMatchObject({ leader: 1, isr: [1] });
  });

  it("gives every broker a fresh session after a controller failover", () => {
    const h = new ControllerHarness();
    h.startBrokers([1, 2]);
    h.advance(8_000);
    h.failover();
    h.advance(8_000);
    expect(h.tick().fencedBrokerIds).toEqual([]);
    h.advance(1_500);
    expect(h.tick().fencedBrokerIds.sort()).toEqual([1, 2]);
  });
});

describe("connection loss (fake clock)", () => {
  // Heartbeats every 250 ms: the grace is two of them (500 ms); sessions last 9 s.
  const settings = (): ReturnType<typeof testSettings> => testSettings({ "broker.heartbeat.interval.ms": "250" });
  const openStreams = (h: ControllerHarness, ids: readonly number[]): void => {
    for (const id of ids) h.controller.brokerStreamOpened(id, h.nowMs);
  };

  it("fences a broker whose stream ended and stayed silent for the grace, long before its session expires", () => {
    const h = new ControllerHarness(settings());
    expect(h.settings.brokerConnectionGraceMs).toBe(500);
    const epochs = h.startBrokers([1, 2, 3]);
    openStreams(h, [1, 2, 3]);
    h.createTopic("t", 6, 3);
    const before = new Map([...h.committed.partitions()].map((p) => [p.partition, { ...p, isr: [...p.isr] }]));
    expect([...before.values()].some((p) => p.leader === 2)).toBe(true);
    h.controller.brokerStreamClosed(2, h.nowMs);
    expect(h.controller.nextConnectionDeadlineMs(h.nowMs)).toBe(h.nowMs + 500);
    for (let elapsed = 0; elapsed < 500; elapsed += 100) {
      expect(h.tick().connectionLostBrokerIds).toEqual([]);
      h.advance(100);
      h.heartbeat(1, epochs.get(1)!);
      h.heartbeat(3, epochs.get(3)!);
    }
    expect(h.tick()).toMatchObject({ connectionLostBrokerIds: [2], fencedBrokerIds: [] });
    expect(h.committed.brokers.get(2)!.fenced).toBe(true);
    for (const p of h.committed.partitions()) {
      const old = before.get(p.partition)!;
      expect(p.isr).toEqual(old.isr.filter((id) => id !== 2));
      expect(p.leader).not.toBe(2);
      expect(old.isr).toContain(p.leader);
      expect(h.committed.partition("t", p.partition)!.leaderEpoch).toBe(old.leader === 2 ? old.leaderEpoch + 1 : old.leaderEpoch);
    }
    // Fenced once: later ticks change nothing more.
    h.advance(1_000);
    expect(h.tick().connectionLostBrokerIds).toEqual([]);
  });

  it("does not fence a broker whose stream ended while its heartbeats go on", () => {
    const h = new ControllerHarness(settings());
    const epochs = h.startBrokers([1, 2, 3]);
    openStreams(h, [1, 2, 3]);
    h.createTopic("t", 3, 3);
    h.controller.brokerStreamClosed(2, h.nowMs);
    // Well past the grace, short of the session timeout, and then long after: heartbeats keep it in.
    for (let elapsed = 0; elapsed < 20_000; elapsed += 250) {
      h.advance(250);
      for (const id of [1, 2, 3]) h.heartbeat(id, epochs.get(id)!);
      expect(h.tick()).toMatchObject({ connectionLostBrokerIds: [], fencedBrokerIds: [] });
    }
    expect(h.committed.brokers.get(2)!.fenced).toBe(false);
    expect([...h.committed.partitions()].every((p) => p.isr.includes(2))).toBe(true);
  });

  it("does not fence a broker that reconnects within the grace, or whose other stream is still open", () => {
    const h = new ControllerHarness(settings());
    h.startBrokers([1, 2, 3]);
    openStreams(h, [1, 2, 3]);
    // A blip: the stream ends and a new one opens 300 ms later.
    h.controller.brokerStreamClosed(2, h.nowMs);
    h.advance(300);
    h.controller.brokerStreamOpened(2, h.nowMs);
    // A reconnect that overlaps: the new stream opens before the old one is seen to end.
    h.controller.brokerStreamOpened(3, h.nowMs);
    h.controller.brokerStreamClosed(3, h.nowMs);
    h.advance(1_000);
    expect(h.tick().connectionLostBrokerIds).toEqual([]);
    expect(h.controller.nextConnectionDeadlineMs(h.nowMs)).toBeUndefined();
    expect([1, 2, 3].map((id) => h.committed.brokers.get(id)!.fenced)).toEqual([false, false, false]);
  });

  it("leaves it to session expiry when more connections are lost than remain", () => {
    const h = new ControllerHarness(settings());
    h.startBrokers([1, 2, 3]);
    openStreams(h, [1, 2, 3]);
    // This controller's own network failing looks like every broker leaving at once.
    for (const id of [1, 2, 3]) h.controller.brokerStreamClosed(id, h.nowMs);
    h.advance(1_000);
    expect(h.tick()).toMatchObject({ connectionLostBrokerIds: [], fencedBrokerIds: [] });
    h.advance(8_100);
    expect(h.tick().fencedBrokerIds.sort()).toEqual([1, 2, 3]);
  });

  it("after a failover counts only streams open to the new controller, and only ends it sees", () => {
    const h = new ControllerHarness(settings());
    const epochs = h.startBrokers([1, 2, 3]);
    openStreams(h, [1, 2, 3]);
    // Broker 3's stream ended on the old controller; the new one starts with streams from 1 and 2.
    h.controller.brokerStreamClosed(3, h.nowMs);
    h.failover([1, 2]);
    h.advance(2_000);
    for (const id of [1, 2]) h.heartbeat(id, epochs.get(id)!);
    expect(h.tick()).toMatchObject({ connectionLostBrokerIds: [], fencedBrokerIds: [] });
    // An end the new controller sees is acted on.
    h.controller.brokerStreamClosed(1, h.nowMs);
    h.advance(500);
    h.heartbeat(2, epochs.get(2)!);
    h.heartbeat(3, epochs.get(3)!);
    expect(h.tick().connectionLostBrokerIds).toEqual([1]);
  });

  it("counts every stream open at a failover: a broker mid-reconnect is lost only when both have ended", () => {
    const h = new ControllerHarness(settings());
    const epochs = h.startBrokers([1, 2, 3]);
    h.failover([1, 2, 2, 3]);
    h.controller.brokerStreamClosed(2, h.nowMs);
    h.advance(600);
    for (const id of [1, 3]) h.heartbeat(id, epochs.get(id)!);
    expect(h.tick().connectionLostBrokerIds).toEqual([]);
    h.controller.brokerStreamClosed(2, h.nowMs);
    h.advance(500);
    expect(h.tick().connectionLostBrokerIds).toEqual([2]);
  });

  it("a fenced broker that registers again starts clean", () => {
    const h = new ControllerHarness(settings());
    h.startBrokers([1, 2, 3]);
    openStreams(h, [1, 2, 3]);
    h.controller.brokerStreamClosed(2, h.nowMs);
    h.advance(500);
    expect(h.tick().connectionLostBrokerIds).toEqual([2]);
    const epoch = h.register(2, "", "incarnation-restarted");
    h.heartbeat(2, epoch);
    expect(h.committed.brokers.get(2)!.fenced).toBe(false);
    h.advance(1_000);
    h.heartbeat(2, epoch);
    expect(h.tick().connectionLostBrokerIds).toEqual([]);
    expect(h.committed.brokers.get(2)!.fenced).toBe(false);
  });
});

describe("AlterPartition", () => {
  function setup(): { h: ControllerHarness; epochs: Map<number, number>; alter: (item: object, brokerId?: number, epoch?: number) => v1.AlterPartitionItemResult } {
    const h = new ControllerHarness();
    const epochs = h.startBrokers([1, 2, 3]);
    h.commit(h.controller.createTopics(request("CreateTopicsRequest", { topics: [
      { name: "t", numPartitions: -1, replicationFactor: -1, assignments: [{ partition: 0, brokerIds: [1, 2, 3] }] },
    ] }), h.nowMs));
    const alter = (item: object, brokerId = 1, epoch = epochs.get(brokerId)!): v1.AlterPartitionItemResult => {
      const response = h.commit(h.controller.alterPartition(request("AlterPartitionRequest", {
        brokerId, brokerEpoch: String(epoch), partitions: [{ topic: "t", partition: 0, leaderEpoch: 0, partitionEpoch: 0, ...item }],
      }), h.nowMs));
      return response.partitions![0] ?? { error: response.error };
    };
    return { h, epochs, alter };
  }

  it("accepts a change against the current partition epoch only", () => {
    const { h, alter } = setup();
    expect(alter({ newIsr: [1, 2] })).toMatchObject({ error: { code: "NONE" }, isr: [1, 2], partitionEpoch: 1, leaderEpoch: 0, leader: 1 });
    expect(code(alter({ newIsr: [1] }).error)).toBe("INVALID_UPDATE_VERSION");
    expect(alter({ newIsr: [1, 2, 3], partitionEpoch: 1 })).toMatchObject({ isr: [1, 2, 3], partitionEpoch: 2 });
    expect(h.committed.partition("t", 0)).toMatchObject({ isr: [1, 2, 3], partitionEpoch: 2, leaderEpoch: 0 });
  });

  it("refuses old leader epochs, non-leaders, stale broker epochs and ineligible members", () => {
    const { h, epochs, alter } = setup();
    h.commit(h.controller.electLeaders(request("ElectLeadersRequest", { electionType: "preferred" }), h.nowMs)); // no-op: 1 leads
    expect(code(alter({ newIsr: [1, 2], leaderEpoch: -1 }).error)).toBe("FENCED_LEADER_EPOCH");
    expect(code(alter({ newIsr: [2, 3] }, 2).error)).toBe("NOT_LEADER_OR_FOLLOWER");
    expect(code(alter({ newIsr: [1] }, 1, epochs.get(1)! - 1).error)).toBe("STALE_BROKER_EPOCH");
    expect(code(alter({ newIsr: [1, 4] }).error)).toBe("INELIGIBLE_REPLICA");
    h.heartbeat(3, epochs.get(3)!, { wantFence: true });
    const afterFence = h.committed.partition("t", 0)!;
    expect(code(alter({ newIsr: [1, 2, 3], partitionEpoch: afterFence.partitionEpoch }).error)).toBe("INELIGIBLE_REPLICA");
  });
});

describe("leader balancing and controlled shutdown", () => {
  it("moves leadership back to the preferred replica once it is in the ISR", () => {
    const h = new ControllerHarness();
    const epochs = h.startBrokers([1, 2]);
    h.commit(h.controller.createTopics(request("CreateTopicsRequest", { topics: [
      { name: "t", numPartitions: -1, replicationFactor: -1, assignments: [{ partition: 0, brokerIds: [1, 2] }] },
    ] }), h.nowMs));
    h.heartbeat(1, epochs.get(1)!, { wantFence: true });
    expect(h.committed.partition("t", 0)).toMatchObject({ leader: 2, isr: [2] });
    const epoch1 = h.register(1, "", "incarnation-2");
    h.heartbeat(1, epoch1);
    h.advance(31_000);
    h.heartbeat(1, epoch1);
    h.heartbeat(2, epochs.get(2)!);
    expect(h.tick().preferredLeaderMoves).toBe(0); // not in the ISR yet
    const p = { ...h.committed.partition("t", 0)! };
    h.commit(h.controller.alterPartition(request("AlterPartitionRequest", {
      brokerId: 2, brokerEpoch: String(epochs.get(2)), partitions: [{ topic: "t", partition: 0, leaderEpoch: p.leaderEpoch, partitionEpoch: p.partitionEpoch, newIsr: [2, 1] }],
    }), h.nowMs));
    h.advance(31_000);
    h.heartbeat(1, epoch1);
    h.heartbeat(2, epochs.get(2)!);
    expect(h.tick().preferredLeaderMoves).toBe(1);
    expect(h.committed.partition("t", 0)).toMatchObject({ leader: 1, leaderEpoch: p.leaderEpoch + 1 });
  });

  it("moves leadership off a broker shutting down, then lets it stop", () => {
    const h = new ControllerHarness();
    const epochs = h.startBrokers([1, 2, 3]);
    h.createTopic("t", 6, 2);
    const response = h.heartbeat(1, epochs.get(1)!, { wantShutdown: true });
    expect(response.shouldShutDown).toBe(true);
    for (const p of h.committed.partitions()) {
      expect(p.leader).not.toBe(1);
      expect(p.leader).not.toBe(NO_LEADER);
    }
    expect(h.committed.brokers.get(1)).toMatchObject({ fenced: true, inControlledShutdown: true });
  });

  it("elects preferred leaders on request and reports when none is needed", () => {
    const h = new ControllerHarness();
    h.startBrokers([1, 2]);
    h.createTopic("t", 1, 2);
    const res = h.commit(h.controller.electLeaders(request("ElectLeadersRequest", { electionType: "preferred", partitions: [{ topic: "t", partition: 0 }, { topic: "t", partition: 9 }] }), h.nowMs));
    expect(res.results!.map((r) => code(r.error))).toEqual(["ELECTION_NOT_NEEDED", "UNKNOWN_TOPIC_OR_PARTITION"]);
  });
});

describe("producer ids", () => {
  it("hands out disjoint blocks that survive a failover", () => {
    const h = new ControllerHarness();
    const epochs = h.startBrokers([1]);
    const ask = (): v1.AllocateProducerIdsResponse => h.commit(h.controller.allocateProducerIds(request("AllocateProducerIdsRequest", { brokerId: 1, brokerEpoch: String(epochs.get(1)) }), h.nowMs));
    expect(ask()).toMatchObject({ producerIdStart: "0", producerIdLen: 1000 });
    h.failover();
    expect(ask()).toMatchObject({ producerIdStart: "1000" });
  });
});
