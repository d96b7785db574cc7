import { OpenAiEngine } from "@halo/engine-openai";
import { SimEngine } from "@halo/engine-sim";
import { createExecutorServer } from "@halo/executor";
import { H100_SIMULATED_PROFILE, parseDeviceProfile } from "@halo/profiles";
import { createExecutorClient } from "@halo/protocol";
import { expect, it } from "vitest";
import { measureDeviceProfile } from "./device-profiler.js";

// An executor running engine-openai in front of a simulated executor's OpenAI endpoint (real
// gRPC and HTTP on 127.0.0.1): the profile carries its capabilities and measures no KV transfer.
it("profiles an executor without KV transfer: capabilities in the profile, no transfer measured", async () => {
  const back = await createExecutorServer({
    engine: new SimEngine({ profile: H100_SIMULATED_PROFILE, timeScale: 0.0005 }),
    openai: {},
  });
  const front = await createExecutorServer({
    engine: new OpenAiEngine({
      servers: { sim: { baseURL: `${back.openai!.url}/v1` } },
      models: { "Qwen/Qwen3-14B": { servers: ["sim"] } },
    }),
  });
  const client = createExecutorClient(front.address);
  try {
    const progress: string[] = [];
    const { profile, samples } = await measureDeviceProfile([client], {
      models: ["Qwen/Qwen3-14B"],
      quick: true,
      onProgress: (message) => progress.push(message),
    });
    expect(() => parseDeviceProfile(profile)).not.toThrow();
    expect(profile.capabilities).toEqual({ kvTransfer: false, prefixPinning: false, modelLoading: false });
    expect(progress.some((message) => message.includes("KV transfer"))).toBe(false);
    expect(samples.some((sample) => sample.kind === "transfer")).toBe(false);
    expect(samples.some((sample) => sample.kind === "prefill")).toBe(true);
    expect(profile.models["Qwen/Qwen3-14B"]!.prefill.msPerToken).toBeGreaterThan(0);
  } finally {
    client.close();
    await front.close(1_000);
    await back.close(1_000);
  }
}, 300_000);

// A simulated executor that keeps two models loaded: the count crosses gRPC and lands in the profile.
it("profiles an executor that keeps several models loaded: maxLoadedModels in the profile", async () => {
  const server = await createExecutorServer({
    engine: new SimEngine({ profile: H100_SIMULATED_PROFILE, timeScale: 0.0005, maxLoadedModels: 2 }),
  });
  const client = createExecutorClient(server.address);
  try {
    expect((await client.info()).capabilities?.maxLoadedModels).toBe(2);
    const { profile } = await measureDeviceProfile([client], { models: ["Qwen/Qwen3-14B"], quick: true });
    expect(() => parseDeviceProfile(profile)).not.toThrow();
    expect(profile.capabilities).toEqual({
      kvTransfer: true,
      prefixPinning: true,
      modelLoading: true,
      maxLoadedModels: 2,
    });
  } finally {
    client.close();
    await server.close(1_000);
  }
}, 300_000);
