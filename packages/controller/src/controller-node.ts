// One controller of the quorum at run time: the Raft driver, the committed metadata log, and,
// while this node leads, the active QuorumController. It turns a request into a proposal and
// answers once the proposal has committed; on a node that is not the active controller it
// answers NOT_CONTROLLER with the leader it knows. Time comes from an injected clock.
import { MetadataImage, int64ToNumber, type v1 } from "@tributary/protocol";
import { type Entry, type RaftDriver, RaftError, type SoftState } from "@tributary/raft";
import type { Logger } from "pino";
import type { ControllerSettings } from "./controller-context.js";
import { type WireError, wireError } from "./errors.js";
import { applyBatch, batchCodec, cloneImage } from "./metadata-records.js";
import { ProposalBatcher } from "./proposal-batcher.js";
import type { MetadataLog } from "./metadata-log.js";
import { type ControllerWrite, QuorumController } from "./quorum-controller.js";

export interface Voter {
  id: number;
  host: string;
  port: number;
}

export type WriteOutcome<R> = { ok: true; response: R } | { ok: false; error: WireError; controller: v1.LeaderHint };

export interface ControllerNodeOptions {
  settings: ControllerSettings;
  voters: readonly Voter[];
  metadataLog: MetadataLog;
  log: Logger;
  nowMs: () => number;
  newTopicId: () => string;
  /** How often sessions are checked and preferred leaders balanced. */
  tickIntervalMs: number;
  /** How long a write waits for a new leader to become active, and then to commit. */
  writeTimeoutMs: number;
}

interface ActiveState {
  controller: QuorumController;
  batcher: ProposalBatcher;
  inflight: number;
  valid: boolean;
}

/** Records per Raft entry when writes are grouped (a bound on one entry's size). */
const MAX_RECORDS_PER_ENTRY = 4_096;
/** Writes waiting to commit on this node; beyond it callers get RESOURCE_EXHAUSTED and back off. */
const MAX_PENDING_WRITES = 10_000;
/** Wait before rebuilding the active state after a refused proposal. */
const REBUILD_DELAY_MS = 50;

export class ControllerNode {
  private driver: RaftDriver | null = null;
  private active: ActiveState | null = null;
  private activationWaiters: (() => void)[] = [];
  private tickTimer: NodeJS.Timeout | null = null;
  private pendingWrites = 0;
  private standby: MetadataImage | null = null;
  private standbyRebuild: NodeJS.Timeout | null = null;
  /** Liveness-tracking metadata streams open on this node, per broker (kept while not active too). */
  private readonly brokerStreams = new Map<number, number>();
  private connectionTimer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(private readonly options: ControllerNodeOptions) {}

  /** Wire the driver in once it has started (it needs this node's callbacks first). */
  attach(driver: RaftDriver): void {
    this.driver = driver;
    this.tickTimer = setInterval(() => this.tick(), this.options.tickIntervalMs);
    this.tickTimer.unref();
    this.scheduleStandbyRebuild();
    const status = driver.status();
    if (status.role === "leader") this.scheduleActivation(status.term);
  }

  /** RaftDriver's onSoftState. */
  onSoftState(state: SoftState): void {
    this.options.log.info({ raftRole: state.role, term: state.term, leaderId: state.leaderId }, "raft state");
    if (state.role !== "leader") this.deactivate();
    else this.scheduleActivation(state.term);
  }

  /** MetadataLog's onApplied: once the leader's noop is applied, every earlier entry is too (the fallback path). */
  onApplied(entry: Entry): void {
    if (entry.kind !== "noop") return;
    const status = this.driver?.status();
    if (status && status.role === "leader" && status.term === entry.term) this.scheduleActivation(entry.term);
  }

  private scheduleActivation(term: number): void {
    // Outside the Raft loop: activation proposes, which must not re-enter the driver mid-Ready.
    queueMicrotask(() => {
      const status = this.driver?.status();
      if (this.stopped || !status || status.role !== "leader" || status.term !== term) return;
      if (this.active?.valid && this.active.controller.term === term) return;
      this.activate(term);
    });
  }

