// Who may commit which offsets. A member may commit a partition it holds (including one it is
// revoking) with any epoch from the one at which it got that partition up to its current one
// (Kafka's KIP-1251 rule): an older epoch is a zombie from an earlier ownership, a newer one
// is fenced.
import { type ErrorCode, int64ToNumber, TributaryError, type v1 } from "@tributary/protocol";
import { NO_ERROR } from "./coordinator-errors.js";
import type { ConsumerGroup } from "./group.js";
import { type GroupMember, partitionKey } from "./member.js";

/**
 * The member committing, or null for a commit outside group management (which may commit
 * anything). Throws for a request-level refusal.
 */
export function committingMember(group: ConsumerGroup | undefined, request: v1.OffsetCommitRequest__Output): GroupMember | null {
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
  return member;
}

/** The error for one partition of a commit, NONE when it may be written. */
export function checkCommitPartition(
  member: GroupMember | null,
  memberEpoch: number,
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
  if (member === null) return NO_ERROR;
  const assignmentEpoch = member.assignmentEpochs.get(partitionKey(topic, p.partition));
  if (assignmentEpoch === undefined) {
    return { code: "STALE_MEMBER_EPOCH", message: `member ${member.memberId} does not own ${topic}-${p.partition} (any more); its commit is refused` };
  }
  if (memberEpoch < assignmentEpoch) {
    return {
      code: "STALE_MEMBER_EPOCH",
      message: `member ${member.memberId} got ${topic}-${p.partition} back at epoch ${assignmentEpoch}; a commit sent at epoch ${memberEpoch} is from its earlier ownership and is refused`,
    };
  }
  return NO_ERROR;
}
