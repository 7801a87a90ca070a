// One consumer group's membership state machine (KIP-848's consumer protocol, server side).
// Pure: time comes in as `nowMs`, new member ids from the injected environment, and nothing
// here does I/O. The coordinator persists the group after any change that bumps `version`.
//
// Epochs: the group epoch bumps whenever what the assignment depends on changes (members,
// subscriptions, assignor preferences, partition counts of subscribed topics); the target
// assignment is then recomputed at that epoch (the assignment epoch). Each member's epoch
// follows the target epoch as it reconciles (see member.ts).
import { TributaryError } from "@tributary/protocol";
import { ASSIGNORS, type Assignor } from "./assignors/index.js";
import { type Assignment, EMPTY_ASSIGNMENT, isSubset, partitionsOfAssignment, sameAssignment } from "./assignment.js";
import { type GroupMember, ownedByMember, reconcileMember, type TargetAssignment } from "./member.js";

export type GroupState = "Empty" | "Assigning" | "Reconciling" | "Stable" | "Dead";

export interface GroupSettings {
  defaultSessionTimeoutMs: number;
  minSessionTimeoutMs: number;
  maxSessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  /** Used when a joining member does not send its max.poll.interval.ms. */
  defaultRebalanceTimeoutMs: number;
  /** Assignor names offered; the first is the default. */
  assignors: readonly string[];
  maxMembers: number;
  maxSubscribedTopics: number;
  maxIdBytes: number;
}

export interface GroupEnvironment {
  partitionsOf(topic: string): number | undefined;
  newMemberId(): string;
}

export interface HeartbeatInput {
  memberId: string;
  /** 0 joins, -1 leaves, otherwise the epoch the member last received. */
  memberEpoch: number;
  clientId: string;
  clientHost: string;
  /** 0: unchanged (or the default when joining). */
  rebalanceTimeoutMs: number;
  sessionTimeoutMs: number;
  /** null: unchanged. Joining always sets it (null then means none). */
  subscribedTopicNames: readonly string[] | null;
  /** "": unchanged / no preference. */
  serverAssignor: string;
  /** null: not reported in this heartbeat. */
  ownedPartitions: Assignment | null;
}

export interface HeartbeatOutput {
  memberId: string;
  memberEpoch: number;
  heartbeatIntervalMs: number;
  /** null: unchanged since the previous response. */
  assignment: Assignment | null;
}

export type RemovalReason = "left" | "session-timeout" | "rebalance-timeout" | "rejoined";

export interface MemberDescription {
  member: GroupMember;
  target: Assignment;
}

export class ConsumerGroup {
  readonly groupId: string;
  private groupEpochValue = 0;
  private assignmentEpochValue = 0;
  private assignorNameValue = "";
  private readonly membersById = new Map<string, GroupMember>();
  private readonly targets = new Map<string, Assignment>();
  /** topic -> partition -> member that owns it (assigned or pending revocation). */
  private readonly owners = new Map<string, Map<number, string>>();
  /** Partition counts of the subscribed topics the current target was computed from. */
  private partitionCounts: ReadonlyMap<string, number> = new Map();
  private readonly sessionDeadlinesMs = new Map<string, number>();
  private readonly rebalanceDeadlinesMs = new Map<string, number>();
  private deleted = false;
  /** Bumps on every change worth persisting; the coordinator writes when it moved. */
  version = 0;

  constructor(
    groupId: string,
    private readonly settings: GroupSettings,
    private readonly env: GroupEnvironment,
  ) {
    this.groupId = groupId;
  }

  get groupEpoch(): number {
    return this.groupEpochValue;
  }
  get assignmentEpoch(): number {
    return this.assignmentEpochValue;
  }
  get assignorName(): string {
    return this.assignorNameValue;
  }
  get memberCount(): number {
    return this.membersById.size;
  }
  member(memberId: string): GroupMember | undefined {
    return this.membersById.get(memberId);
  }
  members(): GroupMember[] {
    return [...this.membersById.values()];
  }
  targetOf(memberId: string): Assignment {
    return this.targets.get(memberId) ?? EMPTY_ASSIGNMENT;
  }
  subscriptionPartitionCounts(): ReadonlyMap<string, number> {
    return this.partitionCounts;
  }

