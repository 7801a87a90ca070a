// The seed's Lab 1, typed as a reader would: one node, my-topic, a console producer fed lines on
// stdin, and a console consumer --from-beginning that prints them all.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cleanEnv, CLI_BIN, freePort, removeDirs, type RunningProcess, runTributary, startTributary, tempDir, untilCommand } from "./support.js";

const LINES = ["Hello mom!", "How are you today son?", "Fine thank you? And you?", "Good"];

describe("Lab 1: a single node", () => {
  let dev: RunningProcess;
  let dataDir: string;
  let bootstrap: string;

  beforeAll(async () => {
    dataDir = tempDir("lab1");
    const brokerPort = await freePort();
    const controllerPort = await freePort();
    bootstrap = `127.0.0.1:${brokerPort}`;
    dev = startTributary("tributary dev", ["dev", "--data-dir", dataDir, "--port", String(brokerPort), "--controller-port", String(controllerPort)]);
    await dev.waitFor(/Tributary is running/);
  }, 120_000);

  afterAll(async () => {
    await dev?.stop();
    removeDirs(dataDir);
  });

  it("says where it listens and how to produce and consume", () => {
    expect(dev.output).toMatch(/broker on localhost:\d+, controller on localhost:\d+/);
    expect(dev.output).toContain("console-producer --topic my-topic");
    expect(dev.output).toContain("console-consumer --topic my-topic --from-beginning");
  });

  it("creates and lists my-topic", { timeout: 120_000 }, async () => {
    const created = await untilCommand(["topics", "create", "--replication-factor", "1", "--partitions", "1", "--topic", "my-topic",
      "--bootstrap-server", bootstrap], () => true);
    expect(created.stdout.trim()).toBe("Created topic my-topic.");
    const listed = await runTributary(["topics", "list", "--bootstrap-server", bootstrap]);
    expect(listed.code).toBe(0);
    expect(listed.stdout.split("\n")).toContain("my-topic");
  });

  it("sends each stdin line as a record and reads them all from the beginning", { timeout: 120_000 }, async () => {
    const produced = await runTributary(["console-producer", "--broker-list", bootstrap, "--topic", "my-topic"], { input: `${LINES.join("\n")}\n` });
    expect(produced.stderr).toBe("");
    expect(produced.code).toBe(0);
    const consumed = await runTributary(["console-consumer", "--bootstrap-server", bootstrap, "--topic", "my-topic", "--from-beginning",
      "--timeout-ms", "5000"]);
    expect(consumed.code).toBe(0);
    expect(consumed.stdout.split("\n").filter((l) => l !== "")).toEqual(LINES);
    expect(consumed.stderr).toContain(`Processed a total of ${LINES.length} messages`);
  });

  it("explains mistakes in one line with exit code 1", { timeout: 120_000 }, async () => {
    const unknown = await runTributary(["topics", "describe", "no-such-topic", "--bootstrap-server", bootstrap]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr.trim().split("\n")).toHaveLength(1);
    expect(unknown.stderr).toMatch(/^error: cannot describe topic no-such-topic: .*tributary topics list/);
    const tooMany = await runTributary(["topics", "create", "t3", "--replication-factor", "3", "--bootstrap-server", bootstrap]);
    expect(tooMany.code).toBe(1);
    expect(tooMany.stderr).toMatch(/^error: cannot create topic t3: .*replication factor/i);
    const unreachable = await runTributary(["topics", "list", "--bootstrap-server", "127.0.0.1:1"]);
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toBe("error: cannot list topics: no broker reachable at 127.0.0.1:1; start one with `tributary dev` or pass --bootstrap-server host:port\n");
  });

  it("refuses a second dev on the same ports with a one-line port-in-use error", async () => {
    const port = /broker on localhost:(\d+)/.exec(dev.output)![1]!;
    const secondDir = tempDir("lab1-second");
    const second = await runTributary(["dev", "--data-dir", secondDir, "--port", port, "--controller-port", String(await freePort())]);
    removeDirs(secondDir);
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(new RegExp(`^error: cannot start the broker: port ${port} is already in use; `));
  });

  it("runs README's 'More commands': alter, --json describe, groups, reset-offsets, perf, delete", { timeout: 180_000 }, async () => {
    const at = ["--bootstrap-server", bootstrap];
    const ok = async (args: string[], input?: string) => {
      const result = await runTributary([...args, ...at], { timeoutMs: 60_000, ...(input !== undefined ? { input } : {}) });
      expect(result.code, `tributary ${args.join(" ")}: ${result.stderr}`).toBe(0);
      return result;
    };
    await ok(["topics", "create", "more", "--partitions", "1", "--config", "retention.ms=60000"]);
    expect((await ok(["topics", "alter", "more", "--partitions", "2", "--config", "cleanup.policy=compact"])).stdout)
      .toBe("Topic more now has 2 partitions.\nUpdated configs of topic more.\n");
    const described = JSON.parse((await ok(["topics", "describe", "more", "--json"])).stdout) as Record<string, unknown>;
    expect(described).toMatchObject({ name: "more", partitionCount: 2, replicationFactor: 1, configs: { "retention.ms": "60000", "cleanup.policy": "compact" } });

    await ok(["console-producer", "--topic", "more", "--property", "parse.key=true", "--property", "key.separator=:"], "k1:v1\nk2:v2\nk3:v3\n");
    const consumed = await ok(["console-consumer", "--topic", "more", "--group", "more-group", "--from-beginning", "--max-messages", "3",
      "--timeout-ms", "15000", "--print-key", "--property", "key.separator=:"]);
    expect(consumed.stdout.trim().split("\n").sort()).toEqual(["k1:v1", "k2:v2", "k3:v3"]);
    expect((await ok(["groups", "list"])).stdout.split("\n")).toContain("more-group");
    const group = JSON.parse((await ok(["groups", "describe", "more-group", "--json"])).stdout) as { partitions: { lag: string; committedOffset: string }[] };
    expect(group.partitions.map((p) => p.lag)).toEqual(["0", "0"]);
    await ok(["groups", "reset-offsets", "more-group", "--topic", "more", "--to-earliest"]);
    const reset = JSON.parse((await ok(["groups", "describe", "more-group", "--json"])).stdout) as { partitions: { committedOffset: string }[] };
    expect(reset.partitions.map((p) => p.committedOffset)).toEqual(["0", "0"]);

    // perf writes keyless records, which a compacted topic refuses (as Kafka's leader does).
    const refused = await runTributary(["perf", "produce", "--topic", "more", "--num-records", "10", "--record-size", "50", ...at], { timeoutMs: 60_000 });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/has no key, and this topic is compacted.*\(INVALID_RECORD\)/);
    await ok(["topics", "create", "more-perf", "--partitions", "2"]);
    const produced = JSON.parse((await ok(["perf", "produce", "--topic", "more-perf", "--num-records", "2000", "--record-size", "50", "--json"])).stdout) as Record<string, number>;
    expect(produced).toMatchObject({ records: 2000, bytes: 100_000 });
    for (const key of ["recordsPerSec", "mbPerSec", "avgMs", "maxMs", "p50Ms", "p95Ms", "p99Ms", "p999Ms"]) expect(produced[key]).toBeGreaterThan(0);
    const perfConsume = await ok(["perf", "consume", "--topic", "more-perf", "--num-records", "2000"]);
    expect(perfConsume.stdout).toMatch(/^2000 records consumed, [\d.]+ records\/sec \([\d.]+ MB\/sec\), [\d.]+ ms avg latency, [\d.]+ ms max latency, \d+ ms 50th, \d+ ms 95th, \d+ ms 99th, \d+ ms 99.9th.\n$/);

    // A group commits only what was printed: the next reader goes on where --max-messages stopped.
    await ok(["topics", "create", "split"]);
    await ok(["console-producer", "--topic", "split"], "1\n2\n3\n4\n5\n");
    const first = await ok(["console-consumer", "--topic", "split", "--group", "split-group", "--from-beginning", "--max-messages", "2", "--timeout-ms", "15000"]);
    const rest = await ok(["console-consumer", "--topic", "split", "--group", "split-group", "--max-messages", "3", "--timeout-ms", "15000"]);
    expect([first.stdout, rest.stdout]).toEqual(["1\n2\n", "3\n4\n5\n"]);
    // An offset past the log end is moved to the end, as Kafka's tool does.
    expect((await ok(["groups", "reset-offsets", "split-group", "--topic", "split", "--to-offset", "99"])).stdout)
      .toContain("Group: split-group Topic: split Partition: 0 NewOffset: 5");
    await ok(["groups", "reset-offsets", "split-group", "--topic", "split", "--to-offset", "3"]);
    expect((await ok(["console-consumer", "--topic", "split", "--group", "split-group", "--max-messages", "2", "--timeout-ms", "15000"])).stdout).toBe("4\n5\n");

    expect((await ok(["topics", "delete", "more"])).stdout).toBe("Deleted topic more.\n");
    await untilCommand(["topics", "list", ...at], (r) => !r.stdout.split("\n").includes("more"));
  });

  // `script` gives the command a terminal, as a person at a shell has (util-linux; skipped without it).
  it.runIf(existsSync("/usr/bin/script"))("draws a progress bar for perf on a terminal, and none into a pipe", { timeout: 120_000 }, async () => {
    await untilCommand(["topics", "create", "bar", "--bootstrap-server", bootstrap], () => true);
    const command = [process.execPath, CLI_BIN, "perf", "produce", "--topic", "bar", "--num-records", "20000", "--bootstrap-server", bootstrap]
      .map((arg) => `'${arg}'`).join(" ");
    const onTerminal = await new Promise<string>((resolve, reject) => {
      const child = spawn("/usr/bin/script", ["-qfec", command, "/dev/null"], { env: cleanEnv(), stdio: ["pipe", "pipe", "pipe"] });
      let output = "";
      child.stdout.on("data", (c: Buffer) => (output += c.toString()));
      child.once("error", reject);
      child.once("close", () => resolve(output));
      child.stdin.end();
    });
    expect(onTerminal).toMatch(/\[#{30}\] 100% 20000\/20000 records, \d+ records\/sec/);
    expect(onTerminal).toMatch(/20000 records sent, /);
    const piped = await runTributary(["perf", "produce", "--topic", "bar", "--num-records", "2000", "--bootstrap-server", bootstrap]);
    expect(piped.stderr).not.toContain("[#");
  });

  it("ends console-producer on Ctrl-C like Ctrl-D: what was typed is sent, exit 0", { timeout: 120_000 }, async () => {
    await untilCommand(["topics", "create", "typed", "--bootstrap-server", bootstrap], () => true);
    const producer = spawn(process.execPath, [CLI_BIN, "console-producer", "--topic", "typed", "--bootstrap-server", bootstrap],
      { env: cleanEnv(), stdio: ["pipe", "pipe", "pipe"] });
    const exited = new Promise<number | null>((resolve) => producer.once("exit", (code) => resolve(code)));
    producer.stdin.write("typed before Ctrl-C\n");
    // The record is sent as soon as the line is read; wait until a consumer sees it.
    await untilCommand(["console-consumer", "--topic", "typed", "--from-beginning", "--max-messages", "1", "--timeout-ms", "3000",
      "--bootstrap-server", bootstrap], (r) => r.stdout === "typed before Ctrl-C\n");
    producer.kill("SIGINT");
    expect(await exited).toBe(0);
  });

  it("stops cleanly on SIGTERM", async () => {
    const exit = await dev.stop("SIGTERM");
    expect(exit.code).toBe(0);
  });
});
