export { approximateTokenCount, CHARACTERS_PER_TOKEN } from "./approximate-tokenizer.js";
export {
  type BatchSequence,
  type ContinuousBatchLimits,
  KvCapacityError,
  type ScheduledStep,
  scheduleContinuousBatch,
} from "./continuous-batch.js";
export { BatchNoise, naturalOutputTokens } from "./device-costs.js";
export {
  decodeKvPayload,
  encodeKvPayload,
  InvalidKvPayloadError,
  type KvPayloadHeader,
} from "./kv-payload.js";
export { SimEngine, type SimEngineOptions } from "./sim-engine.js";
