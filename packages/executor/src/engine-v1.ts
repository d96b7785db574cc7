/**
 * EngineV1: the contract every inference engine adapter implements
 * (`engine-llamacpp`, `engine-sim`, …). The sidecar (`@halo/executor`) owns
 * batching policy, queueing and KV-store policy (LRU, budgets); the engine owns
 * the model, the compute and the KV bytes. Methods prefixed `do` are called by
 * the sidecar only. Streaming results are discriminated unions.
 */

export interface EngineModelDescriptor {
  /** Name used by workflows, e.g. `Qwen/Qwen3-14B`. */
  readonly name: string;
  readonly parameterCount: number;
  readonly contextLength: number;
  /** Bytes of KV cache per token for this model (all layers, K and V). */
  readonly kvBytesPerToken: number;
  /** Bytes the loaded model occupies. */
  readonly memoryBytes: number;
  readonly loaded: boolean;
}

/**
 * What an engine can do beyond generating; the planner prices plans from it (through the
 * executor's Info and the device profile). Engines that leave it out can do everything.
 */
export interface EngineCapabilities {
  /** `doExportKv`/`doImportKv` work, so KV may migrate to or from this engine. */
  readonly kvTransfer: boolean;
  /**
   * A shared prefix stays cached under its key until `doDropKv` (and `doStats` lists it).
   * False: prefix reuse is left to the engine's or its server's own cache, which may evict it.
   */
  readonly prefixPinning: boolean;
  /**
   * The engine loads and unloads models itself (a switch costs load time, memory bounds what
   * is loaded). False: the models stay loaded on a server the engine calls.
   */
  readonly modelLoading: boolean;
  /**
   * How `GenerateItem.jsonSchema` is enforced: by grammar in this engine, by the server
   * (`response_format`), or only by an instruction in the prompt (the output may not parse).
   */
  readonly structuredOutput: "grammar" | "server" | "prompt";
  /**
   * Most models the engine keeps loaded at once while their weights fit in its memory budget
   * (beyond that it unloads the least recently used): a switch back to a model still loaded costs
   * no load, and the models loaded together share the memory left for KV. Absent: one.
   */
  readonly maxLoadedModels?: number;
}

/** The capabilities of an engine that declares none: all of them. */
export const FULL_ENGINE_CAPABILITIES: EngineCapabilities = {
  kvTransfer: true,
  prefixPinning: true,
  modelLoading: true,
  structuredOutput: "grammar",
};

/** The capabilities an engine declares, defaults filled in. */
export function engineCapabilities(info: Pick<EngineInfo, "capabilities">): EngineCapabilities {
  return { ...FULL_ENGINE_CAPABILITIES, ...info.capabilities };
}

export interface EngineInfo {
  readonly engine: string;
  readonly version: string;
  readonly threads: number;
  readonly models: readonly EngineModelDescriptor[];
  /** Most sequences one `doGenerate` call may carry. */
  readonly maxSequences: number;
  /** Most prompt + generated tokens one `doGenerate` call may carry in total. */
  readonly maxBatchTokens: number;
  readonly memoryBudgetBytes: number;
  /**
   * The engine batches items with different shared prefixes together
   * (`GenerateItem.sharedPrefix`), as a serving engine batches requests with
   * different prompts; the sidecar then merges concurrent calls of one model
   * whatever their prefixes. Default false: one prefix per batch.
   */
  readonly mixedPrefixes?: boolean;
  /** What the engine can do beyond generating (default: everything; see `EngineCapabilities`). */
  readonly capabilities?: Partial<EngineCapabilities>;
}

export interface LoadModelOptions {
  readonly model: string;
  readonly signal?: AbortSignal;
}

export interface LoadModelResult {
  readonly model: string;
  readonly loadMs: number;
  readonly alreadyLoaded: boolean;
  /** Models unloaded to stay under the memory budget. */
  readonly unloaded: readonly string[];
}

/** A shared prompt prefix: evaluated once, its KV cached under `key` and reused by every item. */
export interface SharedPrefix {
  readonly key: string;
  readonly text: string;
}

export interface GenerateItem {
  readonly id: string;
  /** The per-item part of the prompt, appended to the shared prefix (if any). */
  readonly prompt: string;
  readonly maxTokens: number;
  /** 0 means greedy (deterministic). */
  readonly temperature: number;
  readonly topP: number;
  readonly seed: number;
  /** JSON schema (serialized) the output must follow; engines enforce it by grammar. */
  readonly jsonSchema?: string;
  /**
   * This item's own shared prefix, in a batch without one (`GenerateOptions.sharedPrefix`
   * absent). Sent only to engines whose info says `mixedPrefixes`.
   */
  readonly sharedPrefix?: SharedPrefix;
}

