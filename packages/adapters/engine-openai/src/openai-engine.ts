import { createHash } from "node:crypto";
import {
  type BatchFigures,
  type EngineCapabilities,
  EngineError,
  type EngineInfo,
  type EngineModelDescriptor,
  type EngineStats,
  type EngineV1,
  type GenerateEvent,
  type GenerateItem,
  type GenerateOptions,
  type ItemFigures,
  type KvEntryInfo,
  type LoadModelOptions,
  type LoadModelResult,
  parseChatPrompt,
} from "@halo/executor";
import {
  type CompletionResult,
  OpenAiHttpError,
  OpenAiServerClient,
  type OpenAiServerConfig,
  type RetryOptions,
} from "./openai-server-client.js";

/** Which server(s) serve a model name, and what the planner should know of it. */
export interface OpenAiModelConfig {
  /** Names of `servers` entries; several: each request goes to the least busy one (prefix affinity first). */
  readonly servers: readonly string[];
  /** The model id on the server (default: the name itself). */
  readonly remoteName?: string;
  /** Tokens of context (default: what the server's `/v1/models` says, else 4096). */
  readonly contextLength?: number;
  /** Parameters (default: the count in the name, like `-14B`, else 1e9). Planning only. */
  readonly parameterCount?: number;
  /** KV bytes per token (default: an estimate from the parameter count). Planning only. */
  readonly kvBytesPerToken?: number;
}

/** Options of an OpenAiEngine. */
export interface OpenAiEngineOptions {
  readonly servers: Readonly<Record<string, OpenAiServerConfig>>;
  readonly models: Readonly<Record<string, OpenAiModelConfig>>;
  /** Most items one doGenerate call carries (default 256): the sidecar merges calls up to it. */
  readonly maxSequences?: number;
  /** Most prompt + generated tokens one call carries (default 1,048,576). */
  readonly maxBatchTokens?: number;
  readonly retry?: RetryOptions;
  /**
   * Send one item of a shared prefix first and the others once its first token arrived, so
   * the server has the prefix in its cache when they come (default true).
   */
  readonly warmPrefix?: boolean;
}

/** Parameters a name like `Qwen/Qwen3-14B` or `mixtral-8x7b` carries (billions). */
function parameterCountFromName(name: string): number | undefined {
  const match = /(?:^|[-_/])(?:(\d+)x)?(\d+(?:\.\d+)?)[bB](?:$|[-_.])/.exec(name);
  if (!match) return undefined;
  return Number(match[2]) * Number(match[1] ?? 1) * 1e9;
}

/** A request queue that one consumer drains with `for await`; a failure ends it with an error. */
class EventQueue<T> {
  private readonly items: T[] = [];
  private waiting: (() => void) | undefined;
  private ended = false;
  private failure: { error: unknown } | undefined;

  push(item: T): void {
    this.items.push(item);
    this.wake();
  }

  end(failure?: unknown): void {
    this.ended = true;
    if (failure !== undefined) this.failure = { error: failure };
    this.wake();
  }

  async *drain(): AsyncGenerator<T> {
    while (true) {
      const item = this.items.shift();
      if (item !== undefined) {
        yield item;
        continue;
      }
      if (this.failure) throw this.failure.error;
      if (this.ended) return;
      await new Promise<void>((resolve) => {
        this.waiting = resolve;
      });
    }
  }

  private wake(): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.();
  }
}

/** The server reports the prompt did not fit the model's context. */
function isContextLengthError(error: OpenAiHttpError): boolean {
  return (
    error.code === "context_length_exceeded" ||
    (error.status === 400 && /context (length|size|window)|maximum context|too long/i.test(error.message))
  );
}

