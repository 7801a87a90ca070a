// pnpm bench:compare — Tributary side by side with NATS JetStream (3 nodes, R3) and Redis Streams
// (1 node, AOF everysec), every process on loopback and started by this run, the same workloads
// through each system's usual Node client:
//   produce   1,000,000 records of 100 B and 200,000 of 1 KiB, acknowledged after replication
//   consume   all of them back (consumer group / durable pull consumer / XREADGROUP)
//             (each produce and consume phase also reports the CPU-seconds per million records
//             it cost the servers and the client, read from /proc)
//             Both run --repeat times (3), each time into a new topic that is deleted after
//             it is read back; the table gives the median of the repetitions (common.mjs
//             medianOfRepetitions), the JSON every one.
//   latency   end to end at a steady 5,000 records/s for 30 s, after 20 s of the same rate as a
//             warm-up that is not counted: p50 / p99 / p99.9
//   stall     writes offered at 1,000/s; the written partition's / stream's leader is killed -9:
//             time from the kill until a write sent after it is acknowledged (Tributary and
//             JetStream; Redis has no replicas)
// Every system is started first and the phases interleave (throughputPhases); only one system
// works at a time (the machine's cores are shared), the others sit idle. nats-server and
// redis-server are installed with apt-get where missing (install.mjs).
// Prints one table with Tributary's ratio to each, and writes it as JSON to
// test/bench/results/compare-<timestamp>.json and (for a full-size run of every system and
// phase) test/bench/results/latest.json.
//
// Flags: --quick (1/10 of the records, 10 s of latency), --only tributary,jetstream,redis,
//   --phases produce,latency,stall (produce includes consume; a partial run still writes JSON),
//   --repeat N (produce and consume repetitions, default 3; the table shows their median),
//   --no-install (report a system whose server is missing as not run instead of apt-get installing it),
//   --session-timeout-ms N (Tributary's broker.session.timeout.ms; default test/support/cluster.ts's),
//   --profile DIR (Tributary's 100 B produce only, with --cpu-prof on the brokers and the client's
//   own CPU profile, written to DIR; then `node test/bench/compare/profile-top.mjs DIR`).
import { mkdirSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { parseArgs } from "node:util";
import { cleanup, medianOfRepetitions, rotated, withCpuCost } from "./common.mjs";
import { SERVER_PACKAGES, ensureServerBinaries } from "./install.mjs";
import { startJetStream } from "./jetstream.mjs";
import { profileTributaryProduce } from "./profile.mjs";
import { startRedis } from "./redis.mjs";
import { formatTable } from "./table.mjs";
import { startTributary } from "./tributary.mjs";

const { values: flags } = parseArgs({
  // `pnpm bench:compare -- --quick` passes the "--" through.
  args: process.argv.slice(2).filter((arg) => arg !== "--"),
  options: {
    quick: { type: "boolean", default: false },
    only: { type: "string" },
    phases: { type: "string", default: "produce,latency,stall" },
    "session-timeout-ms": { type: "string" },
    profile: { type: "string" },
    repeat: { type: "string", default: "3" },
    "no-install": { type: "boolean", default: false },
  },
});
const scale = flags.quick ? 0.1 : 1;
const workload = {
  small: { records: Math.round(1_000_000 * scale), recordBytes: 100 },
  large: { records: Math.round(200_000 * scale), recordBytes: 1024 },
  latency: { ratePerSec: 5_000, seconds: flags.quick ? 10 : 30, warmupSeconds: flags.quick ? 10 : 20, recordBytes: 100 },
  stall: { ratePerSec: 1_000, recordBytes: 100 },
};
const repeat = Number(flags.repeat);
if (!Number.isInteger(repeat) || repeat < 1) throw new Error(`--repeat must be a whole number >= 1, got ${flags.repeat}`);
const sessionTimeoutMs = flags["session-timeout-ms"] ? Number(flags["session-timeout-ms"]) : undefined;
const systems = (flags.only ?? "tributary,jetstream,redis").split(",");
const phases = new Set(flags.phases.split(","));

const log = (message) => console.error(`[bench:compare ${new Date().toISOString().slice(11, 19)}] ${message}`);
// On a signal, exit at once: the exit hooks (common.mjs, cluster.ts) SIGKILL every PID this run started.
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => process.exit(130));

