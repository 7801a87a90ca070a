// A cluster for the fault suite: 3 controllers and 3 brokers as real processes, each node on its
// own loopback address (127.0.0.11..16) behind a fault proxy. The node itself listens on
// 127.0.0.1:<port>; everyone else reaches it only through the proxy: controllers through
// controller.quorum.voters (which names the proxies), brokers and clients through the broker's
// advertised.listeners (the proxy). The test process observes nodes directly on their real ports
// (`directAddress`), so an observation never depends on the faults it observes.
// Each node's stdout goes to <root>/<name>.log (appended across restarts) and to `onLine`.
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { freePort, waitFor } from "../support/cluster.js";
import { Network } from "./fault-proxy.js";

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const MAIN = {
  controller: path.join(REPO, "packages/controller/dist/main.js"),
  broker: path.join(REPO, "packages/broker/dist/main.js"),
};
const START_TIMEOUT_MS = 30_000;

export interface FaultNode {
  readonly name: string;            // "c1".."c3", "b1".."b3"
  readonly role: "controller" | "broker";
  readonly nodeId: number;
  readonly proxyAddress: string;    // what other nodes and clients dial
  readonly directAddress: string;   // the real listener, for observers only
  readonly dataDir: string;
  readonly logFile: string;
  readonly pid: number | undefined;
  readonly alive: boolean;
  readonly paused: boolean;
  /** Incremented at every start, so observations can be scoped to one process lifetime. */
  readonly incarnation: number;
}

class ManagedNode implements FaultNode {
  child: ChildProcess | undefined;
  incarnation = 0;
  paused = false;
  private exited: Promise<void> = Promise.resolve();

  constructor(
    readonly name: string, readonly role: "controller" | "broker", readonly nodeId: number,
    readonly proxyHost: string, readonly proxyPort: number, readonly port: number,
    readonly dataDir: string, readonly logFile: string, private readonly configFile: string,
    private readonly onLine: (node: ManagedNode, line: string) => void,
  ) {}

  get proxyAddress(): string { return `${this.proxyHost}:${this.proxyPort}`; }
  get directAddress(): string { return `127.0.0.1:${this.port}`; }
  get pid(): number | undefined { return this.alive ? this.child?.pid : undefined; }
  get alive(): boolean { return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null; }

  async start(): Promise<void> {
    const child = spawn(process.execPath, [MAIN[this.role], "--config", this.configFile], { stdio: ["ignore", "pipe", "pipe"] });
    this.child = child;
    this.paused = false;
    this.incarnation++;
    const out = fs.createWriteStream(this.logFile, { flags: "a" });
    out.write(`{"fault-suite":"start","incarnation":${this.incarnation},"pid":${child.pid},"at":${Date.now()}}\n`);
    this.exited = new Promise((resolve) => child.once("exit", () => { out.end(); resolve(); }));
    let listening!: () => void;
    const ready = new Promise<void>((resolve) => { listening = resolve; });
    for (const stream of [child.stdout!, child.stderr!]) {
      let pending = "";
      stream.setEncoding("utf8");
      stream.on("data", (chunk: string) => {
        out.write(chunk);
        pending += chunk;
        let index: number;
        while ((index = pending.indexOf("\n")) >= 0) {
          const line = pending.slice(0, index);
          pending = pending.slice(index + 1);
          if (line.includes('"msg":"listening"')) listening();
          this.onLine(this, line);
        }
      });
    }
    const outcome = await Promise.race([
      ready.then(() => "ready" as const),
      this.exited.then(() => "exited" as const),
      new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), START_TIMEOUT_MS).unref()),
    ]);
    if (outcome !== "ready") {
      await this.kill();
      throw new Error(`${this.name} did not start (${outcome}); see ${this.logFile}`);
    }
  }

  async kill(): Promise<void> {
    if (!this.alive) return;
    this.child!.kill("SIGKILL");
    await this.exited;
    this.paused = false;
  }

  pause(): void {
    if (this.alive && !this.paused) {
      this.child!.kill("SIGSTOP");
      this.paused = true;
    }
  }

  resume(): void {
    if (this.alive && this.paused) {
      this.child!.kill("SIGCONT");
      this.paused = false;
    }
  }
}

export interface FaultClusterOptions {
  root?: string;
  onLine?: (node: FaultNode, line: string) => void;
}