  /** MetadataLog's onBatch: keep the standby image in step with the committed one. */
  onCommittedBatch(batch: v1.MetadataRecordBatch__Output): void {
    const standby = this.standby;
    if (!standby) return;
    if (int64ToNumber(batch.baseOffset) !== standby.lastAppliedOffset + 1) {
      this.standby = null; // out of step (it missed a batch): build a new one
      this.scheduleStandbyRebuild();
      return;
    }
    applyBatch(standby, batch);
  }

  /** MetadataLog's onRestored: the committed image jumped to a snapshot. */
  onRestored(): void {
    this.standby = null;
    this.scheduleStandbyRebuild();
  }

  /**
   * Copying a large image takes long (~100 ms for 40,000 topics here), so a node that is not
   * active keeps a ready copy in step with the committed image, and a new leader starts from
   * it rather than copying on the failover path. The copy is made again after leadership ends.
   */
  private scheduleStandbyRebuild(): void {
    if (this.standbyRebuild) return;
    this.standbyRebuild = setTimeout(() => {
      this.standbyRebuild = null;
      if (this.stopped || this.standby || this.active?.valid) return;
      this.standby = cloneImage(this.options.metadataLog.image, new MetadataImage());
    }, 0);
    this.standbyRebuild.unref();
  }

  /** The committed image as a private copy, from the standby when there is one. */
  private takeCommittedCopy(): MetadataImage {
    const standby = this.standby;
    this.standby = null;
    if (standby && standby.lastAppliedOffset === this.options.metadataLog.committedOffset) return standby;
    return cloneImage(this.options.metadataLog.image, new MetadataImage());
  }

  /**
   * The image as of the end of this leader's log: the committed image plus the entries of
   * earlier terms it holds but has not seen commit yet. A leader never loses entries of its own
   * log, and they all commit with its first entry, so the new active controller may start from
   * them at once instead of waiting a round for its noop to commit (Kafka's controller too
   * replays up to the leader's log end). Answers still wait for their own records to commit.
   * Null when an entry is not in the log any more (then activation waits for the noop).
   */
  private leaderLogImage(): MetadataImage | null {
    const driver = this.driver!;
    const metadataLog = this.options.metadataLog;
    const lastIndex = driver.status().lastIndex;
    const entries: Entry[] = [];
    for (let index = metadataLog.appliedIndex + 1; index <= lastIndex; index++) {
      const entry = driver.node.entryAt(index);
      if (!entry) return null;
      entries.push(entry);
    }
    const image = this.takeCommittedCopy();
    for (const entry of entries) {
      if (entry.kind === "normal" && entry.data.byteLength > 0) applyBatch(image, batchCodec.decode(entry.data));
    }
    return image;
  }

  private activate(term: number): void {
    const image = this.leaderLogImage();
    if (!image) return;
    const controller = new QuorumController({
      image,
      settings: this.options.settings,
      term,
      nowMs: this.options.nowMs(),
      newTopicId: this.options.newTopicId,
      connectedBrokerIds: [...this.brokerStreams].flatMap(([brokerId, open]) => Array<number>(open).fill(brokerId)),
    });
    const driver = this.driver!;
    const batcher = new ProposalBatcher((data) => driver.propose(data), MAX_RECORDS_PER_ENTRY);
    this.active = { controller, batcher, inflight: 0, valid: true };
    this.options.log.info({ term, committedOffset: this.options.metadataLog.committedOffset }, "active controller");
    this.commit(this.active, controller.activate(this.options.nowMs())).catch(() => undefined); // logged in commit
    for (const wake of this.activationWaiters.splice(0)) wake();
  }

  private deactivate(): void {
    if (!this.active) return;
    this.active.valid = false;
    this.active = null;
    this.options.log.info("no longer the active controller");
    this.scheduleStandbyRebuild();
  }

