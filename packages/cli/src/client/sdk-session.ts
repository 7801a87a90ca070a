// The ClusterSession implemented with @tributary/client.
import type { ClusterSession } from "./session.js";
import { CliError } from "../errors.js";

export async function openSdkSession(_bootstrapServers: string[], _options: { verbose: boolean }): Promise<ClusterSession> {
  throw new CliError("this build has no client SDK yet", "rebuild once @tributary/client exports Tributary");
}
