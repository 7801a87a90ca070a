// The server-side assignors by name ("range", "uniform"), as group.consumer.assignors names them.
import type { Assignor } from "./assignor.js";
import { rangeAssignor } from "./range.js";
import { uniformAssignor } from "./uniform.js";

export type { Assignor, AssignorInput, AssignorMember } from "./assignor.js";
export { rangeAssignor } from "./range.js";
export { uniformAssignor } from "./uniform.js";

export const ASSIGNORS: ReadonlyMap<string, Assignor> = new Map([
  [rangeAssignor.name, rangeAssignor],
  [uniformAssignor.name, uniformAssignor],
]);
