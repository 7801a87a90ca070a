// @tributary/controller: The metadata state machine on Raft and the controller process.
export {};
