// Fetched-but-not-yet-returned data, per partition, bounded in bytes, drained fairly.
//
// A chunk is the records bytes of one partition from one Fetch answer, kept raw, its records
// decoded one at a time as poll() takes them (openBatch), so memory is the fetched bytes
// (counted until the chunk is used up). drain() goes round the partitions with data in turn,
// starting one further each call, taking at most a fair share from each, so a partition with
// a deep backlog never starves the others. Within a partition, records come out in offset order, skipping any below the partition's position (a batch may begin
// before the offset that was asked for). Pure: no I/O, no clock.
import { type DecodedRecord, type RecordCursor, baseOffsetAt, iterateBatches, lastOffsetDeltaAt, openBatch, youngArray } from "@tributary/records";

export interface BufferedRecord {
  key: string;
  record: DecodedRecord;
}

// Chunks and their partitions' entries are made per Fetch answer (at low rates, per record):
// class instances and youngArray()s, not literals (see @tributary/records young.ts).

class Chunk {
  nextBatch = 0;
  /** The records of the batch being taken from, decoded as they are taken. */
  records: RecordCursor | undefined = undefined;
  constructor(
    readonly bytes: Buffer,
    /** Byte positions of the whole batches in `bytes`. */
    readonly batches: Array<{ pos: number; sizeBytes: number }>,
  ) {}
}

class PartitionChunks {
  readonly chunks = youngArray<Chunk>();
  bytes = 0;
  constructor(readonly key: string) {}
}

class Taken implements TakenRecords {
  constructor(
    readonly key: string,
    readonly records: DecodedRecord[],
    public nextPosition: number,
  ) {}
}

export interface TakenRecords {
  key: string;
  records: DecodedRecord[];
  /** The offset after the last record taken, or after the batch that ended (gaps from compaction). */
  nextPosition: number;
}

export class FetchBuffer {
  private readonly partitions = new Map<string, PartitionChunks>();
  private totalBytes = 0;
  /** A decoding error to raise once the records taken before it are returned (see takenBeforeError). */
  private decodeError: unknown = undefined;
  /** Rotates the starting partition of drain(). */
  private cursor = 0;

  get bufferedBytes(): number {
    return this.totalBytes;
  }

  partitionBytes(key: string): number {
    return this.partitions.get(key)?.bytes ?? 0;
  }

  hasData(): boolean {
    for (const p of this.partitions.values()) if (p.chunks.length > 0) return true;
    return false;
  }

  /** Adds one partition's fetched bytes (whole batches; a cut-off tail batch is ignored). */
  add(key: string, bytes: Buffer): void {
    const batches = [...iterateBatches(bytes)];
    if (batches.length === 0) return;
    const last = batches[batches.length - 1]!;
    const used = bytes.subarray(0, last.pos + last.sizeBytes);
    let entry = this.partitions.get(key);
    if (entry === undefined) {
      entry = new PartitionChunks(key);
      this.partitions.set(key, entry);
    }
    entry.chunks.push(new Chunk(used, batches));
    entry.bytes += used.length;
    this.totalBytes += used.length;
  }

  /** Drops a partition's buffered data (seek, revocation, pause does not: paused data stays). */
  clear(key: string): void {
    const entry = this.partitions.get(key);
    if (entry === undefined) return;
    this.totalBytes -= entry.bytes;
    this.partitions.delete(key);
  }

  keys(): string[] {
    return [...this.partitions.keys()];
  }

