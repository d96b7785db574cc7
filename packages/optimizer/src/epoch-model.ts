import { kvTransferMs } from "@halo/profiles";
import {
  contextKvBytes,
  type KvAction,
  llmRequestCount,
  llmShardCost,
  prefixKvBytes,
  type ShardCost,
  splitRequests,
  toolBatchMs,
  toolLatencyMs,
  toolPoolWorkMs,
} from "./cost-model.js";
import type { DisabledOptimizations } from "./planning-problem.js";
import { bit, type ProblemIndex } from "./problem-index.js";

/**
 * The epoch model every strategy is priced with. A schedule is a sequence of
 * epochs; an epoch runs a set of ready LLM operators, each on one or more
 * workers (its requests split evenly; a worker runs at most one operator per
 * epoch), and the tool operators that become runnable. An epoch lasts as long
 * as its slowest worker (plus tool fill, or tool phases without pipelining);
 * the makespan is the sum of the epochs. The cost depends only on the done set
 * and the workers' states, which is what makes the DP over states exact.
 */

/** One operator of an epoch: LLM operator position and the workers (indexes, ascending) its requests are split over. */
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
  /** Per-request context KV left by the worker's last step for children that inherit it. */
  readonly context: { readonly operator: number; readonly share: number; readonly bytes: number } | null;
  /** Canonical text of this state (for symmetry and memoization). */
  readonly key: string;
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

const EMPTY_WORKER: WorkerState = { model: null, prefixes: [], prefixBytes: 0, context: null, key: "-" };

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

/** Tool operators whose LLM ancestors are all done by the end of the epoch and were not all done before it. */
function toolsRunIn(index: ProblemIndex, done: bigint, after: bigint): boolean[] {
  return index.toolLlmAncestors.map((ancestors) => {
    const runnableAfter = (ancestors & ~after) === 0n;
    if (!runnableAfter) return false;
    return done === 0n || (ancestors & ~done) !== 0n;
  });
}

/** The shards of one assignment from a state, and the states its workers end in (tails added per epoch). */
interface AssignmentPrice {
  readonly shards: readonly PricedShard[];
  readonly nextStates: readonly (readonly [number, WorkerState])[];
}

/** The tools an epoch unlocks (depends only on the done set before and after it). */
interface ToolPrice {
  readonly runs: readonly boolean[];
  /** Tail tool chain per LLM operator of the epoch. */
  readonly tailOf: (operator: number) => number;
  readonly chainDown: (tool: number) => number;
  readonly chainUp: (tool: number) => number;
  readonly tools: readonly PricedTool[];
  readonly initialPoolBusy: ReadonlyMap<string, number>;
  readonly unlockedPoolBusy: ReadonlyMap<string, number>;
  readonly initialToolsMs: number;
}

/**
 * Memoizes the parts of epoch prices from one state: an assignment's shards do
 * not depend on the other operators of the epoch, and the tools only on the
 * done sets. The DP prices many epochs from each state through one cache.
 */
export class EpochPriceCache {
  readonly assignments = new Map<string, AssignmentPrice | null>();
  readonly tools = new Map<bigint, ToolPrice>();
  private groups: string[] | undefined;

  constructor(readonly state: SearchState) {}

  /** Per worker: the key of its group of interchangeable workers (same class, same state). */
  groupKeys(index: ProblemIndex): readonly string[] {
    this.groups ??= this.state.workers.map(
      (worker, position) => `${index.workerClass[position]}|${worker.key}`,
    );
    return this.groups;
  }
}

function toolCostMs(index: ProblemIndex, tool: number, disabled: DisabledOptimizations): number {
  const statistics = index.tools[tool]!.statistics;
  return disabled.pipelining
    ? toolBatchMs(statistics, index.toolConcurrency[tool]!, disabled)
    : toolLatencyMs(statistics);
}

