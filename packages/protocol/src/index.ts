// @tributary/protocol: the .proto definitions loaded for gRPC, the TypeScript types generated
// from them, the shared error codes, int64 helpers, and the one definition of every config key.
export * from "./loader.js";
export * from "./codec.js";
export * from "./errors.js";
export * from "./int64.js";
export * from "./wire.js";
export * from "./session/index.js";
export { withoutCallerStack } from "./long-lived-call.js";
export { EarliestTimer } from "./earliest-timer.js";
export { loadGrpcInternal } from "./grpc-internals.js";
export { installDecoderRelease } from "./grpc-decoder-release.js";
export * from "./config/index.js";
export * from "./metadata/index.js";
export type * as v1 from "./generated/tributary/v1/index.js";
