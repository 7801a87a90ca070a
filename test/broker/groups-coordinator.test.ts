// The group coordinator in real broker processes, driven over gRPC by simulated consumers (the
// SDK's own end-to-end tests come through @tributary/client): members go 1 -> 3 -> 2 on a
// 6-partition topic with no partition ever held by two members and none moving needlessly; then
// the coordinator broker is killed with SIGKILL and a surviving broker takes over the group with
// its committed offsets and its members' epochs; then a member goes silent (as a consumer killed
// with SIGKILL does) and its partitions move to the other within the session timeout.
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type * as grpcTypes from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { v1 } from "../../packages/protocol/dist/index.js";
import { startCluster, type Cluster } from "../support/cluster.js";
import { connectBroker, createTopic, errorCode, protocol, type RawBrokerClient } from "../support/raw-client.js";

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const grpc = createRequire(path.join(REPO, "packages/broker/package.json"))("@grpc/grpc-js") as typeof grpcTypes;

const GROUP = "groups-process-test";
const TOPIC = "orders";
const PARTITIONS = 6;
const SESSION_TIMEOUT_MS = 3_000;

interface GroupsClient {
  findCoordinator(r: v1.FindCoordinatorRequest): Promise<v1.FindCoordinatorResponse__Output>;
  heartbeat(r: v1.ConsumerGroupHeartbeatRequest): Promise<v1.ConsumerGroupHeartbeatResponse__Output>;
  offsetCommit(r: v1.OffsetCommitRequest): Promise<v1.OffsetCommitResponse__Output>;
  offsetFetch(r: v1.OffsetFetchRequest): Promise<v1.OffsetFetchResponse__Output>;
  describeGroups(r: v1.DescribeGroupsRequest): Promise<v1.DescribeGroupsResponse__Output>;
  close(): void;
}

function connectGroups(address: string): GroupsClient {
  const client = new (protocol.tributaryV1().Groups)(address, grpc.credentials.createInsecure());
  const call =
    <Req, Res>(method: string) =>
    (request: Req): Promise<Res> =>
      new Promise((resolve, reject) => {
        const fn = (client as unknown as Record<string, (r: Req, o: grpcTypes.CallOptions, cb: (e: Error | null, v?: Res) => void) => void>)[method]!;
        fn.call(client, request, { deadline: Date.now() + 10_000 }, (error, value) => (error ? reject(error) : resolve(value!)));
      });
  return {
    findCoordinator: call("FindCoordinator"),
    heartbeat: call("ConsumerGroupHeartbeat"),
    offsetCommit: call("OffsetCommit"),
    offsetFetch: call("OffsetFetch"),
    describeGroups: call("DescribeGroups"),
    close: () => client.close(),
  };
}

/** A consumer as the protocol expects one to behave: it commits what it is asked to give up, then reports it gone. */
class SimulatedMember {
  epoch = 0;
  owned = new Set<number>();
  constructor(
    readonly memberId: string,
    private groups: () => GroupsClient,
  ) {}

  async heartbeat(): Promise<v1.ConsumerGroupHeartbeatResponse__Output> {
    const response = await this.groups().heartbeat({
      groupId: GROUP,
      memberId: this.memberId,
      memberEpoch: this.epoch,
      clientId: "groups-test",
      rebalanceTimeoutMs: 30_000,
      sessionTimeoutMs: SESSION_TIMEOUT_MS,
      subscribedTopicNames: [TOPIC],
      subscriptionChanged: this.epoch === 0,
      ownedPartitions: this.owned.size > 0 ? [{ topic: TOPIC, partitions: [...this.owned].sort() }] : [],
      ownedPartitionsSent: true,
    });
    if (errorCode(response.error) !== "NONE") return response;
    if (response.assignmentPresent) {
      const next = new Set(response.assignment.filter((t) => t.topic === TOPIC).flatMap((t) => t.partitions));
      const revoked = [...this.owned].filter((p) => !next.has(p));
      if (revoked.length > 0) await this.commit(revoked);
      this.owned = next;
    }
    this.epoch = response.memberEpoch;
    return response;
  }

  async commit(partitions: number[]): Promise<void> {
    const response = await this.groups().offsetCommit({
      groupId: GROUP,
      memberId: this.memberId,
      memberEpoch: this.epoch,
      topics: [{ name: TOPIC, partitions: partitions.map((partition) => ({ partition, committedOffset: String(1_000 + partition), committedLeaderEpoch: -1, metadata: this.memberId })) }],
    });
    expect(errorCode(response.error)).toBe("NONE");
    for (const t of response.topics) for (const p of t.partitions) expect(errorCode(p.error)).toBe("NONE");
  }

  async leave(): Promise<void> {
    const response = await this.groups().heartbeat({ groupId: GROUP, memberId: this.memberId, memberEpoch: -1 });
    expect(errorCode(response.error)).toBe("NONE");
    this.owned.clear();
  }
}

