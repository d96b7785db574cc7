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
import type { ExecutionPlan, ObservedStatistics } from "@halo/optimizer";
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
import { bestRunIndex, parseConcurrencySweep, resolveSweep } from "./concurrency-sweep.js";
import { startDataApiProcess } from "./data-api-process.js";
import { runLanggraph } from "./run-langgraph.js";
import { round } from "./run-observer.js";
import { runSystem } from "./run-system.js";

/** Executors one system runs on. */
export interface BenchExecutors {
  readonly addresses: readonly string[];
  /** Their OpenAI-compatible endpoints (`http://host:port/v1`), in the same order, when they serve one (langgraph needs them). */
  readonly openaiBaseUrls?: readonly string[];
  /** Stops them (the next system gets fresh ones). */
  stop(): Promise<void>;
}

/** What the caller provides: executors, the planning profile, progress output. */
export interface BenchEnvironment {
  /** Starts executors in their initial state: no model loaded, no KV cached. */
  readonly startExecutors: () => Promise<BenchExecutors>;
  readonly profile: DeviceProfile;
  /** Per executor, when they differ (simulated devices of several kinds); else `profile` for all. */
  readonly workerProfiles?: readonly DeviceProfile[];
  /** Per executor, the models it serves, when not every executor serves every model (a device too small for one). */
  readonly workerModels?: readonly (readonly string[])[];
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
  /**
   * Where each planned system's execution plan goes, as `<result file name>-<system>[-<in flight>].plan.json`,
   * with what its run measured beside it (`….observed.json`, `ObservedStatistics` in device time, which
   * `halo plan|run --statistics` reads) (`halo bench --plans-dir`; not written when absent).
   */
  readonly plansDirectory?: string;
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
  // The naive and langgraph sweeps are checked before anything runs.
  parseConcurrencySweep(settings.naiveConcurrency ?? "16,64,256,all", "--naive-concurrency");
  parseConcurrencySweep(settings.langgraphConcurrency ?? "16,64,256,all", "--langgraph-concurrency");
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
  // What the halo run measured, for systems planned from observed statistics (halo runs before them).
  let haloObserved: ObservedStatistics | undefined;
  try {
    await sql.doCheck();
    for (const system of options.systems) {
      const sweep =
        system.sweep === undefined
          ? [undefined]
          : resolveSweep(
              parseConcurrencySweep(
                (system.sweep === "naive" ? settings.naiveConcurrency : settings.langgraphConcurrency) ??
                  "16,64,256,all",
                system.sweep === "naive" ? "--naive-concurrency" : "--langgraph-concurrency",
              ),
              queries.length,
            );
      for (const setting of sweep) {
        const label = setting === undefined ? system.name : `${system.name} (${setting.setting} in flight)`;
        const dataApi = await startDataApiProcess(dataset.path);
        let executors: BenchExecutors | undefined;
        try {
          // Sleep mode contacts nothing, and its answer names the URL: the workloads' own URL keeps
          // prompts (and outputs) the same across runs, whose data APIs listen on different ports.
          const httpMode =
            settings.http === "sleep"
              ? { mode: settings.http }
              : { baseUrl: dataApi.url, mode: settings.http };
          // Latency means are device time: on a scaled clock they pass as fast as the executors' work,
          // and the planner, whose profile is device time, sees them unscaled.
          const workflow = withHttpMode(compiled, {
            ...httpMode,
            latencyScale: settings.latencyScale * settings.timeScale,
          });
          const planningWorkflow = withHttpMode(compiled, {
            ...httpMode,
            latencyScale: settings.latencyScale,
          });
          executors = await environment.startExecutors();
          progress(`${label}: running ${queries.length} queries on ${executors.addresses.length} executors`);
          const common = {
            system,
            workflow,
            planningWorkflow,
            queries,
            addresses: executors.addresses,
            profile: environment.profile,
            ...(environment.workerProfiles ? { workerProfiles: environment.workerProfiles } : {}),
            ...(environment.workerModels ? { workerModels: environment.workerModels } : {}),
            settings: fullSettings,
            ...(naiveOutputs ? { naiveOutputs } : {}),
            ...(system.observedStatistics && haloObserved ? { observed: haloObserved } : {}),
            ...(setting === undefined
              ? {}
              : { queriesInFlight: setting.queriesInFlight, sweepSetting: setting.setting }),
          };
          const {
            result,
            outputs,
            plan,
            observed,
          }: {
            result: SystemResult;
            outputs: Map<string, string>;
            plan?: ExecutionPlan;
            observed?: ObservedStatistics;
          } =
            system.runner === "langgraph"
              ? await runLanggraph({
                  ...common,
                  queriesInFlight: setting?.queriesInFlight ?? queries.length,
                  sweepSetting: setting?.setting ?? "all",
                  openaiBaseUrls: executors.openaiBaseUrls ?? [],
                  sqlTarget,
                })
              : await runSystem({ ...common, tools: { sql, http } });
          if (options.plansDirectory !== undefined && plan !== undefined) {
            await mkdir(options.plansDirectory, { recursive: true });
            const base = benchResultFileName(settings.engine, workload.id, options.tag).replace(
              /\.json$/,
              "",
            );
            const stem = join(
              options.plansDirectory,
              `${base}-${system.name}${setting === undefined ? "" : `-${setting.setting}`}`,
            );
            await writeFile(`${stem}.plan.json`, `${JSON.stringify(plan, null, 2)}\n`);
            if (observed !== undefined)
              await writeFile(`${stem}.observed.json`, `${JSON.stringify(observed, null, 2)}\n`);
            progress(`${label}: wrote its plan to ${stem}.plan.json`);
          }
          // The first naive run is the reference every other run's outputs are compared with.
          if (system.name === "naive" && naiveOutputs === undefined) naiveOutputs = outputs;
          if (system.name === "halo") haloObserved = observed;
          systems.push(result);
          progress(
            `${label}: makespan ${(result.deviceMakespanMs / 1000).toFixed(1)} s, ${result.queries.ok} ok, ` +
              `${result.queries.failed} failed${result.outputsVsNaive ? `, outputs = naive: ${result.outputsVsNaive.equal}/${queries.length}` : ""}`,
          );
        } finally {
          await executors?.stop();
          await dataApi.stop();
        }
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
    systems: withSpeedups(markBestSettings(systems)),
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

/** Marks the best setting of each swept system (see `bestRunIndex`). */
export function markBestSettings(systems: readonly SystemResult[]): SystemResult[] {
  const marked = [...systems];
  for (const name of new Set(systems.filter((system) => system.sweep).map((system) => system.system))) {
    const indices = systems.flatMap((system, index) =>
      system.system === name && system.sweep ? [index] : [],
    );
    const best = bestRunIndex(indices.map((index) => systems[index]!));
    indices.forEach((index, position) => {
      const system = systems[index]!;
      marked[index] = { ...system, sweep: { ...system.sweep!, best: position === best } };
    });
  }
  return marked;
}

/** A system's run to compare with: its best setting when swept, else its only run. */
export function representativeRun(systems: readonly SystemResult[], name: string): SystemResult | undefined {
  const runs = systems.filter((system) => system.system === name);
  return runs.find((system) => system.sweep?.best) ?? runs[0];
}

/** Adds each system's speedup over naive, opwise and langgraph (device makespans; best settings of swept ones). */
export function withSpeedups(systems: readonly SystemResult[]): SystemResult[] {
  const makespanOf = (name: string) => representativeRun(systems, name)?.deviceMakespanMs;
  const naive = makespanOf("naive");
  const opwise = makespanOf("opwise");
  const langgraph = makespanOf("langgraph");
  const ratio = (reference: number | undefined, system: SystemResult) =>
    reference !== undefined && system.deviceMakespanMs > 0
      ? round(reference / system.deviceMakespanMs, 3)
      : undefined;
  return systems.map((system) => {
    const vsNaive = ratio(naive, system);
    const vsOpwise = ratio(opwise, system);
    const vsLanggraph = ratio(langgraph, system);
    return {
      ...system,
      ...(vsNaive === undefined ? {} : { speedupVsNaive: vsNaive }),
      ...(vsOpwise === undefined ? {} : { speedupVsOpwise: vsOpwise }),
      ...(vsLanggraph === undefined ? {} : { speedupVsLanggraph: vsLanggraph }),
    };
  });
}
