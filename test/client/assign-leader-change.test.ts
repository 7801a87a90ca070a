// A consumer must follow its partition's leader when that leader dies, stalls or hands
// leadership over, and go on reading every record exactly once, in order, from the new leader.
// The fault suite's final read-back (an assign() consumer, no group) once timed out after a
// leader change with nothing else wrong. Each case below writes through acks=all while an
// assign() consumer and a group member read one RF 3 partition; the victim is its leader:
//   - kill -9 (the new leader is elected after broker.session.timeout.ms);
//   - SIGSTOP for longer than the consumer's fetch deadline (its TCP connection stays open and
//     silent), then SIGCONT (the old leader comes back believing it still leads, until its
//     metadata catches up);
//   - a controlled shutdown (SIGTERM) and, after its restart, a preferred-leader election that
//     moves leadership back to it while the other leader stays up and answers NOT_LEADER.
// Producer, admin and each consumer have their own client, so no other component's metadata
// refresh can rescue a consumer that does not refresh by itself.
import { createRequire } from "node:module";
import type * as grpcTypes from "@grpc/grpc-js";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type Consumer, serializers, type Tributary } from "../../packages/client/dist/index.js";
import type { v1 } from "../../packages/protocol/dist/index.js";
import { protocol } from "../support/raw-client.js";
import { startClientCluster, waitFor, type ClientCluster } from "./support.js";
import { startWriter } from "./writer.js";

const grpc = createRequire(new URL("../../packages/client/package.json", import.meta.url))("@grpc/grpc-js") as typeof grpcTypes;
const grpcCredentials = () => grpc.credentials.createInsecure();

const BROKERS = 3;
/**
 * The consumers' deadline for one call. The SIGSTOP case needs them to read from the new leader
 * well before a fetch sent to the stopped one could time out, and holds the stop past that.
 */
const CONSUMER_REQUEST_TIMEOUT_MS = 15_000;
/** From the SIGSTOP, how long the consumers may take to read from the new leader (< the request timeout). */
const READ_WHILE_STOPPED_DEADLINE_MS = 12_000;
const CONSUMER_FETCH_MAX_WAIT_MS = 200;

let env: ClientCluster;
let admin: ReturnType<Tributary["admin"]>;

beforeAll(async () => {
  env = await startClientCluster({ controllers: 1, brokers: BROKERS });
  admin = env.client({ clientId: "leader-change-admin", requestTimeoutMs: 3_000 }).admin();
});

afterAll(async () => {
  await env?.stop();
});

type StringConsumer = Consumer<string | null, string | null>;

/** One consumer's reading of one partition, checked record by record as it arrives. */
interface Reader {
  readonly name: string;
  /** Offset → value, as read. */
  readonly values: Map<number, string>;
  /** The offset after the last record read. */
  nextOffset(): number;
  /** Offsets read twice or out of order (must stay empty without a rebalance). */
  readonly disorder: string[];
  /** Rebalance events seen (a group member may legitimately re-read after losing its partition). */
  rebalances(): number;
  stop(): Promise<void>;
}

function startReader(name: string, consumer: StringConsumer): Reader {
  const values = new Map<number, string>();
  const disorder: string[] = [];
  let next = 0;
  let rebalances = 0;
  consumer.on("partitionsLost", () => rebalances++);
  consumer.on("partitionsRevoked", () => rebalances++);
  let reading = true;
  let loopError: unknown;
  const loop = (async () => {
    while (reading) {
      try {
        for (const record of await consumer.poll(200)) {
          const offset = Number(record.offset);
          if (offset !== next) disorder.push(`${name}: read offset ${offset} when ${next} was next`);
          if (values.has(offset)) disorder.push(`${name}: read offset ${offset} twice`);
          values.set(offset, record.value ?? "");
          next = Math.max(next, offset + 1);
        }
      } catch (error) {
        loopError = error;
        reading = false;
      }
    }
  })();
  return {
    name,
    values,
    disorder,
    nextOffset: () => {
      if (loopError !== undefined) throw loopError;
      return next;
    },
    rebalances: () => rebalances,
    async stop() {
      reading = false;
      await loop;
      await consumer.close();
    },
  };
}

/** Asks for a preferred-leader election of one partition through `address`'s Admin service (the SDK has no call for it). */
function electPreferredLeader(address: string, topic: string, partition: number): Promise<string[]> {
  const stub = new (protocol.tributaryV1().Admin)(address, grpcCredentials());
  const request: v1.ElectLeadersRequest = { electionType: "preferred", partitions: [{ topic, partition }] };
  return new Promise<string[]>((resolve, reject) => {
    stub.ElectLeaders(request, { deadline: Date.now() + 5_000 }, (error: Error | null, response?: v1.ElectLeadersResponse__Output) => {
      stub.close();
      if (error !== null || response === undefined) reject(error ?? new Error("ElectLeaders: empty answer"));
      else resolve(response.results.map((r) => protocol.errorCodeOf(r.error)));
    });
  });
}

