import { EpochPriceCache } from "./epoch-price-cache.js";
import { assignmentSpanMs, evaluateEpoch } from "./epoch-pricing.js";
import type { LowerBoundTables } from "./lower-bound.js";
import { type DisabledOptimizations, PlanningError } from "./planning-problem.js";
import type { ProblemIndex } from "./problem-index.js";
import {
  type Epoch,
  type EpochAssignment,
  type EpochSchedule,
  holdsModel,
  initialState,
  isPreload,
  type PreloadAssignment,
  readyOperators,
  type SearchState,
} from "./search-state.js";

/**
 * Epoch-building rules of the greedy baseline (whose plan also seeds the
 * DP's bound). All deterministic.
 */

/** Ready operators, most urgent first: longest remaining critical path, then position. */
export function readyByPriority(index: ProblemIndex, tables: LowerBoundTables, done: bigint): number[] {
  return readyOperators(index, done).sort(
    (left, right) => tables.bottomLevelMs[right]! - tables.bottomLevelMs[left]! || left - right,
  );
}

/** Options of the greedy epoch rule. */
export interface GreedyEpochOptions {
  /** Only these operators (default: every ready one). */
  readonly operators?: readonly number[];
  /** Give idle workers to the slowest operator while that shortens it (default true). */
  readonly spread?: boolean;
  /** Most operators in the epoch (default: no limit). */
  readonly maxOperators?: number;
  /** Memoized prices from this state (shared by several rules from one state). */
  readonly cache?: EpochPriceCache;
  /** Idle workers whose model has no work left preload a model no worker holds that later work needs. */
  readonly preload?: boolean;
}

/** Free workers, one per group of interchangeable ones (same class, same state): trying one tries them all. */
function representatives(index: ProblemIndex, cache: EpochPriceCache, free: ReadonlySet<number>): number[] {
  const keys = cache.groupKeys(index);
  const seen = new Set<string>();
  const result: number[] = [];
  for (const worker of [...free].sort((left, right) => left - right)) {
    const key = keys[worker]!;
    if (seen.has(key)) continue;
    seen.add(key);
    result.push(worker);
  }
  return result;
}

/**
 * Greedy epoch: operators by priority, each on the free worker where it runs
 * fastest; then idle workers join the slowest operator while that shortens it.
 */
export function greedyEpoch(
  index: ProblemIndex,
  tables: LowerBoundTables,
  state: SearchState,
  disabled: DisabledOptimizations,
  options: GreedyEpochOptions = {},
): Epoch {
  const cache = options.cache ?? new EpochPriceCache(state);
  const candidates = options.operators ?? readyByPriority(index, tables, state.done);
  const limit = options.maxOperators ?? Number.POSITIVE_INFINITY;
  const free = new Set(index.problem.workers.map((_, worker) => worker));
  const assignments: { operator: number; workers: number[]; costMs: number }[] = [];
  for (const operator of candidates) {
    if (free.size === 0 || assignments.length >= limit) break;
    let best: { worker: number; costMs: number } | undefined;
    for (const worker of representatives(index, cache, free)) {
      const costMs = assignmentSpanMs(index, state, { operator, workers: [worker] }, disabled, cache);
      if (costMs < (best?.costMs ?? Number.POSITIVE_INFINITY)) best = { worker, costMs };
    }
    if (!best) continue;
    free.delete(best.worker);
    assignments.push({ operator, workers: [best.worker], costMs: best.costMs });
  }
  if (options.spread !== false) spreadIdleWorkers(index, state, disabled, assignments, free, cache);
  const epoch: EpochAssignment[] = assignments.map(({ operator, workers }) => ({
    operator,
    workers: [...workers].sort((left, right) => left - right),
  }));
  if (options.preload && assignments.length > 0)
    epoch.push(...preloadsFor(index, tables, state, assignments, free));
  return epoch;
}

