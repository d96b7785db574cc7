export { exhaustiveOptimumMs } from "./exhaustive-search.js";
export type { RandomProblemOptions, SyntheticOptions, WorkloadShape } from "./synthetic-problems.js";
export {
  identicalWorkers,
  plannedLlmOperator,
  randomProblem,
  SYNTHETIC_POOLS,
  seededRandom,
  WORKLOAD_MODELS,
  WORKLOAD_SHAPES,
  workloadShapeProblem,
} from "./synthetic-problems.js";
export { tinyProblems } from "./tiny-problems.js";
