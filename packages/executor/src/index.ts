export type { BatchingOptions, SchedulerStats } from "./batch-scheduler.js";
export {
  ASSISTANT_TURN,
  type ChatPromptMessage,
  type ChatRole,
  parseChatPrompt,
  type RenderedChatPrompt,
  renderChatPrompt,
} from "./chat-prompt.js";
export {
  type BatchFigures,
  type EngineCapabilities,
  EngineError,
  type EngineErrorCode,
  type EngineInfo,
  type EngineModelDescriptor,
  type EngineStats,
  type EngineV1,
  type ExportKvOptions,
  engineCapabilities,
  FULL_ENGINE_CAPABILITIES,
  type GenerateEvent,
  type GenerateItem,
  type GenerateOptions,
  type ImportKvOptions,
  type ItemFigures,
  type KvEntryInfo,
  type LoadModelOptions,
  type LoadModelResult,
  type SharedPrefix,
} from "./engine-v1.js";
export {
  createExecutorServer,
  EXECUTOR_SERVICE_NAME,
  type ExecutorServerHandle,
  type ExecutorServerOptions,
  ExposedBindError,
} from "./executor-server.js";
export {
  type OpenAiEndpointBackend,
  type OpenAiEndpointHandle,
  type OpenAiEndpointOptions,
  prefixKeyOf,
  startOpenAiEndpoint,
} from "./openai-endpoint.js";
export { createRemoteEngine } from "./remote-engine.js";
