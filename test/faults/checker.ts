// The checker: pure functions from what the workload recorded and what the log holds at the end
// to a list of failures (empty when every invariant held). Kept free of IO so it has unit tests.
import type { GroupLedger, ProducerLedger } from "./workload.js";

export interface LogRecord { offset: number; value: string }

export interface CheckInput {
  /** The whole final log of each partition, in offset order. */
  log: Map<number, LogRecord[]>;
  producers: ProducerLedger[];
  groups: GroupLedger[];
  /** group id → partition → committed offset (absent: nothing committed). */
  committed: Map<string, Map<number, number>>;
}

export interface CheckResult {
  failures: string[];
  stats: { logRecords: number; acked: number; uncertain: number; uncertainPresent: number; seenByGroups: Record<string, number> };
}

const MAX_LISTED = 20;

export function checkHistory(input: CheckInput): CheckResult {
  const failures: string[] = [];
  const fail = (message: string) => {
    if (failures.length < MAX_LISTED * 10) failures.push(message);
  };
  const at = new Map<string, string>();
  const whereIs = new Map<string, string>();
  const sent = new Map<string, string>();
  for (const p of input.producers) for (const v of p.sent) sent.set(v, p.name);
  let logRecords = 0;
  for (const [partition, records] of input.log) {
    let previous = -1;
    const lastSeq = new Map<string, number>();
    for (const { offset, value } of records) {
      logRecords++;
      if (offset <= previous) fail(`partition ${partition}: offset ${offset} after ${previous} (not increasing)`);
      previous = offset;
      at.set(`${partition}:${offset}`, value);
      const elsewhere = whereIs.get(value);
      if (elsewhere !== undefined) fail(`value ${value} is in the log twice: at ${elsewhere} and ${partition}:${offset}`);
      whereIs.set(value, `${partition}:${offset}`);
      const [producer, valuePartition, seqText] = value.split(":");
      if (!sent.has(value)) {
        fail(`partition ${partition} offset ${offset} holds ${JSON.stringify(value)}, which no producer sent`);
        continue;
      }
      if (Number(valuePartition) !== partition) fail(`value ${value} was sent to partition ${valuePartition} but is in ${partition} at ${offset}`);
      const seq = Number(seqText);
      const last = lastSeq.get(producer!);
      if (last !== undefined && seq <= last) fail(`partition ${partition}: ${producer}'s seq ${seq} at offset ${offset} comes after seq ${last} (producer order broken)`);
      lastSeq.set(producer!, seq);
    }
  }
  let acked = 0;
  let uncertain = 0;
  let uncertainPresent = 0;
  for (const p of input.producers) {
    for (const a of p.acked) {
      acked++;
      const found = at.get(`${a.partition}:${a.offset}`);
      if (found !== a.value) fail(`acknowledged ${a.value} at ${a.partition}:${a.offset}, but the log has ${found === undefined ? "nothing" : JSON.stringify(found)} there${whereIs.has(a.value) ? ` (the value is at ${whereIs.get(a.value)})` : " (the value is lost)"}`);
    }
    uncertain += p.uncertain.length;
    uncertainPresent += p.uncertain.filter((v) => whereIs.has(v)).length;
  }
  const seenByGroups: Record<string, number> = {};
  for (const g of input.groups) {
    seenByGroups[g.groupId] = g.seen.length;
    const seenAt = new Set<string>();
    for (const s of g.seen) {
      const key = `${s.partition}:${s.offset}`;
      seenAt.add(key);
      const found = at.get(key);
      if (found !== s.value) fail(`group ${g.groupId} read ${JSON.stringify(s.value)} at ${key}, but the final log has ${found === undefined ? "nothing" : JSON.stringify(found)} there`);
    }
    const committed = input.committed.get(g.groupId) ?? new Map<number, number>();
    for (const [partition, records] of input.log) {
      const upTo = committed.get(partition) ?? 0;
      const end = records.length === 0 ? 0 : records[records.length - 1]!.offset + 1;
      if (upTo > end) fail(`group ${g.groupId} committed ${upTo} on partition ${partition}, past the log end ${end}`);
      const missed = records.filter((r) => r.offset < upTo && !seenAt.has(`${partition}:${r.offset}`));
      if (missed.length > 0) fail(`group ${g.groupId} committed ${upTo} on partition ${partition} but never saw ${missed.length} record(s) below it, first at offset ${missed[0]!.offset}`);
    }
  }
  return { failures, stats: { logRecords, acked, uncertain, uncertainPresent, seenByGroups } };
}
