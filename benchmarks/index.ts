// Public surface of @halo/benchmarks: each benchmark area re-exports here.

export { DATA_API_ENDPOINTS } from "./data-api/data-api-endpoints.js";
export type { DataApi, DataApiAnswer, DataApiOptions } from "./data-api/data-api-server.js";
export { startDataApi } from "./data-api/data-api-server.js";
export { generateArticleTitles } from "./datasets/article-title-generator.js";
export type { DatasetDefinition, DatasetName, GenerationOptions } from "./datasets/dataset-definition.js";
export { DATASET_NAMES, isDatasetName } from "./datasets/dataset-definition.js";
export { DatasetInputError } from "./datasets/dataset-input-error.js";
export { DATASET_INFO_TABLE, DATASETS } from "./datasets/dataset-registry.js";
export type { GenerateDatasetOptions, GeneratedDataset } from "./datasets/generate-dataset.js";
export { generateDataset, validateGenerationOptions } from "./datasets/generate-dataset.js";
export { generateMovieQuestions } from "./datasets/movie-question-generator.js";
export type { LoadedIntoPostgres, LoadIntoPostgresOptions } from "./datasets/postgres-loader.js";
export { loadIntoPostgres, postgresTableChecksums, redactPostgresUrl } from "./datasets/postgres-loader.js";
export type { QueryRecord } from "./datasets/query-record.js";
export { DEFAULT_QUERY_SOURCE, writeQueryRecords } from "./datasets/query-record.js";
export type { TableChecksum } from "./datasets/table-checksums.js";
export { duckdbTableChecksums } from "./datasets/table-checksums.js";
export type { ColumnSchema, ColumnType, TableSchema } from "./datasets/table-schema.js";
export {
  TPCH_NATIONS,
  TPCH_PRIORITIES,
  TPCH_REGIONS,
  TPCH_SEGMENTS,
  TPCH_SHIP_MODES,
  TPCH_TYPE_SYLLABLES,
} from "./datasets/tpch-domains.js";
export { generateTpchQueries } from "./datasets/tpch-query-generator.js";
export type { BenchDataset, BenchDatasetOptions } from "./harness/bench-dataset.js";
export { benchDatasetPath, ensureBenchDataset } from "./harness/bench-dataset.js";
export { BenchInputError } from "./harness/bench-input-error.js";
export { benchResultsDirectory } from "./harness/bench-paths.js";
export {
  BENCH_README_END,
  BENCH_README_START,
  readBenchResults,
  renderRunSetReport,
  writeBenchReports,
} from "./harness/bench-report.js";
export type {
  BenchEngine,
  BenchMachine,
  BenchRunSet,
  BenchSettings,
  ExecutorFigures,
  OperatorTimeline,
  SystemResult,
  WorkloadBenchResult,
} from "./harness/bench-result.js";
export { BENCH_RESULT_VERSION, benchResultFileName } from "./harness/bench-result.js";
export type {
  BenchEnvironment,
  BenchExecutors,
  WorkloadBenchOptions,
} from "./harness/bench-run.js";
export { describeMachine, markBestSettings, runWorkloadBench, withSpeedups } from "./harness/bench-run.js";
export type { BenchSystem } from "./harness/bench-systems.js";
export {
  BENCH_SYSTEM_NAMES,
  BENCH_SYSTEMS,
  parseSystems,
  reportOrder,
  strategySystem,
} from "./harness/bench-systems.js";
export type { ConcurrencySetting, ResolvedSetting } from "./harness/concurrency-sweep.js";
export {
  bestRunIndex,
  DEFAULT_CONCURRENCY_SWEEP,
  formatConcurrencySweep,
  parseConcurrencySweep,
  resolveSweep,
} from "./harness/concurrency-sweep.js";
export type {
  ChatRequest,
  ChatUsage,
  LanggraphCalls,
  LanggraphQueryRecord,
  TranslatedWorkflow,
} from "./harness/langgraph-translator.js";
export { translateWorkflow } from "./harness/langgraph-translator.js";
export {
  naiveOnlineSystem,
  type OnlineBenchEnvironment,
  type OnlineBenchResult,
  type OnlineBenchSettings,
  type OnlineBenchSystem,
  type OnlineRateResult,
  type OnlineSystemInput,
  type OnlineSystemResult,
  type OnlineSystemRunner,
  runOnlineBench,
} from "./harness/online-bench.js";
export {
  ONLINE_README_END,
  ONLINE_README_START,
  renderOnlineChart,
  renderOnlineReport,
  writeOnlineReport,
} from "./harness/online-bench-report.js";
export { loadWorkload } from "./workloads/load-workload.js";
export type { HttpModeName, HttpModeOptions } from "./workloads/with-http-mode.js";
export { withHttpMode } from "./workloads/with-http-mode.js";
export { WorkloadInputError } from "./workloads/workload-input-error.js";
export type {
  WorkloadDefinition,
  WorkloadId,
  WorkloadQueryGenerator,
} from "./workloads/workload-registry.js";
export {
  findWorkload,
  isWorkloadId,
  WORKLOAD_DATA_API_URL,
  WORKLOAD_IDS,
  WORKLOAD_MODELS,
  WORKLOADS,
} from "./workloads/workload-registry.js";