/** Preloads for idle workers: the most urgent later model that no worker will hold after this epoch. */
function preloadsFor(
  index: ProblemIndex,
  tables: LowerBoundTables,
  state: SearchState,
  assignments: readonly { operator: number; workers: readonly number[] }[],
  free: ReadonlySet<number>,
): PreloadAssignment[] {
  const inEpoch = new Set(assignments.map((assignment) => assignment.operator));
  const later = index.llm
    .map((operator, position) => ({ operator, position }))
    .filter(({ position }) => (state.done & (1n << BigInt(position))) === 0n && !inEpoch.has(position))
    .sort(
      (left, right) =>
        tables.bottomLevelMs[right.position]! - tables.bottomLevelMs[left.position]! ||
        left.position - right.position,
    );
  const laterModels = [...new Set(later.map(({ operator }) => operator.model))];
  const held = new Map<string, number>();
  const hold = (model: string | null) => {
    if (model !== null) held.set(model, (held.get(model) ?? 0) + 1);
  };
  state.workers.forEach((worker, position) => {
    if (!free.has(position)) return;
    hold(worker.model);
    for (const resident of worker.resident) hold(resident);
  });
  for (const assignment of assignments)
    for (const _ of assignment.workers) hold(index.llm[assignment.operator]!.model);
  const byModel = new Map<string, number[]>();
  for (const worker of [...free].sort((left, right) => left - right)) {
    const current = state.workers[worker]!.model;
    if (current !== null && laterModels.includes(current)) continue;
    const model = laterModels.find(
      (candidate) =>
        !held.has(candidate) &&
        index.workerModels[worker]!.has(candidate) &&
        !holdsModel(state.workers[worker]!, candidate),
    );
    if (model === undefined) continue;
    hold(model);
    byModel.set(model, [...(byModel.get(model) ?? []), worker]);
  }
  return [...byModel.entries()].map(([preload, workers]) => ({ preload, workers }));
}

/**
 * Gives free workers to the slowest assignment while that makes it faster:
 * workers of one group at a time, doubling the operator's workers when that
 * helps (so many workers cost a logarithmic number of tries), else one more.
 */
function spreadIdleWorkers(
  index: ProblemIndex,
  state: SearchState,
  disabled: DisabledOptimizations,
  assignments: { operator: number; workers: number[]; costMs: number }[],
  free: Set<number>,
  cache: EpochPriceCache,
): void {
  const stuck = new Set<number>();
  const keys = cache.groupKeys(index);
  while (free.size > 0) {
    let slowest: (typeof assignments)[number] | undefined;
    for (const assignment of assignments) {
      if (stuck.has(assignment.operator)) continue;
      if (!slowest || assignment.costMs > slowest.costMs) slowest = assignment;
    }
    if (!slowest) return;
    let best: { workers: number[]; costMs: number } | undefined;
    for (const representative of representatives(index, cache, free)) {
      const group = [...free]
        .filter((worker) => keys[worker] === keys[representative])
        .sort((left, right) => left - right);
      for (const size of new Set([Math.min(group.length, slowest.workers.length), 1])) {
        const added = group.slice(0, size);
        const workers = [...slowest.workers, ...added].sort((left, right) => left - right);
        const costMs = assignmentSpanMs(
          index,
          state,
          { operator: slowest.operator, workers },
          disabled,
          cache,
        );
        if (costMs < (best?.costMs ?? Number.POSITIVE_INFINITY)) best = { workers: added, costMs };
      }
    }
    if (!best || best.costMs >= slowest.costMs) {
      stuck.add(slowest.operator);
      continue;
    }
    slowest.workers.push(...best.workers);
    slowest.costMs = best.costMs;
    for (const worker of best.workers) free.delete(worker);
  }
}

/** Canonical text of an epoch (operators and preloads with their workers). */
export function epochKey(epoch: Epoch): string {
  return epoch
    .map((assignment) =>
      isPreload(assignment)
        ? `p:${assignment.preload}:${assignment.workers.join(",")}`
        : `${assignment.operator}:${assignment.workers.join(",")}`,
    )
    .sort()
    .join(" ");
}

/** Builds a schedule by applying an epoch rule from the initial state until every LLM operator is done. */
export function scheduleByRule(
  index: ProblemIndex,
  disabled: DisabledOptimizations,
  rule: (state: SearchState) => Epoch,
  strategy: string,
): EpochSchedule {
  const schedule: Epoch[] = [];
  let state = initialState(index);
  while (state.done !== index.allDone) {
    const epoch = rule(state);
    const outcome = evaluateEpoch(index, state, epoch, disabled);
    if (!outcome) {
      throw new PlanningError(`${strategy}: built an invalid epoch (${epochKey(epoch)}); this is a bug`);
    }
    schedule.push(epoch);
    state = outcome.next;
  }
  return schedule;
}
