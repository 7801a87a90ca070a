// DescribeQuorum's answer, built from one node's Raft status: every voter with its log end as
// this node knows it. The leader knows each follower's matched index and when it last answered
// (Raft's progress tracking); a follower knows only its own log, and says -1 for the others.
import { int64, type v1 } from "@tributary/protocol";
import type { FollowerProgress, RaftStatus } from "@tributary/raft";
import { OK } from "./errors.js";
import type { Voter } from "./controller-node.js";

export interface QuorumDescriptionInput {
  nodeId: number;
  clusterId: string;
  voters: readonly Voter[];
  status: RaftStatus;
  /** The leader's view of its followers (empty on a follower). */
  followers: readonly FollowerProgress[];
  /** Now, on the clock the Raft node runs on. */
  nowMs: number;
}

export function quorumDescription(input: QuorumDescriptionInput): v1.DescribeQuorumResponse {
  const { status, nowMs } = input;
  const progressById = new Map(input.followers.map((p) => [p.id, p]));
  const voterState = (id: number): { logEndOffset: string; lastContactMsAgo: string } => {
    if (id === input.nodeId) return { logEndOffset: int64(status.lastIndex), lastContactMsAgo: "0" };
    const progress = progressById.get(id);
    return {
      // A matched index of 0 says nothing is known yet (Raft indexes start at 1).
      logEndOffset: progress && progress.matchIndex > 0 ? int64(progress.matchIndex) : "-1",
      lastContactMsAgo: progress && Number.isFinite(progress.lastHeardAtMs) ? int64(Math.max(0, Math.round(nowMs - progress.lastHeardAtMs))) : "-1",
    };
  };
  return {
    error: OK,
    nodeId: input.nodeId,
    leaderId: status.leaderId ?? -1,
    term: int64(status.term),
    commitIndex: int64(status.commitIndex),
    clusterId: input.clusterId,
    voters: input.voters.map((v) => ({
      nodeId: v.id,
      endpoint: { host: v.host, port: v.port, listenerName: "CONTROLLER" },
      ...voterState(v.id),
    })),
  };
}
