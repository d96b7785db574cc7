import type { PlanningProblem } from "../planning-problem.js";
import { randomProblem, WORKLOAD_SHAPES, workloadShapeProblem } from "../test/synthetic-problems.js";

/** One planning instance of the planner benchmark. */
export interface PlannerInstance {
  readonly name: string;
  readonly problem: PlanningProblem;
}

/** Options of `plannerInstances`; the defaults are the planner benchmark's. */
export interface PlannerInstancesOptions {
  /** Queries of each instance (default 1000). */
  readonly queries?: number;
  /** Seeded random DAGs (default 32; 6–14 LLM operators, 2–4 workers, 1–3 models). */
  readonly randomInstances?: number;
  /** Worker counts the six workload shapes are planned on (default 2, 3, 4; [] for none). */
  readonly shapeWorkers?: readonly number[];
  /** Seed of the first random DAG (default 1000). */
  readonly firstSeed?: number;
}

/**
 * The seeded random DAGs of the planner benchmark (`benchmarks/planner`):
 * instance i has 6 + i mod 9 LLM operators, 2 + i mod 3 workers and
 * 1 + ⌊i/3⌋ mod 3 models, seed `firstSeed + i`. Same options, same problems.
 */
export function randomPlannerInstances(options: PlannerInstancesOptions = {}): PlannerInstance[] {
  const queries = options.queries ?? 1000;
  const firstSeed = options.firstSeed ?? 1000;
  const instances: PlannerInstance[] = [];
  for (let index = 0; index < (options.randomInstances ?? 32); index++) {
    const llmOperators = 6 + (index % 9);
    const workers = 2 + (index % 3);
    const modelCount = 1 + (Math.floor(index / 3) % 3);
    const seed = firstSeed + index;
    const problem = randomProblem({ seed, queries, workers, llmOperators, modelCount });
    instances.push({ name: `random-${seed} ${llmOperators}ops×${workers}`, problem });
  }
  return instances;
}

/**
 * Research instances: the six workload shapes (W1–W6, synthetic statistics of
 * the benchmark workloads' DAGs) on each worker count, then the planner
 * benchmark's seeded random DAGs.
 */
export function plannerInstances(options: PlannerInstancesOptions = {}): PlannerInstance[] {
  const queries = options.queries ?? 1000;
  const instances: PlannerInstance[] = [];
  for (const shape of WORKLOAD_SHAPES) {
    for (const workers of options.shapeWorkers ?? [2, 3, 4]) {
      instances.push({
        name: `${shape}×${workers}`,
        problem: workloadShapeProblem(shape, { queries, workers, seed: 1 }),
      });
    }
  }
  return [...instances, ...randomPlannerInstances(options)];
}
