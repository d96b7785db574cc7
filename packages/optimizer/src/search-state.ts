import {
  contextKvBytes,
  llmRequestCount,
  prefixKvBytes,
  retainedContextFraction,
  type ShardCost,
} from "./cost-model.js";
import type { DisabledOptimizations } from "./planning-problem.js";
import { bit, type ProblemIndex } from "./problem-index.js";

/** The epoch model's state: what a schedule is, a search state, a worker's resident KV, and priced steps. */

/**
 * One operator of an epoch: LLM operator position and the workers its
 * requests are split over (distinct indexes; among workers in the same state
 * the earlier listed takes the remainder of the split — strategies list them
 * ascending, the DP sooner free first).
 */
export interface OperatorAssignment {
  readonly operator: number;
  readonly workers: readonly number[];
}

/** Workers idle in an epoch that load a model for a later one (the runtime preloads when idle). */
export interface PreloadAssignment {
  readonly preload: string;
  readonly workers: readonly number[];
}

export type EpochAssignment = OperatorAssignment | PreloadAssignment;

/** True for a preload. */
export function isPreload(assignment: EpochAssignment): assignment is PreloadAssignment {
  return "preload" in assignment;
}

/** What one epoch runs: at least one operator (distinct operators, disjoint worker sets), and preloads. */
export type Epoch = readonly EpochAssignment[];

/** A strategy's result before pricing: epochs in order. */
export type EpochSchedule = readonly Epoch[];

/** KV a worker keeps between steps. */
export interface WorkerState {
  /** Loaded model, or null before the first load. */
  readonly model: string | null;
  /** Shared-prefix keys whose KV is resident (for the loaded model), sorted. */
  readonly prefixes: readonly string[];
  readonly prefixBytes: number;
  /** Per-request context KV left by the worker's last step for children that inherit it (if still held). */
  readonly context: ContextHolding | null;
  /**
   * Every per-request context KV the worker holds, by operator: kept while the
   * worker keeps its model and some child that inherits it is not done.
   */
  readonly contexts: readonly ContextHolding[];
  /** Canonical text of this state (for symmetry and memoization). */
  readonly key: string;
}

/** Context KV an operator left on a worker: the share of its requests whose KV is held, and its bytes. */
export interface ContextHolding {
  readonly operator: number;
  readonly share: number;
  readonly bytes: number;
}

/** A search state: LLM operators done and every worker's state. */
export interface SearchState {
  readonly done: bigint;
  readonly workers: readonly WorkerState[];
}

/** A priced shard: one operator's requests on one worker in one epoch. */
export interface PricedShard {
  readonly operator: number;
  readonly worker: number;
  readonly requests: number;
  readonly cost: ShardCost;
  /** Tool latency waited before the shard starts (the first epoch's input tools). */
  readonly fillMs: number;
  /** Tool latency after the shard before its results are complete (pipeline tail). */
  readonly tailMs: number;
  /** Worker holding the migrated KV, when some was migrated. */
  readonly migrateFrom?: number;
  /** Resident KV (prefixes + context) on the worker while the shard runs. */
  readonly residentKvBytes: number;
}

/** A tool operator run during an epoch. */
export interface PricedTool {
  readonly tool: number;
  /** When its first call can start, relative to the epoch's start. */
  readonly startOffsetMs: number;
  /** Pool busy time of all its calls. */
  readonly workMs: number;
  /** Time until its last call finishes, relative to the epoch's start. */
  readonly endOffsetMs: number;
}

/** A priced preload: a worker loading a model during an epoch. */
export interface PricedPreload {
  readonly worker: number;
  readonly model: string;
  readonly loadMs: number;
}

/** The price of one epoch from a state. */
export interface EpochOutcome {
  readonly costMs: number;
  readonly next: SearchState;
  readonly shards: readonly PricedShard[];
  readonly tools: readonly PricedTool[];
  readonly preloads: readonly PricedPreload[];
}

const EMPTY_WORKER: WorkerState = {
  model: null,
  prefixes: [],
  prefixBytes: 0,
  context: null,
  contexts: [],
  key: "-",
};

/** Every worker empty, nothing done. */
export function initialState(index: ProblemIndex): SearchState {
  return { done: 0n, workers: index.problem.workers.map(() => EMPTY_WORKER) };
}

