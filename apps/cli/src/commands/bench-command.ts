import { basename, join } from "node:path";
import {
  type BenchEngine,
  type BenchEnvironment,
  BenchInputError,
  type BenchSettings,
  type BenchSystem,
  benchResultsDirectory,
  DEFAULT_CONCURRENCY_SWEEP,
  findWorkload,
  formatConcurrencySweep,
  parseConcurrencySweep,
  parseSystems,
  runWorkloadBench,
  strategySystem,
  WORKLOAD_MODELS,
  WORKLOADS,
  type WorkloadBenchResult,
  type WorkloadDefinition,
  WorkloadInputError,
  writeBenchReports,
} from "@halo/benchmarks";
import type { DeviceProfile } from "@halo/profiles";
import type { Command } from "commander";
import { InvalidInputError } from "../cli-error.js";
import { numberFlag, positiveInteger, promptLayoutFlag } from "../cli-flags.js";
import type { CommandIo } from "../io.js";
import { startLocalExecutors } from "../run/local-executors.js";
import { prepareLocalModels, readModelMap } from "../run/local-models.js";
import { localDeviceProfile } from "../run/local-profile.js";
import { loadProfileReference } from "../run/profile-reference.js";
import {
  checkDevicesHoldModels,
  type DeviceGroup,
  deviceCount,
  executorDevices,
  formatDevices,
  measuredSimProfiles,
  parseDevices,
  startSimDevices,
} from "../run/sim-profile.js";
import { resolveStrategyFlag } from "../strategy-module.js";
import type { RegisterCommand } from "./index.js";
import {
  type OnlineBenchFlags,
  runOnlineBenchCommand,
  writeOnlineReportCommand,
} from "./online-bench-command.js";

/** Flags of `halo bench` as commander hands them over. */
export interface BenchFlags {
  readonly workload: string;
  readonly queries: string;
  readonly local?: string;
  readonly systems: string;
  readonly engine: string;
  readonly threads: string;
  readonly models?: string;
  readonly latencyScale: string;
  readonly timeScale: string;
  readonly dbBackend: string;
  readonly postgresUrl?: string;
  readonly http: string;
  readonly datasetScale: string;
  readonly seed: string;
  readonly naiveConcurrency: string;
  readonly langgraphConcurrency: string;
  readonly sqlConcurrency: string;
  readonly httpConcurrency: string;
  readonly gatherWindowMs: string;
  readonly promptLayout?: string;
  readonly profile?: string;
  /** sim: simulated devices with a hidden ground truth (`h100:2,a100:2`) and their per-batch noise σ. */
  readonly devices?: string;
  readonly noise?: string;
  readonly modelsPerDevice?: string;
  readonly resultsDir?: string;
  readonly plansDir?: string;
  readonly tag?: string;
  readonly report?: boolean;
  /** A user strategy module (`./my-strategy.js`) or a registered strategy, compared as one more system. */
  readonly strategy?: string;
}

/** The checked options of one `halo bench` invocation. */
export interface BenchOptions {
  readonly workloads: readonly WorkloadDefinition[];
  readonly systems: readonly BenchSystem[];
  readonly settings: Omit<BenchSettings, "profile" | "executorReset">;
  readonly modelsPath?: string;
  readonly postgresUrl?: string;
  readonly profile?: string;
  /** sim with a hidden ground truth: the devices (absent: the executors replay `profile`). */
  readonly devices?: readonly DeviceGroup[];
  readonly noise: number;
  readonly resultsDirectory: string;
  /** Where each planned system's execution plan is written (`--plans-dir`; absent: not written). */
  readonly plansDirectory?: string;
  /** The README whose results block is regenerated (only for the default results folder). */
  readonly readmePath?: string;
  readonly tag?: string;
  readonly commandLine: string;
}

function choice<T extends string>(flag: string, text: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(text)) {
    throw new InvalidInputError(`${flag}: expected ${allowed.join(" or ")} (got "${text}")`);
  }
  return text as T;
}

