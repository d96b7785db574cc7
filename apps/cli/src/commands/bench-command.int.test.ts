import { spawnSync } from "node:child_process";
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { WorkloadBenchResult } from "@halo/benchmarks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../main.js";
import { recordingIo } from "../test-io.js";

// `halo bench` end to end on engine-sim: real sidecar processes on loopback
// gRPC, the data API in its own process, DuckDB, one small workload.
const BIN = fileURLToPath(new URL("../../dist/bin.js", import.meta.url));
let directory: string;
let haloHome: string;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "halo-bench-"));
  haloHome = join(directory, "halo-home");
});

afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

describe("halo bench on engine-sim", () => {
  it("runs every system on the same queries, writes the result file and the reports", async () => {
    const results = join(directory, "results");
    // The built CLI in its own process (run `pnpm build` first; turbo's test task does): the local
    // sidecars it starts are its children, as for a user. It first measures the simulated H100s' profile
    // (a few minutes on a loaded 2-core machine): the timeouts only catch hangs.
    const run = spawnSync(
      process.execPath,
      [
        BIN,
        "bench",
        "--engine",
        "sim",
        "--workload",
        "w5",
        "--queries",
        "8",
        "--systems",
        "naive,langgraph,opwise,halo,halo-no-coalescing",
        "--time-scale",
        "0.02",
        "--results-dir",
        results,
      ],
      { env: { ...process.env, HALO_HOME: haloHome }, encoding: "utf8", timeout: 540_000 },
    );
    expect(run.status, run.stderr).toBe(0);
    const result = JSON.parse(await readFile(join(results, "sim-w5.json"), "utf8")) as WorkloadBenchResult;
    expect(result.resultVersion).toBe(2);
    expect(result.workload.id).toBe("w5");
    expect(result.engine).toBe("sim");
    expect(result.commandLine).toContain("halo bench --workload w5 --queries 8");
    expect(result.settings).toMatchObject({
      queries: 8,
      executors: 4,
      timeScale: 0.02,
      // sim plays hidden ground-truth H100s; the planner got what halo profile measured against them.
      devices: "h100:4",
      profile: expect.stringMatching(
        /^measured by halo profile against simulated h100:4 .*sim-h100-[0-9a-f]{16}\.json$/,
      ),
    });
    expect(result.machine.cores).toBeGreaterThan(0);
    expect(result.systems.map((system) => system.system)).toEqual([
      "naive",
      "langgraph",
      "opwise",
      "halo",
      "halo-no-coalescing",
    ]);
    const [naive, langgraph, opwise, halo, noCoalescing] = result.systems;
    expect(naive!.mode).toBe("per-query");
    expect(naive!.deployment).toBe("planned");
    expect(naive!.outputsVsNaive).toBeUndefined();
    // 16, 64, 256 and all in flight all mean the 8 queries: one run each, the best by definition.
    expect(naive!.sweep).toEqual({ setting: "all", queriesInFlight: 8, best: true });
    expect(langgraph!.sweep).toEqual({ setting: "all", queriesInFlight: 8, best: true });
    expect(langgraph!.strategy).toBe("langgraph");
    expect(langgraph!.llm.calls).toBe(8 * 7);
    expect(halo!.speedupVsLanggraph).toBeCloseTo(langgraph!.deviceMakespanMs / halo!.deviceMakespanMs, 2);
    expect(opwise!.epochBarriers).toBe(true);
    expect(opwise!.disabledOptimizations).toContain("pipelining");
    for (const system of result.systems) {
      expect(system.queries).toEqual({ ok: 8, failed: 0 });
      // Both are rounded to 0.1 ms: the device figure is the wall figure ÷ the time scale.
      expect(Math.abs(system.deviceMakespanMs - system.makespanMs / 0.02)).toBeLessThan(5);
      expect(system.tokens.prompt).toBe(system.tokens.prefilled + system.tokens.cached);
      expect(system.executors).toHaveLength(4);
      expect(system.executorUtilization).toBeGreaterThan(0);
      expect(system.plan.lowerBoundMs).toBeGreaterThan(0);
      // Processor runs report the plan's estimate against the run (langgraph runs no plan of its own).
      if (system.system !== "langgraph")
        expect(system.estimateRatio).toBeCloseTo(
          system.deviceMakespanMs / system.plan.estimatedMakespanMs,
          2,
        );
      if (system.system !== "langgraph") {
        // The micro-batch replay of the plan, reported beside the step-level estimate.
        expect(system.plan.pipelinedMakespanMs).toBeGreaterThan(0);
        expect(system.pipelinedEstimateRatio).toBeCloseTo(
          system.deviceMakespanMs / system.plan.pipelinedMakespanMs!,
          2,
        );
      }
      expect(system.runtime.peakRssBytes).toBeGreaterThan(0);
      expect(system.operators.map((operator) => operator.operator)).toContain("final_answer");
      expect(system.speedupVsNaive).toBeCloseTo(naive!.deviceMakespanMs / system.deviceMakespanMs, 2);
      if (system.system !== "naive")
        expect(system.outputsVsNaive).toMatchObject({ allEqual: true, equal: 8 });
    }
    // Halo coalesces identical calls; without coalescing every instance is a call.
    expect(halo!.llm.calls).toBeLessThanOrEqual(noCoalescing!.llm.calls);
    expect(noCoalescing!.llm.calls).toBe(noCoalescing!.llm.instances);
    expect(run.stdout).toContain("w5 TPCH-Trident (8 queries, sim)");
    const files = await readdir(results);
    expect(files.sort()).toEqual(["sim-bench.md", "sim-bench.svg", "sim-w5.json"]);
    expect(await readFile(join(results, "sim-bench.svg"), "utf8")).toMatch(/^<svg [^>]*>[\s\S]*<\/svg>\n$/);
    const report = await readFile(join(results, "sim-bench.md"), "utf8");
    expect(report).toContain("| w5 TPCH-Trident | 8 |");

    // --report regenerates the same reports from the result files alone.
    await rm(join(results, "sim-bench.md"));
    const again = recordingIo();
    expect(await runCli(["bench", "--report", "--results-dir", results], again)).toBe(0);
    expect(await readFile(join(results, "sim-bench.md"), "utf8")).toBe(report);
  }, 600_000);

  it("--strategy runs a user strategy module as one more system, compared with naive", async () => {
    const results = join(directory, "strategy-results");
    const strategy = fileURLToPath(
      new URL("../../../../examples/strategies/model-affinity-strategy.mjs", import.meta.url),
    );
    const run = spawnSync(
      process.execPath,
      [
        BIN,
        "bench",
        "--engine",
        "sim",
        "--workload",
        "w5",
        "--queries",
        "4",
        "--systems",
        "naive",
        "--naive-concurrency",
        "all",
        "--strategy",
        strategy,
        "--profile",
        "builtin:h100",
        "--time-scale",
        "0.02",
        "--results-dir",
        results,
      ],
      { env: { ...process.env, HALO_HOME: haloHome }, encoding: "utf8", timeout: 200_000 },
    );
    expect(run.status, run.stderr).toBe(0);
    const result = JSON.parse(await readFile(join(results, "sim-w5.json"), "utf8")) as WorkloadBenchResult;
    expect(result.commandLine).toContain(`--strategy ${strategy}`);
    expect(result.systems.map((system) => system.system)).toEqual(["naive", "model-affinity"]);
    const mine = result.systems[1]!;
    expect(mine.strategy).toBe("model-affinity");
    expect(mine.queries).toEqual({ ok: 4, failed: 0 });
    expect(mine.outputsVsNaive).toMatchObject({ allEqual: true, equal: 4 });
    expect(await readFile(join(results, "sim-bench.md"), "utf8")).toContain("model-affinity");
    expect(run.stdout).toContain("model-affinity");
  }, 300_000);
});

describe("halo bench --online --report", () => {
  it("regenerates the online report from the result files and runs nothing", async () => {
    const results = join(directory, "online-results");
    await mkdir(results, { recursive: true });
    const committed = fileURLToPath(
      new URL("../../../../benchmarks/results/online/online-w2.json", import.meta.url),
    );
    await copyFile(committed, join(results, "online-w2.json"));
    const io = recordingIo();
    expect(await runCli(["bench", "--online", "--report", "--results-dir", results], io)).toBe(0);
    expect((await readdir(results)).sort()).toEqual(["online-w2.json", "online.md", "online.svg"]);
    // The result file is left as it was: nothing ran.
    expect(await readFile(join(results, "online-w2.json"), "utf8")).toBe(await readFile(committed, "utf8"));
    expect(await readFile(join(results, "online.md"), "utf8")).toContain("W2 IMDb-TripleChain");
  });
});
