import { initialTimedState, listSchedule, listScheduleMakespanMs, readyMs } from "../list-schedule.js";
import { continuousBoundTables } from "../lower-bound.js";
import { modelPlacementSchedules } from "../model-placement-schedules.js";
import type { DisabledOptimizations } from "../planning-problem.js";
import { PriorityQueue } from "../priority-queue.js";
import { bit, type ProblemIndex } from "../problem-index.js";
import { improveSchedule } from "../schedule-improvement.js";
import { type EpochSchedule, holdsModel, isPreload, type OperatorAssignment } from "../search-state.js";
import {
  appendStep,
  DominanceMemo,
  PriceCaches,
  rootNode,
  type StepPolicy,
  stepsFrom,
  stepsOf,
  type TimedNode,
} from "../timed-search.js";
import { greedyStrategy } from "./greedy-strategy.js";
import { minSwitchStrategy } from "./min-switch-strategy.js";
import { operatorWiseStrategy } from "./operator-wise-strategy.js";
import type { PlanningStrategy, StrategyOptions, StrategyResult } from "./planning-strategy.js";
import { roundRobinTopologicalStrategy } from "./round-robin-topological-strategy.js";

/** Default budget: states the exact search expands before it stops (unproven). */
export const DEFAULT_MAX_EXPANDED_STATES = 2_500;
/** Default budget: states the exact search prices before it stops (unproven). */
export const DEFAULT_MAX_GENERATED_STATES = 300;
/** Default budget: steps priced by each local improvement (the best plan, then PLACEMENT_STARTS placements). */
export const DEFAULT_MAX_IMPROVEMENT_STEPS = 1_500;
/**
 * Model-placement schedules (the cheapest ones not costing the same as the best plan) improved
 * locally besides the best plan: one hill climb stops at its first local optimum, and a
 * different placement often leads to a better one (planner benchmark, 82 instances: dp within
 * 3 % of the solvers' lower bound on 54 instead of 50, for 8–10 ms more median solve).
 */
const PLACEMENT_STARTS = 2;
/** Steps priced by the model-placement list schedules (they stop when it is spent). */
const DEFAULT_MAX_PLACEMENT_STEPS = 1_000;
/** Default width of the beam search (96 ÷ workers past 8 workers, at least 4). */
export const DEFAULT_BEAM_WIDTH = 12;
/** Instances up to these sizes get the exact best-first search (option `exactSearch` overrides). */
export const EXACT_SEARCH_MAX_OPERATORS = 16;
export const EXACT_SEARCH_MAX_WORKERS = 8;
/** A state with more steps than this gets candidate steps instead (and is then not exhaustive). */
const MAX_STEPS_PER_STATE = 160;
/** The same limit in the beam search, where every state of a level is expanded. */
const MAX_STEPS_PER_STATE_IN_BEAM = 24;
const EPSILON_MS = 1e-6;

/**
 * `dp` (default): dynamic programming over plan states in continuous time.
 * A plan is built by appending steps — a ready LLM operator on one or more
 * workers (its requests may be split) — to the workers' queues; the list
 * scheduler prices every state as the runtime runs plans (epochs are
 * priorities, not barriers: a step starts once its worker is free and its
 * inputs exist). Each discrete state (done set, worker states; identical
 * workers interchangeable) keeps only the nodes whose clocks no other node
 * beats (memoization with dominance). The plan to beat comes from the
 * baselines and model-placement list schedules; a beam search and local
 * improvement lower it; then an exact best-first search by an admissible
 * bound, cutting every branch that cannot beat it (branch and bound), either
 * ends — the plan is optimal in this model — or stops at its budget.
 * Deterministic.
 */
export const epochDpStrategy: PlanningStrategy = {
  specificationVersion: "v1",
  name: "dp",
  description:
    "dynamic programming in continuous time: placements, beam, local improvement, then best-first with bounds and dominance",
  plan(index, options) {
    return solveEpochDp(index, options);
  },
};

