// A hand-driven cluster of RaftNodes for scripted scenario tests: each node has its own clock,
// messages wait in a queue until a test delivers them (or a filter drops them), and a node's
// Readies are processed — persisted to an in-memory durable image, sent, applied — on demand.
// Nothing here is random except the nodes' seeded election jitter.
import type { RaftConfigInput } from "../config.js";
import type { Entry, NodeId, RaftMessage } from "../messages.js";
import { applyStorageWrite, type DurableImage } from "../memory-storage.js";
import { RaftNode, type RaftInitialState } from "../node.js";
import { createSeededRandom } from "../random.js";
import type { ReadState } from "../read-index.js";
import type { Ready } from "../ready.js";
import { storageWriteOf } from "../storage.js";

export type ClusterConfig = Omit<RaftConfigInput, "id" | "voters">;

export class ManualCluster {
  readonly nodes = new Map<NodeId, RaftNode>();
  readonly clocks = new Map<NodeId, number>();
  readonly durable = new Map<NodeId, DurableImage>();
  /** Applied normal entries' data per node, as text, in order. */
  readonly applied = new Map<NodeId, string[]>();
  readonly readStates = new Map<NodeId, ReadState[]>();
  /** Messages sent and not yet delivered or dropped. */
  queue: RaftMessage[] = [];
  /** Every message ever sent, for assertions on traffic. */
  readonly sent: RaftMessage[] = [];
  /** At delivery: false drops the message, a message replaces it, true delivers it as is. */
  filter: (message: RaftMessage) => boolean | RaftMessage = () => true;

  constructor(
    readonly ids: readonly NodeId[],
    readonly config: ClusterConfig = {},
    initialStates: ReadonlyMap<NodeId, RaftInitialState> = new Map(),
  ) {
    for (const id of ids) {
      const initial = initialStates.get(id) ?? { hardState: null, snapshot: null, entries: [] };
      this.durable.set(id, { hardState: initial.hardState, snapshot: initial.snapshot, entries: [...initial.entries] });
      this.clocks.set(id, 0);
      this.start(id);
    }
  }

  node(id: NodeId): RaftNode {
    return this.nodes.get(id)!;
  }

  /** (Re)start a node from its durable image, as after a crash. */
  start(id: NodeId): void {
    const image = this.durable.get(id)!;
    const node = new RaftNode({
      config: { electionTimeoutMs: 100, heartbeatIntervalMs: 20, ...this.config, id, voters: this.ids },
      random: createSeededRandom(id * 7919),
      nowMs: this.clocks.get(id)!,
      initialState: { hardState: image.hardState, snapshot: image.snapshot, entries: [...image.entries] },
    });
    this.nodes.set(id, node);
    this.applied.set(id, image.snapshot === null ? [] : decodeAppliedImage(image.snapshot.data));
    this.readStates.set(id, []);
  }

  /** Advance one node's clock and tick it. */
  advance(id: NodeId, ms: number): void {
    const now = this.clocks.get(id)! + ms;
    this.clocks.set(id, now);
    this.node(id).tick(now);
  }

  /** Let real time pass on the given nodes, in steps, delivering messages as it goes. */
  runFor(ids: readonly NodeId[], durationMs: number, stepMs = 10): void {
    for (let elapsed = 0; elapsed < durationMs; elapsed += stepMs) {
      for (const id of ids) this.advance(id, stepMs);
      this.deliverAll();
    }
  }

  /** Make `id` time out (its own clock only) and campaign. */
  timeout(id: NodeId): void {
    this.advance(id, 2 * (this.config.electionTimeoutMs ?? 100));
  }

  /** Process every node's Readies fully (persist, send, apply, advance) until none is left. */
  processAll(): void {
    let busy = true;
    while (busy) {
      busy = false;
      for (const id of this.ids) busy = this.process(id) || busy;
    }
  }

