import type { EpochPriceCache } from "./epoch-price-cache.js";
import { applyEpoch, evaluateEpoch } from "./epoch-pricing.js";
import type { DisabledOptimizations } from "./planning-problem.js";
import type { ProblemIndex } from "./problem-index.js";
import {
  type Epoch,
  type EpochOutcome,
  type EpochSchedule,
  initialState,
  type PricedPreload,
  type PricedShard,
  type SearchState,
} from "./search-state.js";
import { type TimingTables, timingTables } from "./timing-tables.js";

/**
 * Continuous time: what a plan costs when epochs are priorities, not barriers
 * (DESIGN §7), which is how the runtime executes it and what the MILP
 * optimizes. The epochs fix each worker's steps and their order; the epoch
 * model prices every step (load, prefill, migration, decode, from the
 * workers' states); then every step starts as soon as its worker is free and
 * its inputs exist: its load right after the worker's previous step, its
 * compute once the load is done, its LLM parents have finished and the tools
 * between have run (`TimingTables`). Migrated KV needs no wait of its own: an
 * inherited context exists once the parent has finished, and a shared prefix
 * the source does not hold yet is recomputed by the runtime instead (at most
 * the prefix's prefill, which the cost model's min(migrate, recompute) already
 * bounds). The makespan is the last end of any step,
 * preload or tool, and at least the busiest pool's total time.
 */

/** A search state with the clock of continuous time. */
export interface TimedState {
  readonly state: SearchState;
  /** Per worker: when its last step or preload ends. */
  readonly freeMs: readonly number[];
  /** Per LLM operator: when its last shard ends (NaN while it is not done). */
  readonly finishMs: readonly number[];
  /** Latest end so far of steps, preloads and the tools after done operators; at least the tools' own bounds. */
  readonly makespanMs: number;
}

/** A shard with its times. */
export interface TimedShard {
  readonly shard: PricedShard;
  /** Start of the step (its load, if any, runs first) and end; `endMs − startMs` is its total. */
  readonly startMs: number;
  readonly endMs: number;
}

/** A preload with its times. */
export interface TimedPreload {
  readonly worker: number;
  readonly model: string;
  readonly startMs: number;
  readonly endMs: number;
}

/** One epoch applied in continuous time, with the epoch model's own pricing of it (`outcome`). */
export interface TimedEpoch extends TimedStep {
  readonly outcome: EpochOutcome;
}

/** A whole schedule in continuous time. */
export interface ListSchedule {
  readonly epochs: readonly TimedEpoch[];
  /** Per tool operator: start (its parents have ended) and end. */
  readonly tools: readonly { readonly startMs: number; readonly endMs: number }[];
  readonly makespanMs: number;
  /** The epoch model's figure for the same schedule: max(Σ epochs, pool bound), epochs as barriers. */
  readonly epochMakespanMs: number;
}

/** Nothing done, every worker free at 0. */
export function initialTimedState(index: ProblemIndex, disabled: DisabledOptimizations): TimedState {
  const tables = timingTables(index, disabled);
  return {
    state: initialState(index),
    freeMs: index.problem.workers.map(() => 0),
    finishMs: index.llm.map(() => Number.NaN),
    makespanMs: Math.max(tables.toolChainMs, tables.poolBoundMs),
  };
}

/** When an operator's inputs exist: its tool parents' chains and every LLM predecessor's end plus the tools between. */
export function readyMs(tables: TimingTables, finishMs: readonly number[], operator: number): number {
  let ready = tables.releaseMs[operator]!;
  for (const edge of tables.predecessors[operator]!) {
    const end = finishMs[edge.operator]! + edge.gapMs;
    if (end > ready) ready = end;
  }
  return ready;
}

/** One epoch placed on the clock. */
export interface TimedStep {
  readonly shards: readonly TimedShard[];
  readonly preloads: readonly TimedPreload[];
  readonly next: TimedState;
}

/**
 * Applies one epoch in continuous time: the epoch model prices its steps from
 * the state, then each step is placed on the clock. Undefined when the epoch
 * is not allowed from the state.
 */
export function advanceTimed(
  index: ProblemIndex,
  timed: TimedState,
  epoch: Epoch,
  disabled: DisabledOptimizations,
  cache?: EpochPriceCache,
): TimedStep | undefined {
  const applied = applyEpoch(index, timed.state, epoch, disabled, cache);
  if (!applied) return undefined;
  return placeOnClock(timingTables(index, disabled), timed, applied.shards, applied.preloads, applied.next);
}

/**
 * The timed state after priced shards (no preloads), without the per-shard
 * record `placeOnClock` keeps: the search's hot path. Same arithmetic.
 */
export function advanceClock(
  tables: TimingTables,
  timed: TimedState,
  pricedShards: readonly PricedShard[],
  next: SearchState,
): TimedState {
  const freeMs = timed.freeMs.slice();
  const finishMs = timed.finishMs.slice();
  for (const shard of pricedShards) {
    const { endMs } = shardSpan(tables, timed, shard);
    freeMs[shard.worker] = endMs;
    recordFinish(finishMs, shard.operator, endMs);
  }
  return {
    state: next,
    freeMs,
    finishMs,
    makespanMs: makespanAfter(tables, finishMs, pricedShards, timed.makespanMs),
  };
}

