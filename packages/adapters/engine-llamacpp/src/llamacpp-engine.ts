import {
  EngineError,
  type EngineInfo,
  type EngineModelDescriptor,
  type EngineStats,
  type EngineV1,
  type ExportKvOptions,
  type GenerateEvent,
  type GenerateOptions,
  type ImportKvOptions,
  type KvEntryInfo,
  type LoadModelOptions,
  type LoadModelResult,
} from "@halo/executor";
import { BatchDecoder } from "./batch-decoder.js";
import { GrammarCache } from "./grammar-cache.js";
import { KvStateStore } from "./kv-state-store.js";
import type { LlamaGpu } from "./llama-runtime.js";
import { resolveHaloHome } from "./model-cache.js";
import { defaultMemoryBudgetBytes, ModelLifecycle, type ModelLifecycleOptions } from "./model-lifecycle.js";
import type { ModelMap } from "./model-map.js";
import { SerialLock } from "./serial-lock.js";
import { standInModels } from "./stand-in-models.js";

/** How a LlamaCppEngine runs. */
export interface LlamaCppEngineOptions {
  /** Which GGUF serves each model name; names it does not list get their synthesized stand-in. */
  readonly modelMap?: ModelMap;
  /** llama.cpp threads. Set it explicitly (1–2 on a 2-core machine): more threads than cores is ~100× slower. */
  readonly threads: number;
  /** Tokens per sequence (prompt + generated), capped by the model's training context (default 2048). */
  readonly contextSize?: number;
  /** Sequences decoded together in one context, the most items of one batch (default 16). */
  readonly maxSequences?: number;
  /** Memory for loaded models: weights plus their KV cache (default min(8 GiB, half the RAM)). */
  readonly memoryBudgetBytes?: number;
  /** Where synthesized models are cached (default `HALO_HOME` or `~/.halo`). */
  readonly haloHome?: string;
  /** Tokens per llama.cpp decode call (default 512). */
  readonly batchSize?: number;
  /**
   * Reuse the KV a sequence still holds from an earlier batch when a prompt starts with
   * the same tokens (an automatic prefix cache, default true). Shared prefixes are
   * reused either way; turn this off to measure them alone.
   */
  readonly automaticPrefixReuse?: boolean;
  /** Memory-map model files instead of reading them (default false, so load time includes reading the weights). */
  readonly useMmap?: boolean;
  /**
   * The llama.cpp build: false (default) the CPU build; `cuda`, `vulkan`, `metal` that GPU
   * build (its npm package must be installed, see the README); `auto` the best one installed.
   */
  readonly gpu?: LlamaGpu;
  /** Layers offloaded to the GPU: a count, `auto` (what fits, the default with a GPU) or `max`. */
  readonly gpuLayers?: number | "auto" | "max";
}
const exportChunkBytes = 64 * 1024;
const engineVersion = "0.1.0";

function nowMs(): number {
  return performance.now();
}

/**
 * Real inference with llama.cpp (node-llama-cpp, CPU). One context per loaded model
 * holds `maxSequences` sequences, so a batch's items are decoded together; a shared
 * prefix is evaluated once and its KV (a sequence state file) is loaded into each
 * sequence that needs it, in this batch and later ones. KV export/import moves those
 * states between engines in an envelope checked before llama.cpp reads it.
 *
 * The class composes the parts and serializes calls: `ModelLifecycle` (load, unload,
 * memory budget), `KvStateStore` (state files, prefixes, export/import), `GrammarCache`
 * and `BatchDecoder` (the batch loop).
 */
export class LlamaCppEngine implements EngineV1 {
  readonly specificationVersion = "v1" as const;
  readonly engineName = "llamacpp";
  private readonly settings: ModelLifecycleOptions;
  private readonly lock = new SerialLock();
  private readonly models: ModelLifecycle;
  private readonly kv: KvStateStore;
  private readonly decoder: BatchDecoder;
  private closed = false;
  private readonly counters = {
    promptTokens: 0,
    cachedTokens: 0,
    generatedTokens: 0,
    busyMs: 0,
  };

