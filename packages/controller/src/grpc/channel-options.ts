// gRPC channel and server options shared by the controller's servers and clients. Metadata
// snapshots travel as one message, so the message limit is raised well above grpc's 4 MiB.
export const MAX_GRPC_MESSAGE_BYTES = 256 * 1024 * 1024;

export const GRPC_CHANNEL_OPTIONS = {
  "grpc.max_receive_message_length": MAX_GRPC_MESSAGE_BYTES,
  "grpc.max_send_message_length": MAX_GRPC_MESSAGE_BYTES,
  // Fail fast and reconnect quickly after a peer restarts (the default backoff reaches 120 s).
  "grpc.initial_reconnect_backoff_ms": 100,
  "grpc.max_reconnect_backoff_ms": 1_000,
  "grpc.keepalive_time_ms": 10_000,
  "grpc.keepalive_timeout_ms": 5_000,
  // Channelz bookkeeping costs measurable CPU per call (seen in profiles) and nothing reads it.
  "grpc.enable_channelz": 0,
} as const;
