import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import {
  ASSISTANT_TURN,
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
  type ItemFigures,
  type KvEntryInfo,
  type LoadModelOptions,
  type LoadModelResult,
  parseChatPrompt,
} from "@halo/executor";
import {
  type ChatHistoryItem,
  type ChatWrapper,
  type LlamaContext,
  type LlamaContextSequence,
  type LlamaGrammar,
  LlamaGrammarEvaluationState,
  type LlamaModel,
  resolveChatWrapper,
  type Token,
} from "node-llama-cpp";
import { AsyncEventQueue } from "./async-event-queue.js";
import { InvalidJsonSchemaError, parseJsonSchemaText } from "./json-schema-text.js";
import { decodeKvEnvelope, encodeKvEnvelope, InvalidKvEnvelopeError } from "./kv-envelope.js";
import { getLlamaRuntime, type LlamaGpu } from "./llama-runtime.js";
import { ensureSynthesizedModel, resolveHaloHome } from "./model-cache.js";
import { fingerprintModelFile } from "./model-fingerprint.js";
import { type ModelMap, resolveModelSource } from "./model-map.js";
import { type ModelShape, modelShape } from "./model-shape.js";
import { InvalidSequenceStateError, parseSequenceState, reframeSequenceState } from "./sequence-state.js";
import { SerialLock } from "./serial-lock.js";
import { standInModels } from "./stand-in-models.js";
import { StepBarrier } from "./step-barrier.js";

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

interface LoadedModel {
  readonly name: string;
  readonly model: LlamaModel;
  readonly context: LlamaContext;
  readonly sequences: readonly LlamaContextSequence[];
  readonly contextLength: number;
  readonly memoryBytes: number;
  readonly fingerprint: string;
  readonly vocabularySize: number;
  /** The GGUF's own chat template (real models): prompts are rendered with it, not sent as raw text. */
  readonly chatWrapper?: ChatWrapper;
  lastUsedAt: number;
}

interface KvEntry {
  readonly key: string;
  readonly model: string;
  readonly tokens: readonly Token[];
  readonly statePath: string;
  readonly bytes: number;
}

interface PreparedItem {
  readonly item: GenerateItem;
  readonly tokens: readonly Token[];
  readonly grammar?: LlamaGrammar;
}

const exportChunkBytes = 64 * 1024;
const engineVersion = "0.1.0";

// Continuations used to find the prefix tokens that never change whatever text follows:
// the last word of a prefix may merge with the text after it.
const prefixBoundaryProbes = ["x", "X", "1", ".", ",", "'s", "-", " x", "\n", "é", "日"];

function commonPrefixLength(first: readonly Token[], second: readonly Token[]): number {
  const limit = Math.min(first.length, second.length);
  let index = 0;
  while (index < limit && first[index] === second[index]) index += 1;
  return index;
}

function nowMs(): number {
  return performance.now();
}

/**
 * Real inference with llama.cpp (node-llama-cpp, CPU). One context per loaded model
 * holds `maxSequences` sequences, so a batch's items are decoded together; a shared
 * prefix is evaluated once and its KV (a sequence state file) is loaded into each
 * sequence that needs it, in this batch and later ones. KV export/import moves those
 * states between engines in an envelope checked before llama.cpp reads it.
 */
export class LlamaCppEngine implements EngineV1 {
  readonly specificationVersion = "v1" as const;
  readonly engineName = "llamacpp";
  private readonly threads: number;
  private readonly contextSize: number;
  private readonly maxSequences: number;
  private readonly memoryBudgetBytes: number;
  private readonly haloHome: string;
  private readonly batchSize: number;
  private readonly automaticPrefixReuse: boolean;
  private readonly useMmap: boolean;
  private readonly gpu: LlamaGpu;
  private readonly gpuLayers: number | "auto" | "max";
  private readonly lock = new SerialLock();
  private readonly loaded = new Map<string, LoadedModel>();
  private readonly shapes = new Map<string, Promise<ModelShape>>();
  private readonly kv = new Map<string, KvEntry>();
  private readonly grammars = new Map<string, Promise<LlamaGrammar>>();
  private kvDirectory: Promise<string> | undefined;
  private kvFileCounter = 0;
  private closed = false;
  private readonly counters = {
    modelLoads: 0,
    promptTokens: 0,
    cachedTokens: 0,
    generatedTokens: 0,
    busyMs: 0,
  };

