import { z } from "zod";
import { parseWithSchema } from "./execution-plan.js";

/**
 * What an earlier run of a workflow measured per operator (the runtime's
 * `RunSummary.observed`), for the estimator to plan the next batch of the same
 * workflow from instead of its defaults: output lengths (the default assumes half
 * of `max_tokens`), prompt sizes as the engine counts them (tool results and
 * upstream outputs are only guessed before a run), prompt tokens the engine's
 * prefix cache served, and tool call times. Totals, so runs can be added up.
 */
export const OBSERVED_STATISTICS_VERSION = 1;

const count = z.number().nonnegative().finite();

const ObservedLlmSchema = z
  .object({
    kind: z.literal("llm"),
    /** Answered generate items (distinct requests the engines ran). */
    items: count,
    promptTokens: count,
    /** Of the prompt tokens, those served from cached KV. */
    cachedTokens: count,
    generatedTokens: count,
  })
  .strict();

const ObservedToolSchema = z
  .object({
    kind: z.literal("tool"),
    /** Calls the tool ran (coalesced and cached instances excluded). */
    calls: count,
    /** Time the calls held a pool slot, summed (a batched SQL query counts once for its calls). */
    busyMs: count,
  })
  .strict();

export const ObservedStatisticsSchema = z
  .object({
    statisticsVersion: z.literal(OBSERVED_STATISTICS_VERSION),
    workflow: z.string().min(1),
    /** Queries of the run the figures come from. */
    queries: count,
    operators: z.record(
      z.string().min(1),
      z.discriminatedUnion("kind", [ObservedLlmSchema, ObservedToolSchema]),
    ),
  })
  .strict();

export type ObservedStatistics = z.infer<typeof ObservedStatisticsSchema>;
export type ObservedOperatorStatistics = ObservedStatistics["operators"][string];

/**
 * Validates parsed JSON as observed statistics; `where` names the file in errors. A run summary
 * (`halo run --summary`) is accepted too: its `observed` member is taken.
 */
export function parseObservedStatistics(value: unknown, where = "statistics"): ObservedStatistics {
  const candidate =
    typeof value === "object" &&
    value !== null &&
    !("statisticsVersion" in value) &&
    "observed" in value &&
    typeof (value as { observed: unknown }).observed === "object"
      ? (value as { observed: unknown }).observed
      : value;
  return parseWithSchema(
    ObservedStatisticsSchema,
    candidate,
    where,
    'observed statistics (a run summary from `halo run --summary`, or its "observed" member)',
  );
}

/** The observation of operator `id`, if any. */
export function observedOperator(
  observed: ObservedStatistics | undefined,
  id: string,
): ObservedOperatorStatistics | undefined {
  return observed && Object.hasOwn(observed.operators, id) ? observed.operators[id] : undefined;
}

/** Per-item means of an LLM operator's observation, or undefined when it answered no item. */
export function observedLlmMeans(
  observed: ObservedOperatorStatistics | undefined,
): { promptTokens: number; cachedTokens: number; outputTokens: number } | undefined {
  if (observed?.kind !== "llm" || observed.items <= 0) return undefined;
  return {
    promptTokens: observed.promptTokens / observed.items,
    cachedTokens: observed.cachedTokens / observed.items,
    outputTokens: observed.generatedTokens / observed.items,
  };
}

/** Mean pool time per call of a tool operator's observation, or undefined when it ran no call. */
export function observedToolLatencyMs(observed: ObservedOperatorStatistics | undefined): number | undefined {
  if (observed?.kind !== "tool" || observed.calls <= 0) return undefined;
  return observed.busyMs / observed.calls;
}

/**
 * The same statistics with every tool time multiplied by `factor` (a simulated run at time scale
 * `s` measured wall time: `1 / s` turns it into the device time plans are made in).
 */
export function scaleObservedTimes(observed: ObservedStatistics, factor: number): ObservedStatistics {
  return {
    ...observed,
    operators: Object.fromEntries(
      Object.entries(observed.operators).map(([id, figures]) => [
        id,
        figures.kind === "tool" ? { ...figures, busyMs: figures.busyMs * factor } : figures,
      ]),
    ),
  };
}

/**
 * Two runs' statistics of one workflow added up (`workflow` is the later's). An operator measured
 * as an LLM operator in one and a tool in the other (the workflow changed) keeps the later figures.
 */
export function mergeObservedStatistics(
  earlier: ObservedStatistics,
  later: ObservedStatistics,
): ObservedStatistics {
  const operators: Record<string, ObservedOperatorStatistics> = { ...earlier.operators };
  for (const [id, figures] of Object.entries(later.operators)) {
    const before = Object.hasOwn(operators, id) ? operators[id] : undefined;
    if (before?.kind === "llm" && figures.kind === "llm") {
      operators[id] = {
        kind: "llm",
        items: before.items + figures.items,
        promptTokens: before.promptTokens + figures.promptTokens,
        cachedTokens: before.cachedTokens + figures.cachedTokens,
        generatedTokens: before.generatedTokens + figures.generatedTokens,
      };
    } else if (before?.kind === "tool" && figures.kind === "tool") {
      operators[id] = {
        kind: "tool",
        calls: before.calls + figures.calls,
        busyMs: before.busyMs + figures.busyMs,
      };
    } else {
      operators[id] = figures;
    }
  }
  return { ...later, queries: earlier.queries + later.queries, operators };
}
