// When the fetcher may ask again after a failure: per broker (its Fetch call failed or timed
// out) and per partition (its answer carried an error). Each failure in a row doubles the wait
// (the client's backoff policy, with jitter); a success forgets them. A partition's wait holds
// only while it would be asked of the same broker it failed on: once metadata names another
// leader, the partition is fetched from it at once. Pure: time and randomness come in.
import { type BackoffPolicy, backoffDelayMs } from "../retry.js";

interface Failures {
  attempts: number;
  untilMs: number;
  /** The broker the failure happened on. */
  nodeId: number;
}

export class FetchBackoff {
  private readonly failures = new Map<string, Failures>();

  constructor(
    private readonly policy: BackoffPolicy,
    private readonly random: () => number = Math.random,
  ) {}

  /** Records a failure of `key` on broker `nodeId`; returns when it may be tried again. */
  fail(key: string, nodeId: number, nowMs: number): number {
    const previous = this.failures.get(key);
    const attempts = previous !== undefined && previous.nodeId === nodeId ? previous.attempts + 1 : 1;
    const untilMs = nowMs + backoffDelayMs(this.policy, attempts, this.random);
    this.failures.set(key, { attempts, untilMs, nodeId });
    return untilMs;
  }

  succeed(key: string): void {
    this.failures.delete(key);
  }

  /** Until when `key` must wait before it is asked of broker `nodeId` (0: it need not). */
  blockedUntil(key: string, nodeId: number, nowMs: number): number {
    const failures = this.failures.get(key);
    if (failures === undefined || failures.nodeId !== nodeId || failures.untilMs <= nowMs) return 0;
    return failures.untilMs;
  }

  clear(): void {
    this.failures.clear();
  }
}
