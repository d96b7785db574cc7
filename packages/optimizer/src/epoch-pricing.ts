import { kvTransferMs } from "@halo/profiles";
import { type KvAction, llmRequestCount, llmShardCost, splitRequests } from "./cost-model.js";
import { type AssignmentPrice, type EpochPriceCache, memoOf } from "./epoch-price-cache.js";
import type { DisabledOptimizations } from "./planning-problem.js";
import { bit, type ProblemIndex } from "./problem-index.js";
import {
  type Epoch,
  type EpochOutcome,
  type EpochSchedule,
  holdsModel,
  inheritingChildMasks,
  initialState,
  isPreload,
  loadedState,
  nextWorkerState,
  type OperatorAssignment,
  type PricedPreload,
  type PricedShard,
  residencyAfter,
  type SearchState,
  type WorkerState,
  withoutServedContexts,
} from "./search-state.js";
import { sortSmall } from "./small-sort.js";
import { priceTools, toolTimings } from "./tool-price.js";

/**
 * The epoch model every strategy is priced with. A schedule is a sequence of
 * epochs; an epoch runs a set of ready LLM operators, each on one or more
 * workers (its requests split evenly; a worker runs at most one operator per
 * epoch), and the tool operators that become runnable. An epoch lasts as long
 * as its slowest worker (plus tool fill, or tool phases without pipelining);
 * the makespan is the sum of the epochs. The cost depends only on the done set
 * and the workers' states, which is what makes the DP over states exact.
 */

/** An epoch's steps priced from a state and the state after it (no tools, no epoch length). */
export interface AppliedEpoch {
  readonly shards: readonly PricedShard[];
  readonly preloads: readonly PricedPreload[];
  readonly next: SearchState;
}

/**
 * Applies an epoch to a state: prices each step from the state (the epoch
 * model's residency rules) and returns the state after it; undefined when it
 * is not allowed (an operator not ready or placed twice, a worker used twice,
 * a model that does not fit). `chainUp` (first epoch only) sets the shards'
 * input-tool fill. `cache` (from the same state) memoizes step prices.
 */
export function applyEpoch(
  index: ProblemIndex,
  state: SearchState,
  epoch: Epoch,
  disabled: DisabledOptimizations,
  cache?: EpochPriceCache,
  chainUp?: (tool: number) => number,
): AppliedEpoch | undefined {
  const usedWorkers = new Set<number>();
  let epochMask = 0n;
  const preloads: PricedPreload[] = [];
  for (const assignment of epoch) {
    if (isPreload(assignment)) {
      for (const worker of assignment.workers) {
        const model = index.workerModels[worker]?.get(assignment.preload);
        if (!model || usedWorkers.has(worker) || holdsModel(state.workers[worker]!, assignment.preload))
          return undefined;
        usedWorkers.add(worker);
        preloads.push({ worker, model: assignment.preload, loadMs: model.loadMs });
      }
      continue;
    }
    const position = assignment.operator;
    if (position < 0 || position >= index.llm.length || assignment.workers.length === 0) return undefined;
    if ((state.done & bit(position)) !== 0n || (epochMask & bit(position)) !== 0n) return undefined;
    if ((index.llmAncestors[position]! & ~state.done) !== 0n) return undefined;
    epochMask |= bit(position);
    for (const worker of assignment.workers) {
      if (usedWorkers.has(worker) || index.modelOn[worker]?.[position] === undefined) return undefined;
      usedWorkers.add(worker);
    }
  }
  if (epochMask === 0n) return undefined;
  const after = state.done | epochMask;
  const shards: PricedShard[] = [];
  const nextWorkers = [...state.workers];
  for (const preload of preloads)
    nextWorkers[preload.worker] = loadedState(
      index,
      preload.worker,
      state.workers[preload.worker]!,
      preload.model,
    );
  for (const assignment of epoch) {
    if (isPreload(assignment)) continue;
    // Shards with the input tools' fill (first epoch priced as an epoch) are kept apart from those without.
    const key = assignmentKey(assignment, state.workers.length, chainUp !== undefined);
    let price = cache?.assignments.get(key);
    if (price === undefined) {
      price = priceAssignment(index, state, assignment, disabled, chainUp) ?? null;
      cache?.assignments.set(key, price);
    }
    if (price === null) return undefined;
    for (const shard of price.shards) shards.push(shard);
    for (const [worker, workerState] of price.nextStates) nextWorkers[worker] = workerState;
  }
  for (let worker = 0; worker < nextWorkers.length; worker++)
    nextWorkers[worker] = withoutServedContexts(index, nextWorkers[worker]!, after);
  return { shards, preloads, next: { done: after, workers: nextWorkers } };
}

