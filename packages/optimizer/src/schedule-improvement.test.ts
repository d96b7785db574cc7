import { describe, expect, it } from "vitest";
import { listScheduleMakespanMs } from "./list-schedule.js";
import { continuousBoundTables } from "./lower-bound.js";
import { modelPlacementSchedules } from "./model-placement-schedules.js";
import {
  NO_DISABLED_OPTIMIZATIONS,
  type PlannedLlmOperator,
  type PlanningProblem,
} from "./planning-problem.js";
import { indexProblem } from "./problem-index.js";
import { improveSchedule } from "./schedule-improvement.js";
import { isPreload, type OperatorAssignment } from "./search-state.js";
import type { StrategyResult } from "./strategies/planning-strategy.js";
import { roundRobinTopologicalStrategy } from "./strategies/round-robin-topological-strategy.js";
import { identicalWorkers, randomProblem } from "./test/index.js";

const on = NO_DISABLED_OPTIMIZATIONS;

function independent(id: string, model: string): PlannedLlmOperator {
  return {
    id,
    kind: "llm",
    model,
    parents: [],
    statistics: {
      instances: 200,
      distinctRequests: 200,
      sharedPrefixTokens: 100,
      prefixKey: id,
      uniquePromptTokens: 200,
      outputTokens: 50,
    },
  };
}

/** Operators of two models, alternating, none depending on another. */
function alternating(workers: number): PlanningProblem {
  const models = ["Qwen/Qwen3-14B", "openai/gpt-oss-20b"];
  return {
    workflow: "alternating",
    queryCount: 200,
    operators: Array.from({ length: 4 }, (_, position) =>
      independent(`op${position}`, models[position % 2]!),
    ),
    workers: identicalWorkers(workers),
    pools: [],
  };
}

describe("improveSchedule", () => {
  it("reorders a worker's queue to save a model switch", () => {
    const index = indexProblem(alternating(1));
    const tables = continuousBoundTables(index, on);
    const steps = index.llm.map((_, operator) => ({ operator, workers: [0] }));
    const before = listScheduleMakespanMs(
      index,
      steps.map((step) => [step]),
      on,
    )!;
    const improved = improveSchedule(index, tables, on, steps, true, 2_000)!;
    const models = improved.steps.map((step) => index.llm[step.operator]!.model);
    // One switch instead of three: each model's operators run together.
    expect(models.filter((model, position) => position > 0 && model !== models[position - 1])).toHaveLength(
      1,
    );
    expect(improved.node.timed.makespanMs).toBeLessThan(before);
    expect(
      listScheduleMakespanMs(
        index,
        improved.steps.map((step) => [step]),
        on,
      ),
    ).toBeCloseTo(improved.node.timed.makespanMs, 6);
  });

  it("never returns a worse plan, and stays within its budget", () => {
    const problem = randomProblem({ seed: 31, queries: 600, workers: 3, llmOperators: 9, modelCount: 3 });
    const index = indexProblem(problem);
    const tables = continuousBoundTables(index, on);
    const { schedule } = roundRobinTopologicalStrategy.plan(index, { disabled: on }) as StrategyResult;
    const steps = schedule.flatMap((epoch) =>
      epoch.filter((step): step is OperatorAssignment => !isPreload(step)),
    );
    const before = listScheduleMakespanMs(
      index,
      steps.map((step) => [step]),
      on,
    )!;
    const improved = improveSchedule(index, tables, on, steps, true, 400)!;
    expect(improved.node.timed.makespanMs).toBeLessThanOrEqual(before);
    expect(improved.pricedSteps).toBeLessThanOrEqual(400 + steps.length);
  });
});

describe("modelPlacementSchedules", () => {
  it("includes a plan that loads each model on one worker of its own", () => {
    const index = indexProblem(alternating(2));
    const tables = continuousBoundTables(index, on);
    const { schedules } = modelPlacementSchedules(index, tables, on, true, 1_000);
    expect(schedules.length).toBeGreaterThan(1);
    const separated = schedules.some(({ steps }) =>
      steps.every(
        (step) =>
          step.workers.length === 1 &&
          steps.every(
            (other) =>
              index.llm[other.operator]!.model !== index.llm[step.operator]!.model ||
              other.workers[0] === step.workers[0],
          ),
      ),
    );
    expect(separated).toBe(true);
    for (const { steps, node } of schedules) {
      expect(steps).toHaveLength(index.llm.length);
      expect(
        listScheduleMakespanMs(
          index,
          steps.map((step) => [step]),
          on,
        ),
      ).toBeCloseTo(node.timed.makespanMs, 6);
    }
  });
});
