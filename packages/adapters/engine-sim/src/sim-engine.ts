import { createHash } from "node:crypto";
import {
  type BatchFigures,
  EngineError,
  type EngineInfo,
  type EngineModelDescriptor,
  type EngineStats,
  type EngineV1,
  type ExportKvOptions,
  type GenerateEvent,
  type GenerateItem,
  type GenerateOptions,
  type ImportKvOptions,
  type KvEntryInfo,
  type LoadModelOptions,
  type LoadModelResult,
  type SharedPrefix,
} from "@halo/executor";
import {
  type DeviceProfile,
  decodeStepMs,
  deriveModelProfile,
  kvTransferMs,
  type ModelProfile,
  prefillMs,
} from "@halo/profiles";
import { seedFromParts as seedFrom } from "@halo/seeded-random";
import { approximateTokenCount } from "./approximate-tokenizer.js";
import {
  decodeKvPayload,
  encodeKvPayload,
  InvalidKvPayloadError,
  type KvPayloadHeader,
  MAX_KV_PAYLOAD_BYTES,
} from "./kv-payload.js";
import {
  InvalidSchemaError,
  type PseudoOutput,
  parseJsonSchema,
  pseudoJson,
  pseudoText,
} from "./pseudo-text.js";
import { ScaledTimeline } from "./scaled-timeline.js";

export interface SimEngineOptions {
  /** The device whose costs are replayed (e.g. `H100_SIMULATED_PROFILE` from @halo/profiles). */
  readonly profile: DeviceProfile;
  /**
   * Wall time per simulated time: 0.01 waits 1 ms per 100 ms of device time.
   * Reported figures are always unscaled device time.
   */
  readonly timeScale?: number;
  /**
   * Served model names, each mapped to the profile entry that prices it
   * (default: every model of the profile under its own name). A name missing
   * from the profile is derived from the parameter count in the entry's name.
   */
  readonly models?: Readonly<Record<string, string>>;
  /** Memory for model weights (default: the profile's memoryBytes). */
  readonly memoryBudgetBytes?: number;
  /**
   * Most models loaded at once (default: as many as the memory budget holds).
   * 1 models a serving engine that gives the memory left by its one model to
   * the KV cache: loading another model unloads it.
   */
  readonly maxLoadedModels?: number;
  /** Seed of the pseudo-text (default 0): engines with other seeds answer differently. */
  readonly seed?: number;
  /** Most sequences per batch (default: the smallest maxBatchSequences of the served models). */
  readonly maxSequences?: number;
  /** Most prompt + generated tokens per batch (default: what the KV memory left by the largest model holds). */
  readonly maxBatchTokens?: number;
  /** KV export bytes = device KV bytes / this (default 1024), so migrations move real but small payloads. */
  readonly kvPayloadDivisor?: number;
  /** Reported thread count (default 1). */
  readonly threads?: number;
}

interface KvEntry {
  readonly key: string;
  readonly model: string;
  readonly tokens: number;
  readonly textDigest: string;
}

const EXPORT_CHUNK_BYTES = 64 * 1024;

/**
 * A simulated engine (EngineV1): it prices every call with a device profile,
 * waits that time × `timeScale` for real and reports the unscaled time. Its
 * text is deterministic pseudo-text (valid JSON when a schema is given), its
 * tokens are ~4 characters, its KV cache is bookkeeping plus real export bytes.
 */
export class SimEngine implements EngineV1 {
  readonly specificationVersion = "v1" as const;
  readonly engineName = "sim";
  private readonly timeScale: number;
  private readonly memoryBudgetBytes: number;
  private readonly maxLoadedModels: number;
  private readonly seed: number;
  private readonly kvPayloadDivisor: number;
  private readonly threads: number;
  private readonly modelProfiles = new Map<string, ModelProfile>();
  private readonly maxSequences: number;
  private readonly maxBatchTokens: number;
  /** Loaded models, least recently used first. */
  private readonly loaded: string[] = [];
  private readonly kv = new Map<string, KvEntry>();
  private readonly counters = {
    modelLoads: 0,
    promptTokens: 0,
    cachedTokens: 0,
    generatedTokens: 0,
    busyMs: 0,
  };
  private closed = false;

