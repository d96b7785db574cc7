import { initialTimedState } from "./list-schedule.js";
import type { ContinuousBoundTables } from "./lower-bound.js";
import type { DisabledOptimizations } from "./planning-problem.js";
import type { ProblemIndex } from "./problem-index.js";
import type { OperatorAssignment } from "./search-state.js";
import { appendStep, PriceCaches, rootNode, type TimedNode } from "./timed-search.js";

/**
 * Local improvement of a plan in the DP's search space (a sequence of steps,
 * each an operator on one or more workers): move a step to another worker
 * (or add a worker to its split, or drop one), or move it elsewhere in the
 * sequence (which reorders its worker's queue), and keep a change when the
 * list-scheduled plan ends earlier — or ends as early with less time spent
 * by the operators (their ends summed), which lets the search cross plateaus.
 * First improvement, deterministic move order, a budget of priced steps.
 */

/** The result: the improved steps and their final node. */
export interface ImprovedSchedule {
  readonly steps: readonly OperatorAssignment[];
  readonly node: TimedNode;
  /** Steps priced while improving. */
  readonly pricedSteps: number;
}

const EPSILON_MS = 1e-6;

/** Improves `steps` (a complete, valid sequence) within `maxPricedSteps` step pricings. */
export function improveSchedule(
  index: ProblemIndex,
  tables: ContinuousBoundTables,
  disabled: DisabledOptimizations,
  steps: readonly OperatorAssignment[],
  split: boolean,
  maxPricedSteps: number,
  caches: PriceCaches = new PriceCaches(),
): ImprovedSchedule | undefined {
  const root = rootNode(index, tables, initialTimedState(index, disabled));
  let priced = 0;
  /** Nodes after each prefix of `from`, reusing `prefix` (valid for the first `keep` steps). */
  const replay = (
    sequence: readonly OperatorAssignment[],
    prefix: readonly TimedNode[],
    keep: number,
    cutoffMs: number,
  ): TimedNode[] | undefined => {
    const nodes = prefix.slice(0, keep + 1);
    let node = nodes[keep]!;
    for (let position = keep; position < sequence.length; position++) {
      const step = sequence[position]!;
      if (!isReady(tables, node, step.operator)) return undefined;
      priced += 1;
      const next = appendStep(index, tables, node, step, disabled, caches.of(node), priced);
      // Its bound holds for every completion: past the cutoff, the candidate cannot end sooner.
      if (!next || next.boundMs > cutoffMs) return undefined;
      nodes.push(next);
      node = next;
    }
    return nodes;
  };
  let current = [...steps];
  let nodes = replay(current, [root], 0, Number.POSITIVE_INFINITY);
  if (!nodes) return undefined;
  let score = scoreOf(nodes.at(-1)!);
  const workerCount = index.problem.workers.length;

  let improved = true;
  while (improved && priced < maxPricedSteps) {
    improved = false;
    for (let position = 0; position < current.length && priced < maxPricedSteps; position++) {
      for (const candidate of movesOf(current, position, tables, split, workerCount)) {
        if (priced >= maxPricedSteps) break;
        const replayed = replay(candidate.steps, nodes, candidate.from, score.makespanMs + EPSILON_MS);
        if (!replayed) continue;
        const candidateScore = scoreOf(replayed.at(-1)!);
        if (better(candidateScore, score)) {
          current = candidate.steps;
          nodes = replayed;
          score = candidateScore;
          improved = true;
          break;
        }
      }
    }
  }
  return { steps: current, node: nodes.at(-1)!, pricedSteps: priced };
}

interface Score {
  readonly makespanMs: number;
  readonly endsMs: number;
}

function scoreOf(node: TimedNode): Score {
  let endsMs = 0;
  for (const finish of node.timed.finishMs) endsMs += finish;
  return { makespanMs: node.timed.makespanMs, endsMs };
}

function better(candidate: Score, incumbent: Score): boolean {
  if (candidate.makespanMs < incumbent.makespanMs - EPSILON_MS) return true;
  return (
    candidate.makespanMs <= incumbent.makespanMs + EPSILON_MS &&
    candidate.endsMs < incumbent.endsMs - EPSILON_MS
  );
}

function isReady(tables: ContinuousBoundTables, node: TimedNode, operator: number): boolean {
  const finishMs = node.timed.finishMs;
  if (!Number.isNaN(finishMs[operator]!)) return false;
  for (const edge of tables.timing.predecessors[operator]!) {
    if (Number.isNaN(finishMs[edge.operator]!)) return false;
  }
  return true;
}

/**
 * Moves of the step at `position`: other worker sets (every other single
 * worker that can serve it; with splitting, one worker more or one fewer),
 * then other places in the sequence (after its predecessors, before its
 * successors). `from` is the first position that changes.
 */
function movesOf(
  steps: readonly OperatorAssignment[],
  position: number,
  tables: ContinuousBoundTables,
  split: boolean,
  workerCount: number,
): { steps: OperatorAssignment[]; from: number }[] {
  const step = steps[position]!;
  const moves: { steps: OperatorAssignment[]; from: number }[] = [];
  const withStep = (workers: readonly number[]) => {
    const changed = [...steps];
    changed[position] = { operator: step.operator, workers };
    moves.push({ steps: changed, from: position });
  };
  const capable = tables.capable[step.operator]!;
  for (const worker of capable) {
    if (step.workers.length === 1 && step.workers[0] === worker) continue;
    withStep([worker]);
  }
  if (split && workerCount > 1) {
    for (const worker of capable) {
      if (step.workers.includes(worker)) continue;
      if (step.workers.length === 1) continue; // the single-worker moves above cover a pair's second half
      withStep([...step.workers, worker].sort((left, right) => left - right));
    }
    if (step.workers.length === 1) {
      for (const worker of capable) {
        if (worker !== step.workers[0])
          withStep([step.workers[0]!, worker].sort((left, right) => left - right));
      }
    }
    if (step.workers.length > 1) {
      for (const worker of step.workers) withStep(step.workers.filter((other) => other !== worker));
    }
  }
  // Earliest and latest places: after the last predecessor, before the first successor.
  const predecessors = new Set(tables.timing.predecessors[step.operator]!.map((edge) => edge.operator));
  const successors = new Set(tables.timing.successors[step.operator]!.map((edge) => edge.operator));
  let earliest = 0;
  let latest = steps.length - 1;
  steps.forEach((other, at) => {
    if (predecessors.has(other.operator)) earliest = Math.max(earliest, at + 1);
    if (successors.has(other.operator) && at > position) latest = Math.min(latest, at - 1);
  });
  for (let target = earliest; target <= latest; target++) {
    if (target === position) continue;
    const changed = [...steps];
    changed.splice(position, 1);
    changed.splice(target, 0, step);
    moves.push({ steps: changed, from: Math.min(position, target) });
  }
  return moves;
}
