import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createExecutorServer, type ExecutorServerHandle } from "@halo/executor";
import { createExecutorClient, type ExecutorClient, GrpcStatus } from "@halo/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LlamaCppEngine } from "./llamacpp-engine.js";
import { parseModelMap } from "./model-map.js";

// A real llama.cpp executor on 127.0.0.1: a client must not make it synthesize a model
// nobody configured (a name like "evil/y-120B" used to write 127 MB and load it).
describe("a llama.cpp executor's configured models", () => {
  let haloHome: string;
  let server: ExecutorServerHandle;
  let client: ExecutorClient;

  beforeAll(async () => {
    haloHome = await mkdtemp(join(tmpdir(), "halo-gate-home-"));
    const modelMap = parseModelMap(
      'models:\n  "acme/custom": { synth: { params: 2M, seed: 3 } }\n',
      "inline",
      "/",
    );
    server = await createExecutorServer({
      engine: new LlamaCppEngine({ modelMap, threads: 1, contextSize: 256, maxSequences: 1, haloHome }),
    });
    client = createExecutorClient(server.address);
  });

  afterAll(async () => {
    client.close();
    await server?.close(1_000);
    await rm(haloHome, { recursive: true, force: true });
  });

  const filesUnder = async (directory: string) =>
    (await readdir(directory, { recursive: true, withFileTypes: true }))
      .filter((entry) => entry.isFile())
      .map((entry) => entry.name);

  it("refuses a name a client invents, and writes nothing to the models directory", async () => {
    const refused = client.loadModel("evil/y-120B");
    await expect(refused).rejects.toMatchObject({ code: GrpcStatus.NOT_FOUND, errorCode: "unknown-model" });
    await expect(refused).rejects.toThrow(/"evil\/y-120B" is not configured on this executor/);
    expect(await filesUnder(haloHome)).toEqual([]);
    expect((await client.stats()).loadedModels).toEqual([]);
  });

  it("synthesizes and loads a model the map configures", async () => {
    expect(await client.loadModel("acme/custom")).toMatchObject({
      model: "acme/custom",
      alreadyLoaded: false,
    });
    expect((await filesUnder(haloHome)).filter((name) => name.endsWith(".gguf"))).toHaveLength(1);
  });
});
