// Child process for the kill -9 test: writes to LevelRaftStorage as fast as it can, announcing
// each write before it starts and confirming it once durable, until the test kills it.
// Usage: node level-crash-child.js <directory> <seed>
import { LevelRaftStorage } from "../level-storage.js";
import { createSeededRandom } from "../random.js";
import { applyPlanned, planNext, toStorageWrite } from "./crash-workload.js";

const [directory, seedText] = process.argv.slice(2);
if (directory === undefined || seedText === undefined) throw new Error("usage: level-crash-child <directory> <seed>");
const random = createSeededRandom(Number(seedText));
const storage = await LevelRaftStorage.open(directory);
let state = await storage.load();
process.stdout.write("ready\n");
// Bounded so a child the test forgot to kill still ends.
for (let written = 0; written < 200_000; written++) {
  const planned = planNext(state, random);
  process.stdout.write(`begin ${JSON.stringify(planned)}\n`);
  await storage.write(toStorageWrite(state, planned), { sync: true });
  state = applyPlanned(state, planned);
  process.stdout.write("done\n");
}
await storage.close();
