import { initialTimedState } from "./list-schedule.js";
import type { ContinuousBoundTables } from "./lower-bound.js";
import type { DisabledOptimizations } from "./planning-problem.js";
import type { ProblemIndex } from "./problem-index.js";
import { holdsModel, type OperatorAssignment } from "./search-state.js";
import { appendStep, PriceCaches, rootNode, splitSizes, type TimedNode } from "./timed-search.js";

/**
 * List schedules under model placements: each model may run only on some
 * workers (every worker its own model when there are enough workers, or
 * models grouped on workers when there are not), and ready operators, most
 * urgent first, go where they finish earliest. Placements are what a good
 * plan gets right first — a model loaded on few workers and kept there — and
 * what a search that looks one step ahead finds hardest, so these schedules
 * seed the DP's bound. Deterministic.
 */

/** A complete schedule in the DP's search space: its steps and its continuous-time makespan. */
export interface PlacedSchedule {
  readonly steps: readonly OperatorAssignment[];
  readonly node: TimedNode;
}

/** Most placements tried (the compositions grow fast with workers). */
const MAX_PLACEMENTS = 24;
/** Workers tried alone for each operator (the soonest free). */
const CANDIDATE_SINGLES = 4;

/**
 * Schedules under the placements tried (no placement at all first), each list
 * scheduled with and without splitting operators (when `split`), until
 * `maxPricedSteps` steps have been priced.
 */
export function modelPlacementSchedules(
  index: ProblemIndex,
  tables: ContinuousBoundTables,
  disabled: DisabledOptimizations,
  split: boolean,
  maxPricedSteps: number,
  caches: PriceCaches = new PriceCaches(),
): { schedules: PlacedSchedule[]; pricedSteps: number } {
  const workerCount = index.problem.workers.length;
  const modelWork = new Array<number>(tables.modelIds.size).fill(0);
  index.llm.forEach((_, operator) => {
    modelWork[tables.modelIdOf[operator]!]! += tables.base.minWorkMs[operator]!;
  });
  const placements: (readonly (readonly number[])[] | undefined)[] = [
    undefined,
    ...placementsOf(modelWork, workerCount),
  ];
  const schedules: PlacedSchedule[] = [];
  const counter = { priced: 0 };
  for (const placement of placements) {
    for (const splitting of split ? [false, true] : [false]) {
      if (counter.priced >= maxPricedSteps) return { schedules, pricedSteps: counter.priced };
      const schedule = listScheduleUnder(index, tables, disabled, placement, splitting, counter, caches);
      if (schedule) schedules.push(schedule);
    }
  }
  return { schedules, pricedSteps: counter.priced };
}

/**
 * Placements as, per model number, the workers allowed to run it: with at
 * least as many workers as models, compositions of the workers into one
 * consecutive block per model, those closest to the models' shares of the
 * work first; with fewer, every way to group the models onto the workers
 * (a model on one worker, every worker used; workers interchangeable).
 */
function placementsOf(modelWork: readonly number[], workerCount: number): number[][][] {
  const modelCount = modelWork.length;
  if (modelCount <= 1) return [];
  if (workerCount >= modelCount) {
    const compositions: number[][] = [];
    const sizes: number[] = [];
    const visit = (model: number, left: number) => {
      if (model === modelCount - 1) {
        compositions.push([...sizes, left]);
        return;
      }
      for (let size = 1; size <= left - (modelCount - 1 - model); size++) {
        sizes.push(size);
        visit(model + 1, left - size);
        sizes.pop();
      }
    };
    visit(0, workerCount);
    const totalWork = modelWork.reduce((sum, work) => sum + work, 0) || 1;
    const distance = (sizes: readonly number[]) =>
      sizes.reduce(
        (sum, size, model) => sum + Math.abs(size - (workerCount * modelWork[model]!) / totalWork),
        0,
      );
    return compositions
      .map((sizes) => ({ sizes, distance: distance(sizes) }))
      .sort((left, right) => left.distance - right.distance)
      .slice(0, MAX_PLACEMENTS)
      .map(({ sizes }) => {
        let next = 0;
        return sizes.map((size) => {
          const workers = Array.from({ length: size }, (_, offset) => next + offset);
          next += size;
          return workers;
        });
      });
  }
  const placements: number[][][] = [];
  const assignment: number[] = [];
  const visit = (model: number, used: number) => {
    if (placements.length >= MAX_PLACEMENTS) return;
    if (model === modelCount) {
      if (used === workerCount) placements.push(assignment.map((worker) => [worker]));
      return;
    }
    for (let worker = 0; worker <= Math.min(used, workerCount - 1); worker++) {
      assignment.push(worker);
      visit(model + 1, Math.max(used, worker + 1));
      assignment.pop();
    }
  };
  visit(0, 0);
  return placements;
}

