import { SimEngine } from "@halo/engine-sim";
import { createExecutorServer, type ExecutorServerHandle } from "@halo/executor";
import { describeEngineConformance } from "@halo/executor/test";
import { H100_SIMULATED_PROFILE } from "@halo/profiles";
import { OpenAiEngine } from "./openai-engine.js";

// The EngineV1 spec against engine-openai, backed by a real executor's OpenAI endpoint
// (engine-sim behind it) over real HTTP on 127.0.0.1: chat API, then text completions.
for (const api of ["chat", "completions"] as const) {
  describeEngineConformance(`engine-openai (${api}) over an engine-sim executor's OpenAI endpoint`, {
    async createEngine() {
      const server: ExecutorServerHandle = await createExecutorServer({
        engine: new SimEngine({ profile: H100_SIMULATED_PROFILE, timeScale: 0.001 }),
        openai: { bearerToken: "conformance-token" },
      });
      const engine = new OpenAiEngine({
        servers: {
          sim: { baseURL: `${server.openai!.url}/v1`, apiKey: "conformance-token", api, maxConcurrency: 4 },
        },
        models: {
          "Qwen/Qwen3-14B": { servers: ["sim"] },
          "Qwen/Qwen3-32B": { servers: ["sim"] },
        },
        maxSequences: 8,
      });
      return {
        specificationVersion: engine.specificationVersion,
        engineName: engine.engineName,
        doInfo: () => engine.doInfo(),
        doLoadModel: (options) => engine.doLoadModel(options),
        doGenerate: (options) => engine.doGenerate(options),
        doExportKv: (options) => engine.doExportKv(options),
        doImportKv: (options) => engine.doImportKv(options),
        doDropKv: () => engine.doDropKv(),
        doStats: () => engine.doStats(),
        async close() {
          await engine.close();
          await server.close(1_000);
        },
      };
    },
    models: ["Qwen/Qwen3-14B", "Qwen/Qwen3-32B"],
    // The chat API puts the system part in the executor's shared prefix: its cache reports hits.
    serverPrefixCache: api === "chat",
  });
}
