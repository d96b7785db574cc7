import { EpochPriceCache } from "./epoch-price-cache.js";
import { applyStep } from "./epoch-pricing.js";
import { advanceClock, type TimedState } from "./list-schedule.js";
import { type ContinuousBoundTables, continuousLowerBoundMs } from "./lower-bound.js";
import type { DisabledOptimizations } from "./planning-problem.js";
import type { ProblemIndex } from "./problem-index.js";
import { holdsModel, type OperatorAssignment, type SearchState, type WorkerState } from "./search-state.js";
import { sortSmall } from "./small-sort.js";

/**
 * The search space of the DP in continuous time: a plan is built by appending
 * one step at a time — a ready LLM operator on one or more workers (its
 * requests split evenly) — to the end of those workers' queues; the list
 * scheduler (`advanceClock`) gives every step its start and end. Every plan
 * (assignment and per-worker order) is reachable, and the result depends on
 * the states and clocks only, so searches memoize states and prune dominated
 * ones: same done set and worker states (identical workers interchangeable),
 * every clock no later.
 */

/** A node of the search: a timed state, its bound, and how it was reached. */
export interface TimedNode {
  readonly timed: TimedState;
  /** Admissible bound on the makespan of every completion (path-max along the path). */
  readonly boundMs: number;
  /** Steps appended so far. */
  readonly depth: number;
  readonly sequence: number;
  readonly parent: TimedNode | undefined;
  readonly step: OperatorAssignment | undefined;
  /** Set when a node that dominates it arrived after it was queued. */
  dead: boolean;
}

/** The worker sets one operator may be appended to. */
export interface StepOptions {
  readonly operator: number;
  readonly workerSets: readonly (readonly number[])[];
}

/** How steps are chosen from a state. */
export interface StepPolicy {
  /** Allow an operator's requests to be split over several workers. */
  readonly split: boolean;
  /** Above this many steps from one state, only the candidate steps are generated (the state is then not exhaustive). */
  readonly maxSteps: number;
  /** Candidate steps: singles on this many of the earliest free workers, splits over up to this many (`splitSizes`). */
  readonly candidateSingles: number;
  readonly candidateSplit: number;
  /** Candidate steps: at most this many ready operators (most urgent first). */
  readonly candidateOperators: number;
  /**
   * Splits tried when every step is: every worker set (true), or only the
   * sooner free workers together (`splitSizes` of them; the state is then
   * not exhaustive when a split is possible).
   */
  readonly everySplit: boolean;
}

/**
 * The steps from a state: every worker set (multisets over interchangeable
 * workers: same class, state and clock) for every ready operator, or — when
 * that is more than `policy.maxSteps` — candidate steps (`exhaustive` false).
 */
export function stepsFrom(
  index: ProblemIndex,
  tables: ContinuousBoundTables,
  timed: TimedState,
  policy: StepPolicy,
): { steps: StepOptions[]; exhaustive: boolean } {
  const ready = readyOf(tables, timed);
  const workerGroups = groupKeysOf(index, timed);
  const groupsOf = ready.map((operator) => interchangeableGroups(tables, workerGroups, operator));
  let total = 0;
  for (const groups of groupsOf) {
    let count = 1;
    if (policy.split) for (const group of groups) count *= group.length + 1;
    else count = groups.length + 1;
    total += count - 1;
  }
  if (total <= policy.maxSteps && policy.everySplit) {
    const steps = ready.map((operator, position) => ({
      operator,
      workerSets: allWorkerSets(groupsOf[position]!, policy.split),
    }));
    return { steps, exhaustive: true };
  }
  if (ready.length <= policy.candidateOperators && !policy.everySplit) {
    // Every operator, every worker alone, splits only over the sooner free.
    const steps = ready.map((operator, position) => {
      const groups = groupsOf[position]!;
      return {
        operator,
        workerSets: candidateWorkerSets(index, tables, timed, operator, groups, {
          ...policy,
          candidateSingles: groups.length,
        }),
      };
    });
    const splittable = policy.split && groupsOf.some((groups) => groups.flat().length > 1);
    return { steps, exhaustive: !splittable };
  }
  const urgent = ready
    .map((operator, position) => ({ operator, groups: groupsOf[position]! }))
    .sort(
      (left, right) =>
        tables.bottomMs[right.operator]! - tables.bottomMs[left.operator]! || left.operator - right.operator,
    )
    .slice(0, policy.candidateOperators);
  const steps = urgent.map(({ operator, groups }) => ({
    operator,
    workerSets: candidateWorkerSets(index, tables, timed, operator, groups, policy),
  }));
  return { steps, exhaustive: false };
}

