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
  engineMemoryBytes,
  type GroundTruthDevice,
  type GroundTruthModel,
  kvTransferMs,
  type ModelProfile,
  prefillMs,
  truthStepMs,
  truthTransferMs,
} from "@halo/profiles";
import { seedFromParts as seedFrom } from "@halo/seeded-random";
import { approximateTokenCount } from "./approximate-tokenizer.js";
import { type BatchSequence, scheduleContinuousBatch, sequenceKvTokens } from "./continuous-batch.js";
import { BatchNoise, naturalOutputTokens, truthModelSizes } from "./device-costs.js";
import {
  decodeKvPayload,
  encodeKvPayload,
  InvalidKvPayloadError,
  type KvPayloadHeader,
  MAX_KV_PAYLOAD_BYTES,
} from "./kv-payload.js";
import { PromptPrefixCache } from "./prompt-prefix-cache.js";
import {
  InvalidSchemaError,
  type PseudoOutput,
  parseJsonSchema,
  pseudoJson,
  pseudoText,
} from "./pseudo-text.js";
import { ScaledTimeline } from "./scaled-timeline.js";

export interface SimEngineOptions {
  /**
   * The device whose costs are replayed (e.g. `H100_SIMULATED_PROFILE` from @halo/profiles):
   * the linear cost model a planner also reads. Give this or `truth`.
   */
  readonly profile?: DeviceProfile;
  /**
   * A ground-truth device (`groundTruthDevice("h100")` from @halo/profiles): roofline steps,
   * vLLM-style continuous batching with a finite KV cache (queueing, preemption and
   * recompute), output lengths around max_tokens. Planners never get it: measure a
   * profile against the engine (`halo profile`).
   */
  readonly truth?: GroundTruthDevice;
  /** Per-batch lognormal noise on every batch's time (σ, default 0; 0.03 ≈ 3 %). */
  readonly noise?: number;
  /** Seed of the noise (default 0): the same seed and batches give the same figures. */
  readonly noiseSeed?: number;
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
  /**
   * Automatic prefix caching, line by line (`prompt-prefix-cache.ts`), as vLLM and SGLang
   * do, of the item prompts that follow a shared prefix (default true); false: only the
   * keyed shared prefixes are cached.
   */
  readonly promptPrefixCache?: boolean;
}

/** An item of a batch, checked and with its output decided. */
interface PlannedItem {
  readonly item: GenerateItem;
  readonly prefix: SharedPrefix | undefined;
  readonly prefixTokens: number;
  readonly promptTokens: number;
  readonly output: PseudoOutput;
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
  private readonly truth: GroundTruthDevice | undefined;
  private readonly deviceName: string;
  private readonly noise: BatchNoise;
  /** Loaded models, least recently used first. */
  private readonly loaded: string[] = [];
  private readonly kv = new Map<string, KvEntry>();
  /** Per loaded model, the automatic prefix cache of its item prompts (absent when turned off). */
  private readonly promptCaches = new Map<string, PromptPrefixCache>();
  private readonly counters = {
    modelLoads: 0,
    promptTokens: 0,
    cachedTokens: 0,
    generatedTokens: 0,
    busyMs: 0,
  };
  private preemptionCount = 0;
  private closed = false;

