import { describe, expect, it } from "vitest";
import type { SystemResult } from "./bench-result.js";
import { markBestSettings, representativeRun, withSpeedups } from "./bench-run.js";
import {
  bestRunIndex,
  DEFAULT_CONCURRENCY_SWEEP,
  formatConcurrencySweep,
  parseConcurrencySweep,
  resolveSweep,
} from "./concurrency-sweep.js";

describe("the queries-in-flight sweep", () => {
  it("parses settings and names the flag of a bad one", () => {
    expect(parseConcurrencySweep("16, 64,256,ALL", "--naive-concurrency")).toEqual([16, 64, 256, "all"]);
    expect(formatConcurrencySweep(DEFAULT_CONCURRENCY_SWEEP)).toBe("16,64,256,all");
    expect(() => parseConcurrencySweep("16,0", "--naive-concurrency")).toThrow(
      '--naive-concurrency: expected queries in flight (an integer >= 1) or all (got "0")',
    );
    expect(() => parseConcurrencySweep("1.5", "--langgraph-concurrency")).toThrow("--langgraph-concurrency");
    expect(() => parseConcurrencySweep(" , ", "--naive-concurrency")).toThrow("name at least one setting");
  });

  it("caps settings at the batch and runs settings that mean the same number once", () => {
    expect(resolveSweep([16, 64, 256, "all"], 1000)).toEqual([
      { setting: "16", queriesInFlight: 16 },
      { setting: "64", queriesInFlight: 64 },
      { setting: "256", queriesInFlight: 256 },
      { setting: "all", queriesInFlight: 1000 },
    ]);
    // 200 queries: 256 and all are the same run, named all.
    expect(resolveSweep([16, 64, 256, "all"], 200)).toEqual([
      { setting: "16", queriesInFlight: 16 },
      { setting: "64", queriesInFlight: 64 },
      { setting: "all", queriesInFlight: 200 },
    ]);
    expect(resolveSweep(["all", 64, 16], 64)).toEqual([
      { setting: "16", queriesInFlight: 16 },
      { setting: "all", queriesInFlight: 64 },
    ]);
    expect(resolveSweep([300, 500], 100)).toEqual([{ setting: "500", queriesInFlight: 100 }]);
  });

  it("picks the fastest run among those that failed the fewest queries", () => {
    const run = (makespanMs: number, failed = 0) => ({
      deviceMakespanMs: makespanMs,
      queries: { ok: 10 - failed, failed },
    });
    expect(bestRunIndex([])).toBeUndefined();
    expect(bestRunIndex([run(300), run(100), run(200)])).toBe(1);
    // A faster run that lost queries did less work: not the best.
    expect(bestRunIndex([run(300), run(100, 2), run(200)])).toBe(2);
    expect(bestRunIndex([run(300, 1), run(100, 2)])).toBe(0);
    // Ties keep the earlier (fewer in flight) run.
    expect(bestRunIndex([run(100), run(100)])).toBe(0);
  });
});

function system(name: string, makespanMs: number, inFlight?: number): SystemResult {
  return {
    system: name,
    description: name,
    strategy: name,
    disabledOptimizations: [],
    mode: "m",
    epochBarriers: false,
    ...(inFlight === undefined
      ? {}
      : { sweep: { setting: String(inFlight), queriesInFlight: inFlight, best: false } }),
    queries: { ok: 10, failed: 0 },
    makespanMs,
    deviceMakespanMs: makespanMs,
    queriesPerSecond: 1,
    tokens: { prompt: 0, prefilled: 0, cached: 0, generated: 0 },
    llm: { instances: 0, calls: 0, coalesced: 0, cached: 0, generateCalls: 0, meanCallItems: 0 },
    tools: { instances: 0, calls: 0, failed: 0 },
    modelLoads: 0,
    migrations: { attempted: 0, succeeded: 0, bytes: 0 },
    executors: [],
    executorUtilization: 0,
    plannerMs: 0,
    solveMs: 0,
    plan: { estimatedMakespanMs: 0, lowerBoundMs: 0, modelLoads: 0 },
    lowerBoundRatio: 0,
    toolShare: 0,
    meanQueryLatencyMs: 0,
    runtime: { eventLoopBusyMs: 0, overheadShare: 0, cpuMs: 0, peakRssBytes: 0 },
    operators: [],
  };
}

describe("ratios against each peer's best setting", () => {
  it("marks the best setting of each swept system and divides by its makespan", () => {
    const marked = withSpeedups(
      markBestSettings([
        system("naive", 400, 16),
        system("naive", 100, 64),
        system("naive", 120, 1000),
        system("langgraph", 300, 16),
        system("langgraph", 150, 1000),
        system("halo", 50),
      ]),
    );
    expect(marked.map((entry) => entry.sweep?.best)).toEqual([false, true, false, false, true, undefined]);
    expect(representativeRun(marked, "naive")!.deviceMakespanMs).toBe(100);
    expect(representativeRun(marked, "halo")!.deviceMakespanMs).toBe(50);
    const halo = marked.find((entry) => entry.system === "halo")!;
    expect(halo.speedupVsNaive).toBe(2);
    expect(halo.speedupVsLanggraph).toBe(3);
    expect(halo.speedupVsOpwise).toBeUndefined();
    // Every setting is compared with the best naive: the slower ones fall below 1.
    expect(marked[0]!.speedupVsNaive).toBe(0.25);
  });
});
