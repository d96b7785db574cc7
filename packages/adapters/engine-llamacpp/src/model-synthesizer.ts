import { randomBytes } from "node:crypto";
import { mkdir, rename, rm } from "node:fs/promises";
import { dirname } from "node:path";
import { Xoshiro128StarStar as SeededRandom } from "@halo/seeded-random";
import { type GgufMetadataValue, type GgufTensor, writeGguf } from "./gguf-writer.js";
import { toHalfFloatBits } from "./half-float.js";
import { loadLlamaVocabulary } from "./llama-vocabulary.js";
import {
  countParameters,
  type LlamaArchitecture,
  maxSynthesizedContextLength,
  planArchitecture,
  synthesizedContextLength,
  synthesizedContextStep,
} from "./stand-in-models.js";

/** Weight encodings the synthesizer writes. */
export const synthesizedWeightFormats = ["q8_0", "f16"] as const;
export type SynthesizedWeightFormat = (typeof synthesizedWeightFormats)[number];

/**
 * Version of the synthesis recipe. Part of every cached file name: bump it whenever
 * the bytes written for the same (name, size, seed, format) change.
 */
export const synthesisFormatVersion = 2;

/** What a synthesized model is made from; the same spec always gives the same bytes. */
export interface SynthesisSpec {
  /** Model name the weights are seeded from and `general.name` carries. */
  readonly name: string;
  /** Target parameter count; the shape is fitted to it (see `planArchitecture`). */
  readonly parameterCount: number;
  readonly seed: number;
  readonly format: SynthesizedWeightFormat;
  /**
   * A chat template (Jinja, as real GGUFs carry in `tokenizer.chat_template`), so a stand-in
   * exercises the path of real chat models. Default none: prompts are raw text.
   */
  readonly chatTemplate?: string;
  /**
   * Trained context (`llama.context_length`): a multiple of 4096 in 4096..131072, default
   * 4096 (see `standInContextLength`). It changes no weight: the same spec with another
   * context is the same model accepting more positions, so outputs do not change.
   */
  readonly contextLength?: number;
}

/** A synthesized GGUF file on disk. */
export interface SynthesizedModel {
  readonly spec: SynthesisSpec;
  readonly path: string;
  readonly architecture: LlamaArchitecture;
  /** Parameters actually written (the shape rounds the target). */
  readonly parameterCount: number;
  readonly fileBytes: number;
}

// Standard deviation of a byte read as int8 (uniform over -128..127).
const uniformInt8Std = Math.sqrt((256 * 256 - 1) / 12);
// Token embeddings are small next to what the blocks add to the residual stream; a
// dominant embedding (tied to the output) would make the model echo its input token.
const embeddingStd = 0.02;
// Standard deviation each attention or feed-forward sublayer adds to the residual stream.
const sublayerOutputStd = 0.2;
// Logit spread: wide enough that greedy picks have clear margins (robust to the rounding
// differences between batched and single-sequence kernels), narrow enough to stay varied.
const logitStd = 4;
// Standard deviation of silu(gate) × up for unit-variance gate and up.
const gatedActivationStd = 0.6;

function matrixTensor(
  label: string,
  name: string,
  inputs: number,
  outputs: number,
  std: number,
  format: SynthesizedWeightFormat,
): GgufTensor {
  return {
    name,
    dimensions: [inputs, outputs],
    type: format,
    produceData: () => randomMatrixBytes(`${label}\u0000${name}`, inputs * outputs, std, format),
  };
}

/**
 * Uniform int8 values times one per-tensor scale: exactly representable in q8_0, and
 * the f16 variant holds the same numbers (to f16 rounding), so both formats are one model.
 */