function priceTools(
  index: ProblemIndex,
  done: bigint,
  after: bigint,
  disabled: DisabledOptimizations,
): ToolPrice {
  const runs = toolsRunIn(index, done, after);
  // Longest tool chains: downward from a tool through tools of this epoch, upward for the first epoch's input tools.
  const downMemo = new Map<number, number>();
  const chainDown = (tool: number): number => {
    const known = downMemo.get(tool);
    if (known !== undefined) return known;
    let longest = 0;
    for (const child of index.toolToolChildren[tool]!) {
      if (runs[child]) longest = Math.max(longest, chainDown(child));
    }
    const value = toolCostMs(index, tool, disabled) + longest;
    downMemo.set(tool, value);
    return value;
  };
  const upMemo = new Map<number, number>();
  const chainUp = (tool: number): number => {
    const known = upMemo.get(tool);
    if (known !== undefined) return known;
    let longest = 0;
    for (const parent of index.toolToolParents[tool]!) longest = Math.max(longest, chainUp(parent));
    const value = toolCostMs(index, tool, disabled) + longest;
    upMemo.set(tool, value);
    return value;
  };
  const tailOf = (operator: number) => {
    let tailMs = 0;
    for (const tool of index.llmToolChildren[operator]!)
      if (runs[tool]) tailMs = Math.max(tailMs, chainDown(tool));
    return tailMs;
  };
  const initialPoolBusy = new Map<string, number>();
  const unlockedPoolBusy = new Map<string, number>();
  const tools: PricedTool[] = [];
  let initialToolsMs = 0;
  for (let tool = 0; tool < index.tools.length; tool++) {
    if (!runs[tool]) continue;
    const operator = index.tools[tool]!;
    const workMs = toolPoolWorkMs(operator.statistics, index.toolConcurrency[tool]!, disabled);
    const initial = index.toolLlmAncestors[tool] === 0n;
    const busy = initial ? initialPoolBusy : unlockedPoolBusy;
    busy.set(operator.pool, (busy.get(operator.pool) ?? 0) + workMs);
    if (initial) initialToolsMs = Math.max(initialToolsMs, chainUp(tool));
    tools.push({ tool, startOffsetMs: 0, workMs, endOffsetMs: 0 });
  }
  return { runs, tailOf, chainDown, chainUp, tools, initialPoolBusy, unlockedPoolBusy, initialToolsMs };
}

/**
 * Prices one epoch from `state`; returns undefined when it is not allowed
 * (an operator not ready, a worker used twice, a model that does not fit).
 * `cache` (from the same state) memoizes parts across epochs; `detail` adds
 * the tools' start and end times (plans need them, the search does not).
 */
