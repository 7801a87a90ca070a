import { TributaryError } from "@tributary/protocol";
import { describe, expect, it } from "vitest";
import { type Assignment, assignmentOf, assignmentSize, assignmentToList, EMPTY_ASSIGNMENT, overlaps, partitionsOfAssignment, union } from "./assignment.js";
import { ConsumerGroup, type GroupSettings, type HeartbeatInput, type HeartbeatOutput } from "./group.js";
import { type GroupMember, partitionKey } from "./member.js";

const SETTINGS: GroupSettings = {
  defaultSessionTimeoutMs: 45_000,
  minSessionTimeoutMs: 1_000,
  maxSessionTimeoutMs: 60_000,
  heartbeatIntervalMs: 3_000,
  defaultRebalanceTimeoutMs: 300_000,
  assignors: ["uniform", "range"],
  maxMembers: 5,
  maxSubscribedTopics: 10,
  maxIdBytes: 64,
};

/** A group with a fake clock and a topic table the test can change. */
function harness(topics: Record<string, number> = { orders: 6 }, settings: GroupSettings = SETTINGS) {
  const partitionCounts = new Map(Object.entries(topics));
  let nextId = 0;
  const group = new ConsumerGroup("g1", settings, { partitionsOf: (t) => partitionCounts.get(t), newMemberId: () => `member-${++nextId}` });
  let nowMs = 1_000_000;
  const base: HeartbeatInput = {
    memberId: "",
    memberEpoch: 0,
    clientId: "client",
    clientHost: "/127.0.0.1",
    rebalanceTimeoutMs: 0,
    sessionTimeoutMs: 0,
    subscribedTopicNames: ["orders"],
    serverAssignor: "",
    ownedPartitions: null,
  };
  /** What a well-behaved consumer holds: it applies every assignment it is sent. */
  const held = new Map<string, Assignment>();
  const epochs = new Map<string, number>();
  return {
    group,
    partitionCounts,
    advance(ms: number) {
      nowMs += ms;
    },
    now: () => nowMs,
    join(extra: Partial<HeartbeatInput> = {}): HeartbeatOutput {
      const out = group.heartbeat({ ...base, ...extra, memberEpoch: 0 }, nowMs);
      held.set(out.memberId, out.assignment ?? EMPTY_ASSIGNMENT);
      epochs.set(out.memberId, out.memberEpoch);
      return out;
    },
    /** One heartbeat reporting what the member holds; then it applies the response (revoking at once). */
    beat(memberId: string, extra: Partial<HeartbeatInput> = {}): HeartbeatOutput {
      const out = group.heartbeat(
        { ...base, subscribedTopicNames: null, memberId, memberEpoch: epochs.get(memberId)!, ownedPartitions: held.get(memberId)!, ...extra },
        nowMs,
      );
      if (out.assignment) held.set(memberId, out.assignment);
      epochs.set(memberId, out.memberEpoch);
      return out;
    },
    leave(memberId: string): HeartbeatOutput {
      const out = group.heartbeat({ ...base, memberId, memberEpoch: -1 }, nowMs);
      held.delete(memberId);
      return out;
    },
    held,
    epochs,
  };
}

/** The safety property of incremental rebalancing: no partition is ever held by two members. */
function expectNoDoubleOwnership(members: GroupMember[]): void {
  expectHeldDisjoint(new Map(members.map((m) => [m.memberId, union(m.assigned, m.pendingRevocation)])));
  // Every partition a member holds has the epoch it got it at, never above the member's own.
  for (const m of members) {
    let held = 0;
    for (const [topic, partition] of partitionsOfAssignment(union(m.assigned, m.pendingRevocation))) {
      held++;
      const epoch = m.assignmentEpochs.get(partitionKey(topic, partition));
      if (epoch === undefined || epoch > m.memberEpoch) expect.fail(`${m.memberId} holds ${topic}-${partition} with assignment epoch ${epoch} at member epoch ${m.memberEpoch}`);
    }
    if (m.assignmentEpochs.size !== held) expect.fail(`${m.memberId} has assignment epochs for partitions it does not hold`);
  }
}

function expectHeldDisjoint(held: Map<string, Assignment>): void {
  const holders = new Map<string, string>();
  for (const [memberId, assignment] of held) {
    for (const [topic, partitions] of assignment) {
      for (const partition of partitions) {
        const key = `${topic}-${partition}`;
        const other = holders.get(key);
        if (other !== undefined) expect.fail(`${other} and ${memberId} both hold ${key}`);
        holders.set(key, memberId);
      }
    }
  }
}

function codeOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (error instanceof TributaryError) return error.code;
    throw error;
  }
  return "NONE";
}

