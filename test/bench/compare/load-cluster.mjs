// test/support/cluster.ts is the one way tests and benchmarks start real Tributary processes.
// This plain-Node benchmark cannot import TypeScript, so it transpiles that one file (it imports
// only node: builtins) with the repo's own TypeScript into a temp dir and imports the result.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import ts from "typescript";

const CLUSTER_TS = new URL("../../support/cluster.ts", import.meta.url);

export async function loadClusterSupport() {
  const source = readFileSync(CLUSTER_TS, "utf8");
  const { outputText } = ts.transpileModule(source, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    fileName: "cluster.ts",
  });
  // cluster.ts finds main.js files relative to its own URL: keep that resolvable.
  const repoRoot = new URL("../../../", import.meta.url).pathname;
  const patched = outputText.replace(/path\.resolve\(path\.dirname\(fileURLToPath\(import\.meta\.url\)\), "\.\.", "\.\."\)/, JSON.stringify(repoRoot));
  if (patched === outputText) throw new Error("test/support/cluster.ts changed how it finds the repo root: update load-cluster.mjs");
  const dir = mkdtempSync(join(tmpdir(), "bench-compare-support-"));
  try {
    const file = join(dir, "cluster.mjs");
    writeFileSync(file, patched);
    return await import(pathToFileURL(file).href);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
