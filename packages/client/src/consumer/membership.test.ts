import type { v1 } from "@tributary/protocol";
import { describe, expect, it } from "vitest";
import { Membership } from "./membership.js";

const NONE = { code: "NONE", message: "" } as unknown as v1.Error__Output;

function answer(fields: Partial<v1.ConsumerGroupHeartbeatResponse__Output>): v1.ConsumerGroupHeartbeatResponse__Output {
  return { error: NONE, memberId: "m1", memberEpoch: 1, heartbeatIntervalMs: 250, assignment: [], assignmentPresent: false, coordinator: null, ...fields };
}

function member(): Membership {
  return new Membership({ groupId: "g", clientId: "c", rebalanceTimeoutMs: 300_000, sessionTimeoutMs: 10_000, serverAssignor: "uniform" });
}

const tp = (partitions: number[]) => [{ topic: "t", partitions }];

describe("Membership (KIP-848 member side)", () => {
  it("joins at epoch 0 with its subscription, then heartbeats with what the coordinator gave", () => {
    const m = member();
    m.subscribe(["t", "t"]);
    const join = m.buildHeartbeat("h");
    expect(join).toMatchObject({ groupId: "g", memberId: "", memberEpoch: 0, subscribedTopicNames: ["t"], subscriptionChanged: true, ownedPartitionsSent: true, serverAssignor: "uniform" });
    expect(m.onHeartbeatResponse(join, answer({ memberEpoch: 3 }))).toEqual({ kind: "ok" });
    expect(m.state).toBe("stable");
    const next = m.buildHeartbeat("h");
    expect(next).toMatchObject({ memberId: "m1", memberEpoch: 3, subscriptionChanged: false, subscribedTopicNames: [], ownedPartitionsSent: false });
    expect(m.heartbeatIntervalMs).toBe(250);
  });

  it("after a heartbeat without a usable answer, sends its subscription and owned partitions again", () => {
    const m = member();
    m.subscribe(["t"]);
    m.onHeartbeatResponse(m.buildHeartbeat("h"), answer({ memberEpoch: 2 }));
    expect(m.buildHeartbeat("h")).toMatchObject({ subscriptionChanged: false, ownedPartitionsSent: false });
    // The answer (perhaps with an assignment in it) is lost: the coordinator must see what we own.
    expect(m.onHeartbeatFailed("NETWORK_EXCEPTION")).toMatchObject({ kind: "coordinator-moved" });
    const full = m.buildHeartbeat("h");
    expect(full).toMatchObject({ memberEpoch: 2, subscriptionChanged: true, subscribedTopicNames: ["t"], ownedPartitionsSent: true, ownedPartitions: [] });
    // The coordinator, seeing nothing owned, answers with the assignment again.
    expect(m.onHeartbeatResponse(full, answer({ memberEpoch: 2, assignment: tp([2, 3]), assignmentPresent: true }))).toMatchObject({ kind: "reconcile" });
    m.reconciled();
    m.onHeartbeatResponse(m.buildHeartbeat("h"), answer({ memberEpoch: 2 }));
    expect(m.buildHeartbeat("h")).toMatchObject({ subscriptionChanged: false, ownedPartitionsSent: false });
    // An error answer counts the same.
    const hb = m.buildHeartbeat("h");
    expect(m.onHeartbeatResponse(hb, answer({ error: { code: "COORDINATOR_NOT_AVAILABLE", message: "" } as unknown as v1.Error__Output }))).toMatchObject({ kind: "coordinator-moved" });
    expect(m.buildHeartbeat("h")).toMatchObject({ subscriptionChanged: true, ownedPartitionsSent: true, ownedPartitions: tp([2, 3]) });
  });

  it("revokes before it assigns, owns the target once reconciled, and acknowledges it", () => {
    const m = member();
    m.subscribe(["t"]);
    const join = m.buildHeartbeat("h");
    const first = m.onHeartbeatResponse(join, answer({ assignment: tp([0, 1, 2]), assignmentPresent: true }));
    expect(first).toEqual({ kind: "reconcile", revoke: [], assign: [0, 1, 2].map((partition) => ({ topic: "t", partition })) });
    m.reconciled();
    expect(m.buildHeartbeat("h")).toMatchObject({ ownedPartitionsSent: true, ownedPartitions: tp([0, 1, 2]) });

    const hb = m.buildHeartbeat("h");
    m.onHeartbeatResponse(hb, answer({ memberEpoch: 2 }));
    const shrink = m.onHeartbeatResponse(m.buildHeartbeat("h"), answer({ memberEpoch: 3, assignment: tp([2, 3]), assignmentPresent: true }));
    expect(shrink).toEqual({ kind: "reconcile", revoke: [{ topic: "t", partition: 0 }, { topic: "t", partition: 1 }], assign: [{ topic: "t", partition: 3 }] });
    // Until reconciled, it still owns what it had.
    expect(m.isOwned("t", 0)).toBe(true);
    expect(m.reconciled()).toEqual({ kind: "ok" });
    expect(m.ownedPartitions()).toEqual([{ topic: "t", partition: 2 }, { topic: "t", partition: 3 }]);
  });

  it("queues a newer target that arrives mid-reconciliation and runs it next", () => {
    const m = member();
    m.subscribe(["t"]);
    m.onHeartbeatResponse(m.buildHeartbeat("h"), answer({ assignment: tp([0, 1]), assignmentPresent: true }));
    expect(m.state).toBe("reconciling");
    expect(m.onHeartbeatResponse(m.buildHeartbeat("h"), answer({ memberEpoch: 2, assignment: tp([1]), assignmentPresent: true }))).toEqual({ kind: "ok" });
    expect(m.reconciled()).toEqual({ kind: "reconcile", revoke: [{ topic: "t", partition: 0 }], assign: [] });
    m.reconciled();
    expect(m.ownedPartitions()).toEqual([{ topic: "t", partition: 1 }]);
  });

  it("on FENCED_MEMBER_EPOCH loses everything and rejoins at epoch 0 with the same id", () => {
    const m = member();
    m.subscribe(["t"]);
    m.onHeartbeatResponse(m.buildHeartbeat("h"), answer({ memberEpoch: 4, assignment: tp([0]), assignmentPresent: true }));
    m.reconciled();
    const fenced = m.onHeartbeatResponse(m.buildHeartbeat("h"), answer({ error: { code: "FENCED_MEMBER_EPOCH", message: "old" } as unknown as v1.Error__Output }));
    expect(fenced).toEqual({ kind: "lost", lost: [{ topic: "t", partition: 0 }], error: "FENCED_MEMBER_EPOCH" });
    expect(m.buildHeartbeat("h")).toMatchObject({ memberId: "m1", memberEpoch: 0, subscriptionChanged: true, ownedPartitions: [] });
  });

  it("sends the coordinator moved, retriable and fatal errors where they belong, and leaves with epoch -1", () => {
    const m = member();
    m.subscribe(["t"]);
    const err = (code: string) => answer({ error: { code, message: code } as unknown as v1.Error__Output });
    expect(m.onHeartbeatResponse(m.buildHeartbeat("h"), err("NOT_COORDINATOR")).kind).toBe("coordinator-moved");
    expect(m.onHeartbeatResponse(m.buildHeartbeat("h"), err("COORDINATOR_LOAD_IN_PROGRESS")).kind).toBe("retry");
    expect(m.onHeartbeatFailed("NETWORK_EXCEPTION").kind).toBe("coordinator-moved");
    m.onHeartbeatResponse(m.buildHeartbeat("h"), answer({}));
    m.leave();
    const leave = m.buildHeartbeat("h");
    expect(leave.memberEpoch).toBe(-1);
    expect(m.onHeartbeatResponse(leave, answer({ memberEpoch: -1 }))).toEqual({ kind: "left" });
    expect(m.state).toBe("left");
    const other = member();
    other.subscribe(["t"]);
    expect(other.onHeartbeatResponse(other.buildHeartbeat("h"), err("UNSUPPORTED_ASSIGNOR"))).toMatchObject({ kind: "fatal", error: "UNSUPPORTED_ASSIGNOR" });
  });
});
