// Starts a controller or a broker inside this process through their packages' public APIs
// (@tributary/controller startController, @tributary/broker startBroker), with the same config
// sources the standalone processes take: a properties file, overrides, TRIBUTARY_* variables.
import { loadBrokerConfig, startBroker } from "@tributary/broker";
import { resolveControllerConfig, startController } from "@tributary/controller";
import { pino } from "pino";
import { ActionError } from "../errors.js";

export interface RunningServer {
  /** The port it listens on. */
  port: number;
  close(): Promise<void>;
}

export type ServerRoleName = "controller" | "broker";

export interface StartServerOptions {
  configFile?: string;
  overrides: Record<string, string>;
  env: Record<string, string | undefined>;
  /** Where pino's JSON lines go (default stdout; dev passes a pretty-printing stream). */
  logDestination?: NodeJS.WritableStream;
  logLevel?: string;
}

function logger(base: Record<string, unknown>, options: StartServerOptions) {
  const settings = { base, level: options.logLevel ?? "info" };
  return options.logDestination ? pino(settings, options.logDestination) : pino(settings);
}

/** Starts it; a failure is reported as "cannot start the <role>: why; what to do". */
export async function startServer(role: ServerRoleName, options: StartServerOptions): Promise<RunningServer> {
  try {
    return await startServerUnwrapped(role, options);
  } catch (error) {
    throw new ActionError(`start the ${role}`, error, "");
  }
}

async function startServerUnwrapped(role: ServerRoleName, options: StartServerOptions): Promise<RunningServer> {
  const sources = { ...(options.configFile ? { configFile: options.configFile } : {}), overrides: options.overrides, env: options.env };
  if (role === "controller") {
    const config = resolveControllerConfig(sources);
    const controller = await startController(config, { log: logger({ role: "controller", nodeId: config.nodeId }, options) });
    return { port: controller.port, close: () => controller.stop() };
  }
  const { config, unknownKeys } = loadBrokerConfig(sources);
  const log = logger({ role: "broker", nodeId: config["node.id"] }, options);
  if (unknownKeys.length > 0) log.warn({ unknownKeys }, "ignoring unknown config keys");
  const broker = await startBroker({ config, logger: log });
  return { port: broker.port, close: () => broker.stop({ controlled: true }) };
}