  constructor(private readonly options: LlamaCppEngineOptions) {
    this.settings = checkedSettings(options);
    const automaticPrefixReuse = options.automaticPrefixReuse ?? true;
    this.kv = new KvStateStore(automaticPrefixReuse);
    this.models = new ModelLifecycle(this.settings, (name) => this.kv.dropModel(name));
    this.decoder = new BatchDecoder(
      this.settings.maxSequences,
      automaticPrefixReuse,
      this.kv,
      new GrammarCache(this.settings.threads, this.settings.gpu),
    );
  }

  async doInfo(): Promise<EngineInfo> {
    const names = new Set<string>([
      ...(this.options.modelMap?.models.keys() ?? []),
      ...standInModels.map((model) => model.name),
      ...this.models.loadedNames(),
    ]);
    const models: EngineModelDescriptor[] = [];
    for (const name of names) models.push(await this.models.describe(name));
    const { threads, maxSequences, contextSize, memoryBudgetBytes } = this.settings;
    return {
      engine: this.engineName,
      version: engineVersion,
      threads,
      models,
      maxSequences,
      maxBatchTokens: maxSequences * contextSize,
      memoryBudgetBytes,
    };
  }

  async doLoadModel(options: LoadModelOptions): Promise<LoadModelResult> {
    return this.locked(() => this.models.load(options.model, options.signal));
  }

  doGenerate(options: GenerateOptions): AsyncIterable<GenerateEvent> {
    return this.generate(options);
  }

  async *doExportKv(options: ExportKvOptions): AsyncIterable<Uint8Array> {
    const envelope = await this.locked(() =>
      this.kv.exportEnvelope(options.key, (name) => this.models.get(name)),
    );
    for (let offset = 0; offset < envelope.length; offset += exportChunkBytes) {
      options.signal?.throwIfAborted();
      yield envelope.subarray(offset, offset + exportChunkBytes);
    }
  }

  async doImportKv(options: ImportKvOptions): Promise<KvEntryInfo> {
    this.ensureOpen();
    const shape = await this.models.shapeOf(options.model);
    const { contextSize } = this.settings;
    // A whole context of KV plus the token list and framing; anything larger is not an export of this model.
    const maxBytes = shape.kvBytesPerToken * contextSize * 1.25 + contextSize * 4 + 1024 * 1024;
    const parts: Uint8Array[] = [];
    let size = 0;
    for await (const chunk of options.chunks) {
      size += chunk.byteLength;
      if (size > maxBytes) {
        throw new EngineError(
          "invalid-kv",
          `KV import for key "${options.key}" exceeds ${Math.round(maxBytes)} bytes`,
        );
      }
      parts.push(chunk);
    }
    return this.locked(async () => {
      const imported = this.kv.decodeImport(options.key, options.model, Buffer.concat(parts));
      await this.models.load(options.model, options.signal);
      return this.kv.importState(imported, this.models.get(options.model)!);
    });
  }

  async doDropKv(options: { readonly key: string }): Promise<{ dropped: boolean; freedBytes: number }> {
    return this.locked(async () => {
      const entry = await this.kv.drop(options.key);
      return entry ? { dropped: true, freedBytes: entry.bytes } : { dropped: false, freedBytes: 0 };
    });
  }

