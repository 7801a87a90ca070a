// gRPC channel and server settings shared by the broker's servers and clients.

/**
 * HTTP/2 flow-control window for data the broker receives (per stream and per connection).
 * Node's default of 64 KiB makes a 1 MB produce request or fetch response wait for ~16
 * WINDOW_UPDATE round trips through a busy event loop; batches are the design, so the window
 * must hold a few of them.
 */
export const FLOW_CONTROL_WINDOW_BYTES = 16 * 1024 * 1024;

/**
 * Options every broker channel and server takes. Channelz bookkeeping (per-call counters,
 * timestamps and trace objects) showed as ~5% of a broker's CPU in profiles of replication
 * under load, and nothing here serves or reads channelz.
 */
export const COMMON_GRPC_OPTIONS = {
  "grpc.enable_channelz": 0,
} as const;
