// Pre-framed messages: grpc-js sends their buffer as it is, and a peer reads the same message
// whether or not the patch is in place.
import * as grpc from "@grpc/grpc-js";
import { createRequire } from "node:module";
import { afterEach, describe, expect, it } from "vitest";
import { allocatePrefixedMessage } from "@tributary/protocol";
import { PreframedMessage, installPreframedSerialization, preframedOf, serializeRawOrPreframed } from "./grpc-preframed.js";

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

const echoPath = "/test.Echo/Stream";
const definition: grpc.MethodDefinition<Buffer, Buffer | PreframedMessage> = {
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
  });

  it("reach a client as the same messages as plain buffers do", async () => {
    installPreframedSerialization();
    const server = new grpc.Server();
    server.addService({ Stream: definition } as grpc.ServiceDefinition, {
      Stream: (call: grpc.ServerDuplexStream<Buffer, Buffer | PreframedMessage>) => {
        call.on("data", (request: Buffer) => {
          call.write(preframed(`pre:${request.toString()}`));
          call.write(Buffer.from(`raw:${request.toString()}`));
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
    expect(received).toEqual(["pre:a", "raw:a", "pre:bb", "raw:bb"]);
  });
});
