// The coordinator against an in-memory __consumer_offsets: the fake below really stores the
// appended batches (assigning offsets like a leader would) and serves them back by offset, with
// a high watermark a test can hold back, so loading and failover replay real bytes.
import { TributaryError, type v1 } from "@tributary/protocol";
import { decodeBatch, encodeBatch, iterateBatches, setBaseOffset } from "@tributary/records";
import { describe, expect, it } from "vitest";
import { GroupCoordinator } from "./coordinator.js";
import { offsetsPartitionFor } from "./group-partition.js";
import { type CoordinatorSettings, DEFAULT_COORDINATOR_SETTINGS } from "./settings.js";
import type { CommittedRead, CoordinatorPartitionAccess, LeadershipChange, PartitionLeader } from "./types.js";

const OFFSETS_PARTITIONS = 4;

class MemoryOffsetsTopic implements CoordinatorPartitionAccess {
  readonly batches = new Map<number, Buffer[]>();
  readonly logEnd = new Map<number, number>();
  /** How far the high watermark trails the log end, per partition. */
  readonly hwLag = new Map<number, number>();
  readonly leaders = new Map<number, PartitionLeader>();
  readonly listeners = new Set<(change: LeadershipChange) => void>();
  appendCount = 0;
  failAppends: TributaryError | undefined;
  /** Reads that fail before reads succeed again. */
  failingReads = 0;
  /** While set, reads wait for it (a slow load). */
  readGate: Promise<void> | undefined;
  ensured = 0;

  async appendCommitted(partition: number, batch: Buffer): Promise<{ baseOffset: number }> {
    await Promise.resolve();
    if (this.failAppends) throw this.failAppends;
    const copy = Buffer.from(batch);
    const baseOffset = this.logEnd.get(partition) ?? 0;
    setBaseOffset(copy, 0, baseOffset);
    const list = this.batches.get(partition) ?? [];
    list.push(copy);
    this.batches.set(partition, list);
    this.logEnd.set(partition, baseOffset + decodeBatch(copy).header.lastOffsetDelta + 1);
    this.appendCount++;
    return { baseOffset };
  }

  highWatermark(partition: number): number {
    return Math.max(0, (this.logEnd.get(partition) ?? 0) - (this.hwLag.get(partition) ?? 0));
  }

  async readCommitted(partition: number, fromOffset: number, maxBytes: number): Promise<CommittedRead> {
    if (this.readGate) await this.readGate;
    if (this.failingReads > 0) {
      this.failingReads--;
      throw new TributaryError("KAFKA_STORAGE_ERROR", "read failed");
    }
    const highWatermark = this.highWatermark(partition);
    const out: Buffer[] = [];
    let bytes = 0;
    for (const batch of this.batches.get(partition) ?? []) {
      const { baseOffset, lastOffsetDelta } = decodeBatch(batch).header;
      if (baseOffset + lastOffsetDelta < fromOffset || baseOffset + lastOffsetDelta >= highWatermark) continue;
      if (out.length > 0 && bytes + batch.length > maxBytes) break;
      out.push(batch);
      bytes += batch.length;
    }
    return { records: Buffer.concat(out), highWatermark, logEndOffset: this.logEnd.get(partition) ?? 0 };
  }