  get state(): GroupState {
    if (this.deleted) return "Dead";
    if (this.membersById.size === 0) return "Empty";
    if (this.groupEpochValue !== this.assignmentEpochValue) return "Assigning";
    for (const member of this.membersById.values()) {
      if (member.state !== "stable" || member.memberEpoch !== this.assignmentEpochValue) return "Reconciling";
    }
    return "Stable";
  }

  markDeleted(): void {
    if (this.membersById.size > 0) throw new Error(`assertion: group ${this.groupId} deleted with members`);
    this.deleted = true;
  }

  describe(): MemberDescription[] {
    return [...this.membersById.values()]
      .sort((a, b) => (a.memberId < b.memberId ? -1 : 1))
      .map((member) => ({ member, target: this.targetOf(member.memberId) }));
  }

  /** The member owning a partition now (assigned or still to revoke). */
  ownerOf(topic: string, partition: number): string | undefined {
    return this.owners.get(topic)?.get(partition);
  }

  /** Handles one ConsumerGroupHeartbeat. Throws a TributaryError (before changing anything) for a bad or fenced request. */
  heartbeat(input: HeartbeatInput, nowMs: number): HeartbeatOutput {
    if (this.deleted) throw new TributaryError("COORDINATOR_NOT_AVAILABLE", `group ${this.groupId} is being deleted; retry`);
    if (input.memberEpoch === -1) return this.leave(input.memberId);
    if (input.memberEpoch === 0) return this.join(input, nowMs);
    if (input.memberEpoch < -1) throw new TributaryError("INVALID_REQUEST", `member_epoch ${input.memberEpoch} is not 0 (join), -1 (leave) or a received epoch`);
    return this.beat(input, nowMs);
  }

  private leave(memberId: string): HeartbeatOutput {
    // Leaving twice (a retry after a lost response) is not an error.
    if (this.membersById.has(memberId)) this.removeMember(memberId);
    return { memberId, memberEpoch: -1, heartbeatIntervalMs: 0, assignment: null };
  }

  private join(input: HeartbeatInput, nowMs: number): HeartbeatOutput {
    const memberId = input.memberId === "" ? this.env.newMemberId() : input.memberId;
    this.checkId("member_id", memberId);
    const rejoining = this.membersById.has(memberId);
    if (!rejoining && this.membersById.size >= this.settings.maxMembers) {
      throw new TributaryError("RESOURCE_EXHAUSTED", `group ${this.groupId} already has ${this.settings.maxMembers} members (the most a group may have)`);
    }
    const sessionTimeoutMs = this.checkSessionTimeout(input.sessionTimeoutMs);
    const subscribed = this.checkSubscription(input.subscribedTopicNames ?? []);
    const assignor = this.checkAssignor(input.serverAssignor);
    this.checkId("client_id", input.clientId);
    this.checkId("client_host", input.clientHost);
    // The same id joining again is a new incarnation of that member (it was fenced, or its
    // first join response was lost): the old one's partitions are already given up.
    if (rejoining) this.removeMember(memberId);
    const member: GroupMember = {
      memberId,
      memberEpoch: 0,
      previousMemberEpoch: -1,
      state: "stable",
      clientId: input.clientId,
      clientHost: input.clientHost,
      subscribedTopicNames: subscribed,
      serverAssignor: assignor,
      rebalanceTimeoutMs: input.rebalanceTimeoutMs > 0 ? input.rebalanceTimeoutMs : this.settings.defaultRebalanceTimeoutMs,
      sessionTimeoutMs,
      assigned: EMPTY_ASSIGNMENT,
      pendingRevocation: EMPTY_ASSIGNMENT,
      assignmentEpochs: new Map(),
    };
    this.membersById.set(memberId, member);
    this.bumpGroupEpoch();
    this.sessionDeadlinesMs.set(memberId, nowMs + sessionTimeoutMs);
    const updated = this.advance(member, null, nowMs);
    return { memberId, memberEpoch: updated.memberEpoch, heartbeatIntervalMs: this.settings.heartbeatIntervalMs, assignment: updated.assigned };
  }

