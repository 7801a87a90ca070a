// Starts a controller or a broker inside this process through their packages' public APIs
// (@tributary/controller startController, @tributary/broker startBroker). The CLI validates the
// config first (so a bad file is one line with file:line), then hands over the same sources.
import type { ConfigSources } from "@tributary/protocol";
import { CliError } from "../errors.js";

export interface RunningServer {
  /** The port it listens on, once started. */
  port: number;
  close(): Promise<void>;
}

export type ServerRoleName = "controller" | "broker";

interface StartOptions {
  sources: ConfigSources;
  /** Where pino writes its JSON lines (dev pretty-prints them). */
  logDestination?: NodeJS.WritableStream;
}

type StartFunction = (options: StartOptions) => Promise<RunningServer>;

async function startFunction(role: ServerRoleName): Promise<StartFunction> {
  const module: Record<string, unknown> = role === "controller" ? await import("@tributary/controller") : await import("@tributary/broker");
  const name = role === "controller" ? "startController" : "startBroker";
  const start = module[name];
  if (typeof start !== "function") {
    throw new CliError(`this build of @tributary/${role} has no ${name}()`, `rebuild with \`npx pnpm@10.34.8 build\``);
  }
  return start as StartFunction;
}

export async function startServer(role: ServerRoleName, options: StartOptions): Promise<RunningServer> {
  const start = await startFunction(role);
  return start(options);
}
