import { describe, expect, it } from "vitest";
import { buildOracleModel } from "./milp-model.js";
import { NO_DISABLED_OPTIMIZATIONS } from "./planning-problem.js";
import { indexProblem } from "./problem-index.js";
import { runStrategy } from "./run-strategy.js";
import { isPreload } from "./search-state.js";
import { exhaustiveOptimum } from "./test/exhaustive-search.js";
import { identicalWorkers, tinyProblems } from "./test/index.js";

/** Tiny instances (3–5 LLM operators, tools, inherited context, 1–3 models, 1–3 workers) an exhaustive search solves. */
function tinyInstances() {
  return [
    ...tinyProblems(9, 700),
    ...tinyProblems(4, 720).map((tiny) => ({ ...tiny, workers: identicalWorkers(3) })),
  ];
}

/**
 * The oracle over dp's plan space: on tiny instances an exhaustive search over
 * every plan (every ready operator on every set of workers, splits included)
 * gives the true optimum; the MILP's bound is never above it, dp's plan never
 * below it, and the oracle's plan is dp's or better.
 */
describe("milp oracle", () => {
  it.each(["glpk", "highs"] as const)(
    "with %s: bound ≤ exhaustive optimum ≤ dp, split plans included",
    async (solver) => {
      let splitOptima = 0;
      let proven = 0;
      for (const problem of tinyInstances()) {
        const exhaustive = exhaustiveOptimum(indexProblem(problem), NO_DISABLED_OPTIMIZATIONS, true);
        if (
          exhaustive.schedule.some((epoch) =>
            epoch.some((assignment) => !isPreload(assignment) && assignment.workers.length > 1),
          )
        )
          splitOptima++;
        const optimum = exhaustive.makespanMs;
        const dp = await runStrategy(problem, { strategy: "dp" });
        const milp = await runStrategy(problem, { strategy: "milp", solver, timeLimitMs: 20_000 });
        const report = milp.solver!;
        expect(report.bestBoundMs!, problem.workflow).toBeLessThanOrEqual(optimum * (1 + 1e-6));
        expect(dp.estimatedMakespanMs, problem.workflow).toBeGreaterThanOrEqual(optimum * (1 - 1e-9));
        expect(milp.estimatedMakespanMs, problem.workflow).toBeCloseTo(report.incumbentMs!, 3);
        expect(report.incumbentMs!, problem.workflow).toBeLessThanOrEqual(dp.estimatedMakespanMs + 1e-6);
        expect(milp.estimatedMakespanMs, problem.workflow).toBeGreaterThanOrEqual(optimum * (1 - 1e-9));
        if (report.proven) {
          proven++;
          expect(report.incumbentMs! / optimum, problem.workflow).toBeCloseTo(1, 3);
        }
      }
      // The instances exercise splits, and the bound is tight enough to prove most of them.
      expect(splitOptima).toBeGreaterThan(0);
      expect(proven).toBeGreaterThanOrEqual(tinyInstances().length / 2);
    },
  );

  it("bounds the exhaustive optimum when operators share a prefix (same model and key)", async () => {
    for (const tiny of tinyProblems(6, 780)) {
      const problem = {
        ...tiny,
        operators: tiny.operators.map((operator) =>
          operator.kind === "llm"
            ? { ...operator, statistics: { ...operator.statistics, prefixKey: `shared-${operator.model}` } }
            : operator,
        ),
      };
      const optimum = exhaustiveOptimum(indexProblem(problem), NO_DISABLED_OPTIMIZATIONS, true).makespanMs;
      for (const solver of ["glpk", "highs"] as const) {
        const milp = await runStrategy(problem, { strategy: "milp", solver, timeLimitMs: 20_000 });
        expect(milp.solver!.bestBoundMs!, `${problem.workflow} ${solver}`).toBeLessThanOrEqual(
          optimum * (1 + 1e-6),
        );
        expect(milp.estimatedMakespanMs, `${problem.workflow} ${solver}`).toBeGreaterThanOrEqual(
          optimum * (1 - 1e-9),
        );
      }
    }
  });

  it("bounds the exhaustive optimum when decode is priced from a measured step table", async () => {
    // Measured tables are far from the linear fit (large batches cheap, a dip from noise): the
    // oracle once took the linear model and called dp's plans of W2 and W5 infeasible.
    const table = {
      batches: [1, 8, 64, 200, 512],
      contexts: [100, 4000],
      stepMs: [
        [20, 22],
        [21, 23],
        [24, 30],
        [23, 34],
        [40, 70],
      ],
    };
    for (const tiny of tinyProblems(5, 760)) {
      const problem = {
        ...tiny,
        workers: tiny.workers.map((worker) => ({
          ...worker,
          profile: {
            ...worker.profile,
            models: Object.fromEntries(
              Object.entries(worker.profile.models).map(([name, model]) => [
                name,
                { ...model, decode: { ...model.decode, stepMsPerSequence: 0.5 }, decodeTable: table },
              ]),
            ),
          },
        })),
      };
      const optimum = exhaustiveOptimum(indexProblem(problem), NO_DISABLED_OPTIMIZATIONS, true).makespanMs;
      const milp = await runStrategy(problem, { strategy: "milp", solver: "highs", timeLimitMs: 20_000 });
      expect(milp.solver!.bestBoundMs!, problem.workflow).toBeLessThanOrEqual(optimum * (1 + 1e-6));
      expect(milp.solver!.status, problem.workflow).not.toBe("no-solution");
      expect(milp.warnings.join(" "), problem.workflow).not.toContain("infeasible");
    }
  });

  it("without splitting, bounds the exhaustive whole-operator optimum", async () => {
    for (const problem of tinyProblems(5, 740)) {
      const index = indexProblem(problem);
      const whole = exhaustiveOptimum(index, NO_DISABLED_OPTIMIZATIONS, false).makespanMs;
      const milp = await runStrategy(problem, {
        strategy: "milp",
        solver: "highs",
        splitOperators: false,
        timeLimitMs: 20_000,
      });
      expect(milp.solver!.bestBoundMs!, problem.workflow).toBeLessThanOrEqual(whole * (1 + 1e-6));
      expect(milp.estimatedMakespanMs, problem.workflow).toBeGreaterThanOrEqual(whole * (1 - 1e-9));
      const model = buildOracleModel(index, NO_DISABLED_OPTIMIZATIONS, { splitOperators: false }).model;
      expect(model.binaries.some((name) => /^u_\d+_2$/.test(name))).toBe(false);
    }
  });

  it("bounds every time variable by the incumbent and names the variables", () => {
    const problem = tinyProblems(3, 760)[2]!;
    const index = indexProblem(problem);
    const free = buildOracleModel(index, NO_DISABLED_OPTIMIZATIONS);
    const bounded = buildOracleModel(index, NO_DISABLED_OPTIMIZATIONS, { upperBoundMs: 1234 });
    expect(bounded.horizonMs).toBeLessThan(free.horizonMs);
    expect(bounded.model.bounds.get("C")!.upper).toBeCloseTo(1234, 3);
    expect(free.model.binaries).toContain("x_0_0");
    expect(free.capable).toHaveLength(index.llm.length);
  });
});
