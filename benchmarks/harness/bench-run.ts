/**
 * `halo bench` for one workload: every system on the same executors (fresh
 * ones per system), data and queries, one result file. Executors are
 * provided by the caller (the CLI starts local sidecars), so the harness
 * does not depend on how they are run.
 */
import { execFileSync } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { cpus, loadavg, totalmem } from "node:os";
import { join } from "node:path";
import type { HttpToolV1, QueryContext, SqlToolV1 } from "@halo/ir";
import type { DeviceProfile } from "@halo/profiles";
import { HttpTool } from "@halo/tool-http";
import { createSqlTool } from "@halo/tool-sql";
import { loadIntoPostgres } from "../datasets/postgres-loader.js";
import { loadWorkload } from "../workloads/load-workload.js";
import { withHttpMode } from "../workloads/with-http-mode.js";
import type { WorkloadDefinition } from "../workloads/workload-registry.js";
import { ensureBenchDataset } from "./bench-dataset.js";
import {
  BENCH_RESULT_VERSION,
  type BenchMachine,
  type BenchSettings,
  benchResultFileName,
  type SystemResult,
  type WorkloadBenchResult,
} from "./bench-result.js";
import type { BenchSystem } from "./bench-systems.js";
import { startDataApiProcess } from "./data-api-process.js";
import { round } from "./run-observer.js";
import { runSystem } from "./run-system.js";

/** Executors one system runs on. */
export interface BenchExecutors {
  readonly addresses: readonly string[];
  /** Stops them (the next system gets fresh ones). */
  stop(): Promise<void>;
}

/** What the caller provides: executors, the planning profile, progress output. */
export interface BenchEnvironment {
  /** Starts executors in their initial state: no model loaded, no KV cached. */
  readonly startExecutors: () => Promise<BenchExecutors>;
  readonly profile: DeviceProfile;
  /** Where `profile` came from (for the result file). */
  readonly profileSource: string;
  readonly onProgress?: (message: string) => void;
}

/** One workload's benchmark. */
export interface WorkloadBenchOptions {
  readonly workload: WorkloadDefinition;
  readonly systems: readonly BenchSystem[];
  readonly settings: Omit<BenchSettings, "profile" | "executorReset">;
  /** Required with `dbBackend: "postgres"`: the dataset is loaded there (tables replaced). */
  readonly postgresUrl?: string;
  readonly commandLine: string;
  readonly tag?: string;
  /** Where `<workload>.json` goes (not written when absent). */
  readonly resultsDirectory?: string;
}

/** The machine, as result files describe it. */
export function describeMachine(): BenchMachine {
  return {
    cpu: cpus()[0]?.model.trim() ?? "unknown",
    cores: cpus().length,
    memoryGiB: round(totalmem() / 1024 ** 3, 1),
    os: `${process.platform} ${process.arch}`,
    node: process.version,
    loadAverage: loadavg().map((value) => round(value, 2)),
  };
}

/** The git commit of the sources (with `+changes` for a modified working tree), when git can tell. */
export function sourceRevision(): string | undefined {
  const cwd = new URL(".", import.meta.url);
  try {
    const commit = execFileSync("git", ["rev-parse", "--short=12", "HEAD"], { cwd, encoding: "utf8" }).trim();
    const changes = execFileSync("git", ["status", "--porcelain", "--untracked-files=no"], {
      cwd,
      encoding: "utf8",
    }).trim();
    return changes === "" ? commit : `${commit}+changes`;
  } catch {
    return undefined;
  }
}

