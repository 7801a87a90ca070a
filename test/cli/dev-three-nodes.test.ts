// `tributary dev --nodes 3` (a controller and three brokers as child processes, via
// deploy/local/) and the background launcher's start/status/stop.
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cleanEnv, freePort, pollUntil, removeDirs, REPO_ROOT, type RunningProcess, startTributary, tempDir, untilCommand } from "./support.js";

const LAUNCHER = join(REPO_ROOT, "deploy", "local", "launcher.mjs");

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/** Three consecutive free ports (the brokers take port, port+1, port+2). */
async function freePortRun(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = await freePort();
    if (base + 2 <= 65_535 && (await canBind(base + 1)) && (await canBind(base + 2))) return base;
  }
  throw new Error("no run of three free ports found");
}

function launcher(args: string[]): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [LAUNCHER, ...args], { cwd: REPO_ROOT, env: cleanEnv(), stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stdout += c.toString()));
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stdout }));
  });
}

/**
 * README's SDK example, as a newcomer would copy it: the TypeScript block between its markers,
 * compiled with the repository's TypeScript and run by Node against `bootstrap`, importing
 * @tributary/client as an installed package.
 */
async function runReadmeSdkExample(bootstrap: string, workDir: string): Promise<{ code: number | null; stdout: string }> {
  const readme = readFileSync(join(REPO_ROOT, "README.md"), "utf8");
  const block = /<!-- sdk-example:start -->\s*```ts\n([\s\S]*?)```\s*<!-- sdk-example:end -->/.exec(readme)?.[1];
  if (!block) throw new Error("README.md has no SDK example between <!-- sdk-example:start/end --> markers");
  const source = block.replace(/const BOOTSTRAP_SERVERS = "[^"]*";/, `const BOOTSTRAP_SERVERS = "${bootstrap}";`);
  expect(source).toContain(bootstrap);
  const ts = createRequire(join(REPO_ROOT, "package.json"))("typescript") as {
    transpileModule(text: string, options: { compilerOptions: Record<string, unknown> }): { outputText: string };
    ScriptTarget: { ES2022: number };
    ModuleKind: { ESNext: number };
  };
  const js = ts.transpileModule(source, { compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext } }).outputText;
  mkdirSync(join(workDir, "node_modules", "@tributary"), { recursive: true });
  symlinkSync(join(REPO_ROOT, "packages", "client"), join(workDir, "node_modules", "@tributary", "client"), "dir");
  writeFileSync(join(workDir, "kafka-example.mjs"), js);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(workDir, "kafka-example.mjs")], { cwd: workDir, env: cleanEnv(), stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stdout += c.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.once("error", reject);
    child.once("close", (code) => { clearTimeout(timer); resolve({ code, stdout }); });
  });
}

async function liveBrokers(bootstrap: string): Promise<number[]> {
  const described = await untilCommand(["cluster", "describe", "--json", "--bootstrap-server", bootstrap], (r) => {
    const view = JSON.parse(r.stdout) as { brokers: { fenced: boolean }[] };
    return view.brokers.filter((b) => !b.fenced).length === 3;
  });
  return (JSON.parse(described.stdout) as { brokers: { nodeId: number }[] }).brokers.map((b) => b.nodeId).sort();
}

