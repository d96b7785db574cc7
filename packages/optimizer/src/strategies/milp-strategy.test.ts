import { describe, expect, it } from "vitest";
import { runStrategy } from "../run-strategy.js";
import { workloadShapeProblem } from "../test/index.js";
import { plannerInstances } from "../testing/planner-instances.js";

/**
 * The oracle's bound holds for every plan in dp's plan space: on every
 * generated instance (the planner benchmark's, at a short time limit, where
 * the solver's dual bound is what counts) dp ÷ bound ≥ 1, and the oracle's
 * plan is dp's or better. Exactness against exhaustive search is in
 * `milp-model.test.ts`.
 */
describe("milp", () => {
  it("dp ÷ bound ≥ 1 on every generated instance", async () => {
    for (const { name, problem } of plannerInstances({ queries: 1000 })) {
      const dp = await runStrategy(problem, { strategy: "dp" });
      const milp = await runStrategy(problem, { strategy: "milp", solver: "highs", timeLimitMs: 500 });
      const report = milp.solver!;
      expect(report.bestBoundMs, name).toBeGreaterThan(0);
      expect(dp.estimatedMakespanMs / report.bestBoundMs!, name).toBeGreaterThanOrEqual(1 - 1e-9);
      expect(milp.estimatedMakespanMs, name).toBeLessThanOrEqual(dp.estimatedMakespanMs + 1e-6);
      expect(milp.warnings.join("\n"), name).not.toContain("infeasible");
    }
  });

  it("reports the gap to its bound when the time limit cuts it short", async () => {
    const problem = workloadShapeProblem("W6", { queries: 300, workers: 4, seed: 2 });
    for (const solver of ["glpk", "highs"] as const) {
      const plan = await runStrategy(problem, { strategy: "milp", solver, timeLimitMs: 50 });
      const report = plan.solver!;
      expect(["optimal", "feasible", "no-solution"]).toContain(report.status);
      expect(report.gap).toBeGreaterThanOrEqual(0);
      expect(report.incumbentMs).toBeCloseTo(plan.estimatedMakespanMs, 6);
      expect(report.proven).toBe(report.gap! <= 1e-4);
      if (!report.proven) expect(plan.warnings.join("\n")).toContain("above the lower bound");
    }
  });
});
