import { createPrivateKey, X509Certificate } from "node:crypto";
import { readFile } from "node:fs/promises";
import { loadOpenAiModelMap, OpenAiEngine, OpenAiModelMapError } from "@halo/engine-openai";
import { SimEngine } from "@halo/engine-sim";
import { createExecutorServer, type EngineV1, ExposedBindError } from "@halo/executor";
import {
  BUILTIN_PROFILES,
  type DeviceProfile,
  deriveModelProfile,
  type GroundTruthDevice,
  groundTruthDevice,
  ProfileValidationError,
  parseDeviceProfile,
  UnknownGroundTruthDeviceError,
} from "@halo/profiles";
import {
  exposedBindProblem,
  InvalidTokenError,
  isLoopbackHost,
  readTokenFile,
  type ServerSecurity,
} from "@halo/protocol";
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
  /** sim: play this ground-truth device (`h100`, `a100`, `l40s`) instead of replaying `profile`, with per-batch noise σ and its seed. */
  readonly truth?: string;
  readonly noise?: number;
  readonly noiseSeed?: number;
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
  /** Who may call this executor (default: anyone who reaches it, which the default loopback host limits to this machine). */
  readonly trust?: ExecutorTrustOptions;
  /** Model names served besides the model map's (or the engine's defaults): `--allow-models`. */
  readonly allowModels?: readonly string[];
  /** llamacpp: the llama.cpp build (`off`: CPU; `cuda`, `vulkan`, `metal`, `auto`). */
  readonly gpu: "off" | "auto" | "cuda" | "vulkan" | "metal";
  /** llamacpp: layers offloaded to the GPU (a count, `auto` or `max`; default auto with a GPU). */
  readonly gpuLayers?: number | "auto" | "max";
  /** Also serve the OpenAI HTTP API on this port (0: a free one). */
  readonly openaiPort?: number;
  /** Interface of the OpenAI endpoint (default loopback). */
  readonly openaiHost: string;
  /** File holding the bearer token the OpenAI endpoint requires (required beyond loopback). */
  readonly openaiTokenFile?: string;
  /** openai engine: the OpenAI-compatible server models without a named server go to. */
  readonly openaiBaseUrl?: string;
  /** openai engine: environment variable holding that server's API key. */
  readonly openaiApiKeyEnv: string;
  /** openai engine: most requests in flight to that server. */
  readonly openaiMaxConcurrency?: number;
}

/** `--tls-cert`, `--tls-key`, `--token-file`, `--insecure`: paths are read when serving starts. */
export interface ExecutorTrustOptions {
  readonly tlsCertPath?: string;
  readonly tlsKeyPath?: string;
  readonly tokenPath?: string;
  /** Serve a non-loopback host without TLS or without a token (a warning says so). */
  readonly insecure: boolean;
}

/** Creates the engine named by `--engine`. Engines load lazily: llama.cpp only when asked for. */
type EngineFactory = (options: ServeExecutorOptions) => Promise<EngineV1>;

/** What the CLI needs of @halo/engine-llamacpp, imported only for `--engine llamacpp`. */
interface LlamaCppModule {
  readonly LlamaCppEngine: new (options: {
    readonly modelMap?: unknown;
    readonly threads: number;
    readonly automaticPrefixReuse?: boolean;
    readonly gpu?: false | "auto" | "cuda" | "vulkan" | "metal";
    readonly gpuLayers?: number | "auto" | "max";
    readonly contextSize?: number;
  }) => EngineV1;
  readonly loadModelMap: (path: string) => Promise<LlamaCppModelMap>;
  /** Starts (and checks) the llama.cpp build for a GPU before the executor announces itself. */
  readonly getLlamaRuntime: (
    threads: number,
    gpu: false | "auto" | "cuda" | "vulkan" | "metal",
  ) => Promise<unknown>;
  readonly LlamaBuildMissingError: new (...parameters: never[]) => Error;
  readonly ModelMapError: new (...parameters: never[]) => Error;
  readonly standInSource: (
    name: string,
  ) => { readonly spec: { readonly parameterCount: number } } | undefined;
  readonly planArchitecture: (parameterCount: number) => unknown;
}

