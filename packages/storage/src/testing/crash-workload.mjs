// The deterministic workload of the crash test: what batch number `index` holds, and how many
// batches each append call carries. The child appends it; the test regenerates it to check
// every batch read back after recovery, byte for byte.
//
// Most calls are small. About one in 60 is "big" (4 batches of ~1 MB): the child announces it
// before writing, so the test can aim a kill at the middle of that write and tear it.
import { encodeBatch } from "@tributary/records";
import { prng as random } from "@tributary/records/testing";

export const PRODUCER_ID = 4242;
export const SEGMENT_BYTES = 8 * 1024 * 1024;
export const INDEX_INTERVAL_BYTES = 4096;
const BIG_BATCHES = 4;
const BIG_VALUE_BYTES = 1_000_000;

/** Whether the append call starting at batch `index` is a big one. */
export function isBigCall(index) {
  return random(index * 15485863 + 5)() < 1 / 60;
}

/** Batches in the append call that starts at batch `index`. */
export function callSizeAt(index) {
  return isBigCall(index) ? BIG_BATCHES : 1 + Math.floor(random(index * 104729 + 3)() * 3);
}

/** Records in batch `index` (1..4). */
export function recordCountOf(index) {
  return 1 + Math.floor(random(index * 7919 + 1)() * 4);
}

const firstOffsets = [0];

/** The offset batch `index` gets: the records of all batches before it. */
export function firstOffsetOf(index) {
  while (firstOffsets.length <= index) firstOffsets.push(firstOffsets[firstOffsets.length - 1] + recordCountOf(firstOffsets.length - 1));
  return firstOffsets[index];
}

/** The records of batch `index` (of a big call when `big`): derived from the index alone. */
export function recordsOf(index, big) {
  const next = random(index + 17);
  return Array.from({ length: recordCountOf(index) }, (_, j) => {
    const valueBytes = big && j === 0 ? BIG_VALUE_BYTES - Math.floor(next() * 1000) : Math.floor(next() * 2_000);
    const value = Buffer.alloc(valueBytes, (index * 31 + j * 7) & 0xff);
    value.write(`${index}/${j}`.slice(0, valueBytes));
    return { key: Buffer.from(`batch-${index}-record-${j}`), value, timestampMs: 1_700_000_000_000 + index };
  });
}

/** The batches of the append call starting at `index`, each as the producer sends it. */
export function callAt(index) {
  const big = isBigCall(index);
  return Array.from({ length: callSizeAt(index) }, (_, i) => batchOf(index + i, big));
}

/** Batch `index`; its sequence equals its offset (one producer, no gaps). */
export function batchOf(index, big) {
  return encodeBatch({ records: recordsOf(index, big), producerId: PRODUCER_ID, producerEpoch: 0, baseSequence: firstOffsetOf(index) });
}

/** Batch `index` as the workload wrote it, found by walking the calls from batch 0. */
export function expectedBatch(index) {
  return batchOf(index, isBigCall(callStartOf(index)));
}

const callStarts = [0];

function callStartOf(index) {
  while (callStarts[callStarts.length - 1] <= index) {
    const last = callStarts[callStarts.length - 1];
    callStarts.push(last + callSizeAt(last));
  }
  let i = callStarts.length - 1;
  while (callStarts[i] > index) i--;
  return callStarts[i];
}

/** The batch after the last one of the call that batch `index` belongs to. */
export function callEndOf(index) {
  const start = callStartOf(index);
  return start + callSizeAt(start);
}
