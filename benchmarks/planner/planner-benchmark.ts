import { cpus } from "node:os";
import {
  type ExecutionPlan,
  estimateProblem,
  type PlanningProblem,
  runStrategy,
  type SolverReport,
} from "@halo/optimizer";
import { identicalWorkers, randomProblem, workloadShapeProblem } from "@halo/optimizer/test";
import { randomPlannerInstances } from "@halo/optimizer/testing";
import { loadWorkload } from "../workloads/load-workload.js";
import { WORKLOADS } from "../workloads/workload-registry.js";

/** What the planner benchmark runs; the defaults are the documented measurement. */
export interface PlannerBenchmarkConfig {
  /** Queries of each optimality instance. */
  readonly queries: number;
  /** Workers of the workload instances (each workload is planned on each count). */
  readonly workloadWorkers: readonly number[];
  /** Seeded random DAGs (6–14 LLM operators, 2–4 workers, 1–3 models). */
  readonly randomInstances: number;
  readonly glpkTimeLimitMs: number;
  readonly highsTimeLimitMs: number;
  /** Scale sweep: LLM operators × workers. */
  readonly scaleOperators: readonly number[];
  readonly scaleWorkers: readonly number[];
  /** Query counts of the batch-size sweep. */
  readonly scaleQueries: readonly number[];
}

export const defaultPlannerBenchmarkConfig: PlannerBenchmarkConfig = {
  queries: 1000,
  workloadWorkers: [2, 3, 4],
  randomInstances: 32,
  glpkTimeLimitMs: 10_000,
  highsTimeLimitMs: 20_000,
  scaleOperators: [10, 20, 40, 80],
  scaleWorkers: [2, 4, 8, 16, 32, 64],
  scaleQueries: [100, 1000, 10_000],
};

/** One solver's answer on one instance. */
export interface MilpMeasurement {
  readonly status: SolverReport["status"];
  readonly objectiveMs?: number;
  readonly gap?: number;
  readonly solveMs: number;
  /** The MILP's plan priced like every plan (continuous time, the list scheduler): what the runtime would be told. */
  readonly planMakespanMs: number;
  /** The same plan with epochs as barriers (the epoch model's figure). */
  readonly epochMakespanMs: number;
}

/** One optimality instance. */
export interface OptimalityRow {
  readonly instance: string;
  readonly llmOperators: number;
  readonly toolOperators: number;
  readonly workers: number;
  readonly models: number;
  readonly lowerBoundMs: number;
  readonly dpMakespanMs: number;
  /** Median wall-clock solve time of `dpRuns` runs (the plans are identical: the DP is deterministic). */
  readonly dpSolveMs: number;
  readonly dpSolveRunsMs: readonly number[];
  readonly dpMode: string;
  readonly dpProven: boolean;
  /** The dp plan with epochs as barriers (the epoch model's figure, what the previous dp optimized). */
  readonly dpEpochMakespanMs: number;
  readonly dpWholeMakespanMs: number;
  readonly dpWholeSolveMs: number;
  /** dp with a large search budget (`LARGE_BUDGET`: separates search from model effects). */
  readonly dpLargeMakespanMs: number;
  readonly dpLargeSolveMs: number;
  readonly dpLargeProven: boolean;
  readonly bestBaselineMs: number;
  readonly bestBaseline: string;
  readonly glpk: MilpMeasurement;
  readonly highs: MilpMeasurement;
  /** The MILP optimum when a solver proved one (HiGHS first), else undefined. */
  readonly milpOptimumMs?: number;
  /** dp / MILP optimum, and dp without splitting / MILP optimum. */
  readonly dpOverOptimum?: number;
  readonly dpWholeOverOptimum?: number;
  readonly dpLargeOverOptimum?: number;
}

export interface ScaleRow {
  readonly llmOperators: number;
  readonly workers: number;
  readonly queries: number;
  /** Median of `DP_RUNS` runs. */
  readonly dpSolveMs: number;
  readonly dpMode: string;
  readonly dpMakespanMs: number;
  readonly greedyMakespanMs: number;
  readonly lowerBoundMs: number;
}

export interface PlannerBenchmarkResults {
  readonly command: string;
  /** Day of the run (UTC, YYYY-MM-DD). */
  readonly date: string;
  readonly machine: { readonly cpus: number; readonly cpuModel: string; readonly node: string };
  readonly config: PlannerBenchmarkConfig;
  readonly optimality: readonly OptimalityRow[];
  readonly scale: readonly ScaleRow[];
  readonly queriesSweep: readonly ScaleRow[];
  readonly summary: PlannerSummary;
}

