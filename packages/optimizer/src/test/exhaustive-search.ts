import type { Epoch, SearchState } from "../epoch-model.js";
import { evaluateEpoch, initialState, poolBoundMs, readyOperators } from "../epoch-model.js";
import type { DisabledOptimizations } from "../planning-problem.js";
import type { ProblemIndex } from "../problem-index.js";

/**
 * The optimum of the epoch model by exhaustive search, for tests: every epoch
 * (every map of workers to ready operators or idleness, no symmetry, no
 * bounds, no heuristics) from every state, memoized on the exact state. Only
 * for tiny instances.
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
    let best = Number.POSITIVE_INFINITY;
    const choice = new Array<number>(workerCount).fill(-1);
    const visit = (worker: number) => {
      if (worker === workerCount) {
        const byOperator = new Map<number, number[]>();
        choice.forEach((operator, position) => {
          if (operator >= 0) byOperator.set(operator, [...(byOperator.get(operator) ?? []), position]);
        });
        if (byOperator.size === 0) return;
        if (!splitOperators && [...byOperator.values()].some((workers) => workers.length > 1)) return;
        const epoch: Epoch = [...byOperator.entries()].map(([operator, workers]) => ({ operator, workers }));
        const outcome = evaluateEpoch(index, state, epoch, disabled);
        if (!outcome) return;
        best = Math.min(best, outcome.costMs + solve(outcome.next));
        return;
      }
      for (const operator of [-1, ...ready]) {
        choice[worker] = operator;
        visit(worker + 1);
      }
    };
    visit(0);
    memo.set(key, best);
    return best;
  };
  return Math.max(solve(initialState(index)), poolBoundMs(index, disabled));
}
