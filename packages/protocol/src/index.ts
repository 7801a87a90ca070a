// @tributary/protocol: gRPC service definitions loaded from proto/, generated TypeScript types, and the shared error codes.
export {};