  private beat(input: HeartbeatInput, nowMs: number): HeartbeatOutput {
    let member = this.membersById.get(input.memberId);
    if (!member) throw new TributaryError("UNKNOWN_MEMBER_ID", `group ${this.groupId} has no member ${JSON.stringify(input.memberId)}; rejoin with member_epoch 0`);
    this.checkEpoch(member, input.memberEpoch, input.ownedPartitions);
    const sessionTimeoutMs = input.sessionTimeoutMs === 0 ? member.sessionTimeoutMs : this.checkSessionTimeout(input.sessionTimeoutMs);
    const subscribed = input.subscribedTopicNames === null ? member.subscribedTopicNames : this.checkSubscription(input.subscribedTopicNames);
    const assignor = input.serverAssignor === "" ? member.serverAssignor : this.checkAssignor(input.serverAssignor);
    const rebalanceTimeoutMs = input.rebalanceTimeoutMs > 0 ? input.rebalanceTimeoutMs : member.rebalanceTimeoutMs;
    this.sessionDeadlinesMs.set(member.memberId, nowMs + sessionTimeoutMs);
    const assignmentChanged = subscribed.join("\u0000") !== member.subscribedTopicNames.join("\u0000") || assignor !== member.serverAssignor;
    if (assignmentChanged || sessionTimeoutMs !== member.sessionTimeoutMs || rebalanceTimeoutMs !== member.rebalanceTimeoutMs) {
      member = { ...member, subscribedTopicNames: subscribed, serverAssignor: assignor, sessionTimeoutMs, rebalanceTimeoutMs };
      this.membersById.set(member.memberId, member);
      this.version++;
    }
    if (assignmentChanged) this.bumpGroupEpoch();
    const before = member;
    const updated = this.advance(member, input.ownedPartitions, nowMs);
    const changed = updated.memberEpoch !== before.memberEpoch || !sameAssignment(updated.assigned, before.assigned);
    const behind = input.ownedPartitions !== null && !sameAssignment(input.ownedPartitions, updated.assigned);
    return {
      memberId: updated.memberId,
      memberEpoch: updated.memberEpoch,
      heartbeatIntervalMs: this.settings.heartbeatIntervalMs,
      assignment: changed || behind ? updated.assigned : null,
    };
  }

  /** Refreshes the target if anything it depends on moved, then reconciles the member. */
  private advance(member: GroupMember, owned: Assignment | null, nowMs: number): GroupMember {
    this.refreshTarget();
    const target: TargetAssignment = { epoch: this.assignmentEpochValue, partitions: this.targetOf(member.memberId) };
    const next = reconcileMember(member, target, owned, (topic, partition) => this.ownerOf(topic, partition));
    if (next === member) return member;
    this.replaceMember(member, next);
    if (next.state === "unrevoked-partitions" && member.state !== "unrevoked-partitions") {
      this.rebalanceDeadlinesMs.set(next.memberId, nowMs + next.rebalanceTimeoutMs);
    } else if (next.state !== "unrevoked-partitions") {
      this.rebalanceDeadlinesMs.delete(next.memberId);
    }
    return next;
  }

  private replaceMember(previous: GroupMember, next: GroupMember): void {
    this.releaseOwnership(previous);
    this.membersById.set(next.memberId, next);
    this.claimOwnership(next);
    this.version++;
  }

  private claimOwnership(member: GroupMember): void {
    for (const [topic, partition] of partitionsOfAssignment(ownedByMember(member))) {
      let byPartition = this.owners.get(topic);
      if (!byPartition) this.owners.set(topic, (byPartition = new Map()));
      const owner = byPartition.get(partition);
      // The heart of incremental rebalancing: never two owners of one partition.
      if (owner !== undefined && owner !== member.memberId) {
        throw new Error(`assertion: ${topic}-${partition} given to ${member.memberId} while ${owner} still owns it`);
      }
      byPartition.set(partition, member.memberId);
    }
  }

