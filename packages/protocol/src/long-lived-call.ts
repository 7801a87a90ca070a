// Opening a long-lived gRPC call (a session, a metadata stream) without pinning its caller.
//
// grpc-js keeps a `new Error()` made when a call starts, for the caller's stack in a later error,
// and V8 keeps an unformatted stack's frames alive: their functions, their closures' variables,
// and everything those reach. For a unary call that lasts milliseconds. A session lives as long
// as its connection, and the producer's was opened from inside its first produce: it held that
// request's batches, their senders' promises and, through them, every RecordMetadata of those
// sends. A client after a throughput run kept 60 MB of heap (14 MB without it) that every major
// GC then had to mark, 30+ ms of marking in the middle of a latency measurement.

/** Runs `open` (which starts a call) with stack traces off: the opening stack says nothing useful later. */
export function withoutCallerStack<T>(open: () => T): T {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return open();
  } finally {
    Error.stackTraceLimit = limit;
  }
}
