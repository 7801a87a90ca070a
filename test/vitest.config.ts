import { defineConfig } from "vitest/config";

// One Vitest run for the whole monorepo: unit tests sit beside their code
// (packages/*/src/**/*.test.ts) and process-level tests live under test/.
export default defineConfig({
  test: {
    root: new URL("..", import.meta.url).pathname,
    include: ["packages/*/src/**/*.test.ts", "test/**/*.test.ts"],
    exclude: ["**/node_modules/**", "**/dist/**"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // The machine has 2 cores; process tests start several Node processes each.
    maxWorkers: 2,
    pool: "forks",
  },
});