  private releaseOwnership(member: GroupMember): void {
    for (const [topic, partition] of partitionsOfAssignment(ownedByMember(member))) {
      const byPartition = this.owners.get(topic);
      if (byPartition?.get(partition) !== member.memberId) continue;
      byPartition.delete(partition);
      if (byPartition.size === 0) this.owners.delete(topic);
    }
  }

  private removeMember(memberId: string): void {
    const member = this.membersById.get(memberId);
    if (!member) return;
    this.releaseOwnership(member);
    this.membersById.delete(memberId);
    this.targets.delete(memberId);
    this.sessionDeadlinesMs.delete(memberId);
    this.rebalanceDeadlinesMs.delete(memberId);
    this.bumpGroupEpoch();
    this.refreshTarget();
  }

  private bumpGroupEpoch(): void {
    this.groupEpochValue++;
    this.version++;
  }

  /** Removes members whose session or revocation deadline passed. */
  expire(nowMs: number): { memberId: string; reason: RemovalReason }[] {
    const removed: { memberId: string; reason: RemovalReason }[] = [];
    for (const [memberId, deadlineMs] of this.sessionDeadlinesMs) {
      if (deadlineMs <= nowMs) removed.push({ memberId, reason: "session-timeout" });
    }
    for (const [memberId, deadlineMs] of this.rebalanceDeadlinesMs) {
      const member = this.membersById.get(memberId);
      if (deadlineMs <= nowMs && member?.state === "unrevoked-partitions" && !removed.some((r) => r.memberId === memberId)) {
        removed.push({ memberId, reason: "rebalance-timeout" });
      }
    }
    for (const { memberId } of removed) this.removeMember(memberId);
    return removed;
  }

  /** Recomputes the target when the group epoch moved or a subscribed topic's partition count changed. */
  refreshTarget(): void {
    const counts = this.currentPartitionCounts();
    if (!sameCounts(counts, this.partitionCounts)) {
      this.partitionCounts = counts;
      // One bump per change: when the epoch already moved, the recompute below covers this too.
      if (this.groupEpochValue === this.assignmentEpochValue) this.bumpGroupEpoch();
      else this.version++;
    }
    if (this.groupEpochValue === this.assignmentEpochValue) return;
    const assignor = this.chooseAssignor();
    const result = assignor.assign({
      members: [...this.membersById.values()].map((member) => ({
        memberId: member.memberId,
        subscribedTopicNames: member.subscribedTopicNames,
        currentTarget: this.targetOf(member.memberId),
      })),
      partitionCounts: counts,
    });
    this.targets.clear();
    for (const memberId of this.membersById.keys()) this.targets.set(memberId, result.get(memberId) ?? EMPTY_ASSIGNMENT);
    this.assignorNameValue = assignor.name;
    this.assignmentEpochValue = this.groupEpochValue;
    this.version++;
  }

