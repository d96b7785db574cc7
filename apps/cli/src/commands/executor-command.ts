import { readFile } from "node:fs/promises";
import { SimEngine } from "@halo/engine-sim";
import { createExecutorServer, type EngineV1 } from "@halo/executor";
import {
  BUILTIN_PROFILES,
  type DeviceProfile,
  deriveModelProfile,
  ProfileValidationError,
  parseDeviceProfile,
} from "@halo/profiles";
import type { Command } from "commander";
import { parseDocument } from "yaml";
import { CliError, InvalidInputError } from "../cli-error.js";
import type { CommandIo } from "../io.js";
import type { RegisterCommand } from "./index.js";

/** Flags of `halo executor serve`, parsed and checked. */
export interface ServeExecutorOptions {
  readonly engine: string;
  readonly host: string;
  readonly port: number;
  readonly threads: number;
  /** Model map YAML (which GGUF serves each name; for sim, which names to serve). */
  readonly modelsPath?: string;
  /** llamacpp: tokens per sequence, prompt plus generated (default: the engine's, 2048). */
  readonly contextSize?: number;
  /** `builtin:<name>` or a profile JSON file (sim only). */
  readonly profile: string;
  readonly timeScale: number;
  readonly kvBudgetBytes?: number;
  readonly batchWindowMs: number;
  /** Longest drain on SIGTERM before running work is cancelled. */
  readonly drainMs: number;
  /**
   * llamacpp: let a sequence keep the start of a new prompt it still holds from
   * an earlier call (default off: greedy answers then depend on what the
   * executor ran before; see @halo/engine-llamacpp).
   */
  readonly automaticPrefixReuse: boolean;
}

/** Creates the engine named by `--engine`. Engines load lazily: llama.cpp only when asked for. */
type EngineFactory = (options: ServeExecutorOptions) => Promise<EngineV1>;

/** What the CLI needs of @halo/engine-llamacpp, imported only for `--engine llamacpp`. */
interface LlamaCppModule {
  readonly LlamaCppEngine: new (options: {
    readonly modelMap?: unknown;
    readonly threads: number;
    readonly automaticPrefixReuse?: boolean;
    readonly contextSize?: number;
  }) => EngineV1;
  readonly loadModelMap: (path: string) => Promise<unknown>;
  readonly ModelMapError: new (...parameters: never[]) => Error;
}

/** The engines `--engine` accepts. */
export const ENGINE_FACTORIES: Readonly<Record<string, EngineFactory>> = {
  sim: async (options) => {
    const profile = await loadProfile(options.profile);
    const models = options.modelsPath ? await readSimModelNames(options.modelsPath, profile) : undefined;
    return new SimEngine({
      profile,
      timeScale: options.timeScale,
      threads: options.threads,
      ...(models ? { models } : {}),
    });
  },
  llamacpp: async (options) => {
    let module: LlamaCppModule;
    try {
      module = (await import("@halo/engine-llamacpp")) as unknown as LlamaCppModule;
    } catch (error) {
      throw new CliError(
        `--engine llamacpp: cannot load @halo/engine-llamacpp (${error instanceof Error ? error.message : String(error)}); build it with \`pnpm build\``,
      );
    }
    if (typeof module.LlamaCppEngine !== "function") {
      throw new CliError(
        "--engine llamacpp: @halo/engine-llamacpp has no LlamaCppEngine; rebuild it with `pnpm build`",
      );
    }
    let modelMap: unknown;
    if (options.modelsPath) {
      try {
        modelMap = await module.loadModelMap(options.modelsPath);
      } catch (error) {
        if (error instanceof module.ModelMapError) throw new InvalidInputError(`--models: ${error.message}`);
        throw error;
      }
    }
    return new module.LlamaCppEngine({
      modelMap,
      threads: options.threads,
      automaticPrefixReuse: options.automaticPrefixReuse,
      ...(options.contextSize === undefined ? {} : { contextSize: options.contextSize }),
    });
  },
};