  constructor(private readonly options: LlamaCppEngineOptions) {
    this.threads = options.threads;
    if (!Number.isInteger(this.threads) || this.threads < 1) {
      throw new RangeError(`LlamaCppEngine: threads must be a positive integer (got ${options.threads})`);
    }
    this.contextSize = options.contextSize ?? 2048;
    if (!Number.isInteger(this.contextSize) || this.contextSize < 64) {
      throw new RangeError(
        `LlamaCppEngine: contextSize must be an integer >= 64 (got ${options.contextSize})`,
      );
    }
    this.maxSequences = options.maxSequences ?? 16;
    if (!Number.isInteger(this.maxSequences) || this.maxSequences < 1 || this.maxSequences > 256) {
      throw new RangeError(
        `LlamaCppEngine: maxSequences must be an integer in 1..256 (got ${options.maxSequences})`,
      );
    }
    this.memoryBudgetBytes = options.memoryBudgetBytes ?? Math.min(8 * 1024 ** 3, Math.floor(totalmem() / 2));
    if (!(this.memoryBudgetBytes > 0)) {
      throw new RangeError(
        `LlamaCppEngine: memoryBudgetBytes must be positive (got ${options.memoryBudgetBytes})`,
      );
    }
    this.batchSize = options.batchSize ?? 512;
    this.haloHome = options.haloHome ?? resolveHaloHome();
    this.automaticPrefixReuse = options.automaticPrefixReuse ?? true;
    this.useMmap = options.useMmap ?? false;
    this.gpu = options.gpu ?? false;
    this.gpuLayers = options.gpuLayers ?? (this.gpu === false ? 0 : "auto");
    if (typeof this.gpuLayers === "number" && (!Number.isInteger(this.gpuLayers) || this.gpuLayers < 0)) {
      throw new RangeError(
        `LlamaCppEngine: gpuLayers must be an integer >= 0, "auto" or "max" (got ${options.gpuLayers})`,
      );
    }
    if (this.gpu === false && this.gpuLayers !== 0) {
      throw new RangeError("LlamaCppEngine: gpuLayers needs a gpu (the CPU build offloads nothing)");
    }
  }

  async doInfo(): Promise<EngineInfo> {
    const names = new Set<string>([
      ...(this.options.modelMap?.models.keys() ?? []),
      ...standInModels.map((model) => model.name),
      ...this.loaded.keys(),
    ]);
    const models: EngineModelDescriptor[] = [];
    for (const name of names) models.push(await this.describe(name));
    return {
      engine: this.engineName,
      version: engineVersion,
      threads: this.threads,
      models,
      maxSequences: this.maxSequences,
      maxBatchTokens: this.maxSequences * this.contextSize,
      memoryBudgetBytes: this.memoryBudgetBytes,
    };
  }

  async doLoadModel(options: LoadModelOptions): Promise<LoadModelResult> {
    return this.locked(() => this.loadModel(options.model, options.signal));
  }

  doGenerate(options: GenerateOptions): AsyncIterable<GenerateEvent> {
    return this.generate(options);
  }

  async *doExportKv(options: ExportKvOptions): AsyncIterable<Uint8Array> {
    const envelope = await this.locked(async () => {
      const entry = this.kv.get(options.key);
      if (!entry) throw new EngineError("not-found", `no KV is cached under key "${options.key}"`);
      const loaded = this.loaded.get(entry.model);
      if (!loaded) throw new EngineError("not-found", `the model of KV key "${options.key}" is not loaded`);
      const state = await readFile(entry.statePath);
      return encodeKvEnvelope(
        { model: entry.model, modelFingerprint: loaded.fingerprint, tokens: entry.tokens.length },
        reframeSequenceState(state, 1),
      );
    });
    for (let offset = 0; offset < envelope.length; offset += exportChunkBytes) {
      options.signal?.throwIfAborted();
      yield envelope.subarray(offset, offset + exportChunkBytes);
    }
  }