export interface FaultCluster {
  readonly root: string;
  readonly nodes: FaultNode[];
  readonly controllers: FaultNode[];
  readonly brokers: FaultNode[];
  readonly network: Network;
  /** Broker proxy addresses, for clients. */
  readonly bootstrapServers: string[];
  node(name: string): FaultNode;
  kill(name: string): Promise<void>;
  start(name: string): Promise<void>;
  pause(name: string): void;
  resume(name: string): void;
  stop(): Promise<void>;
}

const livePids = new Set<number>();
process.on("exit", () => {
  for (const pid of livePids) {
    try { process.kill(pid, "SIGKILL"); } catch { /* gone */ }
  }
});

export async function startFaultCluster(options: FaultClusterOptions = {}): Promise<FaultCluster> {
  const root = options.root ?? fs.mkdtempSync(path.join(os.tmpdir(), "tributary-faults-"));
  const onLine = options.onLine ?? (() => {});
  const specs = [
    ...[1, 2, 3].map((i) => ({ name: `c${i}`, role: "controller" as const, nodeId: 3000 + i })),
    ...[1, 2, 3].map((i) => ({ name: `b${i}`, role: "broker" as const, nodeId: i })),
  ];
  const ports = await Promise.all(specs.map(async (_, i) => ({ proxyHost: `127.0.0.${11 + i}`, proxyPort: await freePort(), port: await freePort() })));
  const voters = specs.flatMap((s, i) => (s.role === "controller" ? [`${s.nodeId}@${ports[i]!.proxyHost}:${ports[i]!.proxyPort}`] : [])).join(",");
  const nodes = specs.map((spec, i) => {
    const { proxyHost, proxyPort, port } = ports[i]!;
    const dataDir = path.join(root, spec.name);
    fs.mkdirSync(dataDir, { recursive: true });
    const configFile = path.join(root, `${spec.name}.properties`);
    const config: Record<string, string | number> = spec.role === "controller"
      ? {
        "node.id": spec.nodeId, listeners: `CONTROLLER://127.0.0.1:${port}`, "controller.quorum.voters": voters,
        "metadata.log.dir": dataDir, "broker.session.timeout.ms": 4000, "broker.heartbeat.interval.ms": 250,
      }
      : {
        "broker.id": spec.nodeId, listeners: `PLAINTEXT://127.0.0.1:${port}`, "advertised.listeners": `PLAINTEXT://${proxyHost}:${proxyPort}`,
        "controller.quorum.voters": voters, "log.dirs": dataDir, "broker.heartbeat.interval.ms": 250,
        "broker.session.timeout.ms": 4000, "replica.lag.time.max.ms": 4000, "offsets.topic.num.partitions": 3,
        "offsets.topic.replication.factor": 3, "min.insync.replicas": 2, "default.replication.factor": 3,
        "auto.create.topics.enable": "false",
      };
    fs.writeFileSync(configFile, Object.entries(config).map(([k, v]) => `${k}=${v}`).join("\n") + "\n");
    return new ManagedNode(spec.name, spec.role, spec.nodeId, proxyHost, proxyPort, port, dataDir, path.join(root, `${spec.name}.log`), configFile, onLine);
  });
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const network = new Network(() => nodes.map((n) => ({ name: n.name, pid: () => n.pid })));
  for (const node of nodes) await network.listen(node.name, node.proxyHost, node.proxyPort, () => (node.alive ? node.port : undefined));
  const track = async (node: ManagedNode) => {
    await node.start();
    if (node.child?.pid !== undefined) {
      const pid = node.child.pid;
      livePids.add(pid);
      node.child.once("exit", () => livePids.delete(pid));
    }
  };
  const get = (name: string) => {
    const node = byName.get(name);
    if (!node) throw new Error(`no node ${name}`);
    return node;
  };
  const cluster: FaultCluster = {
    root, nodes, network,
    controllers: nodes.filter((n) => n.role === "controller"),
    brokers: nodes.filter((n) => n.role === "broker"),
    bootstrapServers: nodes.filter((n) => n.role === "broker").map((n) => n.proxyAddress),
    node: get,
    kill: (name) => get(name).kill(),
    start: (name) => track(get(name)),
    pause: (name) => get(name).pause(),
    resume: (name) => get(name).resume(),
    async stop() {
      await Promise.all(nodes.map((n) => n.kill()));
      await network.close();
    },
  };
  try {
    await Promise.all(cluster.controllers.map((c) => track(c as ManagedNode)));
    await Promise.all(cluster.brokers.map((b) => track(b as ManagedNode)));
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  return cluster;
}

export { waitFor };
