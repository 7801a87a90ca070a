// Pre-framed messages: grpc-js sends their buffer as it is, and a peer reads the same message
// whether or not the patch is in place.
import * as grpc from "@grpc/grpc-js";
import { createRequire } from "node:module";
import { afterEach, describe, expect, it } from "vitest";
import { allocatePrefixedMessage } from "@tributary/protocol";
import { type OutgoingMessage, PreframedMessage, PreframedParts, installPreframedSerialization, preframedOf, serializeRawOrPreframed } from "./grpc-preframed.js";

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function preframed(text: string): PreframedMessage {
  const body = Buffer.from(text);
  const message = allocatePrefixedMessage(body.length);
  body.copy(message);
  return preframedOf(message);
}

/** `text` as parts of about `partBytes` each, the first with the gRPC prefix in front. */
function inParts(text: string, partBytes: number): PreframedParts {
  const body = Buffer.from(text);
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(body.length, 1);
  const parts = [Buffer.concat([prefix, body.subarray(0, partBytes)])];
  for (let at = partBytes; at < body.length; at += partBytes) parts.push(body.subarray(at, at + partBytes));
  return new PreframedParts(parts);
}

const echoPath = "/test.Echo/Stream";
const definition: grpc.MethodDefinition<Buffer, OutgoingMessage> = {
  path: echoPath,
  requestStream: true,
  responseStream: true,
  requestSerialize: (b: Buffer) => b,
  requestDeserialize: (b: Buffer) => b,
  responseSerialize: serializeRawOrPreframed,
  responseDeserialize: (b: Buffer) => b,
};

describe("pre-framed gRPC messages", () => {
  it("are handed to the stream as they are once installed", () => {
    expect(installPreframedSerialization()).toBe(true);
    const require = createRequire(import.meta.url);
    const { BaseServerInterceptingCall } = require("@grpc/grpc-js/build/src/server-interceptors.js") as { BaseServerInterceptingCall: { prototype: { serializeMessage(value: unknown): Buffer } } };
    const message = preframed("hello");
    expect(BaseServerInterceptingCall.prototype.serializeMessage.call({}, message)).toBe(message.framed);
    expect([...message.framed.subarray(0, 5)]).toEqual([0, 0, 0, 0, 5]);
    expect(serializeRawOrPreframed(message).toString()).toBe("hello");
    // Where parts cannot be written one by one, they are joined.
    const parts = inParts("hello parts", 3);
    expect(BaseServerInterceptingCall.prototype.serializeMessage.call({}, parts)).toEqual(Buffer.concat([Buffer.from([0, 0, 0, 0, 11]), Buffer.from("hello parts")]));
    expect(serializeRawOrPreframed(parts).toString()).toBe("hello parts");
  });

  it("refuses parts whose first part is not the prefix of the whole", () => {
    expect(() => new PreframedParts([Buffer.from([0, 0, 0, 0, 9]), Buffer.from("short")])).toThrow(/prefix/);
    expect(() => new PreframedParts([])).toThrow(/prefix/);
  });

  it("reach a client as the same messages as plain buffers do, parts written one by one (never joined)", async () => {
    installPreframedSerialization();
    const join = PreframedParts.prototype.joined;
    let joins = 0;
    PreframedParts.prototype.joined = function joined(this: PreframedParts): Buffer {
      joins++;
      return join.call(this);
    };
    cleanups.push(() => {
      PreframedParts.prototype.joined = join;
    });
    const server = new grpc.Server();
    server.addService({ Stream: definition } as grpc.ServiceDefinition, {
      Stream: (call: grpc.ServerDuplexStream<Buffer, OutgoingMessage>) => {
        call.on("data", (request: Buffer) => {
          call.write(preframed(`pre:${request.toString()}`));
          call.write(Buffer.from(`raw:${request.toString()}`));
          // Parts that span HTTP/2 frames (16 KiB), and a message of one part.
          call.write(inParts(`parts:${request.toString()}:${"x".repeat(40_000)}`, 7_000));
          call.write(inParts(`one:${request.toString()}`, 1_000));
        });
        call.on("end", () => call.end());
      },
    });
    const port = await new Promise<number>((resolve, reject) => server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
    const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    cleanups.push(() => {
      client.close();
      server.forceShutdown();
    });
    const call = client.makeBidiStreamRequest<Buffer, Buffer>(echoPath, (b) => b, (b) => b);
    const received: string[] = [];
    const ended = new Promise<void>((resolve, reject) => {
      call.on("data", (message: Buffer) => received.push(message.toString()));
      call.on("error", reject);
      call.on("end", resolve);
    });
    call.write(Buffer.from("a"));
    call.write(Buffer.from("bb"));
    call.end();
    await ended;
    const x = "x".repeat(40_000);
    expect(received).toEqual(["pre:a", "raw:a", `parts:a:${x}`, "one:a", "pre:bb", "raw:bb", `parts:bb:${x}`, "one:bb"]);
    expect(joins).toBe(0);
  });
});