/** The device profile of `--profile`: `builtin:<name>` or a JSON file. */
async function loadProfile(reference: string): Promise<DeviceProfile> {
  if (reference.startsWith("builtin:")) {
    const profile = BUILTIN_PROFILES[reference];
    if (!profile) {
      throw new InvalidInputError(
        `--profile: no built-in profile "${reference}" (built-in: ${Object.keys(BUILTIN_PROFILES).join(", ")})`,
      );
    }
    return profile;
  }
  let text: string;
  try {
    text = await readFile(reference, "utf8");
  } catch (error) {
    throw new InvalidInputError(`--profile: cannot read ${reference}: ${(error as Error).message}`);
  }
  try {
    return parseDeviceProfile(JSON.parse(text), reference);
  } catch (error) {
    if (error instanceof SyntaxError)
      throw new InvalidInputError(`--profile: ${reference} is not JSON: ${error.message}`);
    if (error instanceof ProfileValidationError) throw new InvalidInputError(`--profile: ${error.message}`);
    throw error;
  }
}

/**
 * Model names a sim engine serves, from a model map (`models: {<name>: {gguf | synth}}`,
 * the format engine-llamacpp reads). The sim engine ignores the GGUF sources: it
 * prices each name with the profile entry of that name, or one derived from the
 * parameter count in the name.
 */
async function readSimModelNames(path: string, profile: DeviceProfile): Promise<Record<string, string>> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new InvalidInputError(`--models: cannot read ${path}: ${(error as Error).message}`);
  }
  const document = parseDocument(text);
  if (document.errors.length > 0) {
    throw new InvalidInputError(`--models: ${path} is not valid YAML: ${document.errors[0]!.message}`);
  }
  const root: unknown = document.toJS();
  const models = isRecord(root) ? root.models : undefined;
  if (!isRecord(models) || Object.keys(models).length === 0) {
    throw new InvalidInputError(
      `--models: ${path}: models: expected a mapping of model names to their sources`,
    );
  }
  const problems: string[] = [];
  for (const [name, source] of Object.entries(models)) {
    if (source !== null && !isRecord(source))
      problems.push(`models["${name}"]: expected a mapping (gguf or synth)`);
    else if (!profile.models[name] && !deriveModelProfile(profile, name)) {
      problems.push(
        `models["${name}"]: profile "${profile.device}" has no such model and the name carries no parameter count (like -14B)`,
      );
    }
  }
  if (problems.length > 0) throw new InvalidInputError(`--models: ${path}:\n  ${problems.join("\n  ")}`);
  return Object.fromEntries(Object.keys(models).map((name) => [name, name]));
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** One machine-readable line on stdout, so that a parent process can follow the executor. */
function announce(io: CommandIo, event: Record<string, unknown>): void {
  io.stdout(`${JSON.stringify(event)}\n`);
}

/**
 * Serves an executor until `stop` aborts, then drains and returns. Prints
 * `{"event":"listening","address":…}` once listening (read the port from it
 * when `--port 0`), `{"event":"draining"}` and `{"event":"stopped"}`.
 */
