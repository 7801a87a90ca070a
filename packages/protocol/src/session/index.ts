export { BrokerSession, BROKER_SESSION_PATH } from "./broker-session.js";
export { SESSION_BODY, type SessionBodyField, type SessionFrame, decodeSessionFrame, encodeSessionFrame, peekCorrelationId, allocateSessionFrame, sessionFrameHeaderLength, writeSessionFrameHeader, type SessionFrameSpec } from "./session-frame.js";
export { GRPC_PREFIX_BYTES, allocatePrefixedMessage, installPreframedClientWrite, prefixedBytesOf } from "./preframed-client-write.js";
