import { advanceTimed, initialTimedState, type TimedState } from "../list-schedule.js";
import type { DisabledOptimizations } from "../planning-problem.js";
import type { ProblemIndex } from "../problem-index.js";
import type { EpochSchedule } from "../search-state.js";
import { readyOperators } from "../search-state.js";

/**
 * The optimum of the continuous-time model by exhaustive search, for tests:
 * every plan built by appending steps (every ready operator on every
 * non-empty set of workers that can serve it; one worker each without
 * splitting), each priced by the list scheduler — no symmetry, no bounds, no
 * dominance, no heuristics; memoized only on the exact timed state (done
 * set, every worker's state and clock, every operator's end). Only for tiny
 * instances.
 */
export function exhaustiveOptimumMs(
  index: ProblemIndex,
  disabled: DisabledOptimizations,
  splitOperators = true,
): number {
  return exhaustiveOptimum(index, disabled, splitOperators).makespanMs;
}

/** The exhaustive optimum and one schedule reaching it (one step per epoch). */
export function exhaustiveOptimum(
  index: ProblemIndex,
  disabled: DisabledOptimizations,
  splitOperators = true,
): { makespanMs: number; schedule: EpochSchedule } {
  const memo = new Map<string, { makespanMs: number; schedule: EpochSchedule }>();
  const workerCount = index.problem.workers.length;
  const solve = (timed: TimedState): { makespanMs: number; schedule: EpochSchedule } => {
    if (timed.state.done === index.allDone) return { makespanMs: timed.makespanMs, schedule: [] };
    const key = [
      timed.state.done.toString(),
      ...timed.state.workers.map((worker) => worker.key),
      ...timed.freeMs,
      ...timed.finishMs,
      timed.makespanMs,
    ].join("|");
    const known = memo.get(key);
    if (known) return known;
    let best = { makespanMs: Number.POSITIVE_INFINITY, schedule: [] as EpochSchedule };
    for (const operator of readyOperators(index, timed.state.done)) {
      for (let subset = 1; subset < 1 << workerCount; subset++) {
        // The sooner free first: they take the remainder of a split (as the DP lists them).
        const workers = Array.from({ length: workerCount }, (_, worker) => worker)
          .filter((worker) => (subset & (1 << worker)) !== 0)
          .sort((left, right) => timed.freeMs[left]! - timed.freeMs[right]! || left - right);
        if (!splitOperators && workers.length > 1) continue;
        if (workers.some((worker) => index.modelOn[worker]![operator] === undefined)) continue;
        const step = [{ operator, workers }];
        const applied = advanceTimed(index, timed, step, disabled);
        if (!applied) continue;
        const rest = solve(applied.next);
        if (rest.makespanMs < best.makespanMs) {
          best = { makespanMs: rest.makespanMs, schedule: [step, ...rest.schedule] };
        }
      }
    }
    memo.set(key, best);
    return best;
  };
  return solve(initialTimedState(index, disabled));
}
