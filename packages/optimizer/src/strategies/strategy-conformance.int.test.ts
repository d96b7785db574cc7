import { describe, expect, it } from "vitest";
import type { ExecutionPlan } from "../execution-plan.js";
import type { PlanningProblem } from "../planning-problem.js";
import { runStrategy } from "../run-strategy.js";
import { BUILTIN_STRATEGIES } from "../strategy-registry.js";
import {
  identicalWorkers,
  randomProblem,
  SYNTHETIC_POOLS,
  WORKLOAD_SHAPES,
  workloadShapeProblem,
} from "../test/index.js";
import { planProblems } from "../validate-plan.js";

/** The fixtures every strategy must plan: the six shapes, random DAGs, a tool-only and a one-operator workflow. */
function fixtures(): PlanningProblem[] {
  const shapes = WORKLOAD_SHAPES.map((shape, index) =>
    workloadShapeProblem(shape, { queries: 120 + index * 40, workers: 2 + (index % 2), seed: 11 + index }),
  );
  const random = [3, 5, 8].map((seed) =>
    randomProblem({ seed, queries: 300, workers: 3, llmOperators: 6 + seed, modelCount: 1 + (seed % 3) }),
  );
  const toolOnly: PlanningProblem = {
    workflow: "tools-only",
    queryCount: 10,
    operators: [
      { id: "a", kind: "sql", parents: [], pool: "sql", statistics: stats(10) },
      { id: "b", kind: "http", parents: ["a"], pool: "http", statistics: stats(10) },
    ],
    workers: identicalWorkers(1),
    pools: SYNTHETIC_POOLS,
  };
  const single = randomProblem({
    seed: 1,
    queries: 5,
    workers: 2,
    llmOperators: 1,
    modelCount: 1,
    toolOperators: 0,
  });
  return [...shapes, ...random, toolOnly, single];
}

function stats(calls: number) {
  return { instances: calls, distinctRequests: calls, latencyMeanMs: 20, latencyP95Ms: 40 };
}

const FAST = { timeLimitMs: 3_000, maxExpandedStates: 3_000 };

describe.each(BUILTIN_STRATEGIES.map((strategy) => [strategy.name, strategy] as const))(
  "strategy %s",
  (name) => {
    it("plans every fixture validly, never below the lower bound", async () => {
      for (const problem of fixtures()) {
        const plan = await runStrategy(problem, { strategy: name, ...FAST });
        expect(planProblems(plan, problem)).toEqual([]);
        expect(plan.strategy).toBe(name);
        expect(plan.estimatedMakespanMs).toBeGreaterThanOrEqual(plan.lowerBoundMs - 1e-6);
        // The makespan is the last end of any step, preload or tool operator (epochs are priorities, not barriers).
        const ends = [
          ...plan.epochs.map((epoch) => epoch.endMs),
          ...plan.cpuOperators.map((tool) => tool.endMs),
          plan.toolPoolBoundMs,
        ];
        expect(plan.estimatedMakespanMs).toBeCloseTo(Math.max(...ends), 6);
        expect(plan.epochMakespanMs).toBeGreaterThan(0);
        for (const epoch of plan.epochs) {
          for (const step of epoch.steps) {
            expect(step.estimate.endMs).toBeLessThanOrEqual(epoch.endMs + 1e-6);
            expect(step.estimate.totalMs).toBeCloseTo(
              step.estimate.loadMs +
                step.estimate.prefillMs +
                step.estimate.decodeMs +
                step.estimate.migrateMs,
              6,
            );
          }
        }
      }
    });

    it("is deterministic: the same input gives the same plan", async () => {
      const problem = workloadShapeProblem("W4", { queries: 200, workers: 3, seed: 5 });
      const first = await runStrategy(problem, { strategy: name, ...FAST });
      const second = await runStrategy(problem, { strategy: name, ...FAST });
      expect(withoutTimings(second)).toEqual(withoutTimings(first));
    });
  },
);

/**
 * The plan without wall-clock measurements (solve times), which legitimately differ between runs;
 * a solver stopped by its time limit also reports how far it got (its own solution, bound and gap),
 * which depends on the machine's speed.
 */
export function withoutTimings(plan: ExecutionPlan): unknown {
  const { solveMs: _solveMs, solver, ...rest } = plan;
  if (!solver) return rest;
  const { solveMs: _solverMs, ...solverRest } = solver;
  if (solver.proven) return { ...rest, solver: solverRest };
  const {
    status: _status,
    objectiveMs: _objectiveMs,
    bestBoundMs: _bound,
    gap: _gap,
    ...stopped
  } = solverRest;
  return { ...rest, solver: stopped };
}

describe("dp against the baselines", () => {
  it("never costs more than any baseline under the same cost model, with and without ablations", async () => {
    const ablations = [[], ["prefix-sharing"], ["pipelining", "coalescing"], ["migration"]];
    for (const problem of fixtures().slice(0, 8)) {
      for (const disabled of ablations) {
        const dp = await runStrategy(problem, { strategy: "dp", disabled, ...FAST });
        for (const baseline of ["greedy", "rr-topo", "opwise", "minswitch"]) {
          const other = await runStrategy(problem, { strategy: baseline, disabled });
          expect(dp.estimatedMakespanMs, `${problem.workflow} ${baseline} ${disabled}`).toBeLessThanOrEqual(
            other.estimatedMakespanMs + 1e-6,
          );
        }
      }
    }
  });

  it("beats per-query orchestration by a wide margin", async () => {
    const problem = workloadShapeProblem("W1", { queries: 500, workers: 4, seed: 3 });
    const dp = await runStrategy(problem, { ...FAST });
    const naive = await runStrategy(problem, { strategy: "naive" });
    expect(naive.disabledOptimizations).toEqual(["prefix-sharing", "coalescing", "migration", "batching"]);
    expect(dp.estimatedMakespanMs * 5).toBeLessThan(naive.estimatedMakespanMs);
  });

  it("records ablations in the plan and prices them: disabling an optimization never helps", async () => {
    const problem = workloadShapeProblem("W2", { queries: 400, workers: 2, seed: 9 });
    const full = await runStrategy(problem, FAST);
    for (const name of ["prefix-sharing", "coalescing", "migration", "pipelining"]) {
      const ablated = await runStrategy(problem, { disabled: [name], ...FAST });
      expect(ablated.disabledOptimizations).toEqual([name]);
      expect(ablated.estimatedMakespanMs).toBeGreaterThanOrEqual(full.estimatedMakespanMs - 1e-6);
    }
  });
});
