export { OpenAiEngine, type OpenAiEngineOptions, type OpenAiModelConfig } from "./openai-engine.js";
export {
  loadOpenAiModelMap,
  type OpenAiModelMapDefaults,
  OpenAiModelMapError,
  openAiModelMapFrom,
} from "./openai-model-map.js";
export {
  OpenAiHttpError,
  type OpenAiServerConfig,
  type RetryOptions,
  retryAfter,
} from "./openai-server-client.js";
