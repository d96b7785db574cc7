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
export {
  dbNodeSpecSchema,
  dbQuerySpecSchema,
  dbToolCallSpecSchema,
  edgeSpecSchema,
  graphDocumentSchema,
  httpNodeSpecSchema,
  httpToolCallSpecSchema,
  inferenceNodeSpecSchema,
  inputNodeSpecSchema,
  loopSpecSchema,
  processorNodeSpecSchema,
  processorToolCallSpecSchema,
} from "./graph-spec-schema.js";
export { DEFAULT_HTTP_TIMEOUT_MS } from "./http-latency.js";
export type { NameSource } from "./name-sources.js";
export { describeNameSource, nameSources } from "./name-sources.js";
export {
  inputScope,
  isCoalescable,
  operatorInputs,
  operatorScope,
  prefixKeyOf,
  renderOperatorRequest,
  renderRequest,
  requestKey,
  toolOutputs,
} from "./operator-execution.js";
export type { OpSpec, OpsDocumentSpec } from "./ops-spec-schema.js";
export { opSpecSchema, opsDocumentSchema } from "./ops-spec-schema.js";
export type { PrefixTrieStatistics } from "./prefix-trie.js";
export { PrefixTrie } from "./prefix-trie.js";
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
export { ProcessorRegistry, processorRegistry, runProcessor } from "./processors/processor-registry.js";
export type { RegexParamExtractorConfig } from "./processors/regex-param-extractor.js";
export {
  extractRegexParams,
  regexParamExtractor,
  regexParamExtractorConfigSchema,
} from "./processors/regex-param-extractor.js";
export {
  buildPromptParts,
  extractFirstJsonObject,
  outputFormatFor,
  PROMPT_FORMAT,
  parseLlmOutput,
  renderPrompt,
} from "./prompt-assembly.js";
export type { PromptLayoutExplanation, SharingClass } from "./prompt-layout.js";
export {
  appendedInputs,
  defaultPromptLayout,
  explainPromptLayout,
  isPromptLayout,
  orderInputs,
  PROMPT_LAYOUTS,
  SHARING_CLASSES,
  sharingClasses,
  withPromptLayout,
} from "./prompt-layout.js";
export type { RegexTranslation } from "./python-regex.js";
export { translatePythonRegex } from "./python-regex.js";
export type { QueryLoadOptions, QueryLoadResult } from "./query-file.js";
export { loadQueries, parseQueries } from "./query-file.js";
export { sqlParameterNames } from "./sql-parameter-names.js";
export {
  parseTemplate,
  renderTemplate,
  renderTemplateText,
  TemplateSyntaxError,
  templateRoots,
} from "./template.js";
export { countTokens, decodeTokens, encodeTokens } from "./token-count.js";
export type {
  HttpToolRequest,
  HttpToolResult,
  HttpToolV1,
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
export { iterationId } from "./workflow-assembly.js";
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
export type { DataEdgeAttributes, OperatorNodeAttributes } from "./workflow-graph.js";
export {
  ancestorsOf,
  descendantsOf,
  findOperator,
  getOperator,
  incomingEdges,
  toGraph,
} from "./workflow-graph.js";
export type { LoadOptions, LoadResult } from "./workflow-loader.js";
export { compileSpec, loadWorkflowFile, loadWorkflowText } from "./workflow-loader.js";
