/**
 * `halo serve`: the reference server (`@halo/server`) over running executors
 * (`--executors`) or local sidecars it starts (`--local N --engine …`), with
 * its store under `$HALO_HOME` (or `--store`). Stops on SIGINT/SIGTERM:
 * running work stops, unfinished queries stay in the store and resume at the
 * next start.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { resolveHaloHome } from "@halo/engine-llamacpp";
import { getStrategy } from "@halo/optimizer";
import type { DeviceProfile } from "@halo/profiles";
import { describeStoreUrl, openStore, ServerConfigurationError, startHaloServer } from "@halo/server";
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
import { createHttpTool, openSqlTool } from "../run/run-tools.js";
import type { RegisterCommand } from "./index.js";

/** Flags of `halo serve` as commander hands them over. */
export interface ServeFlags {
  readonly port: string;
  readonly host: string;
  readonly executors?: string;
  readonly local?: string;
  readonly engine: string;
  readonly threads: string;
  readonly models?: string;
  readonly serveModels: string;
  readonly profile?: string;
  readonly timeScale: string;
  readonly db?: string;
  readonly store?: string;
  readonly tokenFile?: string;
  readonly insecure?: boolean;
  readonly strategy: string;
  readonly httpAllow?: string;
  readonly latencyScale: string;
  readonly onlineAdmission: string;
  readonly maxInFlight: string;
  readonly onlineBatchSize: string;
  readonly onlineWindowMs: string;
  readonly maxQueued: string;
  readonly chunkSize: string;
}

/** The three models of the built-in simulated H100 profile (and the workloads). */
const DEFAULT_MODELS = "Qwen/Qwen3-14B,openai/gpt-oss-20b,Qwen/Qwen3-32B";

/** Reads bearer tokens: one per line; blank lines and `#` comments skipped. */
export async function readTokenFile(path: string): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new InvalidInputError(`--token-file: cannot read ${path}: ${(error as Error).message}`);
  }
  const tokens = text
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line.length > 0 && !line.startsWith("#"));
  if (tokens.length === 0) throw new InvalidInputError(`--token-file ${path}: no tokens (one per line)`);
  const short = tokens.findIndex((token) => token.length < 16);
  if (short >= 0)
    throw new InvalidInputError(`--token-file ${path}: token ${short + 1} is shorter than 16 characters`);
  return tokens;
}

/** Starts the server and resolves when it has stopped (after a signal). */
export async function serve(flags: ServeFlags, io: CommandIo, stopSignal?: AbortSignal): Promise<void> {
  const port = numberFlag(
    "--port",
    flags.port,
    (value) => Number.isInteger(value) && value >= 0 && value < 65536,
    "a port 0-65535",
  );
  let strategy: string;
  try {
    strategy = getStrategy(flags.strategy).name;
  } catch (error) {
    throw new InvalidInputError(`--strategy: ${(error as Error).message}`);
  }
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
  const timeScale = numberFlag("--time-scale", flags.timeScale, (value) => value >= 0, "a number >= 0");
  const latencyScale = numberFlag(
    "--latency-scale",
    flags.latencyScale,
    (value) => value >= 0,
    "a number >= 0",
  );
  if (flags.onlineAdmission !== "continuous" && flags.onlineAdmission !== "mini-batch") {
    throw new InvalidInputError(
      `--online-admission: expected continuous or mini-batch (got "${flags.onlineAdmission}")`,
    );
  }
  const online = {
    admission: flags.onlineAdmission as "continuous" | "mini-batch",
    maxInFlight: numberFlag("--max-in-flight", flags.maxInFlight, positiveInteger, "an integer >= 1"),
    maxBatchSize: numberFlag(
      "--online-batch-size",
      flags.onlineBatchSize,
      positiveInteger,
      "an integer >= 1",
    ),
    windowMs: numberFlag("--online-window-ms", flags.onlineWindowMs, (value) => value >= 0, "a number >= 0"),
    maxQueued: numberFlag("--max-queued", flags.maxQueued, positiveInteger, "an integer >= 1"),
  };
  const chunkSize = numberFlag("--chunk-size", flags.chunkSize, positiveInteger, "an integer >= 1");
  const tokens = flags.tokenFile === undefined ? [] : await readTokenFile(flags.tokenFile);
  const models = flags.serveModels
    .split(",")
    .map((name) => name.trim())
    .filter(Boolean);
  const remote = flags.executors === undefined ? undefined : parseExecutorList(flags.executors);
  const log = (message: string) => io.stderr(`halo serve: ${message}\n`);

  const cleanups: (() => Promise<void>)[] = [];
  try {
    let addresses: readonly string[];
    let profile: DeviceProfile;
    if (remote) {
      await checkExecutorsReachable(remote);
      addresses = remote;
      profile =
        flags.profile !== undefined
          ? await loadProfileReference(flags.profile, "--profile", process.cwd())
          : await measureExecutorProfile(remote, models, log);
    } else {
      const modelMap = engine === "llamacpp" ? await readModelMap(flags.models) : undefined;
      if (engine === "llamacpp") {
        await prepareLocalModels(models, modelMap, (model) =>
          log(`preparing the stand-in of ${model} (synthesized on first use)`),
        );
      }
      const simProfile = flags.profile ?? "builtin:h100";
      if (engine === "sim") await loadProfileReference(simProfile, "--profile", process.cwd());
      log(`starting ${localCount} local ${engine} executor(s), ${threads} thread(s) each`);
      const local: LocalExecutors = await startLocalExecutors({
        count: localCount,
        engine,
        threads,
        ...(flags.models === undefined ? {} : { modelsPath: flags.models }),
        ...(engine === "sim" ? { profile: simProfile, timeScale, serve: models } : {}),
      });
      cleanups.push(() => local.stop());
      addresses = local.addresses;
      if (flags.profile !== undefined || engine === "sim") {
        profile = await loadProfileReference(simProfile, "--profile", process.cwd());
      } else {
        profile = (
          await localDeviceProfile({
            addresses,
            threads,
            ...(flags.models === undefined ? {} : { modelsPath: flags.models }),
            models,
            onProgress: log,
          })
        ).profile;
      }
    }
    let store: Awaited<ReturnType<typeof openStore>>;
    try {
      store = await openStore(flags.store, resolveHaloHome());
    } catch (error) {
      const where = flags.store === undefined ? "the embedded store" : describeStoreUrl(flags.store);
      throw new InvalidInputError(`--store ${where}: ${(error as Error).message}`);
    }
    let server: Awaited<ReturnType<typeof startHaloServer>>;
    try {
      server = await startHaloServer({
        store,
        executors: addresses,
        profile,
        tools: async (workflow) => {
          const sql = await openSqlTool(workflow, flags.db);
          const http = createHttpTool(workflow, flags.httpAllow, latencyScale);
          return { ...(sql ? { sql } : {}), ...(http ? { http } : {}) };
        },
        host: flags.host,
        port,
        tokens,
        insecure: flags.insecure ?? false,
        strategy,
        online,
        batch: { chunkSize },
        spoolDirectory: join(resolveHaloHome(), "server-uploads"),
        log,
      });
    } catch (error) {
      await store.close().catch(() => undefined);
      if (error instanceof ServerConfigurationError) throw new InvalidInputError(error.message);
      throw error;
    }
    cleanups.push(() => server.close());
    io.stdout(
      `${JSON.stringify({
        event: "listening",
        url: server.url,
        store: `${store.kind} ${store.location}`,
        executors: addresses,
        resumed: server.resumed,
        auth: tokens.length > 0 ? "bearer" : "none",
      })}\n`,
    );
    await new Promise<void>((resolve) => {
      const stop = () => {
        process.off("SIGINT", stop);
        process.off("SIGTERM", stop);
        log("stopping");
        resolve();
      };
      process.on("SIGINT", stop);
      process.on("SIGTERM", stop);
      stopSignal?.addEventListener("abort", stop, { once: true });
    });
  } finally {
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch (error) {
        io.stderr(`halo serve: cleanup failed: ${(error as Error).message}\n`);
      }
    }
  }
}