export interface GenerateOptions {
  readonly model: string;
  readonly sharedPrefix?: SharedPrefix;
  readonly items: readonly GenerateItem[];
  readonly signal?: AbortSignal;
}

/** Figures of one finished item. Times are engine time (for engine-sim: unscaled profile time). */
export interface ItemFigures {
  readonly promptTokens: number;
  /** Prompt tokens served from cached KV (shared prefix or imported) instead of prefilled. */
  readonly cachedTokens: number;
  readonly generatedTokens: number;
  readonly prefillMs: number;
  readonly decodeMs: number;
}

export interface BatchFigures extends ItemFigures {
  readonly batchSize: number;
  /** Tokens of the shared prefix evaluated by this call (0 when it was already cached). */
  readonly prefixPrefilledTokens: number;
}

export type GenerateEvent =
  | { readonly type: "token"; readonly itemId: string; readonly text: string }
  | {
      readonly type: "item-finished";
      readonly itemId: string;
      readonly text: string;
      readonly finishReason: "stop" | "length";
      readonly figures: ItemFigures;
    }
  | {
      readonly type: "item-failed";
      readonly itemId: string;
      readonly code: EngineErrorCode;
      readonly message: string;
    }
  | { readonly type: "batch-finished"; readonly figures: BatchFigures };

export type EngineErrorCode =
  | "unknown-model"
  | "prompt-too-long"
  | "invalid-json-schema"
  | "invalid-kv"
  | "over-limits"
  | "not-found"
  /** The engine cannot do this at all (see `EngineInfo.capabilities`). */
  | "unsupported"
  | "internal";

/** Thrown by engines for bad input; the sidecar maps `code` to a gRPC status. */
export class EngineError extends Error {
  constructor(
    readonly code: EngineErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "EngineError";
  }
}

export interface KvEntryInfo {
  readonly key: string;
  readonly model: string;
  readonly tokens: number;
  readonly bytes: number;
}

export interface ExportKvOptions {
  readonly key: string;
  readonly signal?: AbortSignal;
}

export interface ImportKvOptions {
  readonly key: string;
  readonly model: string;
  readonly chunks: AsyncIterable<Uint8Array>;
  readonly signal?: AbortSignal;
}

export interface EngineStats {
  readonly loadedModels: readonly string[];
  readonly kvEntries: readonly KvEntryInfo[];
  readonly kvBytes: number;
  readonly modelLoads: number;
  readonly promptTokens: number;
  readonly cachedTokens: number;
  readonly generatedTokens: number;
  readonly busyMs: number;
}

export interface EngineV1 {
  readonly specificationVersion: "v1";
  readonly engineName: string;
  /** Read-only: may be called while another call runs (the sidecar answers Info during a batch). */
  doInfo(): Promise<EngineInfo>;
  doLoadModel(options: LoadModelOptions): Promise<LoadModelResult>;
  /**
   * One engine batch: every item decoded together; the shared prefix evaluated at most once
   * and left cached under its key (until `doDropKv` or the model is unloaded).
   * Bad input of one item (prompt too long for the context, invalid JSON schema) yields an
   * `item-failed` event naming the item while the other items go on. Bad input of the whole
   * batch (unknown model, more items than `maxSequences` or tokens than `maxBatchTokens`)
   * throws an EngineError before any event. Every item ends with exactly one `item-finished`
   * or `item-failed`; the last event is `batch-finished`. Token events of an item concatenate
   * to its finished text. A known model that is not loaded is loaded first.
   */
  doGenerate(options: GenerateOptions): AsyncIterable<GenerateEvent>;
  /** Streams the KV bytes cached under `key` (a shared prefix); `not-found` when nothing is cached there. */
  doExportKv(options: ExportKvOptions): AsyncIterable<Uint8Array>;
  /**
   * Stores imported KV bytes under `key` for `model` (which must be loaded); rejects corrupted
   * or truncated bytes, and bytes exported from another model, with `invalid-kv`.
   */
  doImportKv(options: ImportKvOptions): Promise<KvEntryInfo>;
  doDropKv(options: {
    readonly key: string;
  }): Promise<{ readonly dropped: boolean; readonly freedBytes: number }>;
  /** Read-only: may be called while another call runs. */
  doStats(): Promise<EngineStats>;
  close(): Promise<void>;
}
