export { type BatchLimits, estimateItemTokens, planBatch } from "./batch-planner.js";
export type { BatchingOptions, SchedulerStats } from "./batch-scheduler.js";
export {
  ASSISTANT_TURN,
  type ChatPromptMessage,
  type ChatRole,
  parseChatPrompt,
  type RenderedChatPrompt,
  renderChatPrompt,
} from "./chat-prompt.js";
export { engineErrorFromCall, STATUS_FOR_ENGINE_ERROR, statusForError } from "./engine-error-status.js";
export {
  type BatchFigures,
  EngineError,
  type EngineErrorCode,
  type EngineInfo,
  type EngineModelDescriptor,
  type EngineStats,
  type EngineV1,
  type ExportKvOptions,
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
} from "./executor-server.js";
export { KvStore, type TrackedKvEntry } from "./kv-store.js";
export {
  type OpenAiEndpointBackend,
  type OpenAiEndpointHandle,
  type OpenAiEndpointOptions,
  prefixKeyOf,
  startOpenAiEndpoint,
} from "./openai-endpoint.js";
export { createRemoteEngine } from "./remote-engine.js";