/** LLM operators not done whose timing predecessors are all done (done ones have a finish time). */
function readyOf(tables: ContinuousBoundTables, timed: TimedState): number[] {
  const ready: number[] = [];
  const finishMs = timed.finishMs;
  for (let operator = 0; operator < finishMs.length; operator++) {
    if (!Number.isNaN(finishMs[operator]!)) continue;
    let isReady = true;
    for (const edge of tables.timing.predecessors[operator]!) {
      if (Number.isNaN(finishMs[edge.operator]!)) {
        isReady = false;
        break;
      }
    }
    if (isReady) ready.push(operator);
  }
  return ready;
}

/** Per worker: the id of its group of interchangeable workers (same class, state and clock). */
function groupKeysOf(index: ProblemIndex, timed: TimedState): number[] {
  const ids = new Map<string, number>();
  return timed.state.workers.map((worker, position) => {
    const key = `${index.workerClass[position]}|${worker.key}|${timed.freeMs[position]}`;
    let id = ids.get(key);
    if (id === undefined) {
      id = ids.size;
      ids.set(key, id);
    }
    return id;
  });
}

/** Capable workers of an operator grouped by interchangeability, each group ascending, groups by first worker. */
function interchangeableGroups(
  tables: ContinuousBoundTables,
  workerGroups: readonly number[],
  operator: number,
): number[][] {
  const groups: number[][] = [];
  const byId = new Map<number, number[]>();
  for (const worker of tables.capable[operator]!) {
    const id = workerGroups[worker]!;
    const group = byId.get(id);
    if (group) group.push(worker);
    else {
      const created = [worker];
      byId.set(id, created);
      groups.push(created);
    }
  }
  return groups;
}

/** Every worker set: a count per group (its first workers), at least one worker; one worker without splitting. */
function allWorkerSets(groups: readonly (readonly number[])[], split: boolean): number[][] {
  if (!split) return groups.map((group) => [group[0]!]);
  const sets: number[][] = [];
  const chosen: number[] = [];
  const visit = (position: number) => {
    if (position === groups.length) {
      if (chosen.length > 0) sets.push([...chosen].sort((left, right) => left - right));
      return;
    }
    const group = groups[position]!;
    visit(position + 1);
    for (let count = 1; count <= group.length; count++) {
      chosen.push(group[count - 1]!);
      visit(position + 1);
    }
    chosen.length -= group.length;
  };
  visit(0);
  return sets;
}

/** When a worker could start the operator's compute: free, plus its model's load if it holds another. */
function availableMs(
  tables: ContinuousBoundTables,
  timed: TimedState,
  operator: number,
  model: string,
  worker: number,
): number {
  const loaded = holdsModel(timed.state.workers[worker]!, model);
  return timed.freeMs[worker]! + (loaded ? 0 : tables.loadOn[operator]![worker]!);
}

