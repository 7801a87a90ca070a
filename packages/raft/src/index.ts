// @tributary/raft: a Raft consensus core with no I/O, its driver loop, and its storage adapters.
//
// Layers, from the inside out:
//   RaftNode         the pure state machine: inputs in (tick, step, propose, readIndex, ...),
//                    a Ready batch of effects out (persist, send, apply). No clock, no disk, no net.
//   RaftDriver       runs RaftNode's loop against a RaftStorage, a RaftTransport, a RaftScheduler
//                    (time + timers) and a RaftStateMachine you supply.
//   LevelRaftStorage durable storage on LevelDB (atomic, fsynced batch per Ready; CRC-32C per record).
//   MemoryRaftStorage in memory, able to lose writes not yet durable (tests and the simulator).
//
// Messages are plain objects (see messages.ts); the transport maps them to its wire format and
// must deliver them unchanged (loss, duplication and reordering are fine). Messages are trusted:
// a voter sending nonsense (e.g. entries out of sequence) trips an invariant and stops the node.
//
// Usage (the controller's wiring, in outline):
//
//   const storage = await LevelRaftStorage.open(`${dataDir}/raft`);
//   const driver = await RaftDriver.start({
//     config: { id: 1, voters: [1, 2, 3], electionTimeoutMs: 1000, heartbeatIntervalMs: 100 },
//     storage,
//     transport: { send: (message) => grpcPeers.get(message.to)?.send(toProto(message)) },
//     scheduler: realTimeScheduler,
//     stateMachine: {
//       apply: (entry) => { if (entry.kind === "normal") metadataImage.apply(decode(entry.data)); },
//       restore: (snapshot) => metadataImage.load(snapshot.data),
//       snapshot: () => metadataImage.encode(),
//     },
//     snapshotEveryEntries: 10_000,
//     onSoftState: ({ role, term, leaderId }) => log.info({ role, term, leaderId }, "raft state"),
//     onFatal: (error) => { log.fatal({ err: error }, "raft stopped"); process.exit(1); },
//   });
//   grpcServer.onRaftMessage((proto) => driver.receive(fromProto(proto)));
//   await driver.propose(encode(record));     // resolves once committed and applied here
//   await driver.read();                      // then read metadataImage: linearizable
//   driver.transferLeadership(2);             // before a clean shutdown, then:
//   await driver.stop(); await storage.close();
//
// Errors a caller handles are RaftError with a `code` (NOT_LEADER carries `leaderId`) and a
// `retriable` flag.
export type {
  AppendEntries,
  AppendEntriesResponse,
  Entry,
  EntryKind,
  HardState,
  Heartbeat,
  HeartbeatResponse,
  InstallSnapshot,
  InstallSnapshotResponse,
  NodeId,
  RaftMessage,
  RaftMessageType,
  RequestVote,
  RequestVoteResponse,
  Snapshot,
  TimeoutNow,
} from "./messages.js";
export { entryPayloadBytes } from "./messages.js";
export { RAFT_CONFIG_DEFAULTS, resolveRaftConfig } from "./config.js";
export type { RaftConfig, RaftConfigInput, RaftUnsafeTestingOptions } from "./config.js";
export { RaftError, RaftInvariantError } from "./errors.js";
export type { RaftErrorCode } from "./errors.js";
export { RaftNode } from "./node.js";
export type { FollowerProgress, RaftInitialState, RaftNodeOptions } from "./node.js";
export type { LogPosition } from "./log.js";
export type { RaftRole, Ready, SoftState } from "./ready.js";
export type { ReadState } from "./read-index.js";
export { createSeededRandom } from "./random.js";
export type { RandomSource } from "./random.js";
export type { RaftStorage, StorageWrite } from "./storage.js";
export { MemoryRaftStorage } from "./memory-storage.js";
export type { MemoryRaftStorageOptions } from "./memory-storage.js";
export { LevelRaftStorage } from "./level-storage.js";
export type { LevelRaftStorageOptions } from "./level-storage.js";
export { RaftDriver, realTimeScheduler } from "./driver.js";
export type {
  RaftDriverOptions,
  RaftNodeView,
  RaftScheduler,
  RaftStateMachine,
  RaftStatus,
  RaftTransport,
} from "./driver.js";
