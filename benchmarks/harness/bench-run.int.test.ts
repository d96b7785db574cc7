import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SimEngine } from "@halo/engine-sim";
import { createExecutorServer, type ExecutorServerHandle } from "@halo/executor";
import { parseExecutionPlan, parseObservedStatistics } from "@halo/optimizer";
import { H100_SIMULATED_PROFILE } from "@halo/profiles";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DATA_API_ENDPOINTS } from "../data-api/data-api-endpoints.js";
import { loadWorkload } from "../workloads/load-workload.js";
import { findWorkload, type WorkloadId } from "../workloads/workload-registry.js";
import type { BenchSettings } from "./bench-result.js";
import { type BenchEnvironment, runWorkloadBench } from "./bench-run.js";
import { BENCH_SYSTEMS } from "./bench-systems.js";

// The bench harness end to end on simulated executors (in process, real gRPC on loopback): the
// workloads' HTTP nodes send real requests, padded to their latency, to the data API that
// `halo datasets serve` runs (here in the harness's own child process), over generated DuckDB data.
// W1, W3 and W5 between them call every endpoint of the prototype's contract.

const TIME_SCALE = 0.02;
let home: string;
let previousHome: string | undefined;

beforeAll(() => {
  home = mkdtempSync(join(tmpdir(), "halo-bench-run-"));
  previousHome = process.env.HALO_HOME;
  // Datasets are generated into $HALO_HOME/datasets.
  process.env.HALO_HOME = home;
});

afterAll(() => {
  if (previousHome === undefined) delete process.env.HALO_HOME;
  else process.env.HALO_HOME = previousHome;
  rmSync(home, { recursive: true, force: true });
});

const environment: BenchEnvironment = {
  profile: H100_SIMULATED_PROFILE,
  profileSource: "builtin:h100",
  startExecutors: async () => {
    const servers: ExecutorServerHandle[] = await Promise.all(
      // One seed for every engine (the default), so that where a call runs does not change its answer.
      [1, 2].map(() =>
        createExecutorServer({
          engine: new SimEngine({
            profile: H100_SIMULATED_PROFILE,
            timeScale: TIME_SCALE,
            maxLoadedModels: 1,
          }),
          batching: { windowMs: 3 * TIME_SCALE, maxCollectMs: 10 * TIME_SCALE },
        }),
      ),
    );
    return {
      addresses: servers.map((server) => server.address),
      stop: async () => {
        await Promise.all(servers.map((server) => server.close()));
      },
    };
  },
};

const settings: Omit<BenchSettings, "profile" | "executorReset"> = {
  engine: "sim",
  queries: 6,
  executors: 2,
  threads: 1,
  timeScale: TIME_SCALE,
  latencyScale: 1,
  http: "padded",
  dbBackend: "duckdb",
  datasetScale: 0.01,
  seed: 1,
  queryConcurrency: 64,
  toolConcurrency: { sql: 4, http: 64 },
  gatherWindowMs: 3,
};

describe("bench harness on engine-sim with the data API", () => {
  it.each(["w1", "w3", "w5"] as const)(
    "runs %s with every query ok and halo's outputs equal to naive's",
    async (id: WorkloadId) => {
      const workload = findWorkload(id);
      const compiled = await loadWorkload(workload);
      const httpPaths = compiled.operators.flatMap((op) =>
        op.kind === "http" ? [new URL(op.url).pathname] : [],
      );
      expect(httpPaths.length).toBeGreaterThan(0);
      for (const path of httpPaths)
        expect(DATA_API_ENDPOINTS.map((endpoint) => endpoint.path)).toContain(path);

      const plansDirectory = await mkdtemp(join(tmpdir(), "halo-bench-plans-"));
      const result = await runWorkloadBench(
        {
          workload,
          systems: BENCH_SYSTEMS.filter((system) => system.name === "naive" || system.name === "halo"),
          settings,
          commandLine: `bench-run.int.test ${id}`,
          tag: "plans",
          plansDirectory,
        },
        environment,
      );
      // Each planned system's plan, as it ran, parses as an execution plan; what its run measured
      // beside it parses as observed statistics.
      const files = (await readdir(plansDirectory)).sort();
      expect(files).toEqual(
        ["halo", "naive-all"].flatMap((run) => [
          `sim-plans-${id}-${run}.observed.json`,
          `sim-plans-${id}-${run}.plan.json`,
        ]),
      );
      for (const file of files) {
        const value = JSON.parse(readFileSync(join(plansDirectory, file), "utf8"));
        if (file.endsWith(".plan.json")) expect(() => parseExecutionPlan(value)).not.toThrow();
        else expect(parseObservedStatistics(value, file).queries).toBe(settings.queries);
      }
      await rm(plansDirectory, { recursive: true, force: true });
      expect(result.systems.map((system) => system.system)).toEqual(["naive", "halo"]);
      for (const system of result.systems) {
        expect(system.queries, system.system).toEqual({ ok: settings.queries, failed: 0 });
        expect(system.tools.failed, system.system).toBe(0);
        const http = system.operators.filter((operator) => operator.kind === "http");
        expect(http.length, system.system).toBe(httpPaths.length);
        for (const operator of http) expect(operator.instances).toBe(settings.queries);
      }
      expect(result.systems[1]?.outputsVsNaive).toMatchObject({ allEqual: true, equal: settings.queries });
    },
    300_000,
  );
});
