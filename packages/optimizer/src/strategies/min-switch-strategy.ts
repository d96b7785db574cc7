import { readyByPriority, scheduleByRule } from "../epoch-heuristics.js";
import { type LowerBoundTables, lowerBoundTables } from "../lower-bound.js";
import { bit, type ProblemIndex } from "../problem-index.js";
import type { EpochAssignment, SearchState } from "../search-state.js";
import type { PlanningStrategy } from "./planning-strategy.js";

/**
 * `minswitch`: minimizes model switches. A worker keeps its model while
 * operators of that model remain (idling rather than switching while they are
 * not ready yet); a worker whose model has no work left switches to the ready
 * model with the most remaining work. Workers of one model split its ready
 * operators between them.
 */
export const minSwitchStrategy: PlanningStrategy = {
  specificationVersion: "v1",
  name: "minswitch",
  description: "keep each worker on its model while that model has work; fewest switches",
  plan(index, options) {
    const tables = lowerBoundTables(index, options.disabled);
    const schedule = scheduleByRule(
      index,
      options.disabled,
      (state) => minSwitchEpoch(index, tables, state),
      "minswitch",
    );
    return { schedule, warnings: [] };
  },
};

function minSwitchEpoch(
  index: ProblemIndex,
  tables: LowerBoundTables,
  state: SearchState,
): EpochAssignment[] {
  const ready = readyByPriority(index, tables, state.done);
  const remainingWork = new Map<string, number>();
  for (let operator = 0; operator < index.llm.length; operator++) {
    if ((state.done & bit(operator)) !== 0n) continue;
    const model = index.llm[operator]!.model;
    remainingWork.set(model, (remainingWork.get(model) ?? 0) + tables.minWorkMs[operator]!);
  }
  const assigned = new Map<number, number[]>();
  const take = (worker: number, model: string): boolean => {
    const candidates = ready.filter(
      (operator) => index.llm[operator]!.model === model && index.modelOn[worker]![operator] !== undefined,
    );
    if (candidates.length === 0) return false;
    // An unassigned operator of the model first; otherwise help the one with the fewest workers.
    const fresh = candidates.find((operator) => !assigned.has(operator));
    const operator =
      fresh ??
      [...candidates].sort((left, right) => assigned.get(left)!.length - assigned.get(right)!.length)[0]!;
    assigned.set(operator, [...(assigned.get(operator) ?? []), worker]);
    return true;
  };
  const readyModelsByWork = () =>
    [...new Set(ready.map((operator) => index.llm[operator]!.model))].sort(
      (left, right) => remainingWork.get(right)! - remainingWork.get(left)! || left.localeCompare(right),
    );
  const switching: number[] = [];
  state.workers.forEach((worker, position) => {
    const model = worker.model;
    if (model !== null && (remainingWork.get(model) ?? 0) > 0) {
      take(position, model);
    } else {
      switching.push(position);
    }
  });
  for (const worker of switching) {
    const loadedElsewhere = new Set(state.workers.map((other) => other.model));
    const models = readyModelsByWork();
    // Prefer a model no worker holds yet, so one load serves it.
    const ordered = [
      ...models.filter((model) => !loadedElsewhere.has(model)),
      ...models.filter((model) => loadedElsewhere.has(model)),
    ];
    for (const model of ordered) if (take(worker, model)) break;
  }
  if (assigned.size === 0) {
    // Every worker waits for its model's work: switch the first capable worker to the most urgent operator.
    const operator = ready[0]!;
    const worker = state.workers.findIndex((_, position) => index.modelOn[position]![operator] !== undefined);
    assigned.set(operator, [worker]);
  }
  return [...assigned.entries()]
    .sort((left, right) => left[0] - right[0])
    .map(([operator, workers]) => ({ operator, workers: [...workers].sort((left, right) => left - right) }));
}