  constructor(private readonly options: SimEngineOptions) {
    this.timeScale = options.timeScale ?? 0.01;
    if (!(this.timeScale >= 0) || !Number.isFinite(this.timeScale)) {
      throw new RangeError(`SimEngine: timeScale must be a finite number >= 0, got ${options.timeScale}`);
    }
    this.memoryBudgetBytes = options.memoryBudgetBytes ?? options.profile.memoryBytes;
    this.maxLoadedModels = options.maxLoadedModels ?? Number.POSITIVE_INFINITY;
    if (!(this.maxLoadedModels >= 1)) {
      throw new RangeError(`SimEngine: maxLoadedModels must be at least 1, got ${options.maxLoadedModels}`);
    }
    this.seed = options.seed ?? 0;
    this.kvPayloadDivisor = options.kvPayloadDivisor ?? 1024;
    this.threads = options.threads ?? 1;
    const served =
      options.models ?? Object.fromEntries(Object.keys(options.profile.models).map((name) => [name, name]));
    for (const [name, entry] of Object.entries(served)) {
      const profile = options.profile.models[entry] ?? deriveModelProfile(options.profile, entry);
      if (!profile) {
        throw new RangeError(
          `SimEngine: model "${name}": profile "${options.profile.device}" has no entry "${entry}" and no size can be read from that name`,
        );
      }
      this.modelProfiles.set(name, profile);
    }
    if (this.modelProfiles.size === 0) throw new RangeError("SimEngine: no models to serve");
    const profiles = [...this.modelProfiles.values()];
    this.maxSequences =
      options.maxSequences ?? Math.min(...profiles.map((profile) => profile.maxBatchSequences));
    const largest = Math.max(...profiles.map((profile) => profile.weightsBytes));
    const widestKv = Math.max(...profiles.map((profile) => profile.kvBytesPerToken));
    this.maxBatchTokens =
      options.maxBatchTokens ??
      Math.max(
        Math.max(...profiles.map((profile) => profile.contextLength)),
        Math.floor((this.memoryBudgetBytes - largest) / widestKv),
      );
  }

  async doInfo(): Promise<EngineInfo> {
    this.ensureOpen();
    return {
      engine: "sim",
      version: `1 (${this.options.profile.device}, time scale ${this.timeScale})`,
      threads: this.threads,
      models: [...this.modelProfiles].map(([name, profile]) => this.describe(name, profile)),
      maxSequences: this.maxSequences,
      maxBatchTokens: this.maxBatchTokens,
      memoryBudgetBytes: this.memoryBudgetBytes,
      // Like a serving engine, it batches requests whatever their prompts (each item may carry its prefix).
      mixedPrefixes: true,
    };
  }

  async doLoadModel(options: LoadModelOptions): Promise<LoadModelResult> {
    this.ensureOpen();
    const profile = this.profileOf(options.model);
    const position = this.loaded.indexOf(options.model);
    if (position >= 0) {
      this.loaded.splice(position, 1);
      this.loaded.push(options.model);
      return { model: options.model, loadMs: 0, alreadyLoaded: true, unloaded: [] };
    }
    if (profile.weightsBytes > this.memoryBudgetBytes) {
      throw new EngineError(
        "over-limits",
        `model "${options.model}" needs ${profile.weightsBytes} bytes, more than the memory budget of ${this.memoryBudgetBytes}`,
      );
    }
    const unloaded: string[] = [];
    while (
      this.loaded.length > 0 &&
      (this.loadedBytes() + profile.weightsBytes > this.memoryBudgetBytes ||
        this.loaded.length >= this.maxLoadedModels)
    ) {
      const victim = this.loaded.shift()!;
      unloaded.push(victim);
      // Unloading frees the device memory, the cached prefixes of that model included.
      for (const [key, entry] of this.kv) if (entry.model === victim) this.kv.delete(key);
    }
    await new ScaledTimeline(this.timeScale, options.signal).advance(profile.loadMs);
    this.loaded.push(options.model);
    this.counters.modelLoads++;
    this.counters.busyMs += profile.loadMs;
    return { model: options.model, loadMs: profile.loadMs, alreadyLoaded: false, unloaded };
  }

