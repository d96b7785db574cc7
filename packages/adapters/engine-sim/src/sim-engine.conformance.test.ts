import { describeEngineConformance } from "@halo/executor/test";
import { H100_SIMULATED_PROFILE } from "@halo/profiles";
import { SimEngine } from "./sim-engine.js";

// The shared EngineV1 spec, run directly against the simulated engine. The
// 14B and 32B models do not fit in 80 GB together, so switching unloads.
describeEngineConformance("engine-sim (direct)", {
  createEngine: () => new SimEngine({ profile: H100_SIMULATED_PROFILE, timeScale: 0.001 }),
  models: ["Qwen/Qwen3-14B", "Qwen/Qwen3-32B"],
});
