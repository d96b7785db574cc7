import { z } from "zod";
import { OPTIMIZATION_NAMES } from "./planning-problem.js";

/** Bumped whenever a field of the plan changes meaning. */
export const PLAN_VERSION = 1 as const;

const nonNegative = z.number().nonnegative();

/** Per-step estimate, all in ms; `startMs`/`endMs` are from the start of the batch. */
export const StepEstimateSchema = z
  .object({
    loadMs: nonNegative,
    prefillMs: nonNegative,
    decodeMs: nonNegative,
    migrateMs: nonNegative,
    totalMs: nonNegative,
    startMs: nonNegative,
    endMs: nonNegative,
  })
  .strict();

const KvActionSchema = z.enum(["reuse", "migrate", "recompute"]);

/** One LLM operator's requests (or a share of them) on one worker in one epoch. */
export const PlanStepSchema = z
  .object({
    operator: z.string().min(1),
    worker: z.string().min(1),
    model: z.string().min(1),
    /** Requests this step runs (after coalescing unless disabled). */
    queries: z.number().int().nonnegative(),
    /** Sequences per engine batch (memory-limited) and how many batches. */
    batchSize: z.number().int().positive(),
    waves: z.number().int().nonnegative(),
    /** Summary of where the step's reusable KV comes from: migrate if any is migrated, reuse if any is reused. */
    kv: KvActionSchema,
    /** Worker the migrated KV comes from. */
    migrateFrom: z.string().min(1).optional(),
    prefixKv: KvActionSchema,
    contextKv: KvActionSchema,
    prefilledTokens: nonNegative,
    reusedTokens: nonNegative,
    migratedTokens: nonNegative,
    /** KV already resident on the worker while the step runs, and the running batch's KV. */
    residentKvBytes: nonNegative,
    batchKvBytes: nonNegative,
    estimate: StepEstimateSchema,
  })
  .strict();

/** A worker idle in an epoch loading the model of a later step (so that step pays no load). */
export const PlanPreloadSchema = z
  .object({
    worker: z.string().min(1),
    model: z.string().min(1),
    loadMs: nonNegative,
    startMs: nonNegative,
    endMs: nonNegative,
  })
  .strict();

export const PlanEpochSchema = z
  .object({
    index: z.number().int().nonnegative(),
    startMs: nonNegative,
    endMs: nonNegative,
    steps: z.array(PlanStepSchema).min(1),
    preloads: z.array(PlanPreloadSchema),
  })
  .strict();

/** A tool operator: which pool runs it, in which epoch, and its estimated time. */
export const PlanCpuOperatorSchema = z
  .object({
    operator: z.string().min(1),
    kind: z.enum(["sql", "http", "processor"]),
    pool: z.string().min(1),
    /** Epoch during which it runs (its last LLM ancestor finishes there; 0 for input-only tools). */
    epoch: z.number().int().nonnegative(),
    calls: z.number().int().nonnegative(),
    latencyMeanMs: nonNegative,
    latencyP95Ms: nonNegative,
    /** Pool busy time of all its calls. */
    workMs: nonNegative,
    startMs: nonNegative,
    endMs: nonNegative,
  })
  .strict();

export const PlanWorkerSchema = z
  .object({
    id: z.string().min(1),
    device: z.string().min(1),
    memoryBytes: z.number().positive(),
    address: z.string().min(1).optional(),
  })
  .strict();

export const SolverReportSchema = z
  .object({
    solver: z.enum(["glpk", "highs"]),
    status: z.enum(["optimal", "feasible", "no-solution"]),
    objectiveMs: nonNegative.optional(),
    bestBoundMs: nonNegative.optional(),
    incumbentMs: nonNegative.optional(),
    incumbent: z.enum(["dp", "milp"]).optional(),
    proven: z.boolean().optional(),
    gap: nonNegative.optional(),
    variables: z.number().int().nonnegative(),
    constraints: z.number().int().nonnegative(),
    solveMs: nonNegative,
  })
  .strict();

