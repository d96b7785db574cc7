import { createExecutorServer, createRemoteEngine } from "@halo/executor";
import { describeEngineConformance } from "@halo/executor/test";
import { createExecutorClient } from "@halo/protocol";
import { LlamaCppEngine } from "./llamacpp-engine.js";
import { parseModelMap } from "./model-map.js";
import { testHaloHome } from "./test-models.js";

// The same EngineV1 spec through a real executor sidecar on 127.0.0.1:0: every call
// crosses gRPC, the batching scheduler and the sidecar's KV store before llama.cpp.
const modelMap = parseModelMap(
  'models:\n  "halo/tiny-alt": { synth: { params: 2M, seed: 2 } }\n',
  "inline",
  "/",
);

describeEngineConformance("engine-llamacpp through a gRPC executor", {
  async createEngine() {
    const server = await createExecutorServer({
      engine: new LlamaCppEngine({
        modelMap,
        threads: 1,
        contextSize: 512,
        maxSequences: 4,
        haloHome: await testHaloHome(),
      }),
    });
    const remote = createRemoteEngine(createExecutorClient(server.address));
    return {
      ...remote,
      async close() {
        await remote.close();
        await server.close(1_000);
      },
    };
  },
  models: ["halo/tiny", "halo/tiny-alt"],
});
