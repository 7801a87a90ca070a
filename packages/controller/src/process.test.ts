// In-process start/stop of a single-node controller: gRPC health follows Raft leadership, and a
// port that is already taken fails the start without leaving Raft running behind the error.
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { service as healthService } from "grpc-health-check";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { resolveControllerConfig } from "./controller-config.js";
import { startController } from "./process.js";

const silent = pino({ level: "silent" });
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function listenOnFreePort(): Promise<{ server: Server; port: number }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  return { server, port: typeof address === "object" && address ? address.port : 0 };
}

function configFor(port: number) {
  const dir = mkdtempSync(join(tmpdir(), "tributary-controller-process-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return resolveControllerConfig({
    overrides: {
      "node.id": "1",
      listeners: `CONTROLLER://127.0.0.1:${port}`,
      "controller.quorum.voters": `1@127.0.0.1:${port}`,
      "metadata.log.dir": dir,
    },
  });
}

async function healthStatus(port: number): Promise<string> {
  const HealthClient = grpc.makeGenericClientConstructor(healthService as unknown as grpc.ServiceDefinition, "Health");
  const client = new HealthClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  try {
    return await new Promise<string>((resolve, reject) =>
      (client as unknown as { check: (req: object, cb: (err: Error | null, res?: { status: string }) => void) => void }).check(
        { service: "" },
        (err, res) => (err ? reject(err) : resolve(res?.status ?? "UNKNOWN")),
      ),
    );
  } finally {
    client.close();
  }
}

describe("controller process (in-process)", () => {
  it("reports SERVING on grpc.health.v1 once its quorum has a leader", async () => {
    const { server, port } = await listenOnFreePort();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const controller = await startController(configFor(port), { log: silent });
    cleanups.push(() => controller.stop());
    const deadline = Date.now() + 20_000;
    let status = "";
    while (Date.now() < deadline && status !== "SERVING") {
      status = await healthStatus(port).catch(() => "UNREACHABLE");
      if (status !== "SERVING") await new Promise((r) => setTimeout(r, 50));
    }
    expect(status).toBe("SERVING");
  });

  it("fails to start on a port in use, and lets go of its data dir so a retry can start", async () => {
    const { server, port } = await listenOnFreePort();
    const config = configFor(port);
    await expect(startController(config, { log: silent })).rejects.toThrow(/No address added|EADDRINUSE|bind/i);
    await new Promise<void>((resolve) => server.close(() => resolve()));
    // The same data dir again: LevelDB's lock is only free if the failed start closed its Raft
    // storage (and so its Raft node), instead of leaving them running behind the error.
    const controller = await startController(config, { log: silent });
    cleanups.push(() => controller.stop());
    expect(controller.port).toBe(port);
  });
});
