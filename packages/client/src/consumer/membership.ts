// A group member's side of the KIP-848 consumer protocol, as a pure state machine: it builds
// each ConsumerGroupHeartbeat request, takes each answer, and says what the consumer must do
// (revoke, then assign; or give everything up as lost and rejoin). The coordinator computes
// assignments; the member only reconciles what it owns towards the target it was sent:
//   1. partitions owned but not in the target are revoked first (the consumer commits, stops
//      fetching them, tells the listener), and the next heartbeat no longer lists them;
//   2. then partitions in the target not yet owned are taken;
//   3. the heartbeat after that acknowledges the new owned set.
// Timers and I/O belong to group-member.ts.
import { type ErrorCode, errorCodeOf, type v1 } from "@tributary/protocol";
import { type TopicPartition, tpKey, tpOfKey } from "./types.js";

export type MemberState = "unjoined" | "joining" | "stable" | "reconciling" | "leaving" | "left" | "fatal";

export type HeartbeatOutcome =
  | { kind: "ok" }
  /** Revoke `revoke` (commit first), then take `assign`; call reconciled() when both are done. */
  | { kind: "reconcile"; revoke: TopicPartition[]; assign: TopicPartition[] }
  /** Everything owned is gone without a commit (fenced or unknown member); the member rejoins. */
  | { kind: "lost"; lost: TopicPartition[]; error: ErrorCode }
  /** Find the coordinator again, then heartbeat. */
  | { kind: "coordinator-moved"; error: ErrorCode }
  /** A transient error: heartbeat again after a backoff. */
  | { kind: "retry"; error: ErrorCode }
  /** The group refuses this member for good (bad group id, unsupported assignor). */
  | { kind: "fatal"; error: ErrorCode; message: string }
  | { kind: "left" };

export interface MembershipConfig {
  groupId: string;
  clientId: string;
  rebalanceTimeoutMs: number;
  sessionTimeoutMs: number;
  serverAssignor: string;
}

const LEAVE_EPOCH = -1;

export class Membership {
  state: MemberState = "unjoined";
  memberId = "";
  memberEpoch = 0;
  heartbeatIntervalMs = 3_000;
  /** An answer carried an assignment (possibly empty) since the last join. */
  hasReceivedAssignment = false;
  private subscription: string[] = [];
  private subscriptionChanged = false;
  private readonly owned = new Set<string>();
  private ownedChanged = true;
  /** The latest target received while a reconciliation was running. */
  private pendingTarget: Set<string> | undefined;
  private reconcilingTarget: Set<string> | undefined;

  constructor(private readonly config: MembershipConfig) {}

  ownedPartitions(): TopicPartition[] {
    return [...this.owned].map(tpOfKey);
  }

  isOwned(topic: string, partition: number): boolean {
    return this.owned.has(tpKey(topic, partition));
  }

  get isActive(): boolean {
    return this.state === "joining" || this.state === "stable" || this.state === "reconciling";
  }

  /** Join (or change topics): the next heartbeat carries the subscription. */
  subscribe(topics: string[]): void {
    this.subscription = [...new Set(topics)].sort();
    this.subscriptionChanged = true;
    if (this.state === "unjoined" || this.state === "left") {
      this.state = "joining";
      this.memberEpoch = 0;
    }
  }

  /** The next heartbeat leaves the group. */
  leave(): void {
    if (this.state === "unjoined" || this.state === "left") return;
    this.state = "leaving";
  }

  buildHeartbeat(clientHost: string): v1.ConsumerGroupHeartbeatRequest {
    const leaving = this.state === "leaving";
    const joining = this.memberEpoch === 0;
    const sendSubscription = joining || this.subscriptionChanged;
    const sendOwned = joining || this.ownedChanged;
    return {
      groupId: this.config.groupId,
      memberId: this.memberId,
      memberEpoch: leaving ? LEAVE_EPOCH : this.memberEpoch,
      clientId: this.config.clientId,
      clientHost,
      rebalanceTimeoutMs: this.config.rebalanceTimeoutMs,
      sessionTimeoutMs: this.config.sessionTimeoutMs,
      subscribedTopicNames: sendSubscription ? this.subscription : [],
      subscriptionChanged: sendSubscription,
      serverAssignor: this.config.serverAssignor,
      ownedPartitions: sendOwned ? toTopicPartitions(this.owned) : [],
      ownedPartitionsSent: sendOwned,
      instanceId: "",
    };
  }

  /** Takes a heartbeat answer for a request built by buildHeartbeat (with what it carried). */
  onHeartbeatResponse(request: v1.ConsumerGroupHeartbeatRequest, response: v1.ConsumerGroupHeartbeatResponse__Output): HeartbeatOutcome {
    const code = errorCodeOf(response.error);
    if (request.memberEpoch === LEAVE_EPOCH) {
      this.state = "left";
      this.memberEpoch = 0;
      this.owned.clear();
      return { kind: "left" };
    }
    if (code !== "NONE") return this.onError(code, response.error?.message ?? "");
    this.memberId = response.memberId;
    this.memberEpoch = response.memberEpoch;
    if (response.heartbeatIntervalMs > 0) this.heartbeatIntervalMs = response.heartbeatIntervalMs;
    // What we sent is now known to the coordinator.
    if (request.subscriptionChanged === true) this.subscriptionChanged = false;
    if (request.ownedPartitionsSent === true && sameSet(this.owned, fromTopicPartitions(request.ownedPartitions ?? []))) this.ownedChanged = false;
    if (this.state === "joining") this.state = "stable";
    if (!response.assignmentPresent) return { kind: "ok" };
    this.hasReceivedAssignment = true;
    const target = fromTopicPartitions(response.assignment);
    if (this.state === "reconciling") {
      this.pendingTarget = target;
      return { kind: "ok" };
    }
    return this.startReconcile(target);
  }

