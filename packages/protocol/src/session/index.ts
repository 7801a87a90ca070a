export { BrokerSession, BROKER_SESSION_PATH } from "./broker-session.js";
export { SESSION_BODY, type SessionBodyField, type SessionFrame, decodeSessionFrame, encodeSessionFrame, peekCorrelationId } from "./session-frame.js";
