import { llmRequestCount, llmShardCost, toolLatencyMs, toolPoolWorkMs } from "./cost-model.js";
import type { TimedState } from "./list-schedule.js";
import type { DisabledOptimizations } from "./planning-problem.js";
import { bit, type ProblemIndex } from "./problem-index.js";
import { holdsModel, type SearchState } from "./search-state.js";
import { type TimingTables, timingTables } from "./timing-tables.js";

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
  for (const worker of state.workers) {
    if (worker.model !== null) models.delete(worker.model);
    for (const resident of worker.resident) models.delete(resident);
  }
  for (const model of models) workMs += tables.minLoadMs.get(model) ?? 0;
  const bound = Math.max(criticalMs, workMs / tables.workerCount);
  return first ? Math.max(bound, tables.toolBoundMs) : bound;
}

/** What the continuous-time bound needs besides `LowerBoundTables`. */
export interface ContinuousBoundTables {
  readonly base: LowerBoundTables;
  readonly timing: TimingTables;
  /** Per LLM operator: fastest span + the longest chain after it (tools between and after, continuous time). */
  readonly bottomMs: readonly number[];
  /** Per LLM operator: the workers that can serve it, and each one's load time of its model. */
  readonly capable: readonly (readonly number[])[];
  readonly loadOn: readonly (readonly number[])[];
  /** Per LLM operator: its model's number; per model number: the model and its least load time. */
  readonly modelIdOf: readonly number[];
  readonly modelIds: ReadonlyMap<string, number>;
  readonly minLoadByModel: readonly number[];
  /** Scratch space of the bound (one search at a time; JavaScript runs it to the end). */
  readonly scratchStartMs: Float64Array;
  readonly scratchNeeded: Uint8Array;
}

const continuousMemo = new WeakMap<ProblemIndex, Map<string, ContinuousBoundTables>>();

/** The continuous-time bound's tables (memoized per problem and disabled set). */
export function continuousBoundTables(
  index: ProblemIndex,
  disabled: DisabledOptimizations,
): ContinuousBoundTables {
  let byDisabled = continuousMemo.get(index);
  if (!byDisabled) {
    byDisabled = new Map();
    continuousMemo.set(index, byDisabled);
  }
  const key = `${+disabled.prefixSharing}${+disabled.coalescing}${+disabled.migration}${+disabled.pipelining}${+disabled.batching}`;
  const known = byDisabled.get(key);
  if (known) return known;
  const base = lowerBoundTables(index, disabled);
  const timing = timingTables(index, disabled);
  const bottomMs: number[] = new Array(index.llm.length).fill(0);
  for (let position = index.llm.length - 1; position >= 0; position--) {
    let after = timing.tailMs[position]!;
    for (const edge of timing.successors[position]!)
      after = Math.max(after, edge.gapMs + bottomMs[edge.operator]!);
    bottomMs[position] = base.minSpanMs[position]! + after;
  }
  const capable = index.llm.map((_, position) =>
    index.problem.workers.flatMap((_, worker) => (index.modelOn[worker]![position] ? [worker] : [])),
  );
  const loadOn = index.llm.map((_, position) =>
    index.problem.workers.map((_, worker) => index.modelOn[worker]![position]?.loadMs ?? 0),
  );
  const modelIds = new Map<string, number>();
  const modelIdOf = index.llm.map((operator) => {
    let id = modelIds.get(operator.model);
    if (id === undefined) {
      id = modelIds.size;
      modelIds.set(operator.model, id);
    }
    return id;
  });
  const minLoadByModel = [...modelIds.keys()].map((model) => base.minLoadMs.get(model) ?? 0);
  const tables = {
    base,
    timing,
    bottomMs,
    capable,
    loadOn,
    modelIdOf,
    modelIds,
    minLoadByModel,
    scratchStartMs: new Float64Array(index.llm.length),
    scratchNeeded: new Uint8Array(modelIds.size),
  };
  byDisabled.set(key, tables);
  return tables;
}

/**
 * An admissible bound on the continuous-time makespan of any completion of
 * `timed` (the list scheduler's, see `list-schedule.ts`): the makespan so
 * far; every operator not done starts no earlier than its inputs allow (done
 * parents' ends, or not-done parents' earliest ends, plus the tools between)
 * nor before some worker that can serve it is free (and has loaded its
 * model), then takes at least its chain to the end; and the workers' busy
 * time so far plus the least work left (one load per model no worker holds)
 * spread over all workers.
 */
export function continuousLowerBoundMs(
  index: ProblemIndex,
  tables: ContinuousBoundTables,
  timed: TimedState,
): number {
  const { base, timing } = tables;
  const workers = timed.state.workers;
  const finishMs = timed.finishMs;
  const earliestStart = tables.scratchStartMs;
  const needed = tables.scratchNeeded;
  needed.fill(0);
  let bound = timed.makespanMs;
  let workMs = 0;
  for (let position = 0; position < index.llm.length; position++) {
    // Done operators have a finish time (the search's hot path avoids bigint masks here).
    if (!Number.isNaN(finishMs[position]!)) continue;
    const model = index.llm[position]!.model;
    let start = Number.POSITIVE_INFINITY;
    const loadOn = tables.loadOn[position]!;
    // Indexed loops: this runs for every node the searches price.
    const capable = tables.capable[position]!;
    for (let at = 0; at < capable.length; at++) {
      const worker = capable[at]!;
      const free = timed.freeMs[worker]! + (holdsModel(workers[worker]!, model) ? 0 : loadOn[worker]!);
      if (free < start) start = free;
    }
    if (timing.releaseMs[position]! > start) start = timing.releaseMs[position]!;
    const predecessors = timing.predecessors[position]!;
    for (let at = 0; at < predecessors.length; at++) {
      const edge = predecessors[at]!;
      const parent = edge.operator;
      const parentFinish = finishMs[parent]!;
      const parentEnd = Number.isNaN(parentFinish)
        ? earliestStart[parent]! + base.minSpanMs[parent]!
        : parentFinish;
      if (parentEnd + edge.gapMs > start) start = parentEnd + edge.gapMs;
    }
    earliestStart[position] = start;
    const path = start + tables.bottomMs[position]!;
    if (path > bound) bound = path;
    workMs += base.minWorkMs[position]!;
    needed[tables.modelIdOf[position]!] = 1;
  }
  // One load for every model some operator still needs that no worker holds.
  for (let worker = 0; worker < workers.length; worker++) {
    const model = workers[worker]!.model;
    const id = model === null ? undefined : tables.modelIds.get(model);
    if (id !== undefined) needed[id] = 0;
  }
  for (let id = 0; id < needed.length; id++) if (needed[id] === 1) workMs += tables.minLoadByModel[id]!;
  let busyMs = workMs;
  for (let worker = 0; worker < timed.freeMs.length; worker++) busyMs += timed.freeMs[worker]!;
  return Math.max(bound, busyMs / base.workerCount);
}
