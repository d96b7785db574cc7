/**
 * `@halo/ir`: load, build, validate, explain and consolidate workflows; the compiled IR's types
 * and the tool contracts. What the other packages need to plan and run a batch (request keys,
 * scopes, prompt assembly, templates, graph helpers) is in `@halo/ir/internal`.
 */
export type {
  BatchInstances,
  CoalescingGroup,
  ConsolidatedBatch,
  ConsolidateOptions,
  OperatorConsolidation,
  PrefixStatistics,
} from "./batch-consolidation.js";
export { consolidateBatch, instantiateBatch } from "./batch-consolidation.js";
export { canonicalJson, sha256OfJson } from "./canonical-json.js";
export type {
  DbNodeSpec,
  DbQuerySpec,
  EdgeSpec,
  HttpNodeSpec,
  InferenceNodeSpec,
  InputNodeSpec,
  LoopSpec,
  NodeSpec,
  NodeType,
  ProcessorNodeSpec,
  ToolCallSpec,
} from "./graph-spec-schema.js";
export { graphDocumentSchema } from "./graph-spec-schema.js";
export { DEFAULT_HTTP_TIMEOUT_MS } from "./http-latency.js";
export type { NameSource } from "./name-sources.js";
export { describeNameSource, nameSources } from "./name-sources.js";
export type { OpSpec, OpsDocumentSpec } from "./ops-spec-schema.js";
export { opsDocumentSchema } from "./ops-spec-schema.js";
export type { PathSegment, ProblemCode } from "./problems.js";
export {
  formatProblems,
  formatSource,
  formatYamlPath,
  PROBLEM_CODES,
  WorkflowValidationError,
} from "./problems.js";
export type {
  ProcessorConfigProblem,
  ProcessorDefinition,
  ProcessorFunction,
} from "./processors/processor-definition.js";
export { ProcessorRegistry, processorRegistry } from "./processors/processor-registry.js";
export type { RegexParamExtractorConfig } from "./processors/regex-param-extractor.js";
export { regexParamExtractorConfigSchema } from "./processors/regex-param-extractor.js";
export { PROMPT_FORMAT } from "./prompt-assembly.js";
export type { PromptLayoutExplanation, SharingClass } from "./prompt-layout.js";
export {
  defaultPromptLayout,
  explainPromptLayout,
  isPromptLayout,
  PROMPT_LAYOUTS,
  withPromptLayout,
} from "./prompt-layout.js";
export type { QueryLoadOptions, QueryLoadResult } from "./query-file.js";
export { loadQueries, parseQueries } from "./query-file.js";
export { countTokens, decodeTokens, encodeTokens } from "./token-count.js";
export type {
  HttpToolRequest,
  HttpToolResult,
  HttpToolV1,
  SqlToolOutcome,
  SqlToolRequest,
  SqlToolResult,
  SqlToolV1,
} from "./tool-contract.js";
export type {
  CompiledWorkflow,
  DataEdge,
  HttpLatency,
  HttpOperator,
  InputOperator,
  JsonObject,
  JsonValue,
  LlmOperator,
  LlmOutputFormat,
  Operator,
  OperatorInstance,
  OperatorKind,
  OperatorRequest,
  ProcessorOperator,
  PromptLayout,
  PromptParts,
  QueryContext,
  SourceRef,
  SqlOperator,
  Template,
  TemplatePart,
  ToolOperator,
  WorkflowProblem,
} from "./types.js";
export { IR_VERSION } from "./types.js";
export type {
  DbOptions,
  DbQueryOptions,
  HttpOptions,
  InferenceOptions,
  InputOptions,
  LoopOptions,
  ProcessorOptions,
  TemplateInput,
  ToolCallOptions,
} from "./workflow-builder.js";
export { WorkflowBuilder, workflow } from "./workflow-builder.js";
export {
  type ExplainedBatch,
  type ExplainedOperator,
  explainWorkflow,
  renderExplanationJson,
  renderExplanationMermaid,
  renderExplanationText,
  summaryLine,
  type WorkflowExplanation,
} from "./workflow-explanation.js";
export type { LoadOptions, LoadResult } from "./workflow-loader.js";
export { compileSpec, loadWorkflowFile, loadWorkflowText } from "./workflow-loader.js";