const DEFAULT_SWEEP = formatConcurrencySweep(DEFAULT_CONCURRENCY_SWEEP);

/** A queries-in-flight sweep flag, checked and written back in its normal form (`16,64,256,all`). */
function sweepFlag(flag: string, text: string): string {
  try {
    return formatConcurrencySweep(parseConcurrencySweep(text, flag));
  } catch (error) {
    if (error instanceof BenchInputError) throw new InvalidInputError(error.message);
    throw error;
  }
}

function parseWorkloads(list: string): WorkloadDefinition[] {
  const names = list
    .split(",")
    .map((name) => name.trim())
    .filter((name) => name.length > 0);
  if (names.length === 0) throw new InvalidInputError("--workload: name at least one workload (or all)");
  if (names.some((name) => name.toLowerCase() === "all")) return [...WORKLOADS];
  try {
    const chosen = names.map((name) => findWorkload(name));
    return WORKLOADS.filter((workload) => chosen.includes(workload));
  } catch (error) {
    if (error instanceof WorkloadInputError) throw new InvalidInputError(`--workload: ${error.message}`);
    throw error;
  }
}

/**
 * Checks the flags of `halo bench`; bad values are invalid input naming the flag. `strategyName` is
 * the registered name `--strategy` resolved to ({@link resolveStrategyFlag}): that strategy runs as
 * one more system after the chosen ones.
 */