  /** Process one node's Readies. Returns whether there was anything. */
  process(id: NodeId): boolean {
    let any = false;
    for (let ready = this.node(id).ready(); ready !== null; ready = this.node(id).ready()) {
      any = true;
      this.sendAll(ready.messages);
      this.persist(id, ready);
      this.finish(id, ready);
    }
    return any;
  }

  /** Take a Ready and send its early messages but do not persist it yet (a slow disk). */
  takeReadyWithoutPersisting(id: NodeId): Ready {
    const ready = this.node(id).ready();
    if (ready === null) throw new Error(`node ${id} has no Ready`);
    this.sendAll(ready.messages);
    return ready;
  }

  persist(id: NodeId, ready: Ready): void {
    applyStorageWrite(this.durable.get(id)!, storageWriteOf(ready));
  }

  finish(id: NodeId, ready: Ready): void {
    this.sendAll(ready.messagesAfterPersist);
    if (ready.installSnapshot !== null) this.applied.set(id, decodeAppliedImage(ready.installSnapshot.data));
    for (const entry of ready.committedEntries) if (entry.kind === "normal") this.applied.get(id)!.push(text(entry));
    this.readStates.get(id)!.push(...ready.readStates);
    this.node(id).advance(ready);
  }

  /** Deliver queued messages (and process Readies) until the network is quiet. */
  deliverAll(maxRounds = 1000): void {
    this.processAll();
    for (let round = 0; round < maxRounds && this.queue.length > 0; round++) {
      const batch = this.queue;
      this.queue = [];
      for (const message of batch) this.deliver(message);
      this.processAll();
    }
  }

  deliver(original: RaftMessage): void {
    const verdict = this.filter(original);
    if (verdict === false) return;
    const message = verdict === true ? original : verdict;
    const node = this.nodes.get(message.to);
    if (node === undefined) return;
    node.tick(this.clocks.get(message.to)!);
    node.step(message);
  }

  /** Drop every message to or from `id` until `heal()`. */
  isolate(...isolated: NodeId[]): void {
    this.filter = (message) => !isolated.includes(message.from) && !isolated.includes(message.to);
  }

  heal(): void {
    this.filter = () => true;
  }

  /** Snapshot the application state of `id` at its applied index and compact its log. */
  compact(id: NodeId): void {
    const node = this.node(id);
    node.compact(node.appliedIndex, encodeAppliedImage(this.applied.get(id)!));
  }

  leader(): RaftNode | undefined {
    const leaders = [...this.nodes.values()].filter((node) => node.role === "leader");
    const newestTerm = Math.max(...leaders.map((node) => node.term));
    return leaders.find((node) => node.term === newestTerm);
  }

  /** Elect `id` by timing it out and delivering everything. */
  elect(id: NodeId): void {
    this.timeout(id);
    this.deliverAll();
    if (this.node(id).role !== "leader") throw new Error(`node ${id} failed to become leader (${this.node(id).role})`);
  }

  propose(id: NodeId, value: string): void {
    this.node(id).propose(new TextEncoder().encode(value));
  }

  logTerms(id: NodeId): number[] {
    const node = this.node(id);
    const terms: number[] = [];
    for (let index = node.snapshotIndex + 1; index <= node.lastIndex; index++) terms.push(node.termAt(index)!);
    return terms;
  }

  private sendAll(messages: readonly RaftMessage[]): void {
    for (const message of messages) {
      this.sent.push(message);
      this.queue.push(message);
    }
  }
}

export function text(entry: Entry): string {
  return new TextDecoder().decode(entry.data);
}

export function encodeAppliedImage(applied: readonly string[]): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(applied));
}

export function decodeAppliedImage(data: Uint8Array): string[] {
  return JSON.parse(new TextDecoder().decode(data)) as string[];
}

/** Entries with the given terms, numbered from `firstIndex`, data "i@t". */
export function entriesWithTerms(terms: readonly number[], firstIndex = 1): Entry[] {
  return terms.map((term, k) => ({
    index: firstIndex + k,
    term,
    kind: "normal" as const,
    data: new TextEncoder().encode(`${firstIndex + k}@${term}`),
  }));
}
