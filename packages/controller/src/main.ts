#!/usr/bin/env node
// `node packages/controller/dist/main.js --config F [--override key=value]...`: runs one controller
// until SIGTERM. A bad configuration exits with status 2 and one line naming the file, line and reason.
import { ConfigError } from "@tributary/protocol";
import { runController } from "./process.js";

interface Arguments {
  configFile?: string;
  overrides: Record<string, string>;
}

function usage(message: string): never {
  process.stderr.write(`${message}\nusage: main.js --config <file> [--override key=value]...\n`);
  process.exit(2);
}

function parseArguments(argv: readonly string[]): Arguments {
  const args: Arguments = { overrides: {} };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = (): string => argv[++i] ?? usage(`${arg} needs a value`);
    if (arg === "--config") args.configFile = value();
    else if (arg.startsWith("--config=")) args.configFile = arg.slice("--config=".length);
    else if (arg === "--override" || arg.startsWith("--override=")) {
      const pair = arg === "--override" ? value() : arg.slice("--override=".length);
      const eq = pair.indexOf("=");
      if (eq <= 0) usage(`--override ${pair} is not key=value`);
      args.overrides[pair.slice(0, eq)] = pair.slice(eq + 1);
    } else usage(`unknown argument ${arg}`);
  }
  return args;
}

const args = parseArguments(process.argv.slice(2));
runController({ configFile: args.configFile, overrides: args.overrides, env: process.env }).catch((error: unknown) => {
  if (error instanceof ConfigError) {
    process.stderr.write(`configuration error: ${error.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`controller failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
