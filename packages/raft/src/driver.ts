// RaftDriver: runs a RaftNode's loop against real (or simulated) storage, transport, timers
// and state machine, so the controller wires them together with little code.
//
// The loop: after any input (a message, a timer, a proposal, a read), take the node's Ready;
// send its early messages; write it to storage (one atomic write, synced when needed); then send
// the messages that depended on the write, apply committed entries, serve confirmed reads and
// call `advance`. While a write is in flight, new inputs accumulate in the node and go out in
// the next Ready — so writes group-commit by themselves under load.
//
// The driver owns no clock and no sockets: `scheduler` gives time and one-shot timers,
// `transport.send` is fire-and-forget, and incoming messages are passed to `receive`.
import type { RaftConfigInput } from "./config.js";
import { RaftError } from "./errors.js";
import type { LogPosition } from "./log.js";
import type { Entry, NodeId, RaftMessage, Snapshot } from "./messages.js";
import { RaftNode, type RaftInitialState } from "./node.js";
import type { RandomSource } from "./random.js";
import { readyHasWrites, type RaftRole, type Ready, type SoftState } from "./ready.js";
import { storageWriteOf, type RaftStorage } from "./storage.js";

export interface RaftScheduler {
  /** Milliseconds on a monotonic clock. */
  nowMs(): number;
  /** Run `callback` once after `delayMs`; returns a function that cancels it. */
  setTimer(delayMs: number, callback: () => void): () => void;
}

/** The scheduler of a real process: performance.now() and setTimeout. */
export const realTimeScheduler: RaftScheduler = {
  nowMs: () => performance.now(),
  setTimer: (delayMs, callback) => {
    const timer = setTimeout(callback, delayMs);
    return () => clearTimeout(timer);
  },
};

export interface RaftTransport {
  /** Fire-and-forget; the message may be lost. Must not throw. */
  send(message: RaftMessage): void;
}

export interface RaftStateMachine {
  /** Apply one committed entry, in index order. Skip `noop` entries (they only carry a term). */
  apply(entry: Entry): void;
  /** Replace the whole state with a snapshot's image (sent by the leader, or loaded at start). */
  restore(snapshot: Snapshot): void;
  /** The state's image at the last applied index, for `snapshotEveryEntries`. */
  snapshot?(): Uint8Array;
}

export interface RaftDriverOptions {
  readonly config: RaftConfigInput;
  readonly storage: RaftStorage;
  readonly transport: RaftTransport;
  readonly scheduler: RaftScheduler;
  readonly stateMachine: RaftStateMachine;
  /** Defaults to Math.random; pass a seeded source in tests. */
  readonly random?: RandomSource;
  /** Take a snapshot (via `stateMachine.snapshot`) and compact the log every this many applied entries. */
  readonly snapshotEveryEntries?: number;
  /** Role, term or leader changed. */
  readonly onSoftState?: (state: SoftState) => void;
  /** Storage or the state machine failed, or an invariant broke: the driver has stopped. */
  readonly onFatal?: (error: unknown) => void;
}

export interface RaftStatus {
  readonly id: NodeId;
  readonly role: RaftRole;
  readonly term: number;
  readonly leaderId: NodeId | null;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly lastIndex: number;
  readonly snapshotIndex: number;
}

/** The node's read-only face, for status pages and the simulator's checks. */
export type RaftNodeView = Pick<
  RaftNode,
  | "id"
  | "term"
  | "vote"
  | "role"
  | "leaderId"
  | "commitIndex"
  | "appliedIndex"
  | "lastIndex"
  | "snapshotIndex"
  | "latestSnapshot"
  | "termAt"
  | "entryAt"
  | "followerProgress"
>;

interface PendingProposal {
  readonly term: number;
  readonly resolve: (position: LogPosition) => void;
  readonly reject: (error: Error) => void;
}

interface PendingRead {
  index: number | null;
  readonly resolve: (index: number) => void;
  readonly reject: (error: Error) => void;
}

export class RaftDriver {
  private readonly raft: RaftNode;
  private readonly options: RaftDriverOptions;
  private writing = false;
  private writeDone: Promise<void> = Promise.resolve();
  private stopped = false;
  private cancelTimer: (() => void) | null = null;
  private timerAtMs = Infinity;
  private readonly proposals = new Map<number, PendingProposal>();
  private readonly reads = new Map<number, PendingRead>();
  private nextReadId = 1;