/**
 * Prices one epoch from `state` as a barrier (the epoch model's own figure:
 * it lasts as long as its slowest worker plus tool fill and tails); returns
 * undefined when it is not allowed. `cache` (from the same state) memoizes
 * parts across epochs; `detail` adds the tools' start and end times.
 */
export function evaluateEpoch(
  index: ProblemIndex,
  state: SearchState,
  epoch: Epoch,
  disabled: DisabledOptimizations,
  cache?: EpochPriceCache,
  detail = true,
): EpochOutcome | undefined {
  let epochMask = 0n;
  for (const assignment of epoch) {
    if (isPreload(assignment)) continue;
    const position = assignment.operator;
    if (position < 0 || position >= index.llm.length) return undefined;
    epochMask |= bit(position);
  }
  if (epochMask === 0n || (state.done & epochMask) !== 0n) return undefined;
  const after = state.done | epochMask;
  const firstEpoch = state.done === 0n;
  let toolPrice = cache?.tools.get(after);
  if (!toolPrice) {
    toolPrice = priceTools(index, state.done, after, disabled);
    cache?.tools.set(after, toolPrice);
  }
  const applied = applyEpoch(
    index,
    state,
    epoch,
    disabled,
    cache,
    firstEpoch ? toolPrice.chainUp : undefined,
  );
  if (!applied) return undefined;
  const preloads = applied.preloads;
  const shards: PricedShard[] = [];
  let slowestShardMs = 0;
  let spanMs = firstEpoch ? toolPrice.initialToolsMs : 0;
  let tailPhaseMs = 0;
  for (const preload of preloads) {
    slowestShardMs = Math.max(slowestShardMs, preload.loadMs);
    spanMs = Math.max(spanMs, preload.loadMs);
  }
  for (const shard of applied.shards) {
    const tailMs = toolPrice.tailOf(shard.operator);
    tailPhaseMs = Math.max(tailPhaseMs, tailMs);
    shards.push(tailMs === 0 ? shard : { ...shard, tailMs });
    slowestShardMs = Math.max(slowestShardMs, shard.cost.totalMs);
    spanMs = Math.max(spanMs, shard.fillMs + shard.cost.totalMs + tailMs);
  }

  let costMs: number;
  if (disabled.pipelining) {
    // Barriers: input tools, then the LLM operators, then the tools they unlock.
    for (const busy of toolPrice.unlockedPoolBusy.values()) tailPhaseMs = Math.max(tailPhaseMs, busy);
    let prePhaseMs = 0;
    if (firstEpoch) {
      prePhaseMs = toolPrice.initialToolsMs;
      for (const busy of toolPrice.initialPoolBusy.values()) prePhaseMs = Math.max(prePhaseMs, busy);
    }
    costMs = prePhaseMs + slowestShardMs + tailPhaseMs;
    if (prePhaseMs > 0) {
      shards.forEach((shard, position) => {
        shards[position] = { ...shard, fillMs: prePhaseMs };
      });
    }
  } else {
    // Pipelined tools overlap inference except for the pipeline fill (in the spans); their pool time
    // bounds the whole makespan instead (`poolBoundMs`).
    costMs = spanMs;
  }
  const tools = detail ? toolTimings(index, toolPrice, shards, costMs, disabled) : toolPrice.tools;
  return { costMs, next: applied.next, shards, tools, preloads };
}

/**
 * The slowest shard of one assignment run from `state` (tool fill included,
 * tool tails not), or Infinity when it does not fit: a quick score for
 * heuristics, memoized in `cache`.
 */
export function assignmentSpanMs(
  index: ProblemIndex,
  state: SearchState,
  assignment: OperatorAssignment,
  disabled: DisabledOptimizations,
  cache: EpochPriceCache,
): number {
  const key = assignmentKey(assignment, state.workers.length, state.done === 0n);
  let price = cache.assignments.get(key);
  if (price === undefined) {
    let chainUp: ((tool: number) => number) | undefined;
    if (state.done === 0n) {
      let initial = cache.tools.get(-1n);
      if (!initial) {
        initial = priceTools(index, 0n, 0n, disabled);
        cache.tools.set(-1n, initial);
      }
      chainUp = initial.chainUp;
    }
    price = priceAssignment(index, state, assignment, disabled, chainUp) ?? null;
    cache.assignments.set(key, price);
  }
  if (price === null) return Number.POSITIVE_INFINITY;
  let span = 0;
  for (const shard of price.shards) span = Math.max(span, shard.fillMs + shard.cost.totalMs);
  return span;
}

