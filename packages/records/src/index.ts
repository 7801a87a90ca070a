// @tributary/records: Kafka's RecordBatch v2 format and what surrounds it. Pure functions and
// small stateful partitioners, no I/O. Everything is synchronous.
//
// Batches
//   encodeBatch(opts) -> Buffer          one RecordBatch v2, CRC-32C set, optionally compressed
//   new RecordBatchBuilder(capacityBytes) the producer's way: .append(timestampMs, key, value,
//                                        headers?) writes each record as it comes, .build(opts)
//                                        adds header and CRC (the bytes encodeBatch would give)
//   decodeBatch(buf, pos?, opts?)        checks length, magic, CRC; decompresses; decodes records
//                                        (key/value are views into the bytes: copy to keep them);
//                                        throws RecordsError with a `kind` on bad bytes
//   openBatch(buf, pos?, opts?)          the same checks, records decoded one at a time by
//                                        .records.next() (what the consumer takes per poll)
//   iterateBatches(buf)                  whole batches by length field; stops at a partial tail
//   checkBatch, readBatchHeader, setBaseOffset, setPartitionLeaderEpoch, setMaxTimestamp, ...
//                                        the header-only operations the broker and log engine use
//   validateBatchRecords(buf, pos?, opts?) walks a checked batch's records (decompressing if need
//                                        be) without decoding them: throws the RecordsError that
//                                        decodeBatch would, so a leader never appends poison
//   Log-append time: a batch whose attributes say log-append gives every record the batch's
//   maxTimestamp on decode (Kafka semantics); the broker stamps it with setMaxTimestamp.
//   Offsets and timestamps are safe-integer JS numbers; anything beyond is refused, not rounded.
//
// Compression: "none" | "gzip" | "snappy" | "lz4" | "zstd", in Kafka's framings (snappy in
//   snappy-java's xerial framing on encode, raw snappy also accepted on decode; lz4 frame format).
//   Decompression is bounded (DecodeBatchOptions.maxDecompressedBytes, default 256 MiB).
//
// Partitioners: a Partitioner is (ctx: PartitionerContext) => partition.
//   createStickyPartitioner({ random? })  Kafka's default: murmur2 for keyed records, a sticky
//                                         partition per topic for unkeyed ones; the producer calls
//                                         .onNewBatch(topic, prevPartition) when it closes a batch
//                                         (hasOnNewBatch(p) tells whether a partitioner wants that)
//   partitioners.murmur2Default           keyed only (throws TypeError on a null key)
//   partitioners.roundRobin()             Kafka's RoundRobinPartitioner
//   partitioners.custom(fn)               a user function, checked to return a valid partition
//   murmur2, toPositive, partitionForKey  Java's Utils.murmur2 exactly
//
// Serdes: serializers.{string,bigint,int32,json,bytes} are each { serialize, deserialize },
//   Kafka's byte layouts (bigint = Java Long, 8 bytes big-endian); null <-> null; jsonSerde<T>()
//   for typed JSON; SerializationError on bytes of the wrong shape.
//
// Allocation: youngArray<T>() and youngArrayOfLength<T>(n) are arrays V8 never allocates in the
//   old generation; hot per-record objects are class instances for the same reason (young.ts).
//
// Varints: zig-zag varint (int32) and varlong (safe-integer int64) read/write/size, as Kafka's
//   ByteUtils; BoundedReader for reading many fields without running past a bound.
export * from "./batch-header.js";
export * from "./errors.js";
export {
  zigzagEncode32,
  zigzagDecode32,
  varintSize,
  varlongSize,
  writeVarint,
  writeVarlong,
  writeUnsignedVarint,
  readVarint,
  readVarlong,
  BoundedReader,
} from "./varint.js";
export type { RecordHeader, RecordInput, DecodedRecord, RecordCursor } from "./record-codec.js";
export {
  encodeBatch,
  decodeBatch,
  openBatch,
  iterateBatches,
  NO_TIMESTAMP,
  type EncodeBatchOptions,
  type DecodedBatch,
  type OpenedBatch,
  type DecodeBatchOptions,
  type TimestampType,
} from "./batch-codec.js";
export { RecordBatchBuilder, type BuildBatchOptions } from "./batch-builder.js";
export { validateBatchRecords, type ValidateRecordsOptions } from "./validate-records.js";
export {
  type CompressionType,
  CompressionCodes,
  DEFAULT_MAX_DECOMPRESSED_BYTES,
  DEFAULT_GZIP_LEVEL,
  DEFAULT_ZSTD_LEVEL,
  compress,
  decompress,
  compressionFromAttributes,
} from "./compression.js";
export { murmur2, toPositive, partitionForKey } from "./murmur2.js";
export {
  type Partitioner,
  type PartitionerContext,
  type StickyPartitioner,
  type StickyPartitionerOptions,
  partitioners,
  createStickyPartitioner,
  hasOnNewBatch,
} from "./partitioners.js";
export { type Serializer, type Deserializer, type Serde, SerializationError, serializers, jsonSerde } from "./serdes.js";
export { youngArray, youngArrayOfLength } from "./young.js";