export interface PlannerSummary {
  readonly instances: number;
  readonly provenByMilp: number;
  /** Instances with a proven MILP optimum where dp ≤ 1.03 × optimum. */
  readonly dpWithin3Percent: number;
  readonly dpOverOptimumMax?: number;
  readonly dpOverOptimumMedian?: number;
  readonly dpWholeOverOptimumMax?: number;
  readonly dpWholeOverOptimumMedian?: number;
  /** Proven instances where dp > 1.03 × optimum, and how many of those dp proved optimal under the epoch model. */
  readonly dpOver3Percent: number;
  readonly dpOver3PercentProvenByDp: number;
  /** Instances whose dp search ended in the beam (budget reached), and those it proved optimal. */
  readonly dpBeamInstances: number;
  readonly dpProvenInstances: number;
  /** The same with the large budget. */
  readonly dpLargeWithin3Percent: number;
  readonly dpLargeProven: number;
  readonly dpLargeSolveMedianMs: number;
  readonly dpSolveMedianMs: number;
  readonly dpSolveMaxMs: number;
  readonly glpkOptimal: number;
  readonly highsOptimal: number;
  readonly glpkSolveMedianMs: number;
  readonly highsSolveMedianMs: number;
  /** Both solvers optimal and their objectives within 1e-4 relative (solver tolerances). */
  readonly solversAgree: number;
  readonly bothOptimal: number;
  /** dp ≤ every baseline on every instance. */
  readonly dpNeverWorseThanBaselines: boolean;
  readonly scaleAt40x16Ms?: number;
}

/** Median of numbers (undefined for none). */
export function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((left, right) => left - right);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** The large search budget: the exact search may price 50,000 states (the default: 300), the beam is wider. */
export const LARGE_BUDGET = {
  maxGeneratedStates: 50_000,
  maxExpandedStates: 50_000,
  beamWidth: 32,
  maxImprovementSteps: 10_000,
} as const;

/** Runs of dp per instance; the reported solve time is their median (the machine is shared). */
export const DP_RUNS = 3;

async function milp(
  problem: PlanningProblem,
  solver: "glpk" | "highs",
  timeLimitMs: number,
): Promise<MilpMeasurement> {
  const plan = await runStrategy(problem, { strategy: "milp", solver, timeLimitMs });
  const report = plan.solver!;
  return {
    status: report.status,
    ...(report.objectiveMs === undefined ? {} : { objectiveMs: report.objectiveMs }),
    ...(report.gap === undefined ? {} : { gap: report.gap }),
    solveMs: report.solveMs,
    planMakespanMs: plan.estimatedMakespanMs,
    epochMakespanMs: plan.epochMakespanMs ?? plan.estimatedMakespanMs,
  };
}

/** The optimality instances: the six workloads on 2–4 workers, then seeded random DAGs. */
export async function optimalityInstances(
  config: PlannerBenchmarkConfig,
): Promise<{ name: string; problem: PlanningProblem }[]> {
  const instances: { name: string; problem: PlanningProblem }[] = [];
  for (const workload of WORKLOADS) {
    const workflow = await loadWorkload(workload);
    const queries = await workload.generateQueries(config.queries, 1);
    for (const workers of config.workloadWorkers) {
      const { problem } = estimateProblem({ workflow, queries, workers: identicalWorkers(workers) });
      instances.push({ name: `${workload.id}-${workload.name}×${workers}`, problem });
    }
  }
  // The seeded random DAGs come from @halo/optimizer/testing, so researchers plan on the same instances.
  instances.push(
    ...randomPlannerInstances({ queries: config.queries, randomInstances: config.randomInstances }),
  );
  return instances;
}

