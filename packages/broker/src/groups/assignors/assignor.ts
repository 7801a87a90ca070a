// The server-side assignor contract. An assignor is a pure, deterministic function from the
// group's members (with their subscriptions and current target) and the subscribed topics'
// partition counts to a new target assignment for every member.
import type { Assignment } from "../assignment.js";

export interface AssignorMember {
  memberId: string;
  subscribedTopicNames: readonly string[];
  /** The member's previous target: sticky assignors keep as much of it as they can. */
  currentTarget: Assignment;
}

export interface AssignorInput {
  /** Members in any order; assignors sort by member id so the result does not depend on it. */
  members: readonly AssignorMember[];
  /** Partition count of every topic some member subscribes to; a missing topic has none. */
  partitionCounts: ReadonlyMap<string, number>;
}

export interface Assignor {
  readonly name: string;
  /** A target for every member in the input (empty when it gets nothing). */
  assign(input: AssignorInput): Map<string, Assignment>;
}

export function sortedMembers(members: readonly AssignorMember[]): AssignorMember[] {
  return [...members].sort((a, b) => (a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0));
}
