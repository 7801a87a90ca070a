#!/usr/bin/env node
// The local multi-process cluster: 1 controller (or 3, --controllers 3: ports 9191-9193) + 3
// brokers (ports 9092-9094), each a `tributary controller|broker start` child process with the
// properties files beside this file.
// `tributary dev --nodes 3` runs it in the foreground; from a shell:
//   node deploy/local/launcher.mjs start  [--data-dir ./data] [--controllers 1|3] [--port 9092] [--controller-port 9191]
//                                                               # in the background, logs in <data-dir>/logs
//   node deploy/local/launcher.mjs status [--data-dir ./data]
//   node deploy/local/launcher.mjs stop   [--data-dir ./data]
// Plain JavaScript (no build step), so it works from a fresh clone once the CLI is built.
import { spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));
export const DEFAULT_CLI_BIN = resolve(HERE, "..", "..", "packages", "cli", "dist", "bin.js");
const STATE_FILE = "launcher.json";
const STOP_GRACE_MS = 10_000;
const READY_TIMEOUT_MS = 60_000;

/**
 * The processes of the cluster. Ports can be moved (tests use free ones); the defaults are the
 * seed's. Every process gets its own folder under dataDir.
 */
export function clusterPlan({ dataDir, brokerCount = 3, controllerCount = 1, baseBrokerPort = 9092, controllerPort = 9191, cliBin = DEFAULT_CLI_BIN }) {
  if (![1, 3].includes(controllerCount)) throw new Error(`controllerCount must be 1 or 3, got ${controllerCount}`);
  const data = resolve(dataDir);
  const controllerIds = Array.from({ length: controllerCount }, (_, i) => i + 1);
  const voters = controllerIds.map((id) => `${id}@127.0.0.1:${controllerPort + id - 1}`).join(",");
  const controllers = controllerIds.map((id) => ({
    name: `controller-${id}`,
    label: `controller ${id}`,
    port: controllerPort + id - 1,
    args: [cliBin, "controller", "start", "--config", join(HERE, "controller.properties"),
      "--override", `node.id=${id}`,
      "--override", `metadata.log.dir=${join(data, `controller-${id}`)}`,
      "--override", `listeners=CONTROLLER://127.0.0.1:${controllerPort + id - 1}`,
      "--override", `controller.quorum.voters=${voters}`],
  }));
  const brokers = Array.from({ length: brokerCount }, (_, id) => ({
    name: `broker-${id}`,
    label: `broker ${id}`,
    port: baseBrokerPort + id,
    args: [cliBin, "broker", "start", "--config", join(HERE, `broker-${Math.min(id, 2)}.properties`),
      "--override", `broker.id=${id}`,
      "--override", `log.dirs=${join(data, `broker-${id}`)}`,
      "--override", `port=${baseBrokerPort + id}`,
      "--override", `controller.quorum.voters=${voters}`,
      ...(brokerCount < 3 ? ["--override", `default.replication.factor=${brokerCount}`, "--override", "min.insync.replicas=1",
        "--override", `offsets.topic.replication.factor=${brokerCount}`] : [])],
  }));
  return { dataDir: data, processes: [...controllers, ...brokers] };
}

