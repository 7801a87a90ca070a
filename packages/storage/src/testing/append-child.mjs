// The process the crash test kills: opens the log, continues the workload from its log end, and
// reports each append on stdout only after appendAsLeader returned (stdout to a pipe is
// synchronous on Linux, so a reported append was written before the report left). Before a big
// append it says so, so the test can kill it in the middle of the write.
import { PartitionLog } from "@tributary/storage";
import { INDEX_INTERVAL_BYTES, SEGMENT_BYTES, callAt, callSizeAt, firstOffsetOf, isBigCall } from "./crash-workload.mjs";

const dir = process.argv[2];
const log = PartitionLog.open({ dir, config: { segmentBytes: SEGMENT_BYTES, indexIntervalBytes: INDEX_INTERVAL_BYTES }, now: Date.now });
// The log ends at a call boundary unless a call was torn between its batches; either way, the
// workload resumes at the batch the log end belongs to, in the call that batch belongs to.
let index = 0;
while (firstOffsetOf(index + callSizeAt(index)) <= log.logEndOffset) index += callSizeAt(index);
const inCall = [];
for (let i = index; firstOffsetOf(i) < log.logEndOffset; i++) inCall.push(i);
if (firstOffsetOf(index + inCall.length) !== log.logEndOffset) {
  process.stderr.write(`log end ${log.logEndOffset} is not at a batch boundary of the workload\n`);
  process.exit(2);
}
process.stdout.write(`ready ${index + inCall.length}\n`);
let first = true;
for (;;) {
  const call = callAt(index);
  // After a torn call, its remaining batches are appended alone (as a producer's retry would resend them).
  const skip = first ? inCall.length : 0;
  first = false;
  const batches = call.slice(skip);
  const bytes = Buffer.concat(batches);
  if (isBigCall(index)) process.stdout.write(`writing ${index} ${bytes.length}\n`);
  const result = log.appendAsLeader(bytes, 1);
  process.stdout.write(`appended ${index + skip} ${index + call.length - 1} ${result.baseOffset} ${result.lastOffset}\n`);
  index += call.length;
}
