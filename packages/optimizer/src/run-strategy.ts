import type { ExecutionPlan } from "./execution-plan.js";
import { initialTimedState } from "./list-schedule.js";
import {
  continuousBoundTables,
  continuousLowerBoundMs,
  lowerBoundTables,
  remainingLowerBound,
} from "./lower-bound.js";
import { buildExecutionPlan } from "./plan-builder.js";
import {
  type DisabledOptimizations,
  disabledOptimizations,
  NO_DISABLED_OPTIMIZATIONS,
  type PlanningProblem,
} from "./planning-problem.js";
import { indexProblem } from "./problem-index.js";
import { initialState } from "./search-state.js";
import type { PlanningStrategy, StrategyOptions } from "./strategies/planning-strategy.js";
import { assertPlanningStrategy, DEFAULT_STRATEGY, getStrategy } from "./strategy-registry.js";
import { validatePlan } from "./validate-plan.js";

/** Options of `runStrategy`: the strategy, the ablations, and the strategy's own options. */
export interface RunStrategyOptions extends Partial<Omit<StrategyOptions, "disabled">> {
  /** A registered strategy name or a strategy object (default `dp`). */
  readonly strategy?: string | PlanningStrategy;
  /** Optimizations to turn off: names (`prefix-sharing`, …) or a full set. */
  readonly disabled?: Iterable<string> | DisabledOptimizations;
}

/**
 * The one wrapper every strategy runs through: indexes and validates the
 * problem, times the strategy (`solveMs`), prices its schedule with the cost
 * model under the disabled optimizations (merged with those the strategy
 * forces, e.g. naive's), computes the lower bound, builds the plan and
 * validates it. Throws `PlanningError` for a bad problem, an unknown strategy
 * or an invalid plan.
 */
export async function runStrategy(
  problem: PlanningProblem,
  options: RunStrategyOptions = {},
): Promise<ExecutionPlan> {
  const strategy =
    typeof options.strategy === "object"
      ? options.strategy
      : getStrategy(options.strategy ?? DEFAULT_STRATEGY);
  // A strategy object may come from outside the registry: check the contract before running it.
  assertPlanningStrategy(strategy);
  const requested = toDisabled(options.disabled);
  const index = indexProblem(problem);
  const startedMs = performance.now();
  const result = await strategy.plan(index, { ...options, disabled: requested });
  const solveMs = performance.now() - startedMs;
  const forced = result.forcedDisabled ?? {};
  const disabled: DisabledOptimizations = {
    prefixSharing: requested.prefixSharing || forced.prefixSharing === true,
    coalescing: requested.coalescing || forced.coalescing === true,
    migration: requested.migration || forced.migration === true,
    pipelining: requested.pipelining || forced.pipelining === true,
    batching: requested.batching || forced.batching === true,
    prefixReordering: requested.prefixReordering === true || forced.prefixReordering === true,
    sqlBatching: requested.sqlBatching === true || forced.sqlBatching === true,
  };
  // Both bounds are admissible; the continuous-time one also counts tool tails and batch-wise tools.
  const lowerBoundMs = Math.max(
    remainingLowerBound(index, lowerBoundTables(index, disabled), initialState(index)),
    continuousLowerBoundMs(index, continuousBoundTables(index, disabled), initialTimedState(index, disabled)),
  );
  const plan = buildExecutionPlan(index, result.schedule, {
    strategy: strategy.name,
    solveMs,
    disabled,
    lowerBoundMs,
    warnings: result.warnings,
    ...(result.solver ? { solver: result.solver } : {}),
    ...(result.search ? { search: result.search } : {}),
  });
  validatePlan(plan, problem);
  return plan;
}

function toDisabled(value: RunStrategyOptions["disabled"]): DisabledOptimizations {
  if (value === undefined) return NO_DISABLED_OPTIMIZATIONS;
  if (typeof value === "object" && value !== null && "prefixSharing" in value)
    return value as DisabledOptimizations;
  return disabledOptimizations(value as Iterable<string>);
}
