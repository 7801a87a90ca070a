// No Docker engine runs here, so the image is checked for what would break its build or its
// start: every COPY source exists, every workspace package's manifest and dist/ are copied, the
// .proto files (loaded at run time) and deploy/ are in the runtime stage, it runs as non-root,
// and `tributary` is the entrypoint. compose.test.ts runs the topology itself.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "./support.js";

const dockerfile = readFileSync(join(REPO_ROOT, "deploy", "docker", "Dockerfile"), "utf8");
const stages = dockerfile.split(/^FROM /m).slice(1).map((text) => ({ name: /^\S+ AS (\S+)/.exec(text)?.[1] ?? "", text }));
const packages = readdirSync(join(REPO_ROOT, "packages")).filter((name) => existsSync(join(REPO_ROOT, "packages", name, "package.json")));

describe("deploy/docker/Dockerfile", () => {
  it("is multi-stage with a runtime stage last", () => {
    expect(stages.map((s) => s.name)).toEqual(["build", "prod-deps", "runtime"]);
  });

  it("copies only paths that exist in the build context", () => {
    for (const match of dockerfile.matchAll(/^COPY (?!--from)(.+)$/gm)) {
      const parts = match[1]!.trim().split(/\s+/);
      for (const source of parts.slice(0, -1)) expect(existsSync(join(REPO_ROOT, source)), source).toBe(true);
    }
  });

  it("installs and ships every workspace package", () => {
    const build = stages.find((s) => s.name === "build")!.text;
    const prodDeps = stages.find((s) => s.name === "prod-deps")!.text;
    const runtime = stages.find((s) => s.name === "runtime")!.text;
    for (const name of packages) {
      expect(build, name).toContain(`COPY packages/${name}/package.json packages/${name}/`);
      expect(prodDeps, name).toContain(`COPY --from=build /src/packages/${name}/package.json packages/${name}/`);
      expect(runtime, name).toContain(`COPY --from=build /src/packages/${name}/dist packages/${name}/dist`);
    }
  });

  it("ships the .proto files, runs as non-root, with tributary as entrypoint", () => {
    const runtime = stages.find((s) => s.name === "runtime")!.text;
    expect(runtime).toContain("COPY --from=build /src/proto proto");
    expect(runtime).toMatch(/^USER node$/m);
    expect(runtime).toMatch(/^ENTRYPOINT \["tributary"\]$/m);
    // @tributary/protocol looks for proto/ two folders above its dist/ (/app/proto here).
    expect(runtime).toMatch(/^WORKDIR \/app$/m);
  });
});