interface Incumbent {
  readonly schedule: EpochSchedule;
  readonly costMs: number;
  /** True when it came from a baseline, not from the search. */
  readonly baseline: boolean;
}

function solveEpochDp(index: ProblemIndex, options: StrategyOptions): StrategyResult {
  const disabled = options.disabled;
  const split = options.splitOperators !== false;
  const maxExpanded = options.maxExpandedStates ?? DEFAULT_MAX_EXPANDED_STATES;
  const maxGenerated = options.maxGeneratedStates ?? DEFAULT_MAX_GENERATED_STATES;
  // Wide beams for small pools; narrower as workers (and so the cost of each state) grow.
  const workerCount = index.problem.workers.length;
  const beamWidth =
    options.beamWidth ?? (workerCount <= 8 ? DEFAULT_BEAM_WIDTH : Math.max(4, Math.floor(96 / workerCount)));
  const deadline = performance.now() + (options.timeLimitMs ?? 10_000);
  const tables = continuousBoundTables(index, disabled);
  const warnings: string[] = [];

  // The plan to beat: the best baseline under the same cost model.
  let incumbent: Incumbent | undefined = bestBaseline(index, options, split);
  const boundToBeat = () => (incumbent ? incumbent.costMs - EPSILON_MS : Number.POSITIVE_INFINITY);
  const counters = { expanded: 0, generated: 0, sequence: 1 };
  const caches = new PriceCaches();
  const offer = (node: TimedNode) => {
    if (node.timed.makespanMs < boundToBeat()) {
      incumbent = {
        schedule: stepsOf(node).map((step) => [step]),
        costMs: node.timed.makespanMs,
        baseline: false,
      };
    }
  };
  /** Prices every step from a node (complete plans are offered, the others handed on); false when not every step was tried. */
  const expand = (node: TimedNode, policy: StepPolicy, onChild: (child: TimedNode) => void): boolean => {
    const cache = caches.of(node);
    const { steps, exhaustive } = stepsFrom(index, tables, node.timed, policy);
    for (const { operator, workerSets } of steps) {
      const readyAt = readyMs(tables.timing, node.timed.finishMs, operator);
      const model = index.llm[operator]!.model;
      for (const workers of workerSets) {
        // Unpriced, the step cannot start before its inputs and its soonest worker: skip it when even
        // that start plus its chain to the end cannot beat the plan so far.
        let soonestMs = Number.POSITIVE_INFINITY;
        for (const worker of workers) {
          const loaded = holdsModel(node.timed.state.workers[worker]!, model);
          soonestMs = Math.min(
            soonestMs,
            node.timed.freeMs[worker]! + (loaded ? 0 : tables.loadOn[operator]![worker]!),
          );
        }
        if (Math.max(readyAt, soonestMs) + tables.bottomMs[operator]! >= boundToBeat()) continue;
        const child = appendStep(
          index,
          tables,
          node,
          { operator, workers },
          disabled,
          cache,
          counters.sequence++,
        );
        counters.generated += 1;
        if (!child || child.boundMs >= boundToBeat()) continue;
        if (child.timed.state.done === index.allDone) offer(child);
        else onChild(child);
      }
    }
    return exhaustive;
  };

  // 1. Model placements: list schedules that keep each model on few workers (cheap, and often close).
  const placed = modelPlacementSchedules(index, tables, disabled, split, DEFAULT_MAX_PLACEMENT_STEPS, caches);
  counters.generated += placed.pricedSteps;
  for (const schedule of placed.schedules) offer(schedule.node);
  const root = rootNode(index, tables, initialTimedState(index, disabled));
  // A plan at the root's bound is optimal: nothing to search.
  const optimalAlready = incumbent !== undefined && incumbent.costMs <= root.boundMs + EPSILON_MS;

  if (!optimalAlready) {
    // 2. Beam search: level by level (one step more each), the best states by bound, then by time spent.
    const beamPolicy: StepPolicy = {
      split,
      maxSteps: MAX_STEPS_PER_STATE_IN_BEAM,
      candidateSingles: 3,
      candidateSplit: workerCount,
      candidateOperators: 4,
      everySplit: false,
    };
    let level = [root];
    while (level.length > 0 && performance.now() <= deadline) {
      const memo = new DominanceMemo(index, tables);
      const next: TimedNode[] = [];
      for (const node of level) {
        expand(node, beamPolicy, (child) => next.push(child));
      }
      next.sort(
        (left, right) =>
          left.boundMs - right.boundMs || busyMs(left) - busyMs(right) || left.sequence - right.sequence,
      );
      // Best first, skipping states another kept one dominates.
      level = [];
      let live = 0;
      for (const node of next) {
        if (live >= beamWidth) break;
        if (node.boundMs >= boundToBeat() || !memo.admit(node)) continue;
        level.push(node);
        live = 0;
        for (const kept of level) if (!kept.dead) live += 1;
      }
      level = level.filter((node) => !node.dead);
    }

    // 3. Local improvement of the best plan and of the cheapest other placements (PLACEMENT_STARTS).
    const best = incumbent as Incumbent | undefined;
    const seeds: (readonly OperatorAssignment[])[] = [];
    const seedCosts: number[] = [];
    const addSeed = (steps: readonly OperatorAssignment[], costMs: number) => {
      if (seedCosts.some((cost) => Math.abs(cost - costMs) <= EPSILON_MS)) return;
      seeds.push(steps);
      seedCosts.push(costMs);
    };
    if (best) {
      addSeed(
        best.schedule.flatMap((epoch) => epoch.filter((step) => !isPreload(step))) as OperatorAssignment[],
        best.costMs,
      );
    }
    const placements = [...placed.schedules].sort(
      (left, right) => left.node.timed.makespanMs - right.node.timed.makespanMs,
    );
    for (const schedule of placements) {
      if (seeds.length >= 1 + PLACEMENT_STARTS) break;
      addSeed(schedule.steps, schedule.node.timed.makespanMs);
    }
    for (const steps of seeds) {
      const improved = improveSchedule(
        index,
        tables,
        disabled,
        steps,
        split,
        options.maxImprovementSteps ?? DEFAULT_MAX_IMPROVEMENT_STEPS,
        caches,
      );
      if (improved) {
        counters.generated += improved.pricedSteps;
        offer(improved.node);
      }
    }
  }

  // 4. Exact best-first search, bounded by the plan so far: when it ends, that plan is optimal.
  // Past these sizes it would spend its whole budget without finishing, so it is skipped.
  const exactSearch =
    options.exactSearch ??
    (index.llm.length <= EXACT_SEARCH_MAX_OPERATORS && workerCount <= EXACT_SEARCH_MAX_WORKERS);
  let exhausted = optimalAlready;
  let partialStates = 0;
  if (exactSearch && !optimalAlready) {
    const exactPolicy: StepPolicy = {
      split,
      maxSteps: MAX_STEPS_PER_STATE,
      candidateSingles: 4,
      candidateSplit: workerCount,
      candidateOperators: 6,
      everySplit: true,
    };
    const open = new PriorityQueue<TimedNode>(
      (left, right) =>
        left.boundMs - right.boundMs ||
        right.depth - left.depth ||
        left.timed.makespanMs - right.timed.makespanMs ||
        left.sequence - right.sequence,
    );
    const memo = new DominanceMemo(index, tables);
    memo.admit(root);
    open.push(root);
    const generatedBefore = counters.generated;
    let stopped = false;
    while (open.size > 0) {
      const node = open.pop()!;
      if (node.dead) continue;
      if (node.boundMs >= boundToBeat()) break;
      if (
        counters.expanded >= maxExpanded ||
        counters.generated - generatedBefore >= maxGenerated ||
        performance.now() > deadline
      ) {
        stopped = true;
        break;
      }
      counters.expanded += 1;
      const exhaustive = expand(node, exactPolicy, (child) => {
        if (memo.admit(child)) open.push(child);
      });
      if (!exhaustive) partialStates += 1;
    }
    exhausted = !stopped;
  }

  if (!exhausted) {
    warnings.push(
      exactSearch
        ? `dp: the exact search reached its budget (${counters.expanded} expanded states, ${maxGenerated} priced) ` +
            `before proving a plan optimal; the plan comes from the beam search (width ${beamWidth}) and local improvement`
        : `dp: ${index.llm.length} LLM operators on ${workerCount} workers is past the exact ` +
            `search's size (${EXACT_SEARCH_MAX_OPERATORS} operators, ${EXACT_SEARCH_MAX_WORKERS} workers); ` +
            `the plan comes from a beam search (width ${beamWidth}) and local improvement, so it is not proven optimal`,
    );
  }
  const result = incumbent as Incumbent | undefined;
  if (!result) throw new Error("dp: no schedule found and no baseline to fall back on");
  return {
    schedule: result.baseline ? result.schedule : compactSchedule(index, disabled, result),
    warnings,
    search: {
      mode: exhausted ? "exact" : "beam",
      proven: exhausted && partialStates === 0,
      expandedStates: counters.expanded,
      generatedStates: counters.generated,
      incumbentWon: result.baseline,
    },
  };
}

