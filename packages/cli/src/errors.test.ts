import { ConfigError, TributaryError } from "@tributary/protocol";
import { describe, expect, it } from "vitest";
import { parseBootstrapServers } from "./bootstrap.js";
import { ActionError, describeFailure, EXIT_FAILURE, EXIT_USAGE, exitCodeOf, UsageError } from "./errors.js";
import { parseKeyValuePairs, tributaryEnvironment } from "./config/overrides.js";

describe("error lines", () => {
  it("says what failed, why and what to do, in one line", () => {
    const line = describeFailure(new TributaryError("INVALID_REPLICATION_FACTOR", "replication factor 3 is larger than the 1 live broker"),
      { action: "create topic t" });
    expect(line).toBe("cannot create topic t: replication factor 3 is larger than the 1 live broker (INVALID_REPLICATION_FACTOR); " +
      "use a replication factor no larger than the number of live brokers (see `tributary cluster describe`)");
    expect(line).not.toContain("\n");
  });

  it("explains an unreachable broker by the addresses tried", () => {
    const refused = Object.assign(new Error("14 UNAVAILABLE: No connection established"), { code: 14 });
    expect(describeFailure(refused, { action: "list topics", bootstrapServers: "localhost:1" }))
      .toBe("cannot list topics: no broker reachable at localhost:1; start one with `tributary dev` or pass --bootstrap-server host:port");
  });

  it("names the file and line of a bad properties file", () => {
    expect(describeFailure(new ConfigError("num.partitions=x: expected a whole number", "server.properties", 2)))
      .toBe("bad configuration: server.properties:2: num.partitions=x: expected a whole number; fix the value and start again");
  });

  it("explains a port in use", () => {
    const inUse = Object.assign(new Error("listen EADDRINUSE: address already in use 0.0.0.0:9092"), { code: "EADDRINUSE" });
    expect(describeFailure(inUse)).toMatch(/^port 9092 is already in use; stop the other process/);
    const grpcInUse = new Error("No address added out of total 1 resolved errors: [listen EADDRINUSE: address already in use 127.0.0.1:9191]");
    expect(describeFailure(grpcInUse, { action: "start the controller" })).toMatch(/^cannot start the controller: port 9191 is already in use; /);
  });

  it("maps usage errors to exit code 2, through an action too, and others to 1", () => {
    expect(exitCodeOf(new UsageError("bad"))).toBe(EXIT_USAGE);
    expect(exitCodeOf(new ActionError("x", new UsageError("bad"), "localhost:9092"))).toBe(EXIT_USAGE);
    expect(exitCodeOf(new Error("boom"))).toBe(EXIT_FAILURE);
  });
});

describe("command-line values", () => {
  it("checks bootstrap lists before connecting", () => {
    expect(parseBootstrapServers("localhost:9092, localhost:9093")).toEqual(["localhost:9092", "localhost:9093"]);
    expect(parseBootstrapServers(["[::1]:9092"])).toEqual(["[::1]:9092"]);
    expect(() => parseBootstrapServers("localhost")).toThrow(UsageError);
    expect(() => parseBootstrapServers("localhost:99999")).toThrow(/not host:port/);
    expect(() => parseBootstrapServers(",")).toThrow(/empty/);
  });

  it("parses key=value flags and refuses malformed or repeated ones", () => {
    expect(parseKeyValuePairs(["log.dirs=/a=b", "x = 1"], "--override")).toEqual({ "log.dirs": "/a=b", x: "1" });
    expect(() => parseKeyValuePairs(["nokey"], "--override")).toThrow(/--override "nokey" is not key=value/);
    expect(() => parseKeyValuePairs(["a=1", "a=2"], "--config")).toThrow(/twice/);
  });

  it("hands servers only the TRIBUTARY_* variables", () => {
    expect(tributaryEnvironment({ TRIBUTARY_NUM_PARTITIONS: "4", HOME: "/root", TRIBUTARY_LOG_DIRS: "/d" }))
      .toEqual({ TRIBUTARY_NUM_PARTITIONS: "4", TRIBUTARY_LOG_DIRS: "/d" });
  });
});