/**
 * List scheduling: repeatedly the ready operator with the longest chain to
 * the end goes to the allowed worker (or, when splitting, the allowed workers
 * holding or free soonest) where it finishes earliest. Undefined when some
 * operator fits nowhere it is allowed (memory).
 */
function listScheduleUnder(
  index: ProblemIndex,
  tables: ContinuousBoundTables,
  disabled: DisabledOptimizations,
  placement: readonly (readonly number[])[] | undefined,
  split: boolean,
  counter: { priced: number },
  caches: PriceCaches,
): PlacedSchedule | undefined {
  let node = rootNode(index, tables, initialTimedState(index, disabled));
  const steps: OperatorAssignment[] = [];
  let sequence = 0;
  while (node.timed.state.done !== index.allDone) {
    const operator = mostUrgentReady(tables, node);
    const capable = tables.capable[operator]!;
    const allowedByPlacement = placement?.[tables.modelIdOf[operator]!];
    let allowed = allowedByPlacement
      ? capable.filter((worker) => allowedByPlacement.includes(worker))
      : capable;
    if (allowed.length === 0) allowed = capable;
    const cache = caches.of(node);
    let best: TimedNode | undefined;
    const consider = (workers: readonly number[]) => {
      counter.priced += 1;
      const child = appendStep(index, tables, node, { operator, workers }, disabled, cache, sequence++);
      if (!child) return;
      if (!best || child.timed.finishMs[operator]! < best.timed.finishMs[operator]! - 1e-6) best = child;
    };
    // The workers that would start it soonest: alone, and (splitting) the first 2, 3, 4, 8, 16, … together.
    const model = index.llm[operator]!.model;
    const bySoonest = [...allowed].sort(
      (left, right) =>
        soonestMs(tables, node, operator, model, left) - soonestMs(tables, node, operator, model, right) ||
        left - right,
    );
    for (const worker of bySoonest.slice(0, CANDIDATE_SINGLES)) consider([worker]);
    if (split) {
      for (const size of splitSizes(bySoonest.length)) {
        consider(bySoonest.slice(0, size).sort((left, right) => left - right));
      }
    }
    if (!best) return undefined;
    steps.push(best.step!);
    node = best;
  }
  return { steps, node };
}

function soonestMs(
  tables: ContinuousBoundTables,
  node: TimedNode,
  operator: number,
  model: string,
  worker: number,
): number {
  const loaded = holdsModel(node.timed.state.workers[worker]!, model);
  return node.timed.freeMs[worker]! + (loaded ? 0 : tables.loadOn[operator]![worker]!);
}

/** The ready operator (every predecessor done) with the longest chain to the end; ties by position. */
function mostUrgentReady(tables: ContinuousBoundTables, node: TimedNode): number {
  const finishMs = node.timed.finishMs;
  let best = -1;
  for (let operator = 0; operator < finishMs.length; operator++) {
    if (!Number.isNaN(finishMs[operator]!)) continue;
    if (tables.timing.predecessors[operator]!.some((edge) => Number.isNaN(finishMs[edge.operator]!)))
      continue;
    if (best < 0 || tables.bottomMs[operator]! > tables.bottomMs[best]!) best = operator;
  }
  return best;
}
