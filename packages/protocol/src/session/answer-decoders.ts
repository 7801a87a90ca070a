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

// Each message is a class holding its defaults and reading its own fields (readField), matched
// on their whole tag (field number and wire type, e.g. 0x12 is field 2, length-delimited); one
// loop (readMessage) skips anything else by its wire type, including a known field with the
// wrong wire type.

const EMPTY_BYTES = Buffer.alloc(0);

let errorCodeNames: ReadonlyMap<number, string> | undefined;

function errorCodeName(value: number): ErrorCode__Output {
  errorCodeNames ??= enumValueNames("ErrorCode");
  // An unknown value stays a number, as the generated decoder leaves it.
  return (errorCodeNames.get(value) ?? value) as ErrorCode__Output;
}

/** Decodes a ProduceResponse; throws ProtocolDecodeError on bytes that are not one. */
export function decodeProduceResponse(bytes: Buffer): ProduceResponse__Output {
  return decodeWhole(bytes, "ProduceResponse", new ProduceAnswer());
}

/** Decodes a FetchResponse; throws ProtocolDecodeError on bytes that are not one. */
export function decodeFetchResponse(bytes: Buffer): FetchResponse__Output {
  return decodeWhole(bytes, "FetchResponse", new FetchAnswer());
}

function decodeWhole<T extends MessageReader>(bytes: Buffer, typeName: string, message: T): T {
  try {
    return readMessage(new WireReader(bytes, 0, bytes.length), message);
  } catch (error) {
    if (error instanceof ProtocolDecodeError) throw new ProtocolDecodeError(`cannot decode ${typeName}: ${error.message}`);
    throw error;
  }
}

/** A decoded message that reads its own fields: false for a tag it does not know. */
interface MessageReader {
  readField(tag: number, reader: WireReader): boolean;
}

/** Reads every field of the message `reader` spans into `message`, skipping unknown ones. */
function readMessage<T extends MessageReader>(reader: WireReader, message: T): T {
  while (!reader.atEnd) {
    const tag = reader.tag();
    if (!message.readField(tag, reader)) reader.skip(wireTypeOf(tag));
  }
  return message;
}

// The decoded messages, with the defaults the generated decoder fills in.

class ProduceAnswer implements ProduceResponse__Output, MessageReader {
  topics = youngArray<ProduceTopicResponse__Output>();
  throttleTimeMs = 0;

  readField(tag: number, reader: WireReader): boolean {
    if (tag === 0x0a) this.topics.push(readMessage(reader.message(), new ProduceTopicAnswer()));
    else if (tag === 0x10) this.throttleTimeMs = reader.int32();
    else return false;
    return true;
  }
}

class ProduceTopicAnswer implements ProduceTopicResponse__Output, MessageReader {
  name = "";
  partitions = youngArray<ProducePartitionResponse__Output>();

  readField(tag: number, reader: WireReader): boolean {
    if (tag === 0x0a) this.name = reader.string();
    else if (tag === 0x12) this.partitions.push(readMessage(reader.message(), new ProducePartitionAnswer()));
    else return false;
    return true;
  }
}

class ProducePartitionAnswer implements ProducePartitionResponse__Output, MessageReader {
  partition = 0;
  error: Error__Output | null = null;
  baseOffset = "0";
  logAppendTimeMs = "0";
  logStartOffset = "0";
  currentLeader: LeaderHint__Output | null = null;

  readField(tag: number, reader: WireReader): boolean {
    switch (tag) {
      case 0x08: this.partition = reader.int32(); return true;
      case 0x12: this.error = readMessage(reader.message(), new ErrorAnswer()); return true;
      case 0x18: this.baseOffset = reader.int64String(); return true;
      case 0x20: this.logAppendTimeMs = reader.int64String(); return true;
      case 0x28: this.logStartOffset = reader.int64String(); return true;
      case 0x32: this.currentLeader = readMessage(reader.message(), new LeaderHintAnswer()); return true;
      default: return false;
    }
  }
}