function randomMatrixBytes(
  label: string,
  elements: number,
  std: number,
  format: SynthesizedWeightFormat,
): Uint8Array {
  const random = new SeededRandom(label);
  const scaleBits = toHalfFloatBits(std / uniformInt8Std);
  const values = new Uint8Array(elements);
  random.fillBytes(values);
  if (format === "q8_0") {
    const blocks = elements / 32;
    const out = new Uint8Array(blocks * 34);
    for (let block = 0; block < blocks; block += 1) {
      const offset = block * 34;
      out[offset] = scaleBits & 0xff;
      out[offset + 1] = scaleBits >>> 8;
      out.set(values.subarray(block * 32, block * 32 + 32), offset + 2);
    }
    return out;
  }
  const scale = std / uniformInt8Std;
  const table = new Uint16Array(256);
  for (let byte = 0; byte < 256; byte += 1) table[byte] = toHalfFloatBits(((byte << 24) >> 24) * scale);
  const out = new Uint8Array(elements * 2);
  for (let index = 0; index < elements; index += 1) {
    const bits = table[values[index]!]!;
    out[index * 2] = bits & 0xff;
    out[index * 2 + 1] = bits >>> 8;
  }
  return out;
}

function constantVectorTensor(name: string, length: number, value: number): GgufTensor {
  return {
    name,
    dimensions: [length],
    type: "f32",
    produceData: () => {
      const out = new Uint8Array(length * 4);
      const view = new DataView(out.buffer);
      for (let index = 0; index < length; index += 1) view.setFloat32(index * 4, value, true);
      return out;
    },
  };
}

function tensorsFor(spec: SynthesisSpec, architecture: LlamaArchitecture): GgufTensor[] {
  const label = `halo-synth/v${synthesisFormatVersion}\u0000${spec.name}\u0000${spec.parameterCount}\u0000${spec.seed}`;
  const width = architecture.embeddingLength;
  const attentionWidth = architecture.headCount * architecture.headDimension;
  const kvWidth = architecture.headCountKv * architecture.headDimension;
  const feedForward = architecture.feedForwardLength;
  const unitInput = 1 / Math.sqrt(width);
  // The final norm scales unit-RMS hidden states so logits (tied embedding) have `logitStd`.
  const outputNormScale = logitStd / (embeddingStd * Math.sqrt(width));
  const tensors: GgufTensor[] = [
    matrixTensor(label, "token_embd.weight", width, architecture.vocabularySize, embeddingStd, spec.format),
    constantVectorTensor("output_norm.weight", width, outputNormScale),
  ];
  for (let block = 0; block < architecture.blockCount; block += 1) {
    const prefix = `blk.${block}.`;
    tensors.push(
      constantVectorTensor(`${prefix}attn_norm.weight`, width, 1),
      matrixTensor(label, `${prefix}attn_q.weight`, width, attentionWidth, unitInput, spec.format),
      matrixTensor(label, `${prefix}attn_k.weight`, width, kvWidth, unitInput, spec.format),
      matrixTensor(label, `${prefix}attn_v.weight`, width, kvWidth, unitInput, spec.format),
      matrixTensor(
        label,
        `${prefix}attn_output.weight`,
        attentionWidth,
        width,
        sublayerOutputStd / Math.sqrt(attentionWidth),
        spec.format,
      ),
      constantVectorTensor(`${prefix}ffn_norm.weight`, width, 1),
      matrixTensor(label, `${prefix}ffn_gate.weight`, width, feedForward, unitInput, spec.format),
      matrixTensor(label, `${prefix}ffn_up.weight`, width, feedForward, unitInput, spec.format),
      matrixTensor(
        label,
        `${prefix}ffn_down.weight`,
        feedForward,
        width,
        sublayerOutputStd / (gatedActivationStd * Math.sqrt(feedForward)),
        spec.format,
      ),
    );
  }
  return tensors;
}