  /** Proposes a write's records and resolves once they (and everything before) have committed. */
  private async commit<R>(state: ActiveState, write: ControllerWrite<R>): Promise<R> {
    state.inflight++;
    try {
      if (write.records.length > 0) await state.batcher.add(write.baseOffset, write.records);
      await this.options.metadataLog.waitForOffset(write.waitForOffset);
      // A write with no records of its own answered from the working image: if that image was
      // dropped meanwhile, what it waited for may never have committed, so its answer is void.
      if (write.records.length === 0 && !state.valid) throw new RaftError("NOT_LEADER", "the active controller's state was dropped before the answer was confirmed");
      return write.response;
    } catch (error) {
      // The working image holds records that will not commit: rebuild it from the committed one.
      if (state.valid) {
        state.valid = false;
        if (this.active === state) this.active = null;
        this.options.log.warn({ err: error }, "a metadata proposal failed; rebuilding the active controller's state");
      }
      throw error;
    } finally {
      state.inflight--;
      // Later, not at once: a proposal refused during a leadership transfer would be refused again.
      if (!state.valid && state.inflight === 0) setTimeout(() => this.rebuildIfLeader(), REBUILD_DELAY_MS).unref();
    }
  }

  private rebuildIfLeader(): void {
    const status = this.driver?.status();
    if (this.stopped || this.active || !status || status.role !== "leader") return;
    this.activate(status.term);
  }

  /** Who to ask instead: the leader Raft knows of (-1 when none), with its address and term. */
  leaderHint(): v1.LeaderHint {
    const status = this.driver?.status();
    const leaderId = status?.leaderId ?? -1;
    const voter = this.options.voters.find((v) => v.id === leaderId);
    return { nodeId: leaderId, endpoint: voter ? { host: voter.host, port: voter.port, listenerName: "CONTROLLER" } : null, leaderEpoch: status?.term ?? -1 };
  }

  private notController(why: string): WriteOutcome<never> {
    const hint = this.leaderHint();
    const leader = hint.nodeId === -1 ? "no leader is known yet" : `the active controller is ${hint.nodeId}`;
    return { ok: false, error: wireError("NOT_CONTROLLER", `controller ${this.options.settings.nodeId} ${why}; ${leader}`), controller: hint };
  }