  async doStats(): Promise<EngineStats> {
    const kvEntries = this.kv.infos();
    return {
      loadedModels: this.models.loadedNames(),
      kvEntries,
      kvBytes: kvEntries.reduce((total, entry) => total + entry.bytes, 0),
      modelLoads: this.models.loads,
      ...this.counters,
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    const release = await this.lock.acquire();
    try {
      this.closed = true;
      await this.models.unloadAll();
      await this.kv.close();
    } finally {
      release();
    }
  }

  /**
   * Describes any model this engine can serve (not only those `doInfo` lists): sizes and
   * memory from the model map entry or the stand-in, without loading it.
   */
  async describeModel(name: string): Promise<EngineModelDescriptor> {
    return this.models.describe(name);
  }

  private ensureOpen(): void {
    if (this.closed) throw new EngineError("internal", "the llama.cpp engine is closed");
  }

  /** Runs `action` holding the engine, counting the time as busy. */
  private async locked<T>(action: () => Promise<T>): Promise<T> {
    this.ensureOpen();
    const release = await this.lock.acquire();
    const startedAt = nowMs();
    try {
      this.ensureOpen();
      return await action();
    } finally {
      this.counters.busyMs += nowMs() - startedAt;
      release();
    }
  }

  private async *generate(options: GenerateOptions): AsyncGenerator<GenerateEvent> {
    this.ensureOpen();
    const release = await this.lock.acquire();
    const startedAt = nowMs();
    try {
      this.ensureOpen();
      options.signal?.throwIfAborted();
      const { maxSequences } = this.settings;
      if (options.items.length > maxSequences) {
        throw new EngineError(
          "over-limits",
          `a batch of ${options.items.length} items exceeds the engine's ${maxSequences} sequences`,
        );
      }
      await this.models.load(options.model, options.signal);
      const loaded = this.models.get(options.model)!;
      loaded.lastUsedAt = nowMs();
      for await (const event of this.decoder.run(loaded, options, startedAt)) {
        if (event.type === "batch-finished") {
          this.counters.promptTokens += event.figures.promptTokens;
          this.counters.cachedTokens += event.figures.cachedTokens;
          this.counters.generatedTokens += event.figures.generatedTokens;
        }
        yield event;
      }
    } finally {
      this.counters.busyMs += nowMs() - startedAt;
      release();
    }
  }
}

/** The engine's options with defaults filled in, checked (RangeError naming the option). */
function checkedSettings(options: LlamaCppEngineOptions): ModelLifecycleOptions {
  const { threads } = options;
  if (!Number.isInteger(threads) || threads < 1) {
    throw new RangeError(`LlamaCppEngine: threads must be a positive integer (got ${options.threads})`);
  }
  const contextSize = options.contextSize ?? 2048;
  if (!Number.isInteger(contextSize) || contextSize < 64) {
    throw new RangeError(`LlamaCppEngine: contextSize must be an integer >= 64 (got ${options.contextSize})`);
  }
  const maxSequences = options.maxSequences ?? 16;
  if (!Number.isInteger(maxSequences) || maxSequences < 1 || maxSequences > 256) {
    throw new RangeError(
      `LlamaCppEngine: maxSequences must be an integer in 1..256 (got ${options.maxSequences})`,
    );
  }
  const memoryBudgetBytes = options.memoryBudgetBytes ?? defaultMemoryBudgetBytes();
  if (!(memoryBudgetBytes > 0)) {
    throw new RangeError(
      `LlamaCppEngine: memoryBudgetBytes must be positive (got ${options.memoryBudgetBytes})`,
    );
  }
  const gpu = options.gpu ?? false;
  const gpuLayers = options.gpuLayers ?? (gpu === false ? 0 : "auto");
  if (typeof gpuLayers === "number" && (!Number.isInteger(gpuLayers) || gpuLayers < 0)) {
    throw new RangeError(
      `LlamaCppEngine: gpuLayers must be an integer >= 0, "auto" or "max" (got ${options.gpuLayers})`,
    );
  }
  if (gpu === false && gpuLayers !== 0) {
    throw new RangeError("LlamaCppEngine: gpuLayers needs a gpu (the CPU build offloads nothing)");
  }
  return {
    modelMap: options.modelMap,
    threads,
    contextSize,
    maxSequences,
    memoryBudgetBytes,
    haloHome: options.haloHome ?? resolveHaloHome(),
    batchSize: options.batchSize ?? 512,
    useMmap: options.useMmap ?? false,
    gpu,
    gpuLayers,
  };
}
