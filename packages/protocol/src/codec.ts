// Protobuf encode/decode of single messages outside gRPC calls: the controller stores
// MetadataRecord batches in its Raft log and snapshots as bytes, with exactly the same shapes
// (camelCase fields, int64 as strings, enums as names) that gRPC hands to services.
import protobuf from "protobufjs";
import { join } from "node:path";
import { PROTO_FILES, protoRoot } from "./loader.js";

let root: protobuf.Root | undefined;

function loadRoot(): protobuf.Root {
  if (root) return root;
  const dir = protoRoot();
  const loaded = new protobuf.Root();
  loaded.resolvePath = (_origin, target) => join(dir, target);
  loaded.loadSync([...PROTO_FILES], { keepCase: false });
  root = loaded;
  return loaded;
}

const CONVERSION: protobuf.IConversionOptions = { longs: String, enums: String, defaults: true, oneofs: true };

export interface MessageCodec<In, Out> {
  encode(message: In): Buffer;
  /** Throws ProtocolDecodeError on bytes that are not a valid message of this type. */
  decode(bytes: Uint8Array): Out;
}

export class ProtocolDecodeError extends Error {
  override readonly name = "ProtocolDecodeError";
}

/** A codec for `tributary.v1.<typeName>`; In/Out are the generated input/output types. */
export function messageCodec<In extends object, Out>(typeName: string): MessageCodec<In, Out> {
  const type = loadRoot().lookupType(`tributary.v1.${typeName}`);
  return {
    encode(message: In): Buffer {
      const bytes = type.encode(type.fromObject(message as { [k: string]: unknown })).finish();
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    },
    decode(bytes: Uint8Array): Out {
      try {
        return type.toObject(type.decode(bytes), CONVERSION) as Out;
      } catch (error) {
        throw new ProtocolDecodeError(`cannot decode ${typeName}: ${(error as Error).message}`);
      }
    },
  };
}

/**
 * Names of `tributary.v1.<enumName>`'s values by number, for hand-written decoders that give
 * enums as names, as the generated ones do.
 */
export function enumValueNames(enumName: string): ReadonlyMap<number, string> {
  const values = loadRoot().lookupEnum(`tributary.v1.${enumName}`).valuesById;
  return new Map(Object.entries(values).map(([id, name]) => [Number(id), name]));
}
