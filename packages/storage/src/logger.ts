// The logging surface the engine needs; a pino logger satisfies it as is. Structured: one event
// per call, with the fields first (log folder, segment, offsets) and a short message.

export interface StorageLogger {
  debug(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

const ignore = (): void => {};

/** The default when no logger is passed: the engine stays silent. */
export const SILENT_LOGGER: StorageLogger = { debug: ignore, info: ignore, warn: ignore, error: ignore };
