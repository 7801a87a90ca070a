// A cluster of real Tributary processes for tests and benchmarks.
//
//   const cluster = await startCluster({ controllers: 1, brokers: 3 });
//   try {
//     cluster.bootstrapServers            // ["127.0.0.1:41234", ...] one per broker
//     cluster.brokers[0]                  // { nodeId: 1, role: "broker", pid, port, dataDir, address, alive }
//     await cluster.kill(2, "SIGKILL");   // by node id; resolves once the process has exited
//     await cluster.restart(2);           // same node id, port and data dir
//     await cluster.waitFor(async () => ..., { timeoutMs: 20_000, message: "broker 2 back in the ISR" });
//   } finally {
//     await cluster.stop();               // stops every process by PID (also on test failure)
//   }
//
// Node ids: brokers are 1..n; controllers are 3001, 3002, 3003 (so a broker id never names a
// controller). Every process gets a free 127.0.0.1 port (probed by binding it, below the ephemeral
// range so outgoing connections cannot take it before a restart) and its own temp
// data dir under os.tmpdir(); processes are started through the packages' main.js entry points
// (build them first: `npx tsc -b packages/controller packages/broker`). Their stdout (pino JSON
// lines) is kept in memory per node (`node.output()`), and printed when a start fails.
// `brokerOverrides` / `controllerOverrides` are config keys passed as --override key=value;
// a function form gets the node id. Every PID started is also killed when the test process exits.
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const CONTROLLER_MAIN = path.join(REPO, "packages/controller/dist/main.js");
const BROKER_MAIN = path.join(REPO, "packages/broker/dist/main.js");
export const CONTROLLER_ID_BASE = 3000;
const START_TIMEOUT_MS = 30_000;
const OUTPUT_LINES_KEPT = 2_000;

export type Overrides = Record<string, string> | ((nodeId: number) => Record<string, string>);

export interface ClusterOptions {
  controllers: 1 | 3;
  brokers: number;
  brokerOverrides?: Overrides;
  controllerOverrides?: Overrides;
  /** Keep the data dirs after stop() (for debugging). */
  keepDataDirs?: boolean;
}

export interface ClusterNode {
  readonly nodeId: number;
  readonly role: "controller" | "broker";
  readonly port: number;
  readonly dataDir: string;
  /** "127.0.0.1:<port>" */
  readonly address: string;
  readonly pid: number | undefined;
  readonly alive: boolean;
  /** The process's stdout and stderr lines so far (the last few thousand). */
  output(): string[];
}

export interface WaitOptions {
  timeoutMs: number;
  intervalMs?: number;
  message?: string;
}

export interface Cluster {
  readonly bootstrapServers: string[];
  readonly brokers: ClusterNode[];
  readonly controllers: ClusterNode[];
  readonly quorumVoters: string;
  node(nodeId: number): ClusterNode;
  kill(nodeId: number, signal?: NodeJS.Signals): Promise<void>;
  /** SIGSTOP / SIGCONT: freeze a process without closing its sockets (a stalled node). */
  pause(nodeId: number): void;
  resume(nodeId: number): void;
  restart(nodeId: number): Promise<void>;
  /** Polls `predicate` until it returns a truthy value (which is returned) or the deadline passes. */
  waitFor<T>(predicate: () => T | Promise<T>, options: WaitOptions): Promise<NonNullable<T>>;
  stop(): Promise<void>;
}

const livePids = new Set<number>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const pid of livePids) {
      try { process.kill(pid, "SIGKILL"); } catch { /* already gone */ }
    }
  });
}