export async function serveExecutor(
  options: ServeExecutorOptions,
  io: CommandIo,
  stop: AbortSignal,
): Promise<void> {
  const factory = ENGINE_FACTORIES[options.engine];
  if (!factory) {
    throw new InvalidInputError(
      `--engine: unknown engine "${options.engine}" (one of: ${Object.keys(ENGINE_FACTORIES).join(", ")})`,
    );
  }
  const engine = await factory(options);
  let server: Awaited<ReturnType<typeof createExecutorServer>>;
  try {
    server = await createExecutorServer({
      engine,
      host: options.host,
      port: options.port,
      batching: { windowMs: options.batchWindowMs },
      ...(options.kvBudgetBytes !== undefined ? { kvBudgetBytes: options.kvBudgetBytes } : {}),
    });
  } catch (error) {
    await engine.close();
    throw new CliError(
      `executor serve: cannot listen on ${options.host}:${options.port}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  announce(io, {
    event: "listening",
    address: server.address,
    port: server.port,
    engine: options.engine,
    pid: process.pid,
  });
  if (!stop.aborted) await new Promise((resolve) => stop.addEventListener("abort", resolve, { once: true }));
  announce(io, { event: "draining", graceMs: options.drainMs });
  await server.close(options.drainMs);
  announce(io, { event: "stopped", address: server.address });
}

interface RawServeFlags {
  readonly engine: string;
  readonly host: string;
  readonly port: string;
  readonly threads: string;
  readonly models?: string;
  readonly contextSize?: string;
  readonly profile: string;
  readonly timeScale: string;
  readonly kvBudgetBytes?: string;
  readonly batchWindowMs: string;
  readonly drainMs: string;
  readonly automaticPrefixReuse?: boolean;
}

function number(flag: string, text: string, check: (value: number) => boolean, expected: string): number {
  const value = Number(text);
  if (text.trim() === "" || !Number.isFinite(value) || !check(value)) {
    throw new InvalidInputError(`${flag}: expected ${expected} (got "${text}")`);
  }
  return value;
}

/** Checks the flags of `executor serve`; bad values are invalid input naming the flag. */
export function serveOptionsFromFlags(flags: RawServeFlags): ServeExecutorOptions {
  if (!ENGINE_FACTORIES[flags.engine]) {
    throw new InvalidInputError(
      `--engine: unknown engine "${flags.engine}" (one of: ${Object.keys(ENGINE_FACTORIES).join(", ")})`,
    );
  }
  if (flags.host.trim() === "") throw new InvalidInputError("--host: must not be empty");
  const integer = (value: number) => Number.isInteger(value);
  return {
    engine: flags.engine,
    host: flags.host,
    port: number(
      "--port",
      flags.port,
      (value) => integer(value) && value >= 0 && value <= 65_535,
      "a port 0–65535",
    ),
    threads: number("--threads", flags.threads, (value) => integer(value) && value >= 1, "an integer >= 1"),
    ...(flags.models !== undefined ? { modelsPath: flags.models } : {}),
    ...(flags.contextSize !== undefined
      ? {
          contextSize: number(
            "--context-size",
            flags.contextSize,
            (value) => integer(value) && value >= 64,
            "an integer >= 64",
          ),
        }
      : {}),
    profile: flags.profile,
    timeScale: number("--time-scale", flags.timeScale, (value) => value >= 0, "a number >= 0"),
    ...(flags.kvBudgetBytes !== undefined
      ? {
          kvBudgetBytes: number(
            "--kv-budget-bytes",
            flags.kvBudgetBytes,
            (value) => integer(value) && value >= 0,
            "an integer >= 0",
          ),
        }
      : {}),
    batchWindowMs: number("--batch-window-ms", flags.batchWindowMs, (value) => value >= 0, "a number >= 0"),
    drainMs: number("--drain-ms", flags.drainMs, (value) => value >= 0, "a number >= 0"),
    automaticPrefixReuse: flags.automaticPrefixReuse === true,
  };
}

/** `halo executor serve`: run one executor sidecar. */
export const registerExecutorCommand: RegisterCommand = (program: Command, io: CommandIo) => {
  const executor = program.command("executor").description("Run executor sidecars (gRPC halo.executor.v1)");
  executor
    .command("serve")
    .description("Serve one engine over gRPC until SIGTERM/SIGINT, then drain and exit 0")
    .requiredOption("--engine <name>", `the engine: ${Object.keys(ENGINE_FACTORIES).join(" | ")}`)
    .option("--host <host>", "interface to bind (loopback unless told otherwise)", "127.0.0.1")
    .option("--port <port>", "port; 0 picks a free one (read it from the listening line)", "0")
    .option("--threads <count>", "engine threads (llamacpp: keep at most the cores)", "1")
    .option(
      "--models <model-map.yaml>",
      "model map: which GGUF serves each model name (sim: the names to serve)",
    )
    .option(
      "--context-size <tokens>",
      "llamacpp: tokens per sequence, prompt plus generated (default 2048; at most the model's trained context)",
    )
    .option("--profile <profile>", "sim: device profile, builtin:<name> or a JSON file", "builtin:h100")
    .option("--time-scale <factor>", "sim: wall time per simulated time", "0.01")
    .option(
      "--kv-budget-bytes <bytes>",
      "cached prefix KV kept before LRU eviction (default: memory left by the largest model)",
    )
    .option("--batch-window-ms <ms>", "wait this long for more calls while calls keep arriving", "3")
    .option("--drain-ms <ms>", "longest drain on SIGTERM before running work is cancelled", "30000")
    .option(
      "--automatic-prefix-reuse",
      "llamacpp: reuse the KV a sequence still holds from earlier calls (off by default: greedy answers would depend on what ran before)",
    )
    .action(async (flags: RawServeFlags) => {
      const options = serveOptionsFromFlags(flags);
      const controller = new AbortController();
      const onSignal = (signal: NodeJS.Signals) => controller.abort(signal);
      process.once("SIGTERM", onSignal);
      process.once("SIGINT", onSignal);
      try {
        await serveExecutor(options, io, controller.signal);
      } finally {
        process.off("SIGTERM", onSignal);
        process.off("SIGINT", onSignal);
      }
    });
};
