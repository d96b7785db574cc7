export { type RandomSource, sfc32 as createSeededRandom } from "@halo/seeded-random";
export { PADDED_LATENCY_SHAPE, sampleGamma, samplePaddedLatencyMs } from "./gamma-sampler.js";
export { HostAllowlist } from "./host-allowlist.js";
export { HttpTool, type HttpToolOptions, redactUrl } from "./http-tool.js";
export { HttpToolError, type HttpToolErrorCode } from "./http-tool-error.js";
