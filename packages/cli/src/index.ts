// @tributary/cli: the `tributary` command. The executable is dist/bin.js; this surface lets tests
// and scripts run commands in-process and reuse the formatters.
export { runCli, type CommandContext, type RunOptions } from "./cli.js";
export { type CliIo, processIo } from "./io.js";
export { CliError, UsageError, describeFailure, EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from "./errors.js";
export { parseBootstrapServers, DEFAULT_BOOTSTRAP_SERVER } from "./bootstrap.js";
export * from "./format/topics.js";
export * from "./format/groups.js";
export * from "./format/cluster.js";
export * from "./format/perf.js";
export { formatLogLine, LineSplitter } from "./format/log-line.js";
export { generateConfigReference, replaceConfigReference, REFERENCE_START_MARKER, REFERENCE_END_MARKER } from "./config/reference-table.js";
