import { describe, expect, it } from "vitest";
import { PlanningError } from "../planning-problem.js";
import { runStrategy } from "../run-strategy.js";
import { roundRobinTopologicalStrategy } from "../strategies/round-robin-topological-strategy.js";
import { getStrategy, registerStrategy } from "../strategy-registry.js";
import { randomProblem } from "../test/synthetic-problems.js";
import { compareStrategy, plannerInstances, randomPlannerInstances } from "./index.js";

describe("@halo/optimizer/testing", () => {
  it("generates the planner benchmark's seeded random DAGs, the same for the same options", () => {
    const instances = randomPlannerInstances({ randomInstances: 4, queries: 100 });
    expect(instances.map((instance) => instance.name)).toEqual([
      "random-1000 6ops×2",
      "random-1001 7ops×3",
      "random-1002 8ops×4",
      "random-1003 9ops×2",
    ]);
    expect(instances[3]!.problem).toEqual(
      randomProblem({ seed: 1003, queries: 100, workers: 2, llmOperators: 9, modelCount: 2 }),
    );
    const all = plannerInstances({ randomInstances: 1, shapeWorkers: [2], queries: 100 });
    expect(all.map((instance) => instance.name)).toEqual([
      "W1×2",
      "W2×2",
      "W3×2",
      "W4×2",
      "W5×2",
      "W6×2",
      "random-1000 6ops×2",
    ]);
  });

  it("compares an outside strategy with dp and the MILP oracle on every instance", async () => {
    const outside = { ...roundRobinTopologicalStrategy, name: "outside-rr" };
    const instances = randomPlannerInstances({ randomInstances: 2, queries: 50 });
    const rows = await compareStrategy(outside, instances, {
      milp: { solver: "highs", timeLimitMs: 20_000 },
    });
    expect(rows.map((row) => row.instance)).toEqual(instances.map((instance) => instance.name));
    for (const row of rows) {
      expect(row.makespanMs).toBeGreaterThanOrEqual(row.lowerBoundMs);
      // dp seeds its search with the baselines, rr-topo among them: it is never worse.
      expect(row.dpMakespanMs).toBeLessThanOrEqual(row.makespanMs * (1 + 1e-9));
      expect(row.overDp).toBeCloseTo(row.makespanMs / row.dpMakespanMs, 12);
      expect(row.milpStatus).toBeDefined();
      // rr-topo's plans are in dp's plan space: the oracle's bound is below them, and below dp's.
      expect(row.optimumBoundMs).toBeDefined();
      expect(row.overBound!).toBeGreaterThanOrEqual(1 - 1e-9);
      expect(row.dpMakespanMs / row.optimumBoundMs!).toBeGreaterThanOrEqual(1 - 1e-9);
      if (row.milpOptimumMs !== undefined) {
        expect(row.milpProven).toBe(true);
        expect(row.overOptimum).toBeGreaterThanOrEqual(1 - 1e-9);
      }
    }
  });

  it("names the instance when the strategy's schedule is invalid", async () => {
    const broken = {
      specificationVersion: "v1" as const,
      name: "broken",
      description: "leaves every operator out",
      plan: () => ({ schedule: [], warnings: [] }),
    };
    const instances = randomPlannerInstances({ randomInstances: 1, queries: 10 });
    await expect(compareStrategy(broken, instances, { milp: false })).rejects.toThrow(/instance random-1000/);
  });
});

describe("the strategy contract", () => {
  it("registerStrategy and runStrategy reject objects that do not implement PlanningStrategy v1", async () => {
    const unversioned = { name: "old", description: "no version", plan: roundRobinTopologicalStrategy.plan };
    expect(() => registerStrategy(unversioned as never)).toThrow(PlanningError);
    expect(() => registerStrategy(unversioned as never)).toThrow(/specificationVersion must be "v1"/);
    const problem = randomProblem({ seed: 1, queries: 10, workers: 2, llmOperators: 4, modelCount: 1 });
    await expect(
      runStrategy(problem, { strategy: { ...unversioned, specificationVersion: "v2" } as never }),
    ).rejects.toThrow(/not a planning strategy/);
  });

  it("a registered outside strategy plans by name", async () => {
    registerStrategy({ ...roundRobinTopologicalStrategy, name: "research-rr" });
    expect(getStrategy("research-rr").name).toBe("research-rr");
    const problem = randomProblem({ seed: 2, queries: 10, workers: 2, llmOperators: 5, modelCount: 2 });
    const plan = await runStrategy(problem, { strategy: "research-rr" });
    expect(plan.strategy).toBe("research-rr");
  });
});
