import { describe, expect, it } from "vitest";
import { formatClusterDescription } from "./cluster.js";
import { formatGroupDescription, lagOf } from "./groups.js";
import { formatLogLine, LineSplitter } from "./log-line.js";
import { formatPerfSummary, formatProgressBar, LatencyStats } from "./perf.js";
import { formatTopicDescription, formatTopicList, topicToJson } from "./topics.js";

describe("topics describe", () => {
  it("prints Kafka's shape, as the seed's Lab 2 shows it", () => {
    const lines = formatTopicDescription({
      name: "my-failsafe-topic",
      partitions: [{ partition: 0, leader: 0, replicas: [0, 2, 1], isr: [2, 0, 1] }],
      configs: {},
    });
    expect(lines).toEqual([
      "Topic: my-failsafe-topic PartitionCount: 1 ReplicationFactor: 3 Configs:",
      "Topic: my-failsafe-topic Partition: 0 Leader: 0 Replicas: 0,2,1 Isr: 0,1,2",
    ]);
  });

  it("lists set configs sorted, partitions in order, and 'none' for a missing leader", () => {
    const lines = formatTopicDescription({
      name: "t",
      partitions: [
        { partition: 1, leader: -1, replicas: [1], isr: [] },
        { partition: 0, leader: 2, replicas: [2], isr: [2] },
      ],
      configs: { "retention.ms": "1000", "cleanup.policy": "compact" },
    });
    expect(lines).toEqual([
      "Topic: t PartitionCount: 2 ReplicationFactor: 1 Configs: cleanup.policy=compact,retention.ms=1000",
      "Topic: t Partition: 0 Leader: 2 Replicas: 2 Isr: 2",
      "Topic: t Partition: 1 Leader: none Replicas: 1 Isr: ",
    ]);
  });

  it("gives scripts plain JSON and lists names sorted", () => {
    expect(topicToJson({ name: "t", partitions: [{ partition: 0, leader: 1, replicas: [1, 2], isr: [1] }], configs: {} })).toEqual({
      name: "t", partitionCount: 1, replicationFactor: 2, configs: {},
      partitions: [{ partition: 0, leader: 1, replicas: [1, 2], isr: [1] }],
    });
    expect(formatTopicList(["b", "__consumer_offsets", "a"])).toEqual(["__consumer_offsets", "a", "b"]);
  });
});

describe("groups describe", () => {
  it("prints offsets, log end and lag per partition, then members", () => {
    const lines = formatGroupDescription({
      groupId: "g", state: "Stable", coordinator: 1,
      members: [{ memberId: "m-1", clientId: "c", host: "/127.0.0.1", assignments: [{ topic: "t", partitions: [0, 1] }] }],
      partitions: [
        { topic: "t", partition: 1, committedOffset: null, logEndOffset: 4n, memberId: "m-1" },
        { topic: "t", partition: 0, committedOffset: 3n, logEndOffset: 10n, memberId: "m-1", clientId: "c", host: "/127.0.0.1" },
      ],
    });
    expect(lines[0]).toBe("Group: g State: Stable Coordinator: 1 Members: 1");
    expect(lines[2]).toMatch(/^GROUP\s+TOPIC\s+PARTITION\s+CURRENT-OFFSET\s+LOG-END-OFFSET\s+LAG\s+CONSUMER-ID/);
    expect(lines[3]?.split(/\s+/)).toEqual(["g", "t", "0", "3", "10", "7", "m-1", "/127.0.0.1", "c"]);
    expect(lines[4]?.split(/\s+/).slice(0, 6)).toEqual(["g", "t", "1", "-", "4", "-"]);
    expect(lines.at(-1)).toMatch(/^m-1\s+\/127\.0\.0\.1\s+c\s+t\(0,1\)$/);
  });

  it("never reports a negative lag", () => {
    expect(lagOf({ topic: "t", partition: 0, committedOffset: 12n, logEndOffset: 10n })).toBe(0n);
  });
});

