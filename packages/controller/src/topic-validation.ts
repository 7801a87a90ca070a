// Kafka's rules for what a topic may be called and how it may be shaped, checked before any
// record is written so a bad request never reaches the metadata log.
import { ConfigError, type ServerConfigValues, resolveTopicConfig } from "@tributary/protocol";
import { fail } from "./errors.js";

export const MAX_TOPIC_NAME_LENGTH = 249;
const LEGAL_TOPIC_NAME = /^[a-zA-Z0-9._-]+$/;

export function validateTopicName(name: string): void {
  if (name.length === 0) fail("INVALID_TOPIC", "a topic name must not be empty");
  if (name === "." || name === "..") fail("INVALID_TOPIC", `a topic may not be called "${name}"`);
  if (name.length > MAX_TOPIC_NAME_LENGTH) {
    fail("INVALID_TOPIC", `topic name is ${name.length} characters long; the limit is ${MAX_TOPIC_NAME_LENGTH}`);
  }
  if (!LEGAL_TOPIC_NAME.test(name)) {
    fail("INVALID_TOPIC", `topic name "${name}" may contain only ASCII letters, digits, '.', '_' and '-'`);
  }
}

export function validatePartitionCount(count: number): void {
  if (!Number.isSafeInteger(count) || count < 1) fail("INVALID_PARTITIONS", `a topic needs at least 1 partition, not ${count}`);
}

export function validateReplicationFactor(replicationFactor: number, liveBrokerCount: number): void {
  if (!Number.isSafeInteger(replicationFactor) || replicationFactor < 1) {
    fail("INVALID_REPLICATION_FACTOR", `replication factor must be at least 1, not ${replicationFactor}`);
  }
  if (replicationFactor > liveBrokerCount) {
    fail(
      "INVALID_REPLICATION_FACTOR",
      `replication factor ${replicationFactor} is larger than the ${liveBrokerCount} live (unfenced) broker${liveBrokerCount === 1 ? "" : "s"}`,
    );
  }
}

/** Checks a topic's config overrides as a whole (keys and values); INVALID_CONFIG otherwise. */
export function validateTopicConfigs(overrides: Record<string, string>, server: ServerConfigValues): void {
  if (Object.keys(overrides).length === 0) return; // nothing to check: defaults are valid by definition
  try {
    resolveTopicConfig(overrides, server);
  } catch (error) {
    if (error instanceof ConfigError) fail("INVALID_CONFIG", error.message);
    throw error;
  }
}