  async doImportKv(options: ImportKvOptions): Promise<KvEntryInfo> {
    this.ensureOpen();
    const shape = await this.shapeOf(options.model);
    // A whole context of KV plus the token list and framing; anything larger is not an export of this model.
    const maxBytes = shape.kvBytesPerToken * this.contextSize * 1.25 + this.contextSize * 4 + 1024 * 1024;
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
      let decoded: ReturnType<typeof decodeKvEnvelope>;
      let tokens: Uint32Array;
      try {
        decoded = decodeKvEnvelope(Buffer.concat(parts));
        tokens = parseSequenceState(decoded.payload).tokens;
      } catch (error) {
        if (error instanceof InvalidKvEnvelopeError || error instanceof InvalidSequenceStateError) {
          throw new EngineError("invalid-kv", `KV import for key "${options.key}": ${error.message}`);
        }
        throw error;
      }
      const { header, payload } = decoded;
      if (header.model !== options.model) {
        throw new EngineError(
          "invalid-kv",
          `KV import for key "${options.key}": the bytes hold KV of model "${header.model}", not "${options.model}"`,
        );
      }
      await this.loadModel(options.model, options.signal);
      const loaded = this.loaded.get(options.model)!;
      if (header.modelFingerprint !== loaded.fingerprint) {
        throw new EngineError(
          "invalid-kv",
          `KV import for key "${options.key}": the bytes come from other weights than this engine's "${options.model}"`,
        );
      }
      const vocabularySize = loaded.vocabularySize;
      if (tokens.length !== header.tokens) {
        throw new EngineError(
          "invalid-kv",
          `KV import for key "${options.key}": the state holds ${tokens.length} tokens, its header says ${header.tokens}`,
        );
      }
      if (tokens.length < 1 || tokens.length >= loaded.contextLength) {
        throw new EngineError(
          "invalid-kv",
          `KV import for key "${options.key}": ${tokens.length} tokens do not fit a context of ${loaded.contextLength}`,
        );
      }
      if (tokens.some((token) => token >= vocabularySize)) {
        throw new EngineError(
          "invalid-kv",
          `KV import for key "${options.key}": a token id is out of the vocabulary`,
        );
      }
      const statePath = await this.newStatePath();
      const state = reframeSequenceState(payload, loaded.sequences.length);
      await writeFile(statePath, state);
      // llama.cpp checks the KV layout (layers, types, row sizes) while loading; a
      // sequence that fails to load is left empty.
      const sequence = loaded.sequences[0]!;
      try {
        await sequence.clearHistory();
        await sequence.loadStateFromFile(statePath, { acceptRisk: true });
      } catch (error) {
        await sequence.clearHistory().catch(() => undefined);
        await rm(statePath, { force: true });
        throw new EngineError(
          "invalid-kv",
          `KV import for key "${options.key}": llama.cpp rejected the state (${(error as Error).message})`,
        );
      }
      await this.replaceKvEntry({
        key: options.key,
        model: options.model,
        tokens: Array.from(tokens) as Token[],
        statePath,
        bytes: state.length,
      });
      return this.kvEntryInfo(this.kv.get(options.key)!);
    });
  }

  async doDropKv(options: { readonly key: string }): Promise<{ dropped: boolean; freedBytes: number }> {
    return this.locked(async () => {
      const entry = this.kv.get(options.key);
      if (!entry) return { dropped: false, freedBytes: 0 };
      await this.removeKvEntry(entry);
      return { dropped: true, freedBytes: entry.bytes };
    });
  }

  async doStats(): Promise<EngineStats> {
    const kvEntries = [...this.kv.values()].map((entry) => this.kvEntryInfo(entry));
    return {
      loadedModels: [...this.loaded.keys()],
      kvEntries,
      kvBytes: kvEntries.reduce((total, entry) => total + entry.bytes, 0),
      ...this.counters,
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    const release = await this.lock.acquire();
    try {
      this.closed = true;
      for (const name of [...this.loaded.keys()]) await this.unloadModel(name);
      if (this.kvDirectory) await rm(await this.kvDirectory, { recursive: true, force: true });
      this.kv.clear();
    } finally {
      release();
    }
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

  private shapeOf(name: string): Promise<ModelShape> {
    let shape = this.shapes.get(name);
    if (!shape) {
      const source = resolveModelSource(name, this.options.modelMap, this.contextSize);
      if (!source) {
        return Promise.reject(
          new EngineError(
            "unknown-model",
            `unknown model "${name}": not in the model map, not a stand-in, and no parameter count in its name`,
          ),
        );
      }
      shape = modelShape(source);
      this.shapes.set(name, shape);
      shape.catch(() => this.shapes.delete(name));
    }
    return shape;
  }

  private contextLengthOf(shape: ModelShape): number {
    return Math.min(this.contextSize, shape.trainContextLength);
  }

  private memoryBytesOf(shape: ModelShape): number {
    return shape.weightsBytes + shape.kvBytesPerToken * this.contextLengthOf(shape) * this.maxSequences;
  }

  /**
   * Describes any model this engine can serve (not only those `doInfo` lists): sizes and
   * memory from the model map entry or the stand-in, without loading it.
   */
  async describeModel(name: string): Promise<EngineModelDescriptor> {
    return this.describe(name);
  }

  private async describe(name: string): Promise<EngineModelDescriptor> {
    const shape = await this.shapeOf(name);
    return {
      name,
      parameterCount: shape.parameterCount,
      contextLength: this.contextLengthOf(shape),
      kvBytesPerToken: shape.kvBytesPerToken,
      memoryBytes: this.memoryBytesOf(shape),
      loaded: this.loaded.has(name),
    };
  }

  private async loadModel(name: string, signal?: AbortSignal): Promise<LoadModelResult> {
    const present = this.loaded.get(name);
    if (present) {
      present.lastUsedAt = nowMs();
      return { model: name, loadMs: 0, alreadyLoaded: true, unloaded: [] };
    }
    const shape = await this.shapeOf(name);
    const memoryBytes = this.memoryBytesOf(shape);
    if (memoryBytes > this.memoryBudgetBytes) {
      throw new EngineError(
        "over-limits",
        `model "${name}" needs ${memoryBytes} bytes, more than the memory budget of ${this.memoryBudgetBytes}`,
      );
    }
    const startedAt = nowMs();
    const unloaded: string[] = [];
    const usedBytes = () => [...this.loaded.values()].reduce((total, model) => total + model.memoryBytes, 0);
    while (usedBytes() + memoryBytes > this.memoryBudgetBytes) {
      const leastRecent = [...this.loaded.values()].sort((a, b) => a.lastUsedAt - b.lastUsedAt)[0]!;
      await this.unloadModel(leastRecent.name);
      unloaded.push(leastRecent.name);
    }
    const source = resolveModelSource(name, this.options.modelMap, this.contextSize)!;
    const path =
      source.kind === "gguf" ? source.path : (await ensureSynthesizedModel(source.spec, this.haloHome)).path;
    const llama = await getLlamaRuntime(this.threads, this.gpu);
    const model = await llama.loadModel({
      modelPath: path,
      gpuLayers: this.gpuLayers,
      useMmap: this.useMmap,
      ...(signal ? { loadSignal: signal } : {}),
    });
    try {
      const contextLength = this.contextLengthOf(shape);
      const context = await model.createContext({
        contextSize: contextLength,
        sequences: this.maxSequences,
        threads: this.threads,
        batchSize: this.batchSize,
        failedCreationRemedy: false,
        ...(signal ? { createSignal: signal } : {}),
      });
      const sequences = Array.from({ length: this.maxSequences }, () => context.getSequence());
      this.loaded.set(name, {
        name,
        model,
        context,
        sequences,
        contextLength: Math.min(context.contextSize, contextLength),
        memoryBytes,
        fingerprint: await fingerprintModelFile(path),
        vocabularySize: vocabularySizeOf(model),
        ...(source.kind === "gguf" && source.chatTemplate !== "none" && hasChatTemplate(model)
          ? { chatWrapper: resolveChatWrapper(model) }
          : {}),
        lastUsedAt: nowMs(),
      });
    } catch (error) {
      await model.dispose();
      throw error;
    }
    this.counters.modelLoads += 1;
    return {
      model: name,
      loadMs: Math.max(nowMs() - startedAt, Number.MIN_VALUE),
      alreadyLoaded: false,
      unloaded,
    };
  }

  private async unloadModel(name: string): Promise<void> {
    const loaded = this.loaded.get(name);
    if (!loaded) return;
    this.loaded.delete(name);
    // Cached prefixes live as long as their model (the EngineV1 contract).
    for (const entry of [...this.kv.values()]) if (entry.model === name) await this.removeKvEntry(entry);
    await loaded.context.dispose();
    await loaded.model.dispose();
  }

  private async newStatePath(): Promise<string> {
    this.kvDirectory ??= mkdtemp(join(tmpdir(), "halo-kv-"));
    this.kvFileCounter += 1;
    return join(await this.kvDirectory, `prefix-${this.kvFileCounter}.state`);
  }

  private async replaceKvEntry(entry: KvEntry): Promise<void> {
    const previous = this.kv.get(entry.key);
    if (previous) await this.removeKvEntry(previous);
    this.kv.set(entry.key, entry);
  }

  private async removeKvEntry(entry: KvEntry): Promise<void> {
    if (this.kv.get(entry.key) === entry) this.kv.delete(entry.key);
    await rm(entry.statePath, { force: true });
  }

  private kvEntryInfo(entry: KvEntry): KvEntryInfo {
    return { key: entry.key, model: entry.model, tokens: entry.tokens.length, bytes: entry.bytes };
  }

  /**
   * The tokens of a prompt. Raw text (stand-ins): BOS and the text, special-token markers in it
   * as plain text. A model with a chat template: the neutral prompt text (`### System …`, see
   * @halo/executor's chat-prompt) parsed into messages (any other text is one user message),
   * rendered with the template up to the assistant's turn; message text stays plain text.
   */
  private promptTokens(loaded: LoadedModel, text: string): Token[] {
    const { model, chatWrapper } = loaded;
    if (chatWrapper) {
      const messages = parseChatPrompt(text) ?? [{ role: "user" as const, content: text }];
      const chatHistory: ChatHistoryItem[] = messages.map((message) =>
        message.role === "system"
          ? { type: "system", text: message.content }
          : message.role === "assistant"
            ? { type: "model", response: [message.content] }
            : { type: "user", text: message.content },
      );
      chatHistory.push({ type: "model", response: [] });
      const { contextText } = chatWrapper.generateContextState({ chatHistory });
      return contextText.tokenize(model.tokenizer);
    }
    const bos = model.tokens.bos;
    const tokens = model.tokenize(text);
    return model.tokens.shouldPrependBosToken && bos !== null ? [bos, ...tokens] : tokens;
  }

  /** Prefix tokens that stay the same whatever text follows the prefix (see `prefixBoundaryProbes`). */
  private stablePrefixTokens(loaded: LoadedModel, text: string): Token[] {
    if (loaded.chatWrapper) {
      // The template wraps the whole turn: what stays the same is what every continuation of
      // the prefix (rendered up to the assistant's turn) begins with.
      const variants = prefixBoundaryProbes.map((probe) =>
        this.promptTokens(loaded, `${text}${probe}${ASSISTANT_TURN}`),
      );
      const stable = Math.min(...variants.map((variant) => commonPrefixLength(variants[0]!, variant)));
      return variants[0]!.slice(0, stable);
    }
    const tokens = this.promptTokens(loaded, text);
    let stable = tokens.length;
    for (const probe of prefixBoundaryProbes) {
      stable = Math.min(stable, commonPrefixLength(tokens, this.promptTokens(loaded, text + probe)));
    }
    return tokens.slice(0, stable);
  }

  private grammarFor(schemaText: string): Promise<LlamaGrammar> {
    let grammar = this.grammars.get(schemaText);
    if (!grammar) {
      const schema = parseJsonSchemaText(schemaText);
      grammar = getLlamaRuntime(this.threads, this.gpu).then((llama) =>
        llama.createGrammarForJsonSchema(schema as Parameters<typeof llama.createGrammarForJsonSchema>[0]),
      );
      if (this.grammars.size >= 64) this.grammars.delete(this.grammars.keys().next().value!);
      this.grammars.set(schemaText, grammar);
      grammar.catch(() => this.grammars.delete(schemaText));
    }
    return grammar;
  }

  private async *generate(options: GenerateOptions): AsyncGenerator<GenerateEvent> {
    this.ensureOpen();
    const release = await this.lock.acquire();
    const startedAt = nowMs();
    try {
      this.ensureOpen();
      options.signal?.throwIfAborted();
      yield* this.generateLocked(options, startedAt);
    } finally {
      this.counters.busyMs += nowMs() - startedAt;
      release();
    }
  }

  private async *generateLocked(options: GenerateOptions, startedAt: number): AsyncGenerator<GenerateEvent> {
    if (options.items.length > this.maxSequences) {
      throw new EngineError(
        "over-limits",
        `a batch of ${options.items.length} items exceeds the engine's ${this.maxSequences} sequences`,
      );
    }
    await this.loadModel(options.model, options.signal);
    const loaded = this.loaded.get(options.model)!;
    loaded.lastUsedAt = nowMs();
    const prefixText = options.sharedPrefix?.text ?? "";

    const failures: GenerateEvent[] = [];
    const prepared: PreparedItem[] = [];
    for (const item of options.items) {
      const failure = (code: "prompt-too-long" | "invalid-json-schema" | "over-limits", message: string) =>
        failures.push({
          type: "item-failed",
          itemId: item.id,
          code,
          message: `item "${item.id}": ${message}`,
        });
      if (!Number.isInteger(item.maxTokens) || item.maxTokens < 1) {
        failure("over-limits", `maxTokens must be a positive integer (got ${item.maxTokens})`);
        continue;
      }
      const tokens = this.promptTokens(loaded, prefixText + item.prompt);
      if (tokens.length + item.maxTokens > loaded.contextLength) {
        failure(
          "prompt-too-long",
          `a prompt of ${tokens.length} tokens plus ${item.maxTokens} to generate exceeds the context of ${loaded.contextLength} tokens`,
        );
        continue;
      }
      let grammar: LlamaGrammar | undefined;
      if (item.jsonSchema !== undefined) {
        try {
          grammar = await this.grammarFor(item.jsonSchema);
        } catch (error) {
          const reason = error instanceof InvalidJsonSchemaError ? error.message : (error as Error).message;
          failure("invalid-json-schema", `invalid JSON schema: ${reason}`);
          continue;
        }
      }
      prepared.push(grammar ? { item, tokens, grammar } : { item, tokens });
    }
    const batchTokens = prepared.reduce(
      (total, entry) => total + entry.tokens.length + entry.item.maxTokens,
      0,
    );
    if (batchTokens > this.maxSequences * loaded.contextLength) {
      throw new EngineError(
        "over-limits",
        `a batch of ${batchTokens} prompt and generated tokens exceeds ${this.maxSequences * loaded.contextLength}`,
      );
    }
    yield* failures;

    const prefixEntry = options.sharedPrefix
      ? await this.ensurePrefix(loaded, options.sharedPrefix.key, this.stablePrefixTokens(loaded, prefixText))
      : undefined;
    const prefixPrefilledTokens = prefixEntry?.prefilledTokens ?? 0;

    // Each item gets the free sequence already holding most of its prompt.
    const free = new Set(loaded.sequences);
    const assignments = prepared.map((entry) => {
      let best: LlamaContextSequence | undefined;
      let bestHeld = -1;
      for (const sequence of free) {
        const held = this.automaticPrefixReuse
          ? sequence.compareContextTokens(entry.tokens as Token[]).firstDifferentIndex
          : 0;
        if (held > bestHeld) {
          best = sequence;
          bestHeld = held;
        }
      }
      free.delete(best!);
      return { ...entry, sequence: best! };
    });

    // Put every sequence in place (cached KV in, stale tail out) before decoding starts together.
    const starts: number[] = [];
    for (const assignment of assignments) {
      starts.push(await this.prepareSequence(assignment.sequence, assignment.tokens, prefixEntry?.entry));
    }
    // Prefill each prompt alone, in one pass from where its cached KV ends up to its last token
    // (evaluated by the first decode step, together with the other sequences). llama.cpp's
    // results for a token depend on how its prompt was split into decode calls, and packing
    // several prompts into shared decode calls splits them wherever the batch fills up: with
    // one split per prompt, an item's output no longer depends on the rest of its batch.
    const prefillMs: number[] = [];
    for (const [index, assignment] of assignments.entries()) {
      options.signal?.throwIfAborted();
      const prefillStartedAt = nowMs();
      const last = assignment.tokens.length - 1;
      if (last > starts[index]!) {
        await assignment.sequence.evaluateWithoutGeneratingNewTokens(
          assignment.tokens.slice(starts[index]!, last) as Token[],
        );
      }
      prefillMs.push(nowMs() - prefillStartedAt);
    }

    const queue = new AsyncEventQueue<GenerateEvent>();
    const results: (ItemFigures | undefined)[] = new Array(assignments.length);
    const firstTokenAt: number[] = [];
    const decodeStartedAt = nowMs();
    const barrier = new StepBarrier(assignments.length);
    const tasks = assignments.map(async (assignment, index) => {
      try {
        results[index] = await this.decodeItem(
          loaded,
          assignment,
          { cachedTokens: starts[index]!, prefillMs: prefillMs[index]! },
          queue,
          options.signal,
          barrier,
          (at) => firstTokenAt.push(at),
        );
      } catch (error) {
        if (options.signal?.aborted) throw error;
        // llama.cpp failing one sequence must not take the others down with it.
        queue.push({
          type: "item-failed",
          itemId: assignment.item.id,
          code: "internal",
          message: `item "${assignment.item.id}": ${(error as Error).message}`,
        });
        await assignment.sequence.clearHistory().catch(() => undefined);
      }
    });
    const all = Promise.allSettled(tasks).then((settled) => {
      queue.end();
      return settled;
    });
    yield* queue.drain();
    const settled = await all;
    const failed = settled.find((outcome) => outcome.status === "rejected");
    if (failed) throw (failed as PromiseRejectedResult).reason;

    const finished = results.filter((figures): figures is ItemFigures => figures !== undefined);
    const sum = (pick: (figures: ItemFigures) => number) =>
      finished.reduce((total, figures) => total + pick(figures), 0);
    const allStartedAt = firstTokenAt.length > 0 ? Math.max(...firstTokenAt) : decodeStartedAt;
    const figures: BatchFigures = {
      batchSize: options.items.length,
      prefixPrefilledTokens,
      promptTokens: sum((item) => item.promptTokens),
      cachedTokens: sum((item) => item.cachedTokens),
      generatedTokens: sum((item) => item.generatedTokens),
      prefillMs: allStartedAt - startedAt,
      decodeMs: nowMs() - allStartedAt,
    };
    this.counters.promptTokens += figures.promptTokens;
    this.counters.cachedTokens += figures.cachedTokens;
    this.counters.generatedTokens += figures.generatedTokens;
    yield { type: "batch-finished", figures };
  }

  /**
   * The KV entry of a shared prefix: reused when cached for these tokens, else the
   * prefix is evaluated once (in the sequence holding most of it) and saved.
   */
  private async ensurePrefix(
    loaded: LoadedModel,
    key: string,
    tokens: readonly Token[],
  ): Promise<{ entry: KvEntry; prefilledTokens: number }> {
    const cached = this.kv.get(key);
    if (
      cached &&
      cached.model === loaded.name &&
      cached.tokens.length === tokens.length &&
      commonPrefixLength(cached.tokens, tokens) === tokens.length
    ) {
      return { entry: cached, prefilledTokens: 0 };
    }
    let sequence = loaded.sequences[0]!;
    let held = 0;
    if (this.automaticPrefixReuse) {
      for (const candidate of loaded.sequences) {
        const candidateHeld = candidate.compareContextTokens(tokens as Token[]).firstDifferentIndex;
        if (candidateHeld > held) {
          sequence = candidate;
          held = candidateHeld;
        }
      }
    }
    // The last token is evaluated again when the whole prefix is held, so the state is saved after a real evaluation.
    held = Math.min(held, tokens.length - 1);
    await sequence.eraseContextTokenRanges([{ start: held, end: sequence.nextTokenIndex }]);
    await sequence.evaluateWithoutGeneratingNewTokens(tokens.slice(held) as Token[]);
    const statePath = await this.newStatePath();
    const { fileSize } = await sequence.saveStateToFile(statePath);
    const entry: KvEntry = { key, model: loaded.name, tokens: [...tokens], statePath, bytes: fileSize };
    await this.replaceKvEntry(entry);
    return { entry, prefilledTokens: tokens.length - held };
  }

  /** Leaves `sequence` holding the longest cached start of `tokens`; returns how many tokens that is. */
  private async prepareSequence(
    sequence: LlamaContextSequence,
    tokens: readonly Token[],
    prefix: KvEntry | undefined,
  ): Promise<number> {
    const held = sequence.compareContextTokens(tokens as Token[]).firstDifferentIndex;
    const fromPrefix = prefix ? commonPrefixLength(prefix.tokens, tokens) : 0;
    const heldUsable = this.automaticPrefixReuse ? held : Math.min(held, fromPrefix);
    // At least the last prompt token is evaluated: its logits choose the first generated token.
    const reuse = Math.min(Math.max(heldUsable, fromPrefix), tokens.length - 1);
    if (reuse > heldUsable) {
      await sequence.clearHistory();
      await sequence.loadStateFromFile(prefix!.statePath, { acceptRisk: true });
    }
    if (sequence.nextTokenIndex > reuse) {
      await sequence.eraseContextTokenRanges([{ start: reuse, end: sequence.nextTokenIndex }]);
    }
    return reuse;
  }

  private async decodeItem(
    loaded: LoadedModel,
    assignment: PreparedItem & { readonly sequence: LlamaContextSequence },
    prepared: { readonly cachedTokens: number; readonly prefillMs: number },
    queue: AsyncEventQueue<GenerateEvent>,
    signal: AbortSignal | undefined,
    barrier: StepBarrier,
    onFirstToken: (at: number) => void,
  ): Promise<ItemFigures> {
    const { item, tokens, sequence, grammar } = assignment;
    const { model } = loaded;
    const meterBefore = sequence.tokenMeter.getState();
    const startedAt = nowMs();
    let firstTokenAt: number | undefined;
    const generated: Token[] = [];
    const promptTail = tokens.slice(-4) as Token[];
    let emitted = "";
    let finishReason: "stop" | "length" = "stop";
    // Everything but the last prompt token is in the KV already (cached or prefilled alone).
    const iterator = sequence.evaluate(tokens.slice(tokens.length - 1) as Token[], {
      temperature: item.temperature,
      topP: item.topP,
      seed: item.seed,
      ...(grammar ? { grammarEvaluationState: new LlamaGrammarEvaluationState({ model, grammar }) } : {}),
    });
    try {
      for await (const token of iterator) {
        if (firstTokenAt === undefined) {
          firstTokenAt = nowMs();
          onFirstToken(firstTokenAt);
        }
        generated.push(token);
        const text = model.detokenize(generated, false, promptTail);
        // Hold back text that ends inside a multi-byte character.
        if (text.startsWith(emitted) && !text.endsWith("\uFFFD") && text.length > emitted.length) {
          queue.push({ type: "token", itemId: item.id, text: text.slice(emitted.length) });
          emitted = text;
        }
        if (generated.length >= item.maxTokens) {
          finishReason = "length";
          break;
        }
        if (grammar && isCompleteJson(text)) break;
        if (signal?.aborted) break;
        await barrier.arrive();
      }
    } finally {
      barrier.leave();
    }
    signal?.throwIfAborted();
    const finalText = model.detokenize(generated, false, promptTail);
    if (finalText.startsWith(emitted) && finalText.length > emitted.length) {
      queue.push({ type: "token", itemId: item.id, text: finalText.slice(emitted.length) });
      emitted = finalText;
    }
    // The meter counts every generated token fed back, and an end-of-generation token.
    const meter = sequence.tokenMeter.diff(meterBefore);
    const endedAt = nowMs();
    const figures: ItemFigures = {
      promptTokens: tokens.length,
      cachedTokens: prepared.cachedTokens,
      generatedTokens: meter.usedOutputTokens,
      prefillMs: prepared.prefillMs + (firstTokenAt ?? endedAt) - startedAt,
      decodeMs: endedAt - (firstTokenAt ?? endedAt),
    };
    queue.push({ type: "item-finished", itemId: item.id, text: emitted, finishReason, figures });
    return figures;
  }
}

/** Whether a grammar-constrained output is a whole JSON object or array (only whitespace could follow). */
function isCompleteJson(text: string): boolean {
  const trimmed = text.trim();
  if (!trimmed.endsWith("}") && !trimmed.endsWith("]")) return false;
  try {
    JSON.parse(trimmed);
    return true;
  } catch {
    return false;
  }
}

/** Tokens in the model's vocabulary (from its GGUF metadata); unbounded when the file does not say. */
function vocabularySizeOf(model: LlamaModel): number {
  const tokenizer = (model.fileInfo.metadata as unknown as { tokenizer?: { ggml?: { tokens?: unknown[] } } })
    .tokenizer;
  return tokenizer?.ggml?.tokens?.length ?? Number.POSITIVE_INFINITY;
}

/** Whether a GGUF carries a chat template (`tokenizer.chat_template`): real chat models do, stand-ins do not. */
function hasChatTemplate(model: LlamaModel): boolean {
  const tokenizer = (model.fileInfo.metadata as unknown as { tokenizer?: { chat_template?: unknown } })
    .tokenizer;
  return typeof tokenizer?.chat_template === "string" && tokenizer.chat_template !== "";
}