  async *doGenerate(options: GenerateOptions): AsyncIterable<GenerateEvent> {
    this.ensureOpen();
    const profile = this.profileOf(options.model);
    if (options.items.length > this.maxSequences) {
      throw new EngineError(
        "over-limits",
        `batch of ${options.items.length} items for model "${options.model}" exceeds maxSequences ${this.maxSequences}`,
      );
    }
    const batchPrefix = options.sharedPrefix;
    if (batchPrefix && approximateTokenCount(batchPrefix.text) >= profile.contextLength) {
      throw new EngineError(
        "prompt-too-long",
        `shared prefix "${batchPrefix.key}" has ${approximateTokenCount(batchPrefix.text)} tokens; model "${options.model}" has a context of ${profile.contextLength}`,
      );
    }
    const failures: GenerateEvent[] = [];
    const planned: {
      item: GenerateItem;
      prefix: SharedPrefix | undefined;
      prefixTokens: number;
      promptTokens: number;
      output: PseudoOutput;
    }[] = [];
    for (const item of options.items) {
      // An item's own prefix (a batch that merged calls with different prefixes) or the batch's.
      const prefix = item.sharedPrefix ?? batchPrefix;
      const prefixTokens = prefix ? approximateTokenCount(prefix.text) : 0;
      const failure = this.checkItem(options.model, profile, prefixTokens, item);
      if (failure) {
        failures.push(failure);
        continue;
      }
      const promptTokens = prefixTokens + approximateTokenCount(item.prompt);
      planned.push({
        item,
        prefix,
        prefixTokens,
        promptTokens,
        output: this.outputOf(options.model, prefix?.text ?? "", item),
      });
    }
    const batchTokens = planned.reduce(
      (total, entry) => total + entry.promptTokens + entry.item.maxTokens,
      0,
    );
    if (batchTokens > this.maxBatchTokens) {
      throw new EngineError(
        "over-limits",
        `batch for model "${options.model}" needs up to ${batchTokens} tokens, more than maxBatchTokens ${this.maxBatchTokens}`,
      );
    }

    await this.doLoadModel({ model: options.model, signal: options.signal });
    // Each distinct prefix of the batch: cached (no prefill) or prefilled once for all its items.
    const prefixes = new Map<
      string,
      { readonly tokens: number; readonly textDigest: string; readonly cached: KvEntry | undefined }
    >();
    for (const { prefix, prefixTokens } of planned) {
      if (!prefix || prefixes.has(prefix.key)) continue;
      const textDigest = digest(prefix.text);
      const entry = this.kv.get(prefix.key);
      const usable = entry !== undefined && entry.model === options.model && entry.textDigest === textDigest;
      prefixes.set(prefix.key, { tokens: prefixTokens, textDigest, cached: usable ? entry : undefined });
    }
    for (const failure of failures) yield failure;

    const timeline = new ScaledTimeline(this.timeScale, options.signal);
    const cachedTokensOf = (entry: (typeof planned)[number]) =>
      entry.prefix && prefixes.get(entry.prefix.key)?.cached ? entry.prefixTokens : 0;
    const prefixPrefilledTokens = [...prefixes.values()].reduce(
      (total, prefix) => total + (prefix.cached ? 0 : prefix.tokens),
      0,
    );
    const prefillTokens =
      prefixPrefilledTokens +
      planned.reduce((total, entry) => total + entry.promptTokens - entry.prefixTokens, 0);
    const batchPrefillMs = prefillMs(profile, prefillTokens);
    await timeline.advance(batchPrefillMs);
    for (const [key, prefix] of prefixes) {
      // A prefilled prefix is cached; a cached one is refreshed (it was just used).
      this.kv.delete(key);
      this.kv.set(
        key,
        prefix.cached ?? { key, model: options.model, tokens: prefix.tokens, textDigest: prefix.textDigest },
      );
    }

    const steps = Math.max(0, ...planned.map((entry) => entry.output.tokens.length));
    let decodeMs = 0;
    for (let step = 0; step < steps; step++) {
      const active = planned.filter((entry) => entry.output.tokens.length > step);
      const averageContext =
        active.reduce((total, entry) => total + entry.promptTokens + step, 0) / active.length;
      const stepMs = decodeStepMs(profile, active.length, averageContext);
      decodeMs += stepMs;
      await timeline.advance(stepMs);
      for (const entry of active) {
        yield { type: "token", itemId: entry.item.id, text: entry.output.tokens[step]! };
        if (entry.output.tokens.length === step + 1) {
          yield {
            type: "item-finished",
            itemId: entry.item.id,
            text: entry.output.tokens.join(""),
            finishReason: entry.output.finishReason,
            figures: {
              promptTokens: entry.promptTokens,
              cachedTokens: cachedTokensOf(entry),
              generatedTokens: entry.output.tokens.length,
              prefillMs: batchPrefillMs,
              decodeMs,
            },
          };
        }
      }
    }

    const figures: BatchFigures = {
      batchSize: options.items.length,
      promptTokens: planned.reduce((total, entry) => total + entry.promptTokens, 0),
      cachedTokens: planned.reduce((total, entry) => total + cachedTokensOf(entry), 0),
      generatedTokens: planned.reduce((total, entry) => total + entry.output.tokens.length, 0),
      prefillMs: batchPrefillMs,
      decodeMs,
      prefixPrefilledTokens,
    };
    this.counters.promptTokens += figures.promptTokens;
    this.counters.cachedTokens += figures.cachedTokens;
    this.counters.generatedTokens += figures.generatedTokens;
    this.counters.busyMs += batchPrefillMs + decodeMs;
    yield { type: "batch-finished", figures };
  }

