// The pure helpers behind bench:compare's figures: the stall and percentile definitions, the
// in-flight bound of pipelined sends, and the table's ratio column (Tributary / other).
import { describe, expect, it } from "vitest";
// @ts-ignore -- plain .mjs without type declarations
import { medianOfRepetitions, percentiles, pipelined, rotated, stallMs, withCpuCost } from "./common.mjs";
// @ts-ignore -- plain .mjs without type declarations
import { ensureServerBinaries } from "./install.mjs";
// @ts-ignore -- plain .mjs without type declarations
import { formatTable } from "./table.mjs";

describe("stallMs", () => {
  it("counts from the kill to the first ack of a write sent after it", () => {
    const acks = [[900, 950], [990, 1010], [1500, 4200], [1600, 4100], [5000, 5001]];
    expect(stallMs(acks, 1000)).toBe(3100);
  });

  it("is null when no write sent after the kill was acknowledged", () => {
    expect(stallMs([[900, 1200]], 1000)).toBeNull();
  });
});

describe("percentiles", () => {
  it("reads p50 / p99 / p99.9 from unsorted samples", () => {
    const samples = Array.from({ length: 1000 }, (_, i) => 1000 - i); // 1000..1
    expect(percentiles(samples)).toEqual({ p50Ms: 501, p99Ms: 991, p999Ms: 1000, maxMs: 1000 });
  });
});

describe("pipelined", () => {
  it("keeps at most `window` unsettled, settles all, counts failures", async () => {
    let inFlight = 0;
    let peak = 0;
    const failed = await pipelined(50, 7, async (i: number) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((resolve) => setImmediate(resolve));
      inFlight--;
      if (i % 10 === 0) throw new Error("refused");
    });
    expect(peak).toBe(7);
    expect(failed).toBe(5);
  });
});

describe("formatTable", () => {
  it("prints Tributary / other for every row and a dash where a system has no figure", () => {
    const table: string = formatTable({
      quick: true, at: "now", machine: { cpus: 2, loadAverage1mAtEnd: 1 }, unavailable: {},
      results: {
        tributary: { produce: { small: { recordsPerSec: 300, cpuSecondsPerMillion: { servers: 1, client: 0.5, total: 1.5 } } }, latency: { p99Ms: 10 } },
        jetstream: { produce: { small: { recordsPerSec: 100, cpuSecondsPerMillion: { servers: 5, client: 1, total: 6 } } }, latency: { p99Ms: 20 } },
        redis: { produce: { small: { recordsPerSec: 200 } } },
      },
    });
    const row = (label: string) => table.split("\n").find((line) => line.startsWith(`| ${label}`))!.split("|").map((c) => c.trim());
    expect(row("produce 100 B")).toEqual(["", "produce 100 B (records/s)", "300", "100", "200", "3.00x", "1.50x", "higher", ""]);
    expect(row("produce 100 B (CPU")).toEqual(["", "produce 100 B (CPU-s/M records)", "1.5", "6", "—", "0.25x", "—", "lower", ""]);
    expect(row("e2e latency p99 ")).toEqual(["", "e2e latency p99 (ms)", "10", "20", "—", "0.50x", "—", "lower", ""]);
    expect(table).toContain("the median of 1 repetition (JSON");
  });
});

describe("medianOfRepetitions", () => {
  const repetition = (recordsPerSec: number, servers: number, client: number) => ({ recordsPerSec, seconds: 1e6 / recordsPerSec, cpuSecondsPerMillion: { servers, client, total: servers + client } });

  it("takes the repetition with the median rate, its CPU figures with it", () => {
    const runs = [repetition(500, 1, 9), repetition(300, 3, 2), repetition(400, 2, 4)];
    const median = medianOfRepetitions(runs);
    expect(median.recordsPerSec).toBe(400);
    expect(median.seconds).toBe(1e6 / 400);
    expect(median.cpuSecondsPerMillion).toEqual({ servers: 2, client: 4, total: 6 });
    expect(medianOfRepetitions([repetition(1, 9, 9), repetition(3, 1, 1), repetition(2, 5, 5)]).cpuSecondsPerMillion.total).toBe(10);
    expect(median.repetitions).toEqual(runs);
  });

  it("takes the lower middle of an even count, and the only one of one", () => {
    expect(medianOfRepetitions([repetition(10, 1, 1), repetition(40, 1, 1), repetition(20, 1, 1), repetition(30, 1, 1)]).recordsPerSec).toBe(20);
    expect(medianOfRepetitions([repetition(7, 1, 2)]).recordsPerSec).toBe(7);
    expect(() => medianOfRepetitions([])).toThrow();
  });
});

describe("withCpuCost", () => {
  it("charges a phase the CPU its servers and its client spent, per million records", async () => {
    // This process plays both parts: as the "server" PID (read from /proc) and as the client.
    const result = await withCpuCost([process.pid], async () => {
      const start = process.cpuUsage();
      for (;;) {
        const spent = process.cpuUsage(start);
        if (spent.user + spent.system >= 200_000) break;
      }
      return { records: 1000, seconds: 0.2 };
    });
    expect(result.records).toBe(1000);
    // 0.2 CPU-s over 1,000 records is 200 CPU-s per million (/proc counts in 10 ms ticks).
    expect(result.cpuSecondsPerMillion.servers).toBeGreaterThanOrEqual(150);
    expect(result.cpuSecondsPerMillion.client).toBeGreaterThanOrEqual(200);
    expect(result.cpuSecondsPerMillion.total).toBeCloseTo(result.cpuSecondsPerMillion.servers + result.cpuSecondsPerMillion.client, 1);
    expect(result.cpuSecondsPerMillion).not.toHaveProperty("otherSystemsServers");
  });

  it("reports the idle systems' servers apart, outside the phase's total", async () => {
    const result = await withCpuCost([], async () => {
      const start = process.cpuUsage();
      while (process.cpuUsage(start).user < 200_000);
      return { records: 1000, seconds: 0.2 };
    }, [process.pid]);
    expect(result.cpuSecondsPerMillion.otherSystemsServers).toBeGreaterThanOrEqual(150);
    expect(result.cpuSecondsPerMillion.servers).toBe(0);
    expect(result.cpuSecondsPerMillion.total).toBe(result.cpuSecondsPerMillion.client);
  });
});

describe("rotated", () => {
  it("starts each repetition with the next system, wrapping around", () => {
    const systems = ["tributary", "jetstream", "redis"];
    expect([0, 1, 2, 3].map((by) => rotated(systems, by).join(","))).toEqual([
      "tributary,jetstream,redis", "jetstream,redis,tributary", "redis,tributary,jetstream", "tributary,jetstream,redis",
    ]);
    expect(rotated([], 2)).toEqual([]);
  });
});

describe("ensureServerBinaries", () => {
  it("passes a system whose binary is on PATH and reports one that is missing, with the package to install", () => {
    const packagesBySystem = { shell: { binary: "sh", debianPackage: "dash" }, nothing: { binary: "tributary-no-such-server", debianPackage: "tributary-no-such-package" } };
    const unavailable = ensureServerBinaries(["shell", "nothing", "tributary"], { install: false, packagesBySystem });
    expect(Object.keys(unavailable)).toEqual(["nothing"]);
    expect(unavailable.nothing).toContain("--no-install was given");
    expect(unavailable.nothing).toContain("apt-get install -y tributary-no-such-package");
  });
});
