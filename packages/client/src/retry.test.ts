import { TributaryError } from "@tributary/protocol";
import { describe, expect, it } from "vitest";
import { TimeoutError } from "./errors.js";
import { DEFAULT_BACKOFF, backoffDelayMs, retrying } from "./retry.js";

describe("backoffDelayMs", () => {
  it("grows exponentially up to the cap, with jitter inside its fraction", () => {
    const noJitter = { ...DEFAULT_BACKOFF, jitterFraction: 0 };
    expect([1, 2, 3, 4, 5, 6].map((a) => backoffDelayMs(noJitter, a))).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect(backoffDelayMs(DEFAULT_BACKOFF, 1, () => 0)).toBe(80);
    expect(backoffDelayMs(DEFAULT_BACKOFF, 1, () => 0.999999)).toBe(120);
    expect(() => backoffDelayMs(DEFAULT_BACKOFF, 0)).toThrow(RangeError);
  });
});

describe("retrying", () => {
  const fast = { policy: { ...DEFAULT_BACKOFF, initialBackoffMs: 1, maxBackoffMs: 1 }, timeoutMs: 10_000, sleep: async () => {} };

  it("retries retriable errors, running onRetriable before each retry", async () => {
    const seen: string[] = [];
    let calls = 0;
    const result = await retrying(
      async () => {
        calls++;
        if (calls < 3) throw new TributaryError("NOT_LEADER_OR_FOLLOWER", "moved");
        return "done";
      },
      { ...fast, retries: 5, onRetriable: (error, attempt) => void seen.push(`${error.code}#${attempt}`) },
    );
    expect(result).toBe("done");
    expect(seen).toEqual(["NOT_LEADER_OR_FOLLOWER#1", "NOT_LEADER_OR_FOLLOWER#2"]);
  });

  it("stops at a non-retriable error and at the retry limit", async () => {
    let calls = 0;
    await expect(
      retrying(async () => {
        calls++;
        throw new TributaryError("TOPIC_ALREADY_EXISTS");
      }, { ...fast, retries: 5 }),
    ).rejects.toMatchObject({ code: "TOPIC_ALREADY_EXISTS" });
    expect(calls).toBe(1);
    calls = 0;
    await expect(
      retrying(async () => {
        calls++;
        throw new TributaryError("LEADER_NOT_AVAILABLE");
      }, { ...fast, retries: 2 }),
    ).rejects.toMatchObject({ code: "LEADER_NOT_AVAILABLE" });
    expect(calls).toBe(3);
  });

  it("gives up with a TimeoutError once the next wait would pass the deadline", async () => {
    let nowMs = 0;
    const error = await retrying(
      async () => {
        throw new TributaryError("COORDINATOR_NOT_AVAILABLE");
      },
      { policy: { ...DEFAULT_BACKOFF, jitterFraction: 0 }, retries: 100, timeoutMs: 250, now: () => nowMs, sleep: async (ms) => void (nowMs += ms) },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as TimeoutError).code).toBe("REQUEST_TIMED_OUT");
    expect(nowMs).toBe(100); // waited 100, the next 200 would pass 250
  });
});
