// node test/bench/compare/profile-top.mjs DIR [N] — the top self-time functions of every
// .cpuprofile under DIR (the brokers' and the client's from bench:compare --profile), with each
// one's share of that process's sampled time, and the time per package / runtime area.
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";

const [dir, topArgument] = process.argv.slice(2);
if (!dir) throw new Error("usage: profile-top.mjs DIR [N]");
const TOP = Number(topArgument ?? 15);

function* profiles(root) {
  for (const name of readdirSync(root)) {
    const file = join(root, name);
    if (statSync(file).isDirectory()) yield* profiles(file);
    else if (name.endsWith(".cpuprofile")) yield file;
  }
}

function area(url) {
  const match = /packages\/([^/]+)\//.exec(url) ?? /node_modules\/\.pnpm\/([^/]+)\//.exec(url);
  if (match) return match[1].replace(/@[\d.]+.*$/, "");
  if (url.startsWith("node:")) return "node runtime";
  return url === "" ? "(native/gc/idle)" : "other";
}

for (const file of profiles(dir)) {
  const profile = JSON.parse(readFileSync(file, "utf8"));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfMicros = new Map();
  const deltas = profile.timeDeltas;
  for (let i = 0; i < profile.samples.length; i++) {
    selfMicros.set(profile.samples[i], (selfMicros.get(profile.samples[i]) ?? 0) + (deltas[i] ?? 0));
  }
  const byFunction = new Map();
  const byArea = new Map();
  let totalMicros = 0;
  let idleMicros = 0;
  for (const [id, micros] of selfMicros) {
    const { callFrame } = byId.get(id);
    totalMicros += micros;
    if (callFrame.functionName === "(idle)") { idleMicros += micros; continue; }
    const key = `${callFrame.functionName || "(anonymous)"} ${callFrame.url.replace(/^.*\/(packages|node_modules\/\.pnpm)\//, "")}:${callFrame.lineNumber + 1}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + micros);
    const a = callFrame.url === "" ? callFrame.functionName : area(callFrame.url);
    byArea.set(a, (byArea.get(a) ?? 0) + micros);
  }
  const busyMicros = totalMicros - idleMicros;
  const pct = (m) => `${((100 * m) / busyMicros).toFixed(1).padStart(5)}%`;
  console.log(`\n== ${relative(dir, file)}: ${(totalMicros / 1e6).toFixed(1)} s sampled, ${(busyMicros / 1e6).toFixed(1)} s busy`);
  console.log("  by area:");
  for (const [name, micros] of [...byArea].sort((a, b) => b[1] - a[1]).slice(0, 10)) console.log(`    ${pct(micros)} ${(micros / 1e6).toFixed(2).padStart(6)} s  ${name}`);
  console.log(`  top ${TOP} functions (self time):`);
  for (const [name, micros] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, TOP)) console.log(`    ${pct(micros)} ${(micros / 1e6).toFixed(2).padStart(6)} s  ${name}`);
}