  private constructor(options: RaftDriverOptions, initialState: RaftInitialState) {
    this.options = options;
    this.raft = new RaftNode({
      config: options.config,
      random: options.random ?? Math.random,
      nowMs: options.scheduler.nowMs(),
      initialState,
    });
    if (initialState.snapshot !== null) options.stateMachine.restore(initialState.snapshot);
  }

  /** Load durable state from `options.storage` and start the node as a follower. */
  static async start(options: RaftDriverOptions): Promise<RaftDriver> {
    const initialState = await options.storage.load();
    const driver = new RaftDriver(options, initialState);
    driver.run(() => {});
    return driver;
  }

  get node(): RaftNodeView {
    return this.raft;
  }

  status(): RaftStatus {
    const node = this.raft;
    return {
      id: node.id,
      role: node.role,
      term: node.term,
      leaderId: node.leaderId,
      commitIndex: node.commitIndex,
      appliedIndex: node.appliedIndex,
      lastIndex: node.lastIndex,
      snapshotIndex: node.snapshotIndex,
    };
  }

  /** A message from the transport. */
  receive(message: RaftMessage): void {
    this.run(() => this.raft.step(message));
  }

  /**
   * Replicate `data`; resolves once it is committed and applied here. Rejects with NOT_LEADER,
   * OVERLOADED, TRANSFER_IN_PROGRESS at once; later with PROPOSAL_DROPPED if another leader's
   * entry took its place. It may stay pending while this node is cut off: callers add a timeout.
   */
  propose(data: Uint8Array): Promise<LogPosition> {
    return new Promise((resolve, reject) => {
      this.run(() => {
        this.requireRunning();
        const position = this.raft.propose(data);
        // An older proposal still waiting at this index was overwritten in our own log.
        this.proposals.get(position.index)?.reject(new RaftError("PROPOSAL_DROPPED", `entry ${position.index} was replaced`));
        this.proposals.set(position.index, { term: position.term, resolve, reject });
      }, reject);
    });
  }

