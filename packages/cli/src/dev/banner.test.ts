import { describe, expect, it } from "vitest";
import { formatDevBanner, formatProcessList } from "./banner.js";

describe("dev banner", () => {
  it("says where it listens and what to type, with no --bootstrap-server on the default port", () => {
    const lines = formatDevBanner({ brokerPorts: [9092], controllerPort: 9191, dataDir: "/d" });
    expect(lines).toContain("Tributary is running: broker on localhost:9092, controller on localhost:9191");
    expect(lines).toContain("  pnpm tributary topics create my-topic --partitions 1 --replication-factor 1");
    expect(lines.join("\n")).not.toContain("--bootstrap-server");
  });

  it("names all three brokers, replication factor 3, and each process's pid", () => {
    const lines = formatDevBanner({ brokerPorts: [9092, 9093, 9094], controllerPort: 9191, dataDir: "/d" });
    expect(lines.join("\n")).toContain("--replication-factor 3 --bootstrap-server localhost:9092,localhost:9093,localhost:9094");
    expect(formatProcessList([{ label: "broker 0", pid: 42, port: 9092 }])).toEqual(["Processes:", "  broker 0      pid 42       port 9092", ""]);
  });
});