export function benchOptionsFromFlags(flags: BenchFlags, strategyName?: string): BenchOptions {
  const engine = choice<BenchEngine>("--engine", flags.engine, ["llamacpp", "sim"]);
  const workloads = parseWorkloads(flags.workload);
  let systems: BenchSystem[];
  try {
    systems = parseSystems(flags.systems);
    if (strategyName !== undefined) systems.push(strategySystem(strategyName));
  } catch (error) {
    if (error instanceof BenchInputError) throw new InvalidInputError(error.message);
    throw error;
  }
  const dbBackend = choice("--db-backend", flags.dbBackend, ["duckdb", "postgres"] as const);
  const postgresUrl = flags.postgresUrl ?? process.env["HALO_BENCH_POSTGRES_URL"];
  if (dbBackend === "postgres" && (postgresUrl === undefined || postgresUrl.trim() === "")) {
    throw new InvalidInputError(
      "--db-backend postgres: give the server with --postgres-url postgres://… (or HALO_BENCH_POSTGRES_URL); the dataset is loaded there",
    );
  }
  if (flags.models !== undefined && engine !== "llamacpp") {
    throw new InvalidInputError("--models: only the llamacpp engine reads a model map");
  }
  if (flags.devices !== undefined && engine !== "sim") {
    throw new InvalidInputError("--devices: only the sim engine simulates devices");
  }
  // sim plays ground-truth devices unless a --profile alone is given (then the executors replay it).
  const devices =
    engine === "sim" && (flags.devices !== undefined || flags.profile === undefined)
      ? parseDevices(flags.devices ?? `h100:${flags.local ?? "4"}`)
      : undefined;
  if (
    devices &&
    flags.devices !== undefined &&
    flags.local !== undefined &&
    Number(flags.local) !== deviceCount(devices)
  ) {
    throw new InvalidInputError(
      `--local ${flags.local} and --devices ${flags.devices} (${deviceCount(devices)} devices) disagree: give one of them`,
    );
  }
  const noise = numberFlag(
    "--noise",
    flags.noise ?? "0.03",
    (value) => value >= 0 && value < 1,
    "a number in [0, 1)",
  );
  if (flags.modelsPerDevice !== undefined && engine !== "sim") {
    throw new InvalidInputError("--models-per-device: only the sim engine simulates devices");
  }
  const modelsPerDevice =
    flags.modelsPerDevice === undefined
      ? 1
      : numberFlag("--models-per-device", flags.modelsPerDevice, positiveInteger, "an integer >= 1");
  const timeScale =
    engine === "sim"
      ? numberFlag("--time-scale", flags.timeScale, (value) => value > 0 && value <= 1, "a number in (0, 1]")
      : 1;
  const settings: BenchOptions["settings"] = {
    engine,
    queries: numberFlag("--queries", flags.queries, positiveInteger, "a number of queries >= 1"),
    executors: devices
      ? deviceCount(devices)
      : numberFlag(
          "--local",
          flags.local ?? (engine === "sim" ? "4" : "2"),
          (value) => positiveInteger(value) && value <= 64,
          "1 to 64 executors",
        ),
    ...(devices ? { devices: formatDevices(devices), noise } : {}),
    ...(modelsPerDevice > 1 ? { modelsPerDevice } : {}),
    threads: numberFlag("--threads", flags.threads, positiveInteger, "an integer >= 1"),
    timeScale,
    latencyScale: numberFlag("--latency-scale", flags.latencyScale, (value) => value >= 0, "a number >= 0"),
    http: choice("--http", flags.http, ["padded", "live", "sleep"] as const),
    dbBackend,
    datasetScale: numberFlag(
      "--dataset-scale",
      flags.datasetScale,
      (value) => value > 0 && value <= 1,
      "a scale in (0, 1]",
    ),
    seed: numberFlag(
      "--seed",
      flags.seed,
      (value) => Number.isSafeInteger(value) && value >= 0,
      "an integer >= 0",
    ),
    naiveConcurrency: sweepFlag("--naive-concurrency", flags.naiveConcurrency),
    langgraphConcurrency: sweepFlag("--langgraph-concurrency", flags.langgraphConcurrency),
    toolConcurrency: {
      sql: numberFlag("--sql-concurrency", flags.sqlConcurrency, positiveInteger, "an integer >= 1"),
      http: numberFlag("--http-concurrency", flags.httpConcurrency, positiveInteger, "an integer >= 1"),
    },
    gatherWindowMs: numberFlag(
      "--gather-window-ms",
      flags.gatherWindowMs,
      (value) => value >= 0,
      "a number >= 0",
    ),
    ...(flags.promptLayout === undefined ? {} : { promptLayout: promptLayoutFlag(flags.promptLayout) }),
  };
  if (flags.tag !== undefined && !/^[a-z0-9][a-z0-9-]*$/.test(flags.tag)) {
    throw new InvalidInputError(`--tag: expected lowercase letters, digits and dashes (got "${flags.tag}")`);
  }
  const defaultResults = benchResultsDirectory();
  const resultsDirectory = flags.resultsDir ?? defaultResults;
  const commandLine = [
    "halo bench",
    `--workload ${flags.workload}`,
    `--queries ${settings.queries}`,
    ...(devices ? [`--devices ${formatDevices(devices)}`] : [`--local ${settings.executors}`]),
    ...(devices && noise !== 0.03 ? [`--noise ${noise}`] : []),
    ...(modelsPerDevice > 1 ? [`--models-per-device ${modelsPerDevice}`] : []),
    `--systems ${flags.systems}`,
    `--engine ${engine}`,
    ...(settings.threads !== 1 ? [`--threads ${settings.threads}`] : []),
    `--latency-scale ${settings.latencyScale}`,
    ...(engine === "sim" ? [`--time-scale ${timeScale}`] : []),
    ...(settings.http !== "padded" ? [`--http ${settings.http}`] : []),
    ...(dbBackend !== "duckdb" ? [`--db-backend ${dbBackend}`] : []),
    ...(settings.datasetScale !== 0.01 ? [`--dataset-scale ${settings.datasetScale}`] : []),
    ...(settings.seed !== 1 ? [`--seed ${settings.seed}`] : []),
    ...(settings.naiveConcurrency !== DEFAULT_SWEEP
      ? [`--naive-concurrency ${settings.naiveConcurrency}`]
      : []),
    ...(settings.langgraphConcurrency !== DEFAULT_SWEEP
      ? [`--langgraph-concurrency ${settings.langgraphConcurrency}`]
      : []),
    ...(settings.toolConcurrency.sql !== 4 ? [`--sql-concurrency ${settings.toolConcurrency.sql}`] : []),
    ...(settings.toolConcurrency.http !== 1024
      ? [`--http-concurrency ${settings.toolConcurrency.http}`]
      : []),
    ...(settings.gatherWindowMs !== 50 ? [`--gather-window-ms ${settings.gatherWindowMs}`] : []),
    ...(settings.promptLayout !== undefined ? [`--prompt-layout ${settings.promptLayout}`] : []),
    ...(flags.profile !== undefined ? [`--profile ${flags.profile}`] : []),
    ...(flags.tag !== undefined ? [`--tag ${flags.tag}`] : []),
    ...(flags.strategy !== undefined ? [`--strategy ${flags.strategy}`] : []),
  ].join(" ");
  return {
    workloads,
    systems,
    settings,
    ...(flags.models !== undefined ? { modelsPath: flags.models } : {}),
    ...(dbBackend === "postgres" ? { postgresUrl: postgresUrl! } : {}),
    ...(flags.profile !== undefined ? { profile: flags.profile } : {}),
    ...(devices ? { devices } : {}),
    noise,
    resultsDirectory,
    ...(flags.plansDir !== undefined ? { plansDirectory: flags.plansDir } : {}),
    ...(resultsDirectory === defaultResults ? { readmePath: join(defaultResults, "..", "README.md") } : {}),
    ...(flags.tag !== undefined ? { tag: flags.tag } : {}),
    commandLine,
  };
}

