// tributary controller start / tributary broker start: one server process in the foreground,
// configured by a properties file, --override key=value flags and TRIBUTARY_* variables.
import type { Argv } from "yargs";
import type { CommandContext, CommandModule, Handler } from "../cli.js";
import { parseKeyValuePairs, tributaryEnvironment } from "../config/overrides.js";
import { type ServerRoleName, startServer } from "../dev/servers.js";
import { stringArg, stringList } from "./args.js";

function startOptions(y: Argv): Argv {
  return y
    .option("config", { type: "string", describe: "Properties file (Kafka's format)" })
    .option("override", { type: "string", array: true, describe: "Set a config key=value over the file (repeatable)" });
}

/** Waits for Ctrl-C / SIGTERM. */
function untilStopped(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
}

function startHandler(role: ServerRoleName): Handler {
  return async (argv, context: CommandContext) => {
    const overrides = parseKeyValuePairs(stringList(argv, "override"), "--override");
    const configFile = stringArg(argv, "config");
    const server = await startServer(role, {
      ...(configFile ? { configFile } : {}), overrides, env: tributaryEnvironment(context.io.env),
      ...(context.verbose ? { logLevel: "debug" } : {}),
    });
    try {
      await untilStopped(context.stopSignal);
    } finally {
      await server.close();
    }
  };
}

export const serverCommands: CommandModule = (parser, run) =>
  parser
    .command("controller", "Run a controller (the metadata quorum)", (y) => y
      .command("start", "Start a controller in the foreground", startOptions, run(startHandler("controller")))
      .example("$0 controller start --config deploy/config/controller-1.properties", "")
      .demandCommand(1, "name a controller command: start"))
    .command("broker", "Run a broker", (y) => y
      .command("start", "Start a broker in the foreground", startOptions, run(startHandler("broker")))
      .example("$0 broker start --config server-1.properties", "the seed's Lab 2 file works as it is")
      .demandCommand(1, "name a broker command: start"));
