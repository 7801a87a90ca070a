// The seed's Lab 2 on free ports and temp folders (the seed's fixed ones are used, as they are,
// in seed-defaults.test.ts).
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, it } from "vitest";
import { type Cluster, runLab, stopCluster } from "./lab2-steps.js";
import { freePort, REPO_ROOT, type RunningProcess, startTributary, tempDir } from "./support.js";

describe("Lab 2: a replicated topic survives losing its leader (temp dirs, free ports)", () => {
  let cluster: Cluster | undefined;

  beforeAll(async () => {
    const root = tempDir("lab2");
    const controllerPort = await freePort();
    const ports = [await freePort(), await freePort(), await freePort()];
    const voters = `controller.quorum.voters=1@127.0.0.1:${controllerPort}`;
    const controller = startTributary("controller", ["controller", "start", "--config", join(REPO_ROOT, "deploy/config/dev.properties"),
      "--override", `listeners=CONTROLLER://127.0.0.1:${controllerPort}`, "--override", voters,
      "--override", `metadata.log.dir=${join(root, "controller")}`]);
    await controller.waitFor(/"msg":"listening"/);
    const brokers = new Map<number, RunningProcess>();
    for (const id of [0, 1, 2]) {
      // The seed's server-N.properties, with the port and folder moved so tests can run side by side.
      const file = join(root, `server-${id}.properties`);
      writeFileSync(file, `broker.id=${id}\nport=${ports[id]}\nlog.dirs=${join(root, `kafka-logs-${id}`)}\n`);
      const broker = startTributary(`broker ${id}`, ["broker", "start", "--config", file, "--override", voters, "--override", "host.name=127.0.0.1"]);
      brokers.set(id, broker);
    }
    for (const broker of brokers.values()) await broker.waitFor(/"msg":"listening"/);
    cluster = { controller, brokers, bootstrap: ports.map((p) => `127.0.0.1:${p}`).join(","), dirs: [root] };
  }, 120_000);

  afterAll(() => stopCluster(cluster));

  it("runs the lab", { timeout: 180_000 }, async () => {
    await runLab(cluster!, cluster!.bootstrap.split(",").slice(0, 2).join(","));
  });
});
