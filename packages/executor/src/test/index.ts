export {
  CONFORMANCE_JSON_SCHEMA,
  type CollectedBatch,
  collectBatch,
  describeEngineConformance,
  type EngineConformanceOptions,
  expectEngineError,
} from "./engine-conformance.js";
