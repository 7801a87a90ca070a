// A consumer group member and its reconciliation: how it moves from its current assignment to
// its target one partition set at a time (KIP-848's "current assignment builder").
//
// A member is in one of three states:
//   stable                 it owns its target (or what it can of it) at the target's epoch;
//   unrevoked-partitions   it was asked to give up partitions and has not yet confirmed (its
//                          epoch does not move until it does, so its commits stay valid);
//   unreleased-partitions  it is at the target epoch but some target partitions still belong to
//                          members that have not revoked them; it gets each once it is free.
// A partition is given to a new owner only after the old owner stopped listing it in its
// heartbeat (it had the chance to commit) or left the group.
import {
  type Assignment,
  EMPTY_ASSIGNMENT,
  intersect,
  overlaps,
  partitionsOfAssignment,
  sameAssignment,
  subtract,
  union,
} from "./assignment.js";

export type MemberState = "stable" | "unrevoked-partitions" | "unreleased-partitions";

export interface GroupMember {
  readonly memberId: string;
  /** The epoch the member is at: the target epoch it last reached (0 before any). */
  readonly memberEpoch: number;
  /** The epoch before the last bump, so a member that missed one response is not fenced. */
  readonly previousMemberEpoch: number;
  readonly state: MemberState;
  readonly clientId: string;
  readonly clientHost: string;
  /** Sorted and without duplicates. */
  readonly subscribedTopicNames: readonly string[];
  /** The assignor it asked for; "" when it has no preference. */
  readonly serverAssignor: string;
  readonly rebalanceTimeoutMs: number;
  readonly sessionTimeoutMs: number;
  /** What the member may consume now. */
  readonly assigned: Assignment;
  /** What it was asked to give up and has not yet confirmed giving up (still its own meanwhile). */
  readonly pendingRevocation: Assignment;
  /**
   * The member epoch at which it got each partition it holds (key: partitionKey), so a commit
   * sent before the member last got a partition back (a zombie from an earlier ownership) is
   * refused: the rule of Kafka's KIP-1251, assignmentEpoch <= commit epoch <= member epoch.
   */
  readonly assignmentEpochs: ReadonlyMap<string, number>;
}

export function partitionKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

export interface TargetAssignment {
  epoch: number;
  partitions: Assignment;
}

/** The member currently owning (assigned or pending revocation) a partition, if any. */
export type OwnerLookup = (topic: string, partition: number) => string | undefined;

/**
 * The member's next state given its target and what it reports owning (`owned`, null when the
 * heartbeat did not say). Returns the same object when nothing changes.
 */
export function reconcileMember(member: GroupMember, target: TargetAssignment, owned: Assignment | null, ownerOf: OwnerLookup): GroupMember {
  switch (member.state) {
    case "stable":
      if (member.memberEpoch === target.epoch) return member;
      return computeNext(member, target, ownerOf);
    case "unrevoked-partitions":
      // Unknown ownership counts as still owning: the member must say it let the partitions go.
      if (owned === null || overlaps(owned, member.pendingRevocation)) return member;
      return computeNext(withoutPending(member), target, ownerOf);
    case "unreleased-partitions":
      return computeNext(member, target, ownerOf);
  }
}

function computeNext(member: GroupMember, target: TargetAssignment, ownerOf: OwnerLookup): GroupMember {
  const retained = intersect(member.assigned, target.partitions);
  const toRevoke = subtract(member.assigned, target.partitions);
  if (toRevoke.size > 0) {
    // Give up first; the epoch stays so commits of the revoked partitions are still accepted.
    return { ...member, state: "unrevoked-partitions", assigned: retained, pendingRevocation: toRevoke };
  }
  const toAssign = subtract(target.partitions, member.assigned);
  const free = new Map<string, Set<number>>();
  let unreleased = 0;
  for (const [topic, partition] of partitionsOfAssignment(toAssign)) {
    const owner = ownerOf(topic, partition);
    if (owner !== undefined && owner !== member.memberId) {
      unreleased++;
      continue;
    }
    let set = free.get(topic);
    if (!set) free.set(topic, (set = new Set()));
    set.add(partition);
  }
  const assigned = free.size > 0 ? union(retained, free) : retained;
  const state: MemberState = unreleased > 0 ? "unreleased-partitions" : "stable";
  const sameEpoch = member.memberEpoch === target.epoch;
  if (sameEpoch && state === member.state && sameAssignment(assigned, member.assigned) && member.pendingRevocation.size === 0) return member;
  // Retained partitions keep the epoch they were got at; new ones are got at the target epoch.
  const assignmentEpochs = new Map<string, number>();
  for (const [topic, partition] of partitionsOfAssignment(assigned)) {
    const key = partitionKey(topic, partition);
    assignmentEpochs.set(key, member.assignmentEpochs.get(key) ?? target.epoch);
  }
  return {
    ...member,
    state,
    assigned,
    pendingRevocation: EMPTY_ASSIGNMENT,
    assignmentEpochs,
    memberEpoch: target.epoch,
    previousMemberEpoch: sameEpoch ? member.previousMemberEpoch : member.memberEpoch,
  };
}

/** The member once it confirmed giving up its pending partitions. */
function withoutPending(member: GroupMember): GroupMember {
  const assignmentEpochs = new Map(member.assignmentEpochs);
  for (const [topic, partition] of partitionsOfAssignment(member.pendingRevocation)) assignmentEpochs.delete(partitionKey(topic, partition));
  return { ...member, pendingRevocation: EMPTY_ASSIGNMENT, assignmentEpochs };
}

/** Everything the member may still hold: its assignment and what it has yet to give up. */
export function ownedByMember(member: GroupMember): Assignment {
  return member.pendingRevocation.size === 0 ? member.assigned : union(member.assigned, member.pendingRevocation);
}
