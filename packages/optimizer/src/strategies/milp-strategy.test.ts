import { describe, expect, it } from "vitest";
import { NO_DISABLED_OPTIMIZATIONS, type PlanningProblem } from "../planning-problem.js";
import { indexProblem } from "../problem-index.js";
import { runStrategy } from "../run-strategy.js";
import { exhaustiveOptimumMs, identicalWorkers, tinyProblems, workloadShapeProblem } from "../test/index.js";

/**
 * The MILP and the epoch model agree where their models coincide: LLM
 * operators only, no inherited context, whole operators (no splitting). On
 * one worker both sequence the same operators with the same loads, so the
 * optima are equal; on more workers the MILP has no epoch barriers, so its
 * optimum can only be lower.
 */
function comparable(problem: PlanningProblem, workers: number): PlanningProblem {
  const operators = problem.operators.flatMap((operator) => {
    if (operator.kind !== "llm") return [];
    const { inheritedContext: _inherited, ...statistics } = operator.statistics;
    const parents = operator.parents.filter((parent) =>
      problem.operators.some((other) => other.id === parent && other.kind === "llm"),
    );
    return [{ ...operator, parents, statistics }];
  });
  return { ...problem, operators, workers: identicalWorkers(workers) };
}

describe("milp", () => {
  it.each(["glpk", "highs"] as const)(
    "with %s equals the exhaustive optimum on one worker",
    async (solver) => {
      for (const problem of tinyProblems(6, 500).map((tiny) => comparable(tiny, 1))) {
        const optimum = exhaustiveOptimumMs(indexProblem(problem), NO_DISABLED_OPTIMIZATIONS, false);
        const plan = await runStrategy(problem, { strategy: "milp", solver, timeLimitMs: 10_000 });
        expect(plan.solver?.status).toBe("optimal");
        expect(plan.solver?.gap).toBe(0);
        expect(plan.solver?.objectiveMs).toBeCloseTo(optimum, 0);
        expect(plan.estimatedMakespanMs).toBeCloseTo(optimum, 0);
      }
    },
  );

  it("is never above the epoch model's whole-operator optimum on several workers; glpk and HiGHS agree", async () => {
    for (const problem of tinyProblems(6, 600).map((tiny) => comparable(tiny, 2))) {
      const optimum = exhaustiveOptimumMs(indexProblem(problem), NO_DISABLED_OPTIMIZATIONS, false);
      const glpk = await runStrategy(problem, { strategy: "milp", solver: "glpk", timeLimitMs: 10_000 });
      const highs = await runStrategy(problem, { strategy: "milp", solver: "highs", timeLimitMs: 10_000 });
      expect(glpk.solver?.status).toBe("optimal");
      expect(highs.solver?.status).toBe("optimal");
      expect(glpk.solver!.objectiveMs!).toBeLessThanOrEqual(optimum + 1e-3);
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
