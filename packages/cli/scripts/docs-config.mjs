#!/usr/bin/env node
// Rewrites README.md's configuration reference (between its markers) from the config
// definitions in @tributary/protocol. Run after changing a definition:
//   npx pnpm@10.34.8 --filter @tributary/cli run docs:config
// (needs the cli built: npx tsc -b packages/cli). test/cli/readme.test.ts fails when they differ.
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { replaceConfigReference } from "../dist/config/reference-table.js";

const readmePath = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "README.md");
const before = readFileSync(readmePath, "utf8");
const after = replaceConfigReference(before);
if (after === before) {
  console.log("README.md configuration reference is up to date");
} else {
  writeFileSync(readmePath, after);
  console.log("README.md configuration reference rewritten");
}