  /**
   * Takes up to `maxRecords` records, round-robin over partitions that `eligible` allows
   * (assigned and not paused), each record at or after `positionOf(key)`. Decoding errors
   * (a bad CRC) are thrown, after the records taken before them are returned: the caller
   * decides (Kafka raises them to the user).
   */
  drain(maxRecords: number, eligible: (key: string) => boolean, positionOf: (key: string) => number): TakenRecords[] {
    if (this.decodeError !== undefined) {
      const error = this.decodeError;
      this.decodeError = undefined;
      throw error;
    }
    const keys = [...this.partitions.keys()].filter((k) => eligible(k) && this.partitions.get(k)!.chunks.length > 0);
    if (keys.length === 0) return youngArray();
    const start = this.cursor % keys.length;
    this.cursor = start + 1;
    const order = [...keys.slice(start), ...keys.slice(0, start)];
    const taken = new Map<string, TakenRecords>();
    let remaining = maxRecords;
    // Rounds of fair shares: a partition that has less than its share leaves the rest to others.
    while (remaining > 0) {
      const active = order.filter((k) => (this.partitions.get(k)?.chunks.length ?? 0) > 0);
      if (active.length === 0) break;
      const share = Math.max(1, Math.floor(remaining / active.length));
      for (const key of active) {
        if (remaining === 0) break;
        const entry = this.partitions.get(key)!;
        let out = taken.get(key);
        const position = out?.nextPosition ?? positionOf(key);
        const got = this.takeFrom(entry, Math.min(share, remaining), position);
        if (got.records.length > 0 || got.nextPosition !== position) {
          if (out === undefined) {
            out = new Taken(key, got.records, got.nextPosition);
            taken.set(key, out);
          } else {
            for (const r of got.records) out.records.push(r);
            out.nextPosition = got.nextPosition;
          }
          remaining -= got.records.length;
        }
        if (this.decodeError !== undefined) return this.takenBeforeError(taken);
      }
    }
    return Array.from(taken.values());
  }

  /**
   * A batch failed to decode after other records were taken in this drain: those are returned
   * (their positions move on) and the error is thrown by the next drain(); with nothing taken
   * it is thrown now. Either way the rest of the bad batch is skipped.
   */
  private takenBeforeError(taken: Map<string, TakenRecords>): TakenRecords[] {
    let count = 0;
    for (const t of taken.values()) count += t.records.length;
    if (count > 0) return Array.from(taken.values());
    const error = this.decodeError;
    this.decodeError = undefined;
    throw error;
  }

  private takeFrom(entry: PartitionChunks, max: number, position: number): Taken {
    const records = youngArray<DecodedRecord>();
    let nextPosition = position;
    while (records.length < max && entry.chunks.length > 0) {
      const chunk = entry.chunks[0]!;
      const cursor = chunk.records;
      if (cursor === undefined || cursor.remaining === 0) {
        if (chunk.nextBatch >= chunk.batches.length) {
          entry.chunks.shift();
          entry.bytes -= chunk.bytes.length;
          this.totalBytes -= chunk.bytes.length;
          continue;
        }
        const at = chunk.batches[chunk.nextBatch++]!;
        chunk.records = undefined; // a batch that fails to open is skipped after its error is raised
        let batch;
        try {
          batch = openBatch(chunk.bytes, at.pos);
        } catch (error) {
          this.decodeError = error;
          break;
        }
        const batchEnd = batch.header.baseOffset + batch.header.lastOffsetDelta + 1;
        // Control batches (transaction markers) are never user records; their offsets are skipped.
        if (!batch.isControl) chunk.records = batch.records;
        if (batchEnd > nextPosition && (chunk.records === undefined || chunk.records.remaining === 0)) nextPosition = batchEnd;
        continue;
      }
      let record;
      try {
        record = cursor.next()!;
      } catch (error) {
        chunk.records = undefined; // the rest of a batch that fails to decode is skipped after its error
        this.decodeError = error;
        break;
      }
      if (record.offset < nextPosition) continue;
      records.push(record);
      nextPosition = record.offset + 1;
      if (cursor.remaining === 0) {
        // The batch is used up: the position moves past its end (offsets removed by compaction).
        const at = chunk.batches[chunk.nextBatch - 1]!;
        const end = baseOffsetAt(chunk.bytes, at.pos) + lastOffsetDeltaAt(chunk.bytes, at.pos) + 1;
        if (end > nextPosition) nextPosition = end;
      }
    }
    if (entry.chunks.length === 0) {
      this.partitions.delete(entry.key);
    }
    return new Taken(entry.key, records, nextPosition);
  }
}