/**
 * An EngineV1 over OpenAI-compatible HTTP servers (vLLM, SGLang, llama-server, Ollama, a
 * gateway). Each item is one request; the items of a batch go out concurrently, within each
 * server's concurrency limit. The server owns the model, its batching and its prefix cache:
 * this engine declares no KV transfer, no prefix pinning and no model loading, and sends the
 * items of one shared prefix together (one first, when `warmPrefix`) so the server's cache
 * can serve the rest.
 */
export class OpenAiEngine implements EngineV1 {
  readonly specificationVersion = "v1" as const;
  readonly engineName = "openai";
  private readonly clients = new Map<string, OpenAiServerClient>();
  private readonly discovered = new Map<string, number | undefined>();
  private readonly checked = new Set<string>();
  private readonly maxSequences: number;
  private readonly maxBatchTokens: number;
  private readonly warmPrefix: boolean;
  private readonly counters = {
    promptTokens: 0,
    cachedTokens: 0,
    generatedTokens: 0,
    busyMs: 0,
    modelLoads: 0,
  };
  private inFlight = 0;
  private busySince = 0;
  private closed = false;

  constructor(private readonly options: OpenAiEngineOptions) {
    for (const [name, config] of Object.entries(options.servers)) {
      this.clients.set(name, new OpenAiServerClient(name, config, options.retry));
    }
    for (const [model, config] of Object.entries(options.models)) {
      if (config.servers.length === 0)
        throw new Error(`models["${model}"].servers: name at least one server`);
      for (const server of config.servers) {
        if (!this.clients.has(server)) {
          throw new Error(
            `models["${model}"].servers: no server "${server}" (servers: ${[...this.clients.keys()].join(", ")})`,
          );
        }
      }
    }
    this.maxSequences = options.maxSequences ?? 256;
    this.maxBatchTokens = options.maxBatchTokens ?? 1 << 20;
    this.warmPrefix = options.warmPrefix ?? true;
  }

  /** Structured output by the server where every server of every model supports it, else by the prompt. */
  get capabilities(): EngineCapabilities {
    const serverSide = [...this.clients.values()].every((client) => client.config.jsonSchema !== false);
    return {
      kvTransfer: false,
      prefixPinning: false,
      modelLoading: false,
      structuredOutput: serverSide ? "server" : "prompt",
    };
  }

  async doInfo(): Promise<EngineInfo> {
    await this.discoverContextLengths();
    return {
      engine: "openai",
      version: "1",
      threads: 1,
      models: Object.keys(this.options.models).map((name) => this.describe(name)),
      maxSequences: this.maxSequences,
      maxBatchTokens: this.maxBatchTokens,
      // The servers' memory is not ours to budget; only a large figure keeps planners from limiting by it.
      memoryBudgetBytes: 2 ** 40,
      // Items are independent requests: calls with different prefixes share a batch.
      mixedPrefixes: true,
      capabilities: this.capabilities,
    };
  }

  /**
   * Learns context lengths the model map leaves out from the servers' `/v1/models` (vLLM's
   * `max_model_len`), once; an unreachable server leaves the default until a later call.
   */
  private async discoverContextLengths(): Promise<void> {
    const wanted = Object.entries(this.options.models).filter(
      ([name, config]) => config.contextLength === undefined && !this.discovered.has(name),
    );
    const servers = new Set(wanted.map(([, config]) => config.servers[0]!));
    for (const server of servers) {
      const client = this.clients.get(server)!;
      const listed = await client.listModels().catch(() => undefined);
      if (!listed) continue;
      for (const [name, config] of wanted) {
        if (config.servers[0] !== server) continue;
        const entry = listed.find((model) => model.id === (config.remoteName ?? name));
        this.discovered.set(name, entry?.contextLength);
      }
    }
  }

  private describe(name: string): EngineModelDescriptor {
    const config = this.options.models[name]!;
    const parameterCount = config.parameterCount ?? parameterCountFromName(name) ?? 1e9;
    return {
      name,
      parameterCount,
      contextLength: config.contextLength ?? this.discovered.get(name) ?? 4096,
      // About 12 KiB per billion parameters (a GQA model in fp16); planning only, never measured here.
      kvBytesPerToken: config.kvBytesPerToken ?? Math.max(1, Math.round((parameterCount / 1e9) * 12 * 1024)),
      memoryBytes: Math.round(parameterCount * 2),
      loaded: true,
    };
  }

