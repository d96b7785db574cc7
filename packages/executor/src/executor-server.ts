import { createHash } from "node:crypto";
import type { ServerReadableStream, ServerWritableStream, StatusObject, sendUnaryData } from "@grpc/grpc-js";
import {
  createHealthService,
  type ExecutorServer,
  ExecutorService,
  exposedBindProblem,
  type GenerateRequest,
  GrpcStatus,
  type ImportKvRequest,
  type ImportKvResponse,
  type InfoResponse,
  type KvChunk,
  type KvEntry,
  type ServerSecurity,
  type SidecarStats,
  type StatsResponse,
  startGrpcServer,
  type GenerateEvent as WireGenerateEvent,
} from "@halo/protocol";
import { eventToWire } from "@halo/protocol/internal";
import { type BatchingOptions, BatchScheduler } from "./batch-scheduler.js";
import { invalidArgument, statusForError } from "./engine-error-status.js";
import { EngineLock } from "./engine-lock.js";
import {
  type EngineCapabilities,
  EngineError,
  type EngineInfo,
  type EngineV1,
  engineCapabilities,
  type KvEntryInfo,
} from "./engine-v1.js";
import { validateGenerateRequest } from "./generate-request-validation.js";
import { KvStore } from "./kv-store.js";
import {
  type OpenAiEndpointHandle,
  type OpenAiEndpointOptions,
  startOpenAiEndpoint,
} from "./openai-endpoint.js";

/** The gRPC service name reported by health checks. */
export const EXECUTOR_SERVICE_NAME = "halo.executor.v1.Executor";

export interface ExecutorServerOptions {
  /** The engine to serve; the server owns it from now on and closes it on close. */
  readonly engine: EngineV1;
  /** Interface to bind (default loopback). */
  readonly host?: string;
  /** Port (default 0: a free one). */
  readonly port?: number;
  readonly batching?: BatchingOptions;
  /**
   * Bytes of cached shared-prefix KV to keep; least recently used prefixes
   * are dropped above it. Default: the engine's memory budget minus its
   * largest model.
   */
  readonly kvBudgetBytes?: number;
  /** TLS key pair and/or bearer token clients must present (default neither: fine on loopback). */
  readonly security?: ServerSecurity;
  /**
   * Bind a non-loopback `host` without TLS or without a token. Off by default:
   * such a bind is refused, because whoever reaches the port could use the engine.
   */
  readonly insecure?: boolean;
  /** Also serve the OpenAI HTTP API (`/v1/chat/completions`, `/v1/models`) over the same scheduler. */
  readonly openai?: OpenAiEndpointOptions;
}

/** A bind that would expose an executor beyond this machine without TLS and a token. */
export class ExposedBindError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ExposedBindError";
  }
}

/** A running executor sidecar. */
export interface ExecutorServerHandle {
  /** `host:port` for clients. */
  readonly address: string;
  readonly host: string;
  readonly port: number;
  /** The OpenAI endpoint, when `openai` was given: `url` + `/v1` is the OpenAI `baseURL`. */
  readonly openai?: Pick<OpenAiEndpointHandle, "url" | "host" | "port">;
  /** Counters of the sidecar (queue, batches, evictions). */
  stats(): SidecarStats;
  /**
   * Drains: reports NOT_SERVING, refuses new calls, lets running and queued
   * work finish (at most `graceMs`, default 30 s, then cancels it), closes
   * the engine.
   */
  close(graceMs?: number): Promise<void>;
}

/**
 * Starts an executor sidecar serving `engine` over gRPC (plus grpc.health.v1).
 * It serves only the models the engine lists at start (its configured models):
 * LoadModel, ImportKv and Generate of any other name fail with NOT_FOUND, so a
 * client cannot make the engine fetch or synthesize a model nobody configured.
 * A non-loopback host needs `security` with TLS and a token, or `insecure`.
 */
