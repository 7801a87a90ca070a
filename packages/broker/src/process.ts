// The broker as an OS process: reads a Kafka-style properties file, applies --override flags
// and TRIBUTARY_* environment variables, starts the broker, and stops it cleanly on SIGTERM or
// SIGINT (a controlled shutdown: leadership moves first, then logs are flushed and closed with
// clean-shutdown markers). kill -9 needs nothing from here: the logs recover on the next start.
import { readPropertiesFile, resolveServerConfig, type ServerConfigValues } from "@tributary/protocol";
import { pino, type Logger } from "pino";
import { startBroker, type BrokerHandle } from "./broker.js";

export interface RunBrokerOptions {
  configFile?: string;
  /** Config overrides by key, e.g. { "log.dirs": "/data" } (the CLI's --override key=value). */
  overrides?: Record<string, string>;
  env?: Record<string, string | undefined>;
  logger?: Logger;
  /** Install SIGTERM/SIGINT handlers that stop the broker and exit (default true). */
  handleSignals?: boolean;
}

export function loadBrokerConfig(options: RunBrokerOptions): { config: ServerConfigValues; unknownKeys: string[] } {
  const file = options.configFile ? readPropertiesFile(options.configFile) : undefined;
  const resolved = resolveServerConfig({ ...(file ? { file } : {}), flags: options.overrides ?? {}, env: options.env ?? {} });
  return { config: resolved.values, unknownKeys: resolved.unknownKeys };
}

export async function runBroker(options: RunBrokerOptions = {}): Promise<BrokerHandle> {
  const logger = options.logger ?? pino({ name: "broker" });
  const { config, unknownKeys } = loadBrokerConfig(options);
  if (unknownKeys.length > 0) logger.warn({ unknownKeys }, "ignoring unknown config keys");
  const broker = await startBroker({ config, logger });
  if (options.handleSignals ?? true) {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, "stopping");
      broker.stop({ controlled: true }).then(
        () => process.exit(0),
        (error: unknown) => {
          logger.error({ err: error }, "unclean stop");
          process.exit(1);
        },
      );
    };
    process.on("SIGTERM", () => stop("SIGTERM"));
    process.on("SIGINT", () => stop("SIGINT"));
  }
  return broker;
}

/** Parses `--config F` and `--override key=value` (repeatable) from argv. */
export function parseBrokerArgs(argv: readonly string[]): { configFile?: string; overrides: Record<string, string> } {
  const overrides: Record<string, string> = {};
  let configFile: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--config") configFile = argv[++i];
    else if (arg.startsWith("--config=")) configFile = arg.slice("--config=".length);
    else if (arg === "--override") {
      const pair = argv[++i] ?? "";
      const eq = pair.indexOf("=");
      if (eq <= 0) throw new Error(`--override expects key=value, got "${pair}"`);
      overrides[pair.slice(0, eq)] = pair.slice(eq + 1);
    } else throw new Error(`unknown argument "${arg}"; usage: main.js --config <file> [--override key=value ...]`);
  }
  return configFile === undefined ? { overrides } : { configFile, overrides };
}