/** The planning profile and the executor factory of a bench run. */
async function prepareEnvironment(
  options: BenchOptions,
  io: CommandIo,
): Promise<Omit<BenchEnvironment, "onProgress">> {
  const { settings } = options;
  const models = [...WORKLOAD_MODELS];
  const log = (message: string) => io.stderr(`halo bench: ${message}\n`);
  let simProfile: string | undefined;
  if (options.devices) return simDeviceEnvironment(options, options.devices, models, log);
  if (settings.engine === "llamacpp") {
    const modelMap = await readModelMap(options.modelsPath);
    await prepareLocalModels(models, modelMap, (model) =>
      log(`preparing the stand-in of ${model} (synthesized on first use)`),
    );
  } else {
    simProfile = options.profile ?? "builtin:h100";
  }
  // The langgraph peer talks to the executors over their OpenAI endpoints.
  const openai = options.systems.some((system) => system.runner === "langgraph");
  const startExecutors = () =>
    startLocalExecutors({
      ...(openai ? { openai: true } : {}),
      count: settings.executors,
      engine: settings.engine,
      threads: settings.threads,
      ...(options.modelsPath === undefined ? {} : { modelsPath: options.modelsPath }),
      ...(settings.engine === "sim"
        ? {
            profile: simProfile!,
            timeScale: settings.timeScale,
            serve: models,
            // One model resident per simulated GPU, as a serving engine holds it (unless --models-per-device).
            maxLoadedModels: settings.modelsPerDevice ?? 1,
            // The sidecars' merge windows in device time, like every other wait of the simulation.
            batching: { windowMs: 3 * settings.timeScale, maxCollectMs: 10 * settings.timeScale },
          }
        : {}),
    });

  let profile: DeviceProfile;
  let profileSource: string;
  if (options.profile !== undefined || settings.engine === "sim") {
    const reference = options.profile ?? simProfile!;
    profile = keepingModels(
      await loadProfileReference(reference, "--profile", process.cwd()),
      settings.engine === "sim" ? settings.modelsPerDevice : undefined,
    );
    profileSource = reference.startsWith("builtin:") ? reference : "--profile file";
  } else {
    const executors = await startExecutors();
    try {
      const measured = await localDeviceProfile({
        addresses: executors.addresses,
        threads: settings.threads,
        ...(options.modelsPath === undefined ? {} : { modelsPath: options.modelsPath }),
        models,
        onProgress: log,
      });
      profile = measured.profile;
      profileSource = `measured on these executors (halo profile --quick), cached in $HALO_HOME/profiles`;
    } finally {
      await executors.stop();
    }
  }
  return { startExecutors, profile, profileSource };
}

