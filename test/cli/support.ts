// Helpers for tests that drive the `tributary` command as a person would: child processes on
// free 127.0.0.1 ports, each with its own temp folder, polled for states with deadlines, and all
// stopped at the end.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = resolve(fileURLToPath(new URL("../..", import.meta.url)));
export const CLI_BIN = join(REPO_ROOT, "packages", "cli", "dist", "bin.js");

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `tributary-${prefix}-`));
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Environment for children: no TRIBUTARY_* leaking in from the test runner's shell. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith("TRIBUTARY_")) env[key] = value;
  return { ...env, ...extra };
}

/** Runs `tributary <args>` to completion, feeding `input` on stdin; kills it after timeoutMs. */
export function runTributary(args: readonly string[], options: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<CliResult> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, [CLI_BIN, ...args], {
      env: options.env ?? cleanEnv(), cwd: options.cwd ?? REPO_ROOT, stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 30_000);
    child.once("error", reject);
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      resolveRun({ code: code ?? (signal ? -1 : null), stdout, stderr });
    });
    child.stdin.end(options.input ?? "");
  });
}

/** A long-running child (a server, `tributary dev`) with its output collected. */
export class RunningProcess {
  output = "";
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(readonly name: string, readonly child: ChildProcess) {
    child.stdout?.on("data", (c: Buffer) => (this.output += c.toString()));
    child.stderr?.on("data", (c: Buffer) => (this.output += c.toString()));
    this.exited = new Promise((resolveExit) => child.once("exit", (code, signal) => resolveExit({ code, signal })));
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Waits until the output matches, failing early if the process exits. */
  async waitFor(pattern: RegExp, timeoutMs = 60_000): Promise<void> {
    await pollUntil(() => {
      if (pattern.test(this.output)) return true;
      if (!this.running) throw new Error(`${this.name} exited before printing ${pattern}:\n${this.output.slice(-3000)}`);
      return false;
    }, timeoutMs, () => `${this.name} to print ${pattern}; output so far:\n${this.output.slice(-3000)}`);
  }

  async stop(signal: NodeJS.Signals = "SIGTERM", graceMs = 15_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.running) {
      this.child.kill(signal);
      const timer = setTimeout(() => this.child.kill("SIGKILL"), graceMs);
      const result = await this.exited;
      clearTimeout(timer);
      return result;
    }
    return this.exited;
  }
}

export function startTributary(name: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): RunningProcess {
  const child = spawn(process.execPath, [CLI_BIN, ...args], {
    env: options.env ?? cleanEnv(), cwd: options.cwd ?? REPO_ROOT, stdio: ["ignore", "pipe", "pipe"],
  });
  return new RunningProcess(name, child);
}

/** Polls `check` until it returns true (or a value), failing after the deadline with `what`. */
export async function pollUntil<T>(check: () => T | false | Promise<T | false>, timeoutMs: number, what: string | (() => string)): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const result = await check();
      if (result !== false) return result;
    } catch (error) {
      if (error instanceof Error && /exited before/.test(error.message)) throw error;
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === "string" ? what : what()}${lastError ? ` (last error: ${String(lastError)})` : ""}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Runs a CLI command until it exits 0 and `accept` holds for its output (metadata settles). */
export async function untilCommand(args: readonly string[], accept: (result: CliResult) => boolean, timeoutMs = 30_000): Promise<CliResult> {
  let last: CliResult | undefined;
  return pollUntil(async () => {
    last = await runTributary(args, { timeoutMs: 15_000 });
    return last.code === 0 && accept(last) ? last : false;
  }, timeoutMs, () => `\`tributary ${args.join(" ")}\` to succeed with the expected output; last: ${JSON.stringify(last)}`);
}

export function removeDirs(...dirs: string[]): void {
  for (const dir of dirs) if (dir !== "") rmSync(dir, { recursive: true, force: true });
}

/** Parses `topics describe` partition lines into their fields. */
export function parsePartitionLine(line: string): { topic: string; partition: number; leader: number; replicas: number[]; isr: number[] } | null {
  const match = /^Topic: (\S+) Partition: (\d+) Leader: (\S+) Replicas: ([\d,]*) Isr: ([\d,]*)$/.exec(line.trim());
  if (!match) return null;
  const ids = (text: string): number[] => (text === "" ? [] : text.split(",").map(Number));
  return { topic: match[1]!, partition: Number(match[2]), leader: match[3] === "none" ? -1 : Number(match[3]), replicas: ids(match[4]!), isr: ids(match[5]!) };
}
