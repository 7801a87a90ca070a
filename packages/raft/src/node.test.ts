// Scripted scenarios for RaftNode, each driving a hand-run cluster step by step.
import { describe, expect, it } from "vitest";
import type { AppendEntriesResponse, RaftMessage } from "./messages.js";
import { RaftNode } from "./node.js";
import { createSeededRandom } from "./random.js";
import { ManualCluster, entriesWithTerms } from "./testing/manual-cluster.js";

describe("elections and replication", () => {
  it("elects a leader, commits a proposal on every node, and starts the term with a no-op", () => {
    const cluster = new ManualCluster([1, 2, 3]);
    cluster.elect(1);
    expect(cluster.node(1).term).toBe(1);
    expect(cluster.node(2).leaderId).toBe(1);
    cluster.propose(1, "a");
    cluster.deliverAll();
    for (const id of [1, 2, 3]) {
      expect(cluster.applied.get(id)).toEqual(["a"]);
      expect(cluster.node(id).entryAt(1)?.kind).toBe("noop");
    }
  });

  it("refuses proposals on a follower with the leader's id", () => {
    const cluster = new ManualCluster([1, 2, 3]);
    cluster.elect(1);
    expect(() => cluster.propose(2, "x")).toThrow(expect.objectContaining({ code: "NOT_LEADER", leaderId: 1 }));
  });

  it("answers a vote only after the vote is in the Ready's hard state, in messagesAfterPersist", () => {
    const cluster = new ManualCluster([1, 2, 3], { preVote: false });
    cluster.timeout(1);
    cluster.process(1);
    const request = cluster.queue.find((message) => message.type === "RequestVote" && message.to === 2)!;
    cluster.deliver(request);
    const ready = cluster.node(2).ready()!;
    expect(ready.hardState).toMatchObject({ term: 1, vote: 1 });
    expect(ready.mustSync).toBe(true);
    expect(ready.messages).toEqual([]);
    expect(ready.messagesAfterPersist).toEqual([expect.objectContaining({ type: "RequestVoteResponse", granted: true, to: 1 })]);
  });

  it("a leader sends appends before its own write but commits only once it is durable", () => {
    const cluster = new ManualCluster([1, 2, 3]);
    cluster.elect(1);
    cluster.isolate(3);
    cluster.propose(1, "slow-disk");
    const ready = cluster.takeReadyWithoutPersisting(1);
    expect(ready.messages.some((message) => message.type === "AppendEntries")).toBe(true);
    // Node 2 acknowledges, but 1 of 3 plus an undurable leader is no quorum.
    for (const message of cluster.queue.splice(0)) cluster.deliver(message);
    cluster.process(2);
    for (const message of cluster.queue.splice(0)) cluster.deliver(message);
    expect(cluster.node(1).commitIndex).toBe(1);
    cluster.persist(1, ready);
    cluster.finish(1, ready);
    expect(cluster.node(1).commitIndex).toBe(2);
  });
});

describe("pre-vote and the leader lease", () => {
  it("a partitioned node that rejoins does not disrupt a healthy leader", () => {
    const cluster = new ManualCluster([1, 2, 3]);
    cluster.elect(1);
    cluster.isolate(3);
    for (let round = 0; round < 10; round++) {
      cluster.timeout(3);
      cluster.deliverAll();
      // Keep the leader and node 2 in touch so the lease holds.
      cluster.advance(1, 20);
      cluster.advance(2, 20);
      cluster.deliverAll();
    }
    // Pre-vote never reached a quorum, so node 3 never raised its term.
    expect(cluster.node(3).term).toBe(1);
    expect(cluster.node(3).role).toBe("preCandidate");
    cluster.heal();
    cluster.timeout(3);
    cluster.deliverAll();
    cluster.advance(1, 20);
    cluster.deliverAll();
    expect(cluster.node(1).role).toBe("leader");
    expect(cluster.node(1).term).toBe(1);
    expect(cluster.node(3).leaderId).toBe(1);
  });

  it("followers within their lease ignore a higher-term vote request (pre-vote off)", () => {
    const cluster = new ManualCluster([1, 2, 3], { preVote: false });
    cluster.elect(1);
    cluster.isolate(3);
    cluster.timeout(3);
    cluster.timeout(3);
    cluster.deliverAll();
    expect(cluster.node(3).term).toBe(3);
    cluster.heal();
    cluster.timeout(3);
    cluster.deliverAll();
    // Node 2 heard from node 1 recently, so it ignored node 3; node 1 ignores it as leader.
    expect(cluster.node(2).term).toBe(1);
    expect(cluster.node(1).role).toBe("leader");
  });
});

