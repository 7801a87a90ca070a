import { describe, expect, it } from "vitest";
import { ConfigError, parseProperties } from "./properties.js";
import {
  effectiveListeners,
  effectiveRetentionMs,
  envVarName,
  parseQuorumVoters,
  resolveServerConfig,
  resolveTopicConfig,
} from "./resolve.js";

describe("properties files", () => {
  it("reads the seed's lab file as Kafka does", () => {
    const props = parseProperties("# lab 2\nbroker.id=1\nport=9093\nlog.dirs=/tmp/kafka-logs-1\n", "server-1.properties");
    const { values, unknownKeys } = resolveServerConfig({ file: props });
    expect(values["node.id"]).toBe(1);
    expect(values.port).toBe(9093);
    expect(values["log.dirs"]).toEqual(["/tmp/kafka-logs-1"]);
    expect(unknownKeys).toEqual([]);
    expect(effectiveListeners(values, "PLAINTEXT", 9092)).toEqual([{ name: "PLAINTEXT", host: "", port: 9093 }]);
  });

  it("handles separators, continuations, escapes and comments", () => {
    const props = parseProperties("a = 1\nb: two\nc three\n! bang comment\nd=x\\\n   y\ne=tab\\there\n");
    expect([...props.entries()].map(([k, v]) => [k, v.value])).toEqual([
      ["a", "1"], ["b", "two"], ["c", "three"], ["d", "xy"], ["e", "tab\there"],
    ]);
  });

  it("names the file and line of a bad value or a duplicate key", () => {
    const props = parseProperties("broker.id=1\nnum.partitions=many\n", "server.properties");
    expect(() => resolveServerConfig({ file: props })).toThrow(/server\.properties:2: num\.partitions=many: expected a whole number/);
    expect(() => parseProperties("a=1\na=2\n", "f.properties")).toThrow(/f\.properties:2: "a" is set twice/);
  });

  it("lets flags beat the environment and the environment beat the file", () => {
    const file = parseProperties("num.partitions=3\nmin.insync.replicas=2\nlog.retention.hours=1\n");
    const { values } = resolveServerConfig({
      file,
      env: { [envVarName("num.partitions")]: "4", TRIBUTARY_MIN_INSYNC_REPLICAS: "3" },
      flags: { "num.partitions": "5" },
    });
    expect(values["num.partitions"]).toBe(5);
    expect(values["min.insync.replicas"]).toBe(3);
    expect(effectiveRetentionMs(values)).toBe(3_600_000);
  });

  it("refuses out-of-range values and unknown enum values", () => {
    expect(() => resolveServerConfig({ flags: { "num.partitions": "0" } })).toThrow(ConfigError);
    expect(() => resolveServerConfig({ flags: { "log.cleanup.policy": "shred" } })).toThrow(/not one of delete, compact/);
  });
});

describe("topic configs", () => {
  it("takes overrides, then the server default, then the topic default", () => {
    const { values: server } = resolveServerConfig({ flags: { "log.retention.hours": "2", "min.insync.replicas": "2" } });
    const topic = resolveTopicConfig({ "cleanup.policy": "compact,delete" }, server);
    expect(topic["cleanup.policy"]).toEqual(["compact", "delete"]);
    expect(topic["retention.ms"]).toBe(7_200_000);
    expect(topic["min.insync.replicas"]).toBe(2);
    expect(resolveTopicConfig({})["retention.ms"]).toBe(604_800_000);
    expect(() => resolveTopicConfig({ "retention.msec": "1" })).toThrow(/unknown topic config "retention.msec"/);
  });
});

describe("quorum voters", () => {
  it("parses Kafka's id@host:port list and refuses malformed entries", () => {
    expect(parseQuorumVoters(["1@localhost:9191", "2@127.0.0.2:9192"])).toEqual([
      { id: 1, host: "localhost", port: 9191 },
      { id: 2, host: "127.0.0.2", port: 9192 },
    ]);
    expect(() => parseQuorumVoters(["1@localhost"])).toThrow(/not id@host:port/);
    expect(() => parseQuorumVoters(["1@a:1", "1@b:2"])).toThrow(/twice/);
  });
});