export async function createExecutorServer(options: ExecutorServerOptions): Promise<ExecutorServerHandle> {
  const host = options.host ?? "127.0.0.1";
  const exposed = options.insecure
    ? undefined
    : exposedBindProblem(host, {
        tls: options.security?.tls !== undefined,
        token: options.security?.token !== undefined,
      });
  if (exposed) throw new ExposedBindError(exposed);
  const engine = options.engine;
  const startedAt = performance.now();
  const info = await engine.doInfo();
  const servedModels = new Set(info.models.map((model) => model.name));
  /** Refuses (NOT_FOUND, unknown-model) a model the engine was not configured to serve. */
  const checkServed = (method: string, model: string) => {
    if (servedModels.has(model)) return;
    throw new EngineError(
      "unknown-model",
      `${method}: model "${model}" is not configured on this executor (it serves ${[...servedModels].map((name) => `"${name}"`).join(", ")}); ` +
        `its operator can allow it with \`halo executor serve --allow-models ${model}\` or an entry in --models`,
    );
  };
  const largestModelBytes = Math.max(0, ...info.models.map((model) => model.memoryBytes));
  const kvStore = new KvStore(
    options.kvBudgetBytes ?? Math.max(0, info.memoryBudgetBytes - largestModelBytes),
  );
  const lock = new EngineLock();
  const limits = {
    maxSequences: Math.min(options.batching?.maxSequences ?? info.maxSequences, info.maxSequences),
    maxBatchTokens: Math.min(options.batching?.maxBatchTokens ?? info.maxBatchTokens, info.maxBatchTokens),
  };

  /** Adopts the engine's KV entries (call under the lock). */
  const refreshKv = async () => kvStore.sync((await engine.doStats()).kvEntries);
  /** Drops least recently used prefixes above the budget (call under the lock). */
  const enforceKvBudget = async (): Promise<string[]> => {
    const evicted: string[] = [];
    for (const key of kvStore.victims(scheduler.queuedPrefixKeys())) {
      await engine.doDropKv({ key });
      kvStore.remove(key, true);
      evicted.push(key);
    }
    return evicted;
  };
  const scheduler: BatchScheduler = new BatchScheduler(
    engine,
    lock,
    limits,
    { mixedPrefixes: info.mixedPrefixes ?? false, ...options.batching },
    async (key) => {
      await refreshKv();
      kvStore.touch(key);
      await enforceKvBudget();
    },
  );
  const health = createHealthService({ "": "serving", [EXECUTOR_SERVICE_NAME]: "serving" });
  let closing = false;

  const sidecarStats = (): SidecarStats => ({
    ...scheduler.stats,
    kvEvictions: kvStore.evictions,
    kvBudgetBytes: Math.round(kvStore.budgetBytes),
    uptimeMs: performance.now() - startedAt,
  });

  const implementation: ExecutorServer = {
    info(_call, callback) {
      respond(callback, async () => infoResponse(await engine.doInfo(), limits, kvStore.budgetBytes));
    },

    loadModel(call, callback) {
      respond(callback, async () => {
        if (call.request.model === "") throw statusError(invalidArgument("LoadModel: model is required"));
        checkServed("LoadModel", call.request.model);
        const result = await lock.run(async () => {
          const loaded = await engine.doLoadModel({ model: call.request.model });
          if (loaded.unloaded.length > 0) await refreshKv();
          return loaded;
        });
        return { ...result, unloaded: [...result.unloaded] };
      });
    },

    generate(call: ServerWritableStream<GenerateRequest, WireGenerateEvent>) {
      if (closing) {
        call.emit("error", { code: GrpcStatus.UNAVAILABLE, details: "the executor is shutting down" });
        return;
      }
      const request = validateGenerateRequest(call.request, info.models);
      if ("kind" in request) {
        call.emit(
          "error",
          request.kind === "unknown-model"
            ? statusForError(new EngineError("unknown-model", request.message))
            : invalidArgument(request.message),
        );
        return;
      }
      const prefix = request.sharedPrefix;
      if (prefix && !kvStore.claimText(prefix.key, digest(prefix.text))) {
        call.emit(
          "error",
          invalidArgument(
            `Generate: shared prefix key "${prefix.key}" already names another text; keys must identify their text`,
          ),
        );
        return;
      }
      const cancel = scheduler.submit(request, {
        event(event) {
          call.write(eventToWire(event));
          if (event.type === "batch-finished") call.end();
        },
        fail(error) {
          call.emit("error", statusForError(error));
        },
      });
      call.on("cancelled", cancel);
    },

    exportKv(call: ServerWritableStream<{ key: string }, KvChunk>) {
      const key = call.request.key;
      if (key === "") {
        call.emit("error", invalidArgument("ExportKv: key is required"));
        return;
      }
      // Read the bytes under the lock, send them after: a slow client never holds the engine.
      lock
        .run(async () => {
          const chunks: Uint8Array[] = [];
          for await (const chunk of engine.doExportKv({ key })) chunks.push(chunk);
          kvStore.touch(key);
          return chunks;
        })
        .then(
          (chunks) => {
            for (const chunk of chunks)
              call.write({ data: Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength) });
            call.end();
          },
          (error: unknown) => call.emit("error", statusForError(error)),
        );
    },

    importKv(
      call: ServerReadableStream<ImportKvRequest, ImportKvResponse>,
      callback: sendUnaryData<ImportKvResponse>,
    ) {
      respond(callback, async () => {
        let header: { key: string; model: string } | undefined;
        const chunks: Buffer[] = [];
        for await (const message of call as AsyncIterable<ImportKvRequest>) {
          if (message.part?.$case === "header" && header === undefined && chunks.length === 0) {
            header = message.part.header;
            // Refuse before reading the bytes of a model nobody configured.
            if (header.model !== "") checkServed("ImportKv", header.model);
          } else if (message.part?.$case === "chunk" && header !== undefined) chunks.push(message.part.chunk);
          else
            throw statusError(
              invalidArgument("ImportKv: the first message must be the header, every later one a chunk"),
            );
        }
        if (!header || header.key === "" || header.model === "") {
          throw statusError(invalidArgument("ImportKv: a header with key and model is required"));
        }
        const { key, model } = header;
        return lock.run(async () => {
          const entry = await engine.doImportKv({ key, model, chunks: iterate(chunks) });
          // The imported bytes now define the key, whatever text it named before.
          kvStore.remove(key);
          await refreshKv();
          kvStore.touch(key);
          const evicted = await enforceKvBudget();
          return { entry: kvEntry(entry), evicted };
        });
      });
    },

    dropKv(call, callback) {
      respond(callback, async () => {
        const key = call.request.key;
        if (key === "") throw statusError(invalidArgument("DropKv: key is required"));
        const result = await lock.run(() => engine.doDropKv({ key }));
        kvStore.remove(key);
        return { dropped: result.dropped, freedBytes: Math.round(result.freedBytes) };
      });
    },

    stats(_call, callback) {
      respond(callback, async () => statsResponse(await engine.doStats(), sidecarStats()));
    },
  };

  // HTTP requests enter the same scheduler as gRPC Generate calls, so both merge into engine batches.
  const openai = options.openai
    ? await startOpenAiEndpoint(
        {
          models: () => info.models,
          submit(input, sink) {
            const prefix = input.sharedPrefix;
            if (prefix && !kvStore.claimText(prefix.key, digest(prefix.text))) {
              throw new EngineError(
                "internal",
                `shared prefix key "${prefix.key}" already names another text`,
              );
            }
            return scheduler.submit(input, sink);
          },
        },
        options.openai,
      )
    : undefined;

  let server: Awaited<ReturnType<typeof startGrpcServer>>;
  try {
    server = await startGrpcServer({
      host,
      port: options.port ?? 0,
      services: [{ definition: ExecutorService, implementation }, health.binding],
      ...(options.security ? { security: options.security } : {}),
    });
  } catch (error) {
    await openai?.close(0);
    throw error;
  }

  let closed: Promise<void> | undefined;
  return {
    address: server.address,
    host: server.host,
    port: server.port,
    ...(openai ? { openai: { url: openai.url, host: openai.host, port: openai.port } } : {}),
    stats: sidecarStats,
    close(graceMs = 30_000) {
      closed ??= (async () => {
        closing = true;
        health.setStatus("", "not-serving");
        health.setStatus(EXECUTOR_SERVICE_NAME, "not-serving");
        health.close();
        await Promise.all([server.shutdown(graceMs), openai?.close(graceMs)]);
        await scheduler.whenIdle();
        await engine.close();
      })();
      return closed;
    },
  };
}

