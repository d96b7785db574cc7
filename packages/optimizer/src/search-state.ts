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
  /** The model of the worker's last step or load (its prefixes and contexts are this model's), or null before the first load. */
  readonly model: string | null;
  /**
   * The other models still loaded (workers whose executors keep several, `maxLoadedModels`),
   * least recently used first: a step of one of them costs no load. Empty on one-model workers.
   */
  readonly resident: readonly string[];
  /** Weights of `resident`: memory the active model's KV cannot use. */
  readonly residentWeightsBytes: number;
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
  resident: [],
  residentWeightsBytes: 0,
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

/** True when `model` is loaded on the worker (active or still resident): a step of it costs no load. */
export function holdsModel(worker: WorkerState, model: string): boolean {
  return worker.model === model || (worker.resident.length > 0 && worker.resident.includes(model));
}

/** The models that stay loaded beside `model` once the worker makes it active. */
interface Residency {
  readonly resident: readonly string[];
  readonly residentWeightsBytes: number;
}

const NOTHING_RESIDENT: Residency = { resident: [], residentWeightsBytes: 0 };

/**
 * What stays loaded beside `model` when the worker makes it active, as an
 * engine that keeps up to `maxLoadedModels` does: the previous model joins the
 * resident ones as the most recently used, and the least recently used are
 * unloaded until the weights fit the worker's memory and the count its limit.
 */
export function residencyAfter(
  index: ProblemIndex,
  worker: number,
  previous: WorkerState,
  model: string,
): Residency {
  if (previous.model === null || maxLoadedModels(index, worker) <= 1) return NOTHING_RESIDENT;
  if (previous.model === model) return previous;
  const resident = keptLoaded(index, worker, [...previous.resident, previous.model], model);
  if (resident.length === 0) return NOTHING_RESIDENT;
  const models = index.workerModels[worker]!;
  let residentWeightsBytes = 0;
  for (const name of resident) residentWeightsBytes += models.get(name)?.weightsBytes ?? 0;
  return { resident, residentWeightsBytes };
}

/**
 * The models of `loaded` (least recently used first) still loaded once the
 * worker loads or switches to `model`: at most `maxLoadedModels` in all,
 * weights within its memory, the least recently used unloaded first.
 */
export function keptLoaded(
  index: ProblemIndex,
  worker: number,
  loaded: readonly string[],
  model: string,
): string[] {
  const limit = maxLoadedModels(index, worker);
  if (limit <= 1) return [];
  const profile = index.problem.workers[worker]!.profile;
  const models = index.workerModels[worker]!;
  const weightsOf = (name: string) => models.get(name)?.weightsBytes ?? 0;
  const kept = loaded.filter((name) => name !== model);
  let weights = kept.reduce((total, name) => total + weightsOf(name), 0) + weightsOf(model);
  while (kept.length > 0 && (kept.length + 1 > limit || weights > profile.memoryBytes))
    weights -= weightsOf(kept.shift()!);
  return kept;
}

function maxLoadedModels(index: ProblemIndex, worker: number): number {
  return index.problem.workers[worker]!.profile.capabilities?.maxLoadedModels ?? 1;
}

/** A worker that just loaded (or switched to) `model`: none of its KV resident yet. */
export function loadedState(
  index: ProblemIndex,
  worker: number,
  previous: WorkerState,
  model: string,
): WorkerState {
  return makeWorkerState(model, residencyAfter(index, worker, previous, model), [], 0, null, []);
}

/**
 * The worker's state after running `position`: model loaded, prefix resident, context kept if it fits.
 * `active`: the worker's previous step (or load) was of the same model, so its prefixes and contexts stay.
 */
export function nextWorkerState(
  index: ProblemIndex,
  previous: WorkerState,
  position: number,
  share: number,
  active: boolean,
  disabled: DisabledOptimizations,
  worker: number,
): WorkerState {
  const operator = index.llm[position]!;
  const model = index.modelOn[worker]![position]!;
  const residency = residencyAfter(index, worker, previous, operator.model);
  // The other loaded models' weights take their share of the memory.
  const memoryBytes = index.problem.workers[worker]!.profile.memoryBytes - residency.residentWeightsBytes;
  let prefixes = active ? previous.prefixes : [];
  let prefixBytes = active ? previous.prefixBytes : 0;
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
  let contexts = active ? previous.contexts : [];
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
  return makeWorkerState(operator.model, residency, prefixes, prefixBytes, context, contexts);
}

function makeWorkerState(
  model: string,
  residency: Residency,
  prefixes: readonly string[],
  prefixBytes: number,
  context: ContextHolding | null,
  contexts: readonly ContextHolding[],
): WorkerState {
  const held = contexts.map((entry) => `${entry.operator}@${entry.share.toFixed(6)}`).join("+");
  const { resident, residentWeightsBytes } = residency;
  // Resident models in LRU order: the order decides which one a later load unloads.
  const others = resident.length === 0 ? "" : `{${resident.join(",")}}`;
  return {
    model,
    resident,
    residentWeightsBytes,
    prefixes,
    prefixBytes,
    context,
    contexts,
    key: `${model}${others}[${prefixes.join(",")}]${held}`,
  };
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
  return makeWorkerState(worker.model!, worker, worker.prefixes, worker.prefixBytes, context, contexts);
}
