/**
 * Reports regenerated from every result file in `results/`: per run set
 * (engine and tag) a markdown file with the summary table (workloads ×
 * systems) and one detail table per workload, and an SVG chart of the
 * speedups over naive; plus the summary tables spliced into
 * `benchmarks/README.md` between markers.
 */
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { benchChartSvg } from "./bench-chart-svg.js";
import {
  type BenchRunSet,
  READABLE_BENCH_RESULT_VERSIONS,
  type SystemResult,
  type WorkloadBenchResult,
} from "./bench-result.js";
import { reportOrder } from "./bench-systems.js";

/** Markers of the generated part of the README's results section. */
export const BENCH_README_START = "<!-- bench-results:start -->";
export const BENCH_README_END = "<!-- bench-results:end -->";

/** Reads every `*.json` bench result in `directory` (other JSON files are skipped), grouped into run sets. */
export async function readBenchResults(directory: string): Promise<BenchRunSet[]> {
  const names = (await readdir(directory)).filter((name) => name.endsWith(".json")).sort();
  const sets = new Map<string, WorkloadBenchResult[]>();
  for (const name of names) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(await readFile(join(directory, name), "utf8"));
    } catch {
      continue;
    }
    if (!isBenchResult(parsed)) continue;
    const key = runSetKey(parsed.engine, parsed.tag);
    sets.set(key, [...(sets.get(key) ?? []), parsed]);
  }
  return [...sets.entries()]
    .map(([key, results]) => ({
      key,
      engine: results[0]!.engine,
      ...(results[0]!.tag ? { tag: results[0]!.tag } : {}),
      results: results.sort((left, right) => left.workload.id.localeCompare(right.workload.id)),
    }))
    .sort((left, right) => left.key.localeCompare(right.key));
}

function isBenchResult(value: unknown): value is WorkloadBenchResult {
  return (
    typeof value === "object" &&
    value !== null &&
    // Online results (`online-*.json`, `kind: "online"`) have reports of their own.
    (value as { kind?: unknown }).kind === undefined &&
    READABLE_BENCH_RESULT_VERSIONS.includes((value as { resultVersion?: number }).resultVersion ?? -1) &&
    Array.isArray((value as { systems?: unknown }).systems)
  );
}

function runSetKey(engine: string, tag: string | undefined): string {
  return `${engine}${tag ? `-${tag}` : ""}`;
}

/** File name prefix of a run set's reports: `bench` (llama.cpp), `sim-bench`, `sim-scale-bench`. */
export function reportBaseName(set: BenchRunSet): string {
  return `${set.engine === "sim" ? "sim-" : ""}${set.tag ? `${set.tag}-` : ""}bench`;
}

const seconds = (ms: number) => (ms / 1000).toFixed(ms >= 100_000 ? 0 : 1);
const times = (value: number | undefined) => (value === undefined ? "–" : `${value.toFixed(2)}×`);
const percent = (value: number) => `${(value * 100).toFixed(value < 0.1 ? 1 : 0)} %`;
const integer = (value: number) => Math.round(value).toLocaleString("en-US");

/** Systems present in any result of the set, in report order. */
function systemsOf(set: BenchRunSet): string[] {
  return reportOrder(set.results.flatMap((result) => result.systems.map((system) => system.system)));
}

/** A system's run to compare with: the best setting of a swept system, else its only run. */
function find(result: WorkloadBenchResult, name: string): SystemResult | undefined {
  const runs = result.systems.filter((system) => system.system === name);
  return runs.find((system) => system.sweep?.best) ?? runs[0];
}

/** The runs of a system, each labelled with its setting (`naive (64)`) when it was swept. */
function runsOf(result: WorkloadBenchResult, name: string): SystemResult[] {
  return result.systems.filter((system) => system.system === name);
}

/** Queries in flight of a per-query run: its sweep setting, or the v1 files' one naive setting. */
function inFlightOf(result: WorkloadBenchResult, system: SystemResult): string | undefined {
  if (system.sweep) return system.sweep.setting;
  if (system.system === "naive" && result.settings.queryConcurrency !== undefined)
    return String(result.settings.queryConcurrency);
  return undefined;
}

/** `naive (64)`, `langgraph (all) best`, `halo`. */
export function runLabel(result: WorkloadBenchResult, system: SystemResult): string {
  const inFlight = inFlightOf(result, system);
  return inFlight === undefined ? system.system : `${system.system} (${inFlight})`;
}

/**
 * A swept system's makespans in one cell, setting by setting (the best in
 * bold): `16: 415 · 64: 104 · **all: 50.3**`.
 */
