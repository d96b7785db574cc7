import { describe, expect, it } from "vitest";
import { NO_DISABLED_OPTIMIZATIONS } from "../planning-problem.js";
import { indexProblem } from "../problem-index.js";
import { runStrategy } from "../run-strategy.js";
import { exhaustiveOptimumMs, identicalWorkers, tinyProblems, workloadShapeProblem } from "../test/index.js";

/**
 * The MILP and the DP's continuous-time model describe the same thing for
 * whole operators: on tiny instances (tools, inherited context and several
 * models included) the MILP's optimum equals the exhaustive optimum of the
 * list-scheduled plans without operator splitting, and the MILP's own plan,
 * priced by the list scheduler, costs its objective.
 */
describe("milp", () => {
  it.each(["glpk", "highs"] as const)(
    "with %s equals the exhaustive whole-operator optimum of the continuous-time model",
    async (solver) => {
      for (const problem of tinyProblems(6, 500)) {
        const optimum = exhaustiveOptimumMs(indexProblem(problem), NO_DISABLED_OPTIMIZATIONS, false);
        const plan = await runStrategy(problem, { strategy: "milp", solver, timeLimitMs: 10_000 });
        expect(plan.solver?.status, problem.workflow).toBe("optimal");
        expect(plan.solver?.gap).toBe(0);
        expect(plan.solver!.objectiveMs! / optimum, problem.workflow).toBeCloseTo(1, 5);
        expect(plan.estimatedMakespanMs / optimum, problem.workflow).toBeCloseTo(1, 5);
      }
    },
  );

  it("agrees with the exhaustive optimum on more workers and across solvers", async () => {
    for (const problem of tinyProblems(6, 600).map((tiny) => ({ ...tiny, workers: identicalWorkers(3) }))) {
      const optimum = exhaustiveOptimumMs(indexProblem(problem), NO_DISABLED_OPTIMIZATIONS, false);
      const glpk = await runStrategy(problem, { strategy: "milp", solver: "glpk", timeLimitMs: 10_000 });
      const highs = await runStrategy(problem, { strategy: "milp", solver: "highs", timeLimitMs: 10_000 });
      expect(glpk.solver?.status).toBe("optimal");
      expect(highs.solver?.status).toBe("optimal");
      expect(highs.solver!.objectiveMs! / optimum, problem.workflow).toBeCloseTo(1, 5);
      expect(highs.solver!.objectiveMs! / glpk.solver!.objectiveMs!).toBeCloseTo(1, 5);
    }
  });

  it("reports a feasible solution with its gap, or none, when the time limit cuts it short", async () => {
    const problem = workloadShapeProblem("W6", { queries: 300, workers: 4, seed: 2 });
    const plan = await runStrategy(problem, { strategy: "milp", solver: "highs", timeLimitMs: 50 });
    expect(["optimal", "feasible", "no-solution"]).toContain(plan.solver?.status);
    if (plan.solver?.status === "feasible") {
      expect(plan.solver.gap).toBeGreaterThanOrEqual(0);
      expect(plan.warnings.join("\n")).toContain("gap");
    }
    if (plan.solver?.status === "no-solution") expect(plan.warnings.join("\n")).toContain("greedy");
  });
});