/** Candidate worker sets: the earliest available groups alone, and splits over the earliest workers. */
function candidateWorkerSets(
  index: ProblemIndex,
  tables: ContinuousBoundTables,
  timed: TimedState,
  operator: number,
  groups: readonly (readonly number[])[],
  policy: StepPolicy,
): number[][] {
  const model = index.llm[operator]!.model;
  const byAvailability = sortSmall(
    [...groups],
    (left, right) =>
      availableMs(tables, timed, operator, model, left[0]!) -
        availableMs(tables, timed, operator, model, right[0]!) || left[0]! - right[0]!,
  );
  const sets: number[][] = byAvailability.slice(0, policy.candidateSingles).map((group) => [group[0]!]);
  if (policy.split) {
    const workers = byAvailability.flat();
    for (const size of splitSizes(Math.min(workers.length, policy.candidateSplit))) {
      sets.push(workers.slice(0, size).sort((left, right) => left - right));
    }
  }
  return sets;
}

/** Split sizes worth trying over `count` workers: 2, 3, 4, then powers of two, then all. */
export function splitSizes(count: number): number[] {
  const sizes: number[] = [];
  for (let size = 2; size <= Math.min(4, count); size++) sizes.push(size);
  for (let size = 8; size < count; size *= 2) sizes.push(size);
  if (count > 4) sizes.push(count);
  return sizes;
}

/** Appends a step to a node; undefined when it is not allowed (a model that does not fit). */
export function appendStep(
  index: ProblemIndex,
  tables: ContinuousBoundTables,
  node: TimedNode,
  step: OperatorAssignment,
  disabled: DisabledOptimizations,
  cache: EpochPriceCache,
  sequence: number,
): TimedNode | undefined {
  // Among the step's workers, the sooner free first (they take the remainder of a split).
  const ordered =
    step.workers.length > 1
      ? { operator: step.operator, workers: soonerFreeFirst(node.timed, step.workers) }
      : step;
  const applied = applyStep(index, node.timed.state, ordered, disabled, cache);
  if (!applied) return undefined;
  const timed = advanceClock(tables.timing, node.timed, applied.shards, applied.next);
  const boundMs = Math.max(node.boundMs, continuousLowerBoundMs(index, tables, timed));
  return { timed, boundMs, depth: node.depth + 1, sequence, parent: node, step: ordered, dead: false };
}

/** Workers ordered by free time, then index. */
export function soonerFreeFirst(timed: TimedState, workers: readonly number[]): number[] {
  const freeMs = timed.freeMs;
  return sortSmall(workers.slice(), (left, right) => freeMs[left]! - freeMs[right]! || left - right);
}

/** The root node: nothing done, every worker free. */
export function rootNode(index: ProblemIndex, tables: ContinuousBoundTables, timed: TimedState): TimedNode {
  return {
    timed,
    boundMs: continuousLowerBoundMs(index, tables, timed),
    depth: 0,
    sequence: 0,
    parent: undefined,
    step: undefined,
    dead: false,
  };
}

/** The steps from the root to a node. */
export function stepsOf(node: TimedNode): OperatorAssignment[] {
  const steps: OperatorAssignment[] = [];
  for (let current: TimedNode | undefined = node; current?.step; current = current.parent) {
    steps.push(current.step);
  }
  return steps.reverse();
}

/** Most states whose step prices `PriceCaches` keeps before it starts over. */
const MAX_CACHED_STATES = 4_096;

/**
 * Step prices per discrete state (done set and every worker's state, by
 * position): nodes that reach the same state by different paths or clocks
 * price their steps identically, so they share one cache.
 */
export class PriceCaches {
  private readonly byState = new Map<string, EpochPriceCache>();
  /** The cache of each search state object (nodes reached from one node share its state object). */
  private readonly byObject = new WeakMap<SearchState, EpochPriceCache>();
  /** Worker states (interned by their text, once per object) as small numbers. */
  private readonly workerIds = new WeakMap<WorkerState, number>();
  private readonly idsByText = new Map<string, number>();

