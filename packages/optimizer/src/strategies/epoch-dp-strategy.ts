import { candidateEpochs } from "../epoch-heuristics.js";
import {
  canonicalKey,
  type Epoch,
  type EpochAssignment,
  EpochPriceCache,
  type EpochSchedule,
  evaluateEpoch,
  initialState,
  readyOperators,
  type SearchState,
  scheduleEpochsMs,
} from "../epoch-model.js";
import { type LowerBoundTables, lowerBoundTables, remainingLowerBound } from "../lower-bound.js";
import { PriorityQueue } from "../priority-queue.js";
import type { ProblemIndex } from "../problem-index.js";
import { greedyStrategy } from "./greedy-strategy.js";
import { minSwitchStrategy } from "./min-switch-strategy.js";
import { operatorWiseStrategy } from "./operator-wise-strategy.js";
import type { PlanningStrategy, StrategyOptions, StrategyResult } from "./planning-strategy.js";
import { roundRobinTopologicalStrategy } from "./round-robin-topological-strategy.js";

/** Default budget: states expanded by the exact search before the beam search takes over. */
export const DEFAULT_MAX_EXPANDED_STATES = 2_500;
/** Default budget: states generated (priced) by the exact search before the beam search takes over. */
export const DEFAULT_MAX_GENERATED_STATES = 2_500;
/** Default width of the beam fallback. */
export const DEFAULT_BEAM_WIDTH = 16;
/** A state with more epochs than this gets the candidate epochs instead of all of them. */
const MAX_ENUMERATED_EPOCHS = 500;
/** Instances up to these sizes get the exact best-first search first (option `exactSearch` overrides). */
export const EXACT_SEARCH_MAX_OPERATORS = 16;
export const EXACT_SEARCH_MAX_WORKERS = 8;
/** The same limit in the beam search, where every state of a level is expanded. */
const MAX_ENUMERATED_EPOCHS_IN_BEAM = 48;
const EPSILON_MS = 1e-6;

/**
 * `dp` (default): epoch-based dynamic programming over states (done set,
 * canonicalized worker states). The value of a state is the least time to
 * reach it; states are expanded best-first by time + admissible lower bound
 * (so the first complete state is optimal), each canonical state is kept once
 * with its best time (memoization; identical workers with identical states are
 * interchangeable), and branches that cannot beat the best baseline plan are
 * cut (branch and bound). Transitions are every epoch of ready operators
 * (an operator's requests may be split over several workers; each worker runs
 * one operator) — or, in states with too many, a set of good candidate epochs.
 * Past the state budget a beam search finishes the plan. Deterministic.
 */
export const epochDpStrategy: PlanningStrategy = {
  name: "dp",
  description: "epoch dynamic programming, best-first with bounds, beam fallback",
  plan(index, options) {
    return solveEpochDp(index, options);
  },
};

interface SearchNode {
  readonly state: SearchState;
  readonly timeMs: number;
  readonly boundMs: number;
  readonly sequence: number;
  readonly parent: SearchNode | undefined;
  readonly epoch: Epoch | undefined;
}

