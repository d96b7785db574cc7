import type { ExecutionPlan } from "../execution-plan.js";
import { type RunStrategyOptions, runStrategy } from "../run-strategy.js";
import type { PlanningStrategy, SolverReport } from "../strategies/planning-strategy.js";
import type { PlannerInstance } from "./planner-instances.js";

/** Options of `compareStrategy`. */
export interface CompareStrategyOptions {
  /** Options passed to the strategy under test (e.g. disabled optimizations). */
  readonly strategyOptions?: Omit<RunStrategyOptions, "strategy">;
  /** The MILP oracle over dp's plan space: solver and time limit (default HiGHS, 20 s as in the planner benchmark); `false` skips it. */
  readonly milp?: { readonly solver?: "glpk" | "highs"; readonly timeLimitMs?: number } | false;
}

/** One instance of a comparison: makespans in the cost model's continuous time (ms). */
export interface StrategyComparisonRow {
  readonly instance: string;
  readonly makespanMs: number;
  readonly solveMs: number;
  readonly dpMakespanMs: number;
  readonly lowerBoundMs: number;
  /** The MILP oracle's best plan (dp's or its own), when it was run. */
  readonly milpMakespanMs?: number;
  readonly milpStatus?: SolverReport["status"];
  /** The oracle's lower bound on every plan in dp's plan space (the MILP optimum or the solver's dual bound). */
  readonly optimumBoundMs?: number;
  /** Bound and best plan meet (within 0.01 %): `milpOptimumMs` is the optimum. */
  readonly milpProven?: boolean;
  /** The proven optimum, when the oracle proved one. */
  readonly milpOptimumMs?: number;
  /** makespan / dp makespan (below 1: better than dp). */
  readonly overDp: number;
  /** makespan / bound (a strategy in dp's plan space is never below 1; one outside it may be). */
  readonly overBound?: number;
  /** makespan / proven optimum. */
  readonly overOptimum?: number;
}

/**
 * Plans every instance with `strategy`, the default `dp` and the MILP oracle,
 * each through `runStrategy` (so every plan is priced by the same cost model
 * and validated: an invalid plan of the strategy throws `PlanningError`
 * naming the instance's problem), and returns one row per instance.
 */
export async function compareStrategy(
  strategy: PlanningStrategy | string,
  instances: readonly PlannerInstance[],
  options: CompareStrategyOptions = {},
): Promise<StrategyComparisonRow[]> {
  const rows: StrategyComparisonRow[] = [];
  for (const { name, problem } of instances) {
    let plan: ExecutionPlan;
    try {
      plan = await runStrategy(problem, { ...options.strategyOptions, strategy });
    } catch (error) {
      throw new Error(`instance ${name}: ${(error as Error).message}`, { cause: error });
    }
    const dp = await runStrategy(problem, { strategy: "dp" });
    let milp: ExecutionPlan | undefined;
    if (options.milp !== false) {
      milp = await runStrategy(problem, {
        strategy: "milp",
        solver: options.milp?.solver ?? "highs",
        timeLimitMs: options.milp?.timeLimitMs ?? 20_000,
      });
    }
    const boundMs = milp?.solver?.bestBoundMs;
    const optimumMs = milp?.solver?.proven ? milp.estimatedMakespanMs : undefined;
    rows.push({
      instance: name,
      makespanMs: plan.estimatedMakespanMs,
      solveMs: plan.solveMs,
      dpMakespanMs: dp.estimatedMakespanMs,
      lowerBoundMs: plan.lowerBoundMs,
      ...(milp
        ? {
            milpMakespanMs: milp.estimatedMakespanMs,
            milpStatus: milp.solver?.status ?? "no-solution",
            milpProven: milp.solver?.proven ?? false,
          }
        : {}),
      ...(boundMs === undefined || boundMs <= 0
        ? {}
        : { optimumBoundMs: boundMs, overBound: plan.estimatedMakespanMs / boundMs }),
      ...(optimumMs === undefined
        ? {}
        : { milpOptimumMs: optimumMs, overOptimum: plan.estimatedMakespanMs / optimumMs }),
      overDp: plan.estimatedMakespanMs / dp.estimatedMakespanMs,
    });
  }
  return rows;
}