  /** A linearizable read barrier: resolves with an index once this node has applied it. */
  read(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.run(() => {
        this.requireRunning();
        const requestId = this.nextReadId++;
        this.raft.readIndex(requestId);
        this.reads.set(requestId, { index: null, resolve, reject });
      }, reject);
    });
  }

  /** Hand leadership to `target` (e.g. before a clean shutdown). Throws NOT_LEADER. */
  transferLeadership(target: NodeId): void {
    this.requireRunning();
    this.raft.tick(this.options.scheduler.nowMs());
    this.raft.transferLeadership(target);
    this.pump();
  }

  /** The application's snapshot at `index` (at most the applied index): compact the log. */
  compact(index: number, data: Uint8Array): void {
    this.run(() => this.raft.compact(index, data));
  }

  /** Stop timers and inputs, wait for an in-flight write, fail everything pending. */
  async stop(): Promise<void> {
    this.halt(new RaftError("STOPPED", `raft node ${this.raft.id} was stopped`));
    await this.writeDone;
  }

  // ---- The loop ----

  /** Run an input against the node, then the loop; failures become fatal (or go to `onError`). */
  private run(input: () => void, onError?: (error: unknown) => void): void {
    if (this.stopped) {
      onError?.(new RaftError("STOPPED", `raft node ${this.raft.id} is stopped`));
      return;
    }
    try {
      this.raft.tick(this.options.scheduler.nowMs());
      input();
    } catch (error) {
      if (onError !== undefined && error instanceof RaftError) {
        onError(error);
      } else {
        this.fail(error);
        onError?.(error);
        return;
      }
    }
    this.pump();
  }

  private pump(): void {
    try {
      while (!this.writing && !this.stopped) {
        const ready = this.raft.ready();
        if (ready === null) break;
        for (const message of ready.messages) this.options.transport.send(message);
        // A Ready whose only write is a new commit index skips the disk: the commit index is
        // saved whenever the hard state next travels with a synced write, and losing it is
        // harmless (a restarted node re-learns it from the leader).
        const commitOnly = !ready.mustSync && ready.entries.length === 0 && ready.compaction === null;
        if (!readyHasWrites(ready) || commitOnly) {
          this.finish(ready);
          continue;
        }
        this.writing = true;
        this.writeDone = this.options.storage.write(storageWriteOf(ready), { sync: ready.mustSync }).then(
          () => {
            this.writing = false;
            if (this.stopped) return;
            this.guard(() => this.finish(ready));
            this.pump();
          },
          (error: unknown) => {
            this.writing = false;
            this.fail(error);
          },
        );
      }
      this.armTimer();
    } catch (error) {
      this.fail(error);
    }
  }

  /** Everything after the write is durable: send, restore, apply, serve reads, advance. */
  private finish(ready: Ready): void {
    for (const message of ready.messagesAfterPersist) this.options.transport.send(message);
    if (ready.installSnapshot !== null) this.restoreSnapshot(ready.installSnapshot);
    for (const entry of ready.committedEntries) {
      this.options.stateMachine.apply(entry);
      this.settleProposal(entry);
    }
    for (const readState of ready.readStates) {
      const read = this.reads.get(readState.requestId);
      if (read !== undefined) read.index = readState.index;
    }
    for (const requestId of ready.droppedReads) {
      this.reads.get(requestId)?.reject(new RaftError("READ_DROPPED", "leadership was lost before the read was confirmed"));
      this.reads.delete(requestId);
    }
    if (ready.softState !== null) this.options.onSoftState?.(ready.softState);
    this.raft.advance(ready);
    this.serveReads();
    this.maybeSnapshot();
  }

  private restoreSnapshot(snapshot: Snapshot): void {
    this.options.stateMachine.restore(snapshot);
    for (const [index, proposal] of this.proposals) {
      if (index > snapshot.index) continue;
      proposal.reject(new RaftError("OUTCOME_UNKNOWN", `entry ${index} was covered by a snapshot from the leader`));
      this.proposals.delete(index);
    }
  }

  private settleProposal(entry: Entry): void {
    const proposal = this.proposals.get(entry.index);
    if (proposal === undefined) return;
    this.proposals.delete(entry.index);
    if (proposal.term === entry.term) proposal.resolve({ index: entry.index, term: entry.term });
    else proposal.reject(new RaftError("PROPOSAL_DROPPED", `entry ${entry.index} was replaced by a leader of term ${entry.term}`));
  }

  private serveReads(): void {
    const applied = this.raft.appliedIndex;
    for (const [requestId, read] of this.reads) {
      if (read.index === null || read.index > applied) continue;
      this.reads.delete(requestId);
      read.resolve(read.index);
    }
  }

  private maybeSnapshot(): void {
    const every = this.options.snapshotEveryEntries;
    const takeSnapshot = this.options.stateMachine.snapshot?.bind(this.options.stateMachine);
    if (every === undefined || takeSnapshot === undefined) return;
    const applied = this.raft.appliedIndex;
    if (applied - this.raft.snapshotIndex >= every) this.raft.compact(applied, takeSnapshot());
  }

  private armTimer(): void {
    if (this.stopped) return;
    const deadlineMs = this.raft.nextDeadlineMs();
    // An earlier timer is kept: it fires, finds little to do, and re-arms for the real deadline.
    if (this.cancelTimer !== null && this.timerAtMs <= deadlineMs) return;
    this.cancelTimer?.();
    const nowMs = this.options.scheduler.nowMs();
    this.timerAtMs = deadlineMs;
    this.cancelTimer = this.options.scheduler.setTimer(Math.max(0, deadlineMs - nowMs), () => {
      this.cancelTimer = null;
      this.timerAtMs = Infinity;
      this.run(() => {});
    });
  }

  private guard(action: () => void): void {
    try {
      action();
    } catch (error) {
      this.fail(error);
    }
  }

  private requireRunning(): void {
    if (this.stopped) throw new RaftError("STOPPED", `raft node ${this.raft.id} is stopped`);
  }

  private fail(error: unknown): void {
    if (this.stopped) return;
    this.halt(new RaftError("STOPPED", `raft node ${this.raft.id} stopped after a fatal error: ${String(error)}`));
    this.options.onFatal?.(error);
  }

  private halt(reason: RaftError): void {
    if (this.stopped) return;
    this.stopped = true;
    this.cancelTimer?.();
    this.cancelTimer = null;
    for (const proposal of this.proposals.values()) proposal.reject(reason);
    for (const read of this.reads.values()) read.reject(reason);
    this.proposals.clear();
    this.reads.clear();
  }
}
