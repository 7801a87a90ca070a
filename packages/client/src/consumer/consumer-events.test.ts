import { describe, expect, it } from "vitest";
import { ConsumerEvents } from "./consumer-events.js";

describe("ConsumerEvents", () => {
  it("never lets a listener's throw or rejection escape; reports it as an error event", async () => {
    const seen: string[] = [];
    const events = new ConsumerEvents({
      onPartitionsRevoked: async () => {
        throw new Error("listener rejected");
      },
    });
    events.add("partitionsRevoked", () => {
      throw new Error("listener threw");
    });
    events.add("error", (e) => void seen.push((e as Error).message));
    await expect(events.rebalance("onPartitionsRevoked", "partitionsRevoked", [{ topic: "t", partition: 0 }])).resolves.toBeUndefined();
    expect(seen).toEqual(["listener threw", "listener rejected"]);
  });

  it("calls the RebalanceListener with its own `this`, after the event listeners", async () => {
    const order: string[] = [];
    const listener = {
      name: "mine",
      onPartitionsAssigned(this: { name: string }, partitions: { partition: number }[]) {
        order.push(`${this.name}:${partitions.map((p) => p.partition).join()}`);
      },
    };
    const events = new ConsumerEvents(listener);
    events.add("partitionsAssigned", () => void order.push("event"));
    await events.rebalance("onPartitionsAssigned", "partitionsAssigned", [{ topic: "t", partition: 1 }, { topic: "t", partition: 2 }]);
    expect(order).toEqual(["event", "mine:1,2"]);
  });
});
