import { describe, expect, it } from "vitest";
import { LeaderPartitionState, checkLeaderEpoch, findDivergence, truncationOffset, type EpochEndOffset } from "./partition-state.js";

function leader(overrides: Partial<ConstructorParameters<typeof LeaderPartitionState>[0]> = {}): LeaderPartitionState {
  return new LeaderPartitionState({
    brokerId: 1, leaderEpoch: 5, partitionEpoch: 10, replicas: [1, 2, 3], isr: [1, 2, 3],
    logEndOffset: 0, highWatermark: 0, nowMs: 0, replicaLagTimeMaxMs: 1000, ...overrides,
  });
}

// An epoch cache: [epoch, startOffset] pairs in order, and the log end.
function epochCache(entries: [number, number][], logEndOffset: number): (epoch: number) => EpochEndOffset {
  return (epoch) => {
    let found = -1;
    for (let i = 0; i < entries.length; i++) if (entries[i]![0] <= epoch) found = i;
    if (found < 0) return { epoch: -1, endOffset: -1 };
    const next = entries[found + 1];
    return { epoch: entries[found]![0], endOffset: next ? next[1] : logEndOffset };
  };
}

describe("LeaderPartitionState high watermark", () => {
  it("is the smallest log end offset over the ISR and waits for every member", () => {
    const state = leader();
    expect(state.onLocalAppend(100)).toBe(false); // followers not heard from yet
    expect(state.onFollowerFetch(2, 100, 1).highWatermarkAdvanced).toBe(false);
    expect(state.highWatermark).toBe(0);
    expect(state.onFollowerFetch(3, 60, 1).highWatermarkAdvanced).toBe(true);
    expect(state.highWatermark).toBe(60);
    state.onFollowerFetch(3, 100, 2);
    expect(state.highWatermark).toBe(100);
  });

  it("never goes backwards, even when a follower refetches from an older offset", () => {
    const state = leader();
    state.onLocalAppend(50);
    state.onFollowerFetch(2, 50, 1);
    state.onFollowerFetch(3, 50, 1);
    expect(state.highWatermark).toBe(50);
    state.onFollowerFetch(3, 20, 2);
    expect(state.highWatermark).toBe(50);
  });

  it("does not count a follower outside the ISR", () => {
    const state = leader({ isr: [1, 2] });
    state.onLocalAppend(10);
    state.onFollowerFetch(2, 10, 1);
    expect(state.highWatermark).toBe(10);
  });

  it("never passes the leader's own log end", () => {
    const state = leader({ highWatermark: 500, logEndOffset: 40 });
    expect(state.highWatermark).toBe(40);
    state.onFollowerFetch(2, 999, 1);
    expect(state.follower(2)?.logEndOffset).toBe(40);
  });
});