  private startReconcile(target: Set<string>): HeartbeatOutcome {
    const revoke = [...this.owned].filter((k) => !target.has(k));
    const assign = [...target].filter((k) => !this.owned.has(k));
    if (revoke.length === 0 && assign.length === 0) {
      this.state = "stable";
      return { kind: "ok" };
    }
    this.state = "reconciling";
    this.reconcilingTarget = target;
    return { kind: "reconcile", revoke: revoke.map(tpOfKey), assign: assign.map(tpOfKey) };
  }

  /** The consumer finished revoking and assigning: owned becomes the target; a newer target starts the next round. */
  reconciled(): HeartbeatOutcome {
    if (this.state !== "reconciling" || this.reconcilingTarget === undefined) return { kind: "ok" };
    this.owned.clear();
    for (const key of this.reconcilingTarget) this.owned.add(key);
    this.ownedChanged = true;
    this.reconcilingTarget = undefined;
    this.state = "stable";
    const next = this.pendingTarget;
    this.pendingTarget = undefined;
    return next === undefined ? { kind: "ok" } : this.startReconcile(next);
  }

  /** The heartbeat call itself failed (network, deadline): coordinator may have moved. */
  onHeartbeatFailed(code: ErrorCode): HeartbeatOutcome {
    if (this.state === "leaving") {
      this.state = "left";
      this.owned.clear();
      return { kind: "left" };
    }
    this.sendEverythingNext();
    return { kind: "coordinator-moved", error: code };
  }

  /**
   * After a heartbeat without a usable answer, the next one carries the subscription and the
   * owned partitions again (Kafka's client resets its sent fields the same way). The failed one
   * may have been taken by the coordinator and its answer lost, with a new assignment in it: the
   * coordinator re-sends an assignment only to a member whose owned partitions differ from it,
   * and a member that sends none never looked behind. A fault run found a member holding epoch
   * 2 with nothing owned and its two partitions assigned to it, unread, for minutes.
   */
  private sendEverythingNext(): void {
    this.subscriptionChanged = true;
    this.ownedChanged = true;
  }

  private onError(code: ErrorCode, message: string): HeartbeatOutcome {
    switch (code) {
      case "FENCED_MEMBER_EPOCH":
      case "UNKNOWN_MEMBER_ID":
      case "STALE_MEMBER_EPOCH":
      case "ILLEGAL_GENERATION": {
        // Our epoch is gone: everything owned may already be someone else's. Rejoin at epoch 0
        // (same member id when fenced, as KIP-848 asks; a new one when unknown).
        const lost = this.ownedPartitions();
        this.owned.clear();
        this.ownedChanged = true;
        this.memberEpoch = 0;
        this.hasReceivedAssignment = false;
        if (code === "UNKNOWN_MEMBER_ID") this.memberId = "";
        this.reconcilingTarget = undefined;
        this.pendingTarget = undefined;
        this.state = "joining";
        return { kind: "lost", lost, error: code };
      }
      case "NOT_COORDINATOR":
      case "COORDINATOR_NOT_AVAILABLE":
        this.sendEverythingNext();
        return { kind: "coordinator-moved", error: code };
      case "COORDINATOR_LOAD_IN_PROGRESS":
      case "REQUEST_TIMED_OUT":
      case "NETWORK_EXCEPTION":
      case "REBALANCE_IN_PROGRESS":
      case "RESOURCE_EXHAUSTED":
      case "BROKER_SHUTTING_DOWN":
        this.sendEverythingNext();
        return { kind: "retry", error: code };
      default:
        this.state = "fatal";
        return { kind: "fatal", error: code, message };
    }
  }
}

function toTopicPartitions(keys: Iterable<string>): v1.TopicPartitions[] {
  const byTopic = new Map<string, number[]>();
  for (const key of keys) {
    const { topic, partition } = tpOfKey(key);
    const list = byTopic.get(topic);
    if (list === undefined) byTopic.set(topic, [partition]);
    else list.push(partition);
  }
  return [...byTopic].map(([topic, partitions]) => ({ topic, partitions: partitions.sort((a, b) => a - b) }));
}

function fromTopicPartitions(list: Array<{ topic?: string; partitions?: number[] }>): Set<string> {
  const keys = new Set<string>();
  for (const entry of list) for (const p of entry.partitions ?? []) keys.add(tpKey(entry.topic ?? "", p));
  return keys;
}

function sameSet(a: Set<string>, b: Set<string>): boolean {
  if (a.size !== b.size) return false;
  for (const key of a) if (!b.has(key)) return false;
  return true;
}