async function leaderOf(topic: string): Promise<{ leader: number; leaderEpoch: number; isr: number[] }> {
  const [described] = await admin.describeTopics([topic]);
  const p = described!.partitions[0]!;
  return { leader: p.leader, leaderEpoch: p.leaderEpoch, isr: p.isr };
}

async function allBrokersUp(): Promise<void> {
  await waitFor(async () => (await admin.describeCluster()).brokers.filter((b) => !b.fenced).length === BROKERS, {
    timeoutMs: 30_000,
    message: `${BROKERS} unfenced brokers`,
  });
}

/**
 * Writes to a fresh one-partition RF 3 topic while an assign() consumer and a group member read
 * it; runs `fault` against the partition's leader once both have read something; then stops the
 * writer and checks that both read the whole log exactly once, in order.
 */
interface FaultContext {
  leader: number;
  readers: Reader[];
  /** The highest offset acknowledged so far. */
  lastAckedOffset(): number;
}

async function readThrough(topic: string, fault: (ctx: FaultContext) => Promise<void>, replicaAssignment?: number[]): Promise<{ before: number; after: number }> {
  await allBrokersUp();
  await admin.createTopics([
    {
      topic,
      ...(replicaAssignment ? { replicaAssignment: { 0: replicaAssignment } } : { numPartitions: 1, replicationFactor: 3 }),
      configs: { "min.insync.replicas": "2" },
    },
  ]);
  const clients = {
    producer: env.client({ clientId: `${topic}-producer`, requestTimeoutMs: 5_000 }),
    assigned: env.client({ clientId: `${topic}-assigned`, requestTimeoutMs: CONSUMER_REQUEST_TIMEOUT_MS }),
    member: env.client({ clientId: `${topic}-member`, requestTimeoutMs: CONSUMER_REQUEST_TIMEOUT_MS }),
  };
  const producer = clients.producer.producer({ keySerializer: serializers.string, valueSerializer: serializers.string, acks: "all", lingerMs: 1, requestTimeoutMs: 5_000, deliveryTimeoutMs: 120_000 });
  const writer = startWriter(producer, topic);
  const consumerOptions = {
    keyDeserializer: serializers.string,
    valueDeserializer: serializers.string,
    autoOffsetReset: "earliest" as const,
    fetchMaxWaitMs: CONSUMER_FETCH_MAX_WAIT_MS,
    requestTimeoutMs: CONSUMER_REQUEST_TIMEOUT_MS,
  };
  const assignedConsumer: StringConsumer = clients.assigned.consumer({ ...consumerOptions, enableAutoCommit: false });
  assignedConsumer.assign([{ topic, partition: 0 }]);
  const memberConsumer: StringConsumer = clients.member.consumer({ ...consumerOptions, groupId: `${topic}-group`, sessionTimeoutMs: 30_000, heartbeatIntervalMs: 250, autoCommitIntervalMs: 500 });
  await memberConsumer.subscribe([topic]);
  const readers = [startReader("assign()", assignedConsumer), startReader("group member", memberConsumer)];
  try {
    await waitFor(() => writer.acked.length >= 300 && readers.every((r) => r.nextOffset() >= 100), { timeoutMs: 30_000, message: "writing and reading before the fault" });
    const { leader, leaderEpoch } = await leaderOf(topic);
    await fault({ leader, readers, lastAckedOffset: () => Math.max(-1, ...writer.acked.map(([, offset]) => offset)) });
    // Records acknowledged after the fault must come through too: the readers follow the new leader.
    const ackedAtFault = writer.acked.length;
    await waitFor(() => writer.acked.length >= ackedAtFault + 300, { timeoutMs: 60_000, message: "writes acknowledged after the fault" });
    const acked = await writer.stop();
    await producer.close();
    const logEnd = Math.max(...acked.map(([, offset]) => offset)) + 1;
    for (const reader of readers) {
      await waitFor(() => reader.nextOffset() >= logEnd, {
        timeoutMs: 60_000,
        message: `${reader.name} to read up to offset ${logEnd} (it reached ${reader.nextOffset()}; leader was ${leader} at epoch ${leaderEpoch}, now ${JSON.stringify(await leaderOf(topic).catch(() => "unknown"))})`,
      });
    }
    for (const reader of readers) {
      // Exactly once, in order: a group member may re-read only after losing its partition.
      if (reader.name === "assign()" || reader.rebalances() === 0) expect(reader.disorder, reader.name).toEqual([]);
      for (let offset = 0; offset < logEnd; offset++) {
        if (!reader.values.has(offset)) expect.fail(`${reader.name} never read offset ${offset} of ${logEnd}`);
      }
      for (const [, offset, value] of acked) {
        if (reader.values.get(offset) !== value) expect.fail(`${reader.name} read ${reader.values.get(offset)} at offset ${offset}, where ${value} was acknowledged`);
      }
    }
    return { before: leader, after: (await leaderOf(topic)).leader };
  } finally {
    await writer.stop();
    await Promise.allSettled(readers.map((r) => r.stop()));
    await Promise.allSettled(Object.values(clients).map((c) => c.close()));
  }
}