describe("follower progress (status pages)", () => {
  it("a leader reports each follower's matched index and when it last answered; a follower reports none", () => {
    const cluster = new ManualCluster([1, 2, 3]);
    cluster.elect(1);
    cluster.propose(1, "a");
    cluster.deliverAll();
    const leader = cluster.node(1);
    const heardAtMs = leader.followerProgress().map((p) => p.lastHeardAtMs);
    expect(leader.followerProgress().map(({ id, matchIndex }) => ({ id, matchIndex }))).toEqual([
      { id: 2, matchIndex: 2 },
      { id: 3, matchIndex: 2 },
    ]);
    expect(heardAtMs.every((ms) => Number.isFinite(ms))).toBe(true);
    expect(cluster.node(2).followerProgress()).toEqual([]);
    // Node 3 goes quiet: its match stays behind and its last answer gets older; node 2's does not.
    cluster.isolate(3);
    cluster.propose(1, "b");
    cluster.deliverAll();
    cluster.advance(1, 50);
    cluster.deliverAll();
    const [two, three] = leader.followerProgress();
    expect(two).toMatchObject({ id: 2, matchIndex: 3 });
    expect(three).toMatchObject({ id: 3, matchIndex: 2, lastHeardAtMs: heardAtMs[1] });
    expect(two!.lastHeardAtMs).toBeGreaterThan(heardAtMs[0]!);
  });
});

describe("check-quorum", () => {
  it("a leader that hears from no quorum for an election timeout steps down, and the rest elect a new one", () => {
    const cluster = new ManualCluster([1, 2, 3]);
    cluster.elect(1);
    cluster.isolate(1);
    cluster.advance(1, 100);
    cluster.advance(1, 100);
    expect(cluster.node(1).role).toBe("follower");
    cluster.runFor([2, 3], 600);
    const leader = cluster.leader()!;
    expect([2, 3]).toContain(leader.id);
    expect(leader.term).toBe(2);
  });
});

