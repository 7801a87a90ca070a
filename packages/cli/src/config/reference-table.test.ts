import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { SERVER_CONFIGS, TOPIC_CONFIGS } from "@tributary/protocol";
import { describe, expect, it } from "vitest";
import { generateConfigReference, REFERENCE_END_MARKER, REFERENCE_START_MARKER, replaceConfigReference } from "./reference-table.js";

const README = fileURLToPath(new URL("../../../../README.md", import.meta.url));

describe("README configuration reference", () => {
  it("has one row per config key, with its environment variable", () => {
    const table = generateConfigReference();
    for (const def of [...SERVER_CONFIGS, ...TOPIC_CONFIGS]) expect(table).toContain(`| \`${def.name}\``);
    expect(table).toContain("`TRIBUTARY_LOG_DIRS`");
    expect(table).not.toMatch(/<port>/);
  });

  it("matches the definitions (run `npx pnpm@10.34.8 --filter @tributary/cli run docs:config` after changing one)", () => {
    const readme = readFileSync(README, "utf8");
    expect(readme).toContain(REFERENCE_START_MARKER);
    expect(readme).toContain(REFERENCE_END_MARKER);
    expect(replaceConfigReference(readme)).toBe(readme);
  });

  it("keeps the two commands at the top of README", () => {
    const readme = readFileSync(README, "utf8");
    const firstBlock = /```sh\n([\s\S]*?)```/.exec(readme)?.[1] ?? "";
    expect(firstBlock.split("\n").filter((l) => l !== "").map((l) => l.replace(/\s+#.*$/, ""))).toEqual([
      "npx --yes pnpm@10.34.8 install && npx --yes pnpm@10.34.8 start",
      "npx --yes pnpm@10.34.8 install && npx --yes pnpm@10.34.8 test",
    ]);
  });
});