/**
 * The search's plan (one step per epoch, in the order it was built) as fewer
 * epochs: steps by start time, each joining the current epoch unless it
 * depends on a step there or shares a worker with one. Kept only when the
 * plan costs no more that way (an epoch's steps see the workers' states from
 * its start, so KV sources can differ).
 */
function compactSchedule(
  index: ProblemIndex,
  disabled: DisabledOptimizations,
  plan: Incumbent,
): EpochSchedule {
  const timed = listSchedule(index, plan.schedule, disabled);
  if (!timed) return plan.schedule;
  // The search's epochs hold one step each.
  const ordered = plan.schedule
    .map((epoch, position) => ({
      step: epoch[0] as OperatorAssignment,
      position,
      startMs: Math.min(...timed.epochs[position]!.shards.map((shard) => shard.startMs)),
    }))
    .sort((left, right) => left.startMs - right.startMs || left.position - right.position);
  const epochs: OperatorAssignment[][] = [];
  let current: OperatorAssignment[] = [];
  let currentMask = 0n;
  for (const { step } of ordered) {
    const blocked =
      (index.llmAncestors[step.operator]! & currentMask) !== 0n ||
      current.some((other) => other.workers.some((worker) => step.workers.includes(worker)));
    if (blocked) {
      epochs.push(current);
      current = [];
      currentMask = 0n;
    }
    current.push(step);
    currentMask |= bit(step.operator);
  }
  if (current.length > 0) epochs.push(current);
  const costMs = listScheduleMakespanMs(index, epochs, disabled);
  return costMs !== undefined && costMs <= plan.costMs + EPSILON_MS ? epochs : plan.schedule;
}

/** Time the workers have spent (busy or waiting) so far: less is better among equally bounded states. */
function busyMs(node: TimedNode): number {
  let total = 0;
  for (const free of node.timed.freeMs) total += free;
  return total;
}

function bestBaseline(index: ProblemIndex, options: StrategyOptions, split: boolean): Incumbent | undefined {
  let best: Incumbent | undefined;
  const baselines = split
    ? [greedyStrategy, minSwitchStrategy, operatorWiseStrategy, roundRobinTopologicalStrategy]
    : [greedyStrategy, roundRobinTopologicalStrategy];
  for (const baseline of baselines) {
    const result = baseline.plan(index, { ...options, splitOperators: split }) as StrategyResult;
    if (!split && result.schedule.some((epoch) => epoch.some((step) => step.workers.length > 1))) continue;
    const costMs = listScheduleMakespanMs(index, result.schedule, options.disabled);
    if (costMs !== undefined && (!best || costMs < best.costMs)) {
      best = { schedule: result.schedule, costMs, baseline: true };
    }
  }
  return best;
}