/**
 * The key of an assignment's price in an `EpochPriceCache`: a number for one
 * worker (the hot path), else text; `withFill` when priced with the input
 * tools' fill (the first epoch priced as an epoch), kept apart.
 */
function assignmentKey(
  assignment: OperatorAssignment,
  workerCount: number,
  withFill: boolean,
): number | string {
  const workers = assignment.workers;
  if (workers.length === 1) {
    const single = assignment.operator * workerCount + workers[0]!;
    return withFill ? -1 - single : single;
  }
  return `${withFill ? "f" : ""}${assignment.operator}:${workers.join(",")}`;
}

/** Prices one operator's shards from the epoch's start state; undefined when a shard does not fit in memory. */
function priceAssignment(
  index: ProblemIndex,
  state: SearchState,
  assignment: OperatorAssignment,
  disabled: DisabledOptimizations,
  chainUp: ((tool: number) => number) | undefined,
): AssignmentPrice | undefined {
  const position = assignment.operator;
  const operator = index.llm[position]!;
  const statistics = operator.statistics;
  const requests = llmRequestCount(statistics, disabled);
  // Workers in an order that depends on their states, not their indexes, so that identical workers stay
  // interchangeable (the DP's symmetry relies on it); warm workers take the remainder of the split, and
  // among workers in the same state the earlier in the assignment (the DP lists the sooner free first).
  const given = assignment.workers;
  // A worker that cannot serve the operator's model (weights too big, or its `models` leave it out).
  for (let at = 0; at < given.length; at++)
    if (index.modelOn[given[at]!]?.[position] === undefined) return undefined;
  const shardWorkers =
    given.length === 1
      ? given
      : sortSmall([...given], (left, right) => {
          const leftState = state.workers[left]!;
          const rightState = state.workers[right]!;
          const warm =
            Number(holdsModel(rightState, operator.model)) - Number(holdsModel(leftState, operator.model));
          return (
            warm ||
            index.workerClass[left]! - index.workerClass[right]! ||
            (leftState.key < rightState.key ? -1 : leftState.key > rightState.key ? 1 : 0) ||
            given.indexOf(left) - given.indexOf(right)
          );
        });
  const memo = memoOf(index, disabled);
  const inherited = statistics.inheritedContext;
  const parentPosition = inherited ? index.llmPosition.get(inherited.from) : undefined;
  // One worker, nothing to take from other workers: the price depends on that worker's state alone.
  let aloneKey: number | undefined;
  let aloneMap: Map<number, AssignmentPrice | null> | undefined;
  if (
    given.length === 1 &&
    !chainUp &&
    !heldElsewhere(
      state,
      given[0]!,
      operator.model,
      statistics.prefixKey,
      statistics.sharedPrefixTokens,
      parentPosition,
    )
  ) {
    const workerState = state.workers[given[0]!]!;
    aloneKey = position * state.workers.length + given[0]!;
    aloneMap = memo.alone.get(workerState);
    const known = aloneMap?.get(aloneKey);
    if (known !== undefined) return known ?? undefined;
  }
  const counts = shardWorkers.length === 1 ? [requests] : splitRequests(requests, shardWorkers.length);
  let fillMs = 0;
  if (chainUp) {
    for (const tool of index.llmToolParents[position]!) fillMs = Math.max(fillMs, chainUp(tool));
  }
  // Shares of the parent's requests whose context KV each worker holds; remote ones are consumed once.
  const parentShares =
    parentPosition === undefined
      ? undefined
      : state.workers.map(
          (worker) => worker.contexts.find((held) => held.operator === parentPosition)?.share ?? 0,
        );
  const totalParentShare = parentShares ? parentShares.reduce((sum, share) => sum + share, 0) : 0;
  // Each shard first reuses the contexts its own worker holds; only what the holders' own shards leave
  // can migrate (a context serves one request once).
  const localOf = shardWorkers.map((worker, shard) =>
    parentShares ? Math.min(counts[shard]!, parentShares[worker]! * requests) : 0,
  );
  const totalLocalRequests = localOf.reduce((sum, local) => sum + local, 0);
  let consumedRemoteRequests = 0;
  const shards: PricedShard[] = [];
  const nextStates: [number, WorkerState][] = [];
  for (let shard = 0; shard < shardWorkers.length; shard++) {
    const worker = shardWorkers[shard]!;
    const shardRequests = counts[shard]!;
    const workerState = state.workers[worker]!;
    const model = index.modelOn[worker]![position]!;
    const device = index.problem.workers[worker]!.profile;
    // Loaded (no load to pay) and active (its prefixes and contexts are this model's).
    const active = workerState.model === operator.model;
    const modelLoaded = active || holdsModel(workerState, operator.model);
    const prefixResident = active && workerState.prefixes.includes(statistics.prefixKey);
    // Weights of the other models the worker keeps loaded: memory this step's KV cannot use.
    const coResidentBytes =
      workerState.model === null
        ? 0
        : residencyAfter(index, worker, workerState, operator.model).residentWeightsBytes;
    let prefixSource: number | undefined;
    if (!prefixResident && statistics.sharedPrefixTokens > 0) {
      for (let other = 0; other < state.workers.length; other++) {
        const otherState = state.workers[other]!;
        if (
          other !== worker &&
          otherState.model === operator.model &&
          otherState.prefixes.includes(statistics.prefixKey)
        ) {
          prefixSource = other;
          break;
        }
      }
    }
    const ownShare = parentShares ? parentShares[worker]! : 0;
    const localRequests = localOf[shard]!;
    const availableRemote =
      (totalParentShare - ownShare) * requests -
      (totalLocalRequests - localRequests) -
      consumedRemoteRequests;
    const remoteRequests = Math.max(0, Math.min(shardRequests - localRequests, availableRemote));
    // The previous step's context KV is not resident while this step runs: a child reusing it continues
    // those sequences (their KV is the batch's), and any other step evicts it (it only serves children).
    const residentKvBytes = active ? workerState.prefixBytes : 0;
    // A shard's price depends on these only (identical workers price it identically): memoize across
    // states, first by the worker's state object (states are shared), then by content.
    const sourceClass = prefixSource === undefined ? "-" : index.workerClass[prefixSource];
    // Numbers for the common case (nothing inherited or migrated), text else.
    const simpleKey =
      memo.classCount * (position + index.llm.length * shardRequests) + index.workerClass[worker]!;
    const shortKey =
      localRequests === 0 && remoteRequests === 0 && prefixSource === undefined
        ? simpleKey
        : `${position}|${index.workerClass[worker]}|${shardRequests}|${localRequests}|${remoteRequests}|${sourceClass}`;
    let byState = memo.shardsByState.get(workerState);
    if (!byState) {
      byState = new Map();
      memo.shardsByState.set(workerState, byState);
    }
    let cost = byState.get(shortKey);
    let costKey: string | undefined;
    if (cost === undefined) {
      costKey = `${position}|${index.workerClass[worker]}|${+modelLoaded}${+prefixResident}|${residentKvBytes}|${coResidentBytes}|${shardRequests}|${localRequests}|${remoteRequests}|${sourceClass}`;
      cost = memo.shards.get(costKey);
    }
    if (cost === undefined) {
      cost =
        llmShardCost(
          coResidentBytes === 0 ? device : { ...device, memoryBytes: device.memoryBytes - coResidentBytes },
          model,
          statistics,
          shardRequests,
          {
            modelLoaded,
            prefixResident,
            ...(prefixSource === undefined
              ? {}
              : {
                  prefixMigrateMs: kvTransferMs(
                    index.problem.workers[prefixSource]!.profile,
                    model,
                    statistics.sharedPrefixTokens,
                  ),
                }),
            inheritedLocalRequests: localRequests,
            inheritedRemoteRequests: remoteRequests,
          },
          residentKvBytes,
          disabled,
        ) ?? null;
      memo.shards.set(costKey!, cost);
    }
    byState.set(shortKey, cost);
    if (cost === null) {
      if (aloneKey !== undefined) {
        const workerState = state.workers[given[0]!]!;
        if (!aloneMap) {
          aloneMap = new Map();
          memo.alone.set(workerState, aloneMap);
        }
        aloneMap.set(aloneKey, null);
      }
      return undefined;
    }
    if (cost.contextKv === "migrate") consumedRemoteRequests += remoteRequests;
    const migrateFrom =
      cost.prefixKv === "migrate" || cost.contextKv === "migrate"
        ? migrationSource(cost.prefixKv, cost.contextKv, prefixSource, state, parentPosition)
        : undefined;
    const priced: PricedShard = {
      operator: position,
      worker,
      requests: shardRequests,
      cost,
      fillMs,
      tailMs: 0,
      residentKvBytes,
    };
    shards.push(migrateFrom === undefined ? priced : { ...priced, migrateFrom });
    const share = shardRequests / Math.max(1, requests);
    // The successor state depends on the worker's class and state only: memoized like the prices.
    const nextKey = simpleKey;
    let nextOf = memo.nextByState.get(workerState);
    if (!nextOf) {
      nextOf = new Map();
      memo.nextByState.set(workerState, nextOf);
    }
    let nextState = nextOf.get(nextKey);
    if (!nextState) {
      const stateKey = `${position}|${index.workerClass[worker]}|${workerState.key}|${share}`;
      nextState = memo.states.get(stateKey);
      if (!nextState) {
        nextState = nextWorkerState(index, workerState, position, share, active, disabled, worker);
        memo.states.set(stateKey, nextState);
      }
      nextOf.set(nextKey, nextState);
    }
    nextStates.push([worker, nextState]);
  }
  const price = { shards, nextStates };
  if (aloneKey !== undefined) {
    const workerState = state.workers[given[0]!]!;
    if (!aloneMap) {
      aloneMap = new Map();
      memo.alone.set(workerState, aloneMap);
    }
    aloneMap.set(aloneKey, price);
  }
  return price;
}

