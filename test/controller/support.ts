// Test support for controller process tests: start real controller processes on free ports with
// their own data dirs, and a small gRPC client that follows NOT_CONTROLLER hints.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

// test/ has no package.json of its own: resolve the packages the controller package depends on.
const requireFromController = createRequire(new URL("../../packages/controller/package.json", import.meta.url));
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const grpc = requireFromController("@grpc/grpc-js") as typeof import("@grpc/grpc-js");
export const protocol = (await import(pathToFileURL(requireFromController.resolve("@tributary/protocol")).href)) as typeof import("@tributary/protocol");

export const CONTROLLER_MAIN = new URL("../../packages/controller/dist/main.js", import.meta.url).pathname;

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `tributary-${prefix}-`));
}

export async function pollUntil<T>(what: string, deadlineMs: number, probe: () => Promise<T | undefined> | T | undefined, intervalMs = 50): Promise<T> {
  const end = Date.now() + deadlineMs;
  let lastError: unknown;
  while (Date.now() < end) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out after ${deadlineMs} ms waiting for ${what}${lastError ? `; last error: ${String(lastError)}` : ""}`);
}

export interface ControllerProcess {
  nodeId: number;
  port: number;
  dataDir: string;
  configFile: string;
  child: ChildProcess;
  output: string[];
  exited: Promise<number | null>;
}

export interface ClusterSpec {
  nodeIds: number[];
  ports: Map<number, number>;
  dataDirs: Map<number, string>;
  overrides: Record<string, string>;
}

export async function clusterSpec(size: number, overrides: Record<string, string> = {}): Promise<ClusterSpec> {
  const nodeIds = Array.from({ length: size }, (_, i) => i + 1);
  const ports = new Map<number, number>();
  const dataDirs = new Map<number, string>();
  for (const id of nodeIds) {
    ports.set(id, await freePort());
    dataDirs.set(id, tempDir(`controller-${id}`));
  }
  return { nodeIds, ports, dataDirs, overrides };
}

export function votersOf(spec: ClusterSpec): string {
  return spec.nodeIds.map((id) => `${id}@127.0.0.1:${spec.ports.get(id)}`).join(",");
}

/** Spawns `node main.js --config` for one node of `spec` and waits for its "listening" line. */
export async function startControllerProcess(spec: ClusterSpec, nodeId: number): Promise<ControllerProcess> {
  const dataDir = spec.dataDirs.get(nodeId)!;
  const port = spec.ports.get(nodeId)!;
  const configFile = join(dataDir, "..", `controller-${nodeId}-${port}.properties`);
  const lines = [
    `node.id=${nodeId}`,
    `listeners=CONTROLLER://127.0.0.1:${port}`,
    `controller.quorum.voters=${votersOf(spec)}`,
    `metadata.log.dir=${dataDir}`,
    ...Object.entries(spec.overrides).map(([k, v]) => `${k}=${v}`),
  ];
  writeFileSync(configFile, `${lines.join("\n")}\n`);
  const child = spawn(process.execPath, [CONTROLLER_MAIN, "--config", configFile], { stdio: ["ignore", "pipe", "pipe"] });
  const output: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const listening = new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      const text = chunk.toString();
      output.push(text);
      if (text.includes('"msg":"listening"')) resolve();
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", (chunk: Buffer) => output.push(chunk.toString()));
    void exited.then((code) => reject(new Error(`controller ${nodeId} exited with ${code} before listening:\n${output.join("")}`)));
  });
  await listening;
  return { nodeId, port, dataDir, configFile, child, output, exited };
}

export async function kill9(proc: ControllerProcess): Promise<void> {
  if (proc.child.exitCode !== null || proc.child.signalCode !== null) return;
  proc.child.kill("SIGKILL");
  await proc.exited;
}

export async function stopGracefully(proc: ControllerProcess): Promise<number | null> {
  if (proc.child.exitCode !== null || proc.child.signalCode !== null) return proc.child.exitCode;
  proc.child.kill("SIGTERM");
  return proc.exited;
}

export function removeDirs(spec: ClusterSpec): void {
  for (const dir of spec.dataDirs.values()) rmSync(dir, { recursive: true, force: true });
}

type Callback<R> = (error: Error | null, response?: R) => void;
type UnaryMethod = (request: object, options: object, callback: Callback<unknown>) => void;

/** A Controller-service client per node, following NOT_CONTROLLER hints to the leader. */
export class ControllerClients {
  private readonly clients = new Map<number, Record<string, UnaryMethod> & { close(): void }>();

  constructor(private readonly spec: ClusterSpec) {
    const Controller = protocol.tributaryV1().Controller;
    for (const id of spec.nodeIds) {
      const options = { "grpc.initial_reconnect_backoff_ms": 50, "grpc.max_reconnect_backoff_ms": 500, "grpc.max_receive_message_length": 256 << 20 };
      this.clients.set(id, new Controller(`127.0.0.1:${spec.ports.get(id)}`, grpc.credentials.createInsecure(), options) as never);
    }
  }

