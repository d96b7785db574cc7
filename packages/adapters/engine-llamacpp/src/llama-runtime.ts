import { getLlama, type Llama, LlamaLogLevel } from "node-llama-cpp";

/** Which llama.cpp build runs the models: the CPU build (false), or a GPU backend. */
export type LlamaGpu = false | "auto" | "cuda" | "vulkan" | "metal";

/** The GPU backends a user may ask for (`--gpu`), with `off` for the CPU build. */
export const LLAMA_GPU_CHOICES = ["off", "auto", "cuda", "vulkan", "metal"] as const;

/** The prebuilt-binary packages of each GPU backend (npm optional dependencies of node-llama-cpp). */
const GPU_PACKAGES: Readonly<Record<Exclude<LlamaGpu, false | "auto">, string>> = {
  cuda: "@node-llama-cpp/linux-x64-cuda (or win-x64-cuda)",
  vulkan: "@node-llama-cpp/linux-x64-vulkan (or win-x64-vulkan)",
  metal: "@node-llama-cpp/mac-arm64-metal",
};

/** The llama.cpp build a user asked for is not installed (the workspace installs only the CPU build). */
export class LlamaBuildMissingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LlamaBuildMissingError";
  }
}

const instances = new Map<string, Promise<Llama>>();

/**
 * The llama.cpp runtime limited to `threads` threads, one per (threads, gpu) per process.
 * Always a prebuilt binary from the npm registry: never a source build or a download.
 * An explicit thread limit matters: the default oversubscribes small machines (~100× slower).
 */
export function getLlamaRuntime(threads: number, gpu: LlamaGpu = false): Promise<Llama> {
  if (!Number.isInteger(threads) || threads < 1) {
    throw new RangeError(`threads: must be a positive integer (got ${threads})`);
  }
  const key = `${threads}/${gpu}`;
  let instance = instances.get(key);
  if (!instance) {
    instance = getLlama({
      gpu,
      build: "never",
      skipDownload: true,
      maxThreads: threads,
      logLevel: LlamaLogLevel.error,
      progressLogs: false,
    }).then(
      (llama) => {
        // "auto" falls back to the CPU build silently; an explicit backend must be what runs.
        if (gpu !== false && gpu !== "auto" && llama.gpu !== gpu) {
          throw new LlamaBuildMissingError(
            missingBuildMessage(gpu, `llama.cpp started with ${llama.gpu || "CPU"}`),
          );
        }
        return llama;
      },
      (error: unknown) => {
        if (gpu === false || gpu === "auto") throw error;
        throw new LlamaBuildMissingError(
          missingBuildMessage(gpu, error instanceof Error ? error.message : String(error)),
        );
      },
    );
    instances.set(key, instance);
    // A failed start must not be cached: the next call tries again.
    instance.catch(() => instances.delete(key));
  }
  return instance;
}

/** The CPU runtime (`getLlamaRuntime(threads, false)`). */
export function getCpuLlama(threads: number): Promise<Llama> {
  return getLlamaRuntime(threads, false);
}

function missingBuildMessage(gpu: Exclude<LlamaGpu, false | "auto">, reason: string): string {
  return (
    `gpu "${gpu}": no usable prebuilt llama.cpp ${gpu} build (${reason}). ` +
    `Install ${GPU_PACKAGES[gpu]}: remove it from ignoredOptionalDependencies in pnpm-workspace.yaml ` +
    'and run `pnpm install --no-frozen-lockfile` (see @halo/engine-llamacpp\'s README, "GPUs")'
  );
}