/** The parts of engine-llamacpp's ModelMap the CLI extends with `--allow-models`. */
interface LlamaCppModelMap {
  readonly sourcePath?: string;
  readonly models: ReadonlyMap<string, unknown>;
}

/** The engines `--engine` accepts. */
export const ENGINE_FACTORIES: Readonly<Record<string, EngineFactory>> = {
  sim: async (options) => {
    if (options.truth !== undefined) return truthSimEngine(options);
    const profile = await loadProfile(options.profile);
    const mapped = options.modelsPath ? await readSimModelNames(options.modelsPath, profile) : undefined;
    const allowed = options.allowModels ?? [];
    const unpriceable = allowed.filter((name) => !profile.models[name] && !deriveModelProfile(profile, name));
    if (unpriceable.length > 0) {
      throw new InvalidInputError(
        `--allow-models: profile "${profile.device}" has no model ${unpriceable.map((name) => `"${name}"`).join(", ")} and the name carries no parameter count (like -14B)`,
      );
    }
    // Served: the map's names, else the profile's models; plus the allowed names.
    const models =
      mapped || allowed.length > 0
        ? {
            ...(mapped ?? Object.fromEntries(Object.keys(profile.models).map((name) => [name, name]))),
            ...Object.fromEntries(allowed.map((name) => [name, name])),
          }
        : undefined;
    return new SimEngine({
      profile,
      timeScale: options.timeScale,
      threads: options.threads,
      ...(models ? { models } : {}),
    });
  },
  openai: async (options) => {
    if (!options.modelsPath) {
      throw new InvalidInputError(
        "--engine openai: --models <map.yaml> is required (the model names to serve and their servers)",
      );
    }
    try {
      const map = await loadOpenAiModelMap(options.modelsPath, {
        ...(options.openaiBaseUrl !== undefined ? { baseURL: options.openaiBaseUrl } : {}),
        ...(process.env[options.openaiApiKeyEnv] ? { apiKey: process.env[options.openaiApiKeyEnv] } : {}),
        ...(options.openaiMaxConcurrency !== undefined
          ? { maxConcurrency: options.openaiMaxConcurrency }
          : {}),
      });
      return new OpenAiEngine(map);
    } catch (error) {
      if (error instanceof OpenAiModelMapError) throw new InvalidInputError(`--models: ${error.message}`);
      throw error;
    }
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
    let modelMap: LlamaCppModelMap | undefined;
    if (options.modelsPath) {
      try {
        modelMap = await module.loadModelMap(options.modelsPath);
      } catch (error) {
        if (error instanceof module.ModelMapError) throw new InvalidInputError(`--models: ${error.message}`);
        throw error;
      }
    }
    modelMap = withAllowedStandIns(module, modelMap, options.allowModels ?? []);
    const gpu = options.gpu === "off" ? false : options.gpu;
    if (gpu !== false) {
      try {
        await module.getLlamaRuntime(options.threads, gpu);
      } catch (error) {
        if (error instanceof module.LlamaBuildMissingError)
          throw new InvalidInputError(`--gpu: ${error.message}`);
        throw error;
      }
    }
    return new module.LlamaCppEngine({
      modelMap,
      threads: options.threads,
      automaticPrefixReuse: options.automaticPrefixReuse,
      gpu,
      ...(options.gpuLayers !== undefined ? { gpuLayers: options.gpuLayers } : {}),
      ...(options.contextSize === undefined ? {} : { contextSize: options.contextSize }),
    });
  },
};

/**
 * The model map plus a synthesized stand-in for each `--allow-models` name it
 * lacks, so that the executor serves (and may synthesize) exactly the names its
 * operator configured. A name without a parameter count (like -7B) has no stand-in.
 */