/**
 * The planning profile of executors that keep `modelsPerDevice` models loaded (the profile is
 * measured on one-model executors; how many stay loaded is a setting, not a measurement).
 */
function keepingModels(profile: DeviceProfile, modelsPerDevice: number | undefined): DeviceProfile {
  if (modelsPerDevice === undefined || modelsPerDevice <= 1) return profile;
  return {
    ...profile,
    capabilities: {
      ...(profile.capabilities ?? { kvTransfer: true, prefixPinning: true, modelLoading: true }),
      maxLoadedModels: modelsPerDevice,
    },
  };
}

/**
 * Simulated devices with a hidden ground truth: each system gets fresh sidecars
 * replaying the devices' truth; the planner gets the profiles `halo profile`
 * measured against such sidecars (or `--profile` when given), per worker.
 */
async function simDeviceEnvironment(
  options: BenchOptions,
  devices: readonly DeviceGroup[],
  models: readonly string[],
  log: (message: string) => void,
): Promise<Omit<BenchEnvironment, "onProgress">> {
  const { settings } = options;
  const workerModels = checkDevicesHoldModels(devices, models);
  const given =
    options.profile === undefined
      ? undefined
      : await loadProfileReference(options.profile, "--profile", process.cwd());
  const measured = given
    ? undefined
    : await measuredSimProfiles(devices, { models, noise: options.noise, noiseSeed: 1, onProgress: log });
  const workerProfiles = executorDevices(devices).map((device) =>
    keepingModels(given ?? measured!.get(device)!.profile, settings.modelsPerDevice),
  );
  const openai = options.systems.some((system) => system.runner === "langgraph");
  return {
    startExecutors: () =>
      startSimDevices(devices, {
        ...(openai ? { openai: true } : {}),
        threads: settings.threads,
        serve: models,
        timeScale: settings.timeScale,
        noise: options.noise,
        noiseSeed: 1,
        // One model resident per simulated GPU, as a serving engine holds it (unless --models-per-device).
        maxLoadedModels: settings.modelsPerDevice ?? 1,
        batching: { windowMs: 3 * settings.timeScale, maxCollectMs: 10 * settings.timeScale },
      }),
    profile: workerProfiles[0]!,
    workerProfiles,
    // What each sidecar serves: a device too small for a model does not list it, so no plan puts it there.
    workerModels,
    profileSource: given
      ? `${options.profile} (given; the executors play the hidden ground truth of ${formatDevices(devices)})`
      : `measured by halo profile against simulated ${formatDevices(devices)} (ground truth hidden; noise σ ${options.noise}): ` +
        [...measured!.entries()].map(([device, entry]) => `${device} ${basename(entry.path)}`).join(", "),
  };
}

/**
 * `halo bench`: runs the compared systems on each workload and writes one
 * result file per workload, then regenerates the reports. Returns the results.
 */
