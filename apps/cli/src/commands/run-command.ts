import { writeFile } from "node:fs/promises";
import type { HttpToolV1, LlmOperator, SqlToolV1 } from "@halo/ir";
import {
  disabledOptimizations,
  type ExecutionPlan,
  getStrategy,
  OPTIMIZATION_NAMES,
  PlanningError,
  type PlanningWorker,
  planBatch,
  strategyNames,
} from "@halo/optimizer";
import type { DeviceProfile } from "@halo/profiles";
import {
  ExecutorUnavailableError,
  Processor,
  ProcessorConfigurationError,
  type RunSummary,
} from "@halo/runtime";
import type { Command } from "commander";
import { CliError, InvalidInputError } from "../cli-error.js";
import { numberFlag, positiveInteger } from "../cli-flags.js";
import type { CommandIo } from "../io.js";
import { type LocalEngine, type LocalExecutors, startLocalExecutors } from "../run/local-executors.js";
import { prepareLocalModels, readModelMap } from "../run/local-models.js";
import { localDeviceProfile } from "../run/local-profile.js";
import { loadProfileReference } from "../run/profile-reference.js";
import {
  checkExecutorsReachable,
  measureExecutorProfile,
  parseExecutorList,
} from "../run/remote-executors.js";
import { RunProgress } from "../run/run-progress.js";
import { loadRunQueries } from "../run/run-queries.js";
import { openRunResults, type RunResults } from "../run/run-results.js";
import { formatRunSummary } from "../run/run-summary-text.js";
import { createHttpTool, openSqlTool } from "../run/run-tools.js";
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
  readonly resume?: boolean;
  readonly httpAllow?: string;
  readonly latencyScale: string;
  readonly timeScale: string;
  readonly sqlConcurrency: string;
  readonly httpConcurrency: string;
  readonly queryConcurrency: string;
  readonly planOut?: string;
  readonly summary?: string;
  readonly progress: boolean;
}

