import { describe, expect, it } from "vitest";
import { DelayedOperations, type DelayedOperation } from "./delayed-operations.js";

class WaitForValue implements DelayedOperation {
  outcome: "pending" | "completed" | "expired" = "pending";
  constructor(readonly keys: string[], readonly deadlineMs: number, private readonly source: { value: number }, private readonly target: number) {}
  tryComplete(): boolean {
    if (this.source.value < this.target) return false;
    this.outcome = "completed";
    return true;
  }
  expire(): void {
    this.outcome = "expired";
  }
}

describe("DelayedOperations", () => {
  it("completes at once when the condition already holds", () => {
    const ops = new DelayedOperations(10);
    const op = new WaitForValue(["t-0"], 100, { value: 5 }, 5);
    expect(ops.add(op, 0)).toBe(true);
    expect(op.outcome).toBe("completed");
    expect(ops.size).toBe(0);
  });

  it("completes a parked operation when its key is checked after the condition holds", () => {
    const ops = new DelayedOperations(10);
    const hw = { value: 0 };
    const op = new WaitForValue(["t-0", "t-1"], 100, hw, 10);
    ops.add(op, 0);
    expect(ops.checkKey("t-0", 1)).toBe(0);
    hw.value = 10;
    expect(ops.checkKey("other", 2)).toBe(0);
    expect(ops.checkKey("t-1", 2)).toBe(1);
    expect(op.outcome).toBe("completed");
    expect(ops.size).toBe(0);
    expect(ops.checkKey("t-0", 3)).toBe(0);
  });

  it("answers every operation watching a key at once with expireKey, whatever its condition", () => {
    const ops = new DelayedOperations(10);
    const never = { value: 0 };
    const a = new WaitForValue(["t-0", "follower-fetch:2"], 100, never, 1);
    const b = new WaitForValue(["t-1", "follower-fetch:2"], 100, never, 1);
    const c = new WaitForValue(["t-0", "follower-fetch:3"], 100, never, 1);
    for (const op of [a, b, c]) ops.add(op, 0);
    expect(ops.expireKey("follower-fetch:2", 1)).toBe(2);
    expect([a.outcome, b.outcome, c.outcome]).toEqual(["expired", "expired", "pending"]);
    expect(ops.size).toBe(1);
    // Gone from every key it watched: checking them again touches only what is left.
    never.value = 1;
    expect(ops.checkKey("t-1", 2)).toBe(0);
    expect(ops.checkKey("t-0", 2)).toBe(1);
    expect(ops.expireKey("follower-fetch:2", 3)).toBe(0);
  });

  it("expires operations at their deadline, once", () => {
    const ops = new DelayedOperations(10);
    const a = new WaitForValue(["k"], 100, { value: 0 }, 1);
    const b = new WaitForValue(["k"], 200, { value: 0 }, 1);
    ops.add(a, 0);
    ops.add(b, 0);
    expect(ops.nextDeadlineMs()).toBe(100);
    expect(ops.expireDue(150)).toBe(1);
    expect(a.outcome).toBe("expired");
    expect(b.outcome).toBe("pending");
    expect(ops.expireDue(150)).toBe(0);
    ops.expireAll(151);
    expect(b.outcome).toBe("expired");
  });

  it("refuses to park more than its bound", () => {
    const ops = new DelayedOperations(1);
    expect(ops.add(new WaitForValue(["k"], 100, { value: 0 }, 1), 0)).toBe(true);
    const refused = new WaitForValue(["k"], 100, { value: 0 }, 1);
    expect(ops.add(refused, 0)).toBe(false);
    expect(refused.outcome).toBe("pending");
  });

  it("tells its owner the deadline of each operation it parks, not of those done at once", () => {
    const told: number[] = [];
    const ops = new DelayedOperations(10, (deadlineMs) => told.push(deadlineMs));
    ops.add(new WaitForValue(["t-0"], 100, { value: 5 }, 5), 0);
    ops.add(new WaitForValue(["t-0"], 250, { value: 0 }, 5), 0);
    expect(told).toEqual([250]);
    expect(ops.nextDeadlineMs()).toBe(250);
  });
});
