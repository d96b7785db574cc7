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
  const percent = (value: number | undefined) => (value === undefined ? "–" : `${(value * 100).toFixed(1)}%`);
  const lines = [
    plannerSectionStart,
    "## Planner",
    "",
    `Command: \`${results.command}\` on ${results.machine.cpus} × ${results.machine.cpuModel}, Node ${results.machine.node}, ${results.date}` +
      ` (the machine is shared with other jobs: 1-minute load average ${results.machine.loadAverage.start.toFixed(1)} at the start,` +
      ` ${results.machine.loadAverage.end.toFixed(1)} at the end; wall-clock times are noisy, CPU times less so). Raw figures: \`results/planner.json\`.`,
    "",
    "What is compared: every plan is priced the same way, in continuous time: epochs are priorities, not barriers",
    "(DESIGN §7), so each step starts once its worker is free and its inputs exist (the list scheduler; see",
    "`packages/optimizer/README.md`). The oracle (`--strategy milp`) is a MILP over dp's own plan space: an operator's",
    "requests split over any set of workers, per-worker shares, model loads and switches, prefix and context reuse and",
    "migration, optimistic wherever the exact price is not linear — so its optimum, or the solver's dual bound at its",
    "time limit, is a lower bound on every plan dp could produce, and dp ÷ bound is never below 1. An instance is",
    "proven when that bound and the best plan known (dp's, the solvers' own plans priced by the list scheduler, dp with",
    "a large budget) meet within 0.01 %; the bound over both solvers is the larger one.",
    "",
    "| target | measured | |",
    "| --- | --- | --- |",
    `| dp ÷ proven optimum ≤ 1.03 on ≥ 50 instances, split plans included | proven on ${summary.proven} of ${summary.instances} (${summary.provenWithSplits} of them with a split operator in the optimal plan); dp ≤ 1.03 × optimum on ${summary.dpWithin3Percent} of the ${summary.proven}; dp/optimum median ${ratio(summary.dpOverOptimumMedian)}, max ${ratio(summary.dpOverOptimumMax)}. dp proven within 3 % of the optimum (dp ≤ 1.03 × the solvers' lower bound, which is at most the optimum, proven or not) on ${summary.dpWithin3PercentOfBound} of ${summary.instances}, ${summary.dpWithin3PercentOfBoundWithSplits} of them with dp's plan splitting an operator | ${summary.dpWithin3Percent >= 50 ? "met" : summary.dpWithin3PercentOfBound >= 50 ? "met through the bound (the optimum itself proven on fewer)" : "**missed**"} |`,
    `| dp ÷ bound ≥ 1 on every instance | min ${ratio(summary.dpOverBoundMin)}, median ${ratio(summary.dpOverBoundMedian)}, max ${ratio(summary.dpOverBoundMax)}; dp ≤ 1.03 × bound on ${summary.dpWithin3PercentOfBound} of ${summary.instances} | ${verdict(summary.dpOverBoundMin >= 1 - 1e-9)} |`,
    `| median dp solve ≤ 20 ms | median ${ms(summary.dpSolveMedianMs)} ms wall (${ms(summary.dpCpuMedianMs)} ms CPU), max ${ms(summary.dpSolveMaxMs)} ms wall | ${verdict(summary.dpSolveMedianMs <= 20)} |`,
    `| dp < 1 s at 40 LLM operators × 16 workers | ${summary.scaleAt40x16Ms === undefined ? "–" : `${ms(summary.scaleAt40x16Ms)} ms wall (${ms(summary.scaleAt40x16CpuMs ?? 0)} ms CPU)`} | ${verdict(summary.scaleAt40x16Ms !== undefined && summary.scaleAt40x16Ms < 1000)} |`,
    `| dp never above a baseline (greedy, rr-topo, opwise, minswitch) | ${summary.dpNeverWorseThanBaselines ? "on every instance" : "not on every instance"} | ${verdict(summary.dpNeverWorseThanBaselines)} |`,
    "",
    `Not proven: ${summary.instances - summary.proven} instances, the solvers stopped at their time limits (or the relaxation's optimum stayed below every plan);` +
      ` gap between bound and best plan median ${percent(summary.unprovenGapMedian)}, max ${percent(summary.unprovenGapMax)}.` +
      ` The oracle found a plan better than dp's on ${summary.oracleBeatDp} instances (dp ÷ best plan at most ${ratio(summary.dpOverBestMax)}).`,
    "",
    `How dp searched: it proved its plan optimal in its own search on ${summary.dpProvenInstances} of ${summary.instances} instances; on the others its exact search` +
      ` stopped at its budget and the plan comes from model-placement list schedules, a beam search and local improvement` +
      ` (${summary.dpBeamInstances} instances). With a large budget (${LARGE_BUDGET.maxGeneratedStates.toLocaleString("en-US")} priced states` +
      ` for the exact search, beam ${LARGE_BUDGET.beamWidth}; median ${ms(summary.dpLargeSolveMedianMs)} ms) dp is within 3% of the optimum on` +
      ` ${summary.dpLargeWithin3Percent} of the proven instances and proves its own plan on ${summary.dpLargeProven} of ${summary.instances}.` +
      ` dp solve times are the median of ${DP_RUNS} runs per instance (identical plans).`,
    "",
    `Solvers: glpk.js proved ${summary.glpkProven}/${summary.instances} on its own (median ${ms(summary.glpkSolveMedianMs)} ms, limit ${seconds(results.config.glpkTimeLimitMs)} s),` +
      ` HiGHS ${summary.highsProven}/${summary.instances} (median ${ms(summary.highsSolveMedianMs)} ms, limit ${seconds(results.config.highsTimeLimitMs)} s).`,
    "",
    "### Optimality instances",
    "",
    "| instance | LLM/tool ops | workers | models | dp s | dp ms (CPU) | splits | best baseline s | glpk | HiGHS | bound s | best plan s | gap | dp/bound | dp/opt | dp (whole)/opt | dp large budget/opt |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
  ];
  for (const row of results.optimality) {
    const solver = (measurement: (typeof row)["glpk"]) =>
      `${measurement.proven ? "proven" : measurement.status}, ${ms(measurement.solveMs)} ms`;
    lines.push(
      `| ${row.instance} | ${row.llmOperators}/${row.toolOperators} | ${row.workers} | ${row.models} | ` +
        `${seconds(row.dpMakespanMs)} | ${ms(row.dpSolveMs)} (${ms(row.dpCpuMs)})${row.dpMode === "beam" ? " beam" : ""} | ` +
        `${row.dpSplits ? "dp" : ""}${row.dpSplits && row.optimumSplits ? ", " : ""}${row.optimumSplits ? "best" : ""} | ` +
        `${seconds(row.bestBaselineMs)} (${row.bestBaseline}) | ${solver(row.glpk)} | ${solver(row.highs)} | ` +
        `${seconds(row.boundMs)} | ${seconds(row.incumbentMs)} | ${row.proven ? "proven" : percent(row.gap)} | ${ratio(row.dpOverBound)} | ` +
        `${ratio(row.dpOverOptimum)} | ${ratio(row.dpWholeOverOptimum)} | ${ratio(row.dpLargeOverOptimum)} |`,
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
      return `${ms(row.dpSolveMs)} ms (${ms(row.dpCpuMs)} CPU)${row.dpMode === "beam" ? " beam" : ""}, ${gain.toFixed(0)}% under greedy`;
    });
    lines.push(`| ${operators} | ${cells.join(" | ")} |`);
  }
  lines.push("", "Batch size (the search does not depend on the query count; the arithmetic does):", "");
  lines.push("| instance | queries | dp ms (CPU) | makespan s |", "| --- | --- | --- | --- |");
  for (const row of results.queriesSweep) {
    lines.push(
      `| ${row.llmOperators} ops × ${row.workers} workers | ${row.queries} | ${ms(row.dpSolveMs)} (${ms(row.dpCpuMs)})${row.dpMode === "beam" ? " beam" : ""} | ${seconds(row.dpMakespanMs)} |`,
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
