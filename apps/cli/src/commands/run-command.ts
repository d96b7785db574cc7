import { writeFile } from "node:fs/promises";
import { type HttpToolV1, type LlmOperator, type SqlToolV1, withPromptLayout } from "@halo/ir";
import {
  disabledOptimizations,
  type ExecutionPlan,
  findOversizedPrompts,
  OPTIMIZATION_NAMES,
  PlanningError,
  type PlanningWorker,
  planBatch,
  scaleObservedTimes,
  strategyNames,
} from "@halo/optimizer";
import { type DeviceProfile, deriveModelProfile } from "@halo/profiles";
import { ExecutorCallError } from "@halo/protocol";
import {
  ExecutorUnavailableError,
  Processor,
  ProcessorConfigurationError,
  type RejectedQuery,
  ResultWriteError,
  type RunSummary,
} from "@halo/runtime";
import type { Command } from "commander";
import { CliError, ExitCode, InvalidInputError } from "../cli-error.js";
import { numberFlag, positiveInteger, promptLayoutFlag } from "../cli-flags.js";
import type { CommandIo } from "../io.js";
import { loadObservedStatistics } from "../json-input.js";
import { type LocalEngine, type LocalExecutors, startLocalExecutors } from "../run/local-executors.js";
import { prepareLocalModels, readModelMap } from "../run/local-models.js";
import { localDeviceProfile } from "../run/local-profile.js";
import { loadProfileReference } from "../run/profile-reference.js";
import {
  checkExecutorsReachable,
  EXECUTOR_TOKEN_ENV,
  executorClientOptionsFromFlags,
  measureExecutorProfile,
  parseExecutorList,
} from "../run/remote-executors.js";
import { RunProgress } from "../run/run-progress.js";
import { loadRunQueries } from "../run/run-queries.js";
import { openRunResults, type RunResults } from "../run/run-results.js";
import { estimateVsActual, formatRunSummary } from "../run/run-summary-text.js";
import { createHttpTool, openSqlTool } from "../run/run-tools.js";
import {
  checkDevicesHoldModels,
  deviceCount,
  executorDevices,
  formatDevices,
  measuredSimProfiles,
  parseDevices,
  startSimDevices,
} from "../run/sim-profile.js";
import { resolveStrategyFlag } from "../strategy-module.js";
import { loadWorkflowOrFail, printWarnings } from "../workflow-input.js";
import type { RegisterCommand } from "./index.js";

/** Flags of `halo run` as commander hands them over. */
export interface RunFlags {
  readonly queries: string;
  readonly executors?: string;
  readonly local?: string;
  readonly engine: string;
  readonly threads: string;
  readonly models?: string;
  readonly contextSize?: string;
  readonly db?: string;
  readonly out: string;
  readonly strategy: string;
  readonly disable?: string;
  readonly profile?: string;
  /** sim: simulated devices with a hidden ground truth (`h100:2,a100:2`), and their per-batch noise σ. */
  readonly devices?: string;
  readonly noise?: string;
  readonly resume?: boolean;
  readonly retryFailed?: boolean;
  readonly overwrite?: boolean;
  readonly executorTimeout: string;
  /** Seconds: the shortest deadline of one generate call (default: the runtime's, 120 s). */
  readonly generateTimeout?: string;
  readonly httpAllow?: string;
  readonly latencyScale: string;
  readonly timeScale: string;
  readonly sqlConcurrency: string;
  readonly httpConcurrency: string;
  readonly queryConcurrency: string;
  readonly planOut?: string;
  readonly summary?: string;
  readonly statistics?: string;
  readonly promptLayout?: string;
  readonly progress: boolean;
  /** With --executors: their CA (TLS) and bearer token. */
  readonly tlsCa?: string;
  readonly executorTokenFile?: string;
}

/** The longest `--generate-timeout`: a day (a deadline past it is a typo, not a slow CPU). */
const MAX_GENERATE_TIMEOUT_SECONDS = 86_400;

/** Exit codes of a run stopped by a signal: 128 + the signal's number. */
const SIGNAL_EXIT_CODES: Readonly<Record<"SIGINT" | "SIGTERM", number>> = { SIGINT: 130, SIGTERM: 143 };

