import { cpus, loadavg } from "node:os";
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
  randomInstances: 64,
  glpkTimeLimitMs: 5_000,
  highsTimeLimitMs: 20_000,
  scaleOperators: [10, 20, 40, 80],
  scaleWorkers: [2, 4, 8, 16, 32, 64],
  scaleQueries: [100, 1000, 10_000],
};

/** One solver's run of the oracle (the MILP over dp's plan space) on one instance. */
export interface MilpMeasurement {
  readonly status: SolverReport["status"];
  /** The solver's objective on the relaxed model (its own solution, optimistic pricing). */
  readonly objectiveMs?: number;
  /** Lower bound on every plan in dp's plan space (solver optimum or dual bound, or the combinatorial bound). */
  readonly boundMs: number;
  /** The best plan it knows (dp's or its own, priced by the list scheduler). */
  readonly incumbentMs: number;
  readonly incumbent: "dp" | "milp";
  readonly proven: boolean;
  readonly gap: number;
  readonly solveMs: number;
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
  /** Median wall-clock solve time of `DP_RUNS` runs (the plans are identical: the DP is deterministic). */
  readonly dpSolveMs: number;
  readonly dpSolveRunsMs: readonly number[];
  /** Median CPU time (user + system, `process.cpuUsage`) of the same runs: less sensitive to a loaded machine. */
  readonly dpCpuMs: number;
  readonly dpMode: string;
  readonly dpProven: boolean;
  /** dp's plan splits some operator over several workers. */
  readonly dpSplits: boolean;
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
  /** The oracle over both solvers: the larger bound, the best plan (dp, glpk's or HiGHS's). */
  readonly boundMs: number;
  readonly incumbentMs: number;
  /** (incumbent − bound) / incumbent; proven when ≤ 0.01 %. */
  readonly gap: number;
  readonly proven: boolean;
  /** The best plan splits some operator over several workers. */
  readonly optimumSplits: boolean;
  /** The proven optimum (the incumbent of a proven instance). */
  readonly optimumMs?: number;
  /** dp / bound: never below 1 (the bound holds for every plan in dp's space). */
  readonly dpOverBound: number;
  /** dp / proven optimum, dp (whole) / optimum, dp large budget / optimum. */
  readonly dpOverOptimum?: number;
  readonly dpWholeOverOptimum?: number;
  readonly dpLargeOverOptimum?: number;
}

export interface ScaleRow {
  readonly llmOperators: number;
  readonly workers: number;
  readonly queries: number;
  /** Median of `DP_RUNS` runs: wall clock and CPU. */
  readonly dpSolveMs: number;
  readonly dpCpuMs: number;
  readonly dpMode: string;
  readonly dpMakespanMs: number;
  readonly greedyMakespanMs: number;
  readonly lowerBoundMs: number;
}

export interface PlannerBenchmarkResults {
  readonly command: string;
  /** Day of the run (UTC, YYYY-MM-DD). */
  readonly date: string;
  readonly machine: {
    readonly cpus: number;
    readonly cpuModel: string;
    readonly node: string;
    /** 1-minute load average at the start and the end of the run (the machine is shared). */
    readonly loadAverage: { readonly start: number; readonly end: number };
  };
  readonly config: PlannerBenchmarkConfig;
  readonly optimality: readonly OptimalityRow[];
  readonly scale: readonly ScaleRow[];
  readonly queriesSweep: readonly ScaleRow[];
  readonly summary: PlannerSummary;
}