  async *doExportKv(options: ExportKvOptions): AsyncIterable<Uint8Array> {
    this.ensureOpen();
    const entry = this.kv.get(options.key);
    if (!entry) throw new EngineError("not-found", `no KV cached under key "${options.key}"`);
    const profile = this.profileOf(entry.model);
    const transferMs = kvTransferMs(this.options.profile, profile, entry.tokens);
    await new ScaledTimeline(this.timeScale, options.signal).advance(transferMs);
    this.counters.busyMs += transferMs;
    const payload = encodeKvPayload({
      model: entry.model,
      tokens: entry.tokens,
      textDigest: entry.textDigest,
      bodyBytes: this.bodyBytes(profile, entry.tokens),
    });
    for (let offset = 0; offset < payload.length; offset += EXPORT_CHUNK_BYTES) {
      yield payload.subarray(offset, offset + EXPORT_CHUNK_BYTES);
    }
  }

  async doImportKv(options: ImportKvOptions): Promise<KvEntryInfo> {
    this.ensureOpen();
    const profile = this.profileOf(options.model);
    const parts: Uint8Array[] = [];
    let size = 0;
    for await (const chunk of options.chunks) {
      size += chunk.byteLength;
      if (size > MAX_KV_PAYLOAD_BYTES) {
        throw new EngineError(
          "invalid-kv",
          `KV import for key "${options.key}" exceeds ${MAX_KV_PAYLOAD_BYTES} bytes`,
        );
      }
      parts.push(chunk);
    }
    let header: KvPayloadHeader;
    try {
      header = decodeKvPayload(Buffer.concat(parts));
    } catch (error) {
      if (error instanceof InvalidKvPayloadError) {
        throw new EngineError("invalid-kv", `KV import for key "${options.key}": ${error.message}`);
      }
      throw error;
    }
    if (header.model !== options.model) {
      throw new EngineError(
        "invalid-kv",
        `KV import for key "${options.key}": the bytes hold KV of model "${header.model}", not "${options.model}"`,
      );
    }
    if (header.bodyBytes !== this.bodyBytes(profile, header.tokens)) {
      throw new EngineError(
        "invalid-kv",
        `KV import for key "${options.key}": ${header.bodyBytes} body bytes do not match ${header.tokens} tokens of "${options.model}"`,
      );
    }
    await this.doLoadModel({ model: options.model, signal: options.signal });
    const transferMs = kvTransferMs(this.options.profile, profile, header.tokens);
    await new ScaledTimeline(this.timeScale, options.signal).advance(transferMs);
    this.counters.busyMs += transferMs;
    this.kv.delete(options.key);
    this.kv.set(options.key, {
      key: options.key,
      model: options.model,
      tokens: header.tokens,
      textDigest: header.textDigest,
    });
    return this.entryInfo(this.kv.get(options.key)!);
  }

