import { totalmem } from "node:os";
import { EngineError, type EngineModelDescriptor, type LoadModelResult } from "@halo/executor";
import {
  type ChatWrapper,
  type LlamaContext,
  type LlamaContextSequence,
  type LlamaModel,
  resolveChatWrapper,
} from "node-llama-cpp";
import { getLlamaRuntime, type LlamaGpu } from "./llama-runtime.js";
import { ensureSynthesizedModel } from "./model-cache.js";
import { fingerprintModelFile } from "./model-fingerprint.js";
import { type ModelMap, resolveModelSource } from "./model-map.js";
import { type ModelShape, modelShape } from "./model-shape.js";

/** A model in memory: its llama.cpp context and the sequences batches decode in. */
export interface LoadedModel {
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

/** What loading a model needs (the engine's options, checked by the engine). */
export interface ModelLifecycleOptions {
  readonly modelMap: ModelMap | undefined;
  readonly threads: number;
  readonly contextSize: number;
  readonly maxSequences: number;
  readonly memoryBudgetBytes: number;
  readonly haloHome: string;
  readonly batchSize: number;
  readonly useMmap: boolean;
  readonly gpu: LlamaGpu;
  readonly gpuLayers: number | "auto" | "max";
}

/** The default memory budget: min(8 GiB, half the RAM). */
export function defaultMemoryBudgetBytes(): number {
  return Math.min(8 * 1024 ** 3, Math.floor(totalmem() / 2));
}

/**
 * Loads and unloads models within a memory budget: a model's memory is its weights plus
 * the KV cache of all its sequences; loading one unloads the least recently used ones
 * until it fits. `onUnload` runs before a model's context goes (its cached KV goes with it).
 */
export class ModelLifecycle {
  private readonly loaded = new Map<string, LoadedModel>();
  private readonly shapes = new Map<string, Promise<ModelShape>>();
  /** Models loaded so far (not counting models already in memory). */
  loads = 0;

  constructor(
    private readonly options: ModelLifecycleOptions,
    private readonly onUnload: (name: string) => Promise<void>,
  ) {}

  /** The loaded model `name`, if it is in memory. */
  get(name: string): LoadedModel | undefined {
    return this.loaded.get(name);
  }

  loadedNames(): string[] {
    return [...this.loaded.keys()];
  }

  shapeOf(name: string): Promise<ModelShape> {
    let shape = this.shapes.get(name);
    if (!shape) {
      const source = resolveModelSource(name, this.options.modelMap, this.options.contextSize);
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
    return Math.min(this.options.contextSize, shape.trainContextLength);
  }

  private memoryBytesOf(shape: ModelShape): number {
    return (
      shape.weightsBytes + shape.kvBytesPerToken * this.contextLengthOf(shape) * this.options.maxSequences
    );
  }

  /** Sizes and memory of any servable model, from the model map entry or the stand-in, without loading it. */
  async describe(name: string): Promise<EngineModelDescriptor> {
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

  async load(name: string, signal?: AbortSignal): Promise<LoadModelResult> {
    const present = this.loaded.get(name);
    if (present) {
      present.lastUsedAt = performance.now();
      return { model: name, loadMs: 0, alreadyLoaded: true, unloaded: [] };
    }
    const shape = await this.shapeOf(name);
    const memoryBytes = this.memoryBytesOf(shape);
    const { memoryBudgetBytes } = this.options;
    if (memoryBytes > memoryBudgetBytes) {
      throw new EngineError(
        "over-limits",
        `model "${name}" needs ${memoryBytes} bytes, more than the memory budget of ${memoryBudgetBytes}`,
      );
    }
    const startedAt = performance.now();
    const unloaded: string[] = [];
    const usedBytes = () => [...this.loaded.values()].reduce((total, model) => total + model.memoryBytes, 0);
    while (usedBytes() + memoryBytes > memoryBudgetBytes) {
      const leastRecent = [...this.loaded.values()].sort((a, b) => a.lastUsedAt - b.lastUsedAt)[0]!;
      await this.unload(leastRecent.name);
      unloaded.push(leastRecent.name);
    }
    const source = resolveModelSource(name, this.options.modelMap, this.options.contextSize)!;
    const path =
      source.kind === "gguf"
        ? source.path
        : (await ensureSynthesizedModel(source.spec, this.options.haloHome)).path;
    const llama = await getLlamaRuntime(this.options.threads, this.options.gpu);
    const model = await llama.loadModel({
      modelPath: path,
      gpuLayers: this.options.gpuLayers,
      useMmap: this.options.useMmap,
      ...(signal ? { loadSignal: signal } : {}),
    });
    try {
      const contextLength = this.contextLengthOf(shape);
      const context = await model.createContext({
        contextSize: contextLength,
        sequences: this.options.maxSequences,
        threads: this.options.threads,
        batchSize: this.options.batchSize,
        failedCreationRemedy: false,
        ...(signal ? { createSignal: signal } : {}),
      });
      const sequences = Array.from({ length: this.options.maxSequences }, () => context.getSequence());
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
        lastUsedAt: performance.now(),
      });
    } catch (error) {
      await model.dispose();
      throw error;
    }
    this.loads += 1;
    return {
      model: name,
      loadMs: Math.max(performance.now() - startedAt, Number.MIN_VALUE),
      alreadyLoaded: false,
      unloaded,
    };
  }

  async unload(name: string): Promise<void> {
    const loaded = this.loaded.get(name);
    if (!loaded) return;
    this.loaded.delete(name);
    await this.onUnload(name);
    await loaded.context.dispose();
    await loaded.model.dispose();
  }

  async unloadAll(): Promise<void> {
    for (const name of this.loadedNames()) await this.unload(name);
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