/**
 * `halo run <workflow> --queries <file>`: plans the batch for the executors
 * (local sidecars by default) and executes it, appending one record per query
 * to `--out`; prints progress on stderr and a summary on stdout.
 */
export async function runWorkflow(
  path: string,
  flags: RunFlags,
  io: CommandIo,
): Promise<RunSummary | undefined> {
  const strategy = await resolveStrategyFlag(flags.strategy);
  const disabled = parseDisabled(flags.disable);
  const observed = await loadObservedStatistics(flags.statistics);
  if (flags.executors !== undefined && flags.local !== undefined) {
    throw new InvalidInputError(
      "--executors and --local exclude each other: use running executors or start local ones",
    );
  }
  if (flags.engine !== "llamacpp" && flags.engine !== "sim") {
    throw new InvalidInputError(`--engine: expected llamacpp or sim (got "${flags.engine}")`);
  }
  const engine: LocalEngine = flags.engine;
  let localCount = numberFlag("--local", flags.local ?? "2", positiveInteger, "a number of executors >= 1");
  if (flags.devices !== undefined && (engine !== "sim" || flags.executors !== undefined)) {
    throw new InvalidInputError(
      "--devices: only for local simulated executors (--engine sim, without --executors)",
    );
  }
  // The sim engine plays ground-truth devices unless a --profile alone is given (then it replays that profile).
  const truthMode =
    engine === "sim" &&
    flags.executors === undefined &&
    (flags.devices !== undefined || flags.profile === undefined);
  const devices = truthMode ? parseDevices(flags.devices ?? `h100:${localCount}`) : undefined;
  if (devices) {
    if (flags.local !== undefined && flags.devices !== undefined && deviceCount(devices) !== localCount) {
      throw new InvalidInputError(
        `--local ${localCount} and --devices ${flags.devices} (${deviceCount(devices)} devices) disagree: give one of them`,
      );
    }
    localCount = deviceCount(devices);
  }
  const noise = numberFlag(
    "--noise",
    flags.noise ?? "0.03",
    (value) => value >= 0 && value < 1,
    "a number in [0, 1)",
  );
  const threads = numberFlag("--threads", flags.threads, positiveInteger, "an integer >= 1");
  const contextSize =
    flags.contextSize === undefined
      ? undefined
      : numberFlag(
          "--context-size",
          flags.contextSize,
          (value) => positiveInteger(value) && value >= 64,
          "an integer >= 64",
        );
  const latencyScale = numberFlag(
    "--latency-scale",
    flags.latencyScale,
    (value) => value >= 0,
    "a number >= 0",
  );
  const timeScale = numberFlag("--time-scale", flags.timeScale, (value) => value >= 0, "a number >= 0");
  const toolConcurrency = {
    sql: numberFlag("--sql-concurrency", flags.sqlConcurrency, positiveInteger, "an integer >= 1"),
    http: numberFlag("--http-concurrency", flags.httpConcurrency, positiveInteger, "an integer >= 1"),
  };
  const queryConcurrency = numberFlag(
    "--query-concurrency",
    flags.queryConcurrency,
    positiveInteger,
    "an integer >= 1",
  );
  const executorTimeoutSeconds = numberFlag(
    "--executor-timeout",
    flags.executorTimeout,
    (value) => value > 0,
    "a number of seconds > 0",
  );
  const generateTimeoutSeconds =
    flags.generateTimeout === undefined
      ? undefined
      : numberFlag(
          "--generate-timeout",
          flags.generateTimeout,
          (value) => value > 0 && value <= MAX_GENERATE_TIMEOUT_SECONDS,
          `a number of seconds > 0 and <= ${MAX_GENERATE_TIMEOUT_SECONDS}`,
        );
  const remote = flags.executors === undefined ? undefined : parseExecutorList(flags.executors);
  if (!remote && (flags.tlsCa !== undefined || flags.executorTokenFile !== undefined)) {
    throw new InvalidInputError(
      "--tls-ca and --executor-token-file are for --executors (local executors listen on loopback)",
    );
  }
  const clientOptions = remote ? await executorClientOptionsFromFlags(flags) : {};

  const promptLayout = flags.promptLayout === undefined ? undefined : promptLayoutFlag(flags.promptLayout);
  const loaded = await loadWorkflowOrFail(path);
  const { warnings } = loaded;
  // --prompt-layout overrides every LLM operator's own layout (the workflow's `prompt_layout`).
  const workflow =
    promptLayout === undefined ? loaded.workflow : withPromptLayout(loaded.workflow, promptLayout);
  printWarnings(io, warnings);
  const queries = await loadRunQueries(flags.queries, workflow);
  const models = [
    ...new Set(
      workflow.operators
        .filter((operator): operator is LlmOperator => operator.kind === "llm")
        .map((operator) => operator.model),
    ),
  ];
  const modelMap =
    remote === undefined && engine === "llamacpp" ? await readModelMap(flags.models) : undefined;

  const cleanups: (() => Promise<void>)[] = [];
  let results: RunResults | undefined;
  let local: LocalExecutors | undefined;
  const interrupt = new AbortController();
  let interruptExitCode: number = SIGNAL_EXIT_CODES.SIGINT;
  const onSignal = (signal: NodeJS.Signals) => {
    interruptExitCode = signal === "SIGTERM" ? SIGNAL_EXIT_CODES.SIGTERM : SIGNAL_EXIT_CODES.SIGINT;
    io.stderr(`\nhalo run: ${signal}: stopping (Ctrl-C again to exit at once)\n`);
    interrupt.abort(new Error("interrupted"));
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    if (remote) await checkExecutorsReachable(remote, undefined, undefined, { clientOptions, models });
    let sql: SqlToolV1 | undefined;
    let http: HttpToolV1 | undefined;
    sql = await openSqlTool(workflow, flags.db);
    if (sql) cleanups.push(() => sql!.close());
    http = createHttpTool(workflow, flags.httpAllow, latencyScale);
    if (http) cleanups.push(() => http!.close());
    results = await openRunResults(flags.out, {
      resume: flags.resume ?? false,
      retryFailed: flags.retryFailed ?? false,
      overwrite: flags.overwrite ?? false,
    });
    const opened = results;
    cleanups.push(() => opened.finish());
    const finished = results.sink.finishedIds;
    const remaining = queries.filter((query) => !finished.has(query.id));
    if (results.sink.resumed.truncatedBytes > 0) {
      io.stderr(
        `halo run: ${results.journal}: cut off a torn last line (${results.sink.resumed.truncatedBytes} bytes)\n`,
      );
    }
    if (results.sink.keptFailed > 0) {
      io.stderr(
        `halo run: kept ${results.sink.keptFailed} failed record(s) of ${results.path} (not rerun; --resume --retry-failed reruns them)\n`,
      );
    }
    const keptFailed = results.sink.keptFailed;
    if (remaining.length === 0) {
      io.stdout(
        `halo run ${workflow.name}: all ${queries.length} queries already have results in ${results.path}\n`,
      );
      if (keptFailed > 0) {
        throw new CliError(
          `${keptFailed} of ${queries.length} queries have failed records in ${results.path} (--resume --retry-failed reruns them)`,
          ExitCode.queriesFailed,
        );
      }
      return undefined;
    }

    let addresses: readonly string[];
    let profile: DeviceProfile;
    /** Per worker, when the workers differ (simulated devices: each device's measured profile). */
    let workerProfiles: readonly DeviceProfile[] | undefined;
    /** Per worker, the models its sidecar serves (simulated devices too small for a model). */
    let workerModels: readonly (readonly string[])[] | undefined;
    if (devices) {
      workerModels = checkDevicesHoldModels(devices, models);
      const given =
        flags.profile === undefined
          ? undefined
          : await loadProfileReference(flags.profile, "--profile", process.cwd());
      const measured = given
        ? undefined
        : await measuredSimProfiles(devices, {
            models,
            noise,
            noiseSeed: 1,
            onProgress: (message) => io.stderr(`halo run: ${message}\n`),
          });
      io.stderr(
        `halo run: starting ${formatDevices(devices)} simulated device(s) (ground truth hidden from the planner)\n`,
      );
      local = await startSimDevices(devices, {
        threads,
        serve: models,
        timeScale,
        noise,
        noiseSeed: 1,
      });
      const started = local;
      cleanups.push(() => started.stop());
      addresses = started.addresses;
      workerProfiles = executorDevices(devices).map((device) => given ?? measured!.get(device)!.profile);
      profile = workerProfiles[0]!;
      if (measured) {
        io.stderr(
          `halo run: planning with the measured profiles ${[...measured.values()].map((entry) => entry.path).join(", ")}\n`,
        );
      }
    } else if (remote) {
      addresses = remote;
      profile =
        flags.profile !== undefined
          ? await loadProfileReference(flags.profile, "--profile", process.cwd())
          : await measureExecutorProfile(
              remote,
              models,
              (message) => io.stderr(`halo run: ${message}\n`),
              clientOptions,
            ).catch(rethrowUnknownModel);
    } else {
      if (engine === "llamacpp") {
        await prepareLocalModels(
          models,
          modelMap,
          (model) => io.stderr(`halo run: preparing the stand-in of ${model} (synthesized on first use)\n`),
          contextSize,
        );
      }
      const simProfile = flags.profile ?? "builtin:h100";
      if (engine === "sim")
        checkSimModels(models, await loadProfileReference(simProfile, "--profile", process.cwd()));
      io.stderr(`halo run: starting ${localCount} local ${engine} executor(s), ${threads} thread(s) each\n`);
      local = await startLocalExecutors({
        count: localCount,
        engine,
        threads,
        ...(flags.models === undefined ? {} : { modelsPath: flags.models }),
        serve: models,
        ...(engine === "sim" ? { profile: simProfile, timeScale } : {}),
        ...(engine === "llamacpp" && contextSize !== undefined ? { contextSize } : {}),
      });
      const started = local;
      cleanups.push(() => started.stop());
      io.stderr(
        `halo run: executors ${started.addresses.map((address, index) => `worker-${index} ${address} (pid ${started.pids[index]})`).join(", ")}\n`,
      );
      addresses = started.addresses;
      if (flags.profile !== undefined || engine === "sim") {
        profile = await loadProfileReference(simProfile, "--profile", process.cwd());
      } else {
        const measured = await localDeviceProfile({
          addresses,
          threads,
          ...(flags.models === undefined ? {} : { modelsPath: flags.models }),
          models,
          ...(contextSize === undefined ? {} : { contextSize }),
          onProgress: (message) => io.stderr(`halo run: ${message}\n`),
        }).catch(rethrowUnknownModel);
        profile = measured.profile;
      }
    }
    if (interrupt.signal.aborted) throw new CliError("interrupted before the run started", interruptExitCode);

    const workers: PlanningWorker[] = addresses.map((address, index) => ({
      id: `worker-${index}`,
      profile: workerProfiles?.[index] ?? profile,
      ...(workerModels?.[index] === undefined ? {} : { models: workerModels[index] }),
      address,
    }));
    // A query whose prompt fits no worker fails alone, before planning: it must not sink the batch's plan.
    const rejected: RejectedQuery[] = findOversizedPrompts({ workflow, queries: remaining, workers }).map(
      (entry) => ({ queryId: entry.queryId, operator: entry.operator, message: entry.message }),
    );
    for (const entry of rejected) io.stderr(`halo run: query "${entry.queryId}": ${entry.message}\n`);
    const rejectedIds = new Set(rejected.map((entry) => entry.queryId));
    const planned = remaining.filter((query) => !rejectedIds.has(query.id));
    if (planned.length === 0) {
      for (const entry of rejected) {
        await results.sink.append({
          id: entry.queryId,
          ok: false,
          outputs: {},
          operators: {},
          error: { operator: entry.operator, message: entry.message },
        });
      }
      throw new CliError(
        `every one of the ${rejected.length} queries left to run failed before planning (prompt-too-long); records in ${results.path}`,
        ExitCode.queriesFailed,
      );
    }
    const plan = await makePlan(path, {
      workflow,
      queries: planned,
      workers,
      strategy,
      disabled,
      ...(observed === undefined ? {} : { observed }),
    });
    if (flags.planOut) await writeFile(flags.planOut, `${JSON.stringify(plan, null, 2)}\n`);

    const progress = new RunProgress(io, io.isTty && flags.progress);
    let processor: Processor;
    try {
      processor = new Processor({
        workflow,
        plan,
        executors: addresses,
        tools: { ...(sql ? { sql } : {}), ...(http ? { http } : {}) },
        options: {
          toolConcurrency,
          queryConcurrency,
          ...(remote ? { clientOptions } : {}),
          executorTimeoutMs: executorTimeoutSeconds * 1000,
          ...(generateTimeoutSeconds === undefined
            ? {}
            : { generateDeadline: { floorMs: Math.round(generateTimeoutSeconds * 1000) } }),
          ...(flags.progress ? { onEvent: (event) => progress.observe(event) } : {}),
        },
      });
    } catch (error) {
      if (error instanceof ProcessorConfigurationError) throw new InvalidInputError(error.message);
      throw error;
    }
    let summary: RunSummary;
    try {
      summary = await processor.run(queries, { sink: results.sink, signal: interrupt.signal, rejected });
    } catch (error) {
      if (error instanceof ExecutorUnavailableError) {
        throw new InvalidInputError(`${remote ? "--executors" : "local executors"}: ${error.message}`);
      }
      if (error instanceof ResultWriteError) {
        // Disk full and the like: the records already written stay, and --resume completes the run later.
        throw new CliError(`${error.message}; the records written before stay in ${results.journal}`);
      }
      throw error;
    } finally {
      progress.stop();
    }
    // The plan's estimate is device time; a sim run's makespan is wall time × the time scale.
    const deviceTimeScale = engine === "sim" && !remote && timeScale > 0 ? timeScale : 1;
    io.stdout(formatRunSummary(summary, results.path, deviceTimeScale));
    if (flags.summary) {
      // Observed tool times in device time, like the plan's (a sim run's clock runs at the time scale).
      const measured = summary.observed && scaleObservedTimes(summary.observed, 1 / deviceTimeScale);
      const written = {
        ...summary,
        ...(measured ? { observed: measured } : {}),
        estimateVsActual: estimateVsActual(summary, deviceTimeScale),
      };
      await writeFile(flags.summary, `${JSON.stringify(written, null, 2)}\n`);
    }
    if (summary.aborted) {
      throw new CliError(
        `interrupted: ${summary.queries.unfinished} queries unfinished; rerun with --resume to complete them`,
        interruptExitCode,
      );
    }
    if (summary.queries.failed + keptFailed > 0) {
      const kept = keptFailed > 0 ? `, and ${keptFailed} failed record(s) kept from before` : "";
      throw new CliError(
        `${summary.queries.failed} of ${summary.queries.total - summary.queries.skipped} queries failed${kept} (records in ${results.path}; --resume --retry-failed reruns them)`,
        ExitCode.queriesFailed,
      );
    }
    return summary;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch (error) {
        io.stderr(`halo run: cleanup failed: ${(error as Error).message}\n`);
      }
    }
  }
}

