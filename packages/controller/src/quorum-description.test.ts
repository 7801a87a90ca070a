import type { FollowerProgress, RaftStatus } from "@tributary/raft";
import { describe, expect, it } from "vitest";
import { quorumDescription } from "./quorum-description.js";

const voters = [1, 2, 3].map((id) => ({ id, host: "127.0.0.1", port: 9190 + id }));
const status = (role: RaftStatus["role"], leaderId: number): RaftStatus => ({
  id: 1, role, term: 4, leaderId, commitIndex: 40, appliedIndex: 40, lastIndex: 42, snapshotIndex: 0,
});

describe("DescribeQuorum's answer", () => {
  it("from the leader: each follower's matched log end and how long ago it answered", () => {
    const followers: FollowerProgress[] = [
      { id: 2, matchIndex: 42, lastHeardAtMs: 9_950 },
      { id: 3, matchIndex: 17, lastHeardAtMs: 4_000.4 },
    ];
    const answer = quorumDescription({ nodeId: 1, clusterId: "c", voters, status: status("leader", 1), followers, nowMs: 10_000 });
    expect(answer).toMatchObject({ nodeId: 1, leaderId: 1, term: "4", commitIndex: "40", clusterId: "c" });
    expect(answer.voters!.map((v) => [v.nodeId, v.logEndOffset, v.lastContactMsAgo])).toEqual([
      [1, "42", "0"],
      [2, "42", "50"],
      [3, "17", "6000"],
    ]);
  });

  it("says -1 for what is not known: a follower not heard from this term, or any voter but itself on a follower", () => {
    const fresh = quorumDescription({
      nodeId: 1, clusterId: "c", voters, status: status("leader", 1), nowMs: 10_000,
      followers: [{ id: 2, matchIndex: 0, lastHeardAtMs: Number.NEGATIVE_INFINITY }, { id: 3, matchIndex: 0, lastHeardAtMs: 9_990 }],
    });
    expect(fresh.voters!.map((v) => [v.logEndOffset, v.lastContactMsAgo])).toEqual([["42", "0"], ["-1", "-1"], ["-1", "10"]]);
    const follower = quorumDescription({ nodeId: 1, clusterId: "c", voters, status: status("follower", 2), followers: [], nowMs: 10_000 });
    expect(follower.leaderId).toBe(2);
    expect(follower.voters!.map((v) => [v.logEndOffset, v.lastContactMsAgo])).toEqual([["42", "0"], ["-1", "-1"], ["-1", "-1"]]);
  });
});
