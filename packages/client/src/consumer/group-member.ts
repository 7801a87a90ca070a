// Drives a Membership: sends heartbeats to the coordinator on their own timer (never tied to
// poll() or to user code), runs reconciliations one at a time through the consumer's hooks,
// finds the coordinator again when it moves, and leaves the group when asked or when poll()
// has not been called for maxPollIntervalMs.
import { hostname } from "node:os";
import type { v1 } from "@tributary/protocol";
import type { Cluster } from "../cluster.js";
import { type TributaryError, asTributaryError, errorFor } from "../errors.js";
import { backoffDelayMs } from "../retry.js";
import { unary } from "../rpc.js";
import type { HeartbeatOutcome, Membership } from "./membership.js";
import type { CoordinatorLocator } from "./offsets.js";
import type { TopicPartition } from "./types.js";

export interface GroupMemberHooks {
  /** Commit (with auto-commit), stop fetching, tell the listener; resolve when done. */
  revoke(partitions: TopicPartition[]): Promise<void>;
  /** Start owning: positions from committed offsets, tell the listener. */
  assign(partitions: TopicPartition[]): Promise<void>;
  /** Owned partitions are gone without a commit. */
  lose(partitions: TopicPartition[]): Promise<void>;
  /** The group refused this member for good. */
  onFatal(error: TributaryError): void;
  /** When poll() was last called (ms since the epoch). */
  lastPollMs(): number;
}

export interface GroupMemberOptions {
  requestTimeoutMs: number;
  maxPollIntervalMs: number;
  /** Overrides the coordinator's interval when set. */
  heartbeatIntervalMs: number | undefined;
}

export class GroupMember {
  private timer: NodeJS.Timeout | undefined;
  private heartbeatInFlight = false;
  private reconciling = false;
  private stopped = false;
  private failures = 0;
  private readonly clientHost = hostname();
  /** True after this member left because poll() was not called in time; the next poll rejoins. */
  leftForPollTimeout = false;
  /** Resolves whenever an assignment round completes (poll waits on the first one). */
  private assignmentWaiters: Array<() => void> = [];
  assignmentReceived = false;

  constructor(
    private readonly cluster: Cluster,
    private readonly locator: CoordinatorLocator,
    readonly membership: Membership,
    private readonly options: GroupMemberOptions,
    private readonly hooks: GroupMemberHooks,
  ) {}

  start(): void {
    this.stopped = false;
    this.heartbeatSoon(0);
  }

