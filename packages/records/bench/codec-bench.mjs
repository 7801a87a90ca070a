// Micro-benchmark of the record hot paths on the built package (run `npx tsc -b packages/records`
// first): encodeBatch as the producer calls it and decodeBatch as the consumer does, for
// 100-byte values in batches of RECORDS_PER_BATCH, uncompressed and with each codec.
//   node packages/records/bench/codec-bench.mjs [seconds-per-case]
import { decodeBatch, encodeBatch } from "../dist/index.js";

const RECORDS_PER_BATCH = 500;
const VALUE_BYTES = 100;
const secondsPerCase = Number(process.argv[2] ?? 1);

// Values that compress like typical JSON-ish events, not like all-zeros.
const records = Array.from({ length: RECORDS_PER_BATCH }, (_, i) => {
  const text = `{"id":${i},"user":"u-${(i * 7919) % 10007}","event":"click","page":"/p/${i % 97}"}`;
  const value = Buffer.alloc(VALUE_BYTES, 0x20);
  value.write(text);
  return { key: null, value, timestampMs: 1_700_000_000_000 + i };
});

function measure(run) {
  for (let i = 0; i < 50; i++) run(); // warm up the JIT
  const deadline = process.hrtime.bigint() + BigInt(Math.round(secondsPerCase * 1e9));
  let batches = 0;
  const start = process.hrtime.bigint();
  while (process.hrtime.bigint() < deadline) {
    for (let i = 0; i < 20; i++) run();
    batches += 20;
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return (batches * RECORDS_PER_BATCH) / seconds;
}

const format = (perSecond) => `${(perSecond / 1e6).toFixed(2)} M records/s`;
console.log(`node ${process.version}, ${RECORDS_PER_BATCH} records of ${VALUE_BYTES} bytes per batch, ${secondsPerCase}s per case`);
for (const compression of ["none", "lz4", "zstd", "snappy", "gzip"]) {
  const batch = encodeBatch({ records, compression });
  let sink = 0;
  const encodeRate = measure(() => {
    sink += encodeBatch({ records, compression }).length;
  });
  const decodeRate = measure(() => {
    sink += decodeBatch(batch).records.length;
  });
  if (sink === 0) throw new Error("unreachable: keeps the work from being optimised away");
  const ratio = (batch.length / (RECORDS_PER_BATCH * VALUE_BYTES)).toFixed(2);
  console.log(`${compression.padEnd(7)} encode ${format(encodeRate).padEnd(18)} decode ${format(decodeRate).padEnd(18)} batch ${batch.length} bytes (${ratio} of values)`);
}
