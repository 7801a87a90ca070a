// `pnpm test:faults [--minutes N] [--seed S]`: the fault suite's long form. Runs the same test
// file CI runs (test/faults/faults.test.ts), for N minutes of faults (default 10) with seed S
// (default: random, printed). The summary says how many faults of each kind the cluster survived.
import { spawnSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  const inline = args.find((a) => a.startsWith(`--${name}=`));
  if (inline) return inline.slice(name.length + 3);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : fallback;
};
const minutes = Number(option("minutes", "10"));
const seed = Number(option("seed", String(Math.floor(Math.random() * 2 ** 31))));
if (!(minutes > 0) || !Number.isInteger(seed)) {
  console.error("usage: pnpm test:faults [--minutes N] [--seed S]");
  process.exit(2);
}
console.log(`fault suite: ${minutes} minute(s) of faults, seed ${seed}`);
const vitest = path.join(repo, "node_modules", "vitest", "vitest.mjs");
const result = spawnSync(process.execPath, [vitest, "run", "--config", "test/vitest.config.ts", "test/faults/faults.test.ts"], {
  cwd: repo, stdio: "inherit", env: { ...process.env, FAULTS_MINUTES: String(minutes), FAULTS_SEED: String(seed) },
});
process.exit(result.status ?? 1);
