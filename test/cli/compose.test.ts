// No Docker engine runs here, so deploy/docker-compose.yml is proven this way: read it, and start
// the same topology (3 controllers + 3 brokers) as local processes with the same commands, the
// same config files and the same environment. Only what a container network provides is mapped:
// each service name becomes 127.0.0.1 with a free port per (service, port), and container paths
// (/etc/tributary, /var/lib/tributary) become the repository's deploy/config and temp folders.
// The services' own health checks are run (mapped the same way) to decide when each is up.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  cleanEnv, freePort, parsePartitionLine, removeDirs, REPO_ROOT, type RunningProcess, runTributary, startTributary, tempDir, untilCommand,
} from "./support.js";

interface ComposeService {
  command: string[];
  environment: Record<string, string>;
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
}

const COMPOSE_FILE = join(REPO_ROOT, "deploy", "docker-compose.yml");
const CONFIG_DIR_IN_IMAGE = "/etc/tributary";
const DATA_DIR_IN_IMAGE = "/var/lib/tributary";

// `yaml` is a dev dependency of @tributary/cli (pnpm keeps it out of the root node_modules).
const { parse } = createRequire(join(REPO_ROOT, "packages", "cli", "package.json"))("yaml") as { parse(text: string, options: { merge: boolean }): unknown };

function readCompose(): Record<string, ComposeService> {
  const document = parse(readFileSync(COMPOSE_FILE, "utf8"), { merge: true }) as { services: Record<string, ComposeService> };
  return document.services;
}

/** Maps "service:port" (and a service's own 0.0.0.0:port / localhost:port) to 127.0.0.1:free. */
class AddressMap {
  private readonly ports = new Map<string, number>();
  constructor(private readonly services: string[]) {}

  async portFor(service: string, port: number): Promise<number> {
    const key = `${service}:${port}`;
    if (!this.ports.has(key)) this.ports.set(key, await freePort());
    return this.ports.get(key)!;
  }

  /** Rewrites every address in a value as seen from `self` (its own 0.0.0.0 and localhost too). */
  async rewrite(value: string, self: string): Promise<string> {
    const pattern = /\b([A-Za-z0-9_.-]+):(\d{2,5})\b/g;
    let result = "";
    let last = 0;
    for (const match of value.matchAll(pattern)) {
      const host = match[1]!;
      const owner = this.services.includes(host) ? host : ["0.0.0.0", "localhost", "127.0.0.1"].includes(host) ? self : undefined;
      result += value.slice(last, match.index);
      result += owner ? `127.0.0.1:${await this.portFor(owner, Number(match[2]))}` : match[0];
      last = match.index! + match[0].length;
    }
    return result + value.slice(last);
  }
}

describe("deploy/docker-compose.yml, run as local processes", () => {
  const services = readCompose();
  const names = Object.keys(services);
  const addresses = new AddressMap(names);
  const processes = new Map<string, RunningProcess>();
  let dataRoot = "";
  let bootstrap = "";

  async function healthCheck(name: string): Promise<string[]> {
    const test = services[name]!.healthcheck!.test;
    expect(test.slice(0, 2)).toEqual(["CMD", "tributary"]);
    return Promise.all(test.slice(2).map((arg) => addresses.rewrite(arg, name)));
  }

  async function start(name: string): Promise<void> {
    const service = services[name]!;
    const env: Record<string, string> = {};
    for (const [key, value] of Object.entries(service.environment)) {
      const local = String(value).replaceAll(DATA_DIR_IN_IMAGE, join(dataRoot, name));
      env[key] = await addresses.rewrite(local, name);
    }
    const args = service.command.map((arg) => arg.replace(CONFIG_DIR_IN_IMAGE, join(REPO_ROOT, "deploy", "config")));
    processes.set(name, startTributary(name, args, { env: cleanEnv(env) }));
  }

  async function untilHealthy(name: string): Promise<void> {
    const args = await healthCheck(name);
    await untilCommand(args, (r) => r.stdout.trim() === "SERVING", 60_000).catch((error: Error) => {
      throw new Error(`${name} never became healthy: ${error.message}\n${processes.get(name)?.output.slice(-3000)}`);
    });
  }

  beforeAll(async () => {
    dataRoot = tempDir("compose");
    const controllers = names.filter((n) => !services[n]!.depends_on);
    const brokers = names.filter((n) => services[n]!.depends_on);
    for (const name of controllers) await start(name);
    for (const name of controllers) await untilHealthy(name);
    for (const name of brokers) {
      expect(Object.keys(services[name]!.depends_on!).sort()).toEqual(controllers.sort());
      await start(name);
    }
    for (const name of brokers) await untilHealthy(name);
    bootstrap = (await Promise.all(brokers.map((b) => addresses.rewrite(`${b}:9092`, b)))).join(",");
  }, 180_000);

  afterAll(async () => {
    for (const process of [...processes.values()].reverse()) await process.stop();
    removeDirs(dataRoot);
  });

  it("describes 3 controllers and 3 live brokers with their racks", { timeout: 120_000 }, async () => {
    expect(names.sort()).toEqual(["broker-1", "broker-2", "broker-3", "controller-1", "controller-2", "controller-3"]);
    for (const name of names) expect(services[name]!.volumes?.[0]).toMatch(new RegExp(`^${name}-data:${DATA_DIR_IN_IMAGE}$`));
    const described = await untilCommand(["cluster", "describe", "--bootstrap-server", bootstrap, "--json"], (r) => {
      const view = JSON.parse(r.stdout) as { controllers: { isLeader: boolean }[]; brokers: { fenced: boolean }[] };
      return view.controllers.filter((c) => c.isLeader).length === 1 && view.brokers.filter((b) => !b.fenced).length === 3;
    }, 60_000);
    const view = JSON.parse(described.stdout) as { brokers: { nodeId: number; rack: string }[] };
    expect(view.brokers.map((b) => [b.nodeId, b.rack]).sort()).toEqual([[1, "rack-1"], [2, "rack-2"], [3, "rack-3"]]);
  });

  it("replicates a topic three ways with the configs' defaults and serves produce and consume", { timeout: 120_000 }, async () => {
    await untilCommand(["topics", "create", "orders", "--bootstrap-server", bootstrap], () => true);
    const described = await untilCommand(["topics", "describe", "orders", "--bootstrap-server", bootstrap],
      (r) => r.stdout.trim().split("\n").slice(1).every((line) => parsePartitionLine(line)?.isr.length === 3));
    const lines = described.stdout.trim().split("\n");
    // num.partitions=3 and default.replication.factor=3 from deploy/config/*.properties.
    expect(lines[0]).toMatch(/^Topic: orders PartitionCount: 3 ReplicationFactor: 3 /);
    const produced = await runTributary(["console-producer", "--topic", "orders", "--bootstrap-server", bootstrap], { input: "a\nb\nc\nd\n" });
    expect(produced.code, produced.stderr).toBe(0);
    const consumed = await runTributary(["console-consumer", "--topic", "orders", "--from-beginning", "--max-messages", "4",
      "--timeout-ms", "15000", "--bootstrap-server", bootstrap]);
    expect(consumed.stdout.trim().split("\n").sort()).toEqual(["a", "b", "c", "d"]);
  });
});
