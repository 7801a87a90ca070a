// What the group coordinator needs from the rest of the broker, and the shapes it shares with it.
//
// The broker owns the __consumer_offsets partitions (replication, leadership, storage); the
// coordinator only appends to and reads from the ones this broker leads, through the broker's
// CoordinatorPartitionAccess (src/coordinator-partitions.ts). Loading relies on two of its
// promises: readCommitted returns whole batches below the high watermark starting at or after
// `fromOffset` (at least one batch when one exists there), and reports the log end offset, so a
// new coordinator waits until everything the previous leader acknowledged is committed.
export type { CommittedRead, CoordinatorPartitionAccess, LeadershipChange, PartitionLeader } from "../coordinator-partitions.js";

/** Milliseconds since the epoch; injected so tests drive time. */
export type Clock = () => number;
