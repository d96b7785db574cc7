/**
 * `@halo/ir/internal`: what the other Halo packages need from the IR to plan and run a batch
 * (request rendering and keys, scopes, prompt assembly, templates, the prefix trie, the graph
 * helpers, the per-node schemas). Not a stable contract: it changes with the packages that use
 * it, without a major version. Workflow authors and tools use the main entry, `@halo/ir`.
 */
export {
  dbNodeSpecSchema,
  dbQuerySpecSchema,
  dbToolCallSpecSchema,
  edgeSpecSchema,
  httpNodeSpecSchema,
  httpToolCallSpecSchema,
  inferenceNodeSpecSchema,
  inputNodeSpecSchema,
  loopSpecSchema,
  processorNodeSpecSchema,
  processorToolCallSpecSchema,
} from "./graph-spec-schema.js";
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
export { opSpecSchema } from "./ops-spec-schema.js";
export type { PrefixTrieStatistics } from "./prefix-trie.js";
export { PrefixTrie } from "./prefix-trie.js";
export { runProcessor } from "./processors/processor-registry.js";
export { extractRegexParams, regexParamExtractor } from "./processors/regex-param-extractor.js";
export {
  buildPromptParts,
  extractFirstJsonObject,
  outputFormatFor,
  parseLlmOutput,
  renderPrompt,
} from "./prompt-assembly.js";
export {
  appendedInputs,
  orderInputs,
  SHARING_CLASSES,
  sharingClasses,
  withPromptLayout,
} from "./prompt-layout.js";
export type { RegexTranslation } from "./python-regex.js";
export { translatePythonRegex } from "./python-regex.js";
export { sqlParameterNames } from "./sql-parameter-names.js";
export {
  parseTemplate,
  renderTemplate,
  renderTemplateText,
  TemplateSyntaxError,
  templateRoots,
} from "./template.js";
export { iterationId } from "./workflow-assembly.js";
export type { DataEdgeAttributes, OperatorNodeAttributes } from "./workflow-graph.js";
export {
  ancestorsOf,
  descendantsOf,
  findOperator,
  getOperator,
  incomingEdges,
  toGraph,
} from "./workflow-graph.js";
