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
  /**
   * The nodes after each step of `move` applied to `current` from its first changed position on (those
   * before it are `nodes`'), or undefined when a step is not ready or the bound passes `cutoffMs`.
   */
  const replay = (
    current: readonly OperatorAssignment[],
    nodes: readonly TimedNode[],
    move: Move,
    cutoffMs: number,
  ): TimedNode[] | undefined => {
    const suffix: TimedNode[] = [];
    let node = nodes[move.from]!;
    for (let position = move.from; position < current.length; position++) {
      const step = stepOf(current, move, position);
      if (!isReady(tables, node, step.operator)) return undefined;
      priced += 1;
      const next = appendStep(index, tables, node, step, disabled, caches.of(node), priced);
      // Its bound holds for every completion: past the cutoff, the candidate cannot end sooner.
      if (!next || next.boundMs > cutoffMs) return undefined;
      suffix.push(next);
      node = next;
    }
    return suffix;
  };
  let current: readonly OperatorAssignment[] = steps;
  const first = replay(current, [root], UNCHANGED, Number.POSITIVE_INFINITY);
  if (!first) return undefined;
  let nodes = [root, ...first];
  let score = scoreOf(nodes.at(-1)!);
  const workerCount = index.problem.workers.length;

  let improved = true;
  while (improved && priced < maxPricedSteps) {
    improved = false;
    for (let position = 0; position < current.length && priced < maxPricedSteps; position++) {
      for (const move of movesOf(current, position, tables, split, workerCount)) {
        if (priced >= maxPricedSteps) break;
        const replayed = replay(current, nodes, move, score.makespanMs + EPSILON_MS);
        if (!replayed) continue;
        const candidateScore = scoreOf(replayed.at(-1)!);
        if (better(candidateScore, score)) {
          current = current.map((_, at) => stepOf(current, move, at));
          nodes = [...nodes.slice(0, move.from + 1), ...replayed];
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
 * A change of a sequence, without copying it: the step at `position` runs on
 * `workers`, or (without `workers`) moves to `target`, shifting those between.
 * `from` is the first position that changes.
 */
interface Move {
  readonly from: number;
  readonly position: number;
  readonly workers?: readonly number[];
  readonly target: number;
}

/** The move that changes nothing (from the first step). */
const UNCHANGED: Move = { from: 0, position: 0, target: 0 };

/** The step at `at` of `steps` once `move` is made. */
function stepOf(steps: readonly OperatorAssignment[], move: Move, at: number): OperatorAssignment {
  const { position, target } = move;
  if (move.workers)
    return at === position ? { operator: steps[at]!.operator, workers: move.workers } : steps[at]!;
  if (at === target) return steps[position]!;
  if (target > position && at >= position && at < target) return steps[at + 1]!;
  if (target < position && at > target && at <= position) return steps[at - 1]!;
  return steps[at]!;
}

/**
 * Moves of the step at `position`: other worker sets (every other single
 * worker that can serve it; with splitting, one worker more or one fewer),
 * then other places in the sequence (after its predecessors, before its
 * successors).
 */
function* movesOf(
  steps: readonly OperatorAssignment[],
  position: number,
  tables: ContinuousBoundTables,
  split: boolean,
  workerCount: number,
): Generator<Move> {
  const step = steps[position]!;
  const withStep = (workers: readonly number[]): Move => ({
    from: position,
    position,
    workers,
    target: position,
  });
  const capable = tables.capable[step.operator]!;
  for (const worker of capable) {
    if (step.workers.length === 1 && step.workers[0] === worker) continue;
    yield withStep([worker]);
  }
  if (split && workerCount > 1) {
    for (const worker of capable) {
      if (step.workers.includes(worker)) continue;
      if (step.workers.length === 1) continue; // the single-worker moves above cover a pair's second half
      yield withStep([...step.workers, worker].sort((left, right) => left - right));
    }
    if (step.workers.length === 1) {
      for (const worker of capable) {
        if (worker !== step.workers[0])
          yield withStep([step.workers[0]!, worker].sort((left, right) => left - right));
      }
    }
    if (step.workers.length > 1) {
      for (const worker of step.workers) yield withStep(step.workers.filter((other) => other !== worker));
    }
  }
  // Earliest and latest places: after the last predecessor, before the first successor.
  const predecessors = tables.timing.predecessors[step.operator]!;
  const successors = tables.timing.successors[step.operator]!;
  let earliest = 0;
  let latest = steps.length - 1;
  for (let at = 0; at < steps.length; at++) {
    const operator = steps[at]!.operator;
    if (predecessors.some((edge) => edge.operator === operator)) earliest = Math.max(earliest, at + 1);
    if (at > position && successors.some((edge) => edge.operator === operator))
      latest = Math.min(latest, at - 1);
  }
  for (let target = earliest; target <= latest; target++) {
    if (target === position) continue;
    yield { from: Math.min(position, target), position, target };
  }
}