function solveEpochDp(index: ProblemIndex, options: StrategyOptions): StrategyResult {
  const disabled = options.disabled;
  const splitOperators = options.splitOperators !== false;
  const maxExpanded = options.maxExpandedStates ?? DEFAULT_MAX_EXPANDED_STATES;
  const maxGenerated = options.maxGeneratedStates ?? DEFAULT_MAX_GENERATED_STATES;
  // Wide beams for small pools; narrower as workers (and so the cost of each state) grow.
  const workerCount = index.problem.workers.length;
  const beamWidth =
    options.beamWidth ?? (workerCount <= 8 ? DEFAULT_BEAM_WIDTH : Math.max(4, Math.floor(128 / workerCount)));
  const deadline = performance.now() + (options.timeLimitMs ?? 10_000);
  const tables = lowerBoundTables(index, disabled);
  const warnings: string[] = [];

  // The bound to beat: the best baseline schedule under the same cost model.
  const incumbent = bestBaseline(index, options, splitOperators);
  const bound = () => (incumbent ? incumbent.costMs - EPSILON_MS : Number.POSITIVE_INFINITY);

  const counters = { expanded: 0, generated: 0, sequence: 0, partialStates: 0 };
  const transitions = (state: SearchState, limit = MAX_ENUMERATED_EPOCHS): Epoch[] => {
    const { epochs, complete } = epochsFrom(index, tables, state, disabled, splitOperators, limit);
    if (!complete) counters.partialStates += 1;
    return epochs;
  };
  const makeNode = (parent: SearchNode, epoch: Epoch, cache: EpochPriceCache): SearchNode | undefined => {
    const outcome = evaluateEpoch(index, parent.state, epoch, disabled, cache, false);
    if (!outcome) return undefined;
    counters.generated += 1;
    const timeMs = parent.timeMs + outcome.costMs;
    // Path-max keeps the bound monotone along a path.
    const boundMs = Math.max(parent.boundMs, timeMs + remainingLowerBound(index, tables, outcome.next));
    return { state: outcome.next, timeMs, boundMs, sequence: counters.sequence++, parent, epoch };
  };
  const root: SearchNode = {
    state: initialState(index),
    timeMs: 0,
    boundMs: remainingLowerBound(index, tables, initialState(index)),
    sequence: counters.sequence++,
    parent: undefined,
    epoch: undefined,
  };

  // Best-first search with memoized best times per canonical state.
  const open = new PriorityQueue<SearchNode>(
    (left, right) =>
      left.boundMs - right.boundMs || right.timeMs - left.timeMs || left.sequence - right.sequence,
  );
  const bestTime = new Map<string, number>([[canonicalKey(index, root.state), 0]]);
  let found: SearchNode | undefined;
  let exhausted = false;
  // Past these sizes the exact search would spend its whole budget without finishing: go straight to the beam.
  const exactSearch =
    options.exactSearch ??
    (index.llm.length <= EXACT_SEARCH_MAX_OPERATORS &&
      index.problem.workers.length <= EXACT_SEARCH_MAX_WORKERS);
  if (exactSearch) open.push(root);
  while (open.size > 0) {
    const node = open.pop()!;
    if (node.boundMs >= bound()) {
      exhausted = true;
      break;
    }
    const key = canonicalKey(index, node.state);
    if ((bestTime.get(key) ?? Number.POSITIVE_INFINITY) < node.timeMs - EPSILON_MS) continue;
    if (node.state.done === index.allDone) {
      found = node;
      break;
    }
    if (
      counters.expanded >= maxExpanded ||
      counters.generated >= maxGenerated ||
      performance.now() > deadline
    )
      break;
    counters.expanded += 1;
    const cache = new EpochPriceCache(node.state);
    for (const epoch of transitions(node.state)) {
      const child = makeNode(node, epoch, cache);
      if (!child || child.boundMs >= bound()) continue;
      const childKey = canonicalKey(index, child.state);
      if ((bestTime.get(childKey) ?? Number.POSITIVE_INFINITY) <= child.timeMs + EPSILON_MS) continue;
      bestTime.set(childKey, child.timeMs);
      open.push(child);
    }
  }
  if (exactSearch && open.size === 0 && !found) exhausted = true;

  let mode: "exact" | "beam" = "exact";
  if (!found && !exhausted) {
    mode = "beam";
    warnings.push(
      exactSearch
        ? `dp: search budget reached after ${counters.expanded} expanded / ${counters.generated} priced states; ` +
            `a beam search (width ${beamWidth}) finished the plan, so it is not proven optimal`
        : `dp: ${index.llm.length} LLM operators on ${index.problem.workers.length} workers is past the exact ` +
            `search's size (${EXACT_SEARCH_MAX_OPERATORS} operators, ${EXACT_SEARCH_MAX_WORKERS} workers); ` +
            `a beam search (width ${beamWidth}) made the plan, so it is not proven optimal`,
    );
    found = beamSearch(
      index,
      root,
      beamWidth,
      (state) => transitions(state, MAX_ENUMERATED_EPOCHS_IN_BEAM),
      makeNode,
      bound,
    );
  }

  let schedule: EpochSchedule;
  let incumbentWon = false;
  if (found && (!incumbent || found.timeMs < incumbent.costMs - EPSILON_MS)) {
    schedule = pathOf(found);
  } else if (incumbent) {
    schedule = incumbent.schedule;
    incumbentWon = true;
  } else {
    throw new Error("dp: no schedule found and no baseline to fall back on");
  }
  return {
    schedule,
    warnings,
    search: {
      mode,
      proven: mode === "exact" && counters.partialStates === 0,
      expandedStates: counters.expanded,
      generatedStates: counters.generated,
      incumbentWon,
    },
  };
}