export function sweepCell(result: WorkloadBenchResult, name: string): string {
  const runs = runsOf(result, name);
  if (runs.length === 0) return "–";
  const best = find(result, name);
  return runs
    .map((run) => {
      const inFlight = inFlightOf(result, run);
      const text = `${inFlight === undefined ? "" : `${inFlight}: `}${seconds(run.deviceMakespanMs)}${run.queries.failed > 0 ? ` (${run.queries.failed} failed)` : ""}`;
      return runs.length > 1 && run === best ? `**${text}**` : text;
    })
    .join(" · ");
}

const SWEPT = new Set(["naive", "langgraph"]);

/** The summary table: one row per workload, device makespans in seconds and Halo's ratios (against each peer's best setting). */
export function summaryTable(set: BenchRunSet): string {
  const systems = systemsOf(set);
  const hasLanggraph = systems.includes("langgraph");
  const header = [
    "workload",
    "queries",
    "latency scale",
    "naive tool share",
    ...systems.map((name) => (SWEPT.has(name) ? `${name} s (queries in flight: s)` : `${name} s`)),
    "halo vs best naive",
    ...(hasLanggraph ? ["halo vs best langgraph"] : []),
    "halo vs opwise",
    "halo ÷ lower bound",
    "halo actual ÷ estimate (step-level / replayed)",
    "naive ÷ halo's lower bound",
    "outputs = naive",
  ];
  const rows = set.results.map((result) => {
    const halo = find(result, "halo");
    const naive = find(result, "naive");
    const compared = result.systems.filter((system) => system.outputsVsNaive !== undefined);
    const equality =
      compared.length === 0
        ? "–"
        : compared
            .map((system) => {
              const outputs = system.outputsVsNaive!;
              return `${runLabel(result, system)} ${outputs.allEqual ? "all" : `${outputs.equal}/${outputs.equal + outputs.different}`}`;
            })
            .join(", ");
    return [
      `${result.workload.id} ${result.workload.name}`,
      String(result.settings.queries),
      String(result.settings.latencyScale),
      naive ? percent(naive.toolShare) : "–",
      ...systems.map((name) => {
        if (SWEPT.has(name)) return sweepCell(result, name);
        const system = find(result, name);
        return system ? seconds(system.deviceMakespanMs) : "–";
      }),
      times(halo?.speedupVsNaive),
      ...(hasLanggraph ? [times(halo?.speedupVsLanggraph)] : []),
      times(halo?.speedupVsOpwise),
      halo ? halo.lowerBoundRatio.toFixed(2) : "–",
      estimateCell(halo),
      // The speedup over naive of a halo run that reached its plan's lower bound.
      halo && naive && halo.plan.lowerBoundMs > 0
        ? times(naive.deviceMakespanMs / halo.plan.lowerBoundMs)
        : "–",
      equality,
    ];
  });
  return markdownTable(header, rows);
}

/** The detail table of one workload: one row per system. */
export function detailTable(result: WorkloadBenchResult): string {
  const header = [
    "system (queries in flight)",
    "best",
    "makespan s",
    "queries/s",
    "ok/failed",
    "prefilled tokens",
    "cached tokens",
    "LLM calls",
    "tool calls / instances",
    "items per call",
    "items per engine batch",
    "model loads",
    "migrations",
    "off plan: stolen / off-split items, unplanned loads, preloads",
    "utilization",
    "planner ms",
    "lower bound s",
    "estimate s (step-level / replayed)",
    "actual ÷ estimate (step-level / replayed)",
    "device busy ÷ estimate",
    "tool share",
    "queries in flight",
    "runtime CPU",
    "peak RSS MB",
    "outputs = naive",
  ];
  const rows = result.systems.map((system) => {
    const engineBatches = system.executors.reduce((total, executor) => total + executor.engineBatches, 0);
    const items = system.executors.reduce((total, executor) => total + executor.items, 0);
    return [
      runLabel(result, system),
      system.sweep ? (system.sweep.best ? "best" : "") : "",
      seconds(system.deviceMakespanMs),
      system.queriesPerSecond.toFixed(2),
      `${system.queries.ok}/${system.queries.failed}`,
      integer(system.tokens.prefilled),
      integer(system.tokens.cached),
      integer(system.llm.calls),
      `${integer(system.tools.calls)} / ${integer(system.tools.instances)}${system.tools.sqlBatchedCalls ? ` (${integer(system.tools.sqlBatchedCalls)} SQL handed over in ${integer(system.tools.sqlBatches ?? 0)} batches)` : ""}`,
      system.llm.meanCallItems.toFixed(1),
      engineBatches > 0 ? (items / engineBatches).toFixed(1) : "–",
      String(system.modelLoads),
      `${system.migrations.succeeded}/${system.migrations.attempted}`,
      offPlan(system),
      percent(system.executorUtilization),
      integer(system.plannerMs),
      seconds(system.plan.lowerBoundMs),
      system.plan.pipelinedMakespanMs === undefined
        ? seconds(system.plan.estimatedMakespanMs)
        : `${seconds(system.plan.estimatedMakespanMs)} / ${seconds(system.plan.pipelinedMakespanMs)}`,
      estimateCell(system),
      system.busyEstimateRatio === undefined ? "–" : system.busyEstimateRatio.toFixed(2),
      percent(system.toolShare),
      // Little's law: mean latency × throughput.
      system.deviceMakespanMs > 0
        ? (
            (system.meanQueryLatencyMs * (system.queries.ok + system.queries.failed)) /
            system.deviceMakespanMs
          ).toFixed(0)
        : "–",
      percent(system.runtime.overheadShare),
      integer(system.runtime.peakRssBytes / 1024 ** 2),
      system.outputsVsNaive
        ? system.outputsVsNaive.allEqual
          ? "all"
          : `${system.outputsVsNaive.equal}/${system.outputsVsNaive.equal + system.outputsVsNaive.different}`
        : "–",
    ];
  });
  return markdownTable(header, rows);
}

