export type { KvAction, ShardCost, ShardResidency } from "./cost-model.js";
export {
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
export type { Estimate, EstimateOptions } from "./estimator.js";
export { ESTIMATOR_DEFAULTS, estimateProblem, syntheticQueries } from "./estimator.js";
export type {
  ExecutionPlan,
  PlanCpuOperator,
  PlanEpoch,
  PlanPreload,
  PlanStep,
  PlanWorker,
  StepEstimate,
} from "./execution-plan.js";
export { ExecutionPlanSchema, PLAN_VERSION, PlanFormatError, parseExecutionPlan } from "./execution-plan.js";
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
export {
  findOversizedPrompts,
  type OversizedPrompt,
  type OversizedPromptOptions,
  PROMPT_TOO_LONG,
} from "./oversized-prompts.js";
export type { PlanBatchOptions, PlannedBatch } from "./plan-batch.js";
export { planBatch } from "./plan-batch.js";
export type { PlanMetadata } from "./plan-builder.js";
export { buildExecutionPlan } from "./plan-builder.js";
export { planToGanttSvg } from "./plan-gantt-svg.js";
export { planToMermaid } from "./plan-mermaid.js";
export { formatDuration, planSummary, planToText } from "./plan-text.js";
export type {
  DisabledOptimizations,
  LlmOperatorStatistics,
  OptimizationName,
  PlannedLlmOperator,
  PlannedOperator,
  PlannedToolOperator,
  PlanningProblem,
  PlanningWorker,
  ToolOperatorStatistics,
  ToolPool,
} from "./planning-problem.js";
export {
  disabledOptimizationNames,
  disabledOptimizations,
  NO_DISABLED_OPTIMIZATIONS,
  OPTIMIZATION_NAMES,
  PlanningError,
  validateProblem,
  workerCanServe,
  workerModelProfile,
} from "./planning-problem.js";
export type { ProblemIndex } from "./problem-index.js";
export { indexProblem } from "./problem-index.js";
export type { RunStrategyOptions } from "./run-strategy.js";
export { runStrategy } from "./run-strategy.js";
export type {
  ContextHolding,
  Epoch,
  EpochAssignment,
  EpochOutcome,
  EpochSchedule,
  OperatorAssignment,
  PreloadAssignment,
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
  epochDpStrategy,
} from "./strategies/epoch-dp-strategy.js";
export { greedyStrategy } from "./strategies/greedy-strategy.js";
export { DEFAULT_MILP_TIME_LIMIT_MS, milpStrategy } from "./strategies/milp-strategy.js";
export { minSwitchStrategy } from "./strategies/min-switch-strategy.js";
export { naiveStrategy } from "./strategies/naive-strategy.js";
export { operatorWiseStrategy } from "./strategies/operator-wise-strategy.js";
export type {
  PlanningStrategy,
  SearchReport,
  SolverReport,
  StrategyOptions,
  StrategyResult,
} from "./strategies/planning-strategy.js";
export { PLANNING_STRATEGY_SPECIFICATION_VERSION } from "./strategies/planning-strategy.js";
export { roundRobinTopologicalStrategy } from "./strategies/round-robin-topological-strategy.js";
export {
  assertPlanningStrategy,
  BUILTIN_STRATEGIES,
  DEFAULT_STRATEGY,
  getStrategy,
  registerStrategy,
  strategyNames,
} from "./strategy-registry.js";
export type { TimingEdge, TimingTables } from "./timing-tables.js";
export { timingTables } from "./timing-tables.js";
export { poolBoundMs } from "./tool-price.js";
export { planProblems, validatePlan } from "./validate-plan.js";