/** `halo serve`: the HTTP server (workflows, online queries, batch jobs, dashboard, metrics). */
export const registerServeCommand: RegisterCommand = (program: Command, io: CommandIo) => {
  program
    .command("serve")
    .description("serve workflows, online queries and batch jobs over HTTP, with a dashboard and metrics")
    .option("--port <port>", "HTTP port (0: any free port)", "8080")
    .option(
      "--host <host>",
      "address to bind (beyond loopback it needs --token-file or --insecure)",
      "127.0.0.1",
    )
    .option("--executors <host:port,...>", "running executors to use (default: start local ones)")
    .option("--local <N>", "local executors to start (default 2)")
    .option("--engine <name>", "local executors' engine: llamacpp | sim", "llamacpp")
    .option("--threads <T>", "engine threads per local executor", "1")
    .option("--models <model-map.yaml>", "local llama.cpp executors: which GGUF serves each model")
    .option("--serve-models <names>", "models the executors serve and the profile prices", DEFAULT_MODELS)
    .option(
      "--profile <file|builtin:name>",
      "device profile to plan with (default: measured for llama.cpp; builtin:h100 for sim)",
    )
    .option("--time-scale <f>", "sim engine: wall time per simulated time", "0.01")
    .option("--db <duckdb file | postgres URL>", "database of the workflows' SQL")
    .option(
      "--store <file | postgres URL>",
      "where jobs and results live (default: $HALO_HOME/server.sqlite)",
    )
    .option("--token-file <file>", "bearer tokens, one per line (clients send Authorization: Bearer <token>)")
    .option("--insecure", "allow a non-loopback --host without tokens")
    .option("--strategy <name>", "planning strategy", "dp")
    .option("--http-allow <host,...>", "hosts HTTP tools may call (default: the hosts the workflow names)")
    .option("--latency-scale <f>", "multiply HTTP latency injection and padding", "1")
    .option(
      "--online-admission <mode>",
      "mini-batch (a run per size/time window, planned on the models the executors hold) or continuous (arrivals join one open run per workflow)",
      "mini-batch",
    )
    .option("--max-in-flight <N>", "continuous admission: online queries running at once", "1024")
    .option("--online-batch-size <N>", "mini-batch admission: most online queries in one mini-batch", "64")
    .option(
      "--online-window-ms <ms>",
      "mini-batch admission: longest wait of an online query before its mini-batch starts",
      "500",
    )
    .option("--max-queued <N>", "online queries waiting before submissions get 429", "1000")
    .option("--chunk-size <N>", "batch-job queries per run", "128")
    .action(async (flags: ServeFlags) => {
      try {
        await serve(flags, io);
      } catch (error) {
        if (error instanceof CliError) throw error;
        throw new CliError(`cannot serve: ${(error as Error).message}`);
      }
    });
};