/**
 * The produce and consume phases of every running system, interleaved: each repetition runs every
 * system's pass (100 B produce and consume, then 1 KiB) in turn, the order rotated each
 * repetition so no system always goes first or last. A slow spell of the shared machine, which can
 * last minutes, then falls on every system's samples instead of on one system's whole run. The
 * systems not being measured sit idle, started; each phase also reports the CPU they used
 * meanwhile (`otherSystemsServers`).
 *
 * Why whole passes and not size by size: run size by size (three runs, 2026-11-26 20:49 to 21:05,
 * in test/bench/results/HISTORY.md), Tributary's 1 KiB produce followed the other systems' phases
 * in two repetitions of three, and its brokers then spent 9.5-12.9 CPU-s per million records
 * against 7.8-8.3 when it went first. On this VM memory freed for a while goes back to the host
 * (free page reporting) and costs several times more to fill again, and the other systems'
 * phases freed theirs. Within a system's own pass, its 1 KiB produce follows its own 100 B
 * phases, as when one system is measured alone.
 */
async function throughputPhases(drivers, results) {
  const sizes = Object.entries({ small: workload.small, large: workload.large });
  const samples = Object.fromEntries(Object.keys(drivers).map((name) => [name, { produce: { small: [], large: [] }, consume: { small: [], large: [] } }]));
  // Each repetition writes a new topic (stream, key), reads it back and deletes it, so every
  // phase starts on a system that holds no other data: kept, the earlier repetitions' data
  // made each later one different (on this VM, page cache that has to grow into memory not
  // used lately costs several times more to fill: Tributary's second and third 1 KiB produce
  // ran at 119,494 and 118,644 records/s against 169,563 for the first, at 13.2 server
  // CPU-s per million records against 8.45). Within a repetition the sizes run in the order
  // of a single pass: 100 B, then 1 KiB.
  for (let repetition = 1; repetition <= repeat; repetition++) {
    const order = rotated(Object.keys(drivers), repetition - 1);
    for (const name of order) {
      const driver = drivers[name];
      const otherPids = order.filter((other) => other !== name).flatMap((other) => drivers[other].serverPids());
      for (const [label, spec] of sizes) {
        const topic = `produce-${label}-${repetition}`;
        log(`${name}: producing ${spec.records} x ${spec.recordBytes} B (${repetition} of ${repeat})`);
        const p = await withCpuCost(driver.serverPids(), () => driver.produce(topic, spec.records, spec.recordBytes), otherPids);
        samples[name].produce[label].push({ ...p, repetition, recordBytes: spec.recordBytes, recordsPerSec: Math.round(p.records / p.seconds), mbPerSec: round1((p.records * spec.recordBytes) / p.seconds / 1e6) });
        log(`${name}: ${samples[name].produce[label].at(-1).recordsPerSec} records/s; consuming`);
        const c = await withCpuCost(driver.serverPids(), () => driver.consume(topic, spec.records), otherPids);
        if (c.records < spec.records) throw new Error(`${name}: read back ${c.records} of ${spec.records} records from ${topic}`);
        samples[name].consume[label].push({ ...c, repetition, recordsPerSec: Math.round(c.timedRecords / c.seconds) });
        log(`${name}: ${samples[name].consume[label].at(-1).recordsPerSec} records/s read back; deleting ${topic}`);
        await driver.drop(topic);
      }
    }
  }
  for (const name of Object.keys(drivers)) {
    for (const [label] of sizes) {
      results[name].produce[label] = medianOfRepetitions(samples[name].produce[label]);
      results[name].consume[label] = medianOfRepetitions(samples[name].consume[label]);
    }
  }
}

const starters = {
  tributary: () => startTributary({ sessionTimeoutMs }),
  jetstream: () => startJetStream(),
  redis: () => startRedis(),
};