function waitForLine(child, predicate, timeoutMs) {
  return new Promise((resolvePromise, reject) => {
    let buffered = "";
    const timer = setTimeout(() => reject(new Error(`no "listening" line within ${timeoutMs} ms`)), timeoutMs);
    const onData = (chunk) => {
      buffered += chunk.toString("utf8");
      const lines = buffered.split("\n");
      buffered = lines.pop() ?? "";
      if (lines.some(predicate)) {
        clearTimeout(timer);
        child.stdout.off("data", onData);
        resolvePromise();
      }
    };
    child.stdout.on("data", onData);
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${signal ?? `code ${code}`} before it was listening`));
    });
  });
}

const isListeningLine = (line) => line.includes('"msg":"listening"');

/**
 * Runs every process in the foreground; `onLine(label, line)` gets each output line and
 * `onExit(label, code, signal)` each exit. Resolves with a handle once all are listening;
 * `stop()` ends them (SIGTERM, then SIGKILL after a grace).
 */
export async function startForeground(plan, { onLine = () => {}, onExit = () => {}, env = process.env } = {}) {
  const children = [];
  const stop = async () => {
    await Promise.all(children.map(({ child }) => stopChild(child)));
  };
  try {
    mkdirSync(plan.dataDir, { recursive: true });
    for (const spec of plan.processes) {
      const child = spawn(process.execPath, spec.args, { env, stdio: ["ignore", "pipe", "pipe"] });
      children.push({ spec, child });
      child.once("exit", (code, signal) => onExit(spec.label, code, signal));
      for (const stream of [child.stdout, child.stderr]) {
        let pending = "";
        stream.on("data", (chunk) => {
          const lines = (pending + chunk.toString("utf8")).split("\n");
          pending = lines.pop() ?? "";
          for (const line of lines) onLine(spec.label, line);
        });
      }
      // Each process binds its port before it needs its peers, so waiting for "listening" one
      // by one works for a quorum of three too.
      await waitForLine(child, isListeningLine, READY_TIMEOUT_MS).catch((error) => {
        throw new Error(`${spec.label} did not start: ${error.message}`);
      });
    }
  } catch (error) {
    await stop();
    throw error;
  }
  // Resolves when every process has exited (a killed broker alone is part of the seed's Lab 2).
  const allExited = Promise.all(children.map(({ child }) =>
    child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((r) => child.once("exit", r))));
  const processes = children.map(({ spec, child }) => ({ label: spec.label, pid: child.pid, port: spec.port }));
  return { processes, stop, allExited };
}

function stopChild(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolveStop) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), STOP_GRACE_MS);
    child.once("exit", () => { clearTimeout(timer); resolveStop(); });
    child.kill("SIGTERM");
  });
}

function isAlive(pid) {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

function portOpen(port) {
  return new Promise((resolvePort) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.once("connect", () => { socket.destroy(); resolvePort(true); });
    socket.once("error", () => resolvePort(false));
  });
}

/** `start`: detached processes, logs in <data-dir>/logs, pids in <data-dir>/launcher.json. */
export async function startBackground(plan) {
  const statePath = join(plan.dataDir, STATE_FILE);
  if (existsSync(statePath)) {
    const alive = JSON.parse(readFileSync(statePath, "utf8")).filter((p) => isAlive(p.pid));
    if (alive.length > 0) throw new Error(`already running (pids ${alive.map((p) => p.pid).join(", ")}); run stop first`);
  }
  mkdirSync(join(plan.dataDir, "logs"), { recursive: true });
  const state = [];
  for (const spec of plan.processes) {
    const logPath = join(plan.dataDir, "logs", `${spec.name}.log`);
    const out = openSync(logPath, "a");
    const child = spawn(process.execPath, spec.args, { detached: true, stdio: ["ignore", out, out] });
    closeSync(out);
    child.unref();
    state.push({ name: spec.name, pid: child.pid, port: spec.port, log: logPath });
    writeFileSync(statePath, JSON.stringify(state, null, 2));
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (!(await portOpen(spec.port))) {
      if (!isAlive(child.pid)) throw new Error(`${spec.name} exited; see ${logPath}`);
      if (Date.now() > deadline) throw new Error(`${spec.name} is not listening on ${spec.port}; see ${logPath}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return state;
}

export async function status(dataDir) {
  const statePath = join(resolve(dataDir), STATE_FILE);
  if (!existsSync(statePath)) return [];
  const state = JSON.parse(readFileSync(statePath, "utf8"));
  return Promise.all(state.map(async (p) => ({ ...p, alive: isAlive(p.pid), listening: await portOpen(p.port) })));
}

export async function stopBackground(dataDir) {
  const statePath = join(resolve(dataDir), STATE_FILE);
  if (!existsSync(statePath)) return [];
  const state = JSON.parse(readFileSync(statePath, "utf8"));
  // Brokers first, so they can hand off cleanly while the controller is still there.
  for (const p of [...state].reverse()) {
    if (!isAlive(p.pid)) continue;
    process.kill(p.pid, "SIGTERM");
    const deadline = Date.now() + STOP_GRACE_MS;
    while (isAlive(p.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    if (isAlive(p.pid)) process.kill(p.pid, "SIGKILL");
  }
  rmSync(statePath, { force: true });
  return state;
}

function flagValue(args, name, fallback) {
  const at = args.indexOf(name);
  return at >= 0 && args[at + 1] !== undefined ? args[at + 1] : fallback;
}

function portFlag(args, name, fallback) {
  const value = Number(flagValue(args, name, String(fallback)));
  if (!Number.isInteger(value) || value < 1 || value > 65535) throw new Error(`${name} must be a port number`);
  return value;
}

async function main(argv) {
  const [command = "help", ...rest] = argv;
  const dataDir = flagValue(rest, "--data-dir", "./data");
  switch (command) {
    case "start": {
      const controllerCount = Number(flagValue(rest, "--controllers", "1"));
      const plan = clusterPlan({ dataDir, controllerCount, baseBrokerPort: portFlag(rest, "--port", 9092), controllerPort: portFlag(rest, "--controller-port", 9191) });
      const state = await startBackground(plan);
      for (const p of state) console.log(`${p.name.padEnd(14)} pid ${p.pid}  port ${p.port}  log ${p.log}`);
      const bootstrap = state.filter((p) => p.name.startsWith("broker")).map((p) => `localhost:${p.port}`).join(",");
      console.log(`Cluster started. Try: pnpm tributary cluster describe --bootstrap-server ${bootstrap}`);
      return 0;
    }
    case "status": {
      const rows = await status(dataDir);
      if (rows.length === 0) { console.log(`not running (no ${STATE_FILE} in ${resolve(dataDir)})`); return 1; }
      for (const p of rows) console.log(`${p.name.padEnd(14)} pid ${p.pid}  port ${p.port}  ${p.alive ? (p.listening ? "running" : "starting") : "stopped"}`);
      return rows.every((p) => p.alive && p.listening) ? 0 : 1;
    }
    case "stop": {
      const stopped = await stopBackground(dataDir);
      console.log(stopped.length === 0 ? "nothing to stop" : `stopped ${stopped.map((p) => p.name).join(", ")}`);
      return 0;
    }
    default:
      console.log("usage: node deploy/local/launcher.mjs start|status|stop [--data-dir ./data] [--controllers 1|3] [--port 9092] [--controller-port 9191]");
      return command === "help" || command === "--help" ? 0 : 2;
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (error) => {
    console.error(`error: ${error.message}`);
    process.exitCode = 1;
  });
}
