import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { benchChartSvg } from "./bench-chart-svg.js";
import {
  BENCH_README_END,
  BENCH_README_START,
  readBenchResults,
  renderRunSetReport,
  spliceReadmeBlock,
  summaryTable,
  sweepCell,
  timelineTable,
  writeBenchReports,
} from "./bench-report.js";
import type { SystemResult, WorkloadBenchResult } from "./bench-result.js";
import { lengthOutside, unionOf } from "./run-observer.js";

function system(name: string, makespanMs: number, naiveMs: number): SystemResult {
  return {
    system: name,
    description: name,
    strategy: name === "naive" ? "naive" : "dp",
    disabledOptimizations: [],
    mode: name === "naive" ? "per-query" : "batched",
    epochBarriers: false,
    queries: { ok: 10, failed: 0 },
    makespanMs,
    deviceMakespanMs: makespanMs,
    queriesPerSecond: 10_000 / makespanMs,
    tokens: { prompt: 100, prefilled: 60, cached: 40, generated: 20 },
    llm: { instances: 30, calls: 25, coalesced: 5, cached: 0, generateCalls: 5, meanCallItems: 5 },
    tools: { instances: 20, calls: 10, failed: 0 },
    modelLoads: 2,
    migrations: { attempted: 0, succeeded: 0, bytes: 0 },
    executors: [
      {
        id: "worker-0",
        busyMs: makespanMs / 2,
        utilization: 0.5,
        modelLoads: 2,
        calls: 5,
        items: 25,
        engineBatches: 5,
        meanEngineBatchItems: 5,
      },
    ],
    executorUtilization: 0.5,
    plannerMs: 12,
    solveMs: 3,
    plan: { estimatedMakespanMs: 900, lowerBoundMs: 800, modelLoads: 2 },
    lowerBoundRatio: makespanMs / 800,
    estimateRatio: makespanMs / 900,
    toolShare: 0.3,
    meanQueryLatencyMs: 100,
    ...(name === "naive"
      ? {}
      : { outputsVsNaive: { equal: 10, different: 0, allEqual: true, examples: [] } }),
    runtime: { eventLoopBusyMs: 10, overheadShare: 0.01, cpuMs: 20, peakRssBytes: 100 * 1024 ** 2 },
    operators: [],
    speedupVsNaive: naiveMs / makespanMs,
  };
}

function result(id: string, name: string, haloMs: number): WorkloadBenchResult {
  return {
    resultVersion: 1,
    workload: { id, name, shape: "a shape", llmOperators: 3, toolOperators: 2 },
    engine: "sim",
    date: "2026-01-02T03:04:05.000Z",
    commandLine: `halo bench --workload ${id} --queries 10 --engine sim`,
    machine: {
      cpu: "Test CPU",
      cores: 2,
      memoryGiB: 8,
      os: "linux x64",
      node: "v20",
      loadAverage: [1, 1, 1],
    },
    settings: {
      engine: "sim",
      queries: 10,
      executors: 4,
      threads: 1,
      timeScale: 0.5,
      latencyScale: 1,
      http: "padded",
      dbBackend: "duckdb",
      datasetScale: 0.01,
      seed: 1,
      queryConcurrency: 64,
      toolConcurrency: { sql: 4, http: 64 },
      gatherWindowMs: 50,
      profile: "builtin:h100",
      executorReset: "fresh",
    },
    dataset: { name: "tpch", scale: 0.01, seed: 1 },
    systems: [system("naive", 4000, 4000), system("halo", haloMs, 4000)],
  };
}

