#!/usr/bin/env node
// The `tributary` executable: runs the command, turns Ctrl-C / SIGTERM into a clean stop, and
// exits with the command's code (0 ok, 1 failure, 2 usage).
import * as grpc from "@grpc/grpc-js";
import { runCli } from "./cli.js";

// grpc-js writes its own diagnostics to stderr ("E No address added ..."); the CLI reports
// failures itself in one line, so they are shown only with --verbose.
if (!process.argv.includes("--verbose")) grpc.setLogVerbosity(grpc.logVerbosity.NONE);

const stop = new AbortController();
let signals = 0;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    signals++;
    // A second Ctrl-C means "now": do not wait for a clean shutdown.
    if (signals > 1) process.exit(130);
    stop.abort();
  });
}

const exitCode = await runCli(process.argv.slice(2), { stopSignal: stop.signal });
process.exitCode = exitCode;
// Open handles (a gRPC channel being torn down) must not keep a finished command alive.
setTimeout(() => process.exit(exitCode), 2_000).unref();
