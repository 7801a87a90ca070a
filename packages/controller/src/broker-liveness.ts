// Broker sessions, kept by the active controller only (as Kafka's BrokerHeartbeatManager): when
// a broker's heartbeats stop for broker.session.timeout.ms it must be fenced. A newly active
// controller starts every broker with a fresh session, because it cannot know when the old
// controller last heard from them; so an election never fences a healthy broker.
//
// A faster sign than silence: each broker keeps its metadata stream open to the active
// controller, and a killed broker's connection closes at once. When every such stream of a
// broker has ended and the broker has not been heard from since (no heartbeat, registration or
// new stream) for `connectionGraceMs`, its connection is lost and it may be fenced then. The
// grace covers a broker reconnecting after a blip, and one heartbeat interval or more.
import { invariant } from "./errors.js";

export interface BrokerLivenessOptions {
  sessionTimeoutMs: number;
  /** How long after its last stream ends a silent broker counts as lost. */
  connectionGraceMs: number;
}

export class BrokerLiveness {
  private readonly lastContactMs = new Map<number, number>();
  /** Streams open from each broker (briefly two while a reconnect overlaps the old one's end). */
  private readonly openStreams = new Map<number, number>();
  /** When each broker's last open stream ended, while it has not been heard from since. */
  private readonly streamsEndedAtMs = new Map<number, number>();

  constructor(private readonly options: BrokerLivenessOptions) {
    invariant(options.sessionTimeoutMs > 0, `session timeout must be positive, got ${options.sessionTimeoutMs}`);
    invariant(options.connectionGraceMs > 0, `connection grace must be positive, got ${options.connectionGraceMs}`);
  }

  /** A heartbeat or registration from `brokerId` at `nowMs`. */
  touch(brokerId: number, nowMs: number): void {
    this.lastContactMs.set(brokerId, nowMs);
    this.streamsEndedAtMs.delete(brokerId);
  }

  /** The broker opened its metadata stream to this controller: it is alive now. */
  streamOpened(brokerId: number, nowMs: number): void {
    this.openStreams.set(brokerId, (this.openStreams.get(brokerId) ?? 0) + 1);
    this.touch(brokerId, nowMs);
  }

  /** One of the broker's streams ended (cleanly or not: gRPC's server cannot tell them apart). */
  streamClosed(brokerId: number, nowMs: number): void {
    const open = this.openStreams.get(brokerId) ?? 0;
    invariant(open > 0, `broker ${brokerId} closed a stream it never opened`);
    if (open > 1) {
      this.openStreams.set(brokerId, open - 1);
      return;
    }
    this.openStreams.delete(brokerId);
    this.streamsEndedAtMs.set(brokerId, nowMs);
  }

  hasOpenStream(brokerId: number): boolean {
    return this.openStreams.has(brokerId);
  }

  forget(brokerId: number): void {
    this.lastContactMs.delete(brokerId);
    this.streamsEndedAtMs.delete(brokerId);
  }

  /** Whether the broker has been heard from within the session timeout. */
  isAlive(brokerId: number, nowMs: number): boolean {
    const last = this.lastContactMs.get(brokerId);
    return last !== undefined && nowMs - last <= this.options.sessionTimeoutMs;
  }

  /** Of `candidates`, the brokers whose session has expired at `nowMs` (unknown ones are started now). */
  expired(candidates: Iterable<number>, nowMs: number): number[] {
    const out: number[] = [];
    for (const brokerId of candidates) {
      const last = this.lastContactMs.get(brokerId);
      if (last === undefined) this.lastContactMs.set(brokerId, nowMs);
      else if (nowMs - last > this.options.sessionTimeoutMs) out.push(brokerId);
    }
    return out;
  }

  /** Of `candidates`, the brokers whose streams all ended at least the grace ago, silent since. */
  connectionLost(candidates: Iterable<number>, nowMs: number): number[] {
    const out: number[] = [];
    for (const brokerId of candidates) {
      const endedAtMs = this.streamsEndedAtMs.get(brokerId);
      if (endedAtMs !== undefined && nowMs - endedAtMs >= this.options.connectionGraceMs) out.push(brokerId);
    }
    return out;
  }

  /** When the next grace after `nowMs` ends (for a timer), or undefined when none is running. */
  nextConnectionDeadlineMs(nowMs: number): number | undefined {
    let earliest: number | undefined;
    for (const endedAtMs of this.streamsEndedAtMs.values()) {
      const due = endedAtMs + this.options.connectionGraceMs;
      if (due > nowMs && (earliest === undefined || due < earliest)) earliest = due;
    }
    return earliest;
  }

  lastContact(brokerId: number): number | undefined {
    return this.lastContactMs.get(brokerId);
  }
}
