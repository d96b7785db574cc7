/**
 * `@halo/optimizer/internal`: the search and pricing internals (cost model, list scheduler, epoch
 * pricing and its memo cache, lower bounds, timing tables, the DP's search state and budgets).
 * Not a stable contract: it changes with the strategies without a major version. Planning,
 * plans, the `PlanningStrategy` v1 contract and the registry are the main entry, `@halo/optimizer`.
 */
export type { KvAction, ShardCost, ShardResidency } from "./cost-model.js";
export {
  batchKvTokens,
  contextKvBytes,
  effectiveBatchSize,
  llmRequestCount,
  llmShardCost,
  prefixKvBytes,
  retainedContextFraction,
  sequenceTokens,
  splitRequests,
  toolBatchMs,
  toolCallCount,
  toolLatencyMs,
  toolPoolWorkMs,
} from "./cost-model.js";
export { EpochPriceCache } from "./epoch-price-cache.js";
export type { AppliedEpoch } from "./epoch-pricing.js";
export { applyEpoch, evaluateEpoch, scheduleEpochsMs } from "./epoch-pricing.js";
export type {
  ListSchedule,
  TimedEpoch,
  TimedPreload,
  TimedShard,
  TimedState,
  TimedStep,
} from "./list-schedule.js";
export {
  advanceTimed,
  initialTimedState,
  listSchedule,
  listScheduleMakespanMs,
  scheduleCostMs,
} from "./list-schedule.js";
export type { ContinuousBoundTables, LowerBoundTables } from "./lower-bound.js";
export {
  continuousBoundTables,
  continuousLowerBoundMs,
  lowerBoundTables,
  remainingLowerBound,
} from "./lower-bound.js";
export type {
  ContextHolding,
  EpochOutcome,
  PricedPreload,
  PricedShard,
  PricedTool,
  SearchState,
  WorkerState,
} from "./search-state.js";
export { canonicalKey, initialState, isPreload, readyOperators } from "./search-state.js";
export {
  DEFAULT_BEAM_WIDTH,
  DEFAULT_MAX_EXPANDED_STATES,
  DEFAULT_MAX_GENERATED_STATES,
  DEFAULT_MAX_IMPROVEMENT_STEPS,
} from "./strategies/epoch-dp-strategy.js";
export { DEFAULT_MILP_TIME_LIMIT_MS } from "./strategies/milp-strategy.js";
export type { TimingEdge, TimingTables } from "./timing-tables.js";
export { timingTables } from "./timing-tables.js";
export { poolBoundMs } from "./tool-price.js";