  private currentPartitionCounts(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const member of this.membersById.values()) {
      for (const topic of member.subscribedTopicNames) {
        if (!counts.has(topic)) counts.set(topic, this.env.partitionsOf(topic) ?? 0);
      }
    }
    return counts;
  }

  /** The assignor most members asked for (ties: the configured order); the default when none asked. */
  private chooseAssignor(): Assignor {
    const votes = new Map<string, number>();
    for (const member of this.membersById.values()) {
      if (member.serverAssignor !== "") votes.set(member.serverAssignor, (votes.get(member.serverAssignor) ?? 0) + 1);
    }
    let chosen = this.settings.assignors[0]!;
    let best = 0;
    for (const name of this.settings.assignors) {
      const count = votes.get(name) ?? 0;
      if (count > best) [chosen, best] = [name, count];
    }
    const assignor = ASSIGNORS.get(chosen);
    if (!assignor) throw new Error(`assertion: configured assignor ${chosen} does not exist`);
    return assignor;
  }

  private checkEpoch(member: GroupMember, receivedEpoch: number, owned: Assignment | null): void {
    if (receivedEpoch === member.memberEpoch) return;
    // A member that missed the response bumping its epoch may still be one behind, as long
    // as it does not claim partitions it was not given.
    if (receivedEpoch === member.previousMemberEpoch && owned !== null && isSubset(owned, member.assigned)) return;
    throw new TributaryError(
      "FENCED_MEMBER_EPOCH",
      `member ${member.memberId} of group ${this.groupId} sent epoch ${receivedEpoch} but is at ${member.memberEpoch}; give up its partitions and rejoin with member_epoch 0`,
    );
  }

  private checkSessionTimeout(requestedMs: number): number {
    if (requestedMs === 0) return this.settings.defaultSessionTimeoutMs;
    const { minSessionTimeoutMs: min, maxSessionTimeoutMs: max } = this.settings;
    if (requestedMs < min || requestedMs > max) {
      throw new TributaryError("INVALID_SESSION_TIMEOUT", `session_timeout_ms ${requestedMs} is outside [${min}, ${max}] (group.consumer.min/max.session.timeout.ms)`);
    }
    return requestedMs;
  }

  private checkSubscription(names: readonly string[]): string[] {
    if (names.length > this.settings.maxSubscribedTopics) {
      throw new TributaryError("INVALID_REQUEST", `a member may subscribe to at most ${this.settings.maxSubscribedTopics} topics, not ${names.length}`);
    }
    for (const name of names) {
      if (name === "" || Buffer.byteLength(name) > 249) throw new TributaryError("INVALID_TOPIC", `subscribed topic name ${JSON.stringify(name)} is not a valid topic name`);
    }
    return [...new Set(names)].sort();
  }

  private checkAssignor(name: string): string {
    if (name === "" || this.settings.assignors.includes(name)) return name;
    throw new TributaryError("UNSUPPORTED_ASSIGNOR", `server_assignor ${JSON.stringify(name)} is not one of ${this.settings.assignors.join(", ")} (group.consumer.assignors)`);
  }

  private checkId(field: string, value: string): void {
    if (Buffer.byteLength(value) > this.settings.maxIdBytes) {
      throw new TributaryError("INVALID_REQUEST", `${field} is longer than ${this.settings.maxIdBytes} bytes`);
    }
  }

  /** Puts back a member loaded from __consumer_offsets; its timers start now. */
  restore(snapshot: GroupSnapshot, nowMs: number): void {
    if (this.membersById.size > 0) throw new Error(`assertion: group ${this.groupId} restored twice`);
    this.groupEpochValue = snapshot.groupEpoch;
    this.assignmentEpochValue = snapshot.assignmentEpoch;
    this.assignorNameValue = snapshot.assignorName;
    this.partitionCounts = new Map(snapshot.partitionCounts);
    for (const { member, target } of snapshot.members) {
      this.membersById.set(member.memberId, member);
      this.targets.set(member.memberId, target);
      this.claimOwnership(member);
      this.sessionDeadlinesMs.set(member.memberId, nowMs + member.sessionTimeoutMs);
      if (member.state === "unrevoked-partitions") this.rebalanceDeadlinesMs.set(member.memberId, nowMs + member.rebalanceTimeoutMs);
    }
  }

  snapshot(): GroupSnapshot {
    return {
      groupEpoch: this.groupEpochValue,
      assignmentEpoch: this.assignmentEpochValue,
      assignorName: this.assignorNameValue,
      partitionCounts: [...this.partitionCounts].sort(([a], [b]) => (a < b ? -1 : 1)),
      members: this.describe(),
    };
  }
}

/** What is persisted of a group's membership so a new coordinator can resume it. */
export interface GroupSnapshot {
  groupEpoch: number;
  assignmentEpoch: number;
  assignorName: string;
  partitionCounts: [string, number][];
  members: MemberDescription[];
}

function sameCounts(a: ReadonlyMap<string, number>, b: ReadonlyMap<string, number>): boolean {
  if (a.size !== b.size) return false;
  for (const [topic, count] of a) if (b.get(topic) !== count) return false;
  return true;
}
