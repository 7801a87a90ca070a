// The streams and environment a command uses, passed in so commands can be run in-process by
// tests and so nothing below this file reaches for `process` directly.
import type { Readable, Writable } from "node:stream";

export interface CliIo {
  stdout: Writable;
  stderr: Writable;
  stdin: Readable;
  env: NodeJS.ProcessEnv;
  /** Whether stderr is a terminal (progress bars only then). */
  stderrIsTTY: boolean;
}

export function processIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    stderrIsTTY: process.stderr.isTTY === true,
  };
}

/** Writes lines and waits for the stream to accept them (stdout may be a slow pipe). */
export async function writeLines(stream: Writable, lines: readonly string[]): Promise<void> {
  if (lines.length === 0) return;
  const text = lines.join("\n") + "\n";
  if (!stream.write(text)) await new Promise<void>((resolve) => stream.once("drain", resolve));
}

export async function writeJson(stream: Writable, value: unknown): Promise<void> {
  const text = JSON.stringify(value, (_key, v: unknown) => (typeof v === "bigint" ? v.toString() : v), 2);
  await writeLines(stream, [text]);
}