describe("Figure 8 of the Raft paper", () => {
  // (a) S1 leads term 1 and replicates index 2 to S2 only. (b) S5 wins term 2 with S3 and S4 and
  // puts its own no-op at index 2. (c) S1 wins term 3 and copies index 2 (term 1) to S3: it is
  // now on a majority, but counting it would be wrong, because (d) S5 can still win and
  // overwrite it everywhere.
  const members = (ids: number[], m: RaftMessage) => ids.includes(m.from) && ids.includes(m.to);

  function figure8(unsafe: boolean): ManualCluster {
    const cluster = new ManualCluster([1, 2, 3, 4, 5], {
      preVote: false,
      checkQuorum: false,
      unsafeTesting: { commitOldTermEntries: unsafe },
    });
    cluster.elect(1);
    // (a)
    cluster.filter = (m) => members([1, 2], m);
    cluster.propose(1, "x");
    cluster.deliverAll();
    expect(cluster.logTerms(2)).toEqual([1, 1]);
    expect(cluster.logTerms(3)).toEqual([1]);
    // (b) S1 learns of term 2 from one heartbeat of S5's.
    cluster.filter = (m) =>
      (members([3, 4, 5], m) && !(m.type === "AppendEntries" && m.entries.length > 0)) ||
      (m.from === 5 && m.to === 1 && m.type === "Heartbeat");
    cluster.timeout(5);
    cluster.deliverAll();
    cluster.advance(5, 20);
    cluster.deliverAll();
    expect(cluster.node(5).role).toBe("leader");
    expect(cluster.logTerms(5)).toEqual([1, 2]);
    expect(cluster.node(1).role).toBe("follower");
    // (c) S1's own no-op (index 3) is cut out of every append it sends.
    cluster.filter = (m) => {
      if (!members([1, 2, 3], m)) return false;
      return m.type === "AppendEntries" ? { ...m, entries: m.entries.filter((e) => e.index < 3) } : true;
    };
    cluster.timeout(1);
    cluster.deliverAll();
    expect(cluster.node(1).role).toBe("leader");
    expect(cluster.node(1).term).toBe(3);
    expect(cluster.logTerms(3)).toEqual([1, 1]);
    return cluster;
  }

  /** (d) S1 crashes; S5 steps down on hearing term 3, then wins term 4 with S2, S3 and S4. */
  function electS5(cluster: ManualCluster): void {
    cluster.filter = (m) => m.from !== 1 && m.to !== 1;
    for (let attempt = 0; attempt < 4 && !(cluster.node(5).role === "leader" && cluster.node(5).term > 3); attempt++) {
      cluster.timeout(5);
      cluster.deliverAll();
    }
  }

  it("does not commit an old-term entry replicated on a majority", () => {
    const cluster = figure8(false);
    expect(cluster.node(1).commitIndex).toBe(1);
    electS5(cluster);
    expect(cluster.node(5).role).toBe("leader");
    expect(cluster.node(5).term).toBe(4);
    // Index 2 was never committed, so replacing it loses nothing.
    expect(cluster.node(3).termAt(2)).toBe(2);
    expect(cluster.node(2).termAt(2)).toBe(2);
  });

  it("with the old-term rule broken, S1 commits index 2 and S5 still wins without it", () => {
    const cluster = figure8(true);
    expect(cluster.node(1).commitIndex).toBe(2);
    expect(cluster.applied.get(1)).toEqual(["x"]);
    electS5(cluster);
    // Leader completeness is broken: the new leader's index 2 is its own term-2 no-op, not the
    // entry S1 committed and applied.
    expect(cluster.node(5).role).toBe("leader");
    expect(cluster.node(5).termAt(2)).toBe(2);
  });
});

describe("log conflicts", () => {
  it("repairs a follower with a long divergent tail in a few round trips using the term hint", () => {
    // Figure 7 style: the leader's log and a follower holding many entries from terms it never saw.
    const leaderLog = entriesWithTerms([1, 1, 1, 4, 4, 5, 5, 6, 6, 6]);
    const followerLog = entriesWithTerms([1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3]);
    const states = new Map([
      [1, { hardState: { term: 6, vote: 1, commit: 3 }, snapshot: null, entries: leaderLog }],
      [2, { hardState: { term: 3, vote: null, commit: 3 }, snapshot: null, entries: followerLog }],
      [3, { hardState: { term: 6, vote: 1, commit: 3 }, snapshot: null, entries: leaderLog }],
    ]);
    const cluster = new ManualCluster([1, 2, 3], { preVote: false }, states);
    cluster.elect(1);
    cluster.advance(1, 20);
    cluster.deliverAll();
    const rejections = cluster.sent.filter(
      (m): m is AppendEntriesResponse => m.type === "AppendEntriesResponse" && m.from === 2 && !m.success && m.term === 7,
    );
    expect(rejections.length).toBeLessThanOrEqual(2);
    expect(cluster.logTerms(2)).toEqual(cluster.logTerms(1));
    expect(cluster.logTerms(2)).toEqual([1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7]);
    expect(cluster.node(2).commitIndex).toBe(11);
  });
});