  of(node: TimedNode): EpochPriceCache {
    const state = node.timed.state;
    const known = this.byObject.get(state);
    if (known) return known;
    let key = state.done.toString(36);
    for (const worker of state.workers) key += `;${this.idOf(worker)}`;
    let cache = this.byState.get(key);
    if (!cache) {
      if (this.byState.size >= MAX_CACHED_STATES) this.byState.clear();
      cache = new EpochPriceCache(state);
      this.byState.set(key, cache);
    }
    this.byObject.set(state, cache);
    return cache;
  }

  private idOf(worker: WorkerState): number {
    let id = this.workerIds.get(worker);
    if (id === undefined) {
      id = this.idsByText.get(worker.key);
      if (id === undefined) {
        id = this.idsByText.size;
        this.idsByText.set(worker.key, id);
      }
      this.workerIds.set(worker, id);
    }
    return id;
  }
}

/**
 * Memo of the best nodes per discrete state (done set and worker states,
 * identical workers interchangeable): a node is admitted unless one with
 * every clock no later is known; those it beats are marked dead.
 */
export class DominanceMemo {
  private readonly entries = new Map<string, { vector: number[]; node: TimedNode }[]>();
  /** Worker (class, state) pairs as small numbers. */
  private readonly workerIds = new Map<string, number>();
  /** Nodes admitted (for statistics). */
  size = 0;

  constructor(
    private readonly index: ProblemIndex,
    private readonly tables: ContinuousBoundTables,
  ) {}

  admit(node: TimedNode): boolean {
    const { key, vector } = this.signature(node.timed);
    const known = this.entries.get(key);
    if (!known) {
      this.entries.set(key, [{ vector, node }]);
      this.size += 1;
      return true;
    }
    for (const entry of known) if (!entry.node.dead && dominates(entry.vector, vector)) return false;
    const kept = known.filter((entry) => {
      if (entry.node.dead) return false;
      if (dominates(vector, entry.vector)) {
        entry.node.dead = true;
        return false;
      }
      return true;
    });
    kept.push({ vector, node });
    this.entries.set(key, kept);
    this.size += 1;
    return true;
  }

  /**
   * The discrete part of a timed state as a canonical key (workers ordered by
   * class and state, so identical workers are interchangeable) and its clocks
   * in that order: makespan so far, each worker's free time, and the ends of
   * done operators some operator not done still waits for.
   */
  private signature(timed: TimedState): { key: string; vector: number[] } {
    const workers = timed.state.workers;
    const ids = workers.map((worker, position) => {
      const text = `${this.index.workerClass[position]}|${worker.key}`;
      let id = this.workerIds.get(text);
      if (id === undefined) {
        id = this.workerIds.size;
        this.workerIds.set(text, id);
      }
      return id;
    });
    // Workers in the same state by clock: a split gives its remainder to the sooner free of them whatever
    // their indexes, so swapping their clocks is a symmetry.
    const order = ids.map((_, worker) => worker);
    sortSmall(
      order,
      (left, right) => ids[left]! - ids[right]! || timed.freeMs[left]! - timed.freeMs[right]! || left - right,
    );
    let key = timed.state.done.toString(36);
    const vector = [timed.makespanMs];
    for (const worker of order) {
      key += `;${ids[worker]}`;
      vector.push(timed.freeMs[worker]!);
    }
    const finishMs = timed.finishMs;
    for (let operator = 0; operator < finishMs.length; operator++) {
      if (Number.isNaN(finishMs[operator]!)) continue;
      // Done, and some operator not done waits for it.
      for (const edge of this.tables.timing.successors[operator]!) {
        if (Number.isNaN(finishMs[edge.operator]!)) {
          vector.push(finishMs[operator]!);
          break;
        }
      }
    }
    return { key, vector };
  }
}

const TOLERANCE_MS = 1e-6;

function dominates(left: readonly number[], right: readonly number[]): boolean {
  for (let position = 0; position < left.length; position++) {
    if (left[position]! > right[position]! + TOLERANCE_MS) return false;
  }
  return true;
}
