// The fault suite's bounded form for CI: a short seeded nemesis schedule against 3 controllers
// and 3 brokers behind fault proxies, with idempotent producers and two consumer groups; then the
// checker. `pnpm test:faults --minutes N --seed S` runs this same file longer (test/faults/run.mjs
// passes FAULTS_MINUTES / FAULTS_SEED). A failure prints the seed, the summary and the history path.
import fs from "node:fs";
import { expect, it } from "vitest";
import { formatReport, runFaults } from "./run-faults.js";

const minutes = Number(process.env.FAULTS_MINUTES ?? "1.5");
const seed = Number(process.env.FAULTS_SEED ?? Math.floor(Math.random() * 2 ** 31));
const durationMs = Math.round(minutes * 60_000);
// FAULTS_ACKS=1 weakens the producers on purpose, to see the checker catch lost records.
const acks = process.env.FAULTS_ACKS === "1" ? "1" : "all";

it(`loses nothing acknowledged under kill -9, SIGSTOP and network cuts (seed ${seed})`, async () => {
  const report = await runFaults({ seed, durationMs, acks, progress: (line) => console.log(line) });
  const text = formatReport(report);
  console.log(text);
  expect(report.failures, text).toEqual([]);
  expect(report.check?.stats.acked ?? 0).toBeGreaterThan(0);
  // Passed: the temp dir is only worth keeping when something failed.
  fs.rmSync(report.root, { recursive: true, force: true });
}, durationMs + 300_000);
