import { z } from "zod";

/**
 * A device profile: what it costs to run models on one worker (an accelerator,
 * or a CPU thread group). The optimizer's cost model reads it; the simulated
 * engine replays it; `halo profile` measures it from a live executor.
 * All times in milliseconds, all sizes in bytes.
 */
export const PROFILE_VERSION = 1 as const;

export const PrefillCostSchema = z
  .object({
    /** Fixed cost of one prefill call (kernel launches, scheduling). */
    fixedMs: z.number().nonnegative(),
    /** Marginal cost per prompt token, summed over the batch (prefill is compute-bound). */
    msPerToken: z.number().positive(),
  })
  .strict();

export const DecodeCostSchema = z
  .object({
    /** Cost of one decode step independent of batch (reading the weights once). */
    stepFixedMs: z.number().nonnegative(),
    /** Added per sequence in the batch (its share of compute). */
    stepMsPerSequence: z.number().nonnegative(),
    /** Added per token of context of every sequence (reading its KV cache). */
    stepMsPerContextToken: z.number().nonnegative(),
  })
  .strict();

export const ModelProfileSchema = z
  .object({
    parameterCount: z.number().positive(),
    /** Bytes the weights occupy once loaded. */
    weightsBytes: z.number().positive(),
    /** Time to load the model (a switch costs unload + this). */
    loadMs: z.number().nonnegative(),
    kvBytesPerToken: z.number().positive(),
    contextLength: z.number().int().positive(),
    /** Most sequences decoded together. */
    maxBatchSequences: z.number().int().positive(),
    prefill: PrefillCostSchema,
    decode: DecodeCostSchema,
    /**
     * Decode step cost when the output is constrained by a JSON-schema grammar (structured
     * output), same terms as `decode`. Optional (profileVersion 1 without it stays valid):
     * absent, structured output is priced as free decode. Grammar sampling adds per-sequence
     * work to every step (the grammar filters the candidate tokens), so on llama.cpp it is
     * markedly slower than free decode.
     */
    structuredDecode: DecodeCostSchema.optional(),
  })
  .strict();

/**
 * What the executors of a profile can do (from their engines' `EngineCapabilities`). Optional:
 * a profile without it describes engines that can do everything (profileVersion 1 as before).
 */
export const DeviceCapabilitiesSchema = z
  .object({
    /** KV may be exported and imported: the planner may migrate it. */
    kvTransfer: z.boolean(),
    /** Shared prefixes stay cached under their keys: the planner may count on a prefix staying resident. */
    prefixPinning: z.boolean(),
    /** The executor loads and unloads models (a switch costs `loadMs`); false: models stay loaded on a server. */
    modelLoading: z.boolean(),
  })
  .strict();

export const DeviceProfileSchema = z
  .object({
    profileVersion: z.literal(PROFILE_VERSION),
    /** Human-readable device name, e.g. `H100-SXM5-80GB (simulated)`. */
    device: z.string().min(1),
    /** Where the figures come from (data sheet, paper, measurement command and date). */
    source: z.string().min(1),
    memoryBytes: z.number().positive(),
    /** KV cache transfer bandwidth to another worker. */
    transferBytesPerSecond: z.number().positive(),
    /** Fixed cost of one KV transfer (connection, serialization). */
    transferFixedMs: z.number().nonnegative(),
    models: z.record(z.string().min(1), ModelProfileSchema),
    capabilities: DeviceCapabilitiesSchema.optional(),
  })
  .strict();

export type PrefillCost = z.infer<typeof PrefillCostSchema>;
export type DecodeCost = z.infer<typeof DecodeCostSchema>;
export type ModelProfile = z.infer<typeof ModelProfileSchema>;
export type DeviceProfile = z.infer<typeof DeviceProfileSchema>;
export type DeviceCapabilities = z.infer<typeof DeviceCapabilitiesSchema>;

/** Thrown for an invalid profile document; `issues` name the JSON paths. */
export class ProfileValidationError extends Error {
  constructor(
    message: string,
    readonly issues: readonly string[],
  ) {
    super(message);
    this.name = "ProfileValidationError";
  }
}

/** Validates an unknown value (parsed JSON) as a device profile; `where` names the file in errors. */
export function parseDeviceProfile(value: unknown, where = "profile"): DeviceProfile {
  const result = DeviceProfileSchema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => `${where}: ${formatPath(issue.path)}: ${issue.message}`);
  throw new ProfileValidationError(`invalid device profile in ${where}:\n  ${issues.join("\n  ")}`, issues);
}

function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return "(root)";
  return path
    .map((part, index) =>
      typeof part === "number" ? `[${part}]` : `${index === 0 ? "" : "."}${String(part)}`,
    )
    .join("");
}

/** Time to prefill `tokens` prompt tokens in one call (all sequences of the batch together). */
export function prefillMs(model: ModelProfile, tokens: number): number {
  if (tokens <= 0) return 0;
  return model.prefill.fixedMs + model.prefill.msPerToken * tokens;
}

/** Time of one decode step for `batch` sequences holding `contextTokens` tokens each on average. */
export function decodeStepMs(model: ModelProfile, batch: number, contextTokens: number): number {
  if (batch <= 0) return 0;
  const { stepFixedMs, stepMsPerSequence, stepMsPerContextToken } = model.decode;
  return stepFixedMs + batch * (stepMsPerSequence + stepMsPerContextToken * contextTokens);
}

/**
 * The profile to price decoding with: for JSON-schema-constrained output (`structured`) the
 * model's `structuredDecode` step costs when it has them, else the model as it is.
 */
export function decodeProfileFor(model: ModelProfile, structured: boolean): ModelProfile {
  if (!structured || model.structuredDecode === undefined) return model;
  return { ...model, decode: model.structuredDecode };
}

/**
 * Time to decode `outputTokens` tokens for each of `sequences` sequences whose
 * prompts hold `promptTokens` tokens, in waves of at most `maxBatchSequences`.
 * The context grows by one token per step; the average context is used per step.
 */
export function decodeMs(
  model: ModelProfile,
  sequences: number,
  promptTokens: number,
  outputTokens: number,
): number {
  if (sequences <= 0 || outputTokens <= 0) return 0;
  const waveSize = Math.min(sequences, model.maxBatchSequences);
  const fullWaves = Math.floor(sequences / waveSize);
  const rest = sequences - fullWaves * waveSize;
  const averageContext = promptTokens + outputTokens / 2;
  const wave = (batch: number) => outputTokens * decodeStepMs(model, batch, averageContext);
  return fullWaves * wave(waveSize) + (rest > 0 ? wave(rest) : 0);
}

/** Time to move the KV cache of `tokens` tokens to another worker. */
export function kvTransferMs(device: DeviceProfile, model: ModelProfile, tokens: number): number {
  if (tokens <= 0) return 0;
  return device.transferFixedMs + ((tokens * model.kvBytesPerToken) / device.transferBytesPerSecond) * 1000;
}