/**
 * A port free on 127.0.0.1 now. Tried first below Linux's ephemeral range (32768+): a port the
 * OS hands out for :0 can be taken again by any outgoing connection before our process binds it,
 * which a restart on the same port cannot survive. Falls back to the OS's choice (bind :0).
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const candidate = 20_000 + Math.floor(Math.random() * 12_000);
    if (await canBind(candidate)) return candidate;
  }
  return listenOn(0);
}

function canBind(port: number): Promise<boolean> {
  return listenOn(port).then(() => true, () => false);
}

function listenOn(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on("error", reject);
    server.listen(port, "127.0.0.1", () => {
      const address = server.address();
      const bound = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(bound));
    });
  });
}

class Node implements ClusterNode {
  child: ChildProcess | undefined;
  private lines: string[] = [];
  private exited: Promise<void> = Promise.resolve();

  constructor(
    readonly nodeId: number,
    readonly role: "controller" | "broker",
    readonly port: number,
    readonly dataDir: string,
    private readonly configFile: string,
    private readonly overrides: Record<string, string>,
  ) {}

  get address(): string { return `127.0.0.1:${this.port}`; }
  get pid(): number | undefined { return this.child?.pid; }
  get alive(): boolean { return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null; }
  output(): string[] { return [...this.lines]; }

  async start(): Promise<void> {
    const main = this.role === "controller" ? CONTROLLER_MAIN : BROKER_MAIN;
    if (!fs.existsSync(main)) throw new Error(`${main} is missing: build first (npx tsc -b packages/${this.role})`);
    const args = [main, "--config", this.configFile];
    for (const [key, value] of Object.entries(this.overrides)) args.push("--override", `${key}=${value}`);
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, TRIBUTARY_TEST_NODE: String(this.nodeId) } });
    this.child = child;
    if (child.pid !== undefined) livePids.add(child.pid);
    this.exited = new Promise((resolve) => child.once("exit", () => {
      if (child.pid !== undefined) livePids.delete(child.pid);
      resolve();
    }));
    let listening!: () => void;
    const ready = new Promise<void>((resolve) => { listening = resolve; });
    const onLine = (line: string) => {
      this.lines.push(line);
      if (this.lines.length > OUTPUT_LINES_KEPT) this.lines.splice(0, this.lines.length - OUTPUT_LINES_KEPT);
      if (line.includes('"msg":"listening"')) listening();
    };
    splitLines(child.stdout!, onLine);
    splitLines(child.stderr!, onLine);
    const outcome = await Promise.race([
      ready.then(() => "ready" as const),
      this.exited.then(() => "exited" as const),
      delay(START_TIMEOUT_MS).then(() => "timeout" as const),
    ]);
    if (outcome !== "ready") {
      const tail = this.lines.slice(-40).join("\n");
      if (outcome === "timeout") await this.kill("SIGKILL");
      throw new Error(`${this.role} ${this.nodeId} did not start (${outcome}); last output:\n${tail}`);
    }
  }

  async kill(signal: NodeJS.Signals): Promise<void> {
    if (!this.alive) return;
    // A stopped process would not act on SIGTERM until continued.
    if (signal !== "SIGKILL") this.child!.kill("SIGCONT");
    this.child!.kill(signal);
    await this.exited;
  }
}

function splitLines(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let pending = "";
  stream.setEncoding("utf8");
  stream.on("data", (chunk: string) => {
    pending += chunk;
    let index: number;
    while ((index = pending.indexOf("\n")) >= 0) {
      onLine(pending.slice(0, index));
      pending = pending.slice(index + 1);
    }
  });
}

function writeProperties(file: string, values: Record<string, string | number>): void {
  fs.writeFileSync(file, Object.entries(values).map(([k, v]) => `${k}=${v}`).join("\n") + "\n");
}

function resolveOverrides(overrides: Overrides | undefined, nodeId: number): Record<string, string> {
  if (!overrides) return {};
  return typeof overrides === "function" ? overrides(nodeId) : overrides;
}

const START_ATTEMPTS = 3;

/**
 * Starts the cluster. A free port can be taken by another process between our probe and the
 * node's bind (ephemeral ports are shared with outgoing connections): then the whole cluster is
 * started again on new ports, a bounded number of times.
 */
export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startClusterOnce(options);
    } catch (error) {
      const portTaken = error instanceof Error && error.message.includes("EADDRINUSE");
      if (!portTaken || attempt >= START_ATTEMPTS) throw error;
    }
  }
}