export interface PlannerSummary {
  readonly instances: number;
  /** Instances where the oracle's bound and best plan meet (gap ≤ 0.01 %), and of those, where that plan splits an operator. */
  readonly proven: number;
  readonly provenWithSplits: number;
  /** Proven instances where dp ≤ 1.03 × optimum. */
  readonly dpWithin3Percent: number;
  readonly dpOverOptimumMax?: number;
  readonly dpOverOptimumMedian?: number;
  readonly dpWholeOverOptimumMax?: number;
  readonly dpWholeOverOptimumMedian?: number;
  /** dp / bound over every instance (never below 1). */
  readonly dpOverBoundMin: number;
  readonly dpOverBoundMedian: number;
  readonly dpOverBoundMax: number;
  /** dp ≤ 1.03 × bound: within 3 % of optimal whether or not the optimum is proven. */
  readonly dpWithin3PercentOfBound: number;
  /** Of those, instances where dp's plan splits an operator. */
  readonly dpWithin3PercentOfBoundWithSplits: number;
  /** Gap (incumbent − bound) / incumbent of the instances not proven. */
  readonly unprovenGapMedian?: number;
  readonly unprovenGapMax?: number;
  /** Instances where the oracle found a plan better than dp's, and by how much at most (dp / best). */
  readonly oracleBeatDp: number;
  readonly dpOverBestMax: number;
  /** Instances whose dp search ended in the beam (budget reached), and those it proved optimal. */
  readonly dpBeamInstances: number;
  readonly dpProvenInstances: number;
  /** With the large budget: within 3 % of the proven optimum, and proven by dp. */
  readonly dpLargeWithin3Percent: number;
  readonly dpLargeProven: number;
  readonly dpLargeSolveMedianMs: number;
  readonly dpSolveMedianMs: number;
  readonly dpCpuMedianMs: number;
  readonly dpSolveMaxMs: number;
  readonly glpkProven: number;
  readonly highsProven: number;
  readonly glpkSolveMedianMs: number;
  readonly highsSolveMedianMs: number;
  /** dp ≤ every baseline on every instance. */
  readonly dpNeverWorseThanBaselines: boolean;
  readonly scaleAt40x16Ms?: number;
  readonly scaleAt40x16CpuMs?: number;
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

async function oracle(
  problem: PlanningProblem,
  solver: "glpk" | "highs",
  timeLimitMs: number,
): Promise<{ measurement: MilpMeasurement; plan: ExecutionPlan }> {
  const plan = await runStrategy(problem, { strategy: "milp", solver, timeLimitMs });
  const report = plan.solver!;
  return {
    plan,
    measurement: {
      status: report.status,
      ...(report.objectiveMs === undefined ? {} : { objectiveMs: report.objectiveMs }),
      boundMs: report.bestBoundMs ?? 0,
      incumbentMs: plan.estimatedMakespanMs,
      incumbent: report.incumbent ?? "milp",
      proven: report.proven ?? false,
      gap: report.gap ?? 1,
      solveMs: report.solveMs,
    },
  };
}

/** A plan splits an operator when some epoch runs it on several workers. */
export function planSplits(plan: ExecutionPlan): boolean {
  return plan.epochs.some((epoch) => {
    const seen = new Set<string>();
    for (const step of epoch.steps) {
      if (seen.has(step.operator)) return true;
      seen.add(step.operator);
    }
    return false;
  });
}

/** Relative gap under which bound and plan count as meeting (as the oracle's `proven`). */
export const PROVEN_GAP = 1e-4;

/** dp runs with wall-clock and CPU time. */
async function timedDp(problem: PlanningProblem): Promise<{ plans: ExecutionPlan[]; cpuMs: number[] }> {
  const plans: ExecutionPlan[] = [];
  const cpuMs: number[] = [];
  for (let run = 0; run < DP_RUNS; run++) {
    const before = process.cpuUsage();
    plans.push(await runStrategy(problem, { strategy: "dp" }));
    const used = process.cpuUsage(before);
    cpuMs.push((used.user + used.system) / 1000);
  }
  return { plans, cpuMs };
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
  const { plans: runs, cpuMs } = await timedDp(problem);
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
  const glpk = await oracle(problem, "glpk", config.glpkTimeLimitMs);
  const highs = await oracle(problem, "highs", config.highsTimeLimitMs);
  // Both bounds hold; the best plan of all is the incumbent.
  const boundMs = Math.max(glpk.measurement.boundMs, highs.measurement.boundMs);
  const candidates = [dp, glpk.plan, highs.plan, large];
  const bestPlan = candidates.reduce((left, right) =>
    right.estimatedMakespanMs < left.estimatedMakespanMs ? right : left,
  );
  const incumbentMs = bestPlan.estimatedMakespanMs;
  const gap = Math.max(0, (incumbentMs - boundMs) / incumbentMs);
  const proven = gap <= PROVEN_GAP;
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
    dpCpuMs: median(cpuMs)!,
    dpMode: dp.search?.mode ?? "exact",
    dpProven: dp.search?.proven ?? false,
    dpSplits: planSplits(dp),
    dpEpochMakespanMs: dp.epochMakespanMs ?? dp.estimatedMakespanMs,
    dpWholeMakespanMs: whole.estimatedMakespanMs,
    dpWholeSolveMs: whole.solveMs,
    dpLargeMakespanMs: large.estimatedMakespanMs,
    dpLargeSolveMs: large.solveMs,
    dpLargeProven: large.search?.proven ?? false,
    bestBaselineMs: best.estimatedMakespanMs,
    bestBaseline: best.strategy,
    glpk: glpk.measurement,
    highs: highs.measurement,
    boundMs,
    incumbentMs,
    gap,
    proven,
    optimumSplits: planSplits(bestPlan),
    dpOverBound: dp.estimatedMakespanMs / boundMs,
    ...(proven
      ? {
          optimumMs: incumbentMs,
          dpOverOptimum: dp.estimatedMakespanMs / incumbentMs,
          dpWholeOverOptimum: whole.estimatedMakespanMs / incumbentMs,
          dpLargeOverOptimum: large.estimatedMakespanMs / incumbentMs,
        }
      : {}),
  };
}

