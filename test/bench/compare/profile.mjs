// bench:compare --profile DIR: Tributary's 100 B produce workload alone, with the brokers started
// under `node --cpu-prof` (profiles written when they exit on SIGTERM) and this process (the SDK)
// profiled through the inspector for the produce phase only. Read with profile-top.mjs. Also
// prints the brokers' CPU-seconds per million records over the produce phase (from /proc: unlike
// records/s, it hardly depends on what else the machine runs), profiled or not.
//
// Env: BENCH_PROFILE_RECORD_BYTES (e.g. 1024: records of that size instead, as many as make the
//      same bytes), BENCH_PROFILE_RECORDS (how many records instead), BENCH_PROFILE_AFTER_CONSUME=1 (first produce and read back a small topic
//      through a consumer group, as bench:compare's 1 KiB phase runs after the 100 B one: the
//      group creates __consumer_offsets, whose 50 partitions every follower fetch then carries,
//      and the code is warm), BENCH_PROFILE_NO_CPU_PROF=1 (only the CPU-seconds, no profilers).
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { join, resolve } from "node:path";
import { withCpuCost } from "./common.mjs";
import { startTributary } from "./tributary.mjs";

function profiledSpec(spec) {
  const recordBytes = Number(process.env.BENCH_PROFILE_RECORD_BYTES ?? spec.recordBytes);
  if (!Number.isInteger(recordBytes) || recordBytes <= 0) throw new Error(`BENCH_PROFILE_RECORD_BYTES must be a positive integer, not ${process.env.BENCH_PROFILE_RECORD_BYTES}`);
  const records = Number(process.env.BENCH_PROFILE_RECORDS ?? Math.round((spec.records * spec.recordBytes) / recordBytes));
  if (!Number.isInteger(records) || records <= 0) throw new Error(`BENCH_PROFILE_RECORDS must be a positive integer, not ${process.env.BENCH_PROFILE_RECORDS}`);
  return { records, recordBytes };
}

export async function profileTributaryProduce(dirArgument, baseSpec, log) {
  const spec = profiledSpec(baseSpec);
  const cpuProfiles = !process.env.BENCH_PROFILE_NO_CPU_PROF;
  const dir = resolve(dirArgument);
  const brokerDir = join(dir, "brokers");
  mkdirSync(brokerDir, { recursive: true });
  // --cpu-prof is not allowed in NODE_OPTIONS, and cluster.ts spawns process.execPath: point that
  // at a wrapper that adds the flag while the cluster starts (exec keeps the PID the node's).
  const wrapper = join(dir, "node-cpu-prof.sh");
  writeFileSync(wrapper, `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} --cpu-prof --cpu-prof-dir=${JSON.stringify(brokerDir)} "$@"\n`);
  chmodSync(wrapper, 0o755);
  const realExecPath = process.execPath;
  if (cpuProfiles) process.execPath = wrapper;
  let driver;
  try {
    driver = await startTributary({});
  } finally {
    process.execPath = realExecPath;
  }
  const session = new Session();
  try {
    if (process.env.BENCH_PROFILE_AFTER_CONSUME) {
      log("tributary (profiled): warm-up produce and consume through a group");
      await driver.produce("profile-warmup", 20_000, spec.recordBytes);
      await driver.consume("profile-warmup", 20_000);
    }
    session.connect();
    if (cpuProfiles) {
      await session.post("Profiler.enable");
      await session.post("Profiler.setSamplingInterval", { interval: 1000 });
      await session.post("Profiler.start");
    }
    log(`tributary (profiled): producing ${spec.records} x ${spec.recordBytes} B`);
    const produced = await withCpuCost(driver.serverPids(), () => driver.produce("produce-profiled", spec.records, spec.recordBytes));
    if (cpuProfiles) {
      const { profile } = await session.post("Profiler.stop");
      writeFileSync(join(dir, "client.cpuprofile"), JSON.stringify(profile));
    }
    log(`tributary (profiled): ${Math.round(produced.records / produced.seconds)} records/s${cpuProfiles ? " (slower than unprofiled)" : ""}; brokers ${produced.cpuSecondsPerMillion.servers}, client ${produced.cpuSecondsPerMillion.client} CPU-s per million records`);
    await driver.stopBrokersGracefully();
    if (cpuProfiles) log(`profiles in ${dir}: node test/bench/compare/profile-top.mjs ${dir}`);
  } finally {
    session.disconnect();
    await driver.stop();
  }
}