/** When a shard starts and ends: its compute starts once its worker is free and loaded and its inputs exist. */
function shardSpan(
  tables: TimingTables,
  timed: TimedState,
  shard: PricedShard,
): { startMs: number; endMs: number } {
  const { loadMs, totalMs } = shard.cost;
  const computeStartMs = Math.max(
    timed.freeMs[shard.worker]! + loadMs,
    readyMs(tables, timed.finishMs, shard.operator),
  );
  return { startMs: computeStartMs - loadMs, endMs: computeStartMs + totalMs - loadMs };
}

/** An operator finishes with its last shard. */
function recordFinish(finishMs: number[], operator: number, endMs: number): void {
  const finish = finishMs[operator]!;
  if (Number.isNaN(finish) || endMs > finish) finishMs[operator] = endMs;
}

/** The makespan once the shards' operators have finished, with their CPU tails. */
function makespanAfter(
  tables: TimingTables,
  finishMs: readonly number[],
  pricedShards: readonly PricedShard[],
  makespanMs: number,
): number {
  let latest = makespanMs;
  for (const shard of pricedShards) {
    const end = finishMs[shard.operator]! + tables.tailMs[shard.operator]!;
    if (end > latest) latest = end;
  }
  return latest;
}

/** Places priced steps and preloads on the clock after `timed`, with `next` as the new search state. */
export function placeOnClock(
  tables: TimingTables,
  timed: TimedState,
  pricedShards: readonly PricedShard[],
  pricedPreloads: readonly PricedPreload[],
  next: SearchState,
): TimedStep {
  const freeMs = timed.freeMs.slice();
  const finishMs = timed.finishMs.slice();
  let makespanMs = timed.makespanMs;
  const preloads: TimedPreload[] = pricedPreloads.map((preload) => {
    const startMs = timed.freeMs[preload.worker]!;
    const endMs = startMs + preload.loadMs;
    freeMs[preload.worker] = endMs;
    if (endMs > makespanMs) makespanMs = endMs;
    return { worker: preload.worker, model: preload.model, startMs, endMs };
  });
  const shards: TimedShard[] = [];
  for (const shard of pricedShards) {
    const { startMs, endMs } = shardSpan(tables, timed, shard);
    shards.push({ shard, startMs, endMs });
    freeMs[shard.worker] = endMs;
    recordFinish(finishMs, shard.operator, endMs);
  }
  makespanMs = makespanAfter(tables, finishMs, pricedShards, makespanMs);
  return { shards, preloads, next: { state: next, freeMs, finishMs, makespanMs } };
}

/**
 * Prices a schedule in continuous time (see above); undefined when some epoch
 * is not allowed or work is left undone.
 */
export function listSchedule(
  index: ProblemIndex,
  schedule: EpochSchedule,
  disabled: DisabledOptimizations,
): ListSchedule | undefined {
  const tables = timingTables(index, disabled);
  let timed = initialTimedState(index, disabled);
  const epochs: TimedEpoch[] = [];
  let epochSumMs = 0;
  for (const epoch of schedule) {
    const outcome = evaluateEpoch(index, timed.state, epoch, disabled);
    if (!outcome) return undefined;
    const placed = placeOnClock(tables, timed, outcome.shards, outcome.preloads, outcome.next);
    epochs.push({ ...placed, outcome });
    epochSumMs += outcome.costMs;
    timed = placed.next;
  }
  if (timed.state.done !== index.allDone) return undefined;
  // Tools start once every parent has ended (LLM parents: their last shard).
  const tools: { startMs: number; endMs: number }[] = [];
  index.tools.forEach((tool, position) => {
    let startMs = 0;
    for (const parent of tool.parents) {
      const llm = index.llmPosition.get(parent);
      const parentEndMs =
        llm === undefined ? tools[index.toolPosition.get(parent)!]!.endMs : timed.finishMs[llm]!;
      startMs = Math.max(startMs, parentEndMs);
    }
    tools.push({ startMs, endMs: startMs + tables.toolMs[position]! });
  });
  return {
    epochs,
    tools,
    makespanMs: timed.makespanMs,
    // Without LLM operators there are no epochs: the tools alone, as in continuous time.
    epochMakespanMs: schedule.length === 0 ? timed.makespanMs : Math.max(epochSumMs, tables.poolBoundMs),
  };
}

/**
 * The makespan of a schedule: its continuous-time makespan (what plans
 * report as `estimatedMakespanMs` and the DP minimizes), or undefined when it
 * is not allowed or leaves work undone.
 */
export function scheduleCostMs(
  index: ProblemIndex,
  schedule: EpochSchedule,
  disabled: DisabledOptimizations,
): number | undefined {
  return listScheduleMakespanMs(index, schedule, disabled);
}

/** The continuous-time makespan of a schedule, or undefined when it is not allowed. */
export function listScheduleMakespanMs(
  index: ProblemIndex,
  schedule: EpochSchedule,
  disabled: DisabledOptimizations,
): number | undefined {
  let timed = initialTimedState(index, disabled);
  for (const epoch of schedule) {
    const applied = advanceTimed(index, timed, epoch, disabled);
    if (!applied) return undefined;
    timed = applied.next;
  }
  return timed.state.done === index.allDone ? timed.makespanMs : undefined;
}