  async doDropKv(options: {
    readonly key: string;
  }): Promise<{ readonly dropped: boolean; readonly freedBytes: number }> {
    this.ensureOpen();
    const entry = this.kv.get(options.key);
    if (!entry) return { dropped: false, freedBytes: 0 };
    this.kv.delete(options.key);
    return { dropped: true, freedBytes: this.entryInfo(entry).bytes };
  }

  async doStats(): Promise<EngineStats> {
    this.ensureOpen();
    const kvEntries = [...this.kv.values()].map((entry) => this.entryInfo(entry));
    return {
      loadedModels: [...this.loaded],
      kvEntries,
      kvBytes: kvEntries.reduce((total, entry) => total + entry.bytes, 0),
      ...this.counters,
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.loaded.length = 0;
    this.kv.clear();
  }

  private checkItem(
    model: string,
    profile: ModelProfile,
    prefixTokens: number,
    item: GenerateItem,
  ): GenerateEvent | undefined {
    const tokens = prefixTokens + approximateTokenCount(item.prompt);
    if (tokens + item.maxTokens > profile.contextLength) {
      return {
        type: "item-failed",
        itemId: item.id,
        code: "prompt-too-long",
        message: `item "${item.id}": ${tokens} prompt tokens + ${item.maxTokens} max tokens exceed the context of ${profile.contextLength} of model "${model}"`,
      };
    }
    if (item.jsonSchema !== undefined) {
      try {
        parseJsonSchema(item.jsonSchema);
      } catch (error) {
        if (!(error instanceof InvalidSchemaError)) throw error;
        return {
          type: "item-failed",
          itemId: item.id,
          code: "invalid-json-schema",
          message: `item "${item.id}": invalid JSON schema: ${error.message}`,
        };
      }
    }
    return undefined;
  }

  /**
   * Greedy output depends on the whole prompt only — not on where a shared
   * prefix ends, as with a real model; sampled output also on seed,
   * temperature and top-p.
   */
  private outputOf(model: string, prefixText: string, item: GenerateItem): PseudoOutput {
    const sampling = item.temperature > 0 ? [item.seed, item.temperature, item.topP] : [];
    const seed = seedFrom(this.seed, model, prefixText + item.prompt, item.jsonSchema ?? "", ...sampling);
    if (item.jsonSchema !== undefined)
      return pseudoJson(seed, parseJsonSchema(item.jsonSchema), item.maxTokens);
    return pseudoText(seed, item.maxTokens);
  }

  private profileOf(model: string): ModelProfile {
    const profile = this.modelProfiles.get(model);
    if (!profile) {
      throw new EngineError(
        "unknown-model",
        `unknown model "${model}"; this engine serves ${[...this.modelProfiles.keys()].map((name) => `"${name}"`).join(", ")}`,
      );
    }
    return profile;
  }

  private describe(name: string, profile: ModelProfile): EngineModelDescriptor {
    return {
      name,
      parameterCount: Math.round(profile.parameterCount),
      contextLength: profile.contextLength,
      kvBytesPerToken: Math.round(profile.kvBytesPerToken),
      memoryBytes: Math.round(profile.weightsBytes),
      loaded: this.loaded.includes(name),
    };
  }

  private loadedBytes(): number {
    return this.loaded.reduce((total, name) => total + this.profileOf(name).weightsBytes, 0);
  }

  private bodyBytes(profile: ModelProfile, tokens: number): number {
    return Math.max(tokens, Math.round((tokens * profile.kvBytesPerToken) / this.kvPayloadDivisor));
  }

  private entryInfo(entry: KvEntry): KvEntryInfo {
    const profile = this.profileOf(entry.model);
    return {
      key: entry.key,
      model: entry.model,
      tokens: entry.tokens,
      bytes: Math.round(entry.tokens * profile.kvBytesPerToken),
    };
  }

  private ensureOpen(): void {
    if (this.closed) throw new EngineError("internal", "the sim engine is closed");
  }
}

function digest(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}