/** Runs every system on one workload and writes its result file. */
export async function runWorkloadBench(
  options: WorkloadBenchOptions,
  environment: BenchEnvironment,
): Promise<WorkloadBenchResult> {
  const { workload, settings } = options;
  const progress = (message: string) => environment.onProgress?.(`${workload.id}: ${message}`);
  const machine = describeMachine();
  const revision = sourceRevision();
  const dataset = await ensureBenchDataset({
    dataset: workload.dataset,
    scale: settings.datasetScale,
    seed: settings.seed,
  });
  progress(
    `dataset ${dataset.dataset} (scale ${dataset.scale}) ${dataset.generated ? "generated" : "cached"}: ${dataset.path}`,
  );
  const queries: QueryContext[] = (
    await workload.generateQueries(settings.queries, settings.seed, dataset.path)
  ).map((record) => ({ id: record.id, context: record.context }));
  const compiled = await loadWorkload(workload);

  let sqlTarget = dataset.path;
  if (settings.dbBackend === "postgres") {
    if (options.postgresUrl === undefined) throw new Error("dbBackend postgres needs a postgresUrl");
    progress("loading the dataset into PostgreSQL");
    await loadIntoPostgres({ dbPath: dataset.path, postgresUrl: options.postgresUrl, replace: true });
    sqlTarget = options.postgresUrl;
  }
  const sql: SqlToolV1 = createSqlTool(sqlTarget, {
    maxConnections: settings.toolConcurrency.sql,
    poolSize: settings.toolConcurrency.sql,
  });
  const http: HttpToolV1 = new HttpTool({ allowHosts: ["127.0.0.1"] });
  const fullSettings: BenchSettings = {
    ...settings,
    profile: environment.profileSource,
    executorReset: "every system starts on freshly started executors (no model loaded, no KV cached)",
  };
  const systems: SystemResult[] = [];
  let naiveOutputs: Map<string, string> | undefined;
  try {
    await sql.doCheck();
    for (const system of options.systems) {
      const dataApi = await startDataApiProcess(dataset.path);
      let executors: BenchExecutors | undefined;
      try {
        const httpMode = { baseUrl: dataApi.url, mode: settings.http };
        // Latency means are device time: on a scaled clock they pass as fast as the executors' work,
        // and the planner, whose profile is device time, sees them unscaled.
        const workflow = withHttpMode(compiled, {
          ...httpMode,
          latencyScale: settings.latencyScale * settings.timeScale,
        });
        const planningWorkflow = withHttpMode(compiled, { ...httpMode, latencyScale: settings.latencyScale });
        executors = await environment.startExecutors();
        progress(
          `${system.name}: running ${queries.length} queries on ${executors.addresses.length} executors`,
        );
        const { result, outputs } = await runSystem({
          system,
          workflow,
          planningWorkflow,
          queries,
          addresses: executors.addresses,
          profile: environment.profile,
          tools: { sql, http },
          settings: fullSettings,
          ...(naiveOutputs ? { naiveOutputs } : {}),
        });
        if (system.name === "naive") naiveOutputs = outputs;
        systems.push(result);
        progress(
          `${system.name}: makespan ${(result.deviceMakespanMs / 1000).toFixed(1)} s, ${result.queries.ok} ok, ` +
            `${result.queries.failed} failed${result.outputsVsNaive ? `, outputs = naive: ${result.outputsVsNaive.equal}/${queries.length}` : ""}`,
        );
      } finally {
        await executors?.stop();
        await dataApi.stop();
      }
    }
  } finally {
    await sql.close();
    await http.close();
  }

  const result: WorkloadBenchResult = {
    resultVersion: BENCH_RESULT_VERSION,
    workload: {
      id: workload.id,
      name: workload.name,
      shape: workload.shape,
      llmOperators: workload.llmOperators,
      toolOperators: workload.toolOperators,
    },
    ...(options.tag ? { tag: options.tag } : {}),
    engine: settings.engine,
    date: new Date().toISOString(),
    ...(revision === undefined ? {} : { revision }),
    commandLine: options.commandLine,
    machine,
    settings: fullSettings,
    dataset: { name: dataset.dataset, scale: dataset.scale, seed: dataset.seed },
    systems: withSpeedups(systems),
  };
  if (options.resultsDirectory !== undefined) {
    await mkdir(options.resultsDirectory, { recursive: true });
    const path = join(
      options.resultsDirectory,
      benchResultFileName(settings.engine, workload.id, options.tag),
    );
    await writeFile(path, `${JSON.stringify(result, null, 2)}\n`);
    progress(`wrote ${path}`);
  }
  return result;
}

/** Adds each system's speedup over naive and opwise (device makespans). */
function withSpeedups(systems: readonly SystemResult[]): SystemResult[] {
  const makespanOf = (name: string) => systems.find((system) => system.system === name)?.deviceMakespanMs;
  const naive = makespanOf("naive");
  const opwise = makespanOf("opwise");
  return systems.map((system) => ({
    ...system,
    ...(naive !== undefined && system.deviceMakespanMs > 0
      ? { speedupVsNaive: round(naive / system.deviceMakespanMs, 3) }
      : {}),
    ...(opwise !== undefined && system.deviceMakespanMs > 0
      ? { speedupVsOpwise: round(opwise / system.deviceMakespanMs, 3) }
      : {}),
  }));
}