/** Sim executors serve a model from the profile's entry or one derived from the parameter count in its name. */
function checkSimModels(models: readonly string[], profile: DeviceProfile): void {
  const unknown = models.filter(
    (model) => !Object.hasOwn(profile.models, model) && deriveModelProfile(profile, model) === undefined,
  );
  if (unknown.length > 0) {
    throw new InvalidInputError(
      `no model serves ${unknown.map((model) => `"${model}"`).join(", ")}: not in the sim profile "${profile.device}" (--profile) and no parameter count in the name (like -7B)`,
    );
  }
}

/** An executor that does not know a model of the workflow is bad input (the workflow or the deployment names it wrongly). */
function rethrowUnknownModel(error: unknown): never {
  const cause = error instanceof Error && error.cause !== undefined ? error.cause : error;
  for (const candidate of [error, cause]) {
    if (candidate instanceof ExecutorCallError && candidate.errorCode === "unknown-model")
      throw new InvalidInputError(`an executor does not serve a model of the workflow: ${candidate.details}`);
  }
  throw error;
}

async function makePlan(path: string, options: Parameters<typeof planBatch>[0]): Promise<ExecutionPlan> {
  try {
    return (await planBatch(options)).plan;
  } catch (error) {
    if (error instanceof PlanningError) throw new InvalidInputError(`${path}: ${error.message}`);
    throw error;
  }
}