class FetchAnswer implements FetchResponse__Output, MessageReader {
  topics = youngArray<FetchTopicResponse__Output>();
  throttleTimeMs = 0;
  error: Error__Output | null = null;

  readField(tag: number, reader: WireReader): boolean {
    if (tag === 0x0a) this.topics.push(readMessage(reader.message(), new FetchTopicAnswer()));
    else if (tag === 0x10) this.throttleTimeMs = reader.int32();
    else if (tag === 0x1a) this.error = readMessage(reader.message(), new ErrorAnswer());
    else return false;
    return true;
  }
}

class FetchTopicAnswer implements FetchTopicResponse__Output, MessageReader {
  topic = "";
  partitions = youngArray<FetchPartitionResponse__Output>();

  readField(tag: number, reader: WireReader): boolean {
    if (tag === 0x0a) this.topic = reader.string();
    else if (tag === 0x12) this.partitions.push(readMessage(reader.message(), new FetchPartitionAnswer()));
    else return false;
    return true;
  }
}

class FetchPartitionAnswer implements FetchPartitionResponse__Output, MessageReader {
  partition = 0;
  error: Error__Output | null = null;
  highWatermark = "0";
  lastStableOffset = "0";
  logStartOffset = "0";
  logEndOffset = "0";
  divergingEpoch: EpochEndOffset__Output | null = null;
  currentLeader: LeaderHint__Output | null = null;
  records: Buffer = EMPTY_BYTES;

  readField(tag: number, reader: WireReader): boolean {
    switch (tag) {
      case 0x08: this.partition = reader.int32(); return true;
      case 0x12: this.error = readMessage(reader.message(), new ErrorAnswer()); return true;
      case 0x18: this.highWatermark = reader.int64String(); return true;
      case 0x20: this.lastStableOffset = reader.int64String(); return true;
      case 0x28: this.logStartOffset = reader.int64String(); return true;
      case 0x30: this.logEndOffset = reader.int64String(); return true;
      case 0x3a: this.divergingEpoch = readMessage(reader.message(), new EpochEndOffsetAnswer()); return true;
      case 0x42: this.currentLeader = readMessage(reader.message(), new LeaderHintAnswer()); return true;
      case 0x4a: this.records = reader.bytes(); return true;
      default: return false;
    }
  }
}

class ErrorAnswer implements Error__Output, MessageReader {
  code: ErrorCode__Output = "NONE";
  message = "";

  readField(tag: number, reader: WireReader): boolean {
    if (tag === 0x08) this.code = errorCodeName(reader.int32());
    else if (tag === 0x12) this.message = reader.string();
    else return false;
    return true;
  }
}

class EpochEndOffsetAnswer implements EpochEndOffset__Output, MessageReader {
  epoch = 0;
  endOffset = "0";

  readField(tag: number, reader: WireReader): boolean {
    if (tag === 0x08) this.epoch = reader.int32();
    else if (tag === 0x10) this.endOffset = reader.int64String();
    else return false;
    return true;
  }
}

class LeaderHintAnswer implements LeaderHint__Output, MessageReader {
  nodeId = 0;
  endpoint: Endpoint__Output | null = null;
  leaderEpoch = 0;

  readField(tag: number, reader: WireReader): boolean {
    if (tag === 0x08) this.nodeId = reader.int32();
    else if (tag === 0x12) this.endpoint = readMessage(reader.message(), new EndpointAnswer());
    else if (tag === 0x18) this.leaderEpoch = reader.int32();
    else return false;
    return true;
  }
}

class EndpointAnswer implements Endpoint__Output, MessageReader {
  host = "";
  port = 0;
  listenerName = "";

  readField(tag: number, reader: WireReader): boolean {
    if (tag === 0x0a) this.host = reader.string();
    else if (tag === 0x10) this.port = reader.int32();
    else if (tag === 0x1a) this.listenerName = reader.string();
    else return false;
    return true;
  }
}