const round1 = (x) => Math.round(x * 10) / 10;
let exitCode = 0;
try {
  if (flags.profile) {
    await profileTributaryProduce(flags.profile, workload.small, log);
  } else {
    const results = {};
    const unavailable = ensureServerBinaries(systems, { install: !flags["no-install"], log });
    for (const [name, why] of Object.entries(unavailable)) log(`${name}: NOT RUN — ${why}`);
    // Every system is started before any is measured, and stays up until its last phase.
    const drivers = {};
    try {
      for (const name of systems.filter((system) => !unavailable[system])) {
        log(`${name}: starting`);
        try {
          drivers[name] = await starters[name]();
          results[name] = { produce: {}, consume: {} };
        } catch (error) {
          if (error.code !== "ENOENT") throw error;
          unavailable[name] = `${error.path ?? "its server binary"} is not installed (apt-get install -y ${SERVER_PACKAGES[name]?.debianPackage})`;
          log(`${name}: NOT RUN — ${unavailable[name]}`);
        }
      }
      if (phases.has("produce")) await throughputPhases(drivers, results);
      // Latency and stall, one system at a time, the others idle (each a steady 5,000 or 1,000
      // records/s, far from what the machine can do).
      if (phases.has("latency")) {
        for (const [name, driver] of Object.entries(drivers)) {
          log(`${name}: latency at ${workload.latency.ratePerSec}/s for ${workload.latency.seconds} s after ${workload.latency.warmupSeconds} s of warm-up`);
          results[name].latency = await driver.latency(workload.latency.ratePerSec, workload.latency.seconds, workload.latency.recordBytes, workload.latency.warmupSeconds);
        }
      }
      for (const [name, driver] of Object.entries(drivers)) {
        // A system whose leader was killed is not measured again: it is stopped at once.
        if (phases.has("stall") && driver.leaderKillStall) {
          log(`${name}: killing the leader under writes`);
          results[name].stall = await driver.leaderKillStall(workload.stall.ratePerSec, workload.stall.recordBytes);
        }
        await driver.stop();
        delete drivers[name];
        log(`${name}: stopped; ${JSON.stringify(results[name])}`);
      }
    } finally {
      for (const driver of Object.values(drivers)) await driver.stop().catch(() => {});
    }
    const report = {
      bench: "compare",
      at: new Date().toISOString(),
      quick: flags.quick,
      machine: { cpus: (await import("node:os")).cpus().length, loadAverage1mAtEnd: round1(loadavg()[0]), node: process.version },
      workload,
      repetitions: repeat,
      settings: {
        tributary: { brokers: 3, controllers: 1, partitions: 6, replicationFactor: 3, minInsyncReplicas: 2, acks: "all", idempotent: true, brokerSessionTimeoutMs: sessionTimeoutMs ?? 3000 },
        jetstream: { servers: 3, replicas: 3, storage: "file", publish: "js.publish awaiting PubAck, 4,000 in flight", consumer: "durable pull, AckPolicy.All" },
        redis: { servers: 1, appendonly: "yes", appendfsync: "everysec", produce: "XADD pipelines of 5,000, 8 in flight", consume: "XREADGROUP COUNT 10000 + XACK" },
      },
      stallDefinition: "writes offered at 1,000/s to a 1-partition topic / R3 stream; kill -9 its leader; ms from the kill until a write sent after it is acknowledged (null: none within afterKillSeconds)",
      unavailable,
      results,
    };
    const table = formatTable(report);
    console.log(table);
    report.table = table;
    const dir = new URL("../results/", import.meta.url);
    mkdirSync(dir, { recursive: true });
    const json = JSON.stringify(report, null, 2) + "\n";
    writeFileSync(new URL(`compare-${report.at.replace(/[:.]/g, "-")}.json`, dir), json);
    // A --quick run, or one of only some systems or phases or with fewer than 3 repetitions, is
    // kept, but never replaces the latest full run (the one the README quotes).
    const complete = !flags.quick && systems.length === 3 && phases.size === 3 && repeat >= 3;
    if (complete) writeFileSync(new URL("latest.json", dir), json);
  }
} catch (error) {
  console.error(error);
  exitCode = 1;
} finally {
  await cleanup();
}
process.exit(exitCode);