describe("consumer group membership", () => {
  it("gives a joining member an id, the group epoch and every partition when alone", () => {
    const h = harness();
    expect(h.group.state).toBe("Empty");
    const out = h.join();
    expect(out.memberId).toBe("member-1");
    expect(out.memberEpoch).toBe(1);
    expect(out.heartbeatIntervalMs).toBe(3_000);
    expect(assignmentToList(out.assignment!)).toEqual([{ topic: "orders", partitions: [0, 1, 2, 3, 4, 5] }]);
    expect(h.group.state).toBe("Stable");
  });

  it("accepts a client-chosen member id on join", () => {
    const h = harness();
    expect(h.join({ memberId: "my-uuid" }).memberId).toBe("my-uuid");
  });

  it("hands partitions to a new member only after the old owner revoked them, and the old owner keeps the rest meanwhile", () => {
    const h = harness();
    const a = h.join().memberId;
    const b = h.join();
    // b is at the new epoch but gets nothing until a lets go.
    expect(b.memberEpoch).toBe(2);
    expect(assignmentSize(b.assignment!)).toBe(0);
    expect(h.group.state).toBe("Reconciling");
    // a is told to shrink to its half; its epoch stays until it confirms.
    const asked = h.beat(a);
    expect(asked.memberEpoch).toBe(1);
    expect(assignmentSize(asked.assignment!)).toBe(3);
    expect(h.group.member(a)!.state).toBe("unrevoked-partitions");
    // b heartbeats before a confirmed: still nothing.
    expect(h.beat(b.memberId).assignment).toBeNull();
    expectHeldDisjoint(h.held);
    // a confirms (its owned partitions no longer list the revoked ones) and reaches epoch 2.
    const confirmed = h.beat(a);
    expect(confirmed.memberEpoch).toBe(2);
    expect(h.group.member(a)!.state).toBe("stable");
    // Now b gets the three a gave up.
    const got = h.beat(b.memberId);
    expect(assignmentSize(got.assignment!)).toBe(3);
    expectHeldDisjoint(h.held);
    expect(h.group.state).toBe("Stable");
    expect(h.group.groupEpoch).toBe(2);
    expect(h.group.assignmentEpoch).toBe(2);
  });

  it("does not move a partition that stays with its member: 1 -> 3 -> 2 members on 6 partitions", () => {
    const h = harness();
    const a = h.join().memberId;
    const b = h.join().memberId;
    const c = h.join().memberId;
    for (let round = 0; round < 3; round++) for (const id of [a, b, c]) h.beat(id);
    expect(h.group.state).toBe("Stable");
    for (const id of [a, b, c]) expect(assignmentSize(h.held.get(id)!)).toBe(2);
    const before = { a: h.held.get(a)!, b: h.held.get(b)! };
    h.leave(c);
    for (let round = 0; round < 2; round++) for (const id of [a, b]) h.beat(id);
    expect(h.group.state).toBe("Stable");
    expect(assignmentSize(h.held.get(a)!)).toBe(3);
    expect(assignmentSize(h.held.get(b)!)).toBe(3);
    // Neither a nor b lost anything: the three partitions c had were split between them.
    expect(overlaps(before.a, h.held.get(a)!) && assignmentSize(union(before.a, h.held.get(a)!)) === 3).toBe(true);
    expect(assignmentSize(union(before.b, h.held.get(b)!))).toBe(3);
  });

  it("frees a leaving member's partitions at once, and leaving twice is harmless", () => {
    const h = harness();
    const a = h.join().memberId;
    const b = h.join().memberId;
    h.beat(a);
    h.beat(a);
    h.beat(b);
    expect(h.group.state).toBe("Stable");
    expect(h.leave(a).memberEpoch).toBe(-1);
    expect(h.leave(a).memberEpoch).toBe(-1);
    const out = h.beat(b);
    expect(assignmentSize(out.assignment!)).toBe(6);
    expect(h.group.memberCount).toBe(1);
  });

  it("removes a member whose session expired and gives its partitions to the others", () => {
    const h = harness();
    const a = h.join({ sessionTimeoutMs: 10_000 }).memberId;
    const b = h.join({ sessionTimeoutMs: 10_000 }).memberId;
    h.beat(a);
    h.beat(a);
    h.beat(b);
    h.advance(9_000);
    h.beat(b);
    expect(h.group.expire(h.now())).toEqual([]);
    h.advance(1_000);
    expect(h.group.expire(h.now())).toEqual([{ memberId: a, reason: "session-timeout" }]);
    expect(assignmentSize(h.beat(b).assignment!)).toBe(6);
    expect(codeOf(() => h.beat(a))).toBe("UNKNOWN_MEMBER_ID");
  });

  it("removes a member that does not revoke within its rebalance timeout (max poll interval) even though it heartbeats", () => {
    const h = harness();
    const a = h.join({ rebalanceTimeoutMs: 5_000 }).memberId;
    const b = h.join().memberId;
    // a is asked to revoke but keeps reporting the partitions (a stuck poll loop).
    const everything = h.held.get(a)!;
    h.beat(a);
    h.held.set(a, everything);
    h.advance(4_000);
    h.beat(a);
    h.held.set(a, everything);
    expect(h.group.expire(h.now())).toEqual([]);
    h.advance(1_000);
    expect(h.group.expire(h.now())).toEqual([{ memberId: a, reason: "rebalance-timeout" }]);
    h.held.delete(a);
    expect(assignmentSize(h.beat(b).assignment!)).toBe(6);
  });

  it("fences a stale or future member epoch and forgets nothing on the way", () => {
    const h = harness();
    const a = h.join().memberId;
    expect(codeOf(() => h.beat(a, { memberEpoch: 7 }))).toBe("FENCED_MEMBER_EPOCH");
    expect(codeOf(() => h.beat("nobody", { memberEpoch: 1 }))).toBe("UNKNOWN_MEMBER_ID");
    expect(h.group.member(a)!.memberEpoch).toBe(1);
  });

  it("accepts the previous epoch from a member that missed a response, if it claims nothing new", () => {
    const h = harness();
    const a = h.join().memberId; // epoch 1, all six
    const b = h.join().memberId; // group epoch 2
    h.beat(a); // asked to revoke, epoch 1
    h.beat(a); // confirms: epoch 2
    expect(h.epochs.get(a)).toBe(2);
    // The response with epoch 2 was lost: a retries at epoch 1 holding its three.
    expect(h.beat(a, { memberEpoch: 1 }).memberEpoch).toBe(2);
    // But not while claiming partitions it no longer has.
    expect(codeOf(() => h.beat(a, { memberEpoch: 1, ownedPartitions: assignmentOf([{ topic: "orders", partitions: [0, 1, 2, 3, 4, 5] }]) }))).toBe(
      "FENCED_MEMBER_EPOCH",
    );
    void b;
  });

  it("treats a join with a known member id as a new incarnation that replaces the old one", () => {
    const h = harness();
    const a = h.join({ memberId: "fixed" }).memberId;
    h.join();
    const again = h.join({ memberId: a });
    expect(again.memberEpoch).toBe(h.group.groupEpoch);
    expect(h.group.memberCount).toBe(2);
    expectNoDoubleOwnership(h.group.members());
  });

  it("validates session timeouts, assignors, ids and subscription sizes with typed errors", () => {
    const h = harness();
    expect(codeOf(() => h.join({ sessionTimeoutMs: 500 }))).toBe("INVALID_SESSION_TIMEOUT");
    expect(codeOf(() => h.join({ sessionTimeoutMs: 120_000 }))).toBe("INVALID_SESSION_TIMEOUT");
    expect(codeOf(() => h.join({ serverAssignor: "roundrobin" }))).toBe("UNSUPPORTED_ASSIGNOR");
    expect(codeOf(() => h.join({ memberId: "x".repeat(65) }))).toBe("INVALID_REQUEST");
    expect(codeOf(() => h.join({ subscribedTopicNames: Array.from({ length: 11 }, (_, i) => `t${i}`) }))).toBe("INVALID_REQUEST");
    expect(codeOf(() => h.join({ subscribedTopicNames: [""] }))).toBe("INVALID_TOPIC");
    expect(codeOf(() => h.group.heartbeat({ ...({} as HeartbeatInput), memberId: "m", memberEpoch: -2 }, h.now()))).toBe("INVALID_REQUEST");
    expect(h.group.memberCount).toBe(0);
    expect(h.group.groupEpoch).toBe(0);
  });

  it("refuses members beyond the group limit with RESOURCE_EXHAUSTED", () => {
    const h = harness();
    for (let i = 0; i < SETTINGS.maxMembers; i++) h.join();
    expect(codeOf(() => h.join())).toBe("RESOURCE_EXHAUSTED");
    // A member rejoining under its own id is not a new member.
    expect(codeOf(() => h.join({ memberId: "member-1" }))).toBe("NONE");
  });

  it("uses the assignor the members ask for, else the configured default", () => {
    const h = harness({ orders: 5 });
    h.join();
    expect(h.group.assignorName).toBe("uniform");
    const b = h.join({ serverAssignor: "range" }).memberId;
    expect(h.group.assignorName).toBe("range");
    // Range gives the lower member id the first three partitions.
    expect(assignmentToList(h.group.targetOf("member-1"))).toEqual([{ topic: "orders", partitions: [0, 1, 2] }]);
    expect(assignmentToList(h.group.targetOf(b))).toEqual([{ topic: "orders", partitions: [3, 4] }]);
  });

  it("reassigns when a member changes its subscription or a subscribed topic grows", () => {
    const h = harness({ orders: 2, audit: 2 });
    const a = h.join().memberId;
    expect(assignmentSize(h.held.get(a)!)).toBe(2);
    const epoch = h.group.groupEpoch;
    h.beat(a, { subscribedTopicNames: ["orders", "audit"] });
    expect(h.group.groupEpoch).toBe(epoch + 1);
    expect(assignmentToList(h.held.get(a)!)).toEqual([
      { topic: "audit", partitions: [0, 1] },
      { topic: "orders", partitions: [0, 1] },
    ]);
    h.partitionCounts.set("orders", 4);
    h.beat(a);
    expect(assignmentSize(h.held.get(a)!)).toBe(6);
    // A topic that disappears takes its partitions with it (after the member revokes them).
    h.partitionCounts.delete("audit");
    h.beat(a);
    h.beat(a);
    expect(assignmentToList(h.held.get(a)!)).toEqual([{ topic: "orders", partitions: [0, 1, 2, 3] }]);
  });

  it("does not resend an unchanged assignment", () => {
    const h = harness();
    const a = h.join().memberId;
    expect(h.beat(a).assignment).toBeNull();
    // ... unless the member reports holding something else.
    expect(assignmentSize(h.beat(a, { ownedPartitions: EMPTY_ASSIGNMENT }).assignment!)).toBe(6);
  });

  it("round-trips through a snapshot and resumes with the same epochs", () => {
    const h = harness();
    const a = h.join().memberId;
    const b = h.join().memberId;
    h.beat(a);
    const restored = new ConsumerGroup("g1", SETTINGS, { partitionsOf: (t) => h.partitionCounts.get(t), newMemberId: () => "x" });
    restored.restore(h.group.snapshot(), h.now());
    expect(restored.snapshot()).toEqual(h.group.snapshot());
    expect(restored.state).toBe("Reconciling");
    // The member that was revoking carries on against the restored group.
    const out = restored.heartbeat(
      { memberId: a, memberEpoch: 1, clientId: "", clientHost: "", rebalanceTimeoutMs: 0, sessionTimeoutMs: 0, subscribedTopicNames: null, serverAssignor: "", ownedPartitions: h.held.get(a)! },
      h.now(),
    );
    expect(out.memberEpoch).toBe(2);
    void b;
  });
});

