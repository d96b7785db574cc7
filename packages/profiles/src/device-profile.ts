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

/**
 * Decode step costs measured on a grid of batch sizes and contexts, for engines whose step
 * cost is not linear in the batch (a roofline: memory-bound at small batches, compute- or
 * KV-bound at large ones, MoE expert reads that saturate). Read by piecewise-linear
 * interpolation; below the grid the first point holds, beyond it the last segment's slope
 * continues (never downwards).
 */
export const DecodeTableSchema = z
  .object({
    /** Sequences decoded together at each row (ascending, at least one; a measured mean, so not always whole). */
    batches: z.array(z.number().positive()).min(1),
    /** Mean tokens of context per sequence at each column (ascending, at least one). */
    contexts: z.array(z.number().nonnegative()).min(1),
    /** `stepMs[row][column]`: one decode step of `batches[row]` sequences at `contexts[column]`. */
    stepMs: z.array(z.array(z.number().nonnegative())),
  })
  .strict()
  .superRefine((table, context) => {
    const ascending = (values: readonly number[]) =>
      values.every((value, index) => index === 0 || value > values[index - 1]!);
    if (!ascending(table.batches)) {
      context.addIssue({ code: "custom", path: ["batches"], message: "must be strictly ascending" });
    }
    if (!ascending(table.contexts)) {
      context.addIssue({ code: "custom", path: ["contexts"], message: "must be strictly ascending" });
    }
    if (
      table.stepMs.length !== table.batches.length ||
      table.stepMs.some((row) => row.length !== table.contexts.length)
    ) {
      context.addIssue({
        code: "custom",
        path: ["stepMs"],
        message: `must have ${table.batches.length} rows of ${table.contexts.length} values (batches × contexts)`,
      });
    }
  });

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
    /**
     * Measured decode step costs by batch and context (optional). When present they price a
     * decode step instead of `decode`'s linear terms (which stay, fitted to the small batches).
     */
    decodeTable: DecodeTableSchema.optional(),
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
    /**
     * Most models an executor keeps loaded at once while their weights fit in `memoryBytes`
     * (least recently used unloaded beyond that); absent: one. Models loaded together share
     * the memory left for KV.
     */
    maxLoadedModels: z.number().int().positive().optional(),
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
export type DecodeTable = z.infer<typeof DecodeTableSchema>;
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
  if (model.decodeTable !== undefined) return tableStepMs(model.decodeTable, batch, contextTokens);
  const { stepFixedMs, stepMsPerSequence, stepMsPerContextToken } = model.decode;
  return stepFixedMs + batch * (stepMsPerSequence + stepMsPerContextToken * contextTokens);
}

/**
 * Piecewise-linear reading of `values` (one per point of the ascending `axis`) at `at`: flat
 * below the first point, the last segment's slope (at least 0) beyond the last one.
 */
function interpolate(axis: readonly number[], values: readonly number[], at: number): number {
  const last = axis.length - 1;
  if (last === 0 || at <= axis[0]!) return values[0]!;
  const upper = at >= axis[last]! ? last : axis.findIndex((point) => point >= at);
  const lower = upper - 1;
  const slope = (values[upper]! - values[lower]!) / (axis[upper]! - axis[lower]!);
  if (at >= axis[last]!) return values[last]! + Math.max(0, slope) * (at - axis[last]!);
  return values[lower]! + slope * (at - axis[lower]!);
}

/** A decode step read from a measured table (see `DecodeTableSchema`): by context in each row, then by batch. */
export function tableStepMs(table: DecodeTable, batch: number, contextTokens: number): number {
  const byBatch = table.stepMs.map((row) => interpolate(table.contexts, row, contextTokens));
  return Math.max(0, interpolate(table.batches, byBatch, batch));
}

/**
 * The profile to price decoding with: for JSON-schema-constrained output (`structured`) the
 * model's `structuredDecode` step costs when it has them, else the model as it is. A measured
 * decode table then carries the grammar's overhead over free decode (its fitted linear terms).
 */
export function decodeProfileFor(model: ModelProfile, structured: boolean): ModelProfile {
  if (!structured || model.structuredDecode === undefined) return model;
  const grammar = model.structuredDecode;
  const table = model.decodeTable;
  if (table === undefined) return { ...model, decode: grammar };
  const extraFixed = Math.max(0, grammar.stepFixedMs - model.decode.stepFixedMs);
  const extraPerSequence = Math.max(0, grammar.stepMsPerSequence - model.decode.stepMsPerSequence);
  return {
    ...model,
    decode: grammar,
    decodeTable: {
      ...table,
      stepMs: table.stepMs.map((row, index) =>
        row.map((ms) => ms + extraFixed + extraPerSequence * table.batches[index]!),
      ),
    },
  };
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
