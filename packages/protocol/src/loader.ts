// Loads proto/tributary/v1/*.proto once, with the same options the TypeScript types were
// generated with (package.json "gen"), and hands out the typed service constructors.
//
// int64 fields arrive as decimal strings (longs: String) so offsets stay exact; enums arrive as
// their names (enums: String); absent fields get their defaults (defaults: true).
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import type { ProtoGrpcType as AdminProto } from "./generated/admin.js";
import type { ProtoGrpcType as BrokerProto } from "./generated/broker.js";
import type { ProtoGrpcType as ControllerProto } from "./generated/controller.js";
import type { ProtoGrpcType as GroupsProto } from "./generated/groups.js";
import type { ProtoGrpcType as MetadataProto } from "./generated/metadata.js";
import type { ProtoGrpcType as RaftProto } from "./generated/raft.js";

export const PROTO_FILES = [
  "tributary/v1/common.proto",
  "tributary/v1/metadata.proto",
  "tributary/v1/broker.proto",
  "tributary/v1/admin.proto",
  "tributary/v1/groups.proto",
  "tributary/v1/controller.proto",
  "tributary/v1/raft.proto",
] as const;

export const PROTO_LOADER_OPTIONS: protoLoader.Options = {
  keepCase: false,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
};

/** The folder holding `tributary/v1/*.proto`: the repository's proto/, or a copy beside dist/. */
export function protoRoot(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, "..", "proto"), join(here, "..", "..", "..", "proto")];
  for (const candidate of candidates) {
    if (existsSync(join(candidate, PROTO_FILES[0]))) return candidate;
  }
  throw new Error(`cannot find the Tributary .proto files; looked in ${candidates.join(", ")}`);
}

export type TributaryProto = AdminProto & BrokerProto & ControllerProto & GroupsProto & MetadataProto & RaftProto;

let cachedDefinition: protoLoader.PackageDefinition | undefined;
let cachedProto: TributaryProto | undefined;

export function packageDefinition(): protoLoader.PackageDefinition {
  cachedDefinition ??= protoLoader.loadSync([...PROTO_FILES], {
    ...PROTO_LOADER_OPTIONS,
    includeDirs: [protoRoot()],
  });
  return cachedDefinition;
}

/** The loaded package: `loadTributaryProto().tributary.v1.Broker` is the service constructor. */
export function loadTributaryProto(): TributaryProto {
  cachedProto ??= grpc.loadPackageDefinition(packageDefinition()) as unknown as TributaryProto;
  return cachedProto;
}

/** The `tributary.v1` namespace: services (`v1.Broker.service`) and message types. */
export function tributaryV1(): TributaryProto["tributary"]["v1"] {
  return loadTributaryProto().tributary.v1;
}