export const SearchReportSchema = z
  .object({
    mode: z.enum(["exact", "beam"]),
    proven: z.boolean(),
    expandedStates: z.number().int().nonnegative(),
    generatedStates: z.number().int().nonnegative(),
    incumbentWon: z.boolean(),
  })
  .strict();

/** An execution plan: what runs where and in which order, with the cost model's estimates. JSON. */
export const ExecutionPlanSchema = z
  .object({
    planVersion: z.literal(PLAN_VERSION),
    workflow: z.string(),
    queryCount: z.number().int().positive(),
    strategy: z.string().min(1),
    /** Wall-clock time the strategy took. */
    solveMs: nonNegative,
    /** Optimizations the plan was priced without; the runtime must disable them too. */
    disabledOptimizations: z.array(z.enum(OPTIMIZATION_NAMES)),
    workers: z.array(PlanWorkerSchema).min(1),
    epochs: z.array(PlanEpochSchema),
    cpuOperators: z.array(PlanCpuOperatorSchema),
    /**
     * The plan's makespan in continuous time (epochs are priorities, not barriers): the last end of any
     * step, preload or tool operator, at least toolPoolBoundMs.
     */
    estimatedMakespanMs: nonNegative,
    /**
     * The plan replayed at micro-batch granularity as the runtime runs it (calls flow to an
     * operator as its parents' calls finish; `pipelined-replay.ts`): the estimate to compare a
     * run with. `estimatedMakespanMs` prices steps as units and is what strategies minimize.
     * Absent in older plans.
     */
    pipelinedMakespanMs: nonNegative.optional(),
    /** The epoch model's figure for the same plan (epochs as barriers: max(Σ epochs, toolPoolBoundMs)); absent in older plans. */
    epochMakespanMs: nonNegative.optional(),
    /** The busiest CPU pool's total time: pipelined tools overlap inference, so they bound the makespan as a whole. */
    toolPoolBoundMs: nonNegative,
    lowerBoundMs: nonNegative,
    /** Model loads over the plan (switches and preloads included). */
    modelLoads: z.number().int().nonnegative(),
    solver: SolverReportSchema.optional(),
    search: SearchReportSchema.optional(),
    warnings: z.array(z.string()),
  })
  .strict();

export type StepEstimate = z.infer<typeof StepEstimateSchema>;
export type PlanStep = z.infer<typeof PlanStepSchema>;
export type PlanEpoch = z.infer<typeof PlanEpochSchema>;
export type PlanPreload = z.infer<typeof PlanPreloadSchema>;
export type PlanCpuOperator = z.infer<typeof PlanCpuOperatorSchema>;
export type PlanWorker = z.infer<typeof PlanWorkerSchema>;
export type ExecutionPlan = z.infer<typeof ExecutionPlanSchema>;

/** Thrown for a plan document that does not match the schema; `issues` name the JSON paths. */
export class PlanFormatError extends Error {
  constructor(
    message: string,
    readonly issues: readonly string[],
  ) {
    super(message);
    this.name = "PlanFormatError";
  }
}

/**
 * Validates `value` with `schema`, or throws `PlanFormatError` listing each problem as
 * `<where>: <field path>: <message>` under `invalid <what> in <where>`.
 */
export function parseWithSchema<T>(schema: z.ZodType<T>, value: unknown, where: string, what: string): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => {
    const path = issue.path
      .map((part) => (typeof part === "number" ? `[${part}]` : `.${String(part)}`))
      .join("");
    return `${where}: ${path === "" ? "(root)" : path.replace(/^\./, "")}: ${issue.message}`;
  });
  throw new PlanFormatError(`invalid ${what} in ${where}:\n  ${issues.join("\n  ")}`, issues);
}

/** Validates parsed JSON as an execution plan; `where` names the file in errors. */
export function parseExecutionPlan(value: unknown, where = "plan"): ExecutionPlan {
  return parseWithSchema(ExecutionPlanSchema, value, where, "execution plan");
}