export async function runBench(options: BenchOptions, io: CommandIo): Promise<WorkloadBenchResult[]> {
  const environment = await prepareEnvironment(options, io);
  const results: WorkloadBenchResult[] = [];
  for (const workload of options.workloads) {
    const result = await runWorkloadBench(
      {
        workload,
        systems: options.systems,
        settings: options.settings,
        ...(options.postgresUrl === undefined ? {} : { postgresUrl: options.postgresUrl }),
        commandLine: options.commandLine.replace(/--workload \S+/, `--workload ${workload.id}`),
        ...(options.tag === undefined ? {} : { tag: options.tag }),
        resultsDirectory: options.resultsDirectory,
        ...(options.plansDirectory === undefined ? {} : { plansDirectory: options.plansDirectory }),
      },
      { ...environment, onProgress: (message) => io.stderr(`halo bench: ${message}\n`) },
    );
    results.push(result);
    io.stdout(formatWorkloadResult(result));
  }
  const written = await writeBenchReports(options.resultsDirectory, options.readmePath);
  io.stderr(`halo bench: reports ${written.join(", ")}\n`);
  return results;
}

/** A few lines per workload on stdout. */
export function formatWorkloadResult(result: WorkloadBenchResult): string {
  const lines = [
    `${result.workload.id} ${result.workload.name} (${result.settings.queries} queries, ${result.engine}):`,
  ];
  for (const system of result.systems) {
    const ratios = [
      system.speedupVsNaive === undefined ? undefined : `${system.speedupVsNaive.toFixed(2)}× best naive`,
      system.system !== "langgraph" && system.speedupVsLanggraph !== undefined
        ? `${system.speedupVsLanggraph.toFixed(2)}× best langgraph`
        : undefined,
      system.system !== "opwise" && system.speedupVsOpwise !== undefined
        ? `${system.speedupVsOpwise.toFixed(2)}× opwise`
        : undefined,
    ].filter((part) => part !== undefined);
    const name = system.sweep
      ? `${system.system} (${system.sweep.setting})${system.sweep.best ? " best" : ""}`
      : system.system;
    const outputs = system.outputsVsNaive
      ? `, outputs = naive ${system.outputsVsNaive.equal}/${system.outputsVsNaive.equal + system.outputsVsNaive.different}`
      : "";
    lines.push(
      `  ${name.padEnd(24)} ${(system.deviceMakespanMs / 1000).toFixed(1).padStart(8)} s` +
        `${ratios.length > 0 ? `  (${ratios.join(", ")})` : ""}, ${system.queries.ok} ok, ${system.queries.failed} failed${outputs}`,
    );
  }
  return `${lines.join("\n")}\n`;
}