  private config(model: string): OpenAiModelConfig {
    const config = this.options.models[model];
    if (!config) {
      throw new EngineError(
        "unknown-model",
        `unknown model "${model}"; this engine serves ${Object.keys(this.options.models)
          .map((name) => `"${name}"`)
          .join(", ")}`,
      );
    }
    return config;
  }

  /**
   * Checks once that every server of the model answers `/v1/models` and lists it (servers
   * that list nothing, like some gateways, are taken at their word); learns its context length.
   */
  async doLoadModel(options: LoadModelOptions): Promise<LoadModelResult> {
    const config = this.config(options.model);
    if (this.checked.has(options.model)) {
      return { model: options.model, loadMs: 0, alreadyLoaded: true, unloaded: [] };
    }
    const startedAt = performance.now();
    const remoteName = config.remoteName ?? options.model;
    for (const server of config.servers) {
      const client = this.clients.get(server)!;
      let listed: Awaited<ReturnType<OpenAiServerClient["listModels"]>>;
      try {
        listed = await client.listModels(options.signal);
      } catch (error) {
        throw new EngineError(
          "internal",
          `model "${options.model}": server "${server}" (${client.config.baseURL}) is not reachable: ${(error as Error).message}`,
        );
      }
      const entry = listed.find((model) => model.id === remoteName);
      if (listed.length > 0 && !entry) {
        throw new EngineError(
          "unknown-model",
          `model "${options.model}": server "${server}" does not serve "${remoteName}" (it lists ${listed
            .slice(0, 10)
            .map((model) => `"${model.id}"`)
            .join(", ")})`,
        );
      }
      if (entry?.contextLength !== undefined && !this.discovered.has(options.model)) {
        this.discovered.set(options.model, entry.contextLength);
      }
    }
    this.checked.add(options.model);
    this.counters.modelLoads++;
    return {
      model: options.model,
      loadMs: performance.now() - startedAt,
      alreadyLoaded: false,
      unloaded: [],
    };
  }

  async *doGenerate(options: GenerateOptions): AsyncIterable<GenerateEvent> {
    const config = this.config(options.model);
    if (options.items.length > this.maxSequences) {
      throw new EngineError(
        "over-limits",
        `batch of ${options.items.length} items for model "${options.model}" exceeds maxSequences ${this.maxSequences}`,
      );
    }
    if (!this.checked.has(options.model))
      await this.doLoadModel({ model: options.model, signal: options.signal });
    const queue = new EventQueue<GenerateEvent>();
    const batch = { promptTokens: 0, cachedTokens: 0, generatedTokens: 0, prefillMs: 0, decodeMs: 0 };
    this.startBusy();
    const run = async () => {
      // Items of one prefix go out together; one first when warming, the rest after its first token.
      const groups = new Map<string, GenerateItem[]>();
      for (const item of options.items) {
        const prefix = options.sharedPrefix ?? item.sharedPrefix;
        const key = prefix?.key ?? "";
        groups.set(key, [...(groups.get(key) ?? []), item]);
      }
      await Promise.all(
        [...groups.entries()].map(async ([key, items]) => {
          if (!this.warmPrefix || key === "" || items.length < 2) {
            await Promise.all(items.map((item) => this.runItem(options, config, item, queue, batch)));
            return;
          }
          let release: () => void = () => {};
          const warmed = new Promise<void>((resolve) => {
            release = resolve;
          });
          const first = this.runItem(options, config, items[0]!, queue, batch, release).finally(release);
          await warmed;
          await Promise.all([
            first,
            ...items.slice(1).map((item) => this.runItem(options, config, item, queue, batch)),
          ]);
        }),
      );
    };
    run().then(
      () => {
        const figures: BatchFigures = { batchSize: options.items.length, ...batch, prefixPrefilledTokens: 0 };
        queue.push({ type: "batch-finished", figures });
        queue.end();
      },
      (error: unknown) => queue.end(error),
    );
    try {
      yield* queue.drain();
    } finally {
      this.stopBusy();
    }
  }