/** An Error carrying a gRPC status, so `respond` can send it as is. */
class StatusError extends Error {
  constructor(readonly status: Partial<StatusObject>) {
    super(status.details);
  }
}

function statusError(status: Partial<StatusObject>): StatusError {
  return new StatusError(status);
}

function respond<T>(callback: sendUnaryData<T>, action: () => Promise<T>): void {
  action().then(
    (value) => callback(null, value),
    (error: unknown) => callback(error instanceof StatusError ? error.status : statusForError(error)),
  );
}

async function* iterate(chunks: readonly Uint8Array[]): AsyncIterable<Uint8Array> {
  yield* chunks;
}

function digest(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

function kvEntry(entry: KvEntryInfo): KvEntry {
  return {
    key: entry.key,
    model: entry.model,
    tokens: Math.round(entry.tokens),
    bytes: Math.round(entry.bytes),
  };
}

function infoResponse(
  info: EngineInfo,
  limits: { maxSequences: number; maxBatchTokens: number },
  kvBudgetBytes: number,
): InfoResponse {
  return {
    engine: info.engine,
    engineVersion: info.version,
    threads: info.threads,
    models: info.models.map((model) => ({
      name: model.name,
      parameterCount: Math.round(model.parameterCount),
      contextLength: model.contextLength,
      kvBytesPerToken: Math.round(model.kvBytesPerToken),
      memoryBytes: Math.round(model.memoryBytes),
      loaded: model.loaded,
    })),
    maxSequences: limits.maxSequences,
    maxBatchTokens: limits.maxBatchTokens,
    memoryBudgetBytes: Math.round(info.memoryBudgetBytes),
    kvBudgetBytes: Math.round(kvBudgetBytes),
    capabilities: capabilitiesToWire(engineCapabilities(info)),
  };
}

/** On the wire, an undeclared `maxLoadedModels` is 0. */
function capabilitiesToWire(capabilities: EngineCapabilities) {
  const { maxLoadedModels, ...rest } = capabilities;
  return { ...rest, maxLoadedModels: maxLoadedModels ?? 0 };
}

function statsResponse(
  stats: Awaited<ReturnType<EngineV1["doStats"]>>,
  sidecar: SidecarStats,
): StatsResponse {
  return {
    loadedModels: [...stats.loadedModels],
    kvEntries: stats.kvEntries.map(kvEntry),
    kvBytes: Math.round(stats.kvBytes),
    modelLoads: stats.modelLoads,
    promptTokens: stats.promptTokens,
    cachedTokens: stats.cachedTokens,
    generatedTokens: stats.generatedTokens,
    busyMs: stats.busyMs,
    sidecar,
  };
}