async function startClusterOnce(options: ClusterOptions): Promise<Cluster> {
  installExitHook();
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "tributary-cluster-"));
  const controllerPorts = await Promise.all(Array.from({ length: options.controllers }, () => freePort()));
  const brokerPorts = await Promise.all(Array.from({ length: options.brokers }, () => freePort()));
  const quorumVoters = controllerPorts.map((port, i) => `${CONTROLLER_ID_BASE + i + 1}@127.0.0.1:${port}`).join(",");
  const controllers = controllerPorts.map((port, i) => {
    const nodeId = CONTROLLER_ID_BASE + i + 1;
    const dataDir = path.join(root, `controller-${nodeId}`);
    fs.mkdirSync(dataDir, { recursive: true });
    const configFile = path.join(root, `controller-${nodeId}.properties`);
    writeProperties(configFile, {
      "node.id": nodeId, listeners: `CONTROLLER://127.0.0.1:${port}`, "controller.quorum.voters": quorumVoters,
      "metadata.log.dir": dataDir, "broker.session.timeout.ms": 3000, "broker.heartbeat.interval.ms": 250,
    });
    return new Node(nodeId, "controller", port, dataDir, configFile, resolveOverrides(options.controllerOverrides, nodeId));
  });
  const brokers = brokerPorts.map((port, i) => {
    const nodeId = i + 1;
    const dataDir = path.join(root, `broker-${nodeId}`);
    fs.mkdirSync(dataDir, { recursive: true });
    const configFile = path.join(root, `broker-${nodeId}.properties`);
    writeProperties(configFile, {
      "broker.id": nodeId, listeners: `PLAINTEXT://127.0.0.1:${port}`, "controller.quorum.voters": quorumVoters,
      "log.dirs": dataDir, "broker.heartbeat.interval.ms": 250, "broker.session.timeout.ms": 3000,
      "replica.lag.time.max.ms": 3000, "offsets.topic.num.partitions": 3, "offsets.topic.replication.factor": Math.min(3, options.brokers),
    });
    return new Node(nodeId, "broker", port, dataDir, configFile, resolveOverrides(options.brokerOverrides, nodeId));
  });
  const all = [...controllers, ...brokers];
  const byId = new Map(all.map((n) => [n.nodeId, n]));
  const cluster: Cluster = {
    bootstrapServers: brokers.map((b) => b.address),
    brokers, controllers, quorumVoters,
    node(nodeId) {
      const node = byId.get(nodeId);
      if (!node) throw new Error(`no node ${nodeId} in this cluster`);
      return node;
    },
    async kill(nodeId, signal = "SIGKILL") {
      await (cluster.node(nodeId) as Node).kill(signal);
    },
    pause(nodeId) {
      const pid = cluster.node(nodeId).pid;
      if (pid !== undefined) process.kill(pid, "SIGSTOP");
    },
    resume(nodeId) {
      const pid = cluster.node(nodeId).pid;
      if (pid !== undefined) process.kill(pid, "SIGCONT");
    },
    async restart(nodeId) {
      const node = cluster.node(nodeId) as Node;
      await node.kill("SIGKILL");
      await node.start();
    },
    waitFor: (predicate, waitOptions) => waitFor(predicate, waitOptions),
    async stop() {
      await Promise.all(brokers.map((b) => b.kill("SIGKILL")));
      await Promise.all(controllers.map((c) => c.kill("SIGKILL")));
      if (!options.keepDataDirs) fs.rmSync(root, { recursive: true, force: true });
    },
  };
  try {
    await Promise.all(controllers.map((c) => c.start()));
    await Promise.all(brokers.map((b) => b.start()));
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  return cluster;
}

export async function waitFor<T>(predicate: () => T | Promise<T>, options: WaitOptions): Promise<NonNullable<T>> {
  const deadline = Date.now() + options.timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await predicate();
      if (value) return value as NonNullable<T>;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      const why = lastError instanceof Error ? ` (last error: ${lastError.message})` : "";
      throw new Error(`timed out after ${options.timeoutMs} ms waiting for ${options.message ?? "a condition"}${why}`);
    }
    await delay(options.intervalMs ?? 100);
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