export function evaluateEpoch(
  index: ProblemIndex,
  state: SearchState,
  epoch: Epoch,
  disabled: DisabledOptimizations,
  cache?: EpochPriceCache,
  detail = true,
): EpochOutcome | undefined {
  const usedWorkers = new Set<number>();
  let epochMask = 0n;
  const preloads: PricedPreload[] = [];
  for (const assignment of epoch) {
    if (isPreload(assignment)) {
      for (const worker of assignment.workers) {
        const model = index.workerModels[worker]?.get(assignment.preload);
        if (!model || usedWorkers.has(worker) || state.workers[worker]!.model === assignment.preload)
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
  const firstEpoch = state.done === 0n;
  let toolPrice = cache?.tools.get(after);
  if (!toolPrice) {
    toolPrice = priceTools(index, state.done, after, disabled);
    cache?.tools.set(after, toolPrice);
  }

  const shards: PricedShard[] = [];
  const nextWorkers = [...state.workers];
  let slowestShardMs = 0;
  let spanMs = firstEpoch ? toolPrice.initialToolsMs : 0;
  let tailPhaseMs = 0;
  for (const preload of preloads) {
    slowestShardMs = Math.max(slowestShardMs, preload.loadMs);
    spanMs = Math.max(spanMs, preload.loadMs);
    nextWorkers[preload.worker] = loadedState(preload.model);
  }
  for (const assignment of epoch) {
    if (isPreload(assignment)) continue;
    const key = `${assignment.operator}:${assignment.workers.join(",")}`;
    let price = cache?.assignments.get(key);
    if (price === undefined) {
      price =
        priceAssignment(index, state, assignment, disabled, firstEpoch ? toolPrice.chainUp : undefined) ??
        null;
      cache?.assignments.set(key, price);
    }
    if (price === null) return undefined;
    const tailMs = toolPrice.tailOf(assignment.operator);
    tailPhaseMs = Math.max(tailPhaseMs, tailMs);
    for (const shard of price.shards) {
      shards.push(tailMs === 0 ? shard : { ...shard, tailMs });
      slowestShardMs = Math.max(slowestShardMs, shard.cost.totalMs);
      spanMs = Math.max(spanMs, shard.fillMs + shard.cost.totalMs + tailMs);
    }
    for (const [worker, workerState] of price.nextStates) nextWorkers[worker] = workerState;
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
  return { costMs, next: { done: after, workers: nextWorkers }, shards, tools, preloads };
}

/** A worker that just loaded `model`: nothing resident yet. */
function loadedState(model: string): WorkerState {
  return { model, prefixes: [], prefixBytes: 0, context: null, key: `${model}[]` };
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
  const key = `${assignment.operator}:${assignment.workers.join(",")}`;
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

/** Start and end of each tool of the epoch, relative to its start (for plans). */
function toolTimings(
  index: ProblemIndex,
  toolPrice: ToolPrice,
  shards: readonly PricedShard[],
  costMs: number,
  disabled: DisabledOptimizations,
): PricedTool[] {
  return toolPrice.tools.map((tool) => {
    if (index.toolLlmAncestors[tool.tool] === 0n) {
      return { ...tool, startOffsetMs: 0, endOffsetMs: toolPrice.chainUp(tool.tool) };
    }
    const ancestors = index.toolLlmAncestors[tool.tool]!;
    let startOffsetMs = disabled.pipelining ? 0 : Number.POSITIVE_INFINITY;
    let lastParentEndMs = 0;
    for (const shard of shards) {
      const endMs = shard.fillMs + shard.cost.totalMs;
      if (disabled.pipelining) {
        startOffsetMs = Math.max(startOffsetMs, endMs);
      } else if ((ancestors & bit(shard.operator)) !== 0n) {
        startOffsetMs = Math.min(startOffsetMs, shard.fillMs);
        lastParentEndMs = Math.max(lastParentEndMs, endMs);
      }
    }
    if (!Number.isFinite(startOffsetMs)) startOffsetMs = 0;
    const endOffsetMs = Math.max(startOffsetMs, lastParentEndMs) + toolPrice.chainDown(tool.tool);
    return { ...tool, startOffsetMs, endOffsetMs: Math.min(costMs, endOffsetMs) };
  });
}

interface PriceMemo {
  readonly shards: Map<string, ShardCost | null>;
  readonly states: Map<string, WorkerState>;
}

const priceMemos = new WeakMap<ProblemIndex, Map<string, PriceMemo>>();

/** Shard prices and successor worker states per problem and disabled set (pure functions of their keys). */
function memoOf(index: ProblemIndex, disabled: DisabledOptimizations): PriceMemo {
  let byDisabled = priceMemos.get(index);
  if (!byDisabled) {
    byDisabled = new Map();
    priceMemos.set(index, byDisabled);
  }
  const key = `${+disabled.prefixSharing}${+disabled.coalescing}${+disabled.migration}${+disabled.pipelining}${+disabled.batching}`;
  let memo = byDisabled.get(key);
  if (!memo) {
    memo = { shards: new Map(), states: new Map() };
    byDisabled.set(key, memo);
  }
  return memo;
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
  // interchangeable (the DP's symmetry relies on it); warm workers take the remainder of the split.
  const shardWorkers = [...assignment.workers].sort((left, right) => {
    const leftState = state.workers[left]!;
    const rightState = state.workers[right]!;
    const warm = Number(rightState.model === operator.model) - Number(leftState.model === operator.model);
    return (
      warm ||
      index.workerClass[left]! - index.workerClass[right]! ||
      (leftState.key < rightState.key ? -1 : leftState.key > rightState.key ? 1 : 0) ||
      left - right
    );
  });
  const counts = splitRequests(requests, shardWorkers.length);
  let fillMs = 0;
  if (chainUp) {
    for (const tool of index.llmToolParents[position]!) fillMs = Math.max(fillMs, chainUp(tool));
  }
  const inherited = statistics.inheritedContext;
  const parentPosition = inherited ? index.llmPosition.get(inherited.from) : undefined;
  // Shares of the parent's requests whose context KV each worker holds; remote ones are consumed once.
  const parentShares =
    parentPosition === undefined
      ? undefined
      : state.workers.map((worker) =>
          worker.context?.operator === parentPosition ? worker.context.share : 0,
        );
  const totalParentShare = parentShares ? parentShares.reduce((sum, share) => sum + share, 0) : 0;
  let consumedRemoteRequests = 0;
  const shards: PricedShard[] = [];
  const nextStates: [number, WorkerState][] = [];
  for (let shard = 0; shard < shardWorkers.length; shard++) {
    const worker = shardWorkers[shard]!;
    const shardRequests = counts[shard]!;
    const workerState = state.workers[worker]!;
    const model = index.modelOn[worker]![position]!;
    const device = index.problem.workers[worker]!.profile;
    const modelLoaded = workerState.model === operator.model;
    const prefixResident = modelLoaded && workerState.prefixes.includes(statistics.prefixKey);
    let prefixSource: number | undefined;
    if (!prefixResident && statistics.sharedPrefixTokens > 0) {
      const source = state.workers.findIndex(
        (other, otherIndex) =>
          otherIndex !== worker &&
          other.model === operator.model &&
          other.prefixes.includes(statistics.prefixKey),
      );
      if (source >= 0) prefixSource = source;
    }
    const ownShare = parentShares ? parentShares[worker]! : 0;
    const localRequests = Math.min(shardRequests, ownShare * requests);
    const availableRemote = (totalParentShare - ownShare) * requests - consumedRemoteRequests;
    const remoteRequests = Math.max(0, Math.min(shardRequests - localRequests, availableRemote));
    const residentKvBytes = modelLoaded ? workerState.prefixBytes + (workerState.context?.bytes ?? 0) : 0;
    // Identical workers in identical states price a shard identically: memoize across epochs and states.
    const memo = memoOf(index, disabled);
    const costKey = `${position}|${index.workerClass[worker]}|${workerState.key}|${shardRequests}|${localRequests}|${remoteRequests}|${prefixSource === undefined ? "-" : index.workerClass[prefixSource]}`;
    let cost = memo.shards.get(costKey);
    if (cost === undefined) {
      cost =
        llmShardCost(
          device,
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
      memo.shards.set(costKey, cost);
    }
    if (cost === null) return undefined;
    if (cost.contextKv === "migrate") consumedRemoteRequests += remoteRequests;
    const migrateFrom = migrationSource(cost.prefixKv, cost.contextKv, prefixSource, state, parentPosition);
    shards.push({
      operator: position,
      worker,
      requests: shardRequests,
      cost,
      fillMs,
      tailMs: 0,
      ...(migrateFrom === undefined ? {} : { migrateFrom }),
      residentKvBytes,
    });
    nextStates.push([
      worker,
      nextWorkerState(
        index,
        workerState,
        position,
        shardRequests / Math.max(1, requests),
        modelLoaded,
        disabled,
        worker,
      ),
    ]);
  }
  return { shards, nextStates };
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
    const holder = state.workers.findIndex((worker) => worker.context?.operator === parentPosition);
    return holder < 0 ? undefined : holder;
  }
  return undefined;
}

/** The worker's state after running `position`: model loaded, prefix resident, context kept if it fits. */
function nextWorkerState(
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
  let context: WorkerState["context"] = null;
  if (!disabled.prefixSharing && index.hasInheritingChild[position]) {
    const requests = llmRequestCount(statistics, disabled) * share;
    const bytes = contextKvBytes(model, statistics, requests);
    if (model.weightsBytes + prefixBytes + bytes <= memoryBytes)
      context = { operator: position, share, bytes };
  }
  const key = `${operator.model}[${prefixes.join(",")}]${context ? `${context.operator}@${context.share.toFixed(6)}` : ""}`;
  return { model: operator.model, prefixes, prefixBytes, context, key };
}

/**
 * The busiest CPU pool's total time over the batch: with pipelining, tools
 * overlap inference, so this bounds the makespan as a whole (makespan =
 * max(Σ epochs, pool bound)); without it the epochs' tool phases already pay it.
 */
export function poolBoundMs(index: ProblemIndex, disabled: DisabledOptimizations): number {
  const busy = new Map<string, number>();
  index.tools.forEach((operator, tool) => {
    const workMs = toolPoolWorkMs(operator.statistics, index.toolConcurrency[tool]!, disabled);
    busy.set(operator.pool, (busy.get(operator.pool) ?? 0) + workMs);
  });
  return Math.max(0, ...busy.values());
}

/** The sum of a schedule's epochs (the DP's objective), or undefined when some epoch is not allowed or work is left. */
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

/** The makespan of a schedule under the epoch model (max(Σ epochs, pool bound)), or undefined when not allowed. */
export function scheduleCostMs(
  index: ProblemIndex,
  schedule: EpochSchedule,
  disabled: DisabledOptimizations,
): number | undefined {
  const epochsMs = scheduleEpochsMs(index, schedule, disabled);
  return epochsMs === undefined ? undefined : Math.max(epochsMs, poolBoundMs(index, disabled));
}
