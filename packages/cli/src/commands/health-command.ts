// tributary health: asks a server's standard gRPC health service (grpc.health.v1.Health/Check),
// as grpc_health_probe does; compose health checks run it inside the image. Exit 0 only when the
// answer is SERVING. A controller without the health service is judged by its Raft quorum.
import * as grpc from "@grpc/grpc-js";
import { tributaryV1 } from "@tributary/protocol";
import type { CommandModule } from "../cli.js";
import { parseHostPort } from "../bootstrap.js";
import { CliError } from "../errors.js";
import { writeLines } from "../io.js";
import { intArg, stringArg } from "./args.js";

// HealthCheckRequest { string service = 1; } and HealthCheckResponse { ServingStatus status = 1; }
// are one field each: encoded here by hand rather than loading a .proto for them.
const STATUS_NAMES = ["UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"] as const;

export function encodeHealthCheckRequest(service: string): Buffer {
  const name = Buffer.from(service, "utf8");
  if (name.length === 0) return Buffer.alloc(0);
  if (name.length > 127) throw new CliError("--service name is longer than 127 bytes");
  return Buffer.concat([Buffer.from([0x0a, name.length]), name]);
}

export function decodeHealthCheckStatus(bytes: Buffer): string {
  // Absent field: the default, UNKNOWN (0).
  if (bytes.length === 0) return "UNKNOWN";
  if (bytes[0] !== 0x08 || bytes.length < 2) throw new CliError("the health response is malformed");
  return STATUS_NAMES[bytes[1]!] ?? `status ${bytes[1]}`;
}

export function checkHealth(address: string, service: string, timeoutMs: number): Promise<string> {
  const Client = grpc.makeGenericClientConstructor({
    Check: {
      path: "/grpc.health.v1.Health/Check",
      requestStream: false,
      responseStream: false,
      requestSerialize: (value: Buffer) => value,
      requestDeserialize: (bytes: Buffer) => bytes,
      responseSerialize: (value: Buffer) => value,
      responseDeserialize: (bytes: Buffer) => bytes,
    },
  }, "Health");
  const client = new Client(address, grpc.credentials.createInsecure());
  return new Promise<string>((resolve, reject) => {
    client.makeUnaryRequest<Buffer, Buffer>("/grpc.health.v1.Health/Check", (v) => v, (b) => b, encodeHealthCheckRequest(service),
      { deadline: Date.now() + timeoutMs }, (error, response) => {
        client.close();
        if (error) reject(error);
        else resolve(decodeHealthCheckStatus(response ?? Buffer.alloc(0)));
      });
  });
}

/**
 * Controllers that do not serve grpc.health.v1 are asked for their quorum instead: SERVING when
 * the quorum has a leader (the controller can serve metadata), NOT_SERVING while it has none.
 */
export function checkControllerQuorum(address: string, timeoutMs: number): Promise<string> {
  const v1 = tributaryV1();
  const client = new v1.Controller(address, grpc.credentials.createInsecure());
  return new Promise<string>((resolve, reject) => {
    client.DescribeQuorum({}, { deadline: Date.now() + timeoutMs }, (error, response) => {
      client.close();
      if (error) reject(error);
      else resolve(response && response.leaderId >= 0 ? "SERVING" : "NOT_SERVING");
    });
  });
}

function isUnimplemented(error: unknown): boolean {
  return (error as { code?: unknown }).code === grpc.status.UNIMPLEMENTED;
}

export const healthCommand: CommandModule = (parser, run) =>
  parser.command("health", "Ask a broker or controller's gRPC health service; exit 0 when SERVING", (y) => y
    .option("address", { type: "string", describe: "host:port to ask (default: the first --bootstrap-server)" })
    .option("service", { type: "string", default: "", describe: "Service name to ask about; empty: the server as a whole" })
    .option("timeout-ms", { type: "number", default: 3_000, describe: "Give up after this long" })
    .example("$0 health --address localhost:9092", ""),
  run(async (argv, context) => {
    const address = stringArg(argv, "address") ?? context.bootstrapServers[0]!;
    parseHostPort(address);
    const timeoutMs = intArg(argv, "timeoutMs", "--timeout-ms") ?? 3_000;
    const status = await checkHealth(address, stringArg(argv, "service") ?? "", timeoutMs)
      .catch((error: unknown) => {
        if (isUnimplemented(error)) return checkControllerQuorum(address, timeoutMs);
        throw error;
      })
      .catch((error: unknown) => {
        if (isUnimplemented(error)) throw new CliError(`${address} serves neither grpc.health.v1 nor a controller's DescribeQuorum`);
        const code = (error as { code?: unknown }).code;
        const why = code === grpc.status.UNAVAILABLE ? "cannot connect" : code === grpc.status.DEADLINE_EXCEEDED ? `no answer within ${timeoutMs} ms` : (error as Error).message;
        throw new CliError(`no answer from ${address}: ${why}`, "is the server running and listening there?");
      });
    await writeLines(context.io.stdout, [status]);
    if (status !== "SERVING") throw new CliError(`${address} is ${status}`);
  }));
