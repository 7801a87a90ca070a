// Record helpers for tests and benchmarks: produce string values as RecordBatch v2 through the
// raw client, and read a partition back (decoding batches, skipping records below the asked
// offset, as a consumer does).
import { decodeBatch, encodeBatch, iterateBatches } from "../../packages/records/dist/index.js";
import { errorCode, type RawBrokerClient } from "./raw-client.js";

export { encodeBatch, decodeBatch };

export function batchOf(values: readonly string[], timestampMs = Date.now()): Buffer {
  return encodeBatch({ records: values.map((v) => ({ key: null, value: Buffer.from(v), timestampMs })) });
}

export interface ProduceOutcome {
  code: string;
  baseOffset: number;
  message: string;
}

export async function produceValues(client: RawBrokerClient, topic: string, partition: number, values: readonly string[], acks: 0 | 1 | -1 = -1, timeoutMs = 10_000): Promise<ProduceOutcome> {
  const response = await client.produce({ acks, timeoutMs, topics: [{ name: topic, partitions: [{ partition, records: batchOf(values) }] }] }, timeoutMs + 5_000);
  const p = response.topics[0]?.partitions[0];
  return { code: errorCode(p?.error), baseOffset: Number(p?.baseOffset ?? -1), message: p?.error?.message ?? "" };
}

export interface ReadRecord {
  offset: number;
  value: string;
  key: string | null;
}

/** Reads [fromOffset, high watermark) as a consumer; throws on a partition error. */
export async function readPartition(client: RawBrokerClient, topic: string, partition: number, fromOffset = 0): Promise<{ records: ReadRecord[]; highWatermark: number }> {
  const records: ReadRecord[] = [];
  let offset = fromOffset;
  for (let round = 0; round < 100_000; round++) {
    const response = await client.fetch({
      replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 8 << 20,
      topics: [{ topic, partitions: [{ partition, fetchOffset: String(offset), partitionMaxBytes: 8 << 20, currentLeaderEpoch: -1, lastFetchedEpoch: -1 }] }],
    });
    const p = response.topics[0]?.partitions[0];
    const code = errorCode(p?.error);
    if (!p || code !== "NONE") throw new Error(`fetch ${topic}-${partition} at ${offset}: ${code} ${p?.error?.message ?? ""}`);
    const highWatermark = Number(p.highWatermark);
    let progressed = false;
    for (const { pos } of iterateBatches(p.records)) {
      const batch = decodeBatch(p.records, pos);
      for (const record of batch.records) {
        if (record.offset < offset) continue;
        records.push({ offset: record.offset, value: Buffer.from(record.value ?? Buffer.alloc(0)).toString(), key: record.key ? Buffer.from(record.key).toString() : null });
      }
      const next = batch.header.baseOffset + batch.header.lastOffsetDelta + 1;
      if (next > offset) {
        offset = next;
        progressed = true;
      }
    }
    if (offset >= highWatermark || !progressed) return { records, highWatermark };
  }
  throw new Error("readPartition did not finish");
}
