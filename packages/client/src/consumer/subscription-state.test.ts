import { describe, expect, it } from "vitest";
import { SubscriptionState } from "./subscription-state.js";
import { tpKey } from "./types.js";

describe("SubscriptionState", () => {
  it("fetches only positioned, unpaused, unrevoked partitions, and a seek invalidates older answers", () => {
    const state = new SubscriptionState("earliest");
    state.add([{ topic: "t", partition: 0 }, { topic: "t", partition: 1 }], "committed");
    expect(state.fetchable()).toHaveLength(0);
    expect(state.needingLookup().map((s) => s.partition)).toEqual([0, 1]);
    state.seek(tpKey("t", 0), 5);
    state.seek(tpKey("t", 1), 7);
    const epoch = state.get(tpKey("t", 0))!.positionEpoch;
    state.get(tpKey("t", 1))!.paused = true;
    expect(state.fetchable().map((s) => s.partition)).toEqual([0]);
    state.seek(tpKey("t", 0), 2);
    expect(state.get(tpKey("t", 0))!.positionEpoch).toBe(epoch + 1);
    expect(state.positionsToCommit()).toEqual(new Map([[tpKey("t", 0), 2], [tpKey("t", 1), 7]]));
    state.requestLookup(tpKey("t", 0), state.resetSource());
    expect(state.get(tpKey("t", 0))!.pendingLookup).toBe("earliest");
    expect(() => state.seek(tpKey("t", 9), 1)).toThrow(RangeError);
    expect(() => state.seek(tpKey("t", 1), -1)).toThrow(RangeError);
  });
});
