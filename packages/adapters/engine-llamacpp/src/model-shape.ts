import { stat } from "node:fs/promises";
import { readGgufFileInfo } from "node-llama-cpp";
import type { ModelSource } from "./model-map.js";
import { countParameters, planArchitecture } from "./stand-in-models.js";

/** What the engine needs to know about a model before loading it (sizes for the memory budget). */
export interface ModelShape {
  readonly parameterCount: number;
  /** Context length the model was trained for. */
  readonly trainContextLength: number;
  /** KV cache bytes per token: K and V of every layer in f16 (llama.cpp's default cache type). */
  readonly kvBytesPerToken: number;
  readonly weightsBytes: number;
}

const f16Bytes = 2;

/** The shape of a synthesized model, computed from its spec without touching a file. */
function synthesizedShape(source: Extract<ModelSource, { kind: "synthesized" }>): ModelShape {
  const architecture = planArchitecture(source.spec.parameterCount, source.spec.contextLength);
  const parameterCount = countParameters(architecture);
  // q8_0 stores 32 weights in 34 bytes; norms (f32) are a rounding error here.
  const bytesPerWeight = source.spec.format === "q8_0" ? 34 / 32 : 2;
  return {
    parameterCount,
    trainContextLength: architecture.contextLength,
    kvBytesPerToken:
      2 * architecture.blockCount * architecture.headCountKv * architecture.headDimension * f16Bytes,
    weightsBytes: Math.ceil(parameterCount * bytesPerWeight),
  };
}

function numberAt(record: Record<string, unknown> | undefined, key: string): number | undefined {
  const value = record?.[key];
  return typeof value === "number" && Number.isFinite(value) ? value : undefined;
}

/** Reads the shape of a GGUF file from its header (no tensor data is read). */
async function ggufShape(path: string): Promise<ModelShape> {
  const [info, fileStat] = await Promise.all([
    readGgufFileInfo(path, { sourceType: "filesystem", logWarnings: false }),
    stat(path),
  ]);
  const metadata = info.metadata as unknown as Record<string, Record<string, unknown>>;
  const architecture = String(metadata["general"]?.["architecture"] ?? "");
  const hyper = metadata[architecture];
  const attention = hyper?.["attention"] as Record<string, unknown> | undefined;
  const blockCount = numberAt(hyper, "block_count") ?? 0;
  const embedding = numberAt(hyper, "embedding_length") ?? 0;
  const headCount = numberAt(attention, "head_count") ?? 1;
  const headCountKv = numberAt(attention, "head_count_kv") ?? headCount;
  const keyLength = numberAt(attention, "key_length") ?? embedding / headCount;
  const valueLength = numberAt(attention, "value_length") ?? embedding / headCount;
  const parameterCount = (info.tensorInfo ?? []).reduce(
    (sum, tensor) => sum + tensor.dimensions.reduce((product: number, value) => product * Number(value), 1),
    0,
  );
  return {
    parameterCount,
    trainContextLength: numberAt(hyper, "context_length") ?? 2048,
    kvBytesPerToken: Math.max(1, Math.round(blockCount * headCountKv * (keyLength + valueLength) * f16Bytes)),
    weightsBytes: fileStat.size,
  };
}

/** The shape of a model from its source. */
export function modelShape(source: ModelSource): Promise<ModelShape> {
  return source.kind === "synthesized" ? Promise.resolve(synthesizedShape(source)) : ggufShape(source.path);
}