function metadataFor(
  spec: SynthesisSpec,
  architecture: LlamaArchitecture,
): (readonly [string, GgufMetadataValue])[] {
  const vocabulary = loadLlamaVocabulary();
  if (vocabulary.tokens.length !== architecture.vocabularySize) {
    throw new Error(
      `the tokenizer has ${vocabulary.tokens.length} tokens, the architecture expects ${architecture.vocabularySize}`,
    );
  }
  const uint32 = (value: number): GgufMetadataValue => ({ type: "uint32", value });
  const float32 = (value: number): GgufMetadataValue => ({ type: "float32", value });
  return [
    ["general.architecture", { type: "string", value: "llama" }],
    ["general.name", { type: "string", value: spec.name }],
    [
      "general.description",
      { type: "string", value: "Halo synthesized stand-in: LLaMA architecture, seeded random weights" },
    ],
    // llama.cpp file types: 7 = mostly Q8_0, 1 = mostly F16.
    ["general.file_type", uint32(spec.format === "q8_0" ? 7 : 1)],
    ["general.quantization_version", uint32(2)],
    ["llama.vocab_size", uint32(architecture.vocabularySize)],
    ["llama.context_length", uint32(architecture.contextLength)],
    ["llama.embedding_length", uint32(architecture.embeddingLength)],
    ["llama.block_count", uint32(architecture.blockCount)],
    ["llama.feed_forward_length", uint32(architecture.feedForwardLength)],
    ["llama.attention.head_count", uint32(architecture.headCount)],
    ["llama.attention.head_count_kv", uint32(architecture.headCountKv)],
    ["llama.rope.dimension_count", uint32(architecture.headDimension)],
    ["llama.rope.freq_base", float32(10000)],
    ["llama.attention.layer_norm_rms_epsilon", float32(1e-5)],
    ["tokenizer.ggml.model", { type: "string", value: "llama" }],
    ["tokenizer.ggml.tokens", { type: "string-array", value: vocabulary.tokens }],
    ["tokenizer.ggml.scores", { type: "float32-array", value: vocabulary.scores }],
    ["tokenizer.ggml.token_type", { type: "int32-array", value: vocabulary.tokenTypes }],
    ["tokenizer.ggml.bos_token_id", uint32(vocabulary.bosTokenId)],
    ["tokenizer.ggml.eos_token_id", uint32(vocabulary.eosTokenId)],
    ["tokenizer.ggml.unknown_token_id", uint32(vocabulary.unknownTokenId)],
    ["tokenizer.ggml.add_bos_token", { type: "bool", value: true }],
    ["tokenizer.ggml.add_eos_token", { type: "bool", value: false }],
    ...(spec.chatTemplate !== undefined
      ? [["tokenizer.chat_template", { type: "string", value: spec.chatTemplate }] as const]
      : []),
    ["halo.synthesis.format_version", uint32(synthesisFormatVersion)],
    ["halo.synthesis.parameter_target", { type: "string", value: String(spec.parameterCount) }],
    ["halo.synthesis.seed", { type: "string", value: String(spec.seed) }],
  ];
}

/** Checks a spec, with errors that name the offending field. */
export function validateSynthesisSpec(spec: SynthesisSpec): void {
  if (spec.name.trim() === "") throw new RangeError("model name: must not be empty");
  if (!Number.isSafeInteger(spec.seed) || spec.seed < 0) {
    throw new RangeError(`seed: must be a non-negative integer (got ${spec.seed})`);
  }
  if (!synthesizedWeightFormats.includes(spec.format)) {
    throw new RangeError(
      `format: must be one of ${synthesizedWeightFormats.join(", ")} (got ${spec.format})`,
    );
  }
  if (spec.contextLength !== undefined) {
    const valid =
      Number.isSafeInteger(spec.contextLength) &&
      spec.contextLength >= synthesizedContextLength &&
      spec.contextLength <= maxSynthesizedContextLength &&
      spec.contextLength % synthesizedContextStep === 0;
    if (!valid) {
      throw new RangeError(
        `contextLength: must be a multiple of ${synthesizedContextStep} in ${synthesizedContextLength}..${maxSynthesizedContextLength} (got ${spec.contextLength})`,
      );
    }
  }
  planArchitecture(spec.parameterCount);
}

/**
 * Writes the GGUF model of `spec` to `outputPath`. The file appears atomically (written
 * to a temporary name in the same folder, then renamed), so concurrent readers never
 * see half a model and concurrent writers of the same spec write identical bytes.
 */
export async function synthesizeModel(spec: SynthesisSpec, outputPath: string): Promise<SynthesizedModel> {
  validateSynthesisSpec(spec);
  const architecture = planArchitecture(spec.parameterCount, spec.contextLength);
  await mkdir(dirname(outputPath), { recursive: true });
  const temporaryPath = `${outputPath}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  try {
    const fileBytes = await writeGguf(temporaryPath, {
      metadata: metadataFor(spec, architecture),
      tensors: tensorsFor(spec, architecture),
    });
    await rename(temporaryPath, outputPath);
    return { spec, path: outputPath, architecture, parameterCount: countParameters(architecture), fileBytes };
  } catch (error) {
    await rm(temporaryPath, { force: true });
    throw error;
  }
}
