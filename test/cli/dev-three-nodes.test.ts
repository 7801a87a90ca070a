// `tributary dev --nodes 3` (a controller and three brokers as child processes, via
// deploy/local/) and the background launcher's start/status/stop.
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
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

async function liveBrokers(bootstrap: string): Promise<number[]> {
  const described = await untilCommand(["cluster", "describe", "--json", "--bootstrap-server", bootstrap], (r) => {
    const view = JSON.parse(r.stdout) as { brokers: { fenced: boolean }[] };
    return view.brokers.filter((b) => !b.fenced).length === 3;
  });
  return (JSON.parse(described.stdout) as { brokers: { nodeId: number }[] }).brokers.map((b) => b.nodeId).sort();
}

describe("tributary dev --nodes 3", () => {
  let dev: RunningProcess | undefined;
  const dataDir = tempDir("dev3");
  afterAll(async () => {
    await dev?.stop();
    removeDirs(dataDir);
  });

  it("runs 1 controller + 3 brokers as child processes, with readable logs, and stops them all on SIGTERM", async () => {
    const port = await freePortRun();
    dev = startTributary("dev --nodes 3", ["dev", "--nodes", "3", "--data-dir", dataDir, "--port", String(port), "--controller-port", String(await freePort())]);
    await dev.waitFor(/Tributary is running/, 90_000);
    expect(dev.output).toContain(`brokers on localhost:${port},localhost:${port + 1},localhost:${port + 2}`);
    expect(dev.output).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO {2}broker 2 +listening /m);
    expect(dev.output).not.toContain('"msg"');
    const bootstrap = [0, 1, 2].map((i) => `127.0.0.1:${port + i}`).join(",");
    expect(await liveBrokers(bootstrap)).toEqual([0, 1, 2]);
    const exit = await dev.stop("SIGTERM");
    expect(exit.code).toBe(0);
    for (const i of [0, 1, 2]) expect(await canBind(port + i)).toBe(true);
  });
});

describe("deploy/local/launcher.mjs start|status|stop", () => {
  const dataDir = tempDir("launcher");
  afterAll(async () => {
    await launcher(["stop", "--data-dir", dataDir]);
    removeDirs(dataDir);
  });

  it("starts the cluster in the background, reports it, and stops it", async () => {
    const port = await freePortRun();
    const portFlags = ["--data-dir", dataDir, "--port", String(port), "--controller-port", String(await freePort())];
    const started = await launcher(["start", ...portFlags]);
    expect(started.code, started.stdout).toBe(0);
    expect(started.stdout).toMatch(/broker-2 +pid \d+ +port \d+/);
    const status = await launcher(["status", "--data-dir", dataDir]);
    expect(status.code, status.stdout).toBe(0);
    expect(status.stdout.match(/running/g)).toHaveLength(4);
    const bootstrap = [0, 1, 2].map((i) => `127.0.0.1:${port + i}`).join(",");
    expect(await liveBrokers(bootstrap)).toEqual([0, 1, 2]);
    const stopped = await launcher(["stop", "--data-dir", dataDir]);
    expect(stopped.stdout).toContain("stopped controller-1, broker-0, broker-1, broker-2");
    await pollUntil(async () => (await canBind(port)) && (await canBind(port + 2)), 20_000, "the brokers' ports to be released");
    const after = await launcher(["status", "--data-dir", dataDir]);
    expect(after.code).toBe(1);
  });
});
