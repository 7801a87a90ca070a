// Who leads a partition and who is in its ISR after a change, as Kafka's PartitionChangeBuilder
// decides it. Pure: it reads a partition's image and the brokers' state and returns the one
// PartitionChangeRecord to write, or null when nothing changes.
//
// Rules: the leader epoch goes up only when the leader changes; the partition epoch goes up with
// every change; a leader comes from the ISR unless the topic allows unclean election and no ISR
// member can lead; the ISR never becomes empty (the last member stays, so the replica that has
// every committed record is remembered and can lead again when it returns).
import { NO_LEADER, type PartitionImage, type v1 } from "@tributary/protocol";

export interface LeaderEligibility {
  /** Unfenced and not in controlled shutdown: may lead and may be added to an ISR. */
  isActive(brokerId: number): boolean;
}

export type ChangeReason =
  | "broker-fenced"
  | "broker-connection-lost"
  | "broker-unfenced"
  | "broker-reregistered"
  | "controlled-shutdown"
  | "isr-change"
  | "preferred-leader"
  | "unclean-election";

export interface PartitionChangeRequest {
  /** The ISR wanted; absent: keep the current one. */
  targetIsr?: readonly number[];
  /** Move leadership to the preferred replica (the first) when it is in the ISR and active. */
  preferPreferredLeader?: boolean;
  /** When no ISR member can lead: take any active replica (the topic allows it). */
  uncleanElectionAllowed: boolean;
  reason: ChangeReason;
}

/** The ISR without `brokerId`, but never empty: the last member stays (see the file comment). */
export function isrWithout(isr: readonly number[], brokerId: number): number[] {
  if (isr.length === 1 && isr[0] === brokerId) return [...isr];
  return isr.filter((id) => id !== brokerId);
}

function chooseLeader(
  partition: PartitionImage,
  isr: readonly number[],
  brokers: LeaderEligibility,
  request: PartitionChangeRequest,
): { leader: number; isr: readonly number[] } {
  const canLead = (id: number): boolean => isr.includes(id) && brokers.isActive(id);
  const preferred = partition.replicas[0];
  if (request.preferPreferredLeader && preferred !== undefined && canLead(preferred)) return { leader: preferred, isr };
  if (partition.leader !== NO_LEADER && canLead(partition.leader)) return { leader: partition.leader, isr };
  const fromIsr = partition.replicas.find(canLead);
  if (fromIsr !== undefined) return { leader: fromIsr, isr };
  if (request.uncleanElectionAllowed) {
    const anyActive = partition.replicas.find((id) => brokers.isActive(id));
    // An unclean leader starts a new ISR of its own: the old members may hold records it lacks.
    if (anyActive !== undefined) return { leader: anyActive, isr: [anyActive] };
  }
  return { leader: NO_LEADER, isr };
}

function sameMembers(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((id, i) => id === b[i]);
}

export function buildPartitionChange(
  partition: PartitionImage,
  brokers: LeaderEligibility,
  request: PartitionChangeRequest,
): v1.PartitionChangeRecord | null {
  const targetIsr = request.targetIsr ?? partition.isr;
  const { leader, isr } = chooseLeader(partition, targetIsr, brokers, request);
  const leaderChanged = leader !== partition.leader;
  const isrChanged = !sameMembers(isr, partition.isr);
  if (!leaderChanged && !isrChanged) return null;
  return {
    topicId: partition.topicId,
    partition: partition.partition,
    ...(leaderChanged ? { leader } : {}),
    isr: isrChanged ? [...isr] : [],
    isrChanged,
    leaderEpoch: leaderChanged ? partition.leaderEpoch + 1 : partition.leaderEpoch,
    partitionEpoch: partition.partitionEpoch + 1,
    reason: request.reason,
  };
}