describe("LeaderPartitionState ISR", () => {
  it("proposes dropping a follower that has not caught up for replica.lag.time.max.ms", () => {
    const state = leader();
    state.onLocalAppend(100);
    state.onFollowerFetch(2, 100, 500);
    state.onFollowerFetch(3, 10, 500);
    expect(state.maybeShrinkIsr(900)).toBeUndefined();
    const proposal = state.maybeShrinkIsr(1001);
    expect(proposal).toEqual({ newIsr: [1, 2], partitionEpoch: 10, leaderEpoch: 5, reason: "isr-shrink" });
    // Not applied locally: the ISR changes only with the controller's answer.
    expect(state.isr).toEqual([1, 2, 3]);
    expect(state.maybeShrinkIsr(2000)).toBeUndefined(); // one change in flight at a time
    expect(state.applyCommittedIsr([1, 2], 11)).toBe(true);
    expect(state.isr).toEqual([1, 2]);
    expect(state.partitionEpoch).toBe(11);
    expect(state.highWatermark).toBe(100);
  });

  it("counts a follower that keeps up under steady load as caught up (Kafka's previous-fetch rule)", () => {
    const state = leader();
    let leo = 0;
    for (let t = 0; t < 5000; t += 100) {
      leo += 10;
      state.onLocalAppend(leo);
      // The follower always trails by the batch appended since its last fetch.
      state.onFollowerFetch(2, leo - 10, t);
      state.onFollowerFetch(3, leo - 10, t);
    }
    expect(state.laggingFollowers(5000)).toEqual([]);
  });

  it("proposes adding a follower back once it reaches the high watermark", () => {
    const state = leader({ isr: [1, 2] });
    state.onLocalAppend(100);
    state.onFollowerFetch(2, 100, 1);
    expect(state.onFollowerFetch(3, 50, 1).expansion).toBeUndefined();
    const result = state.onFollowerFetch(3, 100, 2);
    expect(result.expansion).toEqual({ newIsr: [1, 2, 3], partitionEpoch: 10, leaderEpoch: 5, reason: "isr-expand" });
    // While pending, the HW already waits for the joining follower (maximal ISR).
    state.onLocalAppend(120);
    state.onFollowerFetch(2, 120, 3);
    expect(state.highWatermark).toBe(100);
    state.abandonIsrChange();
    expect(state.highWatermark).toBe(120);
  });

  it("does not add back a follower below the start of this leader's epoch", () => {
    // Leader since offset 80 with HW 50: a follower at 60 has reached the HW but may hold
    // another leader's records between 50 and 80.
    const state = leader({ isr: [1, 2], logEndOffset: 80, highWatermark: 50 });
    state.onFollowerFetch(2, 80, 1);
    expect(state.onFollowerFetch(3, 60, 1).expansion).toBeUndefined();
    expect(state.onFollowerFetch(3, 80, 2).expansion?.newIsr).toEqual([1, 2, 3]);
  });

  it("ignores a committed state older than its partition epoch", () => {
    const state = leader();
    expect(state.applyCommittedIsr([1], 9)).toBe(false);
    expect(state.isr).toEqual([1, 2, 3]);
  });
});

describe("leader epoch checks", () => {
  it("fences older epochs and flags newer ones", () => {
    expect(checkLeaderEpoch(-1, 5)).toBe("ok");
    expect(checkLeaderEpoch(5, 5)).toBe("ok");
    expect(checkLeaderEpoch(4, 5)).toBe("FENCED_LEADER_EPOCH");
    expect(checkLeaderEpoch(6, 5)).toBe("UNKNOWN_LEADER_EPOCH");
  });
});

describe("divergence (KIP-320)", () => {
  // Leader: epoch 1 from 0, epoch 3 from 50, log end 80.
  const leaderCache = epochCache([[1, 0], [3, 50]], 80);

  it("finds no divergence when the follower's last epoch ends at or after its fetch offset", () => {
    expect(findDivergence(40, 1, leaderCache)).toBeUndefined();
    expect(findDivergence(50, 1, leaderCache)).toBeUndefined();
    expect(findDivergence(70, 3, leaderCache)).toBeUndefined();
    expect(findDivergence(0, -1, leaderCache)).toBeUndefined();
  });

  it("reports the shared epoch's end when the follower wrote past it", () => {
    // Follower appended in epoch 1 up to 60 (as the old leader) and never replicated 50..59.
    expect(findDivergence(60, 1, leaderCache)).toEqual({ epoch: 1, endOffset: 50 });
    // Follower has epoch 2 the leader never had: the leader's largest epoch <= 2 is 1.
    expect(findDivergence(70, 2, leaderCache)).toEqual({ epoch: 1, endOffset: 50 });
  });

  it("truncates the follower to the end of the last shared epoch", () => {
    const followerCache = epochCache([[1, 0], [2, 55]], 70);
    const diverging = findDivergence(70, 2, leaderCache)!;
    expect(truncationOffset(diverging, followerCache, 70, 40)).toBe(50);
    // Follower's epoch 1 ended earlier than the leader's: keep only what it has.
    const shortFollower = epochCache([[1, 0], [2, 45]], 70);
    expect(truncationOffset(diverging, shortFollower, 70, 40)).toBe(45);
    // The leader knows no epoch that old: fall back to the committed prefix.
    expect(truncationOffset({ epoch: -1, endOffset: -1 }, followerCache, 70, 40)).toBe(40);
  });
});