describe("tributary dev --nodes 3", () => {
  let dev: RunningProcess | undefined;
  let dataDir = "";
  beforeAll(() => { dataDir = tempDir("dev3"); });
  afterAll(async () => {
    await dev?.stop();
    removeDirs(dataDir);
  });

  it("runs 1 controller + 3 brokers as child processes, with readable logs, and stops them all on SIGTERM", { timeout: 240_000 }, async () => {
    const port = await freePortRun();
    dev = startTributary("dev --nodes 3", ["dev", "--nodes", "3", "--data-dir", dataDir, "--port", String(port), "--controller-port", String(await freePort())]);
    await dev.waitFor(/Tributary is running/, 90_000);
    expect(dev.output).toContain(`brokers on localhost:${port},localhost:${port + 1},localhost:${port + 2}`);
    expect(dev.output).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO {2}broker 2 +listening /m);
    expect(dev.output).not.toContain('"msg"');
    const bootstrap = [0, 1, 2].map((i) => `127.0.0.1:${port + i}`).join(",");
    expect(await liveBrokers(bootstrap)).toEqual([0, 1, 2]);

    // The seed's KafkaExample, from README: a replicated topic, 5 records sent, all read back.
    await untilCommand(["topics", "create", "my-example-topic", "--replication-factor", "3", "--partitions", "1", "--bootstrap-server", bootstrap], () => true);
    const example = await runReadmeSdkExample(bootstrap, join(dataDir, "example"));
    expect(example.code, example.stdout).toBe(0);
    const sent = example.stdout.match(/^sent record\(key=\d+ value=Hello Mom \d+\) meta\(partition=0, offset=\d\)$/gm) ?? [];
    const got = example.stdout.match(/^Got Record: \(\d+, Hello Mom \d+\) at offset \d$/gm) ?? [];
    expect(sent, example.stdout).toHaveLength(5);
    expect(got, example.stdout).toHaveLength(5);
    expect(example.stdout.trim().endsWith("DONE")).toBe(true);

    // The seed's Lab 2 kills a broker by its pid: dev lists the pids, reports the exit, runs on.
    const pid = Number(/^ {2}broker 1 +pid (\d+) +port \d+$/m.exec(dev.output)?.[1]);
    expect(pid).toBeGreaterThan(0);
    process.kill(pid, "SIGKILL");
    await dev.waitFor(/broker 1 exited \(SIGKILL\); the other processes keep running/);
    expect(dev.running).toBe(true);

    const exit = await dev.stop("SIGTERM");
    expect(exit.code).toBe(0);
    for (const i of [0, 1, 2]) expect(await canBind(port + i)).toBe(true);
    expect(dev.output).not.toMatch(/broker [02] exited/);
  });
});

describe("deploy/local/launcher.mjs start|status|stop, 3 controllers + 3 brokers", () => {
  let dataDir = "";
  beforeAll(() => { dataDir = tempDir("launcher"); });
  afterAll(async () => {
    await launcher(["stop", "--data-dir", dataDir]);
    removeDirs(dataDir);
  });

  it("starts the cluster in the background, reports it, and stops it", { timeout: 180_000 }, async () => {
    const port = await freePortRun();
    const controllerPort = await freePortRun();
    const started = await launcher(["start", "--controllers", "3", "--data-dir", dataDir, "--port", String(port), "--controller-port", String(controllerPort)]);
    expect(started.code, started.stdout).toBe(0);
    expect(started.stdout).toMatch(/broker-2 +pid \d+ +port \d+/);
    const status = await launcher(["status", "--data-dir", dataDir]);
    expect(status.code, status.stdout).toBe(0);
    expect(status.stdout.match(/running/g)).toHaveLength(6);
    const bootstrap = [0, 1, 2].map((i) => `127.0.0.1:${port + i}`).join(",");
    expect(await liveBrokers(bootstrap)).toEqual([0, 1, 2]);
    const quorum = await untilCommand(["cluster", "describe", "--json", "--bootstrap-server", bootstrap], (r) =>
      (JSON.parse(r.stdout) as { controllers: { isLeader: boolean }[] }).controllers.filter((c) => c.isLeader).length === 1);
    expect((JSON.parse(quorum.stdout) as { controllers: { nodeId: number }[] }).controllers.map((c) => c.nodeId).sort()).toEqual([1, 2, 3]);
    const stopped = await launcher(["stop", "--data-dir", dataDir]);
    expect(stopped.stdout).toContain("stopped controller-1, controller-2, controller-3, broker-0, broker-1, broker-2");
    await pollUntil(async () => (await canBind(port)) && (await canBind(port + 2)), 20_000, "the brokers' ports to be released");
    const after = await launcher(["status", "--data-dir", dataDir]);
    expect(after.code).toBe(1);
  });
});