function withAllowedStandIns(
  module: LlamaCppModule,
  modelMap: LlamaCppModelMap | undefined,
  allowed: readonly string[],
): LlamaCppModelMap | undefined {
  const added = new Map<string, unknown>();
  const problems: string[] = [];
  for (const name of allowed) {
    if (modelMap?.models.has(name)) continue;
    const source = module.standInSource(name);
    if (!source) {
      problems.push(
        `"${name}": no entry in --models and no parameter count in the name (like -7B) to size a stand-in; add it to the model map (gguf: or synth: {params})`,
      );
      continue;
    }
    try {
      module.planArchitecture(source.spec.parameterCount);
    } catch (error) {
      problems.push(`"${name}": ${(error as Error).message}`);
      continue;
    }
    added.set(name, source);
  }
  if (problems.length > 0) throw new InvalidInputError(`--allow-models:\n  ${problems.join("\n  ")}`);
  if (added.size === 0) return modelMap;
  return {
    ...(modelMap?.sourcePath !== undefined ? { sourcePath: modelMap.sourcePath } : {}),
    models: new Map([...(modelMap?.models ?? []), ...added]),
  };
}

/** A sim engine playing a ground-truth device (`--truth`): the planner measures it with `halo profile`. */
function truthSimEngine(options: ServeExecutorOptions): SimEngine {
  let truth: GroundTruthDevice;
  try {
    truth = groundTruthDevice(options.truth!);
  } catch (error) {
    if (error instanceof UnknownGroundTruthDeviceError)
      throw new InvalidInputError(`--truth: ${error.message}`);
    throw error;
  }
  const allowed = options.allowModels ?? [];
  const unknown = allowed.filter((name) => !truth.models[name]);
  if (unknown.length > 0 || options.modelsPath !== undefined) {
    throw new InvalidInputError(
      `--truth ${truth.id}: serves its own models (${Object.keys(truth.models).join(", ")}); ${options.modelsPath !== undefined ? "--models does not apply" : `--allow-models names ${unknown.map((name) => `"${name}"`).join(", ")}`}`,
    );
  }
  return new SimEngine({
    truth,
    noise: options.noise ?? 0.03,
    noiseSeed: options.noiseSeed ?? 0,
    timeScale: options.timeScale,
    threads: options.threads,
  });
}

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
  const trust = options.trust ?? { insecure: false };
  const security = await readServerSecurity(trust);
  const openai = options.openaiPort === undefined ? undefined : await openAiEndpointOptions(options);
  const engine = await factory(options);
  let server: Awaited<ReturnType<typeof createExecutorServer>>;
  try {
    server = await createExecutorServer({
      engine,
      host: options.host,
      port: options.port,
      batching: { windowMs: options.batchWindowMs },
      ...(openai ? { openai } : {}),
      ...(options.kvBudgetBytes !== undefined ? { kvBudgetBytes: options.kvBudgetBytes } : {}),
      ...(security ? { security } : {}),
      insecure: trust.insecure,
    });
  } catch (error) {
    await engine.close();
    if (error instanceof ExposedBindError) throw new InvalidInputError(`--host: ${error.message}`);
    throw new CliError(
      `executor serve: cannot listen on ${options.host}:${options.port}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  const unprotected = [...(security?.tls ? [] : ["TLS"]), ...(security?.token ? [] : ["a token"])];
  if (!isLoopbackHost(options.host) && unprotected.length > 0) {
    io.stderr(
      `halo executor serve: WARNING: --insecure: ${server.address} is served without ${unprotected.join(" and ")}; ` +
        "anyone who can reach it can run prompts on it, read the answers and load its models\n",
    );
  }
  announce(io, {
    event: "listening",
    address: server.address,
    port: server.port,
    ...(server.openai ? { openai: `${server.openai.url}/v1` } : {}),
    engine: options.engine,
    pid: process.pid,
    tls: security?.tls !== undefined,
    token: security?.token !== undefined,
  });
  if (!stop.aborted) await new Promise((resolve) => stop.addEventListener("abort", resolve, { once: true }));
  announce(io, { event: "draining", graceMs: options.drainMs });
  await server.close(options.drainMs);
  announce(io, { event: "stopped", address: server.address });
}

/** Reads and checks the certificate, key and token files; each problem names its flag. */
async function readServerSecurity(trust: ExecutorTrustOptions): Promise<ServerSecurity | undefined> {
  const read = async (flag: string, path: string) => {
    try {
      return await readFile(path);
    } catch (error) {
      throw new InvalidInputError(`${flag}: cannot read ${path}: ${(error as Error).message}`);
    }
  };
  let tls: ServerSecurity["tls"];
  if (trust.tlsCertPath !== undefined && trust.tlsKeyPath !== undefined) {
    const certPem = await read("--tls-cert", trust.tlsCertPath);
    const keyPem = await read("--tls-key", trust.tlsKeyPath);
    let certificate: X509Certificate;
    try {
      certificate = new X509Certificate(certPem);
    } catch (error) {
      throw new InvalidInputError(
        `--tls-cert: ${trust.tlsCertPath} is not a PEM certificate: ${(error as Error).message}`,
      );
    }
    let key: ReturnType<typeof createPrivateKey>;
    try {
      key = createPrivateKey(keyPem);
    } catch (error) {
      throw new InvalidInputError(
        `--tls-key: ${trust.tlsKeyPath} is not a PEM private key: ${(error as Error).message}`,
      );
    }
    if (!certificate.checkPrivateKey(key)) {
      throw new InvalidInputError(
        `--tls-key: ${trust.tlsKeyPath} is not the private key of the certificate ${trust.tlsCertPath}`,
      );
    }
    tls = { certPem, keyPem };
  }
  let token: string | undefined;
  if (trust.tokenPath !== undefined) {
    try {
      token = await readTokenFile(trust.tokenPath);
    } catch (error) {
      if (error instanceof InvalidTokenError) throw new InvalidInputError(`--token-file: ${error.message}`);
      throw error;
    }
  }
  if (!tls && token === undefined) return undefined;
  return { ...(tls ? { tls } : {}), ...(token !== undefined ? { token } : {}) };
}

/** The OpenAI endpoint's options: its token read from the file, refused beyond loopback without one. */
async function openAiEndpointOptions(options: ServeExecutorOptions) {
  let bearerToken: string | undefined;
  if (options.openaiTokenFile !== undefined) {
    try {
      bearerToken = (await readFile(options.openaiTokenFile, "utf8")).trim();
    } catch (error) {
      throw new InvalidInputError(
        `--openai-token-file: cannot read ${options.openaiTokenFile}: ${(error as Error).message}`,
      );
    }
    if (bearerToken === "")
      throw new InvalidInputError(`--openai-token-file: ${options.openaiTokenFile} is empty`);
  }
  if (!isLoopbackHost(options.openaiHost) && bearerToken === undefined) {
    throw new InvalidInputError(
      `--openai-host ${options.openaiHost}: beyond loopback the OpenAI endpoint needs --openai-token-file`,
    );
  }
  return {
    host: options.openaiHost,
    port: options.openaiPort,
    ...(bearerToken !== undefined ? { bearerToken } : {}),
  };
}

interface RawServeFlags {
  readonly engine: string;
  readonly host: string;
  readonly port: string;
  readonly threads: string;
  readonly models?: string;
  readonly contextSize?: string;
  readonly profile: string;
  readonly truth?: string;
  readonly noise?: string;
  readonly noiseSeed?: string;
  readonly timeScale: string;
  readonly kvBudgetBytes?: string;
  readonly batchWindowMs: string;
  readonly drainMs: string;
  readonly automaticPrefixReuse?: boolean;
  readonly tlsCert?: string;
  readonly tlsKey?: string;
  readonly tokenFile?: string;
  readonly insecure?: boolean;
  readonly allowModels?: string;
  readonly gpu?: string;
  readonly gpuLayers?: string;
  readonly openaiPort?: string;
  readonly openaiHost?: string;
  readonly openaiTokenFile?: string;
  readonly openaiBaseUrl?: string;
  readonly openaiApiKeyEnv?: string;
  readonly openaiMaxConcurrency?: string;
}

function number(flag: string, text: string, check: (value: number) => boolean, expected: string): number {
  const value = Number(text);
  if (text.trim() === "" || !Number.isFinite(value) || !check(value)) {
    throw new InvalidInputError(`${flag}: expected ${expected} (got "${text}")`);
  }
  return value;
}

const GPU_CHOICES = ["off", "auto", "cuda", "vulkan", "metal"] as const;

function gpuOptions(flags: RawServeFlags): Pick<ServeExecutorOptions, "gpu" | "gpuLayers"> {
  const gpu = flags.gpu ?? "off";
  if (!(GPU_CHOICES as readonly string[]).includes(gpu)) {
    throw new InvalidInputError(`--gpu: expected one of ${GPU_CHOICES.join(", ")} (got "${gpu}")`);
  }
  if (gpu !== "off" && flags.engine !== "llamacpp") {
    throw new InvalidInputError(`--gpu: applies to --engine llamacpp only (got --engine ${flags.engine})`);
  }
  if (flags.gpuLayers === undefined) return { gpu: gpu as ServeExecutorOptions["gpu"] };
  if (gpu === "off")
    throw new InvalidInputError("--gpu-layers: needs --gpu (the CPU build offloads nothing)");
  const layers = flags.gpuLayers;
  if (layers === "auto" || layers === "max")
    return { gpu: gpu as ServeExecutorOptions["gpu"], gpuLayers: layers };
  const count = Number(layers);
  if (layers.trim() === "" || !Number.isInteger(count) || count < 0) {
    throw new InvalidInputError(`--gpu-layers: expected an integer >= 0, auto or max (got "${layers}")`);
  }
  return { gpu: gpu as ServeExecutorOptions["gpu"], gpuLayers: count };
}

function baseUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new InvalidInputError(
      `--openai-base-url: expected an http(s) URL like http://127.0.0.1:8000/v1 (got "${text}")`,
    );
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new InvalidInputError(`--openai-base-url: expected an http(s) URL (got "${text}")`);
  }
  return text;
}

