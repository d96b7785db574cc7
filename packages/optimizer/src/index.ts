/**
 * `@halo/optimizer`: estimate a batch, plan it with a strategy, validate and render plans; the
 * `PlanningStrategy` v1 contract and the strategy registry. The search and pricing internals
 * (cost model, list scheduler, epoch pricing, lower bounds, search state) are in
 * `@halo/optimizer/internal`; the research harness is `@halo/optimizer/testing`.
 */
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
export {
  mergeObservedStatistics,
  OBSERVED_STATISTICS_VERSION,
  type ObservedOperatorStatistics,
  type ObservedStatistics,
  ObservedStatisticsSchema,
  parseObservedStatistics,
  scaleObservedTimes,
} from "./observed-statistics.js";
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
  Epoch,
  EpochAssignment,
  EpochSchedule,
  OperatorAssignment,
  PreloadAssignment,
} from "./search-state.js";
export { epochDpStrategy } from "./strategies/epoch-dp-strategy.js";
export { greedyStrategy } from "./strategies/greedy-strategy.js";
export { milpStrategy } from "./strategies/milp-strategy.js";
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
export { planProblems, validatePlan } from "./validate-plan.js";
