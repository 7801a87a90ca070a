// What the consumer owns and where it is in each partition: the position (the next offset
// poll() returns), the fetch offset (the next offset to ask a broker for), pause state, the
// last high watermark seen (for lag), and whether the position must first be looked up
// (committed offset or reset). Pure.
import { type OffsetResetPolicy, type TopicPartition, tpKey } from "./types.js";

export type PositionSource = "committed" | "earliest" | "latest" | "none";

export interface PartitionPosition {
  readonly key: string;
  readonly topic: string;
  readonly partition: number;
  /** Next offset poll() returns; null until looked up. */
  position: number | null;
  /** Next offset to fetch (>= position); null until looked up. */
  fetchOffset: number | null;
  /** How to find the position when it is null. */
  pendingLookup: PositionSource | null;
  paused: boolean;
  /** Set while revocation runs: no more fetches, no more records returned. */
  revoking: boolean;
  highWatermark: number;
  logStartOffset: number;
  /** Bumped by every seek or reset so a fetch answer for an older position is dropped. */
  positionEpoch: number;
  /**
   * The id of the fetch that asks for this partition now (0: none). A partition whose leader
   * moves while a fetch to the old one hangs is released (set to 0) and asked of the new
   * leader; the old fetch's answer for it, if it ever comes, is then dropped.
   */
  inFlightFetchId: number;
}

export class SubscriptionState {
  private readonly positions = new Map<string, PartitionPosition>();
  /** Topics subscribed to (group mode); empty with assign(). */
  subscribedTopics: string[] = [];
  mode: "none" | "subscribe" | "assign" = "none";

  constructor(private readonly resetPolicy: OffsetResetPolicy) {}

  assigned(): PartitionPosition[] {
    return [...this.positions.values()];
  }

  assignedPartitions(): TopicPartition[] {
    return this.assigned().map(({ topic, partition }) => ({ topic, partition }));
  }

  get(key: string): PartitionPosition | undefined {
    return this.positions.get(key);
  }

  has(topic: string, partition: number): boolean {
    return this.positions.has(tpKey(topic, partition));
  }

  /** Adds partitions whose position comes from `source` (committed offsets in a group, else the reset policy). */
  add(partitions: TopicPartition[], source: PositionSource): PartitionPosition[] {
    const added: PartitionPosition[] = [];
    for (const { topic, partition } of partitions) {
      const key = tpKey(topic, partition);
      if (this.positions.has(key)) continue;
      const state: PartitionPosition = {
        key,
        topic,
        partition,
        position: null,
        fetchOffset: null,
        pendingLookup: source,
        paused: false,
        revoking: false,
        highWatermark: -1,
        logStartOffset: -1,
        positionEpoch: 0,
        inFlightFetchId: 0,
      };
      this.positions.set(key, state);
      added.push(state);
    }
    return added;
  }

  remove(partitions: TopicPartition[]): void {
    for (const { topic, partition } of partitions) this.positions.delete(tpKey(topic, partition));
  }

  clear(): void {
    this.positions.clear();
  }

  /** Sets the position (seek, a committed offset found, a reset done); drops what was fetched for the old one. */
  seek(key: string, offset: number): void {
    const state = this.positions.get(key);
    if (state === undefined) throw new RangeError(`partition ${key.replace("\u0000", "-")} is not assigned to this consumer`);
    if (!Number.isSafeInteger(offset) || offset < 0) throw new RangeError(`offset must be a non-negative safe integer, got ${offset}`);
    state.position = offset;
    state.fetchOffset = offset;
    state.pendingLookup = null;
    state.positionEpoch++;
  }

  /** The position must be looked up again (seekToBeginning/End, or out of range with a reset policy). */
  requestLookup(key: string, source: PositionSource): void {
    const state = this.positions.get(key);
    if (state === undefined) throw new RangeError(`partition ${key.replace("\u0000", "-")} is not assigned to this consumer`);
    state.position = null;
    state.fetchOffset = null;
    state.pendingLookup = source;
    state.positionEpoch++;
  }

  /** The reset policy's lookup for an out-of-range or missing offset ("none" means: raise it). */
  resetSource(): PositionSource {
    return this.resetPolicy;
  }

  needingLookup(): PartitionPosition[] {
    return this.assigned().filter((s) => s.pendingLookup !== null);
  }

  /** Partitions a fetch may ask for now. */
  fetchable(): PartitionPosition[] {
    return this.assigned().filter((s) => !s.paused && !s.revoking && s.inFlightFetchId === 0 && s.fetchOffset !== null && s.pendingLookup === null);
  }

  /** Whether poll() may return records of this partition. */
  isReturnable(key: string): boolean {
    const state = this.positions.get(key);
    return state !== undefined && !state.paused && !state.revoking && state.position !== null;
  }

  /** Committable positions of owned partitions. */
  positionsToCommit(partitions?: TopicPartition[]): Map<string, number> {
    const chosen = partitions === undefined ? this.assigned() : partitions.map((p) => this.positions.get(tpKey(p.topic, p.partition))).filter((s) => s !== undefined);
    const out = new Map<string, number>();
    for (const state of chosen) if (state.position !== null) out.set(state.key, state.position);
    return out;
  }
}
