import type { DisabledOptimizations } from "../planning-problem.js";
import type { ProblemIndex } from "../problem-index.js";
import type { EpochSchedule } from "../search-state.js";

/** Options every strategy receives; strategy-specific ones are read by name (see each strategy's doc). */
export interface StrategyOptions {
  /** Optimizations the cost model must price without. */
  readonly disabled: DisabledOptimizations;
  /** DP: most search states expanded before the beam fallback (deterministic budget). */
  readonly maxExpandedStates?: number;
  /** DP: most search states priced by the exact search before the beam fallback. */
  readonly maxGeneratedStates?: number;
  /** DP: run the exact best-first search before the beam (default: up to 16 LLM operators and 8 workers). */
  readonly exactSearch?: boolean;
  /** DP: most steps priced by the local improvement of the search's best plan (0: none). */
  readonly maxImprovementSteps?: number;
  /** DP: width of the beam search. */
  readonly beamWidth?: number;
  /** DP: let an operator's requests be split over several workers in one epoch (default true). */
  readonly splitOperators?: boolean;
  /** DP and MILP: wall-clock limit of the search in ms (a safety net; results stay deterministic below it). */
  readonly timeLimitMs?: number;
  /** MILP: `glpk` (glpk.js, default) or `highs`. */
  readonly solver?: "glpk" | "highs";
  /** MILP: relative gap at which the solver may stop (default 0: prove optimality). */
  readonly relativeGap?: number;
}

/** How an exact solver ended. */
export interface SolverReport {
  readonly solver: "glpk" | "highs";
  readonly status: "optimal" | "feasible" | "no-solution";
  /** The solver's objective (the MILP's makespan of its own solution, optimistic where pricing is not linear). */
  readonly objectiveMs?: number;
  /** A lower bound on the makespan of every plan in dp's plan space (the MILP's optimum or dual bound, or the combinatorial bound). */
  readonly bestBoundMs?: number;
  /** The returned plan's makespan (continuous time): the better of dp's plan and the MILP's. */
  readonly incumbentMs?: number;
  /** Where the returned plan came from. */
  readonly incumbent?: "dp" | "milp";
  /** Bound and incumbent meet (gap ≤ 0.01 %): the plan is optimal in dp's plan space. */
  readonly proven?: boolean;
  /** (incumbent − bound) / incumbent. */
  readonly gap?: number;
  readonly variables: number;
  readonly constraints: number;
  readonly solveMs: number;
}

/** How the DP search went. */
export interface SearchReport {
  /** `exact`: the exact search ended (its plan is the best); `beam`: it stopped at its budget or was skipped, and the beam search and local improvement decided. */
  readonly mode: "exact" | "beam";
  /** The exact search ended and tried every step of every state: the plan is optimal in the continuous-time model. */
  readonly proven: boolean;
  /** States the exact search expanded. */
  readonly expandedStates: number;
  /** Steps priced by every phase (placements, beam, local improvement, exact search). */
  readonly generatedStates: number;
  /** A baseline plan was at least as good as the search's (it seeded the bound). */
  readonly incumbentWon: boolean;
}

/** What a strategy returns: its epochs (the wrapper prices and validates them) and notes. */
export interface StrategyResult {
  readonly schedule: EpochSchedule;
  readonly warnings: readonly string[];
  /** Optimizations this strategy itself switches off (naive: batching, sharing, coalescing, migration). */
  readonly forcedDisabled?: Partial<DisabledOptimizations>;
  readonly solver?: SolverReport;
  readonly search?: SearchReport;
}

/** The version of the `PlanningStrategy` contract this package implements; a strategy declares the one it was written for. */
export const PLANNING_STRATEGY_SPECIFICATION_VERSION = "v1";

/**
 * A planning strategy, version 1 (the public contract research code
 * implements): maps LLM operators to workers and orders them into epochs.
 *
 * `plan` receives the indexed problem (`ProblemIndex`: `llm` operators in
 * topological order with their statistics, `llmAncestors` bitmasks,
 * `modelOn[worker][operator]` — undefined where the worker cannot serve the
 * operator — and `problem.workers`) and returns an `EpochSchedule`: epochs of
 * `{operator, workers}` steps (operator = position in `llm`; an operator only
 * after all its LLM ancestors, in an earlier epoch; a worker at most once per
 * epoch). Tool operators are placed by the wrapper. Only the framework calls
 * `plan`, through `runStrategy`, which times it, prices the schedule with the
 * cost model and validates the plan. Strategies are swappable by name through
 * the registry (`registerStrategy`). A change that breaks existing strategies
 * bumps `specificationVersion`.
 */
export interface PlanningStrategy {
  /** Contract version: `"v1"`. */
  readonly specificationVersion: typeof PLANNING_STRATEGY_SPECIFICATION_VERSION;
  /** Registry name (`halo plan --strategy <name>`); a plugged-in strategy with a built-in's name replaces it. */
  readonly name: string;
  /** One line for `--help` and reports. */
  readonly description: string;
  plan(problem: ProblemIndex, options: StrategyOptions): StrategyResult | Promise<StrategyResult>;
}