  /** Resolves once the member has received and applied an assignment (or after `timeoutMs`). */
  waitForAssignment(timeoutMs: number): Promise<void> {
    if (this.assignmentReceived) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.assignmentWaiters.push(done);
    });
  }

  private assignmentApplied(): void {
    this.assignmentReceived = true;
    const waiters = this.assignmentWaiters;
    this.assignmentWaiters = [];
    for (const resolve of waiters) resolve();
  }

  heartbeatSoon(delayMs: number): void {
    if (this.stopped) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.heartbeat();
    }, delayMs);
  }

  private nextIntervalMs(): number {
    return this.options.heartbeatIntervalMs ?? this.membership.heartbeatIntervalMs;
  }

  private async heartbeat(): Promise<void> {
    if (this.stopped || this.heartbeatInFlight) return;
    if (!this.membership.isActive) return;
    if (Date.now() - this.hooks.lastPollMs() > this.options.maxPollIntervalMs) {
      await this.leaveForPollTimeout();
      return;
    }
    this.heartbeatInFlight = true;
    const request = this.membership.buildHeartbeat(this.clientHost);
    let outcome: HeartbeatOutcome;
    try {
      const coordinator = await this.locator.get();
      const stubs = this.cluster.stubs(coordinator.address);
      const response = await unary<v1.ConsumerGroupHeartbeatResponse__Output>(
        (o, cb) => stubs.groups.ConsumerGroupHeartbeat(request, o, cb),
        this.options.requestTimeoutMs,
        `ConsumerGroupHeartbeat(${request.groupId})`,
      );
      outcome = this.membership.onHeartbeatResponse(request, response);
    } catch (error) {
      outcome = this.membership.onHeartbeatFailed(asTributaryError(error).code);
    } finally {
      this.heartbeatInFlight = false;
    }
    await this.handle(outcome);
  }

  private async handle(outcome: HeartbeatOutcome): Promise<void> {
    switch (outcome.kind) {
      case "ok":
        this.failures = 0;
        if (!this.reconciling && this.membership.state === "stable" && this.membership.hasReceivedAssignment) this.assignmentApplied();
        this.heartbeatSoon(this.nextIntervalMs());
        return;
      case "reconcile":
        this.failures = 0;
        this.log("info", { revoke: outcome.revoke, assign: outcome.assign }, "reconciling assignment");
        this.heartbeatSoon(this.nextIntervalMs());
        void this.reconcile(outcome);
        return;
      case "lost":
        this.failures = 0;
        this.log("warn", { lost: outcome.lost, code: outcome.error }, "member fenced: partitions lost, rejoining");
        await this.safely(() => this.hooks.lose(outcome.lost));
        this.heartbeatSoon(0);
        return;
      case "coordinator-moved":
        this.log("debug", { code: outcome.error }, "group coordinator moved or unreachable");
        this.locator.forget();
        this.heartbeatSoon(this.backoffMs());
        return;
      case "retry":
        this.heartbeatSoon(this.backoffMs());
        return;
      case "fatal":
        this.cluster.options.logger.error({ groupId: this.locator.groupId, code: outcome.error, error: outcome.message }, "the group refused this member");
        this.hooks.onFatal(errorFor(outcome.error, `group ${this.locator.groupId} refused this member: ${outcome.message}`));
        return;
      case "left":
        return;
    }
  }

  private log(level: "debug" | "info" | "warn", fields: Record<string, unknown>, message: string): void {
    this.cluster.options.logger[level]({ groupId: this.locator.groupId, memberId: this.membership.memberId, memberEpoch: this.membership.memberEpoch, ...fields }, message);
  }

  private backoffMs(): number {
    this.failures++;
    return backoffDelayMs(this.cluster.options.backoff, Math.min(this.failures, 10));
  }

  private async reconcile(first: Extract<HeartbeatOutcome, { kind: "reconcile" }>): Promise<void> {
    if (this.reconciling) return;
    this.reconciling = true;
    let round: HeartbeatOutcome = first;
    try {
      while (round.kind === "reconcile" && !this.stopped) {
        if (round.revoke.length > 0) await this.safely(() => this.hooks.revoke((round as { revoke: TopicPartition[] }).revoke));
        if (round.assign.length > 0) await this.safely(() => this.hooks.assign((round as { assign: TopicPartition[] }).assign));
        round = this.membership.reconciled();
      }
    } finally {
      this.reconciling = false;
    }
    this.assignmentApplied();
    // Acknowledge the new owned set now rather than at the next interval.
    this.heartbeatSoon(0);
  }

  private async safely(run: () => Promise<void>): Promise<void> {
    try {
      await run();
    } catch {
      // Hooks report their own errors; a rebalance never stops on them.
    }
  }

  private async leaveForPollTimeout(): Promise<void> {
    this.log("warn", { maxPollIntervalMs: this.options.maxPollIntervalMs }, "poll() not called within maxPollIntervalMs: leaving the group");
    // Give the partitions up locally first: once the coordinator hears we left, they may be
    // someone else's, and this consumer must not return another record of them.
    const lost = this.membership.ownedPartitions();
    this.leftForPollTimeout = true;
    await this.safely(() => this.hooks.lose(lost));
    await this.leave();
  }

  /** Rejoin after a poll timeout (called by poll()). */
  rejoin(topics: string[]): void {
    this.leftForPollTimeout = false;
    this.assignmentReceived = false;
    this.membership.subscribe(topics);
    this.heartbeatSoon(0);
  }

  /** Sends the leave heartbeat (epoch -1), bounded by the request timeout; never throws. */
  async leave(): Promise<void> {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.membership.isActive || this.membership.memberId === "") {
      this.membership.leave();
      return;
    }
    this.membership.leave();
    const request = this.membership.buildHeartbeat(this.clientHost);
    try {
      const coordinator = await this.locator.get();
      const stubs = this.cluster.stubs(coordinator.address);
      const response = await unary<v1.ConsumerGroupHeartbeatResponse__Output>(
        (o, cb) => stubs.groups.ConsumerGroupHeartbeat(request, o, cb),
        Math.min(this.options.requestTimeoutMs, 5_000),
        `leave group ${request.groupId}`,
      );
      this.membership.onHeartbeatResponse(request, response);
    } catch {
      // The coordinator will drop us after the session timeout instead.
      this.membership.onHeartbeatFailed("NETWORK_EXCEPTION");
    }
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.assignmentApplied();
  }
}
