export {
  getLlamaRuntime,
  LLAMA_GPU_CHOICES,
  LlamaBuildMissingError,
  type LlamaGpu,
} from "./llama-runtime.js";
export { LlamaCppEngine, type LlamaCppEngineOptions } from "./llamacpp-engine.js";
export {
  type CachedModelFile,
  type CacheEntry,
  ensureSynthesizedModel,
  listCachedModels,
  modelCacheDirectory,
  resolveHaloHome,
  synthesizedModelFileName,
} from "./model-cache.js";
export {
  defaultSynthesisSeed,
  loadModelMap,
  type ModelMap,
  ModelMapError,
  type ModelSource,
  parseModelMap,
  resolveModelSource,
  standInContextFor,
  standInSource,
} from "./model-map.js";
export {
  type SynthesisSpec,
  type SynthesizedModel,
  type SynthesizedWeightFormat,
  synthesisFormatVersion,
  synthesizedWeightFormats,
  synthesizeModel,
  validateSynthesisSpec,
} from "./model-synthesizer.js";
export {
  countParameters,
  formatParameterCount,
  type LlamaArchitecture,
  maxSynthesizedContextLength,
  parseParameterCount,
  planArchitecture,
  smallestParameterCount,
  standInContextLength,
  standInModels,
  standInParameterCount,
  synthesizedContextLength,
  synthesizedContextStep,
  synthesizedVocabularySize,
} from "./stand-in-models.js";