  /** One item: one request; its events go to the queue, its figures into the batch's. */
  private async runItem(
    options: GenerateOptions,
    config: OpenAiModelConfig,
    item: GenerateItem,
    queue: EventQueue<GenerateEvent>,
    batch: {
      promptTokens: number;
      cachedTokens: number;
      generatedTokens: number;
      prefillMs: number;
      decodeMs: number;
    },
    onFirstText?: () => void,
  ): Promise<void> {
    const prefix = options.sharedPrefix ?? item.sharedPrefix;
    const text = `${prefix?.text ?? ""}${item.prompt}`;
    const client = this.route(config, prefix?.key);
    let schema: Record<string, unknown> | undefined;
    if (item.jsonSchema !== undefined) {
      try {
        const parsed: unknown = JSON.parse(item.jsonSchema);
        if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
          throw new Error("not an object");
        schema = parsed as Record<string, unknown>;
      } catch (error) {
        queue.push({
          type: "item-failed",
          itemId: item.id,
          code: "invalid-json-schema",
          message: `item "${item.id}": the JSON schema is not a JSON object: ${(error as Error).message}`,
        });
        return;
      }
    }
    const body = this.requestBody(client, config.remoteName ?? options.model, text, item, schema);
    let result: CompletionResult;
    try {
      result = await client.complete(
        client.config.api === "completions" ? "/completions" : "/chat/completions",
        body,
        {
          onText: (piece) => {
            onFirstText?.();
            queue.push({ type: "token", itemId: item.id, text: piece });
          },
        },
        options.signal,
      );
    } catch (error) {
      if (options.signal?.aborted) throw error;
      const code =
        error instanceof OpenAiHttpError && isContextLengthError(error)
          ? "prompt-too-long"
          : error instanceof OpenAiHttpError && error.param === "response_format"
            ? "invalid-json-schema"
            : "internal";
      queue.push({
        type: "item-failed",
        itemId: item.id,
        code,
        message: `item "${item.id}" on server "${client.name}": ${(error as Error).message}`,
      });
      return;
    }
    const usage = result.usage;
    // Without usage (some servers do not send it when streaming): one token per streamed piece,
    // about four characters per prompt token.
    const generatedTokens = Math.max(
      1,
      usage?.completion_tokens ?? (result.pieces || Math.ceil(result.text.length / 4)),
    );
    const promptTokens = Math.max(1, usage?.prompt_tokens ?? Math.ceil(text.length / 4));
    const cachedTokens = Math.min(promptTokens, usage?.prompt_tokens_details?.cached_tokens ?? 0);
    const prefillMs = result.firstTextMs ?? 0;
    const figures: ItemFigures = {
      promptTokens,
      cachedTokens,
      generatedTokens,
      prefillMs,
      decodeMs: Math.max(0, result.totalMs - prefillMs),
    };
    batch.promptTokens += promptTokens;
    batch.cachedTokens += cachedTokens;
    batch.generatedTokens += generatedTokens;
    batch.prefillMs = Math.max(batch.prefillMs, figures.prefillMs);
    batch.decodeMs = Math.max(batch.decodeMs, figures.decodeMs);
    this.counters.promptTokens += promptTokens;
    this.counters.cachedTokens += cachedTokens;
    this.counters.generatedTokens += generatedTokens;
    queue.push({
      type: "item-finished",
      itemId: item.id,
      text: result.text,
      finishReason: result.finishReason === "length" ? "length" : "stop",
      figures,
    });
  }

