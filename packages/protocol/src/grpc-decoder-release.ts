// grpc-js's StreamDecoder (which cuts incoming HTTP/2 data into messages, on servers and clients)
// keeps views of the chunks of the last message it assembled (and a 1-byte view of its first
// chunk) until the next message on the same call begins. Those views pin Node's socket read
// buffers (64 KiB each): on a Broker.Session call, megabytes of a produce request (on a broker)
// or of a fetch answer (on a consumer) stay reachable until the next one arrives, which is long
// enough for V8 to move them to the old generation, where only a mark-compact frees them. In
// bench:broker with 3 MB produce requests (the SDK's shape: many 256 KiB batches a partition)
// that was ~1.5 mark-compacts a second per broker; letting go of the views after each message
// cut it to ~0.2 and broker CPU per record by ~10%. A consumer reading 400,000 records of 1 KiB
// spent 87-136 ms in scavenges with it and 109-139 ms without (four runs of each, alternated).
//
// This wraps StreamDecoder.prototype.write, a grpc-js internal, so it is best effort: where the
// class or its fields are not as expected, nothing is patched and grpc-js works as before.
import { youngArray } from "@tributary/records";
import { loadGrpcInternal } from "./grpc-internals.js";

interface StreamDecoderInternals {
  readState: unknown;
  readPartialMessage: unknown;
  readCompressFlag: unknown;
}

interface StreamDecoderPrototype {
  write(this: StreamDecoderInternals, data: Buffer): Buffer[];
}

interface StreamDecoderClass {
  new (maxReadMessageLength: number): StreamDecoderInternals;
  prototype: StreamDecoderPrototype;
}

/** ReadState.NO_DATA in stream-decoder.js: between messages. */
const NO_DATA = 0;

let installed: boolean | undefined;

/** Idempotent; returns whether the patch is in place. */
export function installDecoderRelease(): boolean {
  if (installed !== undefined) return installed;
  installed = false;
  const decoderClass = loadGrpcInternal<{ StreamDecoder: StreamDecoderClass }>("stream-decoder.js")?.StreamDecoder;
  const prototype = decoderClass?.prototype;
  const original = prototype?.write;
  if (decoderClass === undefined || prototype === undefined || typeof original !== "function" || !looksAsExpected(decoderClass, original)) return installed;
  const emptyFlag = Buffer.alloc(1);
  prototype.write = function write(this: StreamDecoderInternals, data: Buffer): Buffer[] {
    const messages = original.call(this, data);
    // Between messages the decoder needs none of the previous message's chunks: the next one
    // starts with a fresh list (stream-decoder.js, state NO_DATA).
    if (this.readState === NO_DATA) {
      // youngArray(), not []: chunks are pushed into this array while a message comes in, and
      // a literal's site that saw megabyte answers survive would go on allocating it in the old
      // generation, where it would keep each young chunk alive (see young.ts in @tributary/records).
      this.readPartialMessage = youngArray();
      this.readCompressFlag = emptyFlag;
    }
    return messages;
  };
  installed = true;
  return installed;
}

/** The fields the wrapper resets are the ones this grpc-js uses, set the way it sets them. */
function looksAsExpected(decoderClass: StreamDecoderClass, write: (...args: never[]) => unknown): boolean {
  const source = Function.prototype.toString.call(write);
  const fresh = new decoderClass(-1);
  return fresh.readState === NO_DATA && Array.isArray(fresh.readPartialMessage) && source.includes("this.readPartialMessage = []") && source.includes("this.readCompressFlag = ");
}