describe("group coordinator in broker processes", () => {
  let cluster: Cluster;
  let admin: RawBrokerClient;
  let coordinatorId = -1;
  let groups: GroupsClient | undefined;
  const opened: GroupsClient[] = [];

  beforeAll(async () => {
    cluster = await startCluster({ controllers: 1, brokers: 3, brokerOverrides: { "group.consumer.heartbeat.interval.ms": "500" } });
    admin = connectBroker(cluster.bootstrapServers[0]!);
    await cluster.waitFor(async () => (await admin.metadata({ allTopics: true })).brokers.length === 3, { timeoutMs: 20_000, message: "3 live brokers" });
    await createTopic(admin, TOPIC, PARTITIONS, 3);
  });

  afterAll(async () => {
    for (const client of opened) client.close();
    admin?.close();
    await cluster?.stop();
  });

  /** Asks `via` where the group's coordinator is, until one answers. */
  async function findCoordinator(via: string, notNode?: number): Promise<GroupsClient> {
    const finder = connectGroups(via);
    opened.push(finder);
    const found = await cluster.waitFor(
      async () => {
        const c = (await finder.findCoordinator({ keyType: "group", keys: [GROUP] })).coordinators[0];
        return c && errorCode(c.error) === "NONE" && c.nodeId !== notNode ? c : undefined;
      },
      { timeoutMs: 30_000, message: "a coordinator for the group" },
    );
    coordinatorId = found.nodeId;
    const client = connectGroups(`${found.endpoint!.host}:${found.endpoint!.port}`);
    opened.push(client);
    return client;
  }

  /** Heartbeats everyone until the group is Stable, checking after every step that no partition has two holders. */
  async function settle(members: SimulatedMember[]): Promise<void> {
    await cluster.waitFor(
      async () => {
        for (const member of members) {
          const response = await member.heartbeat();
          expect(errorCode(response.error)).toBe("NONE");
          const holders = new Map<number, string>();
          for (const m of members) {
            for (const p of m.owned) {
              expect(holders.get(p), `partition ${p} held by ${holders.get(p)} and ${m.memberId}`).toBeUndefined();
              holders.set(p, m.memberId);
            }
          }
        }
        const described = (await groups!.describeGroups({ groupIds: [GROUP] })).groups[0]!;
        const total = members.reduce((sum, m) => sum + m.owned.size, 0);
        return described.state === "Stable" && total === PARTITIONS;
      },
      { timeoutMs: 30_000, message: "the group to settle" },
    );
  }

  it("moves partitions incrementally as members go 1 -> 3 -> 2, and survives kill -9 of the coordinator", async () => {
    groups = await findCoordinator(cluster.bootstrapServers[0]!);
    const client = (): GroupsClient => groups!;
    const a = new SimulatedMember("member-a", client);
    const b = new SimulatedMember("member-b", client);
    const c = new SimulatedMember("member-c", client);

    await settle([a]);
    expect([...a.owned].sort()).toEqual([0, 1, 2, 3, 4, 5]);
    await a.commit([...a.owned]);
    const aAlone = new Set(a.owned);

    await b.heartbeat();
    await c.heartbeat();
    await settle([a, b, c]);
    for (const m of [a, b, c]) expect(m.owned.size).toBe(2);
    // a only gave partitions up; it did not trade any.
    for (const p of a.owned) expect(aAlone.has(p)).toBe(true);

    const before = { a: new Set(a.owned), b: new Set(b.owned) };
    await c.commit([...c.owned]);
    await c.leave();
    await settle([a, b]);
    expect(a.owned.size).toBe(3);
    expect(b.owned.size).toBe(3);
    // Nobody lost a partition when c left: only c's two moved.
    for (const p of before.a) expect(a.owned.has(p)).toBe(true);
    for (const p of before.b) expect(b.owned.has(p)).toBe(true);
    await a.commit([...a.owned]);
    await b.commit([...b.owned]);
    const epochs = { a: a.epoch, b: b.epoch };

    // kill -9 the coordinator: another broker leads the offsets partition and loads the group.
    const killed = coordinatorId;
    await cluster.kill(killed, "SIGKILL");
    const survivor = cluster.brokers.find((broker) => broker.nodeId !== killed)!;
    groups = await findCoordinator(survivor.address, killed);
    expect(coordinatorId).not.toBe(killed);

    const fetched = await cluster.waitFor(
      async () => {
        const response = await groups!.offsetFetch({ groupId: GROUP, topics: [{ topic: TOPIC, partitions: [0, 1, 2, 3, 4, 5] }] });
        return errorCode(response.error) === "NONE" ? response : undefined;
      },
      { timeoutMs: 30_000, message: "offsets served by the new coordinator" },
    );
    expect(fetched.topics[0]!.partitions.map((p) => p.committedOffset)).toEqual(["1000", "1001", "1002", "1003", "1004", "1005"]);

    // The members carry on at the new coordinator with their epochs and partitions.
    for (const m of [a, b]) {
      const response = await m.heartbeat();
      expect(errorCode(response.error)).toBe("NONE");
    }
    expect(a.epoch).toBe(epochs.a);
    expect(b.epoch).toBe(epochs.b);
    expect(before.a.size + before.b.size).toBe(4);
    expect(a.owned.size + b.owned.size).toBe(PARTITIONS);
    const described = (await groups.describeGroups({ groupIds: [GROUP] })).groups[0]!;
    expect(described.state).toBe("Stable");
    expect(described.members.map((m) => m.memberId).sort()).toEqual(["member-a", "member-b"]);

    // b goes silent: the new coordinator's session timer (restarted at load) removes it and a
    // takes its partitions; the offsets b committed are where a will start.
    const silentSinceMs = Date.now();
    await cluster.waitFor(
      async () => {
        const response = await a.heartbeat();
        expect(errorCode(response.error)).toBe("NONE");
        return a.owned.size === PARTITIONS;
      },
      { timeoutMs: 20_000, intervalMs: 250, message: "the silent member's partitions to move" },
    );
    expect(Date.now() - silentSinceMs).toBeGreaterThanOrEqual(SESSION_TIMEOUT_MS - 500);
    const after = (await groups.describeGroups({ groupIds: [GROUP] })).groups[0]!;
    expect(after.members.map((m) => m.memberId)).toEqual(["member-a"]);
    expect((await b.heartbeat()).error?.code).toBe("UNKNOWN_MEMBER_ID");
  });
});
