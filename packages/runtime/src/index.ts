export { type GenerateDeadline, type RejectedQuery, ResultWriteError } from "./batch-run.js";
export {
  type MeasuredProfile,
  measureDeviceProfile,
  type ProfileMeasurementOptions,
  type ProfileSample,
} from "./device-profiler.js";
export type { WorkerFigures } from "./executor-worker.js";
export {
  JsonlResultSink,
  type JsonlResultSinkOptions,
  ResultFileError,
  type ResumedResults,
  readResultRecords,
  recoverResults,
} from "./jsonl-result-sink.js";
export { OpenRun, OpenRunClosedError } from "./open-run.js";
export type { PlanDeviations } from "./plan-deviations.js";
export {
  DEFAULT_EXECUTOR_TIMEOUT_MS,
  DEFAULT_GENERATE_DEADLINE,
  ExecutorUnavailableError,
  Processor,
  type ProcessorConfig,
  ProcessorConfigurationError,
  type ProcessorOptions,
  type RunOptions,
} from "./processor.js";
export {
  MemoryResultSink,
  type OperatorTiming,
  type QueryResultRecord,
  type ResultSink,
} from "./result-sink.js";
export { DEFAULT_RETRY_POLICY, isTransientToolError, type RetryPolicy } from "./retry-policy.js";
export type { RunSummary, WorkerSummary } from "./run-summary.js";
export type { ExecutionMode, ModelLoadReason, RuntimeEvent } from "./runtime-events.js";
export { DEFAULT_TOOL_CONCURRENCY, type RuntimeTools, type ToolConcurrency } from "./tool-runner.js";