/** Beam search from the root: per level, keep the `width` best distinct states by bound. */
function beamSearch(
  index: ProblemIndex,
  root: SearchNode,
  width: number,
  transitions: (state: SearchState) => Epoch[],
  makeNode: (parent: SearchNode, epoch: Epoch, cache: EpochPriceCache) => SearchNode | undefined,
  bound: () => number,
): SearchNode | undefined {
  let beam: SearchNode[] = [root];
  let best: SearchNode | undefined;
  while (beam.length > 0) {
    const next = new Map<string, SearchNode>();
    for (const node of beam) {
      const cache = new EpochPriceCache(node.state);
      for (const epoch of transitions(node.state)) {
        const child = makeNode(node, epoch, cache);
        if (!child || child.boundMs >= Math.min(bound(), best?.timeMs ?? Number.POSITIVE_INFINITY)) continue;
        if (child.state.done === index.allDone) {
          if (!best || child.timeMs < best.timeMs) best = child;
          continue;
        }
        const key = canonicalKey(index, child.state);
        const known = next.get(key);
        if (!known || child.timeMs < known.timeMs) next.set(key, child);
      }
    }
    beam = [...next.values()]
      .sort(
        (left, right) =>
          left.boundMs - right.boundMs || left.timeMs - right.timeMs || left.sequence - right.sequence,
      )
      .slice(0, width);
  }
  return best;
}

function pathOf(node: SearchNode): Epoch[] {
  const epochs: Epoch[] = [];
  for (let current: SearchNode | undefined = node; current?.epoch; current = current.parent) {
    epochs.push(current.epoch);
  }
  return epochs.reverse();
}

function bestBaseline(
  index: ProblemIndex,
  options: StrategyOptions,
  splitOperators: boolean,
): { schedule: EpochSchedule; costMs: number } | undefined {
  let best: { schedule: EpochSchedule; costMs: number } | undefined;
  const baselines = splitOperators
    ? [greedyStrategy, minSwitchStrategy, operatorWiseStrategy, roundRobinTopologicalStrategy]
    : [greedyStrategy, roundRobinTopologicalStrategy];
  for (const baseline of baselines) {
    const result = baseline.plan(index, { ...options, splitOperators }) as StrategyResult;
    if (!splitOperators && result.schedule.some((epoch) => epoch.some((step) => step.workers.length > 1)))
      continue;
    const costMs = scheduleEpochsMs(index, result.schedule, options.disabled);
    if (costMs !== undefined && (!best || costMs < best.costMs)) best = { schedule: result.schedule, costMs };
  }
  return best;
}

/**
 * Every epoch from a state (symmetric workers collapsed: workers of one class
 * in the same state are interchangeable, so only multisets of their
 * operators are tried), or the candidate epochs when there would be too many.
 */