async function measureOptimality(
  name: string,
  problem: PlanningProblem,
  config: PlannerBenchmarkConfig,
): Promise<OptimalityRow> {
  const runs: ExecutionPlan[] = [];
  for (let run = 0; run < DP_RUNS; run++) runs.push(await runStrategy(problem, { strategy: "dp" }));
  const dp = runs[0]!;
  if (runs.some((plan) => plan.estimatedMakespanMs !== dp.estimatedMakespanMs)) {
    throw new Error(`${name}: dp gave different plans on the same input`);
  }
  const dpSolveRunsMs = runs.map((plan) => plan.solveMs);
  const whole = await runStrategy(problem, { strategy: "dp", splitOperators: false });
  const large = await runStrategy(problem, { strategy: "dp", ...LARGE_BUDGET });
  const baselines: ExecutionPlan[] = [];
  for (const strategy of ["greedy", "rr-topo", "opwise", "minswitch"]) {
    baselines.push(await runStrategy(problem, { strategy }));
  }
  const best = baselines.reduce((left, right) =>
    right.estimatedMakespanMs < left.estimatedMakespanMs ? right : left,
  );
  const glpk = await milp(problem, "glpk", config.glpkTimeLimitMs);
  const highs = await milp(problem, "highs", config.highsTimeLimitMs);
  const optimum =
    highs.status === "optimal" ? highs.objectiveMs : glpk.status === "optimal" ? glpk.objectiveMs : undefined;
  const llm = problem.operators.filter((operator) => operator.kind === "llm");
  return {
    instance: name,
    llmOperators: llm.length,
    toolOperators: problem.operators.length - llm.length,
    workers: problem.workers.length,
    models: new Set(llm.map((operator) => (operator.kind === "llm" ? operator.model : ""))).size,
    lowerBoundMs: dp.lowerBoundMs,
    dpMakespanMs: dp.estimatedMakespanMs,
    dpSolveMs: median(dpSolveRunsMs)!,
    dpSolveRunsMs,
    dpMode: dp.search?.mode ?? "exact",
    dpProven: dp.search?.proven ?? false,
    dpEpochMakespanMs: dp.epochMakespanMs ?? dp.estimatedMakespanMs,
    dpWholeMakespanMs: whole.estimatedMakespanMs,
    dpWholeSolveMs: whole.solveMs,
    dpLargeMakespanMs: large.estimatedMakespanMs,
    dpLargeSolveMs: large.solveMs,
    dpLargeProven: large.search?.proven ?? false,
    bestBaselineMs: best.estimatedMakespanMs,
    bestBaseline: best.strategy,
    glpk,
    highs,
    ...(optimum === undefined
      ? {}
      : {
          milpOptimumMs: optimum,
          dpOverOptimum: dp.estimatedMakespanMs / optimum,
          dpWholeOverOptimum: whole.estimatedMakespanMs / optimum,
          dpLargeOverOptimum: large.estimatedMakespanMs / optimum,
        }),
  };
}

async function measureScale(
  problem: PlanningProblem,
): Promise<Omit<ScaleRow, "llmOperators" | "workers" | "queries">> {
  const runs: ExecutionPlan[] = [];
  for (let run = 0; run < DP_RUNS; run++) runs.push(await runStrategy(problem, { strategy: "dp" }));
  const dp = runs[0]!;
  const greedy = await runStrategy(problem, { strategy: "greedy" });
  return {
    dpSolveMs: median(runs.map((plan) => plan.solveMs))!,
    dpMode: dp.search?.mode ?? "exact",
    dpMakespanMs: dp.estimatedMakespanMs,
    greedyMakespanMs: greedy.estimatedMakespanMs,
    lowerBoundMs: dp.lowerBoundMs,
  };
}

