// The StreamDecoder patch: messages still come out whole however the bytes are cut, and once a
// message is out the decoder holds none of its chunks.
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import { installDecoderRelease } from "./grpc-decoder-release.js";

interface Decoder {
  write(data: Buffer): Buffer[];
  readPartialMessage: Buffer[];
  readCompressFlag: Buffer;
}
const { StreamDecoder } = createRequire(import.meta.url)("@grpc/grpc-js/build/src/stream-decoder.js") as { StreamDecoder: new (max: number) => Decoder };

function framed(body: Buffer): Buffer {
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(body.length, 1);
  return Buffer.concat([prefix, body]);
}

describe("installDecoderRelease", () => {
  it("keeps messages whole across any cut and lets go of their chunks", () => {
    expect(installDecoderRelease()).toBe(true);
    const bodies = [Buffer.alloc(70_000, 1), Buffer.from("x"), Buffer.alloc(0), Buffer.alloc(3000, 7)];
    const stream = Buffer.concat(bodies.map(framed));
    for (const cut of [1, 3, 7, 4096, 65_536, stream.length]) {
      const decoder = new StreamDecoder(-1);
      const out: Buffer[] = [];
      for (let at = 0; at < stream.length; at += cut) {
        const chunk = Buffer.from(stream.subarray(at, at + cut)); // its own buffer, as a socket read is
        out.push(...decoder.write(chunk));
      }
      expect(out.map((m) => m.subarray(5))).toEqual(bodies);
      expect(decoder.readPartialMessage).toEqual([]);
      expect(decoder.readCompressFlag.buffer).not.toBe(stream.buffer);
    }
  });

  it("keeps what a message cut short still needs", () => {
    installDecoderRelease();
    const decoder = new StreamDecoder(-1);
    const message = framed(Buffer.alloc(100, 9));
    expect(decoder.write(message.subarray(0, 60))).toEqual([]);
    expect(decoder.readPartialMessage.length).toBe(1);
    expect(decoder.write(message.subarray(60))).toEqual([message]);
    expect(decoder.readPartialMessage).toEqual([]);
  });
});
