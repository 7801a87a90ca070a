// What the group coordinator needs from the rest of the broker, and the shapes it shares with it.
//
// The broker owns the __consumer_offsets partitions (replication, leadership, storage); the
// coordinator only appends to and reads from the ones this broker leads. The interface below is
// the coordinator's view of them. Until the broker publishes its own CoordinatorPartitionAccess
// (packages/broker/src/coordinator-partitions.ts), this local definition is the contract.

/** Where a partition's leader can be reached; sent to clients with NOT_COORDINATOR. */
export interface PartitionLeader {
  nodeId: number;
  host: string;
  port: number;
  leaderEpoch: number;
}

/** One read of an offsets partition: whole record batches below the high watermark. */
export interface CommittedRead {
  /** Zero or more whole RecordBatch v2 batches, back to back, all below `highWatermark`. */
  records: Buffer;
  highWatermark: number;
  /** The leader's log end offset when read (>= highWatermark). */
  logEndOffset: number;
}

export interface LeadershipChange {
  /** A partition of __consumer_offsets. */
  partition: number;
  isLeader: boolean;
  leaderEpoch: number;
}

export interface CoordinatorPartitionAccess {
  /** Appends one RecordBatch to a partition this broker leads, resolving once acks=all holds. Rejects with a TributaryError. */
  appendCommitted(partition: number, batch: Buffer): Promise<{ baseOffset: number }>;
  /** Reads committed batches starting at `fromOffset` (at most about `maxBytes`). */
  readCommitted(partition: number, fromOffset: number, maxBytes: number): Promise<CommittedRead>;
  /** Called when this broker becomes or stops being leader of an offsets partition. Returns an unsubscribe function. */
  onLeadershipChange(listener: (change: LeadershipChange) => void): () => void;
  /** The current leader of an offsets partition, or undefined when it has none (or the topic does not exist yet). */
  leaderOf(partition: number): PartitionLeader | undefined;
  /** Creates __consumer_offsets (compacted, replicated) if it does not exist yet; resolves when its partitions have leaders. */
  ensureOffsetsTopic(): Promise<void>;
  /** Partitions of __consumer_offsets (offsets.topic.num.partitions once created). */
  partitionCount(): number;
  /** Earliest and latest offsets of a data partition this broker can see; undefined when unknown. */
  offsetsOf(topic: string, partition: number): { logStartOffset: number; highWatermark: number } | undefined;
}

/** Milliseconds since the epoch; injected so tests drive time. */
export type Clock = () => number;
