import { type Estimate, type EstimateOptions, estimateProblem } from "./estimator.js";
import type { ExecutionPlan } from "./execution-plan.js";
import { type RunStrategyOptions, runStrategy } from "./run-strategy.js";

/** Options of `planBatch`: the batch (workflow, queries, workers) and the strategy options. */
export type PlanBatchOptions = EstimateOptions & RunStrategyOptions;

/** A plan with the problem it was made for (the runtime sizes micro-batches from its statistics). */
export interface PlannedBatch {
  readonly plan: ExecutionPlan;
  readonly estimate: Estimate;
}

/**
 * Plans a batch end to end: estimates the statistics (`estimateProblem`),
 * runs the strategy through `runStrategy`, and adds the estimator's warnings
 * to the plan's.
 */
export async function planBatch(options: PlanBatchOptions): Promise<PlannedBatch> {
  const estimate = estimateProblem(options);
  const plan = await runStrategy(estimate.problem, options);
  return { plan: { ...plan, warnings: [...estimate.warnings, ...plan.warnings] }, estimate };
}