/**
 * True when another worker than `worker` holds what a step of the operator
 * could take from it: its shared prefix (same model) or its parent's context.
 */
function heldElsewhere(
  state: SearchState,
  worker: number,
  model: string,
  prefixKey: string,
  prefixTokens: number,
  parentPosition: number | undefined,
): boolean {
  for (let other = 0; other < state.workers.length; other++) {
    const otherState = state.workers[other]!;
    if (parentPosition !== undefined) {
      for (const held of otherState.contexts) if (held.operator === parentPosition) return true;
    }
    if (
      other !== worker &&
      prefixTokens > 0 &&
      otherState.model === model &&
      otherState.prefixes.includes(prefixKey)
    )
      return true;
  }
  return false;
}

const NO_PRELOADS: readonly PricedPreload[] = [];

/**
 * Applies one step (an operator on a set of workers) to a state, for searches
 * that only generate steps that are allowed (a ready operator, distinct
 * workers that can serve it): nothing is checked but memory. Prices come from
 * `cache` (from the same state); undefined when a shard does not fit.
 */
export function applyStep(
  index: ProblemIndex,
  state: SearchState,
  assignment: OperatorAssignment,
  disabled: DisabledOptimizations,
  cache: EpochPriceCache,
): AppliedEpoch | undefined {
  const key = assignmentKey(assignment, state.workers.length, false);
  let price = cache.assignments.get(key);
  if (price === undefined) {
    price = priceAssignment(index, state, assignment, disabled, undefined) ?? null;
    cache.assignments.set(key, price);
  }
  if (price === null) return undefined;
  const after = state.done | bit(assignment.operator);
  const nextWorkers = state.workers.slice();
  for (const [worker, workerState] of price.nextStates) nextWorkers[worker] = workerState;
  // Only the context this step inherits can have served its last child.
  const inherited = index.llm[assignment.operator]!.statistics.inheritedContext;
  const parent = inherited ? index.llmPosition.get(inherited.from) : undefined;
  if (parent !== undefined && (inheritingChildMasks(index)[parent]! & ~after) === 0n) {
    for (let worker = 0; worker < nextWorkers.length; worker++)
      nextWorkers[worker] = withoutServedContexts(index, nextWorkers[worker]!, after);
  }
  return { shards: price.shards, preloads: NO_PRELOADS, next: { done: after, workers: nextWorkers } };
}

function migrationSource(
  prefixKv: KvAction,
  contextKv: KvAction,
  prefixSource: number | undefined,
  state: SearchState,
  parentPosition: number | undefined,
): number | undefined {
  if (prefixKv === "migrate") return prefixSource;
  if (contextKv === "migrate" && parentPosition !== undefined) {
    const holder = state.workers.findIndex((worker) =>
      worker.contexts.some((held) => held.operator === parentPosition),
    );
    return holder < 0 ? undefined : holder;
  }
  return undefined;
}

/**
 * The sum of a schedule's epochs, each as long as its slowest worker (epochs
 * as barriers; plans keep max(this, pool bound) as `epochMakespanMs`), or
 * undefined when some epoch is not allowed or work is left.
 */
export function scheduleEpochsMs(
  index: ProblemIndex,
  schedule: EpochSchedule,
  disabled: DisabledOptimizations,
): number | undefined {
  let state = initialState(index);
  let total = 0;
  for (const epoch of schedule) {
    const outcome = evaluateEpoch(index, state, epoch, disabled);
    if (!outcome) return undefined;
    total += outcome.costMs;
    state = outcome.next;
  }
  return state.done === index.allDone ? total : undefined;
}