  onLeadershipChange(listener: (change: LeadershipChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  leaderOf(partition: number): PartitionLeader | undefined {
    return this.leaders.get(partition);
  }

  async ensureOffsetsTopic(): Promise<void> {
    this.ensured++;
  }

  partitionCount(): number {
    return OFFSETS_PARTITIONS;
  }

  offsetsOf(): undefined {
    return undefined;
  }

  /** Every record of a partition, decoded, for assertions on what was written. */
  records(partition: number): { key: Buffer | null; value: Buffer | null }[] {
    return (this.batches.get(partition) ?? []).flatMap((b) => [...iterateBatches(b)].flatMap(({ pos }) => decodeBatch(b, pos).records));
  }
}

const GROUP = "orders-app";
const PARTITION = offsetsPartitionFor(GROUP, OFFSETS_PARTITIONS);

interface Node {
  coordinator: GroupCoordinator;
  advance(ms: number): void;
  now(): number;
}

function node(topic: MemoryOffsetsTopic, nodeId: number, topics: Record<string, number> = { orders: 4 }, settings: Partial<CoordinatorSettings> = {}): Node {
  let nowMs = 5_000_000;
  let ids = 0;
  const quiet = { info() {}, warn() {}, debug() {} };
  const coordinator = new GroupCoordinator({
    nodeId,
    access: topic,
    partitionsOf: (t) => topics[t],
    settings: { ...DEFAULT_COORDINATOR_SETTINGS, ...settings },
    clock: () => nowMs,
    newMemberId: () => `n${nodeId}-member-${++ids}`,
    logger: quiet,
    delay: () => new Promise((resolve) => setImmediate(resolve)),
    // (Load retries wait through the same delay: no real time passes in these tests.)
  });
  return { coordinator, advance: (ms) => (nowMs += ms), now: () => nowMs };
}

/** Makes `n` the leader of the group's partition and waits for its load to finish. */
async function lead(topic: MemoryOffsetsTopic, n: Node, nodeId: number, leaderEpoch = 1): Promise<void> {
  topic.leaders.set(PARTITION, { nodeId, host: "127.0.0.1", port: 9092 + nodeId, leaderEpoch });
  n.coordinator.handleLeadershipChange({ partition: PARTITION, isLeader: true, leaderEpoch });
  await until(() => n.coordinator.loadedPartitions().some((p) => p.partition === PARTITION && p.status === "active"));
}

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 10_000; i++) {
    if (condition()) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error("condition not reached");
}

function heartbeat(n: Node, fields: Partial<v1.ConsumerGroupHeartbeatRequest__Output>): Promise<v1.ConsumerGroupHeartbeatResponse> {
  return n.coordinator.heartbeat({
    groupId: GROUP,
    memberId: "",
    memberEpoch: 0,
    clientId: "test",
    clientHost: "/127.0.0.1",
    rebalanceTimeoutMs: 0,
    sessionTimeoutMs: 0,
    subscribedTopicNames: ["orders"],
    subscriptionChanged: false,
    serverAssignor: "",
    ownedPartitions: [],
    ownedPartitionsSent: false,
    instanceId: "",
    ...fields,
  });
}

function commit(n: Node, memberId: string, memberEpoch: number, partitions: { partition: number; offset: number; metadata?: string }[], topic = "orders") {
  return n.coordinator.commitOffsets({
    groupId: GROUP,
    memberId,
    memberEpoch,
    topics: [{ name: topic, partitions: partitions.map((p) => ({ partition: p.partition, committedOffset: String(p.offset), committedLeaderEpoch: 0, metadata: p.metadata ?? "" })) }],
  });
}

async function fetched(n: Node, partitions?: number[]): Promise<Record<number, string>> {
  const response = await n.coordinator.fetchOffsets({ groupId: GROUP, topics: partitions ? [{ topic: "orders", partitions }] : [], requireStable: false });
  expect(response.error?.code).toBe("NONE");
  return Object.fromEntries((response.topics ?? []).flatMap((t) => (t.partitions ?? []).map((p) => [p.partition!, String(p.committedOffset)])));
}

const partitionErrors = (response: v1.OffsetCommitResponse): string[] => (response.topics ?? []).flatMap((t) => (t.partitions ?? []).map((p) => String(p.error?.code)));

describe("group coordinator routing and loading", () => {
  it("finds the coordinator as the leader of the group's offsets partition, creating the topic first", async () => {
    const topic = new MemoryOffsetsTopic();
    const n = node(topic, 1);
    topic.leaders.set(PARTITION, { nodeId: 3, host: "127.0.0.1", port: 9095, leaderEpoch: 2 });
    const response = await n.coordinator.findCoordinator({ keyType: "group", keys: [GROUP, "", "other-group-without-leader"] });
    expect(topic.ensured).toBe(1);
    const [found, invalid, leaderless] = response.coordinators!;
    expect(found).toMatchObject({ key: GROUP, nodeId: 3, endpoint: { host: "127.0.0.1", port: 9095 }, error: { code: "NONE" } });
    expect(invalid!.error!.code).toBe("INVALID_GROUP_ID");
    expect(leaderless!.error!.code).toBe(offsetsPartitionFor("other-group-without-leader", OFFSETS_PARTITIONS) === PARTITION ? "NONE" : "COORDINATOR_NOT_AVAILABLE");
    const wrongType = await n.coordinator.findCoordinator({ keyType: "transaction", keys: ["t"] });
    expect(wrongType.coordinators![0]!.error!.code).toBe("INVALID_REQUEST");
  });

  it("answers NOT_COORDINATOR with the leader's address when it does not lead the group's partition", async () => {
    const topic = new MemoryOffsetsTopic();
    const n = node(topic, 1);
    topic.leaders.set(PARTITION, { nodeId: 2, host: "127.0.0.1", port: 9094, leaderEpoch: 7 });
    const response = await heartbeat(n, {});
    expect(response.error!.code).toBe("NOT_COORDINATOR");
    expect(response.coordinator).toMatchObject({ nodeId: 2, endpoint: { port: 9094 }, leaderEpoch: 7 });
    const offsets = await n.coordinator.fetchOffsets({ groupId: GROUP, topics: [], requireStable: false });
    expect(offsets.error!.code).toBe("NOT_COORDINATOR");
  });

  it("answers COORDINATOR_LOAD_IN_PROGRESS while loading, then serves the loaded offsets", async () => {
    const topic = new MemoryOffsetsTopic();
    const first = node(topic, 1);
    await lead(topic, first, 1);
    expect((await commit(first, "", -1, [{ partition: 0, offset: 42 }])).error!.code).toBe("NONE");
    first.coordinator.handleLeadershipChange({ partition: PARTITION, isLeader: false, leaderEpoch: 1 });

    let open!: () => void;
    topic.readGate = new Promise((resolve) => (open = resolve));
    const second = node(topic, 2);
    second.coordinator.handleLeadershipChange({ partition: PARTITION, isLeader: true, leaderEpoch: 2 });
    expect((await heartbeat(second, {})).error!.code).toBe("COORDINATOR_LOAD_IN_PROGRESS");
    topic.readGate = undefined;
    open();
    await until(() => second.coordinator.loadedPartitions()[0]?.status === "active");
    expect(await fetched(second, [0, 1])).toEqual({ 0: "42", 1: "-1" });
  });

  it("waits for the high watermark to reach the log end seen at load start, so acknowledged commits are not missed", async () => {
    const topic = new MemoryOffsetsTopic();
    const first = node(topic, 1);
    await lead(topic, first, 1);
    await commit(first, "", -1, [{ partition: 0, offset: 1 }]);
    await commit(first, "", -1, [{ partition: 0, offset: 2 }]);
    first.coordinator.close();
    // The new leader's high watermark trails until its followers fetch again.
    topic.hwLag.set(PARTITION, 1);
    const second = node(topic, 2);
    second.coordinator.handleLeadershipChange({ partition: PARTITION, isLeader: true, leaderEpoch: 2 });
    for (let i = 0; i < 50; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(second.coordinator.loadedPartitions()[0]!.status).toBe("loading");
    topic.hwLag.set(PARTITION, 0);
    await until(() => second.coordinator.loadedPartitions()[0]?.status === "active");
    expect(await fetched(second)).toEqual({ 0: "2" });
  });

  it("retries a load that failed to read, answering COORDINATOR_LOAD_IN_PROGRESS meanwhile", async () => {
    const topic = new MemoryOffsetsTopic();
    const first = node(topic, 1);
    await lead(topic, first, 1);
    await commit(first, "", -1, [{ partition: 3, offset: 33 }]);
    first.coordinator.close();
    topic.failingReads = 2;
    const second = node(topic, 2);
    second.coordinator.handleLeadershipChange({ partition: PARTITION, isLeader: true, leaderEpoch: 2 });
    expect((await heartbeat(second, {})).error!.code).toBe("COORDINATOR_LOAD_IN_PROGRESS");
    await until(() => second.coordinator.loadedPartitions()[0]?.status === "active");
    expect(topic.failingReads).toBe(0);
    expect(await fetched(second)).toEqual({ 3: "33" });
  });

  it("skips a record it cannot read and loads the rest", async () => {
    const topic = new MemoryOffsetsTopic();
    const first = node(topic, 1);
    await lead(topic, first, 1);
    await commit(first, "", -1, [{ partition: 0, offset: 5 }]);
    // A membership record with a damaged value (it passed the batch CRC, so it was written so).
    const key = Buffer.from("0001" + "00000003" + Buffer.from("bad").toString("hex"), "hex");
    await topic.appendCommitted(PARTITION, encodeBatch({ records: [{ key, value: Buffer.from([0, 0, 0xff]), timestampMs: 0 }] }));
    await commit(first, "", -1, [{ partition: 1, offset: 6 }]);
    first.coordinator.close();
    const second = node(topic, 2);
    await lead(topic, second, 2, 2);
    expect(await fetched(second)).toEqual({ 0: "5", 1: "6" });
  });

  it("drops its groups on resigning and refuses writes queued for the old term", async () => {
    const topic = new MemoryOffsetsTopic();
    const n = node(topic, 1);
    await lead(topic, n, 1);
    expect((await heartbeat(n, {})).error!.code).toBe("NONE");
    n.coordinator.handleLeadershipChange({ partition: PARTITION, isLeader: false, leaderEpoch: 1 });
    topic.leaders.set(PARTITION, { nodeId: 2, host: "127.0.0.1", port: 9094, leaderEpoch: 2 });
    expect(n.coordinator.loadedGroupIds()).toEqual([]);
    const response = await heartbeat(n, {});
    expect(response.error!.code).toBe("NOT_COORDINATOR");
    expect(response.coordinator!.nodeId).toBe(2);
    expect(n.coordinator.listGroups({ statesFilter: [] }).groups).toEqual([]);
  });
});

describe("group coordinator membership and offsets", () => {
  it("runs a member through join, commit and fetch, writing each change before answering", async () => {
    const topic = new MemoryOffsetsTopic();
    const n = node(topic, 1);
    await lead(topic, n, 1);
    const joined = await heartbeat(n, { subscribedTopicNames: ["orders"] });
    expect(joined.error!.code).toBe("NONE");
    expect(joined.memberEpoch).toBe(1);
    expect(joined.assignmentPresent).toBe(true);
    expect(joined.assignment).toEqual([{ topic: "orders", partitions: [0, 1, 2, 3] }]);
    // The membership record is in the log before the response.
    expect(topic.records(PARTITION)).toHaveLength(1);
    const committed = await commit(n, joined.memberId!, 1, [{ partition: 0, offset: 10, metadata: "m" }, { partition: 3, offset: 7 }]);
    expect(partitionErrors(committed)).toEqual(["NONE", "NONE"]);
    expect(await fetched(n)).toEqual({ 0: "10", 3: "7" });
    const response = await n.coordinator.fetchOffsets({ groupId: GROUP, topics: [{ topic: "orders", partitions: [0] }], requireStable: true });
    expect(response.topics![0]!.partitions![0]).toMatchObject({ committedOffset: "10", committedLeaderEpoch: 0, metadata: "m" });
    // A plain heartbeat changes nothing persistent and writes nothing.
    const before = topic.records(PARTITION).length;
    const beat = await heartbeat(n, { memberId: joined.memberId!, memberEpoch: 1, ownedPartitionsSent: true, ownedPartitions: joined.assignment as v1.TopicPartitions__Output[] });
    expect(beat.assignmentPresent).toBe(false);
    expect(topic.records(PARTITION)).toHaveLength(before);
  });

  it("refuses commits for partitions the member does not own, from unknown members, and oversized metadata", async () => {
    const topic = new MemoryOffsetsTopic();
    const n = node(topic, 1, { orders: 2 }, { maxMetadataBytes: 8 });
    await lead(topic, n, 1);
    const a = await heartbeat(n, {});
    const b = await heartbeat(n, {});
    // a still owns both until it revokes; b owns nothing yet.
    expect(partitionErrors(await commit(n, b.memberId!, b.memberEpoch!, [{ partition: 0, offset: 1 }]))).toEqual(["STALE_MEMBER_EPOCH"]);
    expect(partitionErrors(await commit(n, a.memberId!, 1, [{ partition: 0, offset: 5 }, { partition: 1, offset: 5 }]))).toEqual(["NONE", "NONE"]);
    expect(partitionErrors(await commit(n, a.memberId!, 1, [{ partition: 0, offset: 6, metadata: "123456789" }]))).toEqual(["OFFSET_METADATA_TOO_LARGE"]);
    expect((await commit(n, "ghost", 1, [{ partition: 0, offset: 1 }])).error!.code).toBe("UNKNOWN_MEMBER_ID");
    expect((await commit(n, a.memberId!, 9, [{ partition: 0, offset: 1 }])).error!.code).toBe("FENCED_MEMBER_EPOCH");
    // Commits outside group management are refused while members manage the group.
    expect((await commit(n, "", -1, [{ partition: 0, offset: 1 }])).error!.code).toBe("UNKNOWN_MEMBER_ID");
    expect(await fetched(n)).toEqual({ 0: "5", 1: "5" });
  });

  it("accepts a revoking member's commit of a partition it is giving up, and refuses it once given up", async () => {
    const topic = new MemoryOffsetsTopic();
    const n = node(topic, 1, { orders: 2 });
    await lead(topic, n, 1);
    const a = await heartbeat(n, {});
    await heartbeat(n, {}); // b joins
    const asked = await heartbeat(n, { memberId: a.memberId!, memberEpoch: 1, ownedPartitionsSent: true, ownedPartitions: [{ topic: "orders", partitions: [0, 1] }] });
    const kept = asked.assignment![0]!.partitions![0]!;
    const revoked = kept === 0 ? 1 : 0;
    expect(partitionErrors(await commit(n, a.memberId!, 1, [{ partition: revoked, offset: 3 }]))).toEqual(["NONE"]);
    await heartbeat(n, { memberId: a.memberId!, memberEpoch: 1, ownedPartitionsSent: true, ownedPartitions: [{ topic: "orders", partitions: [kept] }] });
    expect(partitionErrors(await commit(n, a.memberId!, 2, [{ partition: revoked, offset: 4 }]))).toEqual(["STALE_MEMBER_EPOCH"]);
    expect(await fetched(n, [revoked])).toEqual({ [revoked]: "3" });
  });

  it("refuses a commit sent before the member got the partition back (a zombie from its earlier ownership)", async () => {
    const topic = new MemoryOffsetsTopic();
    const n = node(topic, 1, { orders: 2 });
    await lead(topic, n, 1);
    const a = await heartbeat(n, {}); // epoch 1: both partitions
    const b = await heartbeat(n, {}); // group epoch 2
    const asked = await heartbeat(n, { memberId: a.memberId!, memberEpoch: 1, ownedPartitionsSent: true, ownedPartitions: [{ topic: "orders", partitions: [0, 1] }] });
    const kept = asked.assignment![0]!.partitions![0]!;
    const moved = kept === 0 ? 1 : 0;
    await heartbeat(n, { memberId: a.memberId!, memberEpoch: 1, ownedPartitionsSent: true, ownedPartitions: [{ topic: "orders", partitions: [kept] }] });
    await heartbeat(n, { memberId: b.memberId!, memberEpoch: 2, ownedPartitionsSent: true, ownedPartitions: [] });
    // b leaves: the moved partition comes back to a at epoch 3.
    await heartbeat(n, { memberId: b.memberId!, memberEpoch: -1 });
    const back = await heartbeat(n, { memberId: a.memberId!, memberEpoch: 2, ownedPartitionsSent: true, ownedPartitions: [{ topic: "orders", partitions: [kept] }] });
    expect(back.memberEpoch).toBe(3);
    expect(back.assignment).toEqual([{ topic: "orders", partitions: [0, 1] }]);
    // A commit a sent at epoch 1 (when it first had the partition) arrives only now.
    expect(partitionErrors(await commit(n, a.memberId!, 1, [{ partition: moved, offset: 1 }, { partition: kept, offset: 1 }]))).toEqual(["STALE_MEMBER_EPOCH", "NONE"]);
    expect(partitionErrors(await commit(n, a.memberId!, 3, [{ partition: moved, offset: 2 }]))).toEqual(["NONE"]);
  });

  it("resumes members and offsets on a new coordinator after failover: members keep their epochs and partitions", async () => {
    const topic = new MemoryOffsetsTopic();
    const first = node(topic, 1);
    await lead(topic, first, 1);
    const a = await heartbeat(first, {});
    await commit(first, a.memberId!, 1, [{ partition: 2, offset: 99 }]);
    // The first coordinator dies without resigning (kill -9): the second takes the partition.
    first.coordinator.close();
    const second = node(topic, 2);
    await lead(topic, second, 2, 2);
    const beat = await heartbeat(second, { memberId: a.memberId!, memberEpoch: 1, ownedPartitionsSent: true, ownedPartitions: a.assignment as v1.TopicPartitions__Output[] });
    expect(beat.error!.code).toBe("NONE");
    expect(beat.memberEpoch).toBe(1);
    expect(await fetched(second)).toEqual({ 2: "99" });
    const described = second.coordinator.describeGroups({ groupIds: [GROUP] }).groups![0]!;
    expect(described).toMatchObject({ state: "Stable", groupEpoch: 1, assignmentEpoch: 1, assignorName: "uniform" });
    expect(described.members![0]).toMatchObject({ memberId: a.memberId, memberEpoch: 1, assignment: [{ topic: "orders", partitions: [0, 1, 2, 3] }] });
    // A new member joining on the new coordinator rebalances as usual.
    const b = await heartbeat(second, {});
    expect(b.memberEpoch).toBe(2);
  });

  it("expires a silent member on tick, persists that, and a reload does not bring it back", async () => {
    const topic = new MemoryOffsetsTopic();
    const n = node(topic, 1);
    await lead(topic, n, 1);
    const a = await heartbeat(n, { sessionTimeoutMs: 2_000 });
    const b = await heartbeat(n, { sessionTimeoutMs: 60_000 });
    expect(topic.records(PARTITION)).toHaveLength(2);
    n.advance(2_000);
    n.coordinator.tick();
    await until(() => topic.records(PARTITION).length >= 3);
    const described = n.coordinator.describeGroups({ groupIds: [GROUP] }).groups![0]!;
    expect(described.members!.map((m) => m.memberId)).toEqual([b.memberId]);
    expect((await heartbeat(n, { memberId: a.memberId!, memberEpoch: 1 })).error!.code).toBe("UNKNOWN_MEMBER_ID");
    n.coordinator.close();
    const again = node(topic, 2);
    await lead(topic, again, 2, 2);
    expect(again.coordinator.describeGroups({ groupIds: [GROUP] }).groups![0]!.members!.map((m) => m.memberId)).toEqual([b.memberId]);
  });

  it("answers COORDINATOR_NOT_AVAILABLE when the offsets append fails and does not expose the offset", async () => {
    const topic = new MemoryOffsetsTopic();
    const n = node(topic, 1);
    await lead(topic, n, 1);
    topic.failAppends = new TributaryError("NOT_ENOUGH_REPLICAS", "1 in-sync replica, 2 required");
    const response = await commit(n, "", -1, [{ partition: 1, offset: 5 }]);
    expect(response.error!.code).toBe("COORDINATOR_NOT_AVAILABLE");
    expect(partitionErrors(response)).toEqual(["COORDINATOR_NOT_AVAILABLE"]);
    expect(await fetched(n, [1])).toEqual({ 1: "-1" });
    topic.failAppends = new TributaryError("NOT_LEADER_OR_FOLLOWER", "moved");
    expect((await heartbeat(n, {})).error!.code).toBe("NOT_COORDINATOR");
    topic.failAppends = undefined;
    // The join that could not be written left no member behind to hold partitions.
    expect(n.coordinator.describeGroups({ groupIds: [GROUP] }).groups![0]!.members).toEqual([]);
    expect((await commit(n, "", -1, [{ partition: 1, offset: 5 }])).error!.code).toBe("NONE");
    expect(await fetched(n, [1])).toEqual({ 1: "5" });
  });

  it("writes concurrent commits in few appends and keeps their order", async () => {
    const topic = new MemoryOffsetsTopic();
    const n = node(topic, 1);
    await lead(topic, n, 1);
    const appendsBefore = topic.appendCount;
    const responses = await Promise.all(Array.from({ length: 50 }, (_, i) => commit(n, "", -1, [{ partition: 0, offset: i }])));
    expect(responses.every((r) => r.error!.code === "NONE")).toBe(true);
    expect(topic.appendCount - appendsBefore).toBeLessThanOrEqual(2);
    expect(await fetched(n)).toEqual({ 0: "49" });
  });

  it("writes the membership once for changes made while an append is in flight, and the last record holds them all", async () => {
    const topic = new MemoryOffsetsTopic();
    const n = node(topic, 1, { orders: 8 });
    await lead(topic, n, 1);
    const joins = await Promise.all(Array.from({ length: 8 }, () => heartbeat(n, {})));
    expect(joins.every((j) => j.error!.code === "NONE")).toBe(true);
    expect(topic.records(PARTITION).length).toBeLessThan(8);
    n.coordinator.close();
    const again = node(topic, 2, { orders: 8 });
    await lead(topic, again, 2, 2);
    const members = again.coordinator.describeGroups({ groupIds: [GROUP] }).groups![0]!.members!;
    expect(members.map((m) => m.memberId).sort()).toEqual(joins.map((j) => j.memberId).sort());
  });

  it("lists and describes groups with their state, and filters by state", async () => {
    const topic = new MemoryOffsetsTopic();
    const n = node(topic, 1);
    await lead(topic, n, 1);
    const a = await heartbeat(n, {});
    expect(n.coordinator.listGroups({ statesFilter: [] }).groups).toEqual([{ groupId: GROUP, protocolType: "consumer", state: "Stable", coordinatorId: 1 }]);
    expect(n.coordinator.listGroups({ statesFilter: ["empty"] }).groups).toEqual([]);
    const described = n.coordinator.describeGroups({ groupIds: [GROUP, "missing-group"] }).groups!;
    expect(described[0]!.members![0]).toMatchObject({ memberId: a.memberId, clientId: "test", subscribedTopicNames: ["orders"], targetAssignment: [{ topic: "orders", partitions: [0, 1, 2, 3] }] });
    const missing = described[1]!;
    expect(missing.error!.code).toBe(offsetsPartitionFor("missing-group", OFFSETS_PARTITIONS) === PARTITION ? "GROUP_ID_NOT_FOUND" : "NOT_COORDINATOR");
  });

  it("deletes only empty groups, with tombstones a reload honours", async () => {
    const topic = new MemoryOffsetsTopic();
    const n = node(topic, 1);
    await lead(topic, n, 1);
    const a = await heartbeat(n, {});
    await commit(n, a.memberId!, 1, [{ partition: 0, offset: 8 }]);
    expect((await n.coordinator.deleteGroups({ groupIds: [GROUP] })).results![0]!.error!.code).toBe("NON_EMPTY_GROUP");
    expect((await heartbeat(n, { memberId: a.memberId!, memberEpoch: -1 })).memberEpoch).toBe(-1);
    expect(n.coordinator.listGroups({ statesFilter: ["Empty"] }).groups!.map((g) => g.groupId)).toEqual([GROUP]);
    expect((await n.coordinator.deleteGroups({ groupIds: [GROUP] })).results![0]!.error!.code).toBe("NONE");
    expect((await n.coordinator.deleteGroups({ groupIds: [GROUP] })).results![0]!.error!.code).toBe("GROUP_ID_NOT_FOUND");
    expect(await fetched(n)).toEqual({});
    const tombstones = topic.records(PARTITION).filter((r) => r.value === null);
    expect(tombstones).toHaveLength(2);
    n.coordinator.close();
    const again = node(topic, 2);
    await lead(topic, again, 2, 2);
    expect(again.coordinator.loadedGroupIds()).toEqual([]);
    expect(await fetched(again)).toEqual({});
  });

  it("deletes an empty group's offsets after the retention, counted from the later of commit and emptying", async () => {
    const topic = new MemoryOffsetsTopic();
    const n = node(topic, 1, { orders: 4 }, { offsetsRetentionMs: 60_000, offsetsRetentionCheckIntervalMs: 10_000 });
    await lead(topic, n, 1);
    const a = await heartbeat(n, {});
    await commit(n, a.memberId!, 1, [{ partition: 0, offset: 1 }]);
    // Offsets of a group with members never expire.
    n.advance(120_000);
    await heartbeat(n, { memberId: a.memberId!, memberEpoch: 1 });
    n.coordinator.tick();
    expect(await fetched(n)).toEqual({ 0: "1" });
    await heartbeat(n, { memberId: a.memberId!, memberEpoch: -1 });
    n.advance(30_000);
    n.coordinator.tick();
    expect(await fetched(n)).toEqual({ 0: "1" });
    n.advance(30_000);
    n.coordinator.tick();
    await until(() => n.coordinator.loadedGroupIds().length === 0);
    expect(await fetched(n)).toEqual({});
    n.coordinator.close();
    const again = node(topic, 2);
    await lead(topic, again, 2, 2);
    expect(again.coordinator.loadedGroupIds()).toEqual([]);
  });

  it("refuses new groups beyond the coordinator's limit", async () => {
    const topic = new MemoryOffsetsTopic();
    const n = node(topic, 1, { orders: 1 }, { maxGroups: 1 });
    await lead(topic, n, 1);
    expect((await heartbeat(n, {})).error!.code).toBe("NONE");
    // Another group on the same offsets partition.
    let other = "g0";
    for (let i = 0; offsetsPartitionFor(other, OFFSETS_PARTITIONS) !== PARTITION; i++) other = `g${i}`;
    const response = await n.coordinator.heartbeat({ ...(await baseRequest()), groupId: other });
    expect(response.error!.code).toBe("RESOURCE_EXHAUSTED");
  });
});

async function baseRequest(): Promise<v1.ConsumerGroupHeartbeatRequest__Output> {
  return {
    groupId: GROUP,
    memberId: "",
    memberEpoch: 0,
    clientId: "test",
    clientHost: "",
    rebalanceTimeoutMs: 0,
    sessionTimeoutMs: 0,
    subscribedTopicNames: ["orders"],
    subscriptionChanged: false,
    serverAssignor: "",
    ownedPartitions: [],
    ownedPartitionsSent: false,
    instanceId: "",
  };
}
