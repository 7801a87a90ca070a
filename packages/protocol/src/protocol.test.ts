import * as grpc from "@grpc/grpc-js";
import { afterAll, describe, expect, it } from "vitest";
import { messageCodec } from "./codec.js";
import { ERROR_CODES, TributaryError, errorCodeOf, isRetriable, throwIfError } from "./errors.js";
import { int64, int64ToBigInt, int64ToNumber } from "./int64.js";
import { tributaryV1 } from "./loader.js";
import type { v1 } from "./index.js";

describe("error codes", () => {
  it("covers every code in the proto enum with a retriable flag", () => {
    const v1Enum = (tributaryV1().ErrorCode as unknown as { type: { value: { name: string }[] } }).type.value.map((v) => v.name);
    expect(v1Enum.length).toBeGreaterThan(50);
    expect(Object.keys(ERROR_CODES).sort()).toEqual([...v1Enum].sort());
    expect(isRetriable("NOT_LEADER_OR_FOLLOWER")).toBe(true);
    expect(isRetriable("CORRUPT_MESSAGE")).toBe(false);
  });

  it("raises responses as typed errors", () => {
    expect(() => throwIfError({ code: "NONE", message: "" })).not.toThrow();
    const thrown = (() => { try { throwIfError({ code: "NOT_ENOUGH_REPLICAS", message: "isr 1 < 2" }, "produce t-0"); } catch (e) { return e; } })();
    expect(thrown).toBeInstanceOf(TributaryError);
    expect(thrown).toMatchObject({ code: "NOT_ENOUGH_REPLICAS", retriable: true, message: "produce t-0: isr 1 < 2" });
    expect(errorCodeOf({ code: 4242 })).toBe("UNKNOWN_SERVER_ERROR");
  });
});

describe("int64", () => {
  it("keeps offsets exact and refuses to round", () => {
    expect(int64ToBigInt("9223372036854775807")).toBe(9223372036854775807n);
    expect(int64ToNumber("9007199254740991")).toBe(Number.MAX_SAFE_INTEGER);
    expect(() => int64ToNumber("9007199254740993")).toThrow(RangeError);
    expect(int64(2n ** 62n)).toBe("4611686018427387904");
  });
});

describe("message codec", () => {
  it("round-trips a metadata record with exact int64s and oneof", () => {
    const codec = messageCodec<v1.MetadataRecord, v1.MetadataRecord__Output>("MetadataRecord");
    const bytes = codec.encode({ brokerRegistration: { brokerId: 3, brokerEpoch: "9007199254740993", listeners: [{ host: "h", port: 9092 }] } });
    const decoded = codec.decode(bytes);
    expect(decoded.record).toBe("brokerRegistration");
    expect(decoded.brokerRegistration?.brokerEpoch).toBe("9007199254740993");
    expect(decoded.brokerRegistration?.listeners[0]?.port).toBe(9092);
    expect(() => codec.decode(Buffer.from([0x0a, 0xff, 0xff, 0xff]))).toThrow(/cannot decode MetadataRecord/);
  });
});

describe("gRPC services from proto/", () => {
  const server = new grpc.Server();
  afterAll(() => new Promise<void>((resolve) => server.tryShutdown(() => resolve())));

  it("serves and calls Broker.Metadata with the generated types", async () => {
    const v1ns = tributaryV1();
    server.addService(v1ns.Broker.service, {
      Metadata: (call: grpc.ServerUnaryCall<v1.MetadataRequest__Output, v1.MetadataResponse>, callback: grpc.sendUnaryData<v1.MetadataResponse>) =>
        callback(null, { clusterId: "c1", controllerId: 1, metadataOffset: "12345678901234", topics: call.request.topics.map((name) => ({ name })) }),
    } as Partial<v1.BrokerHandlers> as grpc.UntypedServiceImplementation);
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
    const client = new v1ns.Broker(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    const response = await new Promise<v1.MetadataResponse__Output>((resolve, reject) =>
      client.Metadata({ topics: ["a", "b"] }, (err, value) => (err || !value ? reject(err) : resolve(value))),
    );
    client.close();
    expect(response.clusterId).toBe("c1");
    expect(response.metadataOffset).toBe("12345678901234");
    expect(response.topics.map((t) => t.name)).toEqual(["a", "b"]);
  });
});
