import { listScheduleMakespanMs } from "../list-schedule.js";
import { lowerBoundTables, remainingLowerBound } from "../lower-bound.js";
import { buildOracleModel, scheduleFromOracleSolution } from "../milp-model.js";
import { type MilpSolution, solveWithGlpk, solveWithHighs } from "../milp-solvers.js";
import { bit, type ProblemIndex } from "../problem-index.js";
import type { EpochSchedule } from "../search-state.js";
import { initialState, isPreload } from "../search-state.js";
import { epochDpStrategy } from "./epoch-dp-strategy.js";
import type { PlanningStrategy, StrategyOptions, StrategyResult } from "./planning-strategy.js";

/** Default MILP time limit. */
export const DEFAULT_MILP_TIME_LIMIT_MS = 30_000;

/** Relative gap at which bound and incumbent count as meeting (HiGHS's default MIP gap): `proven`. */
export const ORACLE_PROVEN_GAP = 1e-4;

/** Relative gap the solver is asked to close by default (below `ORACLE_PROVEN_GAP`). */
export const DEFAULT_MILP_RELATIVE_GAP = 1e-5;

/**
 * `milp` (oracle): a MILP over the DP's plan space (`milp-model.ts`):
 * per operator a split over k workers with per-worker request shares, model
 * loads and switches, prefix and context reuse and migration, the tools'
 * continuous time; optimistic where the exact price is not linear, so its
 * optimum — and the solver's dual bound at a time limit — is a lower bound
 * on every plan `dp` could produce. `dp`'s plan is the incumbent (its
 * makespan bounds every time variable; HiGHS also starts from it); the
 * solver's solution becomes a plan priced by the list scheduler like any
 * other; the better of the two is returned. The report has the bound, the
 * incumbent, the gap between them and `proven` (gap ≤ 0.01 %).
 */
export const milpStrategy: PlanningStrategy = {
  specificationVersion: "v1",
  name: "milp",
  description:
    "MILP oracle over dp's plan space (glpk.js or HiGHS): a lower bound, dp's plan or better, the gap",
  plan(index, options) {
    return solveOracle(index, options);
  },
};

async function solveOracle(index: ProblemIndex, options: StrategyOptions): Promise<StrategyResult> {
  const solver = options.solver ?? "glpk";
  const timeLimitMs = options.timeLimitMs ?? DEFAULT_MILP_TIME_LIMIT_MS;
  const warnings: string[] = [];
  if (index.llm.length === 0) {
    return {
      schedule: [],
      warnings,
      solver: {
        solver,
        status: "optimal",
        objectiveMs: 0,
        bestBoundMs: 0,
        incumbentMs: 0,
        incumbent: "milp",
        proven: true,
        gap: 0,
        variables: 0,
        constraints: 0,
        solveMs: 0,
      },
    };
  }
  const disabled = options.disabled;
  // The incumbent: dp's plan (the DP's own time limit applies; the MILP gets its own).
  const { timeLimitMs: _ignored, ...dpOptions } = options;
  const dp = await epochDpStrategy.plan(index, dpOptions);
  const dpMs = listScheduleMakespanMs(index, dp.schedule, disabled) ?? Number.POSITIVE_INFINITY;
  const oracle = buildOracleModel(index, disabled, {
    ...(options.splitOperators === undefined ? {} : { splitOperators: options.splitOperators }),
    upperBoundMs: dpMs,
  });
  const solve = solver === "highs" ? solveWithHighs : solveWithGlpk;
  const solution: MilpSolution = await solve(oracle.model, {
    timeLimitMs,
    relativeGap: options.relativeGap ?? DEFAULT_MILP_RELATIVE_GAP,
    start: warmStart(index, dp.schedule, oracle.capable, oracle.symmetric),
  });
  const combinatorialMs = remainingLowerBound(index, lowerBoundTables(index, disabled), initialState(index));
  let solverBoundMs: number | undefined;
  if (solution.bestBound !== undefined && Number.isFinite(solution.bestBound))
    solverBoundMs = solution.bestBound;
  else if (solution.status === "optimal") solverBoundMs = solution.objective;
  let schedule: EpochSchedule = dp.schedule;
  let incumbentMs = dpMs;
  let incumbent: "dp" | "milp" = "dp";
  if (solution.status !== "no-solution" && solution.objective !== undefined) {
    const own = scheduleFromOracleSolution(index, oracle, solution.values);
    const ownMs = listScheduleMakespanMs(index, own, disabled);
    if (ownMs === undefined) {
      warnings.push("milp: the solver's solution is not a valid schedule; dp's plan is kept");
    } else if (ownMs < dpMs) {
      schedule = own;
      incumbentMs = ownMs;
      incumbent = "milp";
    }
  } else if (solution.infeasible) {
    warnings.push(
      "milp: the model is infeasible below dp's makespan, which it should never be (a modelling error); the bound is the combinatorial one",
    );
    solverBoundMs = undefined;
  }
  if (
    solverBoundMs !== undefined &&
    index.problem.workers.some((worker) => (worker.profile.capabilities?.maxLoadedModels ?? 1) > 1)
  ) {
    // The model charges a load for every switch; executors that keep several models loaded switch
    // back for free, so its bound does not hold for them (its plans, priced by the list scheduler, do).
    warnings.push(
      "milp: the executors keep several models loaded, which the model does not represent; the bound is the combinatorial one",
    );
    solverBoundMs = undefined;
  }
  let bestBoundMs = Math.max(combinatorialMs, solverBoundMs ?? 0);
  // Solver tolerances: a bound a hair above the incumbent is the incumbent.
  if (bestBoundMs > incumbentMs && bestBoundMs <= incumbentMs * (1 + 1e-7)) bestBoundMs = incumbentMs;
  const gap = incumbentMs > 0 ? Math.max(0, (incumbentMs - bestBoundMs) / incumbentMs) : 0;
  const proven = gap <= ORACLE_PROVEN_GAP;
  if (!proven) {
    warnings.push(
      `milp: ${solver} ${solution.status === "optimal" ? "solved the relaxation" : `stopped at the ${timeLimitMs} ms limit`}; the best plan is ${(gap * 100).toFixed(1)}% above the lower bound`,
    );
  }
  return {
    schedule,
    warnings,
    solver: {
      solver,
      status: solution.status,
      ...(solution.objective === undefined ? {} : { objectiveMs: solution.objective }),
      bestBoundMs,
      incumbentMs,
      incumbent,
      proven,
      gap,
      variables: new Set([
        ...oracle.model.bounds.keys(),
        ...oracle.model.binaries,
        ...oracle.model.constraints.flatMap((constraint) => constraint.terms.map((term) => term.variable)),
      ]).size,
      constraints: oracle.model.constraints.length,
      solveMs: solution.solveMs,
    },
  };
}

