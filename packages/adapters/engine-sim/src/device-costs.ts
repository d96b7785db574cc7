/**
 * What a ground-truth device costs beyond its step roofline (`@halo/profiles`
 * `truthStepMs`): per-batch noise, output lengths that vary around
 * `max_tokens`, and the sizes the engine reports of each model.
 */
import type { GroundTruthDevice, ModelProfile } from "@halo/profiles";
import { mulberry32 as seededRandom, seedFromParts as seedFrom } from "@halo/seeded-random";

/**
 * Multiplicative lognormal noise, one factor per engine batch: exp(σ·z) with
 * z standard normal (Box–Muller), drawn from a seeded generator, so a run with
 * the same seed and the same batches has the same figures.
 */
export class BatchNoise {
  private readonly random: () => number;

  constructor(
    private readonly sigma: number,
    seed: number,
  ) {
    if (!(sigma >= 0) || !Number.isFinite(sigma)) {
      throw new RangeError(`SimEngine: noise must be a finite number >= 0, got ${sigma}`);
    }
    this.random = seededRandom(seedFrom("batch-noise", seed));
  }

  /** The next batch's factor (1 without noise). */
  next(): number {
    if (this.sigma === 0) return 1;
    const u = Math.max(this.random(), Number.MIN_VALUE);
    const v = this.random();
    const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    return Math.exp(this.sigma * z);
  }
}

/** Median of a free-text output's length as a share of max_tokens, and the spread (lognormal σ). */
const OUTPUT_MEDIAN_SHARE = 0.8;
const OUTPUT_SIGMA = 0.35;

/**
 * The natural length of a free-text answer under the ground truth: lognormal
 * around 0.8 × max_tokens, seeded by the item (the same prompt, the same
 * length), so about a quarter of answers run into max_tokens, as a model's do.
 */
export function naturalOutputTokens(seed: number, maxTokens: number): number {
  const random = seededRandom(seedFrom("output-length", seed));
  const u = Math.max(random(), Number.MIN_VALUE);
  const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
  return Math.max(1, Math.round(maxTokens * OUTPUT_MEDIAN_SHARE * Math.exp(OUTPUT_SIGMA * z)));
}

/**
 * The sizes a ground-truth model reports (weights, KV bytes, context, load
 * time, sequences), as a ModelProfile for the engine's bookkeeping. Its
 * linear cost fields are unused placeholders: the truth's roofline prices
 * every step.
 */
export function truthModelSizes(device: GroundTruthDevice, name: string): ModelProfile | undefined {
  const model = device.models[name];
  if (!model) return undefined;
  return {
    parameterCount: model.parameterCount,
    weightsBytes: model.weightsBytes,
    loadMs: model.loadMs,
    kvBytesPerToken: model.kvBytesPerToken,
    contextLength: model.contextLength,
    maxBatchSequences: device.maxNumSeqs,
    prefill: { fixedMs: 0, msPerToken: 0 },
    decode: { stepFixedMs: 0, stepMsPerSequence: 0, stepMsPerContextToken: 0 },
  };
}
