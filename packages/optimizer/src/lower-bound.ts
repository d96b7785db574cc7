import { llmRequestCount, llmShardCost, toolLatencyMs, toolPoolWorkMs } from "./cost-model.js";
import type { SearchState } from "./epoch-model.js";
import type { DisabledOptimizations } from "./planning-problem.js";
import { bit, type ProblemIndex } from "./problem-index.js";

/**
 * Admissible lower bounds on the makespan. Each LLM operator is priced at its
 * fastest (model loaded, prefix and inherited context resident; for its span
 * split over every worker that can serve it, for its work in one piece):
 * - critical path: along any dependency chain the operators run in distinct
 *   epochs, each at least its fastest span, plus the tools' latencies between;
 * - work: every epoch lasts at least its total work / number of workers, and
 *   every model not loaded anywhere must be loaded once;
 * - tools: a pool cannot finish before its total busy time.
 */
export interface LowerBoundTables {
  /** Per LLM operator: fastest span (split as widely as possible). */
  readonly minSpanMs: readonly number[];
  /** Per LLM operator: least total work (one piece, best worker). */
  readonly minWorkMs: readonly number[];
  /** Per LLM operator: longest chain of fastest spans and tool latencies from it to the end. */
  readonly bottomLevelMs: readonly number[];
  /** Per LLM operator: latency of its input tools (waited before the first epoch). */
  readonly initialFillMs: readonly number[];
  /** Per model: least load time over the workers. */
  readonly minLoadMs: ReadonlyMap<string, number>;
  /** Bound from the tools alone (pool busy times, input tool chains). */
  readonly toolBoundMs: number;
  readonly workerCount: number;
}

/** Computes the per-operator tables of the bounds under the given disabled optimizations. */
export function lowerBoundTables(index: ProblemIndex, disabled: DisabledOptimizations): LowerBoundTables {
  const workers = index.problem.workers;
  const minSpanMs: number[] = [];
  const minWorkMs: number[] = [];
  const minLoadMs = new Map<string, number>();
  index.llm.forEach((operator, position) => {
    const requests = llmRequestCount(operator.statistics, disabled);
    const capable = workers.flatMap((_, worker) => (index.modelOn[worker]![position] ? [worker] : []));
    const widest = Math.ceil(requests / capable.length);
    const residency = {
      modelLoaded: true,
      prefixResident: true,
      inheritedLocalRequests: requests,
      inheritedRemoteRequests: 0,
    };
    let span = Number.POSITIVE_INFINITY;
    let work = Number.POSITIVE_INFINITY;
    for (const worker of capable) {
      const model = index.modelOn[worker]![position]!;
      const device = workers[worker]!.profile;
      const spanCost = llmShardCost(device, model, operator.statistics, widest, residency, 0, disabled);
      const workCost = llmShardCost(device, model, operator.statistics, requests, residency, 0, disabled);
      if (spanCost) span = Math.min(span, spanCost.totalMs);
      if (workCost) work = Math.min(work, workCost.totalMs);
      minLoadMs.set(
        operator.model,
        Math.min(minLoadMs.get(operator.model) ?? Number.POSITIVE_INFINITY, model.loadMs),
      );
    }
    minSpanMs.push(Number.isFinite(span) ? span : 0);
    minWorkMs.push(Number.isFinite(work) ? work : 0);
  });

  // Tool chains after each tool (latency), used for the tails of LLM operators.
  const toolTailMs: number[] = new Array(index.tools.length).fill(0);
  for (let tool = index.tools.length - 1; tool >= 0; tool--) {
    let longest = 0;
    for (const child of index.toolToolChildren[tool]!) longest = Math.max(longest, toolTailMs[child]!);
    toolTailMs[tool] = toolLatencyMs(index.tools[tool]!.statistics) + longest;
  }
  const toolHeadMs: number[] = new Array(index.tools.length).fill(0);
  for (let tool = 0; tool < index.tools.length; tool++) {
    let longest = 0;
    for (const parent of index.toolToolParents[tool]!) longest = Math.max(longest, toolHeadMs[parent]!);
    toolHeadMs[tool] = toolLatencyMs(index.tools[tool]!.statistics) + longest;
  }

  const bottomLevelMs: number[] = new Array(index.llm.length).fill(0);
  for (let position = index.llm.length - 1; position >= 0; position--) {
    let after = 0;
    for (const tool of index.llmToolChildren[position]!) after = Math.max(after, toolTailMs[tool]!);
    for (const successor of index.llmSuccessors[position]!) {
      after = Math.max(after, successor.toolLatencyMs + bottomLevelMs[successor.operator]!);
    }
    bottomLevelMs[position] = minSpanMs[position]! + after;
  }
  const initialFillMs = index.llm.map((_, position) => {
    let fill = 0;
    for (const tool of index.llmToolParents[position]!) {
      if (index.toolLlmAncestors[tool] === 0n) fill = Math.max(fill, toolHeadMs[tool]!);
    }
    return fill;
  });

  const poolBusy = new Map<string, number>();
  let toolBoundMs = 0;
  index.tools.forEach((operator, tool) => {
    const workMs = toolPoolWorkMs(operator.statistics, index.toolConcurrency[tool]!, disabled);
    poolBusy.set(operator.pool, (poolBusy.get(operator.pool) ?? 0) + workMs);
    if (index.toolLlmAncestors[tool] === 0n) toolBoundMs = Math.max(toolBoundMs, toolHeadMs[tool]!);
  });
  toolBoundMs = Math.max(toolBoundMs, ...poolBusy.values());
  return {
    minSpanMs,
    minWorkMs,
    bottomLevelMs,
    initialFillMs,
    minLoadMs,
    toolBoundMs,
    workerCount: workers.length,
  };
}

/** A lower bound on the time still needed from `state` (admissible: never above the best completion). */
export function remainingLowerBound(
  index: ProblemIndex,
  tables: LowerBoundTables,
  state: SearchState,
): number {
  const first = state.done === 0n;
  let criticalMs = 0;
  let workMs = 0;
  const models = new Set<string>();
  for (let position = 0; position < index.llm.length; position++) {
    if ((state.done & bit(position)) !== 0n) continue;
    const path = tables.bottomLevelMs[position]! + (first ? tables.initialFillMs[position]! : 0);
    if (path > criticalMs) criticalMs = path;
    workMs += tables.minWorkMs[position]!;
    models.add(index.llm[position]!.model);
  }
  for (const worker of state.workers) if (worker.model !== null) models.delete(worker.model);
  for (const model of models) workMs += tables.minLoadMs.get(model) ?? 0;
  const bound = Math.max(criticalMs, workMs / tables.workerCount);
  return first ? Math.max(bound, tables.toolBoundMs) : bound;
}