export function epochsFrom(
  index: ProblemIndex,
  tables: LowerBoundTables,
  state: SearchState,
  disabled: StrategyOptions["disabled"],
  splitOperators: boolean,
  limit = MAX_ENUMERATED_EPOCHS,
): { epochs: Epoch[]; complete: boolean } {
  const ready = readyOperators(index, state.done);
  const groups = symmetricGroups(index, state);
  const remainingModels = modelsWithWorkLeft(index, state.done);
  // Per group: the ready operators it can run and the models it could preload (held by it now: no).
  const optionsOf = groups.map((group) => {
    const worker = group[0]!;
    const operators = ready.filter((operator) => index.modelOn[worker]![operator] !== undefined);
    const preloads = [...index.workerModels[worker]!.keys()].filter(
      (model) => remainingModels.has(model) && state.workers[worker]!.model !== model,
    );
    return { operators, preloads };
  });
  let count = 1;
  groups.forEach((group, position) => {
    const { operators, preloads } = optionsOf[position]!;
    count *= binomial(group.length + operators.length + preloads.length, group.length);
  });
  if (count > limit) {
    return { epochs: candidateEpochs(index, tables, state, disabled, splitOperators), complete: false };
  }
  const epochs: Epoch[] = [];
  const chosen = new Map<number, number[]>();
  const preloading = new Map<string, number[]>();
  const visitGroup = (groupIndex: number) => {
    if (groupIndex === groups.length) {
      // An epoch runs at least one operator; preloads only ride along.
      if (chosen.size > 0) {
        const epoch: EpochAssignment[] = [...chosen.entries()]
          .sort((left, right) => left[0] - right[0])
          .map(([operator, workers]) => ({
            operator,
            workers: [...workers].sort((left, right) => left - right),
          }));
        for (const [model, workers] of [...preloading.entries()].sort((left, right) =>
          left[0].localeCompare(right[0]),
        )) {
          epoch.push({ preload: model, workers: [...workers].sort((left, right) => left - right) });
        }
        epochs.push(epoch);
      }
      return;
    }
    const group = groups[groupIndex]!;
    const { operators, preloads } = optionsOf[groupIndex]!;
    // Non-decreasing choices over [idle, ...operators, ...preloads] give each multiset once.
    const pick = (slot: number, from: number) => {
      if (slot === group.length) {
        visitGroup(groupIndex + 1);
        return;
      }
      for (let choice = from; choice <= operators.length + preloads.length; choice++) {
        if (choice === 0) {
          pick(slot + 1, choice);
          continue;
        }
        const worker = group[slot]!;
        if (choice > operators.length) {
          const model = preloads[choice - operators.length - 1]!;
          const workers = preloading.get(model);
          if (workers) workers.push(worker);
          else preloading.set(model, [worker]);
          pick(slot + 1, choice);
          if (workers) workers.pop();
          else preloading.delete(model);
          continue;
        }
        const operator = operators[choice - 1]!;
        const workers = chosen.get(operator);
        if (workers && !splitOperators) continue;
        if (workers) workers.push(worker);
        else chosen.set(operator, [worker]);
        pick(slot + 1, choice);
        if (workers) workers.pop();
        else chosen.delete(operator);
      }
    };
    pick(0, 0);
  };
  visitGroup(0);
  return { epochs, complete: true };
}

/** Models some not-done LLM operator still needs. */
export function modelsWithWorkLeft(index: ProblemIndex, done: bigint): Set<string> {
  const models = new Set<string>();
  index.llm.forEach((operator, position) => {
    if ((done & (1n << BigInt(position))) === 0n) models.add(operator.model);
  });
  return models;
}

/** Workers grouped by (class, state), each group's workers ascending, groups by first worker. */
function symmetricGroups(index: ProblemIndex, state: SearchState): number[][] {
  const groups = new Map<string, number[]>();
  state.workers.forEach((worker, position) => {
    const key = `${index.workerClass[position]}|${worker.key}`;
    const group = groups.get(key);
    if (group) group.push(position);
    else groups.set(key, [position]);
  });
  return [...groups.values()];
}

function binomial(n: number, k: number): number {
  let result = 1;
  for (let step = 1; step <= k; step++) result = (result * (n - k + step)) / step;
  return Math.round(result);
}
