#!/usr/bin/env node
// `node packages/broker/dist/main.js --config server.properties [--override key=value ...]`
import "./v8-flags.js";
import { runBroker, parseBrokerArgs } from "./process.js";

try {
  const args = parseBrokerArgs(process.argv.slice(2));
  await runBroker({ ...args, env: process.env });
} catch (error) {
  process.stderr.write(`broker failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
