// The Produce request's wire encoding, written by hand for one reason: a partition's batches are
// copied once, straight into the message. Through the generated (protobufjs) encoder they were
// first concatenated (Buffer.concat: a copy) and then copied again into the writer's buffer;
// in `pnpm bench:client` those two copies and their garbage were ~12% of the producer's CPU.
// The fields follow proto/tributary/v1/broker.proto (ProduceRequest, ProduceTopicData,
// ProducePartitionData); the test decodes the output with the generated decoder.
import { type SessionFrameSpec, WIRE_LENGTH_DELIMITED, WIRE_VARINT, allocateSessionFrame, int32Length, varintLength, wireTag as tag, writeInt32, writeVarint } from "@tributary/protocol";

export interface ProducePartitionParts {
  partition: number;
  /** RecordBatch v2 batches in sequence order; sent back to back as the `records` bytes. */
  batches: readonly Buffer[];
}

export interface ProduceTopicParts {
  name: string;
  partitions: readonly ProducePartitionParts[];
}

export interface ProduceRequestParts {
  acks: number;
  timeoutMs: number;
  transactionalId: string;
  topics: readonly ProduceTopicParts[];
}

// The sender makes these per request, so as class instances rather than literals: V8 would go on
// allocating a literal's objects in the old generation after a deep pipeline kept many alive
// (see @tributary/records young.ts), and these point at the batches' bytes.

export class ProducePartitionBody implements ProducePartitionParts {
  constructor(
    readonly partition: number,
    readonly batches: readonly Buffer[],
  ) {}
}

export class ProduceTopicBody implements ProduceTopicParts {
  constructor(
    readonly name: string,
    readonly partitions: readonly ProducePartitionParts[],
  ) {}
}

export class ProduceRequestBody implements ProduceRequestParts {
  readonly transactionalId = "";
  constructor(
    readonly acks: number,
    readonly timeoutMs: number,
    readonly topics: readonly ProduceTopicParts[],
  ) {}
}

function checkInt32(name: string, value: number): void {
  if (!Number.isInteger(value) || value < -0x80000000 || value > 0x7fffffff) throw new RangeError(`${name} ${value} is not an int32`);
}

function partitionBodyLength(p: ProducePartitionParts, recordsBytes: number): number {
  return 1 + int32Length(p.partition) + 1 + varintLength(recordsBytes) + recordsBytes;
}

/**
 * The serialized ProduceRequest (protobuf), each batch copied once. With `frame`, the output is
 * the whole Broker.Session frame carrying it (the envelope written in front, not copied around).
 */
export function encodeProduceRequest(request: ProduceRequestParts, frame?: SessionFrameSpec): Buffer {
  checkInt32("acks", request.acks);
  checkInt32("timeoutMs", request.timeoutMs);
  const recordsBytes: number[][] = [];
  const partitionLengths: number[][] = [];
  const topicLengths: number[] = [];
  const nameBytes: number[] = [];
  let total = 1 + int32Length(request.acks) + 1 + int32Length(request.timeoutMs);
  const transactionalIdBytes = Buffer.byteLength(request.transactionalId, "utf8");
  if (transactionalIdBytes > 0) total += 1 + varintLength(transactionalIdBytes) + transactionalIdBytes;
  for (const topic of request.topics) {
    const nameLength = Buffer.byteLength(topic.name, "utf8");
    let topicLength = 1 + varintLength(nameLength) + nameLength;
    const recordsOfTopic: number[] = [];
    const lengthsOfTopic: number[] = [];
    for (const p of topic.partitions) {
      checkInt32("partition", p.partition);
      let records = 0;
      for (const batch of p.batches) records += batch.length;
      const bodyLength = partitionBodyLength(p, records);
      recordsOfTopic.push(records);
      lengthsOfTopic.push(bodyLength);
      topicLength += 1 + varintLength(bodyLength) + bodyLength;
    }
    recordsBytes.push(recordsOfTopic);
    partitionLengths.push(lengthsOfTopic);
    topicLengths.push(topicLength);
    nameBytes.push(nameLength);
    total += 1 + varintLength(topicLength) + topicLength;
  }
  const { out, bodyOffset } = allocateSessionFrame(frame, total);
  let offset = bodyOffset;
  out[offset++] = tag(1, WIRE_VARINT);
  offset = writeInt32(out, offset, request.acks);
  out[offset++] = tag(2, WIRE_VARINT);
  offset = writeInt32(out, offset, request.timeoutMs);
  request.topics.forEach((topic, t) => {
    out[offset++] = tag(3, WIRE_LENGTH_DELIMITED);
    offset = writeVarint(out, offset, topicLengths[t]!);
    out[offset++] = tag(1, WIRE_LENGTH_DELIMITED);
    offset = writeVarint(out, offset, nameBytes[t]!);
    offset += out.write(topic.name, offset, "utf8");
    topic.partitions.forEach((p, i) => {
      out[offset++] = tag(2, WIRE_LENGTH_DELIMITED);
      offset = writeVarint(out, offset, partitionLengths[t]![i]!);
      out[offset++] = tag(1, WIRE_VARINT);
      offset = writeInt32(out, offset, p.partition);
      out[offset++] = tag(2, WIRE_LENGTH_DELIMITED);
      offset = writeVarint(out, offset, recordsBytes[t]![i]!);
      for (const batch of p.batches) offset += batch.copy(out, offset);
    });
  });
  if (transactionalIdBytes > 0) {
    out[offset++] = tag(4, WIRE_LENGTH_DELIMITED);
    offset = writeVarint(out, offset, transactionalIdBytes);
    offset += out.write(request.transactionalId, offset, "utf8");
  }
  if (offset !== bodyOffset + total) throw new Error(`ProduceRequest encoding wrote ${offset - bodyOffset} of ${total} bytes: a bug`);
  return out;
}
