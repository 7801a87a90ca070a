// The bytes of the metadata log: each Raft entry's data is one MetadataRecordBatch, and a
// snapshot is one MetadataImageSnapshot, both encoded with the protocol's protobuf codec so the
// log, the snapshot and the broker stream all carry exactly the same shapes.
import { type MetadataImage, int64, int64ToNumber, messageCodec, type v1 } from "@tributary/protocol";
import { invariant } from "./errors.js";

export const batchCodec = messageCodec<v1.MetadataRecordBatch, v1.MetadataRecordBatch__Output>("MetadataRecordBatch");
export const recordCodec = messageCodec<v1.MetadataRecord, v1.MetadataRecord__Output>("MetadataRecord");
export const snapshotCodec = messageCodec<v1.MetadataImageSnapshot, v1.MetadataImageSnapshot__Output>("MetadataImageSnapshot");

export function encodeBatch(baseOffset: number, records: readonly v1.MetadataRecord[]): Buffer {
  return batchCodec.encode({ baseOffset: int64(baseOffset), records: [...records] });
}

/** The decoded (output) form of a record, exactly as a node reading the log will see it. */
export function normalizeRecord(record: v1.MetadataRecord): v1.MetadataRecord__Output {
  return recordCodec.decode(recordCodec.encode(record));
}

/**
 * Applies a committed batch in order. Offsets are contiguous across the log: the leader numbers
 * a batch from the offset after the last one it applied, and becomes active only after applying
 * everything before its own term, so a gap or overlap here is a bug.
 */
export function applyBatch(image: MetadataImage, batch: v1.MetadataRecordBatch__Output): void {
  const baseOffset = int64ToNumber(batch.baseOffset);
  invariant(
    baseOffset === image.lastAppliedOffset + 1,
    `metadata batch at offset ${baseOffset} does not follow the last applied offset ${image.lastAppliedOffset}`,
  );
  batch.records.forEach((record, i) => image.apply(baseOffset + i, record));
}

/** A deep copy of an image through its snapshot form (the leader's working copy). */
export function cloneImage(image: MetadataImage, into: MetadataImage): MetadataImage {
  into.loadSnapshot(snapshotCodec.decode(snapshotCodec.encode(image.toSnapshot(0))));
  return into;
}
