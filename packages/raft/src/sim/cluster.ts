// The simulated cluster: real RaftDrivers over MemoryRaftStorage, a simulated network and
// per-node clocks, all scheduled on one event queue in simulated time. Crashes abandon a
// node's driver and lose its storage's undurable writes; a restart loads what was durable.
import type { RaftConfigInput } from "../config.js";
import { RaftDriver, type RaftNodeView, type RaftStateMachine } from "../driver.js";
import type { RaftInitialState } from "../node.js";
import { RaftError } from "../errors.js";
import { MemoryRaftStorage } from "../memory-storage.js";
import type { Entry, NodeId, RaftMessage, Snapshot } from "../messages.js";
import { createSeededRandom, type RandomSource } from "../random.js";
import { extendChain, summarizeStored, summarizeView, type LogSummary, type SafetyChecker } from "./checker.js";
import type { EventQueue } from "./event-queue.js";
import type { SimNetwork } from "./network.js";

export interface SimDiskProfile {
  /** Latency of one write, uniform in [min, max]. */
  minWriteMs: number;
  maxWriteMs: number;
  /** Probability of a slow write (a stalled disk), taking up to `slowWriteMs`. */
  slowWriteRate: number;
  slowWriteMs: number;
}

/** The application: a hash chain over the applied sequence, checked against the global record. */
class ChainStateMachine implements RaftStateMachine {
  appliedIndex = 0;
  chain = 0;

  constructor(
    private readonly nodeId: NodeId,
    private readonly checker: SafetyChecker,
    private readonly onApplied: (nodeId: NodeId, entry: Entry) => void,
  ) {}

  apply(entry: Entry): void {
    const after = extendChain(this.chain, entry);
    this.checker.onApply(this.nodeId, entry, this.appliedIndex + 1, after);
    this.chain = after;
    this.appliedIndex = entry.index;
    this.onApplied(this.nodeId, entry);
  }

  restore(snapshot: Snapshot): void {
    const image = JSON.parse(new TextDecoder().decode(snapshot.data)) as { index: number; chain: number };
    if (image.index !== snapshot.index) this.checker.violation("snapshot", `snapshot at ${snapshot.index} holds an image of ${image.index}`);
    this.checker.onRestore(this.nodeId, image.index, image.chain);
    this.appliedIndex = image.index;
    this.chain = image.chain;
  }

  snapshot(): Uint8Array {
    return new TextEncoder().encode(JSON.stringify({ index: this.appliedIndex, chain: this.chain }));
  }
}

class SimNode {
  driver: RaftDriver | null = null;
  stateMachine: ChainStateMachine | null = null;
  incarnation = 0;
  clockOffsetMs = 0;
  readonly storage: MemoryRaftStorage;
  storedSummary: LogSummary | null = null;
  storedSummaryAtWrite = -1;

  constructor(
    readonly id: NodeId,
    scheduleCompletion: (complete: () => void) => void,
  ) {
    this.storage = new MemoryRaftStorage({ scheduleCompletion });
  }
}

export interface SimClusterOptions {
  readonly ids: readonly NodeId[];
  readonly seed: number;
  readonly raft: Omit<RaftConfigInput, "id" | "voters">;
  readonly snapshotEveryEntries: number;
  readonly disk: SimDiskProfile;
}

export class SimCluster {
  readonly nodes: ReadonlyMap<NodeId, SimNode>;
  nowMs = 0;
  crashes = 0;
  /** Called for every entry any node applies. */
  onApplied: (nodeId: NodeId, entry: Entry) => void = () => {};
  /**
   * Called for every message a node sends; returning "crash" kills the sender before the
   * message leaves, together with anything else it sends before the crash takes effect.
   */
  onSend: (message: RaftMessage) => "send" | "crash" = () => "send";
  /** Nodes that have been chosen to crash and may send nothing more. */
  private readonly doomed = new Set<NodeId>();

  constructor(
    private readonly options: SimClusterOptions,
    private readonly queue: EventQueue,
    private readonly network: SimNetwork,
    private readonly checker: SafetyChecker,
    private readonly random: RandomSource,
  ) {
    this.nodes = new Map(options.ids.map((id) => [id, new SimNode(id, (complete) => this.scheduleDiskWrite(complete))]));
  }

