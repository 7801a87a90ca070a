// Bad input at start: a malformed properties file or voters string fails with the file, line and
// reason; a metadata dir that belongs to another node or cluster is refused.
import { spawnSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CONTROLLER_MAIN, freePort, tempDir } from "./support.js";

const dir = tempDir("controller-bad-config");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function startWith(name: string, lines: string[]): { status: number | null; stderr: string; file: string } {
  const file = join(dir, name);
  writeFileSync(file, `${lines.join("\n")}\n`);
  // A bad configuration must stop the process before it listens; the timeout only guards the test.
  const result = spawnSync(process.execPath, [CONTROLLER_MAIN, "--config", file], { encoding: "utf8", timeout: 20_000 });
  return { status: result.status, stderr: result.stderr, file };
}

describe("controller start-up checks", () => {
  it("names the file, line and reason of a malformed value", () => {
    const { status, stderr, file } = startWith("bad-value.properties", ["node.id=1", "# a comment", "num.partitions=many"]);
    expect(status).toBe(2);
    expect(stderr).toContain(`${file}:3: num.partitions=many: expected a whole number`);
  });

  it("names the file, line and reason of a malformed voters string", () => {
    const { status, stderr, file } = startWith("bad-voters.properties", ["node.id=1", "controller.quorum.voters=1@localhost:9191,2@localhost"]);
    expect(status).toBe(2);
    expect(stderr).toContain(`${file}:2: controller.quorum.voters entry "2@localhost" is not id@host:port`);
  });

  it("refuses a node id that is not a voter, and a missing node id", () => {
    const notVoter = startWith("not-voter.properties", ["node.id=4", "controller.quorum.voters=1@localhost:9191"]);
    expect(notVoter.status).toBe(2);
    expect(notVoter.stderr).toContain(`${notVoter.file}:2: node.id 4 is not one of controller.quorum.voters (1)`);
    const missing = startWith("no-id.properties", ["controller.quorum.voters=1@localhost:9191"]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain("node.id is required");
  });

  it("refuses a metadata dir that belongs to another node or cluster", async () => {
    const port = await freePort();
    const metadataDir = join(dir, "other-node");
    mkdirSync(metadataDir, { recursive: true });
    writeFileSync(join(metadataDir, "meta.properties"), "version=1\nnode.id=7\ncluster.id=abc\n");
    const base = [`controller.quorum.voters=1@127.0.0.1:${port}`, `listeners=CONTROLLER://127.0.0.1:${port}`, `metadata.log.dir=${metadataDir}`];
    const otherNode = startWith("other-node.properties", ["node.id=1", ...base]);
    expect(otherNode.status).toBe(2);
    expect(otherNode.stderr).toContain("belongs to node 7, but this controller is node 1");

    writeFileSync(join(metadataDir, "meta.properties"), "version=1\nnode.id=1\ncluster.id=abc\n");
    const otherCluster = startWith("other-cluster.properties", ["node.id=1", "cluster.id=xyz", ...base]);
    expect(otherCluster.status).toBe(2);
    expect(otherCluster.stderr).toContain("belongs to cluster abc, but this controller is configured for cluster xyz");
  });
});