  private async waitForActivation(deadlineMs: number): Promise<ActiveState | null> {
    while (!this.stopped) {
      if (this.active?.valid) return this.active;
      const status = this.driver?.status();
      if (!status || status.role !== "leader") return null;
      const remaining = deadlineMs - this.options.nowMs();
      if (remaining <= 0) return null;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(remaining, 50));
        this.activationWaiters.push(() => { clearTimeout(timer); resolve(); });
      });
    }
    return null;
  }

  /** Runs `operation` on the active controller and answers once its records commit. */
  async write<R>(operation: (controller: QuorumController, nowMs: number) => ControllerWrite<R>, timeoutMs?: number): Promise<WriteOutcome<R>> {
    if (this.pendingWrites >= MAX_PENDING_WRITES) {
      return { ok: false, error: wireError("RESOURCE_EXHAUSTED", `${this.pendingWrites} metadata writes are already waiting to commit; retry later`), controller: this.leaderHint() };
    }
    this.pendingWrites++;
    try {
      return await this.writeOnActive(operation, timeoutMs);
    } finally {
      this.pendingWrites--;
    }
  }

  private async writeOnActive<R>(operation: (controller: QuorumController, nowMs: number) => ControllerWrite<R>, timeoutMs?: number): Promise<WriteOutcome<R>> {
    const waitMs = timeoutMs && timeoutMs > 0 ? timeoutMs : this.options.writeTimeoutMs;
    const deadlineMs = this.options.nowMs() + waitMs;
    const state = this.active?.valid ? this.active : await this.waitForActivation(deadlineMs);
    if (!state) return this.notController("is not the active controller");
    const write = operation(state.controller, this.options.nowMs());
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<"timeout">((resolve) => { timer = setTimeout(() => resolve("timeout"), Math.max(1, deadlineMs - this.options.nowMs())); });
    try {
      const committing = this.commit(state, write);
      // After a timeout nobody awaits the commit any more; its later failure is already logged.
      committing.catch(() => undefined);
      const result = await Promise.race([committing, timeout]);
      if (result === "timeout") {
        return { ok: false, error: wireError("REQUEST_TIMED_OUT", `the metadata write did not commit within ${waitMs} ms`), controller: this.leaderHint() };
      }
      return { ok: true, response: result };
    } catch (error) {
      if (error instanceof RaftError && (error.code === "NOT_LEADER" || error.code === "PROPOSAL_DROPPED" || error.code === "STOPPED")) {
        return this.notController("lost leadership before the write committed");
      }
      return { ok: false, error: wireError("UNKNOWN_SERVER_ERROR", `the metadata write failed: ${String(error)}`), controller: this.leaderHint() };
    } finally {
      clearTimeout(timer);
    }
  }

  /** A broker opened its liveness-tracking metadata stream to this node. */
  brokerStreamOpened(brokerId: number): void {
    this.brokerStreams.set(brokerId, (this.brokerStreams.get(brokerId) ?? 0) + 1);
    if (this.active?.valid) this.active.controller.brokerStreamOpened(brokerId, this.options.nowMs());
  }

  /** That stream ended: if the broker stays silent, the active controller fences it after the grace. */
  brokerStreamClosed(brokerId: number): void {
    const open = this.brokerStreams.get(brokerId) ?? 0;
    if (open <= 1) this.brokerStreams.delete(brokerId);
    else this.brokerStreams.set(brokerId, open - 1);
    const state = this.active;
    if (!state?.valid || this.stopped) return;
    state.controller.brokerStreamClosed(brokerId, this.options.nowMs());
    this.scheduleConnectionCheck(state);
  }

  /** A tick when the earliest lost connection's grace ends, rather than up to a tick interval later. */
  private scheduleConnectionCheck(state: ActiveState): void {
    const nowMs = this.options.nowMs();
    const dueMs = state.controller.nextConnectionDeadlineMs(nowMs);
    if (dueMs === undefined || this.connectionTimer) return;
    this.connectionTimer = setTimeout(() => {
      this.connectionTimer = null;
      this.tick();
    }, dueMs - nowMs + 1);
    this.connectionTimer.unref();
  }

  private tick(): void {
    const state = this.active;
    if (!state?.valid || this.stopped) return;
    const write = state.controller.tick(this.options.nowMs());
    const { fencedBrokerIds, connectionLostBrokerIds } = write.response;
    if (connectionLostBrokerIds.length > 0) this.options.log.info({ brokerIds: connectionLostBrokerIds }, "broker connections lost; fencing");
    if (fencedBrokerIds.length > 0) this.options.log.info({ brokerIds: fencedBrokerIds }, "broker sessions expired; fencing");
    if (write.records.length > 0) {
      const brokerIds = [...connectionLostBrokerIds, ...fencedBrokerIds];
      this.commit(state, write).then(
        () => { if (brokerIds.length > 0) this.options.log.info({ brokerIds }, "broker fencing committed"); },
        () => undefined, // logged in commit
      );
    }
    // Another lost connection still in its grace; one the majority guard held back waits for regular ticks.
    if (state.valid) this.scheduleConnectionCheck(state);
  }

  isActive(): boolean {
    return this.active?.valid === true;
  }

  stop(): void {
    this.stopped = true;
    if (this.tickTimer) clearInterval(this.tickTimer);
    if (this.standbyRebuild) clearTimeout(this.standbyRebuild);
    if (this.connectionTimer) clearTimeout(this.connectionTimer);
    this.deactivate();
  }
}