/** Runs the whole benchmark; `log` gets one line per measurement. */
export async function runPlannerBenchmark(
  config: PlannerBenchmarkConfig,
  command: string,
  log: (line: string) => void,
): Promise<PlannerBenchmarkResults> {
  const optimality: OptimalityRow[] = [];
  for (const { name, problem } of await optimalityInstances(config)) {
    const row = await measureOptimality(name, problem, config);
    optimality.push(row);
    log(
      `${name}: dp ${(row.dpMakespanMs / 1000).toFixed(1)} s in ${row.dpSolveMs.toFixed(1)} ms (${row.dpMode}); ` +
        `milp glpk ${row.glpk.status} ${row.glpk.solveMs.toFixed(0)} ms, highs ${row.highs.status} ${row.highs.solveMs.toFixed(0)} ms` +
        (row.dpOverOptimum === undefined ? "" : `; dp/optimum ${row.dpOverOptimum.toFixed(3)}`),
    );
  }
  const scale: ScaleRow[] = [];
  for (const llmOperators of config.scaleOperators) {
    for (const workers of config.scaleWorkers) {
      const problem = randomProblem({
        seed: 7,
        queries: config.queries,
        workers,
        llmOperators,
        modelCount: 3,
      });
      const row = { llmOperators, workers, queries: config.queries, ...(await measureScale(problem)) };
      scale.push(row);
      log(
        `scale ${llmOperators} ops × ${workers} workers: dp ${row.dpSolveMs.toFixed(0)} ms (${row.dpMode})`,
      );
    }
  }
  const queriesSweep: ScaleRow[] = [];
  for (const queries of config.scaleQueries) {
    for (const [label, problem] of [
      ["W1 shape × 4", workloadShapeProblem("W1", { queries, workers: 4, seed: 3 })],
      ["40 ops × 16", randomProblem({ seed: 7, queries, workers: 16, llmOperators: 40, modelCount: 3 })],
    ] as const) {
      const llm = problem.operators.filter((operator) => operator.kind === "llm").length;
      const row = {
        llmOperators: llm,
        workers: problem.workers.length,
        queries,
        ...(await measureScale(problem)),
      };
      queriesSweep.push(row);
      log(`queries ${queries} (${label}): dp ${row.dpSolveMs.toFixed(0)} ms (${row.dpMode})`);
    }
  }
  return {
    command,
    date: new Date().toISOString().slice(0, 10),
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? "unknown", node: process.version },
    config,
    optimality,
    scale,
    queriesSweep,
    summary: summarize(optimality, scale),
  };
}

/** The headline figures of a run. */
export function summarize(optimality: readonly OptimalityRow[], scale: readonly ScaleRow[]): PlannerSummary {
  const proven = optimality.filter((row) => row.milpOptimumMs !== undefined);
  const ratios = proven.map((row) => row.dpOverOptimum!);
  const wholeRatios = proven.map((row) => row.dpWholeOverOptimum!);
  const dpTimes = optimality.map((row) => row.dpSolveMs);
  const bothOptimal = optimality.filter(
    (row) => row.glpk.status === "optimal" && row.highs.status === "optimal",
  );
  const at40x16 = scale.find((row) => row.llmOperators === 40 && row.workers === 16);
  const optional = (name: string, value: number | undefined) =>
    value === undefined ? {} : { [name]: value };
  return {
    instances: optimality.length,
    provenByMilp: proven.length,
    dpWithin3Percent: ratios.filter((ratio) => ratio <= 1.03).length,
    ...optional("dpOverOptimumMax", ratios.length > 0 ? Math.max(...ratios) : undefined),
    ...optional("dpOverOptimumMedian", median(ratios)),
    ...optional("dpWholeOverOptimumMax", wholeRatios.length > 0 ? Math.max(...wholeRatios) : undefined),
    ...optional("dpWholeOverOptimumMedian", median(wholeRatios)),
    dpOver3Percent: proven.filter((row) => row.dpOverOptimum! > 1.03).length,
    dpOver3PercentProvenByDp: proven.filter((row) => row.dpOverOptimum! > 1.03 && row.dpProven).length,
    dpBeamInstances: optimality.filter((row) => row.dpMode === "beam").length,
    dpProvenInstances: optimality.filter((row) => row.dpProven).length,
    dpLargeWithin3Percent: proven.filter((row) => row.dpLargeOverOptimum! <= 1.03).length,
    dpLargeProven: optimality.filter((row) => row.dpLargeProven).length,
    dpLargeSolveMedianMs: median(optimality.map((row) => row.dpLargeSolveMs)) ?? 0,
    dpSolveMedianMs: median(dpTimes) ?? 0,
    dpSolveMaxMs: Math.max(0, ...dpTimes),
    glpkOptimal: optimality.filter((row) => row.glpk.status === "optimal").length,
    highsOptimal: optimality.filter((row) => row.highs.status === "optimal").length,
    glpkSolveMedianMs: median(optimality.map((row) => row.glpk.solveMs)) ?? 0,
    highsSolveMedianMs: median(optimality.map((row) => row.highs.solveMs)) ?? 0,
    solversAgree: bothOptimal.filter(
      (row) =>
        Math.abs(row.glpk.objectiveMs! - row.highs.objectiveMs!) <=
        1e-4 * Math.max(1, row.highs.objectiveMs!),
    ).length,
    bothOptimal: bothOptimal.length,
    dpNeverWorseThanBaselines: optimality.every((row) => row.dpMakespanMs <= row.bestBaselineMs + 1e-6),
    ...optional("scaleAt40x16Ms", at40x16?.dpSolveMs),
  };
}
