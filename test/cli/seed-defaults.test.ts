// Tests on the seed's fixed ports (9092-9094, controller 9191) and folders (/tmp/kafka-logs*),
// in one file so they never overlap: Lab 2 with the seed's properties files exactly as the
// course writes them, and README's quickstart from a fresh clone (`pnpm install && pnpm start`).
// Every other test uses free ports.
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { createConnection } from "node:net";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type Cluster, runLab, stopCluster } from "./lab2-steps.js";
import {
  cleanEnv, CLI_BIN, pollUntil, removeDirs, REPO_ROOT, RunningProcess, startTributary, tempDir,
} from "./support.js";

const SEED_PORTS = [9191, 9092, 9093, 9094];
const SEED_LOG_DIRS = ["/tmp/kafka-logs", "/tmp/kafka-logs-1", "/tmp/kafka-logs-2"];

function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port });
    socket.once("connect", () => { socket.destroy(); resolve(true); });
    socket.once("error", () => resolve(false));
  });
}

async function assertSeedPortsFree(): Promise<void> {
  for (const port of SEED_PORTS) {
    if (await portInUse(port)) throw new Error(`port ${port} is in use; these tests need the seed's ports free`);
  }
}

describe("Lab 2 with the seed's own properties files, as they are", () => {
  let cluster: Cluster | undefined;
  afterAll(async () => {
    await stopCluster(cluster);
    removeDirs(...SEED_LOG_DIRS);
  });

  it("runs the lab on 9092, 9093, 9094 with /tmp/kafka-logs-N", { timeout: 240_000 }, async () => {
    await assertSeedPortsFree();
    removeDirs(...SEED_LOG_DIRS);
    const root = tempDir("seed");
    const controller = startTributary("controller", ["controller", "start", "--config", join(REPO_ROOT, "deploy/config/dev.properties"),
      "--override", `metadata.log.dir=${join(root, "controller")}`]);
    cluster = { controller, brokers: new Map(), bootstrap: "localhost:9092,localhost:9093,localhost:9094", dirs: [root] };
    await controller.waitFor(/"msg":"listening"/);
    // Kafka's config/server.properties as the course uses it (broker.id=0, the default port
    // 9092, log.dirs=/tmp/kafka-logs), and the two files the course asks the reader to write.
    const files = [
      "broker.id=0\nlog.dirs=/tmp/kafka-logs\n",
      "broker.id=1\nport=9093\nlog.dirs=/tmp/kafka-logs-1\n",
      "broker.id=2\nport=9094\nlog.dirs=/tmp/kafka-logs-2\n",
    ];
    files.forEach((text, id) => {
      const file = join(root, id === 0 ? "server.properties" : `server-${id}.properties`);
      writeFileSync(file, text);
      cluster!.brokers.set(id, startTributary(`broker ${id}`, ["broker", "start", "--config", file]));
    });
    for (const broker of cluster.brokers.values()) await broker.waitFor(/"msg":"listening"/);
    await runLab(cluster, "localhost:9092,localhost:9093");
  });
});

const QUICKSTART_ENABLED = process.env.CI === "true" || process.env.TRIBUTARY_QUICKSTART_TEST === "1";
const QUICKSTART_TIMEOUT_MS = 12 * 60_000;

// Slow (a full install and build in a fresh clone): runs in CI (CI=true) or when asked with
// TRIBUTARY_QUICKSTART_TEST=1, once, with a hard time bound.
describe.runIf(QUICKSTART_ENABLED)("README quickstart from a fresh clone", () => {
  let started: RunningProcess | undefined;
  let cloneDir: string | undefined;
  afterAll(async () => {
    // `pnpm start` runs in its own process group: stop pnpm and the node it started together.
    if (started?.running && started.child.pid) {
      try { process.kill(-started.child.pid, "SIGTERM"); } catch { /* already gone */ }
      await pollUntil(() => !started!.running, 20_000, "pnpm start to stop").catch(() => process.kill(-started!.child.pid!, "SIGKILL"));
    }
    if (cloneDir) removeDirs(cloneDir);
  });

  it("installs, starts, and runs Lab 1 with the README's commands", { timeout: QUICKSTART_TIMEOUT_MS }, async () => {
    await assertSeedPortsFree();
    cloneDir = tempDir("quickstart");
    const clone = await runCommand("git", ["clone", "--quiet", REPO_ROOT, cloneDir], REPO_ROOT);
    expect(clone.code, clone.output).toBe(0);
    const readme = (await import("node:fs")).readFileSync(join(cloneDir, "README.md"), "utf8");
    const startLine = /^(npx --yes pnpm@[\d.]+ install && npx --yes pnpm@[\d.]+ start)/m.exec(readme)![1]!;
    started = new RunningProcess("pnpm start", spawn("bash", ["-c", startLine], {
      cwd: cloneDir, env: cleanEnv(), stdio: ["ignore", "pipe", "pipe"], detached: true,
    }));
    await started.waitFor(/Tributary is running/, QUICKSTART_TIMEOUT_MS - 120_000);
    const bin = join(cloneDir, "packages/cli/dist/bin.js");
    expect(bin).not.toBe(CLI_BIN);
    const tributary = (args: string[], input?: string) =>
      runCommand(process.execPath, [bin, ...args], cloneDir!, input);
    const created = await tributary(["topics", "create", "my-topic", "--partitions", "1", "--replication-factor", "1"]);
    expect(created.code, `${created.output}\n--- pnpm start:\n${started.output.slice(-3000)}`).toBe(0);
    const produced = await tributary(["console-producer", "--topic", "my-topic"], "Hello mom!\nGood\n");
    expect(produced.code, produced.output).toBe(0);
    const consumed = await tributary(["console-consumer", "--topic", "my-topic", "--from-beginning", "--max-messages", "2", "--timeout-ms", "10000"]);
    expect(consumed.stdout.trim().split("\n")).toEqual(["Hello mom!", "Good"]);
    // And the root script a reader uses from then on.
    const viaPnpm = await runCommand("npx", ["--yes", "pnpm@10.34.8", "--silent", "tributary", "topics", "list"], cloneDir);
    expect(viaPnpm.stdout.split("\n")).toContain("my-topic");
  });
});

function runCommand(command: string, args: string[], cwd: string, input?: string): Promise<{ code: number | null; stdout: string; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: cleanEnv(), stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let output = "";
    child.stdout.on("data", (c: Buffer) => { stdout += c.toString(); output += c.toString(); });
    child.stderr.on("data", (c: Buffer) => (output += c.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
    child.once("error", reject);
    child.once("close", (code) => { clearTimeout(timer); resolve({ code, stdout, output }); });
    child.stdin.end(input ?? "");
  });
}
