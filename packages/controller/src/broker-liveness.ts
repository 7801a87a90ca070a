// Broker sessions, kept by the active controller only (as Kafka's BrokerHeartbeatManager): when
// a broker's heartbeats stop for broker.session.timeout.ms it must be fenced. A newly active
// controller starts every broker with a fresh session, because it cannot know when the old
// controller last heard from them; so an election never fences a healthy broker.
import { invariant } from "./errors.js";

export class BrokerLiveness {
  private readonly lastContactMs = new Map<number, number>();

  constructor(private readonly sessionTimeoutMs: number) {
    invariant(sessionTimeoutMs > 0, `session timeout must be positive, got ${sessionTimeoutMs}`);
  }

  /** A heartbeat or registration from `brokerId` at `nowMs`. */
  touch(brokerId: number, nowMs: number): void {
    this.lastContactMs.set(brokerId, nowMs);
  }

  forget(brokerId: number): void {
    this.lastContactMs.delete(brokerId);
  }

  /** Whether the broker has been heard from within the session timeout. */
  isAlive(brokerId: number, nowMs: number): boolean {
    const last = this.lastContactMs.get(brokerId);
    return last !== undefined && nowMs - last <= this.sessionTimeoutMs;
  }

  /** Of `candidates`, the brokers whose session has expired at `nowMs` (unknown ones are started now). */
  expired(candidates: Iterable<number>, nowMs: number): number[] {
    const out: number[] = [];
    for (const brokerId of candidates) {
      const last = this.lastContactMs.get(brokerId);
      if (last === undefined) this.lastContactMs.set(brokerId, nowMs);
      else if (nowMs - last > this.sessionTimeoutMs) out.push(brokerId);
    }
    return out;
  }

  lastContact(brokerId: number): number | undefined {
    return this.lastContactMs.get(brokerId);
  }
}
