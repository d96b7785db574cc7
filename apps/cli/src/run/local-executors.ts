/**
 * Local executor sidecars for `halo run` without `--executors`: child
 * processes on loopback (`local-sidecar-main.js`), each announcing its address
 * on a `listening` line. They are stopped at the end, on Ctrl-C and on errors,
 * and exit by themselves when `halo run` dies (their stdin closes), so no
 * sidecar outlives the run.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { CliError, InvalidInputError } from "../cli-error.js";

/** Engines a local sidecar can run. */
export type LocalEngine = "llamacpp" | "sim";

/** How to start local sidecars. */
export interface LocalExecutorOptions {
  readonly count: number;
  readonly engine: LocalEngine;
  /** Engine threads per sidecar. */
  readonly threads: number;
  /** llamacpp: model map YAML. */
  readonly modelsPath?: string;
  /** llamacpp: tokens per sequence, prompt plus generated (default: the engine's, 2048). */
  readonly contextSize?: number;
  /** sim: `builtin:<name>` or a profile file; and its time scale. */
  readonly profile?: string;
  /** sim: a ground-truth device (`h100`) replayed instead of a profile, with per-batch noise σ and its seed. */
  readonly truth?: string;
  readonly noise?: number;
  readonly noiseSeed?: number;
  readonly timeScale?: number;
  /**
   * The model names to serve (the workflow's). sim: names the profile lacks are derived from their
   * parameter count; llamacpp: names the model map lacks are served by their stand-ins.
   */
  readonly serve?: readonly string[];
  /** sim: most models loaded at once (1: one model per device; default: as many as fit). */
  readonly maxLoadedModels?: number;
  /** The sidecars' merging of concurrent calls (default: the executor's, 3 ms / 10 ms). */
  readonly batching?: { readonly windowMs: number; readonly maxCollectMs: number };
  /** Each sidecar also serves the OpenAI API on a free loopback port. */
  readonly openai?: boolean;
  /** Longest wait for a sidecar's listening line (default 120 s: a first llama.cpp start is slow). */
  readonly startTimeoutMs?: number;
}

/** Running local sidecars. */
export interface LocalExecutors {
  readonly addresses: readonly string[];
  /** With `openai`: each sidecar's OpenAI base URL (`http://127.0.0.1:port/v1`), in the same order. */
  readonly openaiBaseUrls?: readonly string[];
  readonly pids: readonly number[];
  /** Stops every sidecar (SIGTERM, then SIGKILL after `graceMs`); safe to call twice. */
  stop(graceMs?: number): Promise<void>;
}

const SIDECAR_MAIN = fileURLToPath(new URL("./local-sidecar-main.js", import.meta.url));

/** Starts the sidecars in parallel; if one fails to start, the others are stopped and a CliError names why. */
export async function startLocalExecutors(options: LocalExecutorOptions): Promise<LocalExecutors> {
  if (!Number.isInteger(options.count) || options.count < 1 || options.count > 64) {
    throw new InvalidInputError(`--local: expected 1 to 64 executors, got ${options.count}`);
  }
  const children: ChildProcess[] = [];
  const killAll = () => {
    for (const child of children)
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  };
  // Last resort if this process exits without stopping them (an uncaught error).
  process.once("exit", killAll);
  const started = await Promise.allSettled(
    Array.from({ length: options.count }, () => startOne(options, children)),
  );
  const failure = started.find((result) => result.status === "rejected");
  const stop = async (graceMs = 5_000) => {
    await Promise.all(children.map((child) => stopChild(child, graceMs)));
    process.off("exit", killAll);
  };
  if (failure) {
    await stop(1_000);
    throw (failure as PromiseRejectedResult).reason;
  }
  const listening = started.map(
    (result) => (result as PromiseFulfilledResult<{ address: string; pid: number; openai?: string }>).value,
  );
  return {
    addresses: listening.map((entry) => entry.address),
    ...(options.openai ? { openaiBaseUrls: listening.map((entry) => entry.openai ?? "") } : {}),
    pids: listening.map((entry) => entry.pid),
    stop,
  };
}

function sidecarArguments(options: LocalExecutorOptions): string[] {
  const flags = ["--engine", options.engine, "--threads", String(options.threads)];
  if (options.modelsPath) flags.push("--models", options.modelsPath);
  if (options.contextSize !== undefined) flags.push("--context-size", String(options.contextSize));
  if (options.profile) flags.push("--profile", options.profile);
  if (options.truth) flags.push("--truth", options.truth);
  if (options.noise !== undefined) flags.push("--noise", String(options.noise));
  if (options.noiseSeed !== undefined) flags.push("--noise-seed", String(options.noiseSeed));
  if (options.timeScale !== undefined) flags.push("--time-scale", String(options.timeScale));
  if (options.serve && options.serve.length > 0) flags.push("--serve", options.serve.join(","));
  if (options.maxLoadedModels !== undefined)
    flags.push("--max-loaded-models", String(options.maxLoadedModels));
  if (options.openai) flags.push("--openai-port", "0");
  if (options.batching) {
    flags.push("--batch-window-ms", String(options.batching.windowMs));
    flags.push("--max-collect-ms", String(options.batching.maxCollectMs));
  }
  return flags;
}

function startOne(
  options: LocalExecutorOptions,
  children: ChildProcess[],
): Promise<{ address: string; pid: number; openai?: string }> {
  const child = spawn(process.execPath, [SIDECAR_MAIN, ...sidecarArguments(options)], {
    stdio: ["pipe", "pipe", "pipe"],
  });
  children.push(child);
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4_000);
  });
  return new Promise((resolve, reject) => {
    const timeoutMs = options.startTimeoutMs ?? 120_000;
    const timer = setTimeout(() => {
      reject(
        new CliError(
          `a local ${options.engine} executor did not start within ${timeoutMs} ms${tail(stderr)}`,
        ),
      );
    }, timeoutMs);
    const lines = createInterface({ input: child.stdout! });
    lines.on("line", (line) => {
      let event: { event?: unknown; address?: unknown; pid?: unknown; openai?: unknown };
      try {
        event = JSON.parse(line) as typeof event;
      } catch {
        return;
      }
      if (event.event === "listening" && typeof event.address === "string") {
        clearTimeout(timer);
        resolve({
          address: event.address,
          pid: typeof event.pid === "number" ? event.pid : (child.pid ?? -1),
          ...(typeof event.openai === "string" ? { openai: event.openai } : {}),
        });
      }
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(
        new CliError(
          `a local ${options.engine} executor exited before listening (${signal ?? `exit code ${code}`})${tail(stderr)}`,
        ),
      );
    });
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(new CliError(`cannot start a local executor: ${error.message}`));
    });
  });
}

function tail(stderr: string): string {
  const text = stderr.trim();
  return text === "" ? "" : `:\n${text.split("\n").slice(-8).join("\n")}`;
}

async function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
  child.stdin?.destroy();
}
