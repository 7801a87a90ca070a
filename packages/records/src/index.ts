// @tributary/records: Kafka RecordBatch v2 codec, CRC-32C, varints, compression, partitioners
// and serializers. Codecs here are pure functions: no I/O.
export * from "./batch-header.js";
