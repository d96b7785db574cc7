import { describe, expect, it } from "vitest";
import { scheduleCostMs } from "../list-schedule.js";
import { continuousBoundTables } from "../lower-bound.js";
import { modelPlacementSchedules } from "../model-placement-schedules.js";
import { NO_DISABLED_OPTIMIZATIONS } from "../planning-problem.js";
import { indexProblem } from "../problem-index.js";
import { runStrategy } from "../run-strategy.js";
import { improveSchedule } from "../schedule-improvement.js";
import { exhaustiveOptimumMs, identicalWorkers, randomProblem, tinyProblems } from "../test/index.js";
import { epochDpStrategy } from "./epoch-dp-strategy.js";
import type { StrategyResult } from "./planning-strategy.js";

/** A budget the exact search finishes within on tiny instances (the default trades exactness for speed). */
const EXACT = { maxGeneratedStates: 500_000, maxExpandedStates: 100_000 };

describe("dp", () => {
  it("equals the exhaustive optimum of the continuous-time model on tiny instances", async () => {
    for (const problem of tinyProblems(24)) {
      const index = indexProblem(problem);
      const optimum = exhaustiveOptimumMs(index, NO_DISABLED_OPTIMIZATIONS);
      const plan = await runStrategy(problem, { strategy: "dp", ...EXACT });
      expect(plan.search?.proven, problem.workflow).toBe(true);
      expect(plan.estimatedMakespanMs, problem.workflow).toBeCloseTo(optimum, 3);
    }
  });

  it("equals the exhaustive optimum without operator splitting and under ablations", async () => {
    for (const problem of tinyProblems(12, 300)) {
      const index = indexProblem(problem);
      const disabled = { ...NO_DISABLED_OPTIMIZATIONS, pipelining: true, prefixSharing: true };
      const noSplit = exhaustiveOptimumMs(index, NO_DISABLED_OPTIMIZATIONS, false);
      const plan = await runStrategy(problem, { strategy: "dp", splitOperators: false, ...EXACT });
      expect(plan.estimatedMakespanMs, problem.workflow).toBeCloseTo(noSplit, 3);
      const ablated = await runStrategy(problem, { strategy: "dp", disabled, ...EXACT });
      expect(ablated.estimatedMakespanMs, problem.workflow).toBeCloseTo(
        exhaustiveOptimumMs(index, disabled),
        3,
      );
    }
  });

  it("its objective is the plan's makespan as the cost model prices it", async () => {
    const problem = randomProblem({ seed: 21, queries: 800, workers: 3, llmOperators: 7, modelCount: 2 });
    const index = indexProblem(problem);
    const result = epochDpStrategy.plan(index, { disabled: NO_DISABLED_OPTIMIZATIONS }) as StrategyResult;
    const plan = await runStrategy(problem, { strategy: "dp" });
    expect(scheduleCostMs(index, result.schedule, NO_DISABLED_OPTIMIZATIONS)).toBeCloseTo(
      plan.estimatedMakespanMs,
      6,
    );
    const ends = [
      ...plan.epochs.map((epoch) => epoch.endMs),
      ...plan.cpuOperators.map((tool) => tool.endMs),
      plan.toolPoolBoundMs,
    ];
    expect(plan.estimatedMakespanMs).toBeCloseTo(Math.max(...ends), 6);
  });

  it("loads a later model on an idle worker while the parent runs (the load overlaps it)", async () => {
    const chain = (id: string, model: string, parents: string[]) => ({
      id,
      kind: "llm" as const,
      model,
      parents,
      statistics: {
        instances: 200,
        distinctRequests: 200,
        sharedPrefixTokens: 300,
        prefixKey: id,
        uniquePromptTokens: 200,
        outputTokens: 100,
      },
    });
    const problem = {
      workflow: "preload",
      queryCount: 200,
      operators: [
        chain("first", "Qwen/Qwen3-14B", []),
        chain("second", "Qwen/Qwen3-32B", ["first"]),
        chain("third", "Qwen/Qwen3-14B", ["second"]),
      ],
      workers: identicalWorkers(2),
      pools: [],
    };
    const plan = await runStrategy(problem, { strategy: "dp", ...EXACT });
    const steps = plan.epochs.flatMap((epoch) => epoch.steps);
    const first = steps.find((step) => step.operator === "first")!;
    const second = steps.find((step) => step.operator === "second")!;
    expect(second.worker).not.toBe(first.worker);
    expect(second.estimate.loadMs).toBeGreaterThan(0);
    // Its worker loads from the start, so its compute starts when the parent ends (or the load does).
    expect(second.estimate.startMs + second.estimate.loadMs).toBeCloseTo(
      Math.max(first.estimate.endMs, second.estimate.loadMs),
      6,
    );
    expect(plan.estimatedMakespanMs).toBeCloseTo(
      exhaustiveOptimumMs(indexProblem(problem), NO_DISABLED_OPTIMIZATIONS),
      3,
    );
  });

  it("falls back to a beam search past its budget, with a warning, and still returns a valid plan", async () => {
    const problem = randomProblem({ seed: 8, queries: 500, workers: 4, llmOperators: 14, modelCount: 3 });
    const plan = await runStrategy(problem, { strategy: "dp", maxExpandedStates: 5, beamWidth: 4 });
    expect(plan.search?.mode).toBe("beam");
    expect(plan.search?.proven).toBe(false);
    expect(plan.warnings.join("\n")).toContain("beam search");
    const greedy = await runStrategy(problem, { strategy: "greedy" });
    expect(plan.estimatedMakespanMs).toBeLessThanOrEqual(greedy.estimatedMakespanMs + 1e-6);
  });

  it("is no worse than the cheapest model placements, each improved locally", async () => {
    // Seed 1024 (12 operators, 2 workers, 3 models, as in the planner benchmark): improving only the
    // best plan stopped 10.8 % above the optimum; the second-cheapest placement leads to within 3 %.
    for (const seed of [1024, 1006]) {
      const problem = randomProblem({ seed, queries: 1000, workers: 2, llmOperators: 12, modelCount: 3 });
      const index = indexProblem(problem);
      const tables = continuousBoundTables(index, NO_DISABLED_OPTIMIZATIONS);
      const placed = modelPlacementSchedules(index, tables, NO_DISABLED_OPTIMIZATIONS, true, 1_000).schedules;
      const cheapest = [...placed].sort(
        (left, right) => left.node.timed.makespanMs - right.node.timed.makespanMs,
      );
      const plan = await runStrategy(problem, { strategy: "dp" });
      for (const schedule of cheapest.slice(0, 2)) {
        const improved = improveSchedule(
          index,
          tables,
          NO_DISABLED_OPTIMIZATIONS,
          schedule.steps,
          true,
          1_500,
        );
        expect(plan.estimatedMakespanMs, `seed ${seed}`).toBeLessThanOrEqual(
          improved!.node.timed.makespanMs + 1e-6,
        );
      }
    }
  });
});