  constructor(private readonly options: SimEngineOptions) {
    this.timeScale = options.timeScale ?? 0.01;
    if (!(this.timeScale >= 0) || !Number.isFinite(this.timeScale)) {
      throw new RangeError(`SimEngine: timeScale must be a finite number >= 0, got ${options.timeScale}`);
    }
    if ((options.profile === undefined) === (options.truth === undefined)) {
      throw new RangeError("SimEngine: give either a profile or a ground truth (truth)");
    }
    this.truth = options.truth;
    this.deviceName = options.truth?.device ?? options.profile!.device;
    this.noise = new BatchNoise(options.noise ?? 0, options.noiseSeed ?? 0);
    this.memoryBudgetBytes =
      options.memoryBudgetBytes ??
      (options.truth ? engineMemoryBytes(options.truth) : options.profile!.memoryBytes);
    this.maxLoadedModels = options.maxLoadedModels ?? Number.POSITIVE_INFINITY;
    if (!(this.maxLoadedModels >= 1)) {
      throw new RangeError(`SimEngine: maxLoadedModels must be at least 1, got ${options.maxLoadedModels}`);
    }
    this.seed = options.seed ?? 0;
    this.kvPayloadDivisor = options.kvPayloadDivisor ?? 1024;
    this.threads = options.threads ?? 1;
    const listed = options.truth?.models ?? options.profile!.models;
    const served = options.models ?? Object.fromEntries(Object.keys(listed).map((name) => [name, name]));
    for (const [name, entry] of Object.entries(served)) {
      const profile = options.truth
        ? truthModelSizes(options.truth, entry)
        : (options.profile!.models[entry] ?? deriveModelProfile(options.profile!, entry));
      if (!profile) {
        throw new RangeError(
          options.truth
            ? `SimEngine: model "${name}": the ground truth of "${options.truth.device}" has no model "${entry}" (it has ${Object.keys(options.truth.models).join(", ")})`
            : `SimEngine: model "${name}": profile "${this.deviceName}" has no entry "${entry}" and no size can be read from that name`,
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
    const longestContext = Math.max(...profiles.map((profile) => profile.contextLength));
    this.maxBatchTokens =
      options.maxBatchTokens ??
      // Like a serving engine, the ground truth takes any batch and queues what its KV cache cannot hold.
      (options.truth ? options.truth.maxNumSeqs * longestContext : undefined) ??
      Math.max(
        Math.max(...profiles.map((profile) => profile.contextLength)),
        Math.floor((this.memoryBudgetBytes - largest) / widestKv),
      );
  }

  /** Ground truth: sequences preempted so far (KV dropped and recomputed) because the KV cache was full. */
  get preemptions(): number {
    return this.preemptionCount;
  }

  async doInfo(): Promise<EngineInfo> {
    this.ensureOpen();
    return {
      engine: "sim",
      version: `1 (${this.deviceName}, time scale ${this.timeScale})`,
      threads: this.threads,
      models: [...this.modelProfiles].map(([name, profile]) => this.describe(name, profile)),
      maxSequences: this.maxSequences,
      maxBatchTokens: this.maxBatchTokens,
      memoryBudgetBytes: this.memoryBudgetBytes,
      // Like a serving engine, it batches requests whatever their prompts (each item may carry its prefix).
      mixedPrefixes: true,
      // Unbounded: every served model may stay loaded at once (weights permitting).
      capabilities: {
        maxLoadedModels: Number.isFinite(this.maxLoadedModels)
          ? this.maxLoadedModels
          : this.modelProfiles.size,
      },
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
      this.promptCaches.delete(victim);
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
    // The ground truth fails an item whose prompt and output cannot fit the KV cache at all.
    const truthModel = this.truth?.models[this.truthEntry(options.model)];
    const capacityTokens =
      this.truth && truthModel
        ? this.truthKvCapacityTokens(truthModel, this.residentBytesWith(options.model))
        : Number.POSITIVE_INFINITY;
    for (let index = planned.length - 1; index >= 0 && capacityTokens < Number.POSITIVE_INFINITY; index--) {
      const entry = planned[index]!;
      const needed =
        entry.prefixTokens +
        sequenceKvTokens(
          {
            promptTokens: entry.promptTokens - entry.prefixTokens,
            contextOffset: 0,
            outputTokens: entry.output.tokens.length,
          },
          this.truth!.kvBlockTokens,
        );
      if (needed <= capacityTokens) continue;
      planned.splice(index, 1);
      failures.unshift({
        type: "item-failed",
        itemId: entry.item.id,
        code: "over-limits",
        message: `item "${entry.item.id}": ${entry.promptTokens} prompt tokens + ${entry.output.tokens.length} generated need more KV than the ${capacityTokens} tokens model "${options.model}" has on ${this.deviceName}`,
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
    // Leading lines of the items' own prompts that the engine's prefix cache holds, or that an
    // earlier item of this batch prefills: each such line is prefilled once, not once per item.
    const reused = this.reusedPromptTokens(options.model, planned);

    const timeline = new ScaledTimeline(this.timeScale, options.signal);
    // A prefix is prefilled once for its batch: its first item pays for it (when it was not
    // cached), every other item reads it from the cache, so prompt − cached is what was prefilled.
    const prefixCached = new Map<(typeof planned)[number], number>();
    const charged = new Set<string>();
    for (const entry of planned) {
      if (!entry.prefix) continue;
      if (prefixes.get(entry.prefix.key)?.cached || charged.has(entry.prefix.key)) {
        prefixCached.set(entry, entry.prefixTokens);
      } else {
        charged.add(entry.prefix.key);
      }
    }
    const cachedTokensOf = (entry: (typeof planned)[number]) =>
      (prefixCached.get(entry) ?? 0) + (reused.get(entry) ?? 0);
    const prefixPrefilledTokens = [...prefixes.values()].reduce(
      (total, prefix) => total + (prefix.cached ? 0 : prefix.tokens),
      0,
    );
    const prefillTokens =
      prefixPrefilledTokens +
      planned.reduce(
        (total, entry) => total + entry.promptTokens - entry.prefixTokens - (reused.get(entry) ?? 0),
        0,
      );
    const noise = this.noise.next();
    if (this.truth && truthModel) {
      yield* this.runTruthBatch({
        model: options.model,
        truthModel,
        capacityTokens,
        noise,
        batchSize: options.items.length,
        planned,
        reused,
        prefixes,
        prefixPrefilledTokens,
        cachedTokensOf,
        timeline,
      });
      return;
    }
    const batchPrefillMs = prefillMs(profile, prefillTokens) * noise;
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
      const stepMs = decodeStepMs(profile, active.length, averageContext) * noise;
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
    const transferMs = this.transferMs(entry.model, profile, entry.tokens);
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
    const transferMs = this.transferMs(options.model, profile, header.tokens);
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
    this.promptCaches.clear();
  }

  /** Per item, the tokens of its prompt's leading lines served by the automatic prefix cache. */
  private reusedPromptTokens<
    T extends {
      item: GenerateItem;
      prefix: SharedPrefix | undefined;
      prefixTokens: number;
      promptTokens: number;
    },
  >(model: string, planned: readonly T[]): Map<T, number> {
    const reused = new Map<T, number>();
    if (this.options.promptPrefixCache === false) return reused;
    let cache = this.promptCaches.get(model);
    if (!cache) {
      cache = new PromptPrefixCache(this.maxBatchTokens);
      this.promptCaches.set(model, cache);
    }
    for (const entry of planned) {
      // Only prompts after a shared prefix: a prompt sent whole (naive, prefix sharing off) is priced
      // as before, so those baselines keep their meaning (a real engine's cache would serve them too).
      if (entry.prefix === undefined) continue;
      const tokens = cache.lookupAndInsert(`${model}\u0000${entry.prefix?.text ?? ""}`, entry.item.prompt);
      // At least the prompt's last token is computed, as in a real engine.
      const itemTokens = entry.promptTokens - entry.prefixTokens;
      if (tokens > 0) reused.set(entry, Math.min(tokens, Math.max(0, itemTokens - 1)));
    }
    return reused;
  }

  /**
   * One batch under the ground truth: the continuous-batching schedule step by
   * step, each step priced by the roofline (× the batch's noise) and replayed;
   * tokens stream as the steps produce them.
   */
  private async *runTruthBatch(batch: {
    readonly model: string;
    readonly truthModel: GroundTruthModel;
    readonly capacityTokens: number;
    readonly noise: number;
    readonly batchSize: number;
    readonly planned: readonly PlannedItem[];
    /** Per item, the leading prompt tokens the automatic prefix cache serves. */
    readonly reused: ReadonlyMap<PlannedItem, number>;
    readonly prefixes: ReadonlyMap<
      string,
      { readonly tokens: number; readonly textDigest: string; readonly cached: KvEntry | undefined }
    >;
    readonly prefixPrefilledTokens: number;
    readonly cachedTokensOf: (entry: PlannedItem) => number;
    readonly timeline: ScaledTimeline;
  }): AsyncIterable<GenerateEvent> {
    const truth = this.truth!;
    const { planned, timeline } = batch;
    for (const [key, prefix] of batch.prefixes) {
      this.kv.delete(key);
      this.kv.set(
        key,
        prefix.cached ?? { key, model: batch.model, tokens: prefix.tokens, textDigest: prefix.textDigest },
      );
    }
    const sequences: BatchSequence[] = planned.map((entry) => ({
      promptTokens: entry.promptTokens - entry.prefixTokens - (batch.reused.get(entry) ?? 0),
      contextOffset: entry.prefixTokens + (batch.reused.get(entry) ?? 0),
      outputTokens: entry.output.tokens.length,
    }));
    const pinnedTokens = [...batch.prefixes.values()].reduce((total, prefix) => total + prefix.tokens, 0);
    const generated = planned.map(() => 0);
    const firstTokenMs = planned.map(() => 0);
    let prefillTotalMs = 0;
    let decodeTotalMs = 0;
    let preemptions = 0;
    for (const step of scheduleContinuousBatch(sequences, {
      maxSequences: truth.maxNumSeqs,
      maxStepTokens: truth.maxNumBatchedTokens,
      kvCapacityTokens: batch.capacityTokens,
      blockTokens: truth.kvBlockTokens,
      pinnedTokens,
      prefixPrefillTokens: batch.prefixPrefilledTokens,
    })) {
      const stepMs = truthStepMs(truth, batch.truthModel, step.work) * batch.noise;
      const tokens = step.work.prefillTokens + step.work.decodeSequences;
      // A mixed step's time is split between prefill and decode by its tokens.
      const prefillPartMs = tokens > 0 ? (stepMs * step.work.prefillTokens) / tokens : 0;
      prefillTotalMs += prefillPartMs;
      decodeTotalMs += stepMs - prefillPartMs;
      preemptions += step.preempted.length;
      await timeline.advance(stepMs);
      for (const index of step.emitted) {
        const entry = planned[index]!;
        const position = generated[index]!;
        generated[index] = position + 1;
        if (position === 0) firstTokenMs[index] = prefillTotalMs;
        yield { type: "token", itemId: entry.item.id, text: entry.output.tokens[position]! };
        if (position + 1 === entry.output.tokens.length) {
          yield {
            type: "item-finished",
            itemId: entry.item.id,
            text: entry.output.tokens.join(""),
            finishReason: entry.output.finishReason,
            figures: {
              promptTokens: entry.promptTokens,
              cachedTokens: batch.cachedTokensOf(entry),
              generatedTokens: entry.output.tokens.length,
              prefillMs: firstTokenMs[index]!,
              decodeMs: decodeTotalMs,
            },
          };
        }
      }
    }
    this.preemptionCount += preemptions;
    const figures: BatchFigures = {
      batchSize: batch.batchSize,
      promptTokens: planned.reduce((total, entry) => total + entry.promptTokens, 0),
      cachedTokens: planned.reduce((total, entry) => total + batch.cachedTokensOf(entry), 0),
      generatedTokens: planned.reduce((total, entry) => total + entry.output.tokens.length, 0),
      prefillMs: prefillTotalMs,
      decodeMs: decodeTotalMs,
      prefixPrefilledTokens: batch.prefixPrefilledTokens,
    };
    this.counters.promptTokens += figures.promptTokens;
    this.counters.cachedTokens += figures.cachedTokens;
    this.counters.generatedTokens += figures.generatedTokens;
    this.counters.busyMs += prefillTotalMs + decodeTotalMs;
    yield { type: "batch-finished", figures };
  }

  /** KV transfer time of `tokens` tokens of `model`: the truth's link or the profile's. */
  private transferMs(model: string, profile: ModelProfile, tokens: number): number {
    const truthModel = this.truth?.models[this.truthEntry(model)];
    if (this.truth && truthModel) return truthTransferMs(this.truth, truthModel, tokens);
    return kvTransferMs(this.options.profile!, profile, tokens);
  }

  /** KV capacity in whole blocks: the engine's memory (weights and KV) less the resident weights. */
  private truthKvCapacityTokens(model: GroundTruthModel, residentBytes: number): number {
    const blockBytes = model.kvBytesPerToken * this.truth!.kvBlockTokens;
    return (
      Math.max(0, Math.floor((this.memoryBudgetBytes - residentBytes) / blockBytes)) *
      this.truth!.kvBlockTokens
    );
  }

  /** The truth's model entry serving `model` (its name, or the entry `models` maps it to). */
  private truthEntry(model: string): string {
    return this.options.models?.[model] ?? model;
  }

  /** Weight bytes resident once `model` is loaded (others unloaded as `doLoadModel` would). */
  private residentBytesWith(model: string): number {
    if (this.loaded.includes(model)) return this.loadedBytes();
    const incoming = this.profileOf(model).weightsBytes;
    const resident = [...this.loaded];
    let bytes = this.loadedBytes();
    while (
      resident.length > 0 &&
      (bytes + incoming > this.memoryBudgetBytes || resident.length >= this.maxLoadedModels)
    ) {
      bytes -= this.profileOf(resident.shift()!).weightsBytes;
    }
    return bytes + incoming;
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
    // The ground truth's answers run around max_tokens, a quarter of them into it.
    return pseudoText(
      seed,
      item.maxTokens,
      this.truth ? naturalOutputTokens(seed, item.maxTokens) : undefined,
    );
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
