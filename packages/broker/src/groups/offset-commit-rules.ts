// Who may commit which offsets (KIP-848's rules, relaxed as Kafka later did: a member may
// commit any partition it still owns, whatever epoch it sends, up to its current one).
import { type ErrorCode, int64ToNumber, TributaryError, type v1 } from "@tributary/protocol";
import { type Assignment, hasPartition } from "./assignment.js";
import { NO_ERROR } from "./coordinator-errors.js";
import type { ConsumerGroup } from "./group.js";
import { ownedByMember } from "./member.js";

/**
 * What the committer may commit: null for a commit outside group management (anything), else
 * the member's partitions, including those it is revoking. Throws for a request-level refusal.
 */
export function committableBy(group: ConsumerGroup | undefined, request: v1.OffsetCommitRequest__Output): Assignment | null {
  const { memberId, memberEpoch, groupId } = request;
  if (memberId === "" && memberEpoch < 0) {
    // assign()-style consumers and admin tools: allowed only while no member manages the group.
    if (group && group.memberCount > 0) {
      throw new TributaryError("UNKNOWN_MEMBER_ID", `group ${groupId} has active members; commits outside group management (empty member id, epoch -1) are refused while it does`);
    }
    return null;
  }
  const member = group?.member(memberId);
  if (!member) throw new TributaryError("UNKNOWN_MEMBER_ID", `group ${groupId} has no member ${JSON.stringify(memberId)}; rejoin before committing`);
  if (memberEpoch > member.memberEpoch) {
    throw new TributaryError("FENCED_MEMBER_EPOCH", `member ${memberId} committed with epoch ${memberEpoch} but is at ${member.memberEpoch}; rejoin`);
  }
  return ownedByMember(member);
}

/** The error for one partition of a commit, NONE when it may be written. */
export function checkCommitPartition(
  memberId: string,
  owned: Assignment | null,
  topic: string,
  p: v1.OffsetCommitPartition__Output,
  maxMetadataBytes: number,
): { code: ErrorCode; message: string } {
  if (topic === "" || p.partition < 0) return { code: "INVALID_REQUEST", message: `cannot commit ${JSON.stringify(topic)}-${p.partition}` };
  if (Buffer.byteLength(p.metadata) > maxMetadataBytes) {
    return { code: "OFFSET_METADATA_TOO_LARGE", message: `commit metadata of ${topic}-${p.partition} is longer than ${maxMetadataBytes} bytes` };
  }
  let offset: number;
  try {
    offset = int64ToNumber(p.committedOffset);
  } catch {
    return { code: "INVALID_REQUEST", message: `committed offset ${p.committedOffset} of ${topic}-${p.partition} is out of range` };
  }
  if (offset < 0) return { code: "INVALID_REQUEST", message: `committed offset ${offset} of ${topic}-${p.partition} is negative` };
  if (owned !== null && !hasPartition(owned, topic, p.partition)) {
    return { code: "STALE_MEMBER_EPOCH", message: `member ${memberId} does not own ${topic}-${p.partition} (any more); its commit is refused` };
  }
  return NO_ERROR;
}
