// Every configuration key, defined once: name, type, default, valid range and doc. Parsing,
// validation, `--help` and the README's reference table are all produced from these lists.
// Names are Kafka's wherever Kafka has the same setting, so existing files work as they are.

export type ConfigType = "int" | "long" | "double" | "boolean" | "string" | "list";
export type ConfigValue<T extends ConfigType> = T extends "int" | "long" | "double"
  ? number
  : T extends "boolean"
    ? boolean
    : T extends "list"
      ? string[]
      : string;

export type ServerRole = "broker" | "controller";

export interface ConfigDef<T extends ConfigType = ConfigType> {
  readonly name: string;
  readonly type: T;
  /** null: no default; the key is optional and its absence has a meaning given in `doc`. */
  readonly default: ConfigValue<T> | null;
  readonly doc: string;
  readonly min?: number;
  readonly max?: number;
  /** For strings and lists: each value must be one of these. */
  readonly oneOf?: readonly string[];
  /** Older or alternative names accepted for the same setting (e.g. broker.id for node.id). */
  readonly synonyms?: readonly string[];
  /** Which processes read it; topic configs have no roles. */
  readonly roles?: readonly ServerRole[];
  /** For topic configs: the server key whose value is the default when a topic does not set it. */
  readonly serverDefault?: string;
}

// Keeps each definition's literal name and type, so ServerConfigValues has one typed field per key.
const def = <const D extends ConfigDef>(d: D & { default: ConfigValue<D["type"]> | null }): D => d;

const MS_PER_HOUR = 3_600_000;
const INT_MAX = 2_147_483_647;
const LONG_MAX = Number.MAX_SAFE_INTEGER;
const BOTH: readonly ServerRole[] = ["broker", "controller"];
const BROKER: readonly ServerRole[] = ["broker"];
const CONTROLLER: readonly ServerRole[] = ["controller"];

