/**
 * Bytes per parameter of a model's weights from the `quantization` / `dtype`
 * fields the prototype passes to vLLM (or from a name like `…-70B-Instruct-AWQ`),
 * so model sizing (which worker a model fits on) honours them. Quantization wins
 * over dtype (vLLM's `dtype` is then the activation type).
 */

/**
 * 4-bit group-quantized formats (AWQ, GPTQ, INT4) store 4 bits per weight plus
 * a scale and zero point per group of 128 and keep embeddings and the output
 * head in 16 bits: about 4.5 bits per parameter over the whole model (a
 * Llama-3.3-70B AWQ checkpoint is about 40 GB).
 */
const FOUR_BIT_BYTES = 4.5 / 8;

const QUANTIZATION_BYTES: Readonly<Record<string, number>> = {
  awq: FOUR_BIT_BYTES,
  awq_marlin: FOUR_BIT_BYTES,
  gptq: FOUR_BIT_BYTES,
  gptq_marlin: FOUR_BIT_BYTES,
  int4: FOUR_BIT_BYTES,
  w4a16: FOUR_BIT_BYTES,
  // 8-bit formats: one byte per weight; per-channel scales are negligible.
  int8: 1,
  w8a8: 1,
  w8a16: 1,
  fp8: 1,
};

const DTYPE_BYTES: Readonly<Record<string, number>> = {
  bf16: 2,
  bfloat16: 2,
  fp16: 2,
  float16: 2,
  f16: 2,
  half: 2,
  fp32: 4,
  float32: 4,
  f32: 4,
  float: 4,
  fp8: 1,
  int8: 1,
  int4: FOUR_BIT_BYTES,
};

/** The spelling of a format as looked up: lower case, `-` as `_`. */
function normalized(value: string): string {
  return value.trim().toLowerCase().replaceAll("-", "_");
}

/** Whether a `quantization` (or, with `dtype`, a dtype) value is one model sizing knows. */
export function isKnownWeightFormat(value: string, field: "quantization" | "dtype"): boolean {
  const table = field === "quantization" ? QUANTIZATION_BYTES : DTYPE_BYTES;
  return Object.hasOwn(table, normalized(value)) || (field === "dtype" && normalized(value) === "auto");
}

/**
 * Weight bytes per parameter for a model's `quantization` and `dtype`, or
 * undefined when neither says (or neither is known; `dtype: auto` says nothing).
 */
export function weightBytesPerParameter(format: {
  readonly quantization?: string | undefined;
  readonly dtype?: string | undefined;
}): number | undefined {
  if (format.quantization !== undefined) {
    const bytes = QUANTIZATION_BYTES[normalized(format.quantization)];
    if (bytes !== undefined) return bytes;
  }
  return format.dtype === undefined ? undefined : DTYPE_BYTES[normalized(format.dtype)];
}

/** Quantization suffixes in model names (`Llama-3.3-70B-Instruct-AWQ`, `Qwen3-32B-FP8`), as hubs spell them. */
const NAME_FORMAT = /(?:^|[-_./])(awq|gptq|int4|int8|fp8|w4a16|w8a8)(?=$|[-_./])/gi;

/** Weight bytes per parameter that a model's name states (its last quantization suffix), if any. */
export function weightBytesPerParameterFromName(modelName: string): number | undefined {
  let found: number | undefined;
  for (const match of modelName.matchAll(NAME_FORMAT))
    found = QUANTIZATION_BYTES[normalized(match[1] as string)];
  return found;
}