describe("cluster describe", () => {
  it("names the leader controller and its term, and live or fenced brokers", () => {
    const lines = formatClusterDescription({
      clusterId: "abc", controllerId: 2,
      controllers: [
        { nodeId: 2, host: "c2", port: 9191, isLeader: true, term: 5, reachable: true },
        { nodeId: 1, host: "c1", port: 9191, isLeader: false, term: 5, reachable: true },
        { nodeId: 3, host: "c3", port: 9191, isLeader: false, term: -1, reachable: false },
      ],
      brokers: [{ nodeId: 0, host: "localhost", port: 9092, rack: "", fenced: false }, { nodeId: 1, host: "localhost", port: 9093, rack: "r1", fenced: true }],
    });
    expect(lines[0]).toBe("Cluster: abc ActiveController: 2");
    expect(lines.slice(2, 6).map((l) => l.split(/\s+/))).toEqual([
      ["CONTROLLER", "ADDRESS", "ROLE", "TERM"], ["1", "c1:9191", "follower", "5"], ["2", "c2:9191", "leader", "5"], ["3", "c3:9191", "unreachable", "-"],
    ]);
    expect(lines.slice(7).map((l) => l.split(/\s+/))).toEqual([
      ["BROKER", "ADDRESS", "RACK", "STATE"], ["0", "localhost:9092", "-", "live"], ["1", "localhost:9093", "r1", "fenced"],
    ]);
  });
});

describe("perf", () => {
  it("reports Kafka's summary with percentiles", () => {
    const stats = new LatencyStats(1000);
    for (let i = 1; i <= 1000; i++) stats.record(i);
    const latency = stats.summary();
    expect(latency).toMatchObject({ maxMs: 1000, p50Ms: 501, p95Ms: 951, p99Ms: 991, p999Ms: 1000 });
    expect(latency.avgMs).toBeCloseTo(500.5);
    expect(formatPerfSummary({ records: 1000, bytes: 1000 * 1048.576, elapsedMs: 500, latency }, "sent")).toBe(
      "1000 records sent, 2000.0 records/sec (2.00 MB/sec), 500.50 ms avg latency, 1000.00 ms max latency, " +
        "501 ms 50th, 951 ms 95th, 991 ms 99th, 1000 ms 99.9th.");
  });

  it("samples latencies past its bound but keeps exact count, mean and max", () => {
    const stats = new LatencyStats(2_000_000);
    for (let i = 0; i < 2_000_000; i++) stats.record(i % 100);
    stats.record(5000);
    const latency = stats.summary();
    expect(stats.count).toBe(2_000_001);
    expect(latency.maxMs).toBe(5000);
    expect(latency.p50Ms).toBeGreaterThanOrEqual(48);
    expect(latency.p50Ms).toBeLessThanOrEqual(52);
  });

  it("draws a progress bar", () => {
    expect(formatProgressBar(50, 100, 1000, 10)).toBe("[#####-----]  50% 50/100 records, 50 records/sec");
    expect(formatProgressBar(100, 100, 0, 4)).toBe("[####] 100% 100/100 records, 0 records/sec");
  });
});

describe("dev log lines", () => {
  it("turns a pino line into one readable line", () => {
    const time = new Date(2026, 0, 1, 12, 0, 1, 234).getTime();
    const line = JSON.stringify({ level: 30, time, pid: 1, hostname: "h", msg: "listening", port: 9092, topic: "my topic" });
    expect(formatLogLine(line, "broker 0")).toBe('12:00:01.234 INFO  broker 0     listening port=9092 topic="my topic"');
  });

  it("hides debug below the level, keeps non-JSON lines, drops blank ones", () => {
    expect(formatLogLine(JSON.stringify({ level: 20, msg: "noise" }), "b")).toBeNull();
    expect(formatLogLine(JSON.stringify({ level: 20, msg: "noise" }), "b", 20)).toContain("DEBUG");
    expect(formatLogLine("Error: boom", "b")).toBe("b            Error: boom");
    expect(formatLogLine("  ", "b")).toBeNull();
    expect(formatLogLine(JSON.stringify({ level: 50, msg: "failed", err: { type: "Error", message: "disk full" } }), "b")).toContain('err="disk full"');
  });

  it("splits chunks into whole lines", () => {
    const splitter = new LineSplitter();
    expect(splitter.push("a\nb")).toEqual(["a"]);
    expect(splitter.push("c\n\nd")).toEqual(["bc", ""]);
    expect(splitter.flush()).toEqual(["d"]);
  });
});
