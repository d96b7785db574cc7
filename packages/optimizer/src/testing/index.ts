/**
 * `@halo/optimizer/testing`: the harness a researcher needs to try a planning
 * strategy: instances, a comparison against `dp` and the MILP oracle, and the
 * plan validator (`runStrategy` already validates every plan it returns).
 */
export type { RandomProblemOptions, SyntheticOptions, WorkloadShape } from "../test/synthetic-problems.js";
export {
  identicalWorkers,
  randomProblem,
  WORKLOAD_SHAPES,
  workloadShapeProblem,
} from "../test/synthetic-problems.js";
export { planProblems, validatePlan } from "../validate-plan.js";
export type { CompareStrategyOptions, StrategyComparisonRow } from "./compare-strategy.js";
export { compareStrategy } from "./compare-strategy.js";
export type { PlannerInstance, PlannerInstancesOptions } from "./planner-instances.js";
export { plannerInstances, randomPlannerInstances } from "./planner-instances.js";
