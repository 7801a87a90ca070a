// Reads an offsets partition back into an OffsetsPartition when this broker becomes its
// leader. Everything the previous leader acknowledged is in this broker's log but may sit above
// its high watermark until the followers fetch again, so the load goes on until the high
// watermark reaches the log end seen at the first read and everything below it is replayed.
import { decodeBatch, iterateBatches } from "@tributary/records";
import type { OffsetsPartition } from "./offsets-partition.js";
import type { CoordinatorPartitionAccess } from "./types.js";

export interface ReplayOptions {
  readBytes: number;
  /** Wait between reads while the high watermark catches up. */
  retryMs: number;
  delay(ms: number): Promise<void>;
  /** False once the partition was resigned or reloaded: the load stops. */
  stillCurrent(): boolean;
}

/** Resolves true once everything is replayed, false if the load was abandoned; rejects on a read error. */
export async function replayPartition(access: CoordinatorPartitionAccess, partition: OffsetsPartition, options: ReplayOptions): Promise<boolean> {
  let nextOffset = 0;
  let loadUpTo: number | undefined;
  while (options.stillCurrent()) {
    const read = await access.readCommitted(partition.partition, nextOffset, options.readBytes);
    if (!options.stillCurrent()) return false;
    loadUpTo ??= read.logEndOffset;
    nextOffset = replayBatches(partition, read.records, nextOffset);
    if (read.records.length > 0 && nextOffset < read.highWatermark) continue;
    if (nextOffset >= loadUpTo && read.highWatermark >= loadUpTo) return true;
    await options.delay(options.retryMs);
  }
  return false;
}

/** Replays whole batches; returns the offset after the last record read. */
function replayBatches(partition: OffsetsPartition, bytes: Buffer, fromOffset: number): number {
  let nextOffset = fromOffset;
  for (const { pos } of iterateBatches(bytes)) {
    const batch = decodeBatch(bytes, pos);
    const lastOffset = batch.header.baseOffset + batch.header.lastOffsetDelta;
    if (lastOffset < nextOffset) continue;
    if (!batch.isControl) {
      for (const record of batch.records) if (record.offset >= nextOffset) partition.replay(record.key, record.value);
    }
    nextOffset = lastOffset + 1;
  }
  return nextOffset;
}
