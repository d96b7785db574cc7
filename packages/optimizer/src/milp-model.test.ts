import { describe, expect, it } from "vitest";
import { NO_DISABLED_OPTIMIZATIONS } from "./planning-problem.js";
import { indexProblem } from "./problem-index.js";
import { runStrategy } from "./run-strategy.js";
import { exhaustiveOptimumMs, identicalWorkers, tinyProblems } from "./test/index.js";

/**
 * The oracle over dp's plan space: on tiny instances an exhaustive search over
 * every plan (splits included) gives the true optimum, and the MILP's bound is
 * never above it while dp's plan is never below it.
 */
describe("milp oracle", () => {
  it.each(["glpk", "highs"] as const)(
    "with %s: bound ≤ exhaustive optimum ≤ dp (splits included)",
    async (solver) => {
      const problems = [
        ...tinyProblems(9, 700),
        ...tinyProblems(4, 720).map((tiny) => ({ ...tiny, workers: identicalWorkers(3) })),
      ];
      let proven = 0;
      for (const problem of problems) {
        const optimum = exhaustiveOptimumMs(indexProblem(problem), NO_DISABLED_OPTIMIZATIONS, true);
        const dp = await runStrategy(problem, { strategy: "dp" });
        const milp = await runStrategy(problem, { strategy: "milp", solver, timeLimitMs: 20_000 });
        const report = milp.solver!;
        console.log(
          problem.workflow,
          problem.workers.length,
          optimum,
          dp.estimatedMakespanMs,
          report.bestBoundMs,
          report.incumbentMs,
          report.status,
          report.solveMs,
        );
        expect(report.bestBoundMs!, problem.workflow).toBeLessThanOrEqual(optimum * (1 + 1e-6));
        expect(dp.estimatedMakespanMs, problem.workflow).toBeGreaterThanOrEqual(optimum * (1 - 1e-9));
        expect(milp.estimatedMakespanMs, problem.workflow).toBeCloseTo(report.incumbentMs!, 3);
        expect(report.incumbentMs!, problem.workflow).toBeLessThanOrEqual(dp.estimatedMakespanMs + 1e-6);
        if (report.proven) proven++;
      }
      console.log("proven", proven, problems.length);
    },
  );
});
