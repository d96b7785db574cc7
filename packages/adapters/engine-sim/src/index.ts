export { approximateTokenCount, CHARACTERS_PER_TOKEN } from "./approximate-tokenizer.js";
export {
  decodeKvPayload,
  encodeKvPayload,
  InvalidKvPayloadError,
  type KvPayloadHeader,
} from "./kv-payload.js";
export { SimEngine, type SimEngineOptions } from "./sim-engine.js";
