import { describe, expect, it } from "vitest";
import { FetchBackoff } from "./fetch-backoff.js";

const policy = { initialBackoffMs: 100, maxBackoffMs: 1_000, multiplier: 2, jitterFraction: 0 };

describe("FetchBackoff", () => {
  it("waits longer after each failure in a row, up to the cap, and forgets them on success", () => {
    const backoff = new FetchBackoff(policy, () => 0.5);
    expect(backoff.fail("node:1", 1, 0)).toBe(100);
    expect(backoff.fail("node:1", 1, 100)).toBe(300);
    expect(backoff.fail("node:1", 1, 300)).toBe(700);
    for (let i = 0; i < 5; i++) backoff.fail("node:1", 1, 0);
    expect(backoff.blockedUntil("node:1", 1, 0)).toBe(1_000);
    expect(backoff.blockedUntil("node:1", 1, 1_000)).toBe(0);
    backoff.succeed("node:1");
    expect(backoff.fail("node:1", 1, 0)).toBe(100);
  });

  it("holds a partition back only from the broker it failed on: a new leader is asked at once", () => {
    const backoff = new FetchBackoff(policy, () => 0.5);
    backoff.fail("t\u00000", 2, 0);
    expect(backoff.blockedUntil("t\u00000", 2, 50)).toBe(100);
    expect(backoff.blockedUntil("t\u00000", 3, 50)).toBe(0);
    // A failure on another broker starts the count again.
    backoff.fail("t\u00000", 2, 0);
    expect(backoff.fail("t\u00000", 3, 0)).toBe(100);
  });
});