  at(delayMs: number, run: () => void): void {
    this.queue.push(this.nowMs + delayMs, run);
  }

  /** Views of the nodes that are up. */
  liveViews(): RaftNodeView[] {
    const views: RaftNodeView[] = [];
    for (const node of this.nodes.values()) if (node.driver !== null) views.push(node.driver.node);
    return views;
  }

  driver(id: NodeId): RaftDriver | null {
    return this.nodes.get(id)!.driver;
  }

  isUp(id: NodeId): boolean {
    return this.nodes.get(id)!.driver !== null;
  }

  start(id: NodeId): void {
    const node = this.nodes.get(id)!;
    const incarnation = ++node.incarnation;
    const stateMachine = new ChainStateMachine(id, this.checker, (nodeId, entry) => this.onApplied(nodeId, entry));
    node.stateMachine = stateMachine;
    const live = () => node.incarnation === incarnation;
    void RaftDriver.start({
      config: { ...this.options.raft, id, voters: this.options.ids },
      storage: node.storage,
      random: createSeededRandom(this.options.seed * 1000 + id * 31 + incarnation),
      snapshotEveryEntries: this.options.snapshotEveryEntries,
      stateMachine,
      transport: { send: (message) => live() && this.send(message) },
      scheduler: {
        nowMs: () => this.nowMs + node.clockOffsetMs,
        setTimer: (delayMs, callback) => {
          const event = this.queue.push(this.nowMs + delayMs, () => live() && callback());
          return () => {
            event.cancelled = true;
          };
        },
      },
      onFatal: (error) => {
        if (live()) this.checker.violation("fatal", `node ${id}: ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
      },
    }).then((driver) => {
      if (live()) node.driver = driver;
    });
  }

  /** kill -9 and power loss at once: the driver is abandoned and undurable writes are lost. */
  crash(id: NodeId): void {
    const node = this.nodes.get(id)!;
    if (node.driver === null) return;
    this.crashes++;
    this.doomed.delete(id);
    node.incarnation++;
    node.driver = null;
    node.stateMachine = null;
    node.storage.crash();
  }

  /** The node's clock leaps forward (an NTP step, a VM pause); its next timer sees the jump. */
  jumpClock(id: NodeId, byMs: number): void {
    this.nodes.get(id)!.clockOffsetMs += byMs;
  }

  /** Every node's log: live ones as they are in memory, crashed ones as their storage holds them. */
  logSummaries(): LogSummary[] {
    return [...this.nodes.values()].map((node) => {
      if (node.driver !== null) return summarizeView(node.driver.node);
      if (node.storedSummaryAtWrite !== node.storage.durableWrites || node.storedSummary === null) {
        node.storedSummary = summarizeStored(node.id, node.storage.durableState());
        node.storedSummaryAtWrite = node.storage.durableWrites;
      }
      return node.storedSummary;
    });
  }

  /** What each node's storage holds durably (what it would load after a power loss). */
  durableStates(): Array<[NodeId, RaftInitialState]> {
    return [...this.nodes.values()].map((node) => [node.id, node.storage.durableState()]);
  }

  appliedIndex(id: NodeId): number {
    return this.nodes.get(id)!.stateMachine?.appliedIndex ?? 0;
  }

  private send(message: RaftMessage): void {
    if (this.doomed.has(message.from)) return;
    if (this.onSend(message) === "crash") {
      this.doomed.add(message.from);
      return;
    }
    for (const delayMs of this.network.deliveries(message)) {
      this.at(delayMs, () => this.nodes.get(message.to)?.driver?.receive(message));
    }
  }

  private scheduleDiskWrite(complete: () => void): void {
    const disk = this.options.disk;
    let latencyMs = disk.minWriteMs + this.random() * (disk.maxWriteMs - disk.minWriteMs);
    if (this.random() < disk.slowWriteRate) latencyMs += this.random() * disk.slowWriteMs;
    this.at(latencyMs, complete);
  }
}

export function isRetriableRaftError(error: unknown): error is RaftError {
  return error instanceof RaftError && error.retriable;
}
