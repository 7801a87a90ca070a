// `groups describe` and `groups list` output, after kafka-consumer-groups.sh: one row per
// partition with committed offset, log end and lag, then the members.
import { formatColumns } from "./table.js";

export interface GroupPartitionView {
  topic: string;
  partition: number;
  /** null: nothing committed yet. */
  committedOffset: bigint | null;
  logEndOffset: bigint | null;
  /** The member the partition is assigned to, if any. */
  memberId?: string;
  clientId?: string;
  host?: string;
}

export interface GroupMemberView {
  memberId: string;
  clientId: string;
  host: string;
  assignments: readonly { topic: string; partitions: readonly number[] }[];
}

export interface GroupView {
  groupId: string;
  state: string;
  coordinator?: number;
  members: readonly GroupMemberView[];
  partitions: readonly GroupPartitionView[];
}

/** Lag is log end minus committed; unknown ("-") when either side is unknown. */
export function lagOf(partition: GroupPartitionView): bigint | null {
  if (partition.committedOffset === null || partition.logEndOffset === null) return null;
  const lag = partition.logEndOffset - partition.committedOffset;
  return lag < 0n ? 0n : lag;
}

const dash = (value: bigint | number | string | null | undefined): string =>
  value === null || value === undefined || value === "" ? "-" : String(value);

export function formatGroupDescription(group: GroupView): string[] {
  const header = `Group: ${group.groupId} State: ${group.state} Coordinator: ${dash(group.coordinator)} Members: ${group.members.length}`;
  const rows = [...group.partitions]
    .sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition)
    .map((p) => [
      group.groupId, p.topic, String(p.partition), dash(p.committedOffset), dash(p.logEndOffset), dash(lagOf(p)),
      dash(p.memberId), dash(p.host), dash(p.clientId),
    ]);
  const lines = [header, ""];
  lines.push(...formatColumns(
    ["GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", "CONSUMER-ID", "HOST", "CLIENT-ID"], rows));
  if (group.members.length > 0) {
    lines.push("");
    lines.push(...formatColumns(
      ["CONSUMER-ID", "HOST", "CLIENT-ID", "ASSIGNMENT"],
      group.members.map((m) => [
        m.memberId, dash(m.host), dash(m.clientId),
        m.assignments.map((a) => `${a.topic}(${a.partitions.join(",")})`).join(" ") || "-",
      ]),
    ));
  }
  return lines;
}

export function formatGroupList(groups: readonly { groupId: string; state: string }[]): string[] {
  return [...groups].sort((a, b) => a.groupId.localeCompare(b.groupId)).map((g) => g.groupId);
}

export function groupToJson(group: GroupView): Record<string, unknown> {
  return {
    groupId: group.groupId,
    state: group.state,
    coordinator: group.coordinator ?? null,
    members: group.members,
    partitions: group.partitions.map((p) => ({
      topic: p.topic,
      partition: p.partition,
      committedOffset: p.committedOffset === null ? null : p.committedOffset.toString(),
      logEndOffset: p.logEndOffset === null ? null : p.logEndOffset.toString(),
      lag: lagOf(p)?.toString() ?? null,
      memberId: p.memberId ?? null,
    })),
  };
}