it("follows the new leader after the leader's kill -9", async () => {
  let victim = -1;
  const { before, after } = await readThrough("leader-killed", async ({ leader }) => {
    victim = leader;
    await env.cluster.kill(leader, "SIGKILL");
    await waitFor(async () => (await leaderOf("leader-killed")).leader !== leader, { timeoutMs: 30_000, message: "a new leader after the kill" });
  });
  expect(after).not.toBe(before);
  await env.cluster.restart(victim);
}, 180_000);

it("follows the new leader while the old one is SIGSTOPped past the fetch deadline, and after SIGCONT", async () => {
  const { before, after } = await readThrough("leader-stopped", async ({ leader, readers, lastAckedOffset }) => {
    const stoppedAtMs = Date.now();
    env.cluster.pause(leader);
    try {
      await waitFor(async () => (await leaderOf("leader-stopped")).leader !== leader, { timeoutMs: 10_000, message: "a new leader while the old one is stopped" });
      // Records acknowledged from here on are on the new leader only: both readers must get
      // them while the old leader is still stopped, long before a fetch sent to it times out.
      const target = lastAckedOffset() + 100;
      await waitFor(() => lastAckedOffset() >= target, { timeoutMs: 10_000, message: "writes acknowledged by the new leader" });
      await waitFor(() => readers.every((r) => r.nextOffset() > target), {
        timeoutMs: Math.max(1, stoppedAtMs + READ_WHILE_STOPPED_DEADLINE_MS - Date.now()),
        message: `both readers past offset ${target} from the new leader within ${READ_WHILE_STOPPED_DEADLINE_MS} ms of the stop (request timeout ${CONSUMER_REQUEST_TIMEOUT_MS} ms; reached ${readers.map((r) => `${r.name} ${r.nextOffset()}`).join(", ")})`,
      });
      // The stop outlasts a fetch's whole deadline: whatever was sent to the stopped leader has
      // expired by the SIGCONT, and the old leader comes back to stale requests.
      const holdMs = CONSUMER_FETCH_MAX_WAIT_MS + CONSUMER_REQUEST_TIMEOUT_MS + 1_000;
      await waitFor(() => Date.now() - stoppedAtMs >= holdMs, { timeoutMs: holdMs + 1_000, message: "the stop to outlast the fetch deadline" });
    } finally {
      env.cluster.resume(leader);
    }
  });
  expect(after).not.toBe(before);
}, 180_000);

it("follows leadership through a controlled shutdown and a preferred-leader election back", async () => {
  const preferred = 1;
  const { before, after } = await readThrough(
    "leader-moved",
    async ({ leader }) => {
      expect(leader).toBe(preferred);
      await env.cluster.kill(leader, "SIGTERM"); // controlled shutdown: leadership moves first
      await waitFor(async () => (await leaderOf("leader-moved")).leader !== leader, { timeoutMs: 30_000, message: "a new leader after the controlled shutdown" });
      await env.cluster.restart(leader);
      await waitFor(async () => (await leaderOf("leader-moved")).isr.includes(leader), { timeoutMs: 30_000, message: `broker ${leader} back in the ISR` });
      await waitFor(
        async () => {
          // The controller may already have moved it back (its periodic preferred-leader check).
          if ((await leaderOf("leader-moved")).leader === preferred) return true;
          const codes = await electPreferredLeader(env.cluster.node(2).address, "leader-moved", 0);
          return codes.every((code) => code === "NONE" || code === "ELECTION_NOT_NEEDED") && (await leaderOf("leader-moved")).leader === preferred;
        },
        { timeoutMs: 30_000, message: `leadership back on broker ${preferred}` },
      );
    },
    [preferred, 2, 3],
  );
  expect(before).toBe(preferred);
  expect(after).toBe(preferred);
}, 180_000);