let directory: string;
beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "halo-bench-report-"));
  await writeFile(join(directory, "sim-w2.json"), JSON.stringify(result("w2", "Two", 2000)));
  await writeFile(join(directory, "sim-w1.json"), JSON.stringify(result("w1", "One", 1000)));
  // Other result files (executor, planner benchmarks) are not bench results.
  await writeFile(join(directory, "executor.json"), JSON.stringify({ runs: [] }));
  // Online results have systems too, but reports of their own (reading them here crashed on `settings.toolConcurrency`).
  await writeFile(
    join(directory, "online-w1.json"),
    JSON.stringify({
      resultVersion: 1,
      kind: "online",
      engine: "sim",
      systems: [{ system: "halo" }],
      settings: {},
    }),
  );
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

describe("bench reports", () => {
  it("group result files by engine and tag and tabulate workloads × systems", async () => {
    const sets = await readBenchResults(directory);
    expect(sets.map((set) => set.key)).toEqual(["sim"]);
    const table = summaryTable(sets[0]!);
    const lines = table.trim().split("\n");
    expect(lines[0]).toBe(
      "| workload | queries | latency scale | naive tool share | naive s (queries in flight: s) | halo s | halo vs best naive | halo vs opwise | halo ÷ lower bound | halo actual ÷ estimate (step-level / replayed) | naive ÷ halo's lower bound | outputs = naive |",
    );
    expect(lines[2]).toBe(
      "| w1 One | 10 | 1 | 30 % | 64: 4.0 | 1.0 | 4.00× | – | 1.25 | 1.11 | 5.00× | halo all |",
    );
    expect(lines[3]).toBe(
      "| w2 Two | 10 | 1 | 30 % | 64: 4.0 | 2.0 | 2.00× | – | 2.50 | 2.22 | 5.00× | halo all |",
    );
  });

  it("write the markdown report, the SVG chart and the README block", async () => {
    const readme = join(directory, "README.md");
    await writeFile(
      readme,
      `# Benchmarks\n\nintro\n\n${BENCH_README_START}\nold\n${BENCH_README_END}\n\n## Later section\n`,
    );
    const written = await writeBenchReports(directory, readme);
    expect(written.map((path) => path.slice(directory.length + 1))).toEqual([
      "sim-bench.md",
      "sim-bench.svg",
      "README.md",
    ]);
    const svg = await readFile(join(directory, "sim-bench.svg"), "utf8");
    expect(svg.startsWith("<svg xmlns=")).toBe(true);
    expect(svg.match(/<rect /g)!.length).toBeGreaterThanOrEqual(5);
    expect(svg).toContain("w1 halo: 4.00×");
    const text = await readFile(readme, "utf8");
    expect(text).toContain("intro");
    expect(text).toContain("## Later section");
    expect(text).not.toContain("\nold\n");
    expect(text).toContain("| w1 One | 10 |");
    // Splicing twice changes nothing.
    expect(
      spliceReadmeBlock(
        text,
        text.slice(
          text.indexOf(BENCH_README_START),
          text.indexOf(BENCH_README_END) + BENCH_README_END.length + 1,
        ),
      ),
    ).toBe(text);
  });
});

/** A version 2 result: naive and langgraph swept, halo once. */
function sweptResult(): WorkloadBenchResult {
  const base = result("w4", "Four", 1000);
  const swept = (name: string, makespanMs: number, inFlight: number, best: boolean): SystemResult => ({
    ...system(name, makespanMs, 2000),
    sweep: { setting: inFlight === 10 ? "all" : String(inFlight), queriesInFlight: inFlight, best },
    operators: [
      { operator: "answer", kind: "llm", instances: 10, firstStartMs: 100, lastEndMs: 900, meanMs: 50 },
    ],
  });
  const halo: SystemResult = {
    ...system("halo", 1000, 2000),
    speedupVsLanggraph: 3,
    operators: [
      { operator: "answer", kind: "llm", instances: 10, firstStartMs: 200, lastEndMs: 500, meanMs: 40 },
      { operator: "lookup", kind: "sql", instances: 10, firstStartMs: 0, lastEndMs: 150, meanMs: 5 },
    ],
  };
  return {
    ...base,
    resultVersion: 2,
    settings: {
      ...base.settings,
      queryConcurrency: undefined,
      naiveConcurrency: "4,all",
      langgraphConcurrency: "4,all",
    },
    systems: [
      swept("naive", 4000, 4, false),
      swept("naive", 2000, 10, true),
      swept("langgraph", 3000, 4, true),
      { ...swept("langgraph", 3500, 10, false), queries: { ok: 8, failed: 2 } },
      halo,
    ],
  };
}