/** `halo bench`: compare naive, opwise, halo and its ablations on the benchmark workloads. */
export const registerBenchCommand: RegisterCommand = (program: Command, io: CommandIo) => {
  program
    .command("bench")
    .description(
      "benchmark: run naive, langgraph, opwise, halo and its ablations on workloads W1–W6 on the same executors, data and queries",
    )
    .option("--workload <ids>", "w1…w6, comma-separated, or all", "all")
    .option("--queries <N>", "queries per workload", "64")
    .option("--local <N>", "local executors (default 2 for llamacpp, 4 for sim)")
    .option("--systems <names>", "systems to run, comma-separated, or all", "all")
    .option(
      "--strategy <name|module>",
      "also run this strategy (a registered name or an ES module such as ./my-strategy.js), every optimization on",
    )
    .option("--engine <name>", "llamacpp (stand-in models on this CPU) | sim (simulated H100s)", "llamacpp")
    .option("--threads <T>", "engine threads per executor", "1")
    .option("--models <model-map.yaml>", "llamacpp: which GGUF serves each model")
    .option("--latency-scale <f>", "multiply the workloads' HTTP latency means (3 s, 6 s)", "1")
    .option("--time-scale <f>", "sim: wall time per device time", "0.1")
    .option("--db-backend <name>", "SQL on duckdb | postgres", "duckdb")
    .option("--postgres-url <url>", "--db-backend postgres: the server (default $HALO_BENCH_POSTGRES_URL)")
    .option("--http <mode>", "HTTP operators: padded (request + latency) | live | sleep", "padded")
    .option("--dataset-scale <s>", "scale of the generated datasets", "0.01")
    .option("--seed <n>", "seed of datasets and queries", "1")
    .option(
      "--naive-concurrency <list>",
      "naive: queries in flight, one run per setting (ratios use the best)",
      "16,64,256,all",
    )
    .option(
      "--langgraph-concurrency <list>",
      "langgraph: graph.batch maxConcurrency, one run per setting (ratios use the best)",
      "16,64,256,all",
    )
    .option("--sql-concurrency <N>", "SQL statements at once", "4")
    .option(
      "--http-concurrency <N>",
      "HTTP calls at once (high enough that naive's calls never wait for a slot)",
      "1024",
    )
    .option("--gather-window-ms <ms>", "longest wait for a fuller micro-batch (device time)", "50")
    .option(
      "--prompt-layout <layout>",
      "shared-first | declared: the prompt layout of every system that does not force one (default: each workflow's own; halo-no-reorder is always declared)",
    )
    .option(
      "--profile <file|builtin:name>",
      "planning profile (default: measured and cached; sim: alone, the executors replay it and the planner knows the costs exactly)",
    )
    .option(
      "--devices <device:count,...>",
      "sim: simulated devices whose ground truth the planner does not see (h100, a100, l40s; e.g. h100:2,a100:2; default h100 × --local)",
    )
    .option("--noise <sigma>", "sim devices: per-batch lognormal noise of the ground truth", "0.03")
    .option(
      "--models-per-device <N>",
      "sim: models each device keeps loaded at once, weights permitting (default 1, one serving engine per GPU); the planners know it",
    )
    .option("--results-dir <dir>", "where result files and reports go (default benchmarks/results)")
    .option(
      "--plans-dir <dir>",
      "also write each planned system's execution plan there (<result file>-<system>.plan.json) and what its run measured (.observed.json)",
    )
    .option("--tag <name>", "name of the run set, prefixed to the result files (e.g. scale)")
    .option("--report", "only regenerate the reports (markdown, SVG, README block) from the result files")
    .option(
      "--online",
      "the online benchmark: Poisson arrivals at increasing --rates against naive and the server (sim)",
    )
    .option("--rates <list>", "--online: arrival rates, queries per device second", "0.25,0.5,1,2,4,8")
    .option("--duration <s>", "--online: arrivals per rate, in device seconds", "120")
    .option("--slo-multiplier <k>", "--online: SLO = k × naive's unloaded single-query latency (p95)", "5")
    .action(async (flags: BenchFlags & Partial<OnlineBenchFlags> & { online?: boolean }) => {
      if (flags.online) {
        if (flags.strategy !== undefined) {
          throw new InvalidInputError("--strategy: the online benchmark compares naive and the server only");
        }
        if (flags.report) {
          await writeOnlineReportCommand(flags.resultsDir, io);
          return;
        }
        const online = flags as BenchFlags & OnlineBenchFlags;
        const commandLine =
          `halo bench --online --engine ${online.engine} --workload ${online.workload} --local ${online.local ?? "4"} ` +
          `--time-scale ${online.timeScale} --rates ${online.rates} --duration ${online.duration} --slo-multiplier ${online.sloMultiplier} ` +
          `--systems ${online.systems === "all" ? "naive,halo,halo-minibatch" : online.systems} --naive-concurrency ${online.naiveConcurrency}`;
        await runOnlineBenchCommand(online, io, commandLine);
        return;
      }
      if (flags.report) {
        const directory = flags.resultsDir ?? benchResultsDirectory();
        const readme = flags.resultsDir === undefined ? join(directory, "..", "README.md") : undefined;
        const written = await writeBenchReports(directory, readme);
        io.stdout(written.length > 0 ? `${written.join("\n")}\n` : `no result files in ${directory}\n`);
        return;
      }
      const strategyName =
        flags.strategy === undefined ? undefined : await resolveStrategyFlag(flags.strategy);
      await runBench(benchOptionsFromFlags(flags, strategyName), io);
    });
};
