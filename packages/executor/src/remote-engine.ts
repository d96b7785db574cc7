import { ExecutorCallError, type ExecutorClient, type InfoResponse } from "@halo/protocol";
import { engineErrorFromCall } from "./engine-error-status.js";
import {
  type EngineCapabilities,
  EngineError,
  type EngineInfo,
  type EngineStats,
  type EngineV1,
  type GenerateEvent,
  type GenerateOptions,
  type KvEntryInfo,
} from "./engine-v1.js";

/**
 * An EngineV1 backed by a remote executor: every `do…` call goes over gRPC
 * through `client`, and failed calls become EngineErrors again (the executor
 * sends the engine error code in trailing metadata). It lets the conformance
 * suite run against a live sidecar, and lets a sidecar front another one.
 * Batches over the remote's `maxSequences` are refused here, as an engine
 * would refuse them, although the remote sidecar would split them.
 */
export function createRemoteEngine(client: ExecutorClient): EngineV1 {
  let info: InfoResponse | undefined;
  const remoteInfo = async () => {
    info ??= await call(() => client.info());
    return info;
  };
  return {
    specificationVersion: "v1",
    engineName: `remote(${client.address})`,

    async doInfo(): Promise<EngineInfo> {
      const response = await call(() => client.info());
      info = response;
      return {
        engine: response.engine,
        version: response.engineVersion,
        threads: response.threads,
        models: response.models,
        maxSequences: response.maxSequences,
        maxBatchTokens: response.maxBatchTokens,
        memoryBudgetBytes: response.memoryBudgetBytes,
        ...(response.capabilities
          ? {
              capabilities: capabilitiesFromWire(response.capabilities),
            }
          : {}),
      };
    },

    doLoadModel: (options) => call(() => client.loadModel(options.model, { signal: options.signal })),

    async *doGenerate(options: GenerateOptions): AsyncIterable<GenerateEvent> {
      const { maxSequences } = await remoteInfo();
      if (options.items.length > maxSequences) {
        throw new EngineError(
          "over-limits",
          `batch of ${options.items.length} items for model "${options.model}" exceeds maxSequences ${maxSequences}`,
        );
      }
      const events = client.generate(
        {
          model: options.model,
          sharedPrefix: options.sharedPrefix,
          items: options.items,
          streamTokens: true,
        },
        { signal: options.signal },
      );
      try {
        for await (const event of events) {
          if (event.type === "batch-finished") {
            const figures = event.figures;
            yield {
              type: "batch-finished",
              figures: {
                batchSize: figures.items,
                promptTokens: figures.promptTokens,
                cachedTokens: figures.cachedTokens,
                generatedTokens: figures.generatedTokens,
                prefillMs: figures.prefillMs,
                decodeMs: figures.decodeMs,
                prefixPrefilledTokens: figures.prefixPrefilledTokens,
              },
            };
          } else if (event.type === "item-finished") {
            const { queueMs: _queueMs, ...figures } = event.figures;
            yield { ...event, figures };
          } else {
            yield event;
          }
        }
      } catch (error) {
        throw toEngineError(error);
      }
    },

    async *doExportKv(options) {
      try {
        yield* client.exportKv(options.key, { signal: options.signal });
      } catch (error) {
        throw toEngineError(error);
      }
    },

    async doImportKv(options): Promise<KvEntryInfo> {
      const response = await call(() =>
        client.importKv(options.key, options.model, options.chunks, { signal: options.signal }),
      );
      if (!response.entry)
        throw new EngineError("internal", `ImportKv of "${options.key}" returned no entry`);
      return response.entry;
    },

    doDropKv: (options) => call(() => client.dropKv(options.key)),

    async doStats(): Promise<EngineStats> {
      const stats = await call(() => client.stats());
      return {
        loadedModels: stats.loadedModels,
        kvEntries: stats.kvEntries,
        kvBytes: stats.kvBytes,
        modelLoads: stats.modelLoads,
        promptTokens: stats.promptTokens,
        cachedTokens: stats.cachedTokens,
        generatedTokens: stats.generatedTokens,
        busyMs: stats.busyMs,
      };
    },

    async close() {
      client.close();
    },
  };
}

async function call<T>(action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (error) {
    throw toEngineError(error);
  }
}

function toEngineError(error: unknown): unknown {
  if (error instanceof ExecutorCallError)
    return engineErrorFromCall(error.code, error.details, error.errorCode);
  return error;
}

function capabilitiesFromWire(wire: NonNullable<InfoResponse["capabilities"]>): EngineCapabilities {
  const { maxLoadedModels, structuredOutput, ...rest } = wire;
  return {
    ...rest,
    structuredOutput: structuredOutputFromWire(structuredOutput),
    // 0: not declared (an executor from before the field).
    ...(maxLoadedModels > 0 ? { maxLoadedModels } : {}),
  };
}

function structuredOutputFromWire(value: string): "grammar" | "server" | "prompt" {
  return value === "server" || value === "prompt" ? value : "grammar";
}
