// A writable stream that pretty-prints the pino JSON lines written to it, for `tributary dev`.
import { Writable } from "node:stream";
import { formatLogLine, LineSplitter } from "../format/log-line.js";

export function prettyLogStream(label: string, out: NodeJS.WritableStream, minLevel: number): Writable {
  const splitter = new LineSplitter();
  const emit = (lines: string[]): void => {
    for (const line of lines) {
      const pretty = formatLogLine(line, label, minLevel);
      if (pretty !== null) out.write(`${pretty}\n`);
    }
  };
  return new Writable({
    write(chunk: Buffer | string, _encoding, callback): void {
      emit(splitter.push(chunk.toString()));
      callback();
    },
    final(callback): void {
      emit(splitter.flush());
      callback();
    },
  });
}
