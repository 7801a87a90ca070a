// bench:compare --profile DIR: Tributary's 100 B produce workload alone, with the brokers started
// under `node --cpu-prof` (profiles written when they exit on SIGTERM) and this process (the SDK)
// profiled through the inspector for the produce phase only. Read with profile-top.mjs.
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { join, resolve } from "node:path";
import { startTributary } from "./tributary.mjs";

export async function profileTributaryProduce(dirArgument, spec, log) {
  const dir = resolve(dirArgument);
  const brokerDir = join(dir, "brokers");
  mkdirSync(brokerDir, { recursive: true });
  // --cpu-prof is not allowed in NODE_OPTIONS, and cluster.ts spawns process.execPath: point that
  // at a wrapper that adds the flag while the cluster starts (exec keeps the PID the node's).
  const wrapper = join(dir, "node-cpu-prof.sh");
  writeFileSync(wrapper, `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} --cpu-prof --cpu-prof-dir=${JSON.stringify(brokerDir)} "$@"\n`);
  chmodSync(wrapper, 0o755);
  const realExecPath = process.execPath;
  process.execPath = wrapper;
  let driver;
  try {
    driver = await startTributary({});
  } finally {
    process.execPath = realExecPath;
  }
  const session = new Session();
  try {
    session.connect();
    await session.post("Profiler.enable");
    await session.post("Profiler.setSamplingInterval", { interval: 1000 });
    await session.post("Profiler.start");
    log(`tributary (profiled): producing ${spec.records} x ${spec.recordBytes} B`);
    const produced = await driver.produce("produce-small", spec.records, spec.recordBytes);
    const { profile } = await session.post("Profiler.stop");
    writeFileSync(join(dir, "client.cpuprofile"), JSON.stringify(profile));
    log(`tributary (profiled): ${Math.round(produced.records / produced.seconds)} records/s (slower than unprofiled)`);
    await driver.stopBrokersGracefully();
    log(`profiles in ${dir}: node test/bench/compare/profile-top.mjs ${dir}`);
  } finally {
    session.disconnect();
    await driver.stop();
  }
}
