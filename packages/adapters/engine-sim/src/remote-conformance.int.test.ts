import { createExecutorServer, createRemoteEngine } from "@halo/executor";
import { describeEngineConformance } from "@halo/executor/test";
import { H100_SIMULATED_PROFILE } from "@halo/profiles";
import { createExecutorClient } from "@halo/protocol";
import { expect, it } from "vitest";
import { SimEngine } from "./sim-engine.js";

// The same EngineV1 spec, run through a real executor sidecar on 127.0.0.1:0:
// every call crosses gRPC, the batching scheduler and the KV store.
describeEngineConformance("engine-sim through a gRPC executor", {
  async createEngine() {
    const server = await createExecutorServer({
      engine: new SimEngine({ profile: H100_SIMULATED_PROFILE, timeScale: 0.001 }),
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
  models: ["Qwen/Qwen3-14B", "Qwen/Qwen3-32B"],
});

it("declares how many models it keeps loaded, through gRPC", async () => {
  for (const [maxLoadedModels, declared] of [
    [1, 1],
    [2, 2],
    [undefined, 3],
  ] as const) {
    const server = await createExecutorServer({
      engine: new SimEngine({
        profile: H100_SIMULATED_PROFILE,
        timeScale: 0.001,
        ...(maxLoadedModels === undefined ? {} : { maxLoadedModels }),
      }),
    });
    const remote = createRemoteEngine(createExecutorClient(server.address));
    try {
      // Unbounded: as many as it serves (the profile's three models).
      expect((await remote.doInfo()).capabilities?.maxLoadedModels).toBe(declared);
    } finally {
      await remote.close();
      await server.close(1_000);
    }
  }
});