/** dp's plan as a partial MILP start: which workers each operator runs on, the split size, the order. */
function warmStart(
  index: ProblemIndex,
  schedule: EpochSchedule,
  capable: readonly (readonly number[])[],
  symmetric: boolean,
): Map<string, number> {
  const start = new Map<string, number>();
  // With identical workers the model numbers them by the first operator they serve: rename dp's so.
  const workerCount = index.problem.workers.length;
  let rename = (worker: number) => worker;
  if (symmetric) {
    const firstOperator = new Array<number>(workerCount).fill(Number.POSITIVE_INFINITY);
    for (const epoch of schedule) {
      for (const assignment of epoch) {
        if (isPreload(assignment)) continue;
        for (const worker of assignment.workers) {
          firstOperator[worker] = Math.min(firstOperator[worker]!, assignment.operator);
        }
      }
    }
    const order = Array.from({ length: workerCount }, (_, worker) => worker).sort(
      (left, right) => firstOperator[left]! - firstOperator[right]! || left - right,
    );
    const position = new Map(order.map((worker, place) => [worker, place]));
    rename = (worker) => position.get(worker) ?? worker;
  }
  const epochOf = new Array<number>(index.llm.length).fill(-1);
  schedule.forEach((epoch, position) => {
    for (const assignment of epoch) {
      if (isPreload(assignment)) continue;
      epochOf[assignment.operator] = position;
      const used = new Set(assignment.workers.map(rename));
      for (const worker of capable[assignment.operator]!) {
        start.set(`x_${assignment.operator}_${worker}`, used.has(worker) ? 1 : 0);
      }
      const k = assignment.workers.length;
      for (let size = 1; size <= capable[assignment.operator]!.length; size++) {
        start.set(`u_${assignment.operator}_${size}`, size === k ? 1 : 0);
      }
    }
  });
  for (let first = 0; first < index.llm.length; first++) {
    for (let second = first + 1; second < index.llm.length; second++) {
      if ((index.llmAncestors[second]! & bit(first)) !== 0n) continue;
      start.set(`y_${first}_${second}`, epochOf[first]! <= epochOf[second]! ? 1 : 0);
    }
  }
  return start;
}
