import type { DecodeCost, DeviceProfile, ModelProfile } from "./device-profile.js";
import { weightBytesPerParameterFromName } from "./weight-format.js";

/**
 * The parameter count written in a model name (`Qwen/Qwen3-14B` → 14e9,
 * `openai/gpt-oss-20b` → 20e9, `tiny-2M` → 2e6), or undefined when the name
 * has none. The last size-like token wins (`Llama-3.2-3B` → 3e9).
 */
export function parameterCountFromName(modelName: string): number | undefined {
  const pattern = /(?:^|[^A-Za-z0-9.])(\d+(?:\.\d+)?)([bBmMkK])(?=$|[^A-Za-z0-9])/g;
  let found: number | undefined;
  for (const match of modelName.matchAll(pattern)) {
    const value = Number(match[1]);
    const unit = match[2]!.toLowerCase();
    const scale = unit === "b" ? 1e9 : unit === "m" ? 1e6 : 1e3;
    if (Number.isFinite(value) && value > 0) found = value * scale;
  }
  return found;
}

/** Weights stored below this many bytes per parameter are quantized (16-bit weights take 2). */
const QUANTIZED_BELOW_BYTES = 1.5;
const SIXTEEN_BIT_BYTES = 2;

/** How a derived model's weights are stored, when the workflow says (`quantization` / `dtype`). */
export interface DeriveModelOptions {
  /** Weight bytes per parameter (see `weightBytesPerParameter`); otherwise the name's suffix, else the reference model's. */
  readonly weightBytesPerParameter?: number | undefined;
}

/**
 * A profile for a model the device profile does not list, scaled from the
 * profiled model closest in size: time and memory grow linearly with the
 * parameter count, KV bytes per token with its square root. Quantized weights
 * (from `options` or a name suffix like `-AWQ`) set the weight bytes, and the
 * load time and per-step weight reads scale with them; without either, the
 * reference's bytes per parameter carry over, unless the reference is
 * quantized: then the model counts as 16-bit. Returns undefined when
 * the name carries no parameter count or the device lists no model.
 */
export function deriveModelProfile(
  device: DeviceProfile,
  modelName: string,
  options: DeriveModelOptions = {},
): ModelProfile | undefined {
  const parameterCount = parameterCountFromName(modelName);
  if (parameterCount === undefined) return undefined;
  const reference = closestModel(device, parameterCount);
  if (!reference) return undefined;
  const ratio = parameterCount / reference.parameterCount;
  const scaledWeightsBytes = reference.weightsBytes * ratio;
  // A quantized reference (gpt-oss-20b ships MXFP4) says nothing about another model's format: a
  // name without a format suffix is then taken as 16-bit weights, the format models are released in.
  const referenceQuantized = reference.weightsBytes / reference.parameterCount < QUANTIZED_BELOW_BYTES;
  const bytesPerParameter =
    options.weightBytesPerParameter ??
    weightBytesPerParameterFromName(modelName) ??
    (referenceQuantized ? SIXTEEN_BIT_BYTES : undefined);
  const weightsBytes =
    bytesPerParameter === undefined ? scaledWeightsBytes : parameterCount * bytesPerParameter;
  // Loading and each decode step read the weights once: both scale with their bytes.
  const weightRatio = weightsBytes / scaledWeightsBytes;
  const decode: DecodeCost = {
    stepFixedMs: reference.decode.stepFixedMs * ratio * weightRatio,
    stepMsPerSequence: reference.decode.stepMsPerSequence * ratio,
    stepMsPerContextToken: reference.decode.stepMsPerContextToken * Math.sqrt(ratio),
  };
  // A measured decode table belongs to the reference's size: the derived model is priced by
  // its scaled linear terms.
  const { structuredDecode: referenceStructured, decodeTable: _referenceTable, ...rest } = reference;
  return {
    ...rest,
    parameterCount,
    weightsBytes,
    loadMs: reference.loadMs * ratio * weightRatio,
    kvBytesPerToken: Math.max(1, Math.round(reference.kvBytesPerToken * Math.sqrt(ratio))),
    prefill: { fixedMs: reference.prefill.fixedMs, msPerToken: reference.prefill.msPerToken * ratio },
    decode,
    ...(referenceStructured
      ? { structuredDecode: withGrammarOverhead(decode, reference.decode, referenceStructured) }
      : {}),
  };
}

/**
 * Structured decode of a derived model: its own decode plus the reference's grammar overhead
 * (structured minus free decode, per term), which is sampling work that does not grow with
 * the model's size.
 */
function withGrammarOverhead(decode: DecodeCost, free: DecodeCost, structured: DecodeCost): DecodeCost {
  const extra = (key: keyof DecodeCost) => Math.max(0, structured[key] - free[key]);
  return {
    stepFixedMs: decode.stepFixedMs + extra("stepFixedMs"),
    stepMsPerSequence: decode.stepMsPerSequence + extra("stepMsPerSequence"),
    stepMsPerContextToken: decode.stepMsPerContextToken + extra("stepMsPerContextToken"),
  };
}

function closestModel(device: DeviceProfile, parameterCount: number): ModelProfile | undefined {
  let best: ModelProfile | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const name of Object.keys(device.models).sort()) {
    const model = device.models[name]!;
    const distance = Math.abs(Math.log(model.parameterCount / parameterCount));
    if (distance < bestDistance) {
      best = model;
      bestDistance = distance;
    }
  }
  return best;
}
