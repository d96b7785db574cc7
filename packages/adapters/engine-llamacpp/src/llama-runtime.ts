import { getLlama, type Llama, LlamaLogLevel } from "node-llama-cpp";

const instances = new Map<number, Promise<Llama>>();

/**
 * The CPU llama.cpp runtime limited to `threads` threads, one per thread count per process.
 * Always the prebuilt CPU binary: no GPU probing, never a source build or a download.
 * An explicit thread limit matters: the default oversubscribes small machines (~100× slower).
 */
export function getCpuLlama(threads: number): Promise<Llama> {
  if (!Number.isInteger(threads) || threads < 1) {
    throw new RangeError(`threads: must be a positive integer (got ${threads})`);
  }
  let instance = instances.get(threads);
  if (!instance) {
    instance = getLlama({
      gpu: false,
      build: "never",
      skipDownload: true,
      maxThreads: threads,
      logLevel: LlamaLogLevel.error,
      progressLogs: false,
    });
    instances.set(threads, instance);
    // A failed start must not be cached: the next call tries again.
    instance.catch(() => instances.delete(threads));
  }
  return instance;
}
