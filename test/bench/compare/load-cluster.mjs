// test/support/cluster.ts is the one way tests and benchmarks start real Tributary processes.
// This plain-Node benchmark cannot import TypeScript, so it transpiles that one file (it imports
// only node: builtins) with the repo's own TypeScript into a temp dir and imports the result.
// The transpiling runs in a child process: the TypeScript compiler is ~15 MB of live heap, and
// the benchmark's clients run in this process, where every major GC would have to mark it
// (an SDK user's process does not carry a compiler).
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const TRANSPILE = `
const ts = (await import("typescript")).default;
let source = "";
for await (const chunk of process.stdin) source += chunk;
const { outputText } = ts.transpileModule(source, {
  compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  fileName: "cluster.ts",
});
process.stdout.write(outputText);
`;

const CLUSTER_TS = new URL("../../support/cluster.ts", import.meta.url);

export async function loadClusterSupport() {
  const source = readFileSync(CLUSTER_TS, "utf8");
  // Run from this directory so the child resolves the repo's own `typescript`.
  const outputText = execFileSync(process.execPath, ["--input-type=module", "-e", TRANSPILE], {
    cwd: new URL(".", import.meta.url).pathname,
    input: source,
    encoding: "utf8",
    maxBuffer: 16 * 1024 * 1024,
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