/** A system's departures from its plan in one cell (– where not recorded). */
function offPlan(system: SystemResult): string {
  const deviations = system.deviations;
  if (!deviations) return "–";
  return (
    `${integer(deviations.stolen.items)} / ${integer(deviations.offSplitItems)} of ${integer(deviations.items.run)}, ` +
    `${deviations.modelLoads.unplanned}, ${deviations.preloads.done}/${deviations.preloads.planned}`
  );
}

function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const numeric = header.map((_, column) => rows.every((row) => /^[\d.,×%–\s]+$/.test(row[column] ?? "")));
  const lines = [
    `| ${header.join(" | ")} |`,
    `| ${numeric.map((right) => (right ? "---:" : "---")).join(" | ")} |`,
    ...rows.map((row) => `| ${row.join(" | ")} |`),
  ];
  return `${lines.join("\n")}\n`;
}

/** How the per-query systems were swept (or, in version 1 files, the one naive setting). */
function sweepDescription(set: BenchRunSet): string {
  const { settings } = set.results[0]!;
  const present = new Set(set.results.flatMap((result) => result.systems.map((system) => system.system)));
  const parts: string[] = [];
  if (present.has("naive")) {
    parts.push(
      settings.naiveConcurrency !== undefined
        ? `naive swept over ${settings.naiveConcurrency} queries in flight`
        : `naive keeps ${settings.queryConcurrency ?? 64} queries in flight`,
    );
  }
  if (present.has("langgraph") && settings.langgraphConcurrency !== undefined)
    parts.push(`langgraph over ${settings.langgraphConcurrency} (maxConcurrency)`);
  return parts.length === 0 ? "" : `${parts.join(", ")}; ratios are against each one's best setting.`;
}

