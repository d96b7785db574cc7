import {
  type Epoch,
  type EpochAssignment,
  type EpochSchedule,
  evaluateEpoch,
  initialState,
  readyOperators,
  type SearchState,
} from "./epoch-model.js";
import type { LowerBoundTables } from "./lower-bound.js";
import { type DisabledOptimizations, PlanningError } from "./planning-problem.js";
import type { ProblemIndex } from "./problem-index.js";

/**
 * Epoch-building rules shared by the greedy baseline and the DP (which uses
 * them as candidate transitions when a state has too many to enumerate, and
 * to seed its bound). All deterministic.
 */

/** Ready operators, most urgent first: longest remaining critical path, then position. */
export function readyByPriority(index: ProblemIndex, tables: LowerBoundTables, done: bigint): number[] {
  return readyOperators(index, done).sort(
    (left, right) => tables.bottomLevelMs[right]! - tables.bottomLevelMs[left]! || left - right,
  );
}

/** Cost of running one assignment alone from `state` (its slowest shard incl. tool fill), or Infinity. */
export function assignmentCostMs(
  index: ProblemIndex,
  state: SearchState,
  assignment: EpochAssignment,
  disabled: DisabledOptimizations,
): number {
  const outcome = evaluateEpoch(index, state, [assignment], disabled);
  return outcome ? outcome.costMs : Number.POSITIVE_INFINITY;
}

/** Options of the greedy epoch rule. */
export interface GreedyEpochOptions {
  /** Only these operators (default: every ready one). */
  readonly operators?: readonly number[];
  /** Give idle workers to the slowest operator while that shortens it (default true). */
  readonly spread?: boolean;
  /** Most operators in the epoch (default: no limit). */
  readonly maxOperators?: number;
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
  const candidates = options.operators ?? readyByPriority(index, tables, state.done);
  const limit = options.maxOperators ?? Number.POSITIVE_INFINITY;
  const free = new Set(index.problem.workers.map((_, worker) => worker));
  const assignments: { operator: number; workers: number[]; costMs: number }[] = [];
  for (const operator of candidates) {
    if (free.size === 0 || assignments.length >= limit) break;
    let best: { worker: number; costMs: number } | undefined;
    for (const worker of free) {
      const costMs = assignmentCostMs(index, state, { operator, workers: [worker] }, disabled);
      if (costMs < (best?.costMs ?? Number.POSITIVE_INFINITY)) best = { worker, costMs };
    }
    if (!best) continue;
    free.delete(best.worker);
    assignments.push({ operator, workers: [best.worker], costMs: best.costMs });
  }
  if (options.spread !== false) spreadIdleWorkers(index, state, disabled, assignments, free);
  return assignments.map(({ operator, workers }) => ({
    operator,
    workers: [...workers].sort((left, right) => left - right),
  }));
}

/** Gives free workers to the slowest assignment while adding one makes it faster. */
function spreadIdleWorkers(
  index: ProblemIndex,
  state: SearchState,
  disabled: DisabledOptimizations,
  assignments: { operator: number; workers: number[]; costMs: number }[],
  free: Set<number>,
): void {
  const stuck = new Set<number>();
  while (free.size > 0) {
    let slowest: (typeof assignments)[number] | undefined;
    for (const assignment of assignments) {
      if (stuck.has(assignment.operator)) continue;
      if (!slowest || assignment.costMs > slowest.costMs) slowest = assignment;
    }
    if (!slowest) return;
    let best: { worker: number; costMs: number } | undefined;
    for (const worker of free) {
      const workers = [...slowest.workers, worker].sort((left, right) => left - right);
      const costMs = assignmentCostMs(index, state, { operator: slowest.operator, workers }, disabled);
      if (costMs < (best?.costMs ?? Number.POSITIVE_INFINITY)) best = { worker, costMs };
    }
    if (!best || best.costMs >= slowest.costMs) {
      stuck.add(slowest.operator);
      continue;
    }
    slowest.workers.push(best.worker);
    slowest.costMs = best.costMs;
    free.delete(best.worker);
  }
}

/**
 * A handful of good epochs from a state, for states with too many to
 * enumerate: greedy with and without spreading, operators whose model is
 * already loaded, each of the three most urgent operators alone on every
 * worker, and the ready operators of each model together. Deduplicated.
 */
export function candidateEpochs(
  index: ProblemIndex,
  tables: LowerBoundTables,
  state: SearchState,
  disabled: DisabledOptimizations,
  splitOperators: boolean,
): Epoch[] {
  const ready = readyByPriority(index, tables, state.done);
  const epochs: Epoch[] = [];
  const seen = new Set<string>();
  const add = (epoch: Epoch) => {
    if (epoch.length === 0) return;
    const key = epochKey(epoch);
    if (seen.has(key)) return;
    seen.add(key);
    epochs.push(epoch);
  };
  const spread = splitOperators;
  add(greedyEpoch(index, tables, state, disabled, { spread }));
  if (spread) add(greedyEpoch(index, tables, state, disabled, { spread: false }));
  const loaded = new Set(state.workers.map((worker) => worker.model));
  const warm = ready.filter((operator) => loaded.has(index.llm[operator]!.model));
  if (warm.length > 0) add(greedyEpoch(index, tables, state, disabled, { operators: warm, spread }));
  for (const operator of ready.slice(0, 3)) {
    add(greedyEpoch(index, tables, state, disabled, { operators: [operator], spread }));
  }
  const models = [...new Set(ready.map((operator) => index.llm[operator]!.model))];
  for (const model of models) {
    const same = ready.filter((operator) => index.llm[operator]!.model === model);
    add(greedyEpoch(index, tables, state, disabled, { operators: same, spread }));
  }
  return epochs;
}

/** Canonical text of an epoch (operators and their workers). */
export function epochKey(epoch: Epoch): string {
  return [...epoch]
    .sort((left, right) => left.operator - right.operator)
    .map((assignment) => `${assignment.operator}:${assignment.workers.join(",")}`)
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
