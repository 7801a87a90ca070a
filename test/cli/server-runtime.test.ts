// deploy/server-runtime.mjs: the Node flag and glibc setting every way of starting a server adds.
// The launcher's real processes are checked in dev-three-nodes.test.ts; here, the rules, the
// Dockerfile saying the same, and a broker started by test/support/cluster.ts (which the
// benchmarks use) running with them.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { SERVER_ENV, SERVER_NODE_FLAGS, serverEnv, serverNodeFlags } from "../../deploy/server-runtime.mjs";
import { startCluster } from "../support/cluster.js";
import { processRuntime, REPO_ROOT } from "./support.js";

// glibc ignores, without a word, an mmap threshold above HEAP_MAX_SIZE / 2 (32 MiB on 64-bit).
const GLIBC_MAX_MMAP_THRESHOLD_BYTES = 32 * 1024 * 1024;

function tunable(name: string): number {
  const match = new RegExp(`(?:^|:)glibc\\.malloc\\.${name}=(\\d+)(?::|$)`).exec(SERVER_ENV.GLIBC_TUNABLES);
  if (match === null) throw new Error(`glibc.malloc.${name} is not in ${SERVER_ENV.GLIBC_TUNABLES}`);
  return Number(match[1]);
}

describe("deploy/server-runtime.mjs", () => {
  it("sets malloc thresholds glibc accepts", () => {
    expect(tunable("mmap_threshold")).toBeGreaterThan(0);
    expect(tunable("mmap_threshold")).toBeLessThanOrEqual(GLIBC_MAX_MMAP_THRESHOLD_BYTES);
    expect(tunable("trim_threshold")).toBeGreaterThanOrEqual(tunable("mmap_threshold"));
  });

  it("adds its settings, and leaves the operator's own in place", () => {
    expect(serverNodeFlags({})).toEqual([...SERVER_NODE_FLAGS]);
    expect(serverNodeFlags({ NODE_OPTIONS: "--max-semi-space-size=64" })).toEqual([]);
    expect(serverEnv({ PATH: "/bin" })).toEqual({ PATH: "/bin", GLIBC_TUNABLES: SERVER_ENV.GLIBC_TUNABLES });
    expect(serverEnv({ GLIBC_TUNABLES: "glibc.malloc.arena_max=2" }).GLIBC_TUNABLES).toBe("glibc.malloc.arena_max=2");
  });

  it("is what the Docker image sets", () => {
    const dockerfile = readFileSync(join(REPO_ROOT, "deploy", "docker", "Dockerfile"), "utf8");
    const runtime = dockerfile.split(/^FROM /m).at(-1)!;
    expect(runtime).toMatch(new RegExp(`^ENV NODE_OPTIONS=${SERVER_NODE_FLAGS.join(" ")}$`, "m"));
    expect(runtime).toContain(`\nENV GLIBC_TUNABLES=${SERVER_ENV.GLIBC_TUNABLES}\n`);
  });

  it("is how test/support/cluster.ts starts a broker", { timeout: 120_000 }, async () => {
    const cluster = await startCluster({ controllers: 1, brokers: 1 });
    try {
      const runtime = processRuntime(cluster.brokers[0]!.pid!);
      expect(runtime.args).toEqual(expect.arrayContaining([...SERVER_NODE_FLAGS]));
      expect(runtime.glibcTunables).toEqual(SERVER_ENV.GLIBC_TUNABLES.split(":"));
    } finally {
      await cluster.stop();
    }
  });
});
