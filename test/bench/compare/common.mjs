// Shared pieces of `pnpm bench:compare`: free loopback ports, child processes tracked by PID
// (stopped at the end, on error, and on exit), paced sending, percentiles and timing helpers.
// Each system's driver (tributary.mjs, jetstream.mjs, redis.mjs) uses these so that the three
// systems are measured the same way.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** utime + stime of a process (every thread), in seconds, from /proc. */
export function processCpuSeconds(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/**
 * Runs `phase` and returns its result with the CPU it cost per million records: the servers'
 * (every PID in `serverPids`) and this process's (the system's client). Rates move with whatever
 * else the shared machine does; CPU per record moves much less, so it says more about the code.
 * `otherPids` are the servers of the systems not being measured, idle meanwhile: their CPU is
 * reported apart (`otherSystemsServers`), to show they took next to nothing from the phase.
 */
export async function withCpuCost(serverPids, phase, otherPids = []) {
  const cpuOf = (pids) => pids.reduce((sum, pid) => sum + processCpuSeconds(pid), 0);
  const serversAtStart = cpuOf(serverPids);
  const othersAtStart = cpuOf(otherPids);
  const clientAtStart = process.cpuUsage();
  const result = await phase();
  const serverSeconds = cpuOf(serverPids) - serversAtStart;
  const otherSeconds = cpuOf(otherPids) - othersAtStart;
  const client = process.cpuUsage(clientAtStart);
  const perMillion = (seconds) => Math.round((seconds / result.records) * 1e6 * 100) / 100;
  const servers = perMillion(serverSeconds);
  const clientPerMillion = perMillion((client.user + client.system) / 1e6);
  const cpuSecondsPerMillion = { servers, client: clientPerMillion, total: Math.round((servers + clientPerMillion) * 100) / 100 };
  if (otherPids.length > 0) cpuSecondsPerMillion.otherSystemsServers = perMillion(otherSeconds);
  return { ...result, cpuSecondsPerMillion };
}

/** `list` rotated left by `by` places: [a, b, c] by 1 is [b, c, a]. */
export function rotated(list, by) {
  if (list.length === 0) return [];
  const shift = ((by % list.length) + list.length) % list.length;
  return [...list.slice(shift), ...list.slice(0, shift)];
}

/**
 * One throughput phase repeated: the repetition with the median rate (its CPU figures with it, so
 * they still add up), and every repetition under `repetitions`. A phase of a third of a second
 * swings with whatever else the shared machine does; the median of a few says more about each
 * system than any one of them. With an even count, the lower middle.
 */
export function medianOfRepetitions(repetitions) {
  if (repetitions.length === 0) throw new Error("no repetitions");
  const byRate = [...repetitions].sort((a, b) => a.recordsPerSec - b.recordsPerSec);
  return { ...byRate[Math.floor((byRate.length - 1) / 2)], repetitions };
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

// Every temp dir and child PID this run made; cleanup() removes/kills them by PID.
const tempDirs = new Set();
const children = new Map(); // pid -> ChildProcess

export function makeTempDir(prefix) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

export function removeTempDir(dir) {
  rmSync(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

/** Spawns a server process; resolves once `readyLine` appears in its output (or rejects on exit/timeout). */
export function startServer(command, args, { name, readyLine, timeoutMs = 30_000 }) {
  const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
  if (child.pid === undefined) throw new Error(`${name}: could not start ${command}`);
  children.set(child.pid, child);
  const exited = new Promise((resolve) => child.once("exit", () => { children.delete(child.pid); resolve(); }));
  let seen = "";
  const ready = new Promise((resolve, reject) => {
    const onData = (chunk) => {
      seen = (seen + chunk.toString()).slice(-8192);
      if (seen.includes(readyLine)) resolve();
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    exited.then(() => reject(new Error(`${name} exited before it was ready; output:\n${seen}`)));
    setTimeout(() => reject(new Error(`${name} not ready within ${timeoutMs} ms; output:\n${seen}`)), timeoutMs).unref();
  });
  return ready.then(() => ({ name, pid: child.pid, child, exited }));
}

/** Sends `signal` to one server by PID and waits until it has exited. */
export async function stopServer(server, signal = "SIGKILL") {
  if (!children.has(server.pid)) return;
  try { process.kill(server.pid, signal); } catch { /* already gone */ }
  await server.exited;
}

export async function cleanup() {
  await Promise.all([...children.values()].map((child) => stopServer({ pid: child.pid, exited: new Promise((r) => child.exitCode !== null || child.signalCode !== null ? r() : child.once("exit", r)) })));
  for (const dir of [...tempDirs]) removeTempDir(dir);
}

process.on("exit", () => {
  for (const pid of children.keys()) try { process.kill(pid, "SIGKILL"); } catch { /* gone */ }
  for (const dir of tempDirs) try { rmSync(dir, { recursive: true, force: true }); } catch { /* best effort */ }
});

/**
 * Calls `sendOne(i)` for i in [0, count) with at most `window` unresolved at once; resolves once
 * all have settled. Returns the number that failed.
 */
export function pipelined(count, window, sendOne) {
  return new Promise((resolve) => {
    let next = 0;
    let settled = 0;
    let failed = 0;
    const launch = () => {
      while (next < count && next - settled < window) {
        const i = next++;
        sendOne(i).then(done, () => { failed++; done(); });
      }
    };
    const done = () => {
      settled++;
      if (settled === count) resolve(failed);
      else launch();
    };
    if (count === 0) resolve(0);
    else launch();
  });
}

/**
 * Calls `sendOne()` at a steady `ratePerSec` for `seconds`, catching up from a 1 ms timer (not a
 * busy loop: the generator must not take the CPU the servers need). Returns how many were sent.
 */
export async function paced(ratePerSec, seconds, sendOne) {
  let sent = 0;
  const started = performance.now();
  const end = started + seconds * 1000;
  while (performance.now() < end) {
    const due = Math.floor(((performance.now() - started) / 1000) * ratePerSec);
    while (sent < due) { sendOne(sent); sent++; }
    await sleep(1);
  }
  return sent;
}

/** A payload of `bytes` whose first 8 bytes carry performance.now() (for end-to-end latency). */
export function stampedPayload(bytes) {
  const payload = Buffer.alloc(bytes, 0x61);
  payload.writeDoubleBE(performance.now(), 0);
  return payload;
}

/**
 * The measured part of a latency run. Records are offered at a steady rate for `warmupSeconds`
 * and then for the measured seconds without a pause; only records stamped after the warm-up
 * count. Without it the first seconds time the JIT compiling the single-record paths (on a
 * broker, ~0.1 core of background compilation for ~10 s) and heaps growing to their new size
 * (a major GC every few seconds in each process), not the steady state the figure is meant to
 * describe. Every system gets the same warm-up.
 */
export function latencyWindow(warmupSeconds) {
  const fromMs = performance.now() + warmupSeconds * 1000;
  const window = {
    /** Records offered inside the window. */
    sent: 0,
    counts: (stampMs) => stampMs >= fromMs,
    /** A stamped payload to offer now, and whether it counts (then `sent` includes it). */
    offer(recordBytes) {
      const payload = stampedPayload(recordBytes);
      const stampMs = payload.readDoubleBE(0);
      const counted = window.counts(stampMs);
      if (counted) window.sent++;
      return { payload, stampMs, counted };
    },
  };
  return window;
}

export function percentiles(valuesMs) {
  const sorted = [...valuesMs].sort((a, b) => a - b);
  const at = (p) => (sorted.length === 0 ? null : round2(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]));
  return { p50Ms: at(50), p99Ms: at(99), p999Ms: at(99.9), maxMs: sorted.length === 0 ? null : round2(sorted[sorted.length - 1]) };
}

export const round2 = (x) => Math.round(x * 100) / 100;

/**
 * The write stall of a leader kill: from the kill until the first write sent after it is
 * acknowledged (writes are offered at a steady rate throughout). `acks` holds [sentAtMs, ackedAtMs]
 * pairs; null when no write sent after the kill was acknowledged (writes never resumed).
 */
export function stallMs(acks, killedAtMs) {
  let firstAckedAtMs = Infinity;
  for (const [sentAtMs, ackedAtMs] of acks) if (sentAtMs >= killedAtMs && ackedAtMs < firstAckedAtMs) firstAckedAtMs = ackedAtMs;
  return firstAckedAtMs === Infinity ? null : Math.round(firstAckedAtMs - killedAtMs);
}

/** Polls `predicate` until it returns a truthy value or the deadline passes. */
export async function waitFor(predicate, { timeoutMs, message, intervalMs = 100 }) {
  const deadline = Date.now() + timeoutMs;
  let lastError;
  for (;;) {
    try {
      const value = await predicate();
      if (value) return value;
    } catch (error) { lastError = error; }
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${message}${lastError ? ` (last error: ${lastError.message})` : ""}`);
    await sleep(intervalMs);
  }
}
