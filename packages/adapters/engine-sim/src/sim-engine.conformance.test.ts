import { describeEngineConformance } from "@halo/executor/test";
import { groundTruthDevice, H100_SIMULATED_PROFILE } from "@halo/profiles";
import { SimEngine } from "./sim-engine.js";

// The shared EngineV1 spec, run directly against the simulated engine. The
// 14B and 32B models do not fit in 80 GB together, so switching unloads.
describeEngineConformance("engine-sim (direct)", {
  createEngine: () => new SimEngine({ profile: H100_SIMULATED_PROFILE, timeScale: 0.001 }),
  models: ["Qwen/Qwen3-14B", "Qwen/Qwen3-32B"],
});

// The same spec against the hidden ground truth (continuous batching, finite KV, noise).
describeEngineConformance("engine-sim (ground truth h100)", {
  createEngine: () =>
    new SimEngine({ truth: groundTruthDevice("h100"), noise: 0.03, noiseSeed: 7, timeScale: 0.001 }),
  models: ["Qwen/Qwen3-14B", "Qwen/Qwen3-32B"],
});
