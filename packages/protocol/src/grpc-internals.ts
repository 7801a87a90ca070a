// Loading a grpc-js internal module for the best-effort patches (the broker's grpc-decoder-release.ts
// and grpc-preframed.ts, session/preframed-client-write.ts here): undefined when this grpc-js has
// no such file, so the caller patches nothing.
import { createRequire } from "node:module";

/** `relativePath` under @grpc/grpc-js/build/src, e.g. "stream-decoder.js". */
export function loadGrpcInternal<T>(relativePath: string): Partial<T> | undefined {
  try {
    return createRequire(import.meta.url)(`@grpc/grpc-js/build/src/${relativePath}`) as Partial<T>;
  } catch {
    return undefined;
  }
}
