// Requests that wait for a condition (Kafka's "purgatory"): an acks=all produce waits for the
// high watermark to pass its batches, a long-poll fetch waits for bytes. Each operation watches
// one or more keys (a partition: "topic-partition"); whoever moves a partition's HW or log end
// calls checkKey, and a timer calls expireDue. Bounded: past `maxOperations` a new operation is
// refused, and the caller answers RESOURCE_EXHAUSTED (or completes the request at once).
// Pure: time is passed in; the server's timer is the only clock.
import { assert } from "./assert.js";

export interface DelayedOperation {
  readonly keys: readonly string[];
  readonly deadlineMs: number;
  /** Completes and answers the request when its condition holds; returns whether it did. */
  tryComplete(nowMs: number): boolean;
  /** The deadline passed (or the broker is stopping): answer with what there is. */
  expire(nowMs: number): void;
}

export class DelayedOperations {
  private readonly watchers = new Map<string, Set<DelayedOperation>>();
  private readonly pending = new Set<DelayedOperation>();

  /**
   * @param onParked told each parked operation's deadline, so the owner of the clock can arm a
   *   timer for the earliest one instead of polling expireDue.
   */
  constructor(private readonly maxOperations: number, private readonly onParked?: (deadlineMs: number) => void) {
    assert(maxOperations > 0, "maxOperations must be positive");
  }

  get size(): number {
    return this.pending.size;
  }

  /**
   * Tries the operation once; if not done, parks it. Returns false when it could not be parked
   * because the bound is reached (the operation was neither completed nor expired: the caller answers).
   */
  add(operation: DelayedOperation, nowMs: number): boolean {
    if (operation.tryComplete(nowMs)) return true;
    if (this.pending.size >= this.maxOperations) return false;
    this.pending.add(operation);
    for (const key of operation.keys) {
      let set = this.watchers.get(key);
      if (!set) this.watchers.set(key, (set = new Set()));
      set.add(operation);
    }
    this.onParked?.(operation.deadlineMs);
    return true;
  }

  /** Something changed on `key`: completes the operations watching it that can complete now. */
  checkKey(key: string, nowMs: number): number {
    const set = this.watchers.get(key);
    if (!set) return 0;
    let completed = 0;
    for (const operation of [...set]) {
      if (!this.pending.has(operation)) continue;
      if (operation.tryComplete(nowMs)) {
        this.remove(operation);
        completed++;
      }
    }
    return completed;
  }

  /** Answers now, with what there is, every operation watching `key`, whatever its condition. */
  expireKey(key: string, nowMs: number): number {
    const set = this.watchers.get(key);
    if (!set) return 0;
    const operations = [...set];
    for (const operation of operations) {
      this.remove(operation);
      operation.expire(nowMs);
    }
    return operations.length;
  }

  /** Expires every operation whose deadline has passed. */
  expireDue(nowMs: number): number {
    let expired = 0;
    for (const operation of [...this.pending]) {
      if (operation.deadlineMs > nowMs) continue;
      this.remove(operation);
      operation.expire(nowMs);
      expired++;
    }
    return expired;
  }

  /** Expires everything (leadership moved for all, or the broker is stopping). */
  expireAll(nowMs: number): void {
    for (const operation of [...this.pending]) {
      this.remove(operation);
      operation.expire(nowMs);
    }
  }

  /** The earliest deadline, for arming a timer; undefined when nothing waits. */
  nextDeadlineMs(): number | undefined {
    let earliest: number | undefined;
    for (const operation of this.pending) if (earliest === undefined || operation.deadlineMs < earliest) earliest = operation.deadlineMs;
    return earliest;
  }

  private remove(operation: DelayedOperation): void {
    this.pending.delete(operation);
    for (const key of operation.keys) {
      const set = this.watchers.get(key);
      if (!set) continue;
      set.delete(operation);
      if (set.size === 0) this.watchers.delete(key);
    }
  }
}