  /** The request body: chat messages from the neutral prompt text, or the raw text for `/completions`. */
  private requestBody(
    client: OpenAiServerClient,
    model: string,
    text: string,
    item: GenerateItem,
    schema: Record<string, unknown> | undefined,
  ): Record<string, unknown> {
    const serverSchema = schema !== undefined && client.config.jsonSchema !== false;
    const instruction =
      schema !== undefined && !serverSchema
        ? `\n\nRespond ONLY with JSON that follows this JSON schema: ${JSON.stringify(schema)}`
        : "";
    const stream = client.config.stream !== false;
    const body: Record<string, unknown> = {
      model,
      max_tokens: item.maxTokens,
      temperature: item.temperature,
      top_p: item.topP,
      seed: item.seed,
      stream,
      ...(stream ? { stream_options: { include_usage: true } } : {}),
      ...(serverSchema
        ? { response_format: { type: "json_schema", json_schema: { name: "output", schema, strict: true } } }
        : {}),
    };
    if (client.config.api === "completions") return { ...body, prompt: `${text}${instruction}` };
    const messages = parseChatPrompt(text) ?? [{ role: "user" as const, content: text }];
    if (instruction !== "") {
      const last = [...messages].reverse().find((message) => message.role === "user");
      if (last) messages[messages.lastIndexOf(last)] = { ...last, content: `${last.content}${instruction}` };
    }
    return { ...body, messages };
  }

  /**
   * The server for a request: with a shared prefix, the one its key hashes to (so a prefix
   * keeps hitting the same server's cache) unless that one is twice as busy as the least
   * busy; without, the least busy.
   */
  private route(config: OpenAiModelConfig, prefixKey: string | undefined): OpenAiServerClient {
    const clients = config.servers.map((name) => this.clients.get(name)!);
    const least = clients.reduce((best, client) => (client.load < best.load ? client : best));
    if (prefixKey === undefined || clients.length === 1) return least;
    const hash = createHash("sha256").update(prefixKey).digest().readUInt32BE(0);
    const preferred = clients[hash % clients.length]!;
    return preferred.load <= 2 * least.load + 1 ? preferred : least;
  }

  doExportKv(options: { readonly key: string }): AsyncIterable<Uint8Array> {
    const error = new EngineError(
      "unsupported",
      `engine-openai cannot export KV "${options.key}": an OpenAI-compatible server gives no access to its KV cache (capabilities.kvTransfer is false)`,
    );
    // Fails when iterated, as a streamed export fails.
    return { [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(error) }) };
  }

  async doImportKv(options: { readonly key: string }): Promise<KvEntryInfo> {
    throw new EngineError(
      "unsupported",
      `engine-openai cannot import KV "${options.key}": an OpenAI-compatible server gives no access to its KV cache (capabilities.kvTransfer is false)`,
    );
  }

  /** Nothing is pinned: prefix reuse is the server's own cache. */
  async doDropKv(): Promise<{ readonly dropped: boolean; readonly freedBytes: number }> {
    return { dropped: false, freedBytes: 0 };
  }

  async doStats(): Promise<EngineStats> {
    const busyMs = this.counters.busyMs + (this.inFlight > 0 ? performance.now() - this.busySince : 0);
    return {
      loadedModels: Object.keys(this.options.models),
      kvEntries: [],
      kvBytes: 0,
      modelLoads: this.counters.modelLoads,
      promptTokens: this.counters.promptTokens,
      cachedTokens: this.counters.cachedTokens,
      generatedTokens: this.counters.generatedTokens,
      busyMs,
    };
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private startBusy(): void {
    if (this.closed) throw new EngineError("internal", "engine-openai is closed");
    if (this.inFlight++ === 0) this.busySince = performance.now();
  }

  private stopBusy(): void {
    if (--this.inFlight === 0) this.counters.busyMs += performance.now() - this.busySince;
  }
}