describe("reports of swept systems", () => {
  it("show every setting, the best in bold, and ratios against the best", () => {
    const set = { key: "sim-peers", engine: "sim", tag: "peers", results: [sweptResult()] };
    expect(sweepCell(set.results[0]!, "naive")).toBe("4: 4.0 · **all: 2.0**");
    expect(sweepCell(set.results[0]!, "langgraph")).toBe("**4: 3.0** · all: 3.5 (2 failed)");
    const lines = summaryTable(set).trim().split("\n");
    expect(lines[0]).toBe(
      "| workload | queries | latency scale | naive tool share | naive s (queries in flight: s) | langgraph s (queries in flight: s) | halo s | halo vs best naive | halo vs best langgraph | halo vs opwise | halo ÷ lower bound | halo actual ÷ estimate (step-level / replayed) | naive ÷ halo's lower bound | outputs = naive |",
    );
    expect(lines[2]).toContain("| 1.0 | 2.00× | 3.00× | – |");
    const report = renderRunSetReport(set);
    expect(report).toContain(
      "naive swept over 4,all queries in flight, langgraph over 4,all (maxConcurrency)",
    );
    expect(report).toContain("| naive (all) | best | 2.0 |");
    expect(report).toContain("| langgraph (4) | best | 3.0 |");
    // Per-operator timelines of halo and each peer's best setting, in device seconds (time scale 0.5).
    const timelines = timelineTable(set.results[0]!)!;
    expect(timelines.split("\n")[0]).toBe(
      "| operator | kind | halo: first start – last end s (mean s) | naive (all): first start – last end s (mean s) | langgraph (4): first start – last end s (mean s) |",
    );
    expect(timelines).toContain("| answer | llm | 0.4 – 1.0 (0.08) | 0.2 – 1.8 (0.10) | 0.2 – 1.8 (0.10) |");
    expect(timelines).toContain("| lookup | sql | 0.0 – 0.3 (0.01) | – | – |");
    const svg = benchChartSvg(set);
    // One bar per run (2 naive, 2 langgraph, halo), the best settings outlined and starred.
    expect(svg.match(/<rect x="[\d.]+" y="[\d.]+" width="12"/g)).toHaveLength(5);
    expect(svg).toContain("w4 naive all (best): 1.00×");
    expect(svg).toContain("w4 naive 4: 0.50×");
    expect(svg).toContain("w4 langgraph 4 (best): 0.67×");
    expect(svg.match(/stroke="#000"/g)).toHaveLength(2);
    expect(svg.match(/>★</g)).toHaveLength(2);
  });

  it("read version 1 files as a single naive setting", () => {
    const set = { key: "sim", engine: "sim", results: [result("w1", "One", 1000)] };
    expect(sweepCell(set.results[0]!, "naive")).toBe("64: 4.0");
  });
});

describe("interval arithmetic of the tool share", () => {
  it("unites intervals and measures what lies outside others", () => {
    expect(
      unionOf([
        [5, 7],
        [0, 2],
        [1, 3],
        [9, 9],
      ]),
    ).toEqual([
      [0, 3],
      [5, 7],
    ]);
    expect(
      lengthOutside(
        [[0, 10]],
        [
          [2, 3],
          [5, 12],
        ],
      ),
    ).toBe(4);
    expect(
      lengthOutside(
        [
          [0, 3],
          [5, 7],
        ],
        [],
      ),
    ).toBe(5);
    expect(lengthOutside([[0, 3]], [[0, 3]])).toBe(0);
  });
});