describe("snapshots", () => {
  it("a follower too far behind installs the leader's snapshot and catches up", () => {
    const cluster = new ManualCluster([1, 2, 3]);
    cluster.elect(1);
    cluster.isolate(3);
    for (let k = 0; k < 20; k++) cluster.propose(1, `v${k}`);
    cluster.deliverAll();
    cluster.compact(1);
    expect(cluster.node(1).snapshotIndex).toBe(21);
    cluster.propose(1, "after");
    cluster.deliverAll();
    cluster.heal();
    cluster.advance(1, 20);
    cluster.deliverAll();
    expect(cluster.sent.some((m) => m.type === "InstallSnapshot" && m.to === 3)).toBe(true);
    expect(cluster.applied.get(3)).toEqual(cluster.applied.get(1));
    expect(cluster.applied.get(3)).toHaveLength(21);
    expect(cluster.durable.get(3)!.snapshot?.index).toBe(21);
    // A restart from storage gives back the same state.
    cluster.start(3);
    expect(cluster.applied.get(3)).toHaveLength(20);
    expect(cluster.node(3).lastIndex).toBe(22);
  });

  it("a snapshot arriving while committed entries are being applied supersedes them (found by the simulator)", () => {
    const cluster = new ManualCluster([1, 2, 3]);
    cluster.elect(1);
    // Node 3 stores x1..x3 but never hears that they committed.
    for (const value of ["x1", "x2", "x3"]) cluster.propose(1, value);
    cluster.process(1);
    for (const message of cluster.queue.splice(0)) cluster.deliver(message);
    cluster.isolate(3);
    cluster.deliverAll();
    expect(cluster.node(3).lastIndex).toBe(4);
    expect(cluster.node(3).commitIndex).toBe(1);
    for (const value of ["y1", "y2"]) cluster.propose(1, value);
    cluster.deliverAll();
    cluster.compact(1);
    // Node 3 learns commit 4 and starts applying x1..x3; the leader's snapshot lands meanwhile.
    cluster.heal();
    cluster.deliver({ type: "Heartbeat", from: 1, to: 3, term: 1, commit: 4, readRound: 0 });
    const applying = cluster.takeReadyWithoutPersisting(3);
    expect(applying.committedEntries.map((entry) => entry.index)).toEqual([2, 3, 4]);
    cluster.deliver({ type: "InstallSnapshot", from: 1, to: 3, term: 1, snapshot: cluster.node(1).latestSnapshot! });
    cluster.persist(3, applying);
    cluster.finish(3, applying);
    cluster.processAll();
    expect(cluster.node(3).appliedIndex).toBe(6);
    expect(cluster.applied.get(3)).toEqual(["x1", "x2", "x3", "y1", "y2"]);
  });

  it("re-offers a snapshot whose message was lost", () => {
    const cluster = new ManualCluster([1, 2, 3], { snapshotRetryMs: 60 });
    cluster.elect(1);
    cluster.isolate(3);
    cluster.propose(1, "a");
    cluster.deliverAll();
    cluster.compact(1);
    cluster.filter = (m) => m.type !== "InstallSnapshot";
    for (let k = 0; k < 3; k++) {
      cluster.advance(1, 20);
      cluster.advance(3, 20);
      cluster.deliverAll();
    }
    cluster.heal();
    for (let k = 0; k < 5; k++) {
      cluster.advance(1, 20);
      cluster.deliverAll();
    }
    expect(cluster.applied.get(3)).toEqual(["a"]);
  });
});