async function measureScale(
  problem: PlanningProblem,
): Promise<Omit<ScaleRow, "llmOperators" | "workers" | "queries">> {
  const { plans: runs, cpuMs } = await timedDp(problem);
  const dp = runs[0]!;
  const greedy = await runStrategy(problem, { strategy: "greedy" });
  return {
    dpSolveMs: median(runs.map((plan) => plan.solveMs))!,
    dpCpuMs: median(cpuMs)!,
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
  const loadStart = loadavg()[0]!;
  const optimality: OptimalityRow[] = [];
  for (const { name, problem } of await optimalityInstances(config)) {
    const row = await measureOptimality(name, problem, config);
    optimality.push(row);
    log(
      `${name}: dp ${(row.dpMakespanMs / 1000).toFixed(1)} s in ${row.dpSolveMs.toFixed(1)} ms (${row.dpCpuMs.toFixed(1)} ms CPU, ${row.dpMode}); ` +
        `oracle glpk ${row.glpk.status} ${row.glpk.solveMs.toFixed(0)} ms, highs ${row.highs.status} ${row.highs.solveMs.toFixed(0)} ms; ` +
        `dp/bound ${row.dpOverBound.toFixed(3)}` +
        (row.dpOverOptimum === undefined
          ? `, gap ${(row.gap * 100).toFixed(1)}%`
          : `; proven, dp/optimum ${row.dpOverOptimum.toFixed(3)}`),
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
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? "unknown",
      node: process.version,
      loadAverage: { start: loadStart, end: loadavg()[0]! },
    },
    config,
    optimality,
    scale,
    queriesSweep,
    summary: summarize(optimality, scale),
  };
}

/** The headline figures of a run. */
export function summarize(optimality: readonly OptimalityRow[], scale: readonly ScaleRow[]): PlannerSummary {
  const proven = optimality.filter((row) => row.proven);
  const unproven = optimality.filter((row) => !row.proven);
  const ratios = proven.map((row) => row.dpOverOptimum!);
  const wholeRatios = proven.map((row) => row.dpWholeOverOptimum!);
  const overBound = optimality.map((row) => row.dpOverBound);
  const gaps = unproven.map((row) => row.gap);
  const dpTimes = optimality.map((row) => row.dpSolveMs);
  const at40x16 = scale.find((row) => row.llmOperators === 40 && row.workers === 16);
  const optional = (name: string, value: number | undefined) =>
    value === undefined ? {} : { [name]: value };
  return {
    instances: optimality.length,
    proven: proven.length,
    provenWithSplits: proven.filter((row) => row.optimumSplits).length,
    dpWithin3Percent: ratios.filter((ratio) => ratio <= 1.03).length,
    ...optional("dpOverOptimumMax", ratios.length > 0 ? Math.max(...ratios) : undefined),
    ...optional("dpOverOptimumMedian", median(ratios)),
    ...optional("dpWholeOverOptimumMax", wholeRatios.length > 0 ? Math.max(...wholeRatios) : undefined),
    ...optional("dpWholeOverOptimumMedian", median(wholeRatios)),
    dpOverBoundMin: overBound.length > 0 ? Math.min(...overBound) : 1,
    dpOverBoundMedian: median(overBound) ?? 1,
    dpOverBoundMax: overBound.length > 0 ? Math.max(...overBound) : 1,
    dpWithin3PercentOfBound: overBound.filter((ratio) => ratio <= 1.03).length,
    dpWithin3PercentOfBoundWithSplits: optimality.filter((row) => row.dpOverBound <= 1.03 && row.dpSplits)
      .length,
    ...optional("unprovenGapMedian", median(gaps)),
    ...optional("unprovenGapMax", gaps.length > 0 ? Math.max(...gaps) : undefined),
    oracleBeatDp: optimality.filter((row) => row.incumbentMs < row.dpMakespanMs * (1 - 1e-9)).length,
    dpOverBestMax: Math.max(1, ...optimality.map((row) => row.dpMakespanMs / row.incumbentMs)),
    dpBeamInstances: optimality.filter((row) => row.dpMode === "beam").length,
    dpProvenInstances: optimality.filter((row) => row.dpProven).length,
    dpLargeWithin3Percent: proven.filter((row) => row.dpLargeOverOptimum! <= 1.03).length,
    dpLargeProven: optimality.filter((row) => row.dpLargeProven).length,
    dpLargeSolveMedianMs: median(optimality.map((row) => row.dpLargeSolveMs)) ?? 0,
    dpSolveMedianMs: median(dpTimes) ?? 0,
    dpCpuMedianMs: median(optimality.map((row) => row.dpCpuMs)) ?? 0,
    dpSolveMaxMs: Math.max(0, ...dpTimes),
    glpkProven: optimality.filter((row) => row.glpk.proven).length,
    highsProven: optimality.filter((row) => row.highs.proven).length,
    glpkSolveMedianMs: median(optimality.map((row) => row.glpk.solveMs)) ?? 0,
    highsSolveMedianMs: median(optimality.map((row) => row.highs.solveMs)) ?? 0,
    dpNeverWorseThanBaselines: optimality.every((row) => row.dpMakespanMs <= row.bestBaselineMs + 1e-6),
    ...optional("scaleAt40x16Ms", at40x16?.dpSolveMs),
    ...optional("scaleAt40x16CpuMs", at40x16?.dpCpuMs),
  };
}
