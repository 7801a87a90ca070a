// Serializers and deserializers for keys and values, with Kafka's byte layouts so that data
// written by a Java client reads back here and the other way round:
//   string  UTF-8 (StringSerializer)
//   bigint  8-byte big-endian two's complement (LongSerializer)
//   int32   4-byte big-endian two's complement (IntegerSerializer)
//   json    UTF-8 JSON text
//   bytes   the bytes as they are
// null maps to null both ways (a null value is a tombstone), as in Kafka's serializers. Each
// object is both a Serializer and a Deserializer, so one name serves a producer and a consumer.

export interface Serializer<T> {
  serialize(value: T, topic?: string): Buffer | null;
}

export interface Deserializer<T> {
  deserialize(bytes: Buffer | null, topic?: string): T;
}

export type Serde<T> = Serializer<T> & Deserializer<T>;

/** Bytes that do not fit the deserializer's type, or a value the serializer cannot write. */
export class SerializationError extends Error {
  override readonly name = "SerializationError";
  constructor(
    readonly direction: "serialize" | "deserialize",
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

function onTopic(topic: string | undefined): string {
  return topic === undefined ? "" : ` (topic ${topic})`;
}

function fixedWidth(bytes: Buffer, width: number, type: string, topic: string | undefined): void {
  if (bytes.length !== width) {
    throw new SerializationError("deserialize", `${type} needs exactly ${width} bytes, got ${bytes.length}${onTopic(topic)}`);
  }
}

const string: Serde<string | null> = {
  serialize: (value) => (value == null ? null : Buffer.from(value, "utf8")),
  deserialize: (bytes) => (bytes === null ? null : bytes.toString("utf8")),
};

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

const bigint: Serde<bigint | null> = {
  serialize(value, topic) {
    if (value == null) return null;
    if (typeof value !== "bigint" || value < INT64_MIN || value > INT64_MAX) {
      throw new SerializationError("serialize", `bigint serializer needs an int64 bigint, got ${String(value)}${onTopic(topic)}`);
    }
    const bytes = Buffer.allocUnsafe(8);
    bytes.writeBigInt64BE(value, 0);
    return bytes;
  },
  deserialize(bytes, topic) {
    if (bytes === null) return null;
    fixedWidth(bytes, 8, "bigint (Kafka Long)", topic);
    return bytes.readBigInt64BE(0);
  },
};

const int32: Serde<number | null> = {
  serialize(value, topic) {
    if (value == null) return null;
    if (!Number.isInteger(value) || value < -0x8000_0000 || value > 0x7fff_ffff) {
      throw new SerializationError("serialize", `int32 serializer needs an integer in the int32 range, got ${value}${onTopic(topic)}`);
    }
    const bytes = Buffer.allocUnsafe(4);
    bytes.writeInt32BE(value, 0);
    return bytes;
  },
  deserialize(bytes, topic) {
    if (bytes === null) return null;
    fixedWidth(bytes, 4, "int32 (Kafka Integer)", topic);
    return bytes.readInt32BE(0);
  },
};

/** JSON as UTF-8 text, typed by the caller (no runtime schema check: that is the caller's job). */
export function jsonSerde<T>(): Serde<T | null> {
  return {
    serialize(value, topic) {
      if (value == null) return null;
      let text: string | undefined;
      try {
        text = JSON.stringify(value);
      } catch (error) {
        throw new SerializationError("serialize", `value cannot be written as JSON${onTopic(topic)}`, { cause: error });
      }
      if (text === undefined) throw new SerializationError("serialize", `value has no JSON form (${typeof value})${onTopic(topic)}`);
      return Buffer.from(text, "utf8");
    },
    deserialize(bytes, topic) {
      if (bytes === null) return null;
      try {
        return JSON.parse(bytes.toString("utf8")) as T;
      } catch (error) {
        throw new SerializationError("deserialize", `bytes are not valid JSON${onTopic(topic)}`, { cause: error });
      }
    },
  };
}

const bytes: Serde<Buffer | null> = {
  serialize: (value) => value ?? null,
  deserialize: (value) => value,
};

export const serializers = {
  string,
  bigint,
  int32,
  json: jsonSerde<unknown>(),
  bytes,
} as const;
