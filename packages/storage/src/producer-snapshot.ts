// Producer-state snapshots: `<offset>.snapshot` holds the producer state table as it was when the
// log ended at <offset>. One is written at every roll and at close, so a restart replays batch
// headers only from the newest snapshot instead of from the start of the log (as Kafka does).
// The content is one JSON line and its CRC-32C; a snapshot that fails it is ignored.
import fs from "node:fs";
import { crc32cOf } from "@tributary/records";
import { fsyncFolder } from "./checkpoint-file.js";
import { PRODUCER_SNAPSHOT_SUFFIX, TEMP_SUFFIX, offsetFromFileName, segmentFilePath } from "./file-names.js";
import type { ProducerEntry, ProducerStateTable } from "./producer-state.js";

const SNAPSHOT_VERSION = 1;

interface SnapshotBody {
  version: number;
  offset: number;
  /** [producerId, producerEpoch, lastTimestampMs, [firstSeq, lastSeq, firstOffset, lastOffset][]] */
  producers: [number, number, number, [number, number, number, number][]][];
}

export function writeProducerSnapshot(dir: string, offset: number, table: ProducerStateTable, durable: boolean): void {
  const body: SnapshotBody = {
    version: SNAPSHOT_VERSION,
    offset,
    producers: [...table.entries()].map((entry) => [
      entry.producerId,
      entry.producerEpoch,
      entry.lastTimestampMs,
      entry.batches.map((batch) => [batch.firstSeq, batch.lastSeq, batch.firstOffset, batch.lastOffset] as [number, number, number, number]),
    ]),
  };
  const json = JSON.stringify(body);
  const text = `${json}\n${crc32cOf(Buffer.from(json)).toString(16)}\n`;
  const filePath = segmentFilePath(dir, offset, PRODUCER_SNAPSHOT_SUFFIX);
  const fd = fs.openSync(filePath + TEMP_SUFFIX, "w");
  try {
    fs.writeSync(fd, text);
    if (durable) fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(filePath + TEMP_SUFFIX, filePath);
  if (durable) fsyncFolder(dir);
}

/** The offsets of the snapshots in `dir`, ascending. */
export function listProducerSnapshots(dir: string): number[] {
  return fs.readdirSync(dir)
    .map((name) => offsetFromFileName(name, PRODUCER_SNAPSHOT_SUFFIX))
    .filter((offset): offset is number => offset !== null)
    .sort((a, b) => a - b);
}

/** The producers a snapshot holds, or a reason why it cannot be used. */
export function readProducerSnapshot(dir: string, offset: number): ProducerEntry[] | string {
  let text: string;
  try {
    text = fs.readFileSync(segmentFilePath(dir, offset, PRODUCER_SNAPSHOT_SUFFIX), "utf8");
  } catch (error) {
    return (error as Error).message;
  }
  const lines = text.split("\n");
  const json = lines[0] ?? "";
  if (lines.length !== 3 || lines[2] !== "" || crc32cOf(Buffer.from(json)).toString(16) !== lines[1]) return "checksum mismatch";
  let body: SnapshotBody;
  try {
    body = JSON.parse(json) as SnapshotBody;
  } catch (error) {
    return (error as Error).message;
  }
  if (body.version !== SNAPSHOT_VERSION || body.offset !== offset || !Array.isArray(body.producers)) return "unexpected content";
  return body.producers.map(([producerId, producerEpoch, lastTimestampMs, batches]) => ({
    producerId,
    producerEpoch,
    lastTimestampMs,
    batches: batches.map(([firstSeq, lastSeq, firstOffset, lastOffset]) => ({ firstSeq, lastSeq, firstOffset, lastOffset })),
  }));
}

export function deleteProducerSnapshot(dir: string, offset: number): void {
  try {
    fs.unlinkSync(segmentFilePath(dir, offset, PRODUCER_SNAPSHOT_SUFFIX));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
}
