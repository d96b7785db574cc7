import type { ShardCost } from "./cost-model.js";
import type { DisabledOptimizations } from "./planning-problem.js";
import type { ProblemIndex } from "./problem-index.js";
import type { PricedShard, SearchState, WorkerState } from "./search-state.js";
import type { ToolPrice } from "./tool-price.js";

/** Memo caches of epoch prices: per state (EpochPriceCache) and per problem and disabled set (memoOf). */

/** The shards of one assignment from a state, and the states its workers end in (tails added per epoch). */
export interface AssignmentPrice {
  readonly shards: readonly PricedShard[];
  readonly nextStates: readonly (readonly [number, WorkerState])[];
}

/**
 * Memoizes the parts of epoch prices from one state: an assignment's shards do
 * not depend on the other operators of the epoch, and the tools only on the
 * done sets. The DP prices many epochs from each state through one cache.
 */
export class EpochPriceCache {
  readonly assignments = new Map<number | string, AssignmentPrice | null>();
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

export interface PriceMemo {
  readonly shards: Map<string, ShardCost | null>;
  readonly states: Map<string, WorkerState>;
  /**
   * Whole prices of one operator on one worker that depend on that worker's
   * state only (no KV to migrate, no inherited context held anywhere), by the
   * state object (states are shared through `states`) and operator × worker.
   */
  readonly alone: WeakMap<WorkerState, Map<number, AssignmentPrice | null>>;
  /** Shard prices by the worker's state object, then operator, class and split. */
  readonly shardsByState: WeakMap<WorkerState, Map<number | string, ShardCost | null>>;
  /** Successor states by the worker's state object, then operator, class and requests. */
  readonly nextByState: WeakMap<WorkerState, Map<number, WorkerState>>;
  /** Worker classes of the problem (numeric keys above: class + classCount × (operator + operators × requests)). */
  readonly classCount: number;
}

const priceMemos = new WeakMap<ProblemIndex, Map<string, PriceMemo>>();

const disabledKeys = new WeakMap<DisabledOptimizations, string>();

/** Shard prices and successor worker states per problem and disabled set (pure functions of their keys). */
export function memoOf(index: ProblemIndex, disabled: DisabledOptimizations): PriceMemo {
  let byDisabled = priceMemos.get(index);
  if (!byDisabled) {
    byDisabled = new Map();
    priceMemos.set(index, byDisabled);
  }
  let key = disabledKeys.get(disabled);
  if (key === undefined) {
    key = `${+disabled.prefixSharing}${+disabled.coalescing}${+disabled.migration}${+disabled.pipelining}${+disabled.batching}`;
    disabledKeys.set(disabled, key);
  }
  let memo = byDisabled.get(key);
  if (!memo) {
    memo = {
      shards: new Map(),
      states: new Map(),
      alone: new WeakMap(),
      shardsByState: new WeakMap(),
      nextByState: new WeakMap(),
      classCount: Math.max(0, ...index.workerClass) + 1,
    };
    byDisabled.set(key, memo);
  }
  return memo;
}