/** Keys read by broker and controller processes (a combined dev process reads both). */
export const SERVER_CONFIGS = [
  def({ name: "node.id", type: "int", default: null, min: 0, synonyms: ["broker.id"], roles: BOTH,
    doc: "This node's id in the cluster (Kafka's broker.id is accepted too). Required." }),
  def({ name: "listeners", type: "list", default: null, roles: BOTH,
    doc: "Where to listen, e.g. PLAINTEXT://0.0.0.0:9092. Default: PLAINTEXT://:<port> for a broker (port 9092), CONTROLLER://:9191 for a controller." }),
  def({ name: "port", type: "int", default: null, min: 0, max: 65535, roles: BOTH,
    doc: "Legacy Kafka setting: the port to listen on when listeners is not set." }),
  def({ name: "host.name", type: "string", default: null, roles: BOTH,
    doc: "Legacy Kafka setting: the host to bind when listeners is not set." }),
  def({ name: "advertised.listeners", type: "list", default: null, roles: BOTH,
    doc: "Addresses to give clients and peers, if different from listeners (e.g. in containers)." }),
  def({ name: "controller.quorum.voters", type: "list", default: ["1@localhost:9191"], roles: BOTH,
    doc: "The controller quorum as id@host:port, comma separated, e.g. 1@c1:9191,2@c2:9191,3@c3:9191." }),
  def({ name: "log.dirs", type: "list", default: ["/tmp/tributary-logs"], synonyms: ["log.dir"], roles: BROKER,
    doc: "Folders holding partition logs (one partition folder per topic-partition)." }),
  def({ name: "metadata.log.dir", type: "string", default: null, roles: CONTROLLER,
    doc: "Folder for the controller's Raft log and snapshots (LevelDB). Default: the first of log.dirs, under a __cluster_metadata folder." }),
  def({ name: "cluster.id", type: "string", default: null, roles: CONTROLLER,
    doc: "The cluster's id; chosen at the first start when not set. A data dir of another cluster is refused." }),
  def({ name: "broker.rack", type: "string", default: null, roles: BROKER,
    doc: "The broker's rack; replicas of a partition are spread across racks." }),
  def({ name: "num.partitions", type: "int", default: 1, min: 1, roles: BOTH,
    doc: "Partitions of a topic created without a count (including auto-created topics)." }),
  def({ name: "default.replication.factor", type: "int", default: 1, min: 1, max: 32767, roles: BOTH,
    doc: "Replication factor of a topic created without one." }),
  def({ name: "min.insync.replicas", type: "int", default: 1, min: 1, roles: BOTH,
    doc: "Least ISR size for an acks=all write to succeed; otherwise NOT_ENOUGH_REPLICAS." }),
  def({ name: "auto.create.topics.enable", type: "boolean", default: true, roles: BOTH,
    doc: "Create a topic when a client produces to or asks metadata for one that does not exist." }),
  def({ name: "unclean.leader.election.enable", type: "boolean", default: false, roles: BOTH,
    doc: "Allow a replica outside the ISR to become leader when no ISR member is left (may lose data)." }),
  def({ name: "log.retention.ms", type: "long", default: null, min: -1, roles: BOTH,
    doc: "How long to keep a log segment; -1: forever. Overrides log.retention.minutes and log.retention.hours." }),
  def({ name: "log.retention.minutes", type: "int", default: null, min: -1, roles: BOTH,
    doc: "log.retention.ms in minutes, when that is not set." }),
  def({ name: "log.retention.hours", type: "int", default: 168, min: -1, roles: BOTH,
    doc: "log.retention.ms in hours, when neither it nor log.retention.minutes is set." }),
  def({ name: "log.retention.bytes", type: "long", default: -1, min: -1, roles: BOTH,
    doc: "Largest size of a partition's log before old segments are deleted; -1: no limit." }),
  def({ name: "log.retention.check.interval.ms", type: "long", default: 300_000, min: 1, roles: BROKER,
    doc: "How often the broker checks logs for segments to delete or compact." }),
  def({ name: "log.segment.bytes", type: "int", default: 1_073_741_824, min: 14, max: INT_MAX, roles: BOTH,
    doc: "Size at which a log segment is rolled." }),
  def({ name: "log.roll.ms", type: "long", default: null, min: 1, roles: BOTH,
    doc: "Age at which a log segment is rolled even if not full. Default: log.roll.hours." }),
  def({ name: "log.roll.hours", type: "int", default: 168, min: 1, roles: BOTH,
    doc: "log.roll.ms in hours, when that is not set." }),
  def({ name: "log.index.interval.bytes", type: "int", default: 4096, min: 0, roles: BOTH,
    doc: "Bytes of log between two entries of the sparse offset index." }),
  def({ name: "log.cleanup.policy", type: "list", default: ["delete"], oneOf: ["delete", "compact"], roles: BOTH,
    doc: "delete (retention by time and size), compact (keep the newest record per key), or both." }),
  def({ name: "log.cleaner.delete.retention.ms", type: "long", default: 86_400_000, min: 0, roles: BOTH,
    doc: "How long tombstones stay in a compacted log before they are removed." }),
  def({ name: "log.cleaner.min.compaction.lag.ms", type: "long", default: 0, min: 0, roles: BOTH,
    doc: "Least age of a record before compaction may remove it." }),
  def({ name: "log.flush.interval.messages", type: "long", default: LONG_MAX, min: 1, roles: BOTH,
    doc: "fsync a log after this many messages. Default: never (durability comes from replication)." }),
  def({ name: "log.flush.interval.ms", type: "long", default: null, min: 0, roles: BOTH,
    doc: "fsync a log at least this often. Default: never." }),
  def({ name: "log.writeback.bytes", type: "int", default: 8_388_608, min: 0, roles: BROKER,
    doc: "Start writing a log's appended bytes to disk in the background (fdatasync on a worker thread, not waited for) every this many bytes, so the OS never builds a backlog of dirty pages whose writeback stalls appends. 0 leaves writeback to the OS. Not a durability setting: see log.flush.interval.*." }),
  def({ name: "log.follower.page.cache.drop", type: "boolean", default: true, roles: BROKER,
    doc: "On a follower replica, drop the bytes each background writeback (log.writeback.bytes) wrote from the OS page cache. A follower's log is read only if it becomes the leader; kept, its pages crowd out the ones consumers read, and new pages cost more than reused ones. Needs log.writeback.bytes > 0 and Linux with glibc (posix_fadvise); elsewhere pages are kept." }),
  def({ name: "log.message.timestamp.type", type: "string", default: "CreateTime", oneOf: ["CreateTime", "LogAppendTime"], roles: BOTH,
    doc: "Whether a record's timestamp is the producer's (CreateTime) or the broker's on append." }),
  def({ name: "message.max.bytes", type: "int", default: 1_048_588, min: 0, roles: BOTH,
    doc: "Largest record batch the broker accepts (after compression)." }),
  def({ name: "compression.type", type: "string", default: "producer", oneOf: ["producer", "none", "gzip", "snappy", "lz4", "zstd"], roles: BOTH,
    doc: "Compression of stored batches; producer keeps what the producer sent." }),
  def({ name: "replica.lag.time.max.ms", type: "long", default: 30_000, min: 1, roles: BROKER,
    doc: "A follower not caught up for this long is removed from the ISR." }),
  def({ name: "replica.fetch.max.bytes", type: "int", default: 1_048_576, min: 0, roles: BROKER,
    doc: "Bytes a follower asks for per partition in one fetch." }),
  def({ name: "replica.fetch.response.max.bytes", type: "int", default: 10_485_760, min: 0, roles: BROKER,
    doc: "Bytes a follower asks for in one fetch across partitions." }),
  def({ name: "replica.fetch.wait.max.ms", type: "int", default: 500, min: 0, roles: BROKER,
    doc: "How long a follower's fetch may wait at the leader for new data. The leader answers it at once when a partition the follower has not fetched yet gets data (a new topic, a new leader)." }),
  def({ name: "replica.high.watermark.checkpoint.interval.ms", type: "long", default: 5_000, min: 1, roles: BROKER,
    doc: "How often replicas write their high watermark to disk." }),
  def({ name: "broker.session.timeout.ms", type: "int", default: 9_000, min: 1, roles: BOTH,
    doc: "A broker whose heartbeats stop for this long is fenced and loses its leaderships. One whose connection to the active controller drops is fenced sooner: after two heartbeat intervals (at least 500 ms) of silence." }),
  def({ name: "broker.heartbeat.interval.ms", type: "int", default: 500, min: 1, roles: BOTH,
    doc: "How often a broker heartbeats to the active controller. Two intervals of silence after its connection drops fence it, so this bounds how long writes to a dead leader stall (Kafka's default is 2000)." }),
  def({ name: "controller.quorum.election.timeout.ms", type: "int", default: 1_000, min: 10, roles: CONTROLLER,
    doc: "Least time without a leader before a controller starts an election (randomized up to 1.5 times this)." }),
  def({ name: "controller.quorum.heartbeat.interval.ms", type: "int", default: 100, min: 1, roles: CONTROLLER,
    doc: "How often the Raft leader sends heartbeats to the other controllers." }),
  def({ name: "controller.quorum.request.timeout.ms", type: "int", default: 2_000, min: 1, roles: BOTH,
    doc: "Timeout of a call to a controller." }),
  def({ name: "metadata.log.max.snapshot.interval.records", type: "long", default: 20_000, min: 1, roles: CONTROLLER,
    doc: "Metadata records applied between two snapshots of the metadata image." }),
  def({ name: "offsets.topic.num.partitions", type: "int", default: 50, min: 1, roles: BOTH,
    doc: "Partitions of the internal __consumer_offsets topic." }),
  def({ name: "offsets.topic.replication.factor", type: "int", default: 3, min: 1, roles: BOTH,
    doc: "Replication factor of __consumer_offsets (capped at the number of live brokers when it is created)." }),
  def({ name: "offsets.retention.minutes", type: "int", default: 10_080, min: 1, roles: BROKER,
    doc: "How long committed offsets of an empty group are kept." }),
  def({ name: "group.consumer.session.timeout.ms", type: "int", default: 45_000, min: 1, roles: BROKER,
    doc: "Default session timeout of a consumer group member." }),
  def({ name: "group.consumer.min.session.timeout.ms", type: "int", default: 1_000, min: 1, roles: BROKER,
    doc: "Least session timeout a member may ask for." }),
  def({ name: "group.consumer.max.session.timeout.ms", type: "int", default: 1_800_000, min: 1, roles: BROKER,
    doc: "Largest session timeout a member may ask for." }),
  def({ name: "group.consumer.heartbeat.interval.ms", type: "int", default: 3_000, min: 1, roles: BROKER,
    doc: "How often group members are told to heartbeat." }),
  def({ name: "group.consumer.assignors", type: "list", default: ["uniform", "range"], oneOf: ["uniform", "range"], roles: BROKER,
    doc: "Server-side assignors; the first is the default." }),
  def({ name: "group.consumer.max.size", type: "int", default: 1_000, min: 1, roles: BROKER,
    doc: "Most members one consumer group may have; a join beyond it gets RESOURCE_EXHAUSTED." }),
  def({ name: "offset.metadata.max.bytes", type: "int", default: 4_096, min: 0, roles: BROKER,
    doc: "Longest metadata string a committed offset may carry; longer gets OFFSET_METADATA_TOO_LARGE." }),
  def({ name: "max.connections", type: "int", default: 10_000, min: 1, roles: BOTH,
    doc: "Most client connections a server accepts at once." }),
  def({ name: "socket.request.max.bytes", type: "int", default: 104_857_600, min: 1, roles: BOTH,
    doc: "Largest request a server accepts." }),
  def({ name: "queued.max.request.bytes", type: "long", default: 536_870_912, min: 1, roles: BROKER,
    doc: "Most bytes of produce requests a broker holds in memory at once before refusing new ones." }),
] as const;