describe("read index", () => {
  it("confirms leadership with a heartbeat round before releasing a read", () => {
    const cluster = new ManualCluster([1, 2, 3]);
    cluster.elect(1);
    cluster.propose(1, "w");
    cluster.deliverAll();
    cluster.isolate(2, 3);
    cluster.node(1).readIndex(7);
    cluster.deliverAll();
    expect(cluster.readStates.get(1)).toEqual([]);
    cluster.heal();
    cluster.advance(1, 20);
    cluster.deliverAll();
    expect(cluster.readStates.get(1)).toEqual([{ requestId: 7, index: 2 }]);
  });

  it("a new leader holds reads until an entry of its term commits", () => {
    const cluster = new ManualCluster([1, 2, 3], { checkQuorum: false });
    cluster.elect(1);
    // Node 2 wins term 2, but its no-op cannot reach node 3 yet.
    cluster.filter = (m) => m.from !== 1 && m.to !== 1 && m.type !== "AppendEntries";
    cluster.timeout(2);
    cluster.deliverAll();
    expect(cluster.node(2).role).toBe("leader");
    cluster.node(2).readIndex(1);
    cluster.deliverAll();
    expect(cluster.readStates.get(2)).toEqual([]);
    expect(cluster.sent.some((m) => m.type === "Heartbeat" && m.from === 2 && m.readRound > 0)).toBe(false);
    cluster.filter = (m) => m.from !== 1 && m.to !== 1;
    cluster.advance(2, 20);
    cluster.deliverAll();
    expect(cluster.node(2).commitIndex).toBe(2);
    expect(cluster.readStates.get(2)).toEqual([{ requestId: 1, index: 2 }]);
  });

  it("a deposed leader drops its pending reads", () => {
    const cluster = new ManualCluster([1, 2, 3]);
    cluster.elect(1);
    cluster.isolate(1);
    cluster.node(1).readIndex(5);
    cluster.advance(1, 100);
    cluster.advance(1, 100);
    const ready = cluster.node(1).ready()!;
    expect(ready.droppedReads).toEqual([5]);
  });
});

describe("leadership transfer", () => {
  it("hands leadership to a caught-up follower with TimeoutNow, even inside the followers' lease", () => {
    const cluster = new ManualCluster([1, 2, 3]);
    cluster.elect(1);
    cluster.propose(1, "x");
    cluster.deliverAll();
    cluster.node(1).transferLeadership(3);
    expect(() => cluster.propose(1, "refused")).toThrow(expect.objectContaining({ code: "TRANSFER_IN_PROGRESS" }));
    cluster.deliverAll();
    expect(cluster.node(3).role).toBe("leader");
    expect(cluster.node(3).term).toBe(2);
    expect(cluster.node(1).leaderId).toBe(3);
  });
});

describe("restart", () => {
  it("keeps term, vote and log across a restart, and replays committed entries", () => {
    const cluster = new ManualCluster([1, 2, 3]);
    cluster.elect(1);
    cluster.propose(1, "a");
    cluster.propose(1, "b");
    cluster.deliverAll();
    cluster.start(2);
    expect(cluster.node(2).term).toBe(1);
    expect(cluster.node(2).vote).toBe(1);
    cluster.processAll();
    expect(cluster.applied.get(2)).toEqual(["a", "b"]);
  });

  it("rejects a stored log whose terms go backwards", () => {
    expect(
      () =>
        new RaftNode({
          config: { id: 1, voters: [1] },
          random: createSeededRandom(1),
          nowMs: 0,
          initialState: { hardState: { term: 3, vote: null, commit: 0 }, snapshot: null, entries: entriesWithTerms([2, 1]) },
        }),
    ).toThrow(/decreasing term/);
  });

  it("a single-node cluster elects itself and commits once durable", () => {
    const cluster = new ManualCluster([1]);
    cluster.timeout(1);
    cluster.processAll();
    expect(cluster.node(1).role).toBe("leader");
    cluster.propose(1, "solo");
    cluster.processAll();
    expect(cluster.applied.get(1)).toEqual(["solo"]);
    cluster.node(1).readIndex(3);
    cluster.processAll();
    expect(cluster.readStates.get(1)).toEqual([{ requestId: 3, index: 2 }]);
  });
});
