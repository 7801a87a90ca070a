// Hand-written decoders of the two answers a client reads per request on Broker.Session:
// ProduceResponse and FetchResponse. They give exactly what the generated decoder gives with the
// project's conversion options (int64 as decimal strings, enums as names, every field present,
// absent messages null, `records` a view into the frame), and the test checks them against it.
//
// Why not the generated one: protobufjs decodes into message objects and then copies those into
// plain objects (toObject), with a Long object per int64 field, and its generated code makes its
// arrays from literals, which V8 learns to allocate in the old generation during a large
// prefetch and keeps doing so afterwards (see young.ts in @tributary/records). These make one
// object per message, from classes, with arrays from youngArray().
import { youngArray } from "@tributary/records";
import { ProtocolDecodeError, enumValueNames } from "../codec.js";
import type { Endpoint__Output } from "../generated/tributary/v1/Endpoint.js";
import type { EpochEndOffset__Output } from "../generated/tributary/v1/EpochEndOffset.js";
import type { Error__Output } from "../generated/tributary/v1/Error.js";
import type { ErrorCode__Output } from "../generated/tributary/v1/ErrorCode.js";
import type { FetchPartitionResponse__Output } from "../generated/tributary/v1/FetchPartitionResponse.js";
import type { FetchResponse__Output } from "../generated/tributary/v1/FetchResponse.js";
import type { FetchTopicResponse__Output } from "../generated/tributary/v1/FetchTopicResponse.js";
import type { LeaderHint__Output } from "../generated/tributary/v1/LeaderHint.js";
import type { ProducePartitionResponse__Output } from "../generated/tributary/v1/ProducePartitionResponse.js";
import type { ProduceResponse__Output } from "../generated/tributary/v1/ProduceResponse.js";
import type { ProduceTopicResponse__Output } from "../generated/tributary/v1/ProduceTopicResponse.js";
import { WireReader, wireTypeOf } from "../wire-reader.js";

// Fields are matched on their whole tag (field number and wire type, e.g. 0x12 is field 2,
// length-delimited); anything else, including a known field with the wrong wire type, is
// skipped by its wire type.

const EMPTY_BYTES = Buffer.alloc(0);

let errorCodeNames: ReadonlyMap<number, string> | undefined;

function errorCodeName(value: number): ErrorCode__Output {
  errorCodeNames ??= enumValueNames("ErrorCode");
  // An unknown value stays a number, as the generated decoder leaves it.
  return (errorCodeNames.get(value) ?? value) as ErrorCode__Output;
}

/** Decodes a ProduceResponse; throws ProtocolDecodeError on bytes that are not one. */
export function decodeProduceResponse(bytes: Buffer): ProduceResponse__Output {
  return decodeMessage(bytes, "ProduceResponse", (reader) => {
    const answer = new ProduceAnswer();
    while (!reader.atEnd) {
      const tag = reader.tag();
      if (tag === 0x0a) answer.topics.push(readProduceTopic(reader.message()));
      else if (tag === 0x10) answer.throttleTimeMs = reader.int32();
      else reader.skip(wireTypeOf(tag));
    }
    return answer;
  });
}

/** Decodes a FetchResponse; throws ProtocolDecodeError on bytes that are not one. */
export function decodeFetchResponse(bytes: Buffer): FetchResponse__Output {
  return decodeMessage(bytes, "FetchResponse", (reader) => {
    const answer = new FetchAnswer();
    while (!reader.atEnd) {
      const tag = reader.tag();
      if (tag === 0x0a) answer.topics.push(readFetchTopic(reader.message()));
      else if (tag === 0x10) answer.throttleTimeMs = reader.int32();
      else if (tag === 0x1a) answer.error = readError(reader.message());
      else reader.skip(wireTypeOf(tag));
    }
    return answer;
  });
}

function decodeMessage<T>(bytes: Buffer, typeName: string, read: (reader: WireReader) => T): T {
  try {
    return read(new WireReader(bytes, 0, bytes.length));
  } catch (error) {
    if (error instanceof ProtocolDecodeError) throw new ProtocolDecodeError(`cannot decode ${typeName}: ${error.message}`);
    throw error;
  }
}

function readProduceTopic(reader: WireReader): ProduceTopicResponse__Output {
  const topic = new ProduceTopicAnswer();
  while (!reader.atEnd) {
    const tag = reader.tag();
    if (tag === 0x0a) topic.name = reader.string();
    else if (tag === 0x12) topic.partitions.push(readProducePartition(reader.message()));
    else reader.skip(wireTypeOf(tag));
  }
  return topic;
}

function readProducePartition(reader: WireReader): ProducePartitionResponse__Output {
  const partition = new ProducePartitionAnswer();
  while (!reader.atEnd) {
    const tag = reader.tag();
    switch (tag) {
      case 0x08: partition.partition = reader.int32(); break;
      case 0x12: partition.error = readError(reader.message()); break;
      case 0x18: partition.baseOffset = reader.int64String(); break;
      case 0x20: partition.logAppendTimeMs = reader.int64String(); break;
      case 0x28: partition.logStartOffset = reader.int64String(); break;
      case 0x32: partition.currentLeader = readLeaderHint(reader.message()); break;
      default: reader.skip(wireTypeOf(tag));
    }
  }
  return partition;
}