/** Checks the flags of `executor serve`; bad values are invalid input naming the flag. */
export function serveOptionsFromFlags(flags: RawServeFlags): ServeExecutorOptions {
  if (!ENGINE_FACTORIES[flags.engine]) {
    throw new InvalidInputError(
      `--engine: unknown engine "${flags.engine}" (one of: ${Object.keys(ENGINE_FACTORIES).join(", ")})`,
    );
  }
  if (flags.host.trim() === "") throw new InvalidInputError("--host: must not be empty");
  if ((flags.tlsCert === undefined) !== (flags.tlsKey === undefined)) {
    throw new InvalidInputError(
      "--tls-cert and --tls-key go together: give the certificate (PEM, with its chain) and its private key",
    );
  }
  const insecure = flags.insecure === true;
  const exposed = exposedBindProblem(flags.host, {
    tls: flags.tlsCert !== undefined,
    token: flags.tokenFile !== undefined,
  });
  if (exposed && !insecure) throw new InvalidInputError(`--host: ${exposed}`);
  const allowModels = (flags.allowModels ?? "")
    .split(",")
    .map((name) => name.trim())
    .filter((name) => name.length > 0);
  if (flags.allowModels !== undefined && allowModels.length === 0)
    throw new InvalidInputError("--allow-models: expected model names separated by commas");
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
    ...(flags.truth !== undefined ? { truth: flags.truth } : {}),
    ...(flags.noise !== undefined
      ? { noise: number("--noise", flags.noise, (value) => value >= 0 && value < 1, "a number in [0, 1)") }
      : {}),
    ...(flags.noiseSeed !== undefined
      ? {
          noiseSeed: number(
            "--noise-seed",
            flags.noiseSeed,
            (value) => integer(value) && value >= 0,
            "an integer >= 0",
          ),
        }
      : {}),
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
    trust: {
      ...(flags.tlsCert !== undefined ? { tlsCertPath: flags.tlsCert } : {}),
      ...(flags.tlsKey !== undefined ? { tlsKeyPath: flags.tlsKey } : {}),
      ...(flags.tokenFile !== undefined ? { tokenPath: flags.tokenFile } : {}),
      insecure,
    },
    allowModels,
    ...(flags.openaiPort !== undefined
      ? {
          openaiPort: number(
            "--openai-port",
            flags.openaiPort,
            (value) => integer(value) && value >= 0 && value <= 65_535,
            "a port 0–65535",
          ),
        }
      : {}),
    openaiHost: flags.openaiHost ?? "127.0.0.1",
    ...gpuOptions(flags),
    ...(flags.openaiTokenFile !== undefined ? { openaiTokenFile: flags.openaiTokenFile } : {}),
    ...(flags.openaiBaseUrl !== undefined ? { openaiBaseUrl: baseUrl(flags.openaiBaseUrl) } : {}),
    openaiApiKeyEnv: flags.openaiApiKeyEnv ?? "OPENAI_API_KEY",
    ...(flags.openaiMaxConcurrency !== undefined
      ? {
          openaiMaxConcurrency: number(
            "--openai-max-concurrency",
            flags.openaiMaxConcurrency,
            (value) => integer(value) && value >= 1,
            "an integer >= 1",
          ),
        }
      : {}),
  };
}

