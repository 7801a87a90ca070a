// The command tree run in-process with captured streams: help, usage errors and exit codes.
import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { runCli } from "./cli.js";
import type { CliIo } from "./io.js";

async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const chunks = { stdout: "", stderr: "" };
  stdout.on("data", (c: Buffer) => (chunks.stdout += c.toString()));
  stderr.on("data", (c: Buffer) => (chunks.stderr += c.toString()));
  const io: CliIo = { stdout, stderr, stdin: new PassThrough(), env: {}, stderrIsTTY: false };
  const code = await runCli(args, { io });
  return { code, ...chunks };
}

describe("tributary command line", () => {
  it("exits 2 with one line for an unknown command or flag", async () => {
    for (const args of [["topics", "bogus"], ["topics", "list", "--no-such-flag"], [], ["topics"]]) {
      const result = await run(args);
      expect(result.code, args.join(" ")).toBe(2);
      expect(result.stderr.trim().split("\n")).toHaveLength(1);
      expect(result.stderr).toMatch(/^error: /);
    }
  });

  it("exits 2 for a malformed bootstrap server or flag value, before connecting", async () => {
    const bad = await run(["topics", "list", "--bootstrap-server", "localhost"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('"localhost" is not host:port');
    const acks = await run(["console-producer", "--topic", "t", "--acks", "2"]);
    expect(acks.code).toBe(2);
    expect(acks.stderr).toContain("--acks 2 is not one of all, -1, 1, 0");
    const reset = await run(["groups", "reset-offsets", "g", "--topic", "t"]);
    expect(reset.code).toBe(2);
    expect(reset.stderr).toContain("exactly one of --to-earliest, --to-latest or --to-offset");
  });

  it("exits 1 with file:line for a bad properties file, and no stack trace", async () => {
    const { mkdtempSync, rmSync, writeFileSync } = await import("node:fs");
    const { join } = await import("node:path");
    const { tmpdir } = await import("node:os");
    const dir = mkdtempSync(join(tmpdir(), "tributary-cli-"));
    const file = join(dir, "server.properties");
    writeFileSync(file, "broker.id=1\nport=ninety\n");
    const result = await run(["broker", "start", "--config", file]);
    rmSync(dir, { recursive: true, force: true });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`error: cannot start the broker: bad configuration: ${file}:2: port=ninety: expected a whole number; fix the value and start again\n`);
  });

  it("prints help for every command with exit 0", async () => {
    for (const args of [["--help"], ["dev", "--help"], ["topics", "create", "--help"], ["console-consumer", "--help"],
      ["groups", "reset-offsets", "--help"], ["perf", "produce", "--help"], ["broker", "start", "--help"], ["cluster", "describe", "--help"]]) {
      const result = await run(args);
      expect(result.code, args.join(" ")).toBe(0);
      expect(result.stdout).toContain(args.length === 1 ? "tributary <command>" : `tributary ${args.slice(0, -1).join(" ")}`);
      expect(result.stdout).toContain("--bootstrap-server");
    }
  });
});