/** Exit code of a run stopped by Ctrl-C (128 + SIGINT). */
const INTERRUPTED_EXIT_CODE = 130;

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
  let strategy: string;
  try {
    strategy = getStrategy(flags.strategy).name;
  } catch (error) {
    throw new InvalidInputError(`--strategy: ${(error as Error).message}`);
  }
  const disabled = parseDisabled(flags.disable);
  if (flags.executors !== undefined && flags.local !== undefined) {
    throw new InvalidInputError(
      "--executors and --local exclude each other: use running executors or start local ones",
    );
  }
  if (flags.engine !== "llamacpp" && flags.engine !== "sim") {
    throw new InvalidInputError(`--engine: expected llamacpp or sim (got "${flags.engine}")`);
  }
  const engine: LocalEngine = flags.engine;
  const localCount = numberFlag("--local", flags.local ?? "2", positiveInteger, "a number of executors >= 1");
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
  const remote = flags.executors === undefined ? undefined : parseExecutorList(flags.executors);

  const { workflow, warnings } = await loadWorkflowOrFail(path);
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
  const onSignal = () => {
    io.stderr("\nhalo run: interrupted; stopping (Ctrl-C again to exit at once)\n");
    interrupt.abort(new Error("interrupted"));
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    if (remote) await checkExecutorsReachable(remote);
    let sql: SqlToolV1 | undefined;
    let http: HttpToolV1 | undefined;
    sql = await openSqlTool(workflow, flags.db);
    if (sql) cleanups.push(() => sql!.close());
    http = createHttpTool(workflow, flags.httpAllow, latencyScale);
    if (http) cleanups.push(() => http!.close());
    results = await openRunResults(flags.out, flags.resume ?? false);
    const opened = results;
    cleanups.push(() => opened.finish());
    const finished = results.sink.finishedIds;
    const remaining = queries.filter((query) => !finished.has(query.id));
    if (results.sink.resumed.truncatedBytes > 0) {
      io.stderr(
        `halo run: ${results.journal}: cut off a torn last line (${results.sink.resumed.truncatedBytes} bytes)\n`,
      );
    }
    if (remaining.length === 0) {
      io.stdout(
        `halo run ${workflow.name}: all ${queries.length} queries already have results in ${results.path}\n`,
      );
      return undefined;
    }

    let addresses: readonly string[];
    let profile: DeviceProfile;
    if (remote) {
      addresses = remote;
      profile =
        flags.profile !== undefined
          ? await loadProfileReference(flags.profile, "--profile", process.cwd())
          : await measureExecutorProfile(remote, models, (message) => io.stderr(`halo run: ${message}\n`));
    } else {
      if (engine === "llamacpp") {
        await prepareLocalModels(models, modelMap, (model) =>
          io.stderr(`halo run: preparing the stand-in of ${model} (synthesized on first use)\n`),
        );
      }
      const simProfile = flags.profile ?? "builtin:h100";
      if (engine === "sim") await loadProfileReference(simProfile, "--profile", process.cwd());
      io.stderr(`halo run: starting ${localCount} local ${engine} executor(s), ${threads} thread(s) each\n`);
      local = await startLocalExecutors({
        count: localCount,
        engine,
        threads,
        ...(flags.models === undefined ? {} : { modelsPath: flags.models }),
        ...(engine === "llamacpp" && contextSize !== undefined ? { contextSize } : {}),
        ...(engine === "sim" ? { profile: simProfile, timeScale, serve: models } : {}),
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
          onProgress: (message) => io.stderr(`halo run: ${message}\n`),
        });
        profile = measured.profile;
      }
    }
    if (interrupt.signal.aborted)
      throw new CliError("interrupted before the run started", INTERRUPTED_EXIT_CODE);

    const workers: PlanningWorker[] = addresses.map((address, index) => ({
      id: `worker-${index}`,
      profile,
      address,
    }));
    const plan = await makePlan(path, { workflow, queries: remaining, workers, strategy, disabled });
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
          ...(flags.progress ? { onEvent: (event) => progress.observe(event) } : {}),
        },
      });
    } catch (error) {
      if (error instanceof ProcessorConfigurationError) throw new InvalidInputError(error.message);
      throw error;
    }
    let summary: RunSummary;
    try {
      summary = await processor.run(queries, { sink: results.sink, signal: interrupt.signal });
    } catch (error) {
      if (error instanceof ExecutorUnavailableError) {
        throw new InvalidInputError(`${remote ? "--executors" : "local executors"}: ${error.message}`);
      }
      throw error;
    } finally {
      progress.stop();
    }
    io.stdout(formatRunSummary(summary, results.path));
    if (flags.summary) await writeFile(flags.summary, `${JSON.stringify(summary, null, 2)}\n`);
    if (summary.aborted) {
      throw new CliError(
        `interrupted: ${summary.queries.unfinished} queries unfinished; rerun with --resume to complete them`,
        INTERRUPTED_EXIT_CODE,
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
    .option("--local <N>", "local executors to start (default 2)")
    .option("--engine <name>", "local executors' engine: llamacpp | sim", "llamacpp")
    .option("--threads <T>", "engine threads per local executor", "1")
    .option("--models <model-map.yaml>", "local llama.cpp executors: which GGUF serves each model")
    .option(
      "--context-size <tokens>",
      "local llama.cpp executors: tokens per sequence, prompt plus generated (default 2048; at most the model's trained context)",
    )
    .option("--db <duckdb file | postgres URL>", "database of the workflow's SQL")
    .option("--out <file>", "results: .jsonl (appended durably) or .parquet", "results.jsonl")
    .option("--strategy <name>", `planning strategy (${strategyNames().join(", ")})`, "dp")
    .option("--disable <names>", `optimizations to turn off (${OPTIMIZATION_NAMES.join(", ")})`)
    .option(
      "--profile <file|builtin:name>",
      "device profile to plan with (default: measured once for local llama.cpp executors and cached; builtin:h100 for sim)",
    )
    .option("--resume", "keep the results already in --out and run only the queries missing there")
    .option("--http-allow <host,...>", "hosts HTTP tools may call (default: the hosts the workflow names)")
    .option("--latency-scale <f>", "multiply HTTP latency injection and padding", "1")
    .option("--time-scale <f>", "sim engine: wall time per simulated time", "0.01")
    .option("--sql-concurrency <N>", "SQL statements at once", "4")
    .option("--http-concurrency <N>", "HTTP calls at once", "64")
    .option("--query-concurrency <N>", "naive strategy: queries in flight", "64")
    .option("--plan-out <file>", "write the execution plan used (JSON)")
    .option("--summary <file>", "write the run summary (JSON)")
    .option("--no-progress", "no progress display")
    .action(async (path: string, flags: RunFlags) => {
      await runWorkflow(path, flags, io);
    });
};
