import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { clusterIdFromVoters, resolveControllerConfig } from "./controller-config.js";
import { ensureMetaProperties } from "./meta-properties.js";

const dir = mkdtempSync(join(tmpdir(), "tributary-controller-config-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("controller configuration", () => {
  it("defaults to CONTROLLER://:9191, a quorum of one and a metadata dir under log.dirs", () => {
    const config = resolveControllerConfig({ overrides: { "node.id": "1", "log.dirs": "/data/a,/data/b" } });
    expect(config).toMatchObject({ nodeId: 1, host: "", port: 9191, voters: [{ id: 1, host: "localhost", port: 9191 }], metadataLogDir: "/data/a/__cluster_metadata", clusterId: null });
  });

  it("takes the file, then the environment, then --override", () => {
    const file = join(dir, "c.properties");
    writeFileSync(file, "node.id=2\ncontroller.quorum.voters=1@h1:9191,2@h2:9192\nlisteners=CONTROLLER://0.0.0.0:9192\nmetadata.log.dir=/m\n");
    const config = resolveControllerConfig({ configFile: file, env: { TRIBUTARY_METADATA_LOG_DIR: "/from-env" }, overrides: { listeners: "CONTROLLER://127.0.0.1:7000" } });
    expect(config).toMatchObject({ nodeId: 2, host: "127.0.0.1", port: 7000, metadataLogDir: "/from-env" });
    expect(config.voters.map((v) => v.id)).toEqual([1, 2]);
  });

  it("gives every controller of one quorum the same derived cluster id", () => {
    const a = clusterIdFromVoters([{ id: 1, host: "a", port: 1 }, { id: 2, host: "b", port: 2 }]);
    const b = clusterIdFromVoters([{ id: 2, host: "b", port: 2 }, { id: 1, host: "a", port: 1 }]);
    expect(a).toBe(b);
    expect(a).toHaveLength(22);
  });

  it("writes meta.properties once and keeps the dir's cluster id when none is configured", () => {
    const metadataDir = join(dir, "meta");
    expect(ensureMetaProperties(metadataDir, 3, null, "first")).toEqual({ nodeId: 3, clusterId: "first" });
    expect(readFileSync(join(metadataDir, "meta.properties"), "utf8")).toContain("cluster.id=first");
    expect(ensureMetaProperties(metadataDir, 3, null, "second")).toEqual({ nodeId: 3, clusterId: "first" });
    expect(() => ensureMetaProperties(metadataDir, 4, null, "x")).toThrow(/belongs to node 3, but this controller is node 4/);
    expect(() => ensureMetaProperties(metadataDir, 3, "other", "x")).toThrow(/belongs to cluster first/);
  });
});
