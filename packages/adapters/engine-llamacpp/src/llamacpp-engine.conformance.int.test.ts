import { describeEngineConformance } from "@halo/executor/test";
import { LlamaCppEngine } from "./llamacpp-engine.js";
import { parseModelMap } from "./model-map.js";
import { testHaloHome } from "./test-models.js";

// The shared EngineV1 spec against real llama.cpp: the tiny stand-in and a second
// tiny model of other weights (for switching and for foreign-KV rejection).
const modelMap = parseModelMap(
  'models:\n  "halo/tiny-alt": { synth: { params: 2M, seed: 2 } }\n',
  "inline",
  "/",
);

describeEngineConformance("engine-llamacpp (direct)", {
  createEngine: async () =>
    new LlamaCppEngine({
      modelMap,
      threads: 1,
      contextSize: 512,
      maxSequences: 4,
      haloHome: await testHaloHome(),
    }),
  models: ["halo/tiny", "halo/tiny-alt"],
});