/** Canonical key: identical workers (same class) with identical states are interchangeable. */
export function canonicalKey(index: ProblemIndex, state: SearchState): string {
  const byClass = new Map<number, string[]>();
  state.workers.forEach((worker, position) => {
    const workerClass = index.workerClass[position]!;
    let keys = byClass.get(workerClass);
    if (!keys) {
      keys = [];
      byClass.set(workerClass, keys);
    }
    keys.push(worker.key);
  });
  const parts = [state.done.toString(36)];
  for (const workerClass of [...byClass.keys()].sort((left, right) => left - right)) {
    parts.push(byClass.get(workerClass)!.sort().join(";"));
  }
  return parts.join("|");
}

/** LLM operators whose LLM ancestors are all done and that are not done themselves, ascending. */
export function readyOperators(index: ProblemIndex, done: bigint): number[] {
  const ready: number[] = [];
  for (let position = 0; position < index.llm.length; position++) {
    if ((done & bit(position)) !== 0n) continue;
    if ((index.llmAncestors[position]! & ~done) === 0n) ready.push(position);
  }
  return ready;
}

/** A worker that just loaded `model`: nothing resident yet. */
export function loadedState(model: string): WorkerState {
  return { model, prefixes: [], prefixBytes: 0, context: null, contexts: [], key: `${model}[]` };
}

/** The worker's state after running `position`: model loaded, prefix resident, context kept if it fits. */
export function nextWorkerState(
  index: ProblemIndex,
  previous: WorkerState,
  position: number,
  share: number,
  modelLoaded: boolean,
  disabled: DisabledOptimizations,
  worker: number,
): WorkerState {
  const operator = index.llm[position]!;
  const model = index.modelOn[worker]![position]!;
  const memoryBytes = index.problem.workers[worker]!.profile.memoryBytes;
  let prefixes = modelLoaded ? previous.prefixes : [];
  let prefixBytes = modelLoaded ? previous.prefixBytes : 0;
  const statistics = operator.statistics;
  if (
    !disabled.prefixSharing &&
    statistics.sharedPrefixTokens > 0 &&
    !prefixes.includes(statistics.prefixKey)
  ) {
    const bytes = prefixKvBytes(model, statistics);
    if (model.weightsBytes + prefixBytes + bytes <= memoryBytes) {
      prefixes = [...prefixes, statistics.prefixKey].sort();
      prefixBytes += bytes;
    }
  }
  let context: ContextHolding | null = null;
  let contexts = modelLoaded ? previous.contexts : [];
  if (!disabled.prefixSharing && index.hasInheritingChild[position]) {
    const requests = llmRequestCount(statistics, disabled) * share;
    const bytes = contextKvBytes(model, statistics, requests);
    const kept = retainedContextFraction(memoryBytes, model, prefixBytes, bytes);
    if (kept > 0) {
      context = { operator: position, share: share * kept, bytes: bytes * kept };
      contexts = [...contexts.filter((held) => held.operator !== position), context].sort(
        (left, right) => left.operator - right.operator,
      );
    }
  }
  return makeWorkerState(operator.model, prefixes, prefixBytes, context, contexts);
}

function makeWorkerState(
  model: string,
  prefixes: readonly string[],
  prefixBytes: number,
  context: ContextHolding | null,
  contexts: readonly ContextHolding[],
): WorkerState {
  const held = contexts.map((entry) => `${entry.operator}@${entry.share.toFixed(6)}`).join("+");
  return { model, prefixes, prefixBytes, context, contexts, key: `${model}[${prefixes.join(",")}]${held}` };
}

/** Per LLM operator: the mask of its children that inherit its context. */
const inheritingChildren = new WeakMap<ProblemIndex, readonly bigint[]>();

export function inheritingChildMasks(index: ProblemIndex): readonly bigint[] {
  let masks = inheritingChildren.get(index);
  if (!masks) {
    const result = index.llm.map(() => 0n);
    index.llm.forEach((operator, position) => {
      const inherited = operator.statistics.inheritedContext;
      const parent = inherited && inherited.tokens > 0 ? index.llmPosition.get(inherited.from) : undefined;
      if (parent !== undefined) result[parent] = result[parent]! | bit(position);
    });
    masks = result;
    inheritingChildren.set(index, masks);
  }
  return masks;
}

/** The worker without the contexts no child needs any more once `done` is done (canonical states). */
export function withoutServedContexts(index: ProblemIndex, worker: WorkerState, done: bigint): WorkerState {
  if (worker.contexts.length === 0) return worker;
  const masks = inheritingChildMasks(index);
  const contexts = worker.contexts.filter((held) => (masks[held.operator]! & ~done) !== 0n);
  if (contexts.length === worker.contexts.length) return worker;
  const context = worker.context && contexts.includes(worker.context) ? worker.context : null;
  return makeWorkerState(worker.model!, worker.prefixes, worker.prefixBytes, context, contexts);
}