function parseDisabled(value: string | undefined): string[] {
  if (value === undefined) return [];
  const names = value
    .split(",")
    .map((name) => name.trim())
    .filter((name) => name.length > 0);
  try {
    disabledOptimizations(names);
  } catch (error) {
    throw new InvalidInputError(`--disable: ${(error as Error).message}`);
  }
  return names;
}

/** `halo run`: plan and execute a batch. */
export const registerRunCommand: RegisterCommand = (program: Command, io: CommandIo) => {
  program
    .command("run")
    .description("run a batch: plan it for the executors and execute it, one result record per query")
    .argument("<workflow>", "workflow YAML or JSON file")
    .requiredOption("--queries <file>", "query file (.jsonl, .csv or .parquet)")
    .option("--executors <host:port,...>", "running executors to use (default: start local ones)")
    .option("--tls-ca <file>", "--executors: connect with TLS, trusting this CA certificate (PEM)")
    .option(
      "--executor-token-file <file>",
      `--executors: send this bearer token (default: $${EXECUTOR_TOKEN_ENV})`,
    )
    .option("--local <N>", "local executors to start (default 2)")
    .option("--engine <name>", "local executors' engine: llamacpp | sim", "llamacpp")
    .option("--threads <T>", "engine threads per local executor", "1")
    .option("--models <model-map.yaml>", "local llama.cpp executors: which GGUF serves each model")
    .option(
      "--context-size <tokens>",
      "local llama.cpp executors: tokens per sequence, prompt plus generated (default 2048; at most the model's trained context). Stand-ins are synthesized with a trained context that holds it (rounded up to a multiple of 4096, at most 131072)",
    )
    .option("--db <duckdb file | postgres URL>", "database of the workflow's SQL")
    .option("--out <file>", "results: .jsonl (appended durably) or .parquet", "results.jsonl")
    .option(
      "--strategy <name>",
      `planning strategy (${strategyNames().join(", ")}) or a module ./my-strategy.mjs`,
      "dp",
    )
    .option("--disable <names>", `optimizations to turn off (${OPTIMIZATION_NAMES.join(", ")})`)
    .option(
      "--profile <file|builtin:name>",
      "device profile to plan with (default: measured once for local executors and cached; sim: alone, the executors replay it — the planner then knows the costs exactly)",
    )
    .option(
      "--devices <device:count,...>",
      "sim: simulated devices whose ground truth the planner does not see (h100, a100, l40s; e.g. h100:2,a100:2; default h100 × --local); the planner plans from a profile measured against them",
    )
    .option("--noise <sigma>", "sim devices: per-batch lognormal noise of the ground truth", "0.03")
    .option(
      "--resume",
      "keep the results already in --out and run only the queries missing there (failed records are kept, not rerun)",
    )
    .option("--retry-failed", "with --resume: rerun the queries whose record failed; the latest record wins")
    .option("--overwrite", "replace an existing --out (without it, an existing --out is refused)")
    .option(
      "--executor-timeout <s>",
      "an executor that answers no health probe for this long while calls are in flight is lost; its calls move to the others",
      "10",
    )
    .option(
      "--generate-timeout <s>",
      "the shortest deadline of one LLM generate call, in seconds (default 120; the deadline is the larger of this and 20× the plan's estimate of the call); a call past it is retried. Long prompts on CPU need more",
    )
    .option("--http-allow <host,...>", "hosts HTTP tools may call (default: the hosts the workflow names)")
    .option("--latency-scale <f>", "multiply HTTP latency injection and padding", "1")
    .option("--time-scale <f>", "sim engine: wall time per simulated time", "0.01")
    .option("--sql-concurrency <N>", "SQL statements at once", "4")
    .option("--http-concurrency <N>", "HTTP calls at once", "64")
    .option("--query-concurrency <N>", "naive strategy: queries in flight", "64")
    .option(
      "--prompt-layout <layout>",
      "shared-first | declared: order of the input lines every prompt appends, overriding the workflow's prompt_layout",
    )
    .option("--plan-out <file>", "write the execution plan used (JSON)")
    .option("--summary <file>", "write the run summary (JSON), with what the run measured per operator")
    .option(
      "--statistics <file>",
      "plan from what an earlier run of the workflow measured (its run summary, --summary)",
    )
    .option("--no-progress", "no progress display")
    .action(async (path: string, flags: RunFlags) => {
      await runWorkflow(path, flags, io);
    });
};
