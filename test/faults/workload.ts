// The workload under faults: idempotent producers (acks=all) writing unique, sequenced values
// "<producer>:<partition>:<seq>" to chosen partitions, and consumer groups reading them and
// committing what they processed. Everything a producer sent, everything acknowledged (with its
// offset) and everything each group saw is kept for the checker.
import { Tributary, serializers, type Consumer, type Producer } from "../../packages/client/dist/index.js";
import { Random, type History } from "./history.js";

export interface Acked { partition: number; offset: number; value: string }
export interface Seen { partition: number; offset: number; value: string }

export interface ProducerLedger {
  name: string;
  /** Every value handed to send, in order. */
  sent: string[];
  acked: Acked[];
  /** Values whose send failed: they may or may not be in the log (at most once). */
  uncertain: string[];
  errors: Map<string, number>;
}

export interface GroupLedger {
  groupId: string;
  seen: Seen[];
  commits: number;
  commitErrors: Map<string, number>;
}

export interface Workload {
  producers: ProducerLedger[];
  groups: GroupLedger[];
  stopProducers(): Promise<void>;
  /** Makes each member commit what it has processed (used while settling). */
  stopConsumers(): Promise<void>;
  clients: Tributary[];
}

export interface WorkloadOptions {
  bootstrapServers: string[];
  topic: string;
  partitions: number;
  producers: number;
  groups: number;
  membersPerGroup: number;
  seed: number;
  history: History;
  /** "all" (the suite's setting); "1" only to show that the checker catches what acks=1 loses. */
  acks?: "all" | "1";
}

const count = (map: Map<string, number>, error: unknown) => {
  const key = (error as { code?: string }).code ?? (error as Error).name ?? "Error";
  map.set(key, (map.get(key) ?? 0) + 1);
};

export function startWorkload(options: WorkloadOptions): Workload {
  const random = new Random(options.seed ^ 0x5eed);
  const clients: Tributary[] = [];
  const newClient = (clientId: string) => {
    const client = new Tributary({ bootstrapServers: options.bootstrapServers, clientId, requestTimeoutMs: 5_000, retries: 1_000, retryBackoffMs: 100, retryBackoffMaxMs: 1_000 });
    clients.push(client);
    return client;
  };
  let producing = true;
  const producers: ProducerLedger[] = [];
  const loops: Promise<void>[] = [];
  for (let i = 0; i < options.producers; i++) {
    const ledger: ProducerLedger = { name: `p${i}`, sent: [], acked: [], uncertain: [], errors: new Map() };
    producers.push(ledger);
    const producer: Producer<string | null, string> = newClient(`fault-producer-${i}`).producer({
      keySerializer: serializers.string, valueSerializer: serializers.string,
      ...(options.acks === "1" ? { acks: 1 as const, idempotent: false } : { acks: "all" as const, idempotent: true }), maxInFlight: 5, lingerMs: 2, requestTimeoutMs: 5_000, deliveryTimeoutMs: 30_000,
    });
    const sequences = new Array<number>(options.partitions).fill(0);
    loops.push((async () => {
      while (producing) {
        const batch = Array.from({ length: 8 }, () => {
          const partition = random.int(0, options.partitions - 1);
          const value = `${ledger.name}:${partition}:${sequences[partition]!++}`;
          ledger.sent.push(value);
          return { topic: options.topic, partition, key: null, value };
        });
        // One promise per record: a batch can be partly acknowledged when a failure hits it.
        const outcomes = await Promise.allSettled(batch.map((r) => producer.send(r)));
        outcomes.forEach((outcome, j) => {
          const value = batch[j]!.value;
          if (outcome.status === "fulfilled") ledger.acked.push({ partition: outcome.value.partition, offset: Number(outcome.value.offset), value });
          else {
            count(ledger.errors, outcome.reason);
            ledger.uncertain.push(value);
          }
        });
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await producer.close().catch(() => {});
    })());
  }

  let consuming = true;
  const groups: GroupLedger[] = [];
  const members: Array<Promise<void>> = [];
  for (let g = 0; g < options.groups; g++) {
    const ledger: GroupLedger = { groupId: `fault-group-${g}`, seen: [], commits: 0, commitErrors: new Map() };
    groups.push(ledger);
    for (let m = 0; m < options.membersPerGroup; m++) {
      const consumer: Consumer<string | null, string | null> = newClient(`fault-consumer-${g}-${m}`).consumer({
        groupId: ledger.groupId, keyDeserializer: serializers.string, valueDeserializer: serializers.string,
        autoOffsetReset: "earliest", enableAutoCommit: false, sessionTimeoutMs: 6_000, maxPollIntervalMs: 60_000,
      });
      consumer.on("error", (error) => count(ledger.commitErrors, error));
      members.push((async () => {
        await consumer.subscribe([options.topic]);
        let lastCommitAt = 0;
        while (consuming) {
          try {
            const records = await consumer.poll(200);
            for (const r of records) ledger.seen.push({ partition: r.partition, offset: Number(r.offset), value: r.value ?? "" });
            if (Date.now() - lastCommitAt > 500) {
              lastCommitAt = Date.now();
              await consumer.commitSync();
              ledger.commits++;
            }
          } catch (error) {
            count(ledger.commitErrors, error);
          }
        }
        try {
          await consumer.commitSync();
        } catch (error) {
          count(ledger.commitErrors, error);
        }
        await consumer.close().catch(() => {});
      })());
    }
  }
  return {
    producers, groups, clients,
    async stopProducers() {
      producing = false;
      await Promise.all(loops);
    },
    async stopConsumers() {
      consuming = false;
      await Promise.all(members);
    },
  };
}
