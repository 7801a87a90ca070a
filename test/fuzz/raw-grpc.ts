// Below the generated clients: unary gRPC calls with arbitrary body bytes (grpc-js framing, a
// bogus protobuf inside), raw HTTP/2 streams with lying gRPC frame headers, raw TCP garbage,
// the standard gRPC health check, and a process's resident memory.
import fs from "node:fs";
import http2 from "node:http2";
import net from "node:net";
import path from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import type * as grpcTypes from "@grpc/grpc-js";

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
export const grpc = createRequire(path.join(REPO, "packages/broker/package.json"))("@grpc/grpc-js") as typeof grpcTypes;

/** How a hostile call ended: a gRPC status (OK included) or the connection closing under it. */
export type Outcome = { kind: "status"; code: number; details: string } | { kind: "closed"; why: string } | { kind: "hung" };

/** A unary call whose request body is `body` as is (no protobuf encoding). */
export function rawUnary(client: grpcTypes.Client, method: string, body: Buffer, timeoutMs = 5_000): Promise<Outcome> {
  return new Promise((resolve) => {
    client.makeUnaryRequest(method, (b: Buffer) => b, (b: Buffer) => b, body, { deadline: Date.now() + timeoutMs }, (error) => {
      if (!error) return resolve({ kind: "status", code: 0, details: "" });
      if (error.code === grpc.status.DEADLINE_EXCEEDED) return resolve({ kind: "hung" });
      resolve({ kind: "status", code: error.code, details: error.details });
    });
  });
}

/**
 * One HTTP/2 stream carrying `payload` as the request body (the caller builds the gRPC frame,
 * or lies in it). Resolves with the grpc-status trailer, or "closed" when the server resets the
 * stream or the session; "hung" if nothing happened before the deadline.
 */
export function rawHttp2(address: string, method: string, payload: Buffer, timeoutMs = 5_000, headers: Record<string, string> = {}): Promise<Outcome> {
  return new Promise((resolve) => {
    const session = http2.connect(`http://${address}`);
    let done = false;
    const finish = (outcome: Outcome) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      session.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(() => finish({ kind: "hung" }), timeoutMs);
    session.on("error", (e) => finish({ kind: "closed", why: `session error ${e.message}` }));
    session.on("close", () => finish({ kind: "closed", why: "session closed" }));
    const stream = session.request({
      ":method": "POST", ":path": method, "content-type": "application/grpc", te: "trailers", ...headers,
    });
    let status: number | undefined;
    let details = "";
    const read = (h: http2.IncomingHttpHeaders) => {
      if (h["grpc-status"] !== undefined) {
        status = Number(h["grpc-status"]);
        details = String(h["grpc-message"] ?? "");
      }
    };
    stream.on("response", read);
    stream.on("trailers", read);
    stream.on("data", () => {});
    stream.on("error", (e) => finish({ kind: "closed", why: `stream error ${e.message}` }));
    stream.on("close", () => finish(status !== undefined ? { kind: "status", code: status, details } : { kind: "closed", why: `stream closed, rst code ${stream.rstCode}` }));
    stream.end(payload);
  });
}

/** A gRPC length-prefixed message: flag byte, 4-byte length (which may lie), then the body. */
export function grpcFrame(body: Buffer, options: { compressed?: boolean; declaredLength?: number } = {}): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt8(options.compressed ? 1 : 0, 0);
  header.writeUInt32BE((options.declaredLength ?? body.length) >>> 0, 1);
  return Buffer.concat([header, body]);
}

/** Writes `bytes` on a plain TCP connection and resolves when the server closes it. */
export function rawTcp(host: string, port: number, bytes: Buffer, timeoutMs = 10_000): Promise<Outcome> {
  return new Promise((resolve) => {
    const socket = net.connect(port, host, () => socket.write(bytes));
    const timer = setTimeout(() => { socket.destroy(); resolve({ kind: "hung" }); }, timeoutMs);
    socket.on("data", () => {});
    socket.on("error", () => {});
    socket.on("close", () => { clearTimeout(timer); resolve({ kind: "closed", why: "server closed the connection" }); });
  });
}

/** grpc.health.v1.Health/Check for the whole server: "SERVING" when all is well. */
export async function healthCheck(address: string): Promise<string> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  try {
    return await new Promise<string>((resolve, reject) => {
      client.makeUnaryRequest("/grpc.health.v1.Health/Check", (b: Buffer) => b, (b: Buffer) => b, Buffer.alloc(0), { deadline: Date.now() + 5_000 }, (error, value) => {
        if (error) return reject(error);
        // HealthCheckResponse { ServingStatus status = 1; }: 1 SERVING, 2 NOT_SERVING; absent = 0 UNKNOWN.
        const status = value && value.length >= 2 && value[0] === 0x08 ? value[1]! : 0;
        resolve(["UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"][status] ?? String(status));
      });
    });
  } finally {
    client.close();
  }
}

export function rssBytes(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
  if (kb === undefined) throw new Error(`no VmRSS for ${pid}`);
  return Number(kb) * 1024;
}

export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
