// The one expiry timer: it goes off at the earliest deadline it was told of, then at the next
// one its owner reports, and not at all once stopped.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { DeadlineTimer } from "./deadline-timer.js";

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(1_000);
});
afterEach(() => {
  vi.useRealTimers();
});

describe("DeadlineTimer", () => {
  it("fires at the earliest deadline, then at the next one reported", () => {
    const deadlines = [1_500, 1_200, 1_800];
    const fired: number[] = [];
    const timer = new DeadlineTimer(Date.now, (nowMs) => {
      fired.push(nowMs);
      const next = deadlines.filter((d) => d > nowMs);
      return next.length > 0 ? Math.min(...next) : Infinity;
    });
    for (const deadline of deadlines) timer.armFor(deadline);
    vi.advanceTimersByTime(199);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(fired).toEqual([1_200]);
    vi.advanceTimersByTime(300);
    expect(fired).toEqual([1_200, 1_500]);
    vi.advanceTimersByTime(10_000);
    expect(fired).toEqual([1_200, 1_500, 1_800]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("stays quiet when nothing is due and after stop()", () => {
    const fired: number[] = [];
    const timer = new DeadlineTimer(Date.now, (nowMs) => (fired.push(nowMs), Infinity));
    vi.advanceTimersByTime(5_000);
    expect(fired).toEqual([]);
    timer.armFor(7_000);
    timer.stop();
    timer.armFor(6_500);
    vi.advanceTimersByTime(5_000);
    expect(fired).toEqual([]);
  });
});
