import { estimateProblem, planProblems, runStrategy, strategyNames } from "@halo/optimizer";
import { identicalWorkers } from "@halo/optimizer/test";
import { describe, expect, it } from "vitest";
import { loadWorkload } from "../workloads/load-workload.js";
import { WORKLOADS } from "../workloads/workload-registry.js";
import { runPlannerBenchmark } from "./planner-benchmark.js";
import {
  plannerSectionEnd,
  plannerSectionStart,
  renderPlannerSection,
  splicePlannerSection,
} from "./planner-report.js";

describe("planner on the benchmark workloads", () => {
  it("every strategy plans every workload validly, and dp is never above a baseline", async () => {
    for (const workload of WORKLOADS) {
      const workflow = await loadWorkload(workload);
      const queries = await workload.generateQueries(60, 2);
      const { problem } = estimateProblem({ workflow, queries, workers: identicalWorkers(3) });
      expect(problem.operators.filter((operator) => operator.kind === "llm")).toHaveLength(
        workload.llmOperators,
      );
      const makespans = new Map<string, number>();
      for (const strategy of strategyNames()) {
        const plan = await runStrategy(problem, { strategy, timeLimitMs: 5_000 });
        expect(planProblems(plan, problem), `${workload.id} ${strategy}`).toEqual([]);
        makespans.set(strategy, plan.estimatedMakespanMs);
      }
      for (const baseline of ["greedy", "rr-topo", "opwise", "minswitch", "naive"]) {
        expect(makespans.get("dp")!, `${workload.id} vs ${baseline}`).toBeLessThanOrEqual(
          makespans.get(baseline)! + 1e-6,
        );
      }
    }
  });
});

describe("planner benchmark", () => {
  it("runs a small configuration end to end and renders its README section", async () => {
    const lines: string[] = [];
    const results = await runPlannerBenchmark(
      {
        queries: 40,
        workloadWorkers: [2],
        randomInstances: 2,
        glpkTimeLimitMs: 3_000,
        highsTimeLimitMs: 3_000,
        scaleOperators: [10],
        scaleWorkers: [2, 4],
        scaleQueries: [100],
      },
      "test",
      (line) => lines.push(line),
    );
    expect(results.optimality).toHaveLength(WORKLOADS.length + 2);
    expect(results.scale).toHaveLength(2);
    expect(results.queriesSweep).toHaveLength(2);
    expect(lines.length).toBe(results.optimality.length + results.scale.length + results.queriesSweep.length);
    expect(results.summary.instances).toBe(results.optimality.length);
    expect(results.summary.dpNeverWorseThanBaselines).toBe(true);
    for (const row of results.optimality) {
      expect(row.dpMakespanMs).toBeGreaterThanOrEqual(row.lowerBoundMs - 1e-6);
      // The oracle's bound holds for every plan in dp's space.
      expect(row.dpOverBound, row.instance).toBeGreaterThanOrEqual(1 - 1e-9);
      expect(row.incumbentMs).toBeLessThanOrEqual(row.dpMakespanMs + 1e-6);
      expect(row.boundMs).toBeLessThanOrEqual(row.incumbentMs * (1 + 1e-9));
      if (row.dpOverOptimum !== undefined)
        expect(row.dpOverOptimum).toBeCloseTo(row.dpMakespanMs / row.optimumMs!, 9);
    }
    expect(results.summary.dpOverBoundMin).toBeGreaterThanOrEqual(1 - 1e-9);
    const section = renderPlannerSection(results);
    expect(section.startsWith(plannerSectionStart)).toBe(true);
    expect(section.trim().endsWith(plannerSectionEnd)).toBe(true);
    expect(section.match(/^\| w\d-/gm)).toHaveLength(WORKLOADS.length);
    const readme = splicePlannerSection("# Benchmarks\n\nintro\n", section);
    expect(splicePlannerSection(readme, section)).toBe(readme);
  });
});
