import { readFile, writeFile } from "node:fs/promises";
import { DP_RUNS, LARGE_BUDGET, type PlannerBenchmarkResults } from "./planner-benchmark.js";

/** Markers of the planner section in `benchmarks/README.md`. */
export const plannerSectionStart = "<!-- planner-benchmark:start -->";
export const plannerSectionEnd = "<!-- planner-benchmark:end -->";

const seconds = (milliseconds: number) => (milliseconds / 1000).toFixed(1);
const ms = (milliseconds: number) =>
  milliseconds < 10 ? milliseconds.toFixed(1) : Math.round(milliseconds).toString();
const ratio = (value: number | undefined) => (value === undefined ? "–" : value.toFixed(3));
const verdict = (met: boolean) => (met ? "met" : "**missed**");

/** The markdown section of `benchmarks/README.md` for one run. */
export function renderPlannerSection(results: PlannerBenchmarkResults): string {
  const summary = results.summary;
  const lines = [
    plannerSectionStart,
    "## Planner",
    "",
    `Command: \`${results.command}\` on ${results.machine.cpus} × ${results.machine.cpuModel}, Node ${results.machine.node}, ${results.date}` +
      " (the machine is shared with other jobs; times are wall-clock). Raw figures: `results/planner.json`.",
    "",
    "What is compared: every plan is priced the same way, in continuous time: epochs are priorities, not barriers",
    "(DESIGN §7), so each step starts once its worker is free and its inputs exist (the list scheduler; see",
    "`packages/optimizer/README.md`). `dp` may split an operator's requests over several workers; `dp (whole)` keeps",
    "every operator on one worker, as the MILP does. The MILP optimizes the same continuous-time model over the same",
    "step costs (its remaining differences are listed in the optimizer README), so a ratio below 1 comes from",
    "splitting, and `dp (whole)`/optimum above 1 is search the DP did not do.",
    "",
    "| target | measured | |",
    "| --- | --- | --- |",
    `| dp within 3% of the proven MILP optimum on every proven instance | ${summary.dpWithin3Percent} of the ${summary.provenByMilp} instances with a proven optimum (of ${summary.instances}); dp/optimum median ${ratio(summary.dpOverOptimumMedian)}, max ${ratio(summary.dpOverOptimumMax)}; dp (whole)/optimum median ${ratio(summary.dpWholeOverOptimumMedian)}, max ${ratio(summary.dpWholeOverOptimumMax)} | ${verdict(summary.provenByMilp > 0 && summary.dpWithin3Percent === summary.provenByMilp)} |`,
    `| median dp solve ≤ 20 ms | median ${ms(summary.dpSolveMedianMs)} ms, max ${ms(summary.dpSolveMaxMs)} ms | ${verdict(summary.dpSolveMedianMs <= 20)} |`,
    `| dp < 1 s at 40 LLM operators × 16 workers | ${summary.scaleAt40x16Ms === undefined ? "–" : `${ms(summary.scaleAt40x16Ms)} ms`} | ${verdict(summary.scaleAt40x16Ms !== undefined && summary.scaleAt40x16Ms < 1000)} |`,
    `| dp never above a baseline (greedy, rr-topo, opwise, minswitch) | ${summary.dpNeverWorseThanBaselines ? "on every instance" : "not on every instance"} | ${verdict(summary.dpNeverWorseThanBaselines)} |`,
    "",
    `How: dp proved its plan optimal on ${summary.dpProvenInstances} of ${summary.instances} instances; on the others its exact search` +
      ` stopped at its budget and the plan comes from model-placement list schedules, a beam search and local improvement` +
      ` (${summary.dpBeamInstances} instances). With a large budget (${LARGE_BUDGET.maxGeneratedStates.toLocaleString("en-US")} priced states` +
      ` for the exact search, beam ${LARGE_BUDGET.beamWidth}; median ${ms(summary.dpLargeSolveMedianMs)} ms) dp is within 3% on` +
      ` ${summary.dpLargeWithin3Percent} and proven optimal on ${summary.dpLargeProven} of ${summary.instances}.` +
      (summary.dpOver3Percent === 0
        ? ""
        : ` Of the ${summary.dpOver3Percent} instances above 3% at the default budget, dp proved ${summary.dpOver3PercentProvenByDp} optimal in its own model.`) +
      ` dp solve times are the median of ${DP_RUNS} runs per instance (identical plans; the machine is shared, so single runs vary).`,
    "",
    `MILP solvers: glpk.js optimal on ${summary.glpkOptimal}/${summary.instances} (median ${ms(summary.glpkSolveMedianMs)} ms, limit ${seconds(results.config.glpkTimeLimitMs)} s),` +
      ` HiGHS optimal on ${summary.highsOptimal}/${summary.instances} (median ${ms(summary.highsSolveMedianMs)} ms, limit ${seconds(results.config.highsTimeLimitMs)} s);` +
      ` where both proved optimality (${summary.bothOptimal}) their objectives agree on ${summary.solversAgree}.`,
    "",
    "### Optimality instances",
    "",
    "| instance | LLM/tool ops | workers | models | lower bound s | dp s | dp ms | dp (whole) s | best baseline s | glpk | HiGHS | MILP optimum s | dp/opt | dp (whole)/opt | dp large budget/opt |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
  ];
  for (const row of results.optimality) {
    const solver = (measurement: (typeof row)["glpk"]) =>
      `${measurement.status}${measurement.status === "feasible" && measurement.gap !== undefined ? ` (gap ${(measurement.gap * 100).toFixed(0)}%)` : ""}, ${ms(measurement.solveMs)} ms`;
    lines.push(
      `| ${row.instance} | ${row.llmOperators}/${row.toolOperators} | ${row.workers} | ${row.models} | ${seconds(row.lowerBoundMs)} | ` +
        `${seconds(row.dpMakespanMs)} | ${ms(row.dpSolveMs)}${row.dpMode === "beam" ? " (beam)" : ""} | ${seconds(row.dpWholeMakespanMs)} | ` +
        `${seconds(row.bestBaselineMs)} (${row.bestBaseline}) | ${solver(row.glpk)} | ${solver(row.highs)} | ` +
        `${row.milpOptimumMs === undefined ? "–" : seconds(row.milpOptimumMs)} | ${ratio(row.dpOverOptimum)} | ${ratio(row.dpWholeOverOptimum)} | ${ratio(row.dpLargeOverOptimum)} |`,
    );
  }
  lines.push(
    "",
    "### Scale",
    "",
    `DP planning time on seeded random DAGs with 3 models and ${results.config.queries} queries (greedy's makespan beside;` +
      " past 16 operators or 8 workers the DP goes straight to its beam search):",
    "",
    `| LLM operators | ${results.config.scaleWorkers.map((workers) => `${workers} workers`).join(" | ")} |`,
    `| --- | ${results.config.scaleWorkers.map(() => "---").join(" | ")} |`,
  );
  for (const operators of results.config.scaleOperators) {
    const cells = results.config.scaleWorkers.map((workers) => {
      const row = results.scale.find(
        (entry) => entry.llmOperators === operators && entry.workers === workers,
      );
      if (!row) return "–";
      const gain = row.greedyMakespanMs > 0 ? (1 - row.dpMakespanMs / row.greedyMakespanMs) * 100 : 0;
      return `${ms(row.dpSolveMs)} ms${row.dpMode === "beam" ? " (beam)" : ""}, ${gain.toFixed(0)}% under greedy`;
    });
    lines.push(`| ${operators} | ${cells.join(" | ")} |`);
  }
  lines.push("", "Batch size (the search does not depend on the query count; the arithmetic does):", "");
  lines.push("| instance | queries | dp ms | makespan s |", "| --- | --- | --- | --- |");
  for (const row of results.queriesSweep) {
    lines.push(
      `| ${row.llmOperators} ops × ${row.workers} workers | ${row.queries} | ${ms(row.dpSolveMs)}${row.dpMode === "beam" ? " (beam)" : ""} | ${seconds(row.dpMakespanMs)} |`,
    );
  }
  lines.push(plannerSectionEnd);
  return `${lines.join("\n")}\n`;
}

/** Replaces the planner section of a README (or appends it when there is none). */
export function splicePlannerSection(readme: string, section: string): string {
  const start = readme.indexOf(plannerSectionStart);
  const end = readme.indexOf(plannerSectionEnd);
  if (start >= 0 && end > start) {
    const afterEnd = readme.indexOf("\n", end);
    return readme.slice(0, start) + section + (afterEnd >= 0 ? readme.slice(afterEnd + 1) : "");
  }
  return `${readme.replace(/\n*$/, "\n\n")}${section}`;
}

/** Writes `results/planner.json` and the README section. */
export async function writePlannerReport(
  results: PlannerBenchmarkResults,
  paths: { readonly resultsJson: string; readonly readme: string },
): Promise<void> {
  await writeFile(paths.resultsJson, `${JSON.stringify(results, null, 2)}\n`);
  const readme = await readFile(paths.readme, "utf8").catch(() => "# Halo benchmarks\n");
  await writeFile(paths.readme, splicePlannerSection(readme, renderPlannerSection(results)));
}
