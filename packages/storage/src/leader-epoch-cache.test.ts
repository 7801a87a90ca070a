import { describe, expect, it } from "vitest";
import { LeaderEpochCache } from "./leader-epoch-cache.js";

describe("leader epoch cache", () => {
  it("answers OffsetsForLeaderEpoch as Kafka does", () => {
    const cache = new LeaderEpochCache();
    expect(cache.endOffsetFor(0, 0)).toEqual({ leaderEpoch: -1, endOffset: -1 }); // nothing known
    cache.assign(1, 0);
    cache.assign(3, 100);
    cache.assign(5, 250);
    const logEnd = 300;
    expect(cache.endOffsetFor(5, logEnd)).toEqual({ leaderEpoch: 5, endOffset: 300 }); // latest: the log end
    expect(cache.endOffsetFor(3, logEnd)).toEqual({ leaderEpoch: 3, endOffset: 250 });
    expect(cache.endOffsetFor(4, logEnd)).toEqual({ leaderEpoch: 3, endOffset: 250 }); // largest epoch <= 4
    expect(cache.endOffsetFor(0, logEnd)).toEqual({ leaderEpoch: 0, endOffset: 0 }); // older than all known
    expect(cache.endOffsetFor(6, logEnd)).toEqual({ leaderEpoch: -1, endOffset: -1 }); // newer than all known
    expect(cache.endOffsetFor(-1, logEnd)).toEqual({ leaderEpoch: -1, endOffset: -1 });
  });

  it("ignores repeats of the latest epoch and drops entries a new one contradicts", () => {
    const cache = new LeaderEpochCache();
    expect(cache.assign(2, 10)).toBe(true);
    expect(cache.assign(2, 15)).toBe(false);
    expect(cache.assign(4, 30)).toBe(true);
    expect(cache.assign(3, 20)).toBe(true); // an older epoch at an earlier offset: 4@30 cannot stand
    expect(cache.snapshot()).toEqual([{ epoch: 2, startOffset: 10 }, { epoch: 3, startOffset: 20 }]);
  });

  it("stays consistent when the log is truncated at either end", () => {
    const cache = new LeaderEpochCache([{ epoch: 1, startOffset: 0 }, { epoch: 2, startOffset: 50 }, { epoch: 3, startOffset: 80 }]);
    expect(cache.truncateFromEnd(80)).toBe(true);
    expect(cache.latestEpoch).toBe(2);
    expect(cache.truncateFromStart(60)).toBe(true);
    expect(cache.snapshot()).toEqual([{ epoch: 2, startOffset: 60 }]);
    expect(cache.truncateFromStart(60)).toBe(false);
  });

  it("round-trips through Kafka's checkpoint format and refuses out-of-order content", () => {
    const cache = new LeaderEpochCache([{ epoch: 0, startOffset: 0 }, { epoch: 7, startOffset: 1234 }]);
    expect(cache.toCheckpointLines()).toEqual(["2", "0 0", "7 1234"]);
    expect(LeaderEpochCache.fromCheckpointLines(cache.toCheckpointLines(), "test").snapshot()).toEqual(cache.snapshot());
    expect(() => LeaderEpochCache.fromCheckpointLines(["2", "7 1234", "0 0"], "test")).toThrow(/out of order/);
    expect(() => LeaderEpochCache.fromCheckpointLines(["3", "0 0"], "test")).toThrow(/says 3 entries/);
  });
});
