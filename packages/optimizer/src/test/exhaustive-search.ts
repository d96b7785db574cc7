import type { Epoch, SearchState } from "../epoch-model.js";
import { evaluateEpoch, initialState, poolBoundMs, readyOperators } from "../epoch-model.js";
import type { DisabledOptimizations } from "../planning-problem.js";
import type { ProblemIndex } from "../problem-index.js";

/**
 * The optimum of the epoch model by exhaustive search, for tests: every epoch
 * (every map of workers to ready operators, preloads or idleness; no
 * symmetry, no bounds, no heuristics) from every state, memoized on the exact
 * state. Only for tiny instances.
 */
export function exhaustiveOptimumMs(
  index: ProblemIndex,
  disabled: DisabledOptimizations,
  splitOperators = true,
): number {
  const memo = new Map<string, number>();
  const workerCount = index.problem.workers.length;
  const solve = (state: SearchState): number => {
    if (state.done === index.allDone) return 0;
    const key = `${state.done}|${state.workers.map((worker) => worker.key).join(";")}`;
    const known = memo.get(key);
    if (known !== undefined) return known;
    const ready = readyOperators(index, state.done);
    const remaining = new Set(
      index.llm
        .filter((_, position) => (state.done & (1n << BigInt(position))) === 0n)
        .map((operator) => operator.model),
    );
    let best = Number.POSITIVE_INFINITY;
    // Per worker: idle, a ready operator, or preloading a model some operator still needs.
    type Choice = { operator: number } | { preload: string } | undefined;
    const choice = new Array<Choice>(workerCount).fill(undefined);
    const visit = (worker: number) => {
      if (worker === workerCount) {
        const byOperator = new Map<number, number[]>();
        const byModel = new Map<string, number[]>();
        choice.forEach((picked, position) => {
          if (picked && "operator" in picked) {
            byOperator.set(picked.operator, [...(byOperator.get(picked.operator) ?? []), position]);
          } else if (picked) {
            byModel.set(picked.preload, [...(byModel.get(picked.preload) ?? []), position]);
          }
        });
        if (byOperator.size === 0) return;
        if (!splitOperators && [...byOperator.values()].some((workers) => workers.length > 1)) return;
        const epoch: Epoch = [
          ...[...byOperator.entries()].map(([operator, workers]) => ({ operator, workers })),
          ...[...byModel.entries()].map(([preload, workers]) => ({ preload, workers })),
        ];
        const outcome = evaluateEpoch(index, state, epoch, disabled);
        if (!outcome) return;
        best = Math.min(best, outcome.costMs + solve(outcome.next));
        return;
      }
      const preloads = [...index.workerModels[worker]!.keys()].filter(
        (model) => remaining.has(model) && state.workers[worker]!.model !== model,
      );
      const options: Choice[] = [
        undefined,
        ...ready.map((operator) => ({ operator })),
        ...preloads.map((preload) => ({ preload })),
      ];
      for (const option of options) {
        choice[worker] = option;
        visit(worker + 1);
      }
    };
    visit(0);
    memo.set(key, best);
    return best;
  };
  return Math.max(solve(initialState(index)), poolBoundMs(index, disabled));
}