/** Per-topic overrides (topics create --config k=v); a missing one takes its server default. */
export const TOPIC_CONFIGS = [
  def({ name: "retention.ms", type: "long", default: 7 * 24 * MS_PER_HOUR, min: -1, serverDefault: "log.retention.ms",
    doc: "How long to keep a segment; -1: forever." }),
  def({ name: "retention.bytes", type: "long", default: -1, min: -1, serverDefault: "log.retention.bytes",
    doc: "Largest size of a partition's log; -1: no limit." }),
  def({ name: "segment.bytes", type: "int", default: 1_073_741_824, min: 14, serverDefault: "log.segment.bytes",
    doc: "Size at which a segment is rolled." }),
  def({ name: "segment.ms", type: "long", default: 7 * 24 * MS_PER_HOUR, min: 1, serverDefault: "log.roll.ms",
    doc: "Age at which a segment is rolled." }),
  def({ name: "segment.index.bytes", type: "int", default: 10_485_760, min: 4, doc: "Largest size of a segment's offset index." }),
  def({ name: "index.interval.bytes", type: "int", default: 4096, min: 0, serverDefault: "log.index.interval.bytes",
    doc: "Bytes of log between two offset index entries." }),
  def({ name: "cleanup.policy", type: "list", default: ["delete"], oneOf: ["delete", "compact"], serverDefault: "log.cleanup.policy",
    doc: "delete, compact, or both (comma separated)." }),
  def({ name: "delete.retention.ms", type: "long", default: 86_400_000, min: 0, serverDefault: "log.cleaner.delete.retention.ms",
    doc: "How long tombstones stay in a compacted log." }),
  def({ name: "min.compaction.lag.ms", type: "long", default: 0, min: 0, serverDefault: "log.cleaner.min.compaction.lag.ms",
    doc: "Least age of a record before compaction may remove it." }),
  def({ name: "min.insync.replicas", type: "int", default: 1, min: 1, serverDefault: "min.insync.replicas",
    doc: "Least ISR size for an acks=all write." }),
  def({ name: "max.message.bytes", type: "int", default: 1_048_588, min: 0, serverDefault: "message.max.bytes",
    doc: "Largest record batch accepted for this topic." }),
  def({ name: "message.timestamp.type", type: "string", default: "CreateTime", oneOf: ["CreateTime", "LogAppendTime"],
    serverDefault: "log.message.timestamp.type", doc: "CreateTime or LogAppendTime." }),
  def({ name: "unclean.leader.election.enable", type: "boolean", default: false, serverDefault: "unclean.leader.election.enable",
    doc: "Allow a leader from outside the ISR when no ISR member is left (may lose data)." }),
  def({ name: "flush.messages", type: "long", default: LONG_MAX, min: 1, serverDefault: "log.flush.interval.messages",
    doc: "fsync after this many messages." }),
  def({ name: "flush.ms", type: "long", default: LONG_MAX, min: 0, serverDefault: "log.flush.interval.ms",
    doc: "fsync at least this often." }),
  def({ name: "compression.type", type: "string", default: "producer", oneOf: ["producer", "none", "gzip", "snappy", "lz4", "zstd"],
    serverDefault: "compression.type", doc: "Compression of stored batches." }),
] as const;

export type ServerConfigName = (typeof SERVER_CONFIGS)[number]["name"];
export type TopicConfigName = (typeof TOPIC_CONFIGS)[number]["name"];

type ValuesOf<D extends readonly ConfigDef[]> = {
  [K in D[number] as K["name"]]: K["default"] extends null ? ConfigValue<K["type"]> | null : ConfigValue<K["type"]>;
};

export type ServerConfigValues = ValuesOf<typeof SERVER_CONFIGS>;
export type TopicConfigValues = ValuesOf<typeof TOPIC_CONFIGS>;
