// The SDK logs through whatever the application gives it: any object with pino's
// (fields, message) methods, e.g. a pino logger or a child of one. Nothing is logged by default.
// One event per line, with the ids that let a reader follow it (topic, partition, group, member).
export interface ClientLogger {
  debug(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

const ignore = (): void => {};

export const SILENT_LOGGER: ClientLogger = { debug: ignore, info: ignore, warn: ignore, error: ignore };