describe("consumer group under random churn", () => {
  it("never lets two members consume one partition, and settles with every partition assigned", () => {
    for (let seed = 1; seed <= 15; seed++) {
      let state = seed;
      const random = (n: number): number => {
        state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
        return state % n;
      };
      const h = harness({ orders: 7, audit: 3 }, { ...SETTINGS, maxMembers: 20 });
      const live: string[] = [];
      const slow = new Set<string>();
      for (let step = 0; step < 300; step++) {
        const action = random(10);
        if (action === 0 && live.length < 8) {
          live.push(h.join({ subscribedTopicNames: ["orders", "audit"], sessionTimeoutMs: 5_000 }).memberId);
        } else if (action === 1 && live.length > 0) {
          const id = live.splice(random(live.length), 1)[0]!;
          h.leave(id);
          slow.delete(id);
        } else if (action === 2 && live.length > 0) {
          // A member that stops revoking for a while (it still heartbeats with what it holds).
          const id = live[random(live.length)]!;
          if (slow.has(id)) slow.delete(id);
          else slow.add(id);
        } else if (live.length > 0) {
          const id = live[random(live.length)]!;
          const heldBefore = h.held.get(id)!;
          h.beat(id);
          if (slow.has(id)) {
            // It consumes only what it held before and what it is now given; it has not revoked.
            h.held.set(id, union(heldBefore, h.held.get(id)!));
          }
        }
        h.advance(100);
        expectNoDoubleOwnership(h.group.members());
        // What members actually consume never overlaps either.
        expectHeldDisjoint(new Map([...h.held].filter(([id]) => live.includes(id))));
      }
      // Everyone behaves from now on: the group settles.
      slow.clear();
      for (let round = 0; round < 4; round++) for (const id of live) h.beat(id);
      if (live.length > 0) {
        expect(h.group.state).toBe("Stable");
        const total = live.reduce((sum, id) => sum + assignmentSize(h.held.get(id)!), 0);
        expect(total).toBe(10);
        const sizes = live.map((id) => assignmentSize(h.held.get(id)!));
        expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
      }
    }
  });
});