  client(nodeId: number): Record<string, UnaryMethod> & { close(): void } {
    return this.clients.get(nodeId)!;
  }

  call<R>(nodeId: number, method: string, request: object, timeoutMs = 3_000): Promise<R> {
    return new Promise((resolve, reject) => {
      const client = this.client(nodeId);
      client[method]!.call(client, request, { deadline: Date.now() + timeoutMs }, (error: Error | null, response?: unknown) => (error ? reject(error) : resolve(response as R)));
    });
  }

  /** The leader every reachable node agrees on, or undefined. */
  async leader(among: readonly number[] = this.spec.nodeIds): Promise<number | undefined> {
    const answers = await Promise.all(among.map((id) => this.call<{ leaderId: number }>(id, "DescribeQuorum", {}, 1_000).then((r) => r.leaderId, () => undefined)));
    const known = answers.filter((id): id is number => id !== undefined && id >= 0);
    if (known.length === 0 || known.some((id) => id !== known[0]) || known.length < Math.floor(this.spec.nodeIds.length / 2) + 1) return undefined;
    return known[0];
  }

  /**
   * Calls a write on whichever node it starts at, following NOT_CONTROLLER hints and retrying
   * retriable failures until `deadlineMs`. `errorOf` finds the error code in the response.
   */
  async write<R>(method: string, request: object, errorOf: (r: R) => { code: string; message: string } | undefined, deadlineMs = 20_000, startAt?: number): Promise<R> {
    const end = Date.now() + deadlineMs;
    let target = startAt ?? this.spec.nodeIds[0]!;
    let last = "";
    while (Date.now() < end) {
      try {
        const response = await this.call<R & { controller?: { nodeId: number } }>(target, method, request, 3_000);
        const error = errorOf(response);
        if (!error || error.code === "NONE") return response;
        last = `${error.code}: ${error.message}`;
        if (error.code !== "NOT_CONTROLLER" && error.code !== "REQUEST_TIMED_OUT") return response;
        const hint = response.controller?.nodeId ?? -1;
        target = hint >= 0 && hint !== target ? hint : this.next(target);
      } catch (error) {
        last = String(error);
        target = this.next(target);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`${method} did not succeed within ${deadlineMs} ms; last: ${last}`);
  }

  private next(nodeId: number): number {
    const ids = this.spec.nodeIds;
    return ids[(ids.indexOf(nodeId) + 1) % ids.length]!;
  }

  createTopic(name: string, numPartitions = 1, replicationFactor = 1): Promise<{ topics: { name: string; error: { code: string; message: string } }[] }> {
    return this.write("CreateTopics", { topics: [{ name, numPartitions, replicationFactor }] }, (r: { topics: { error: { code: string; message: string } }[] }) => r.topics[0]?.error);
  }

  /**
   * The committed image of one node, read through its StreamMetadata until `done` says it is
   * enough. A stream that fails (the node is still starting) is opened again until the deadline.
   */
  async streamImage(nodeId: number, done: (image: InstanceType<typeof protocol.MetadataImage>) => boolean, deadlineMs = 15_000): Promise<InstanceType<typeof protocol.MetadataImage>> {
    const end = Date.now() + deadlineMs;
    let lastError: unknown;
    while (Date.now() < end) {
      try {
        return await this.streamOnce(nodeId, done, end - Date.now());
      } catch (error) {
        if ((error as { code?: number }).code !== grpc.status.UNAVAILABLE) throw error;
        lastError = error;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    throw new Error(`node ${nodeId}'s metadata stream did not reach the expected state within ${deadlineMs} ms; last error: ${String(lastError)}`);
  }

  private streamOnce(nodeId: number, done: (image: InstanceType<typeof protocol.MetadataImage>) => boolean, deadlineMs: number): Promise<InstanceType<typeof protocol.MetadataImage>> {
    const image = new protocol.MetadataImage();
    const client = this.client(nodeId) as unknown as { StreamMetadata(request: object): NodeJS.EventEmitter & { cancel(): void } };
    const call = client.StreamMetadata({ brokerId: 0, fromOffset: "0" });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        call.cancel();
        reject(new Error(`node ${nodeId}'s metadata stream did not reach the expected state within ${deadlineMs} ms`));
      }, deadlineMs);
      call.on("data", (message: { snapshot?: unknown; batch?: { baseOffset: string; records: unknown[] } }) => {
        if (message.snapshot) image.loadSnapshot(message.snapshot as never);
        if (message.batch) message.batch.records.forEach((record, i) => image.apply(Number(message.batch!.baseOffset) + i, record as never));
        let finished: boolean;
        try {
          finished = done(image);
        } catch (error) {
          clearTimeout(timer);
          call.cancel();
          reject(error as Error);
          return;
        }
        if (finished) {
          clearTimeout(timer);
          call.cancel();
          resolve(image);
        }
      });
      call.on("error", (error: { code?: number }) => {
        if (error.code !== grpc.status.CANCELLED) {
          clearTimeout(timer);
          reject(error as Error);
        }
      });
    });
  }

  close(): void {
    for (const client of this.clients.values()) client.close();
  }
}
