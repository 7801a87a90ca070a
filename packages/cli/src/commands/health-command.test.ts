import { describe, expect, it } from "vitest";
import { decodeHealthCheckStatus, encodeHealthCheckRequest } from "./health-command.js";

describe("gRPC health probe encoding", () => {
  it("encodes the service name as field 1 and decodes the status enum", () => {
    expect(encodeHealthCheckRequest("")).toEqual(Buffer.alloc(0));
    expect(encodeHealthCheckRequest("tributary.v1.Broker")).toEqual(Buffer.concat([Buffer.from([0x0a, 19]), Buffer.from("tributary.v1.Broker")]));
    expect(decodeHealthCheckStatus(Buffer.from([0x08, 0x01]))).toBe("SERVING");
    expect(decodeHealthCheckStatus(Buffer.from([0x08, 0x02]))).toBe("NOT_SERVING");
    expect(decodeHealthCheckStatus(Buffer.alloc(0))).toBe("UNKNOWN");
  });
});