/** `halo executor serve`: run one executor sidecar. */
export const registerExecutorCommand: RegisterCommand = (program: Command, io: CommandIo) => {
  const executor = program.command("executor").description("Run executor sidecars (gRPC halo.executor.v1)");
  executor
    .command("serve")
    .description("Serve one engine over gRPC until SIGTERM/SIGINT, then drain and exit 0")
    .requiredOption("--engine <name>", `the engine: ${Object.keys(ENGINE_FACTORIES).join(" | ")}`)
    .option(
      "--host <host>",
      "interface to bind (loopback unless told otherwise; any other needs --tls-cert/--tls-key and --token-file, or --insecure)",
      "127.0.0.1",
    )
    .option("--port <port>", "port; 0 picks a free one (read it from the listening line)", "0")
    .option("--threads <count>", "engine threads (llamacpp: keep at most the cores)", "1")
    .option(
      "--models <model-map.yaml>",
      "model map: which GGUF serves each model name (sim: the names to serve; openai: their servers); only configured models can be loaded",
    )
    .option(
      "--allow-models <names>",
      "more model names to serve, comma-separated (llamacpp: stand-ins sized by the count in the name, like -7B; sim: priced by the profile or the name)",
    )
    .option("--tls-cert <file>", "serve TLS with this certificate (PEM, with its chain); needs --tls-key")
    .option("--tls-key <file>", "the private key (PEM) of --tls-cert")
    .option(
      "--token-file <file>",
      "clients must send this bearer token (the file's content, 16+ printable characters) with every call",
    )
    .option("--insecure", "allow a non-loopback --host without TLS or without a token (prints a warning)")
    .option(
      "--context-size <tokens>",
      "llamacpp: tokens per sequence, prompt plus generated (default 2048; at most the model's trained context)",
    )
    .option("--profile <profile>", "sim: device profile, builtin:<name> or a JSON file", "builtin:h100")
    .option(
      "--truth <device>",
      "sim: play a hidden ground-truth device (h100, a100, l40s: roofline costs, finite KV cache with queueing and preemption) instead of replaying --profile; plan with a profile halo profile measures",
    )
    .option("--noise <sigma>", "sim --truth: per-batch lognormal noise (default 0.03)")
    .option("--noise-seed <n>", "sim --truth: seed of the noise (default 0)")
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
    .option(
      "--gpu <backend>",
      "llamacpp: llama.cpp build: off (CPU) | auto | cuda | vulkan | metal (its npm package must be installed, see engine-llamacpp's README)",
      "off",
    )
    .option("--gpu-layers <layers>", "llamacpp: layers offloaded to the GPU: a count, auto (default) or max")
    .option(
      "--openai-port <port>",
      "also serve the OpenAI HTTP API (/v1/chat/completions, /v1/completions, /v1/models) on this port; 0 picks a free one",
    )
    .option("--openai-host <host>", "interface of the OpenAI endpoint", "127.0.0.1")
    .option(
      "--openai-token-file <path>",
      "require `Authorization: Bearer <token>` on the OpenAI endpoint (the file holds the token; required beyond loopback)",
    )
    .option(
      "--openai-base-url <url>",
      "openai engine: the OpenAI-compatible server (…/v1) serving the models of --models that name no server",
    )
    .option(
      "--openai-api-key-env <name>",
      "openai engine: environment variable holding its API key",
      "OPENAI_API_KEY",
    )
    .option(
      "--openai-max-concurrency <count>",
      "openai engine: most requests in flight to that server (default 16)",
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