/** How a run set was measured, in one paragraph. */
export function runSetDescription(set: BenchRunSet): string {
  const first = set.results[0]!;
  const { settings, machine } = first;
  const engine =
    set.engine === "sim"
      ? `engine-sim, ${settings.devices ? `simulated devices ${settings.devices} (hidden ground truth, per-batch noise σ ${settings.noise ?? 0}); planning profile: ` : `${settings.executors} simulated executors (`}${settings.profile}${settings.devices ? "" : ")"}, time scale ${settings.timeScale} (makespans are device time: wall time ÷ time scale)${(settings.modelsPerDevice ?? 1) > 1 ? `; up to ${settings.modelsPerDevice} models loaded per device at once (weights permitting), for every system` : ""}`
      : `llama.cpp, ${settings.executors} executors × ${settings.threads} thread(s), synthesized stand-in models`;
  const dates = set.results.map((result) => result.date.slice(0, 10));
  const distinct = (values: readonly (string | number)[]) => [...new Set(values.map(String))].join(" / ");
  const commands = [...new Set(set.results.map((result) => `\`${result.commandLine}\``))];
  return (
    `${engine}; ${distinct(set.results.map((result) => result.settings.queries))} queries per workload; ` +
    `HTTP ${settings.http}, latency scale ${distinct(set.results.map((result) => result.settings.latencyScale))} (per workload in the table); ` +
    `SQL on ${settings.dbBackend}; tool slots SQL ${settings.toolConcurrency.sql}, HTTP ${settings.toolConcurrency.http}; ` +
    `${sweepDescription(set)} Machine: ${machine.cores} × ${machine.cpu}, ` +
    `${machine.memoryGiB} GiB, Node ${machine.node}. Measured ${[...new Set(dates)].join(", ")}. ` +
    `${commands.length === 1 ? "Command" : "Commands"}: ${commands.join(", ")}.`
  );
}

/**
 * Where the time goes: per operator, when its first instance started and its
 * last ended and its mean duration (device seconds), for halo and the best
 * setting of each peer.
 */
export function timelineTable(result: WorkloadBenchResult): string | undefined {
  const compared = ["halo", "naive", "langgraph"]
    .map((name) => find(result, name))
    .filter((system): system is SystemResult => system !== undefined && system.operators.length > 0);
  if (compared.length === 0) return undefined;
  const scale = result.settings.timeScale;
  const operators = [
    ...new Set(compared.flatMap((system) => system.operators.map((entry) => entry.operator))),
  ];
  const header = [
    "operator",
    "kind",
    ...compared.map((system) => `${runLabel(result, system)}: first start – last end s (mean s)`),
  ];
  const rows = operators.map((operator) => {
    const kind = compared
      .flatMap((system) => system.operators)
      .find((entry) => entry.operator === operator)!.kind;
    return [
      operator,
      kind,
      ...compared.map((system) => {
        const entry = system.operators.find((candidate) => candidate.operator === operator);
        if (!entry) return "–";
        const at = (ms: number) => (ms / scale / 1000).toFixed(1);
        return `${at(entry.firstStartMs)} – ${at(entry.lastEndMs)} (${(entry.meanMs / scale / 1000).toFixed(2)})`;
      }),
    ];
  });
  return markdownTable(header, rows);
}

/** The markdown report of a run set. */
export function renderRunSetReport(set: BenchRunSet): string {
  const parts = [
    `# halo bench: ${set.key}`,
    "",
    runSetDescription(set),
    "",
    "Device makespans in seconds; ratios are the compared system's makespan (a swept system's best setting, in bold) ÷ halo's.",
    "",
    summaryTable(set),
    `![speedup over naive](${reportBaseName(set)}.svg)`,
    "",
  ];
  for (const result of set.results) {
    parts.push(`## ${result.workload.id} ${result.workload.name}`, "", detailTable(result));
    const timelines = timelineTable(result);
    if (timelines !== undefined)
      parts.push("Per-operator timelines (device time since the run started):", "", timelines);
  }
  return `${parts.join("\n")}`;
}

/** The generated block of the README: each run set's description and summary table. */
export function renderReadmeBlock(sets: readonly BenchRunSet[]): string {
  const parts = [BENCH_README_START, ""];
  for (const set of sets) {
    parts.push(
      `#### ${set.key}`,
      "",
      runSetDescription(set),
      "",
      summaryTable(set),
      `![${set.key}: speedup over naive](results/${reportBaseName(set)}.svg)`,
      "",
      `Per-system details: [results/${reportBaseName(set)}.md](results/${reportBaseName(set)}.md).`,
      "",
    );
  }
  parts.push(BENCH_README_END);
  return `${parts.join("\n")}\n`;
}

/** Replaces the generated block of a README (appends it when the markers are missing). */
export function spliceReadmeBlock(readme: string, block: string): string {
  const start = readme.indexOf(BENCH_README_START);
  const end = readme.indexOf(BENCH_README_END);
  if (start >= 0 && end > start) {
    const afterEnd = readme.indexOf("\n", end);
    return readme.slice(0, start) + block + (afterEnd >= 0 ? readme.slice(afterEnd + 1) : "");
  }
  return `${readme.replace(/\n*$/, "\n\n")}${block}`;
}

/** Regenerates every run set's markdown and SVG in `directory`, and the README block when `readmePath` is given. */
export async function writeBenchReports(directory: string, readmePath?: string): Promise<string[]> {
  const sets = await readBenchResults(directory);
  const written: string[] = [];
  for (const set of sets) {
    const base = join(directory, reportBaseName(set));
    await writeFile(`${base}.md`, renderRunSetReport(set));
    await writeFile(`${base}.svg`, benchChartSvg(set));
    written.push(`${base}.md`, `${base}.svg`);
  }
  if (readmePath !== undefined && sets.length > 0) {
    const readme = await readFile(readmePath, "utf8").catch(() => "# Halo benchmarks\n");
    await writeFile(readmePath, spliceReadmeBlock(readme, renderReadmeBlock(sets)));
    written.push(readmePath);
  }
  return written;
}

/** Actual ÷ the plan's step-level estimate, and ÷ its micro-batch replay when the result has one. */
function estimateCell(system: SystemResult | undefined): string {
  if (system?.estimateRatio === undefined) return "–";
  const step = system.estimateRatio.toFixed(2);
  return system.pipelinedEstimateRatio === undefined
    ? step
    : `${step} / ${system.pipelinedEstimateRatio.toFixed(2)}`;
}
