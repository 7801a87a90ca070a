import { describe, expect, it } from "vitest";
import { placeReplicas, rackAlternatedOrder } from "./placement.js";

describe("replica placement", () => {
  it("puts each partition's replicas on distinct racks when racks allow it", () => {
    const brokers = [
      { brokerId: 1, rack: "a" }, { brokerId: 2, rack: "a" }, { brokerId: 3, rack: "b" },
      { brokerId: 4, rack: "b" }, { brokerId: 5, rack: "c" }, { brokerId: 6, rack: "c" },
    ];
    expect(rackAlternatedOrder(brokers).map((b) => b.rack)).toEqual(["a", "b", "c", "a", "b", "c"]);
    const rackOf = new Map(brokers.map((b) => [b.brokerId, b.rack]));
    const placements = placeReplicas(brokers, 12, 3, 0);
    const leaders = new Map<number, number>();
    for (const replicas of placements) {
      expect(new Set(replicas.map((id) => rackOf.get(id))).size).toBe(3);
      leaders.set(replicas[0]!, (leaders.get(replicas[0]!) ?? 0) + 1);
    }
    expect([...leaders.values()]).toEqual([2, 2, 2, 2, 2, 2]);
  });

  it("shifts followers so one broker's partitions do not all follow to the same broker", () => {
    const brokers = [1, 2, 3, 4].map((brokerId) => ({ brokerId, rack: "" }));
    const placements = placeReplicas(brokers, 8, 2, 0);
    const followersOf1 = placements.filter((r) => r[0] === 1).map((r) => r[1]);
    expect(new Set(followersOf1).size).toBe(2);
  });

  it("refuses more replicas than brokers", () => {
    expect(() => placeReplicas([{ brokerId: 1, rack: "" }], 1, 2, 0)).toThrow(/replication factor 2 .* 1 live/);
  });
});