function readFetchTopic(reader: WireReader): FetchTopicResponse__Output {
  const topic = new FetchTopicAnswer();
  while (!reader.atEnd) {
    const tag = reader.tag();
    if (tag === 0x0a) topic.topic = reader.string();
    else if (tag === 0x12) topic.partitions.push(readFetchPartition(reader.message()));
    else reader.skip(wireTypeOf(tag));
  }
  return topic;
}

function readFetchPartition(reader: WireReader): FetchPartitionResponse__Output {
  const partition = new FetchPartitionAnswer();
  while (!reader.atEnd) {
    const tag = reader.tag();
    switch (tag) {
      case 0x08: partition.partition = reader.int32(); break;
      case 0x12: partition.error = readError(reader.message()); break;
      case 0x18: partition.highWatermark = reader.int64String(); break;
      case 0x20: partition.lastStableOffset = reader.int64String(); break;
      case 0x28: partition.logStartOffset = reader.int64String(); break;
      case 0x30: partition.logEndOffset = reader.int64String(); break;
      case 0x3a: partition.divergingEpoch = readEpochEndOffset(reader.message()); break;
      case 0x42: partition.currentLeader = readLeaderHint(reader.message()); break;
      case 0x4a: partition.records = reader.bytes(); break;
      default: reader.skip(wireTypeOf(tag));
    }
  }
  return partition;
}

function readError(reader: WireReader): Error__Output {
  const error = new ErrorAnswer();
  while (!reader.atEnd) {
    const tag = reader.tag();
    if (tag === 0x08) error.code = errorCodeName(reader.int32());
    else if (tag === 0x12) error.message = reader.string();
    else reader.skip(wireTypeOf(tag));
  }
  return error;
}

function readEpochEndOffset(reader: WireReader): EpochEndOffset__Output {
  const value = new EpochEndOffsetAnswer();
  while (!reader.atEnd) {
    const tag = reader.tag();
    if (tag === 0x08) value.epoch = reader.int32();
    else if (tag === 0x10) value.endOffset = reader.int64String();
    else reader.skip(wireTypeOf(tag));
  }
  return value;
}

function readLeaderHint(reader: WireReader): LeaderHint__Output {
  const hint = new LeaderHintAnswer();
  while (!reader.atEnd) {
    const tag = reader.tag();
    if (tag === 0x08) hint.nodeId = reader.int32();
    else if (tag === 0x12) hint.endpoint = readEndpoint(reader.message());
    else if (tag === 0x18) hint.leaderEpoch = reader.int32();
    else reader.skip(wireTypeOf(tag));
  }
  return hint;
}

function readEndpoint(reader: WireReader): Endpoint__Output {
  const endpoint = new EndpointAnswer();
  while (!reader.atEnd) {
    const tag = reader.tag();
    if (tag === 0x0a) endpoint.host = reader.string();
    else if (tag === 0x10) endpoint.port = reader.int32();
    else if (tag === 0x1a) endpoint.listenerName = reader.string();
    else reader.skip(wireTypeOf(tag));
  }
  return endpoint;
}

// The decoded messages, with the defaults the generated decoder fills in.

class ProduceAnswer implements ProduceResponse__Output {
  topics = youngArray<ProduceTopicResponse__Output>();
  throttleTimeMs = 0;
}

class ProduceTopicAnswer implements ProduceTopicResponse__Output {
  name = "";
  partitions = youngArray<ProducePartitionResponse__Output>();
}

class ProducePartitionAnswer implements ProducePartitionResponse__Output {
  partition = 0;
  error: Error__Output | null = null;
  baseOffset = "0";
  logAppendTimeMs = "0";
  logStartOffset = "0";
  currentLeader: LeaderHint__Output | null = null;
}

class FetchAnswer implements FetchResponse__Output {
  topics = youngArray<FetchTopicResponse__Output>();
  throttleTimeMs = 0;
  error: Error__Output | null = null;
}

class FetchTopicAnswer implements FetchTopicResponse__Output {
  topic = "";
  partitions = youngArray<FetchPartitionResponse__Output>();
}

class FetchPartitionAnswer implements FetchPartitionResponse__Output {
  partition = 0;
  error: Error__Output | null = null;
  highWatermark = "0";
  lastStableOffset = "0";
  logStartOffset = "0";
  logEndOffset = "0";
  divergingEpoch: EpochEndOffset__Output | null = null;
  currentLeader: LeaderHint__Output | null = null;
  records: Buffer = EMPTY_BYTES;
}

class ErrorAnswer implements Error__Output {
  code: ErrorCode__Output = "NONE";
  message = "";
}

class EpochEndOffsetAnswer implements EpochEndOffset__Output {
  epoch = 0;
  endOffset = "0";
}

class LeaderHintAnswer implements LeaderHint__Output {
  nodeId = 0;
  endpoint: Endpoint__Output | null = null;
  leaderEpoch = 0;
}

class EndpointAnswer implements Endpoint__Output {
  host = "";
  port = 0;
  listenerName = "";
}
