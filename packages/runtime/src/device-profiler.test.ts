import { H100_SIMULATED_PROFILE, parseDeviceProfile } from "@halo/profiles";
import { createExecutorClient, type ExecutorClient } from "@halo/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fitStructuredDecode, measureDeviceProfile } from "./device-profiler.js";
import { type SimExecutors, startSimExecutors } from "./test-fixtures.js";

// The simulated engine replays the H100 profile and reports its (unscaled) times:
// measuring it must give that profile back.
let executors: SimExecutors;
let clients: ExecutorClient[];

beforeAll(async () => {
  executors = await startSimExecutors(2, { timeScale: 0.0005 });
  clients = executors.addresses.map((address) => createExecutorClient(address));
});

afterAll(async () => {
  for (const client of clients) client.close();
  await executors.close();
});

describe("measureDeviceProfile", () => {
  it("recovers the simulated H100's costs from live executors", async () => {
    const progress: string[] = [];
    const { profile, samples } = await measureDeviceProfile(clients, {
      models: ["Qwen/Qwen3-14B", "Qwen/Qwen3-32B"],
      onProgress: (message) => progress.push(message),
    });
    expect(() => parseDeviceProfile(profile)).not.toThrow();
    for (const model of ["Qwen/Qwen3-14B", "Qwen/Qwen3-32B"]) {
      const truth = H100_SIMULATED_PROFILE.models[model]!;
      const measured = profile.models[model]!;
      expect(measured.loadMs).toBeCloseTo(truth.loadMs, -1);
      expect(measured.prefill.msPerToken / truth.prefill.msPerToken).toBeGreaterThan(0.8);
      expect(measured.prefill.msPerToken / truth.prefill.msPerToken).toBeLessThan(1.25);
      const step = (batch: number, context: number, decode: typeof truth.decode) =>
        decode.stepFixedMs + batch * (decode.stepMsPerSequence + decode.stepMsPerContextToken * context);
      for (const [batch, context] of [
        [1, 100],
        [16, 300],
      ] as const) {
        const ratio = step(batch, context, measured.decode) / step(batch, context, truth.decode);
        expect(ratio).toBeGreaterThan(0.8);
        expect(ratio).toBeLessThan(1.25);
      }
      expect(measured.maxBatchSequences).toBeGreaterThan(1);
      // Structured (JSON-schema) decode is measured too; never cheaper than free decode.
      const structured = measured.structuredDecode!;
      expect(structured).toBeDefined();
      expect(structured.stepMsPerSequence).toBeGreaterThanOrEqual(measured.decode.stepMsPerSequence);
      expect(structured.stepFixedMs).toBeGreaterThanOrEqual(measured.decode.stepFixedMs);
    }
    expect(samples.some((sample) => sample.kind === "structured-decode")).toBe(true);
    expect(profile.transferBytesPerSecond).toBeGreaterThan(0);
    expect(samples.filter((sample) => sample.kind === "transfer")).toHaveLength(3);
    // Both executors measured in a full profile.
    expect(
      new Set(samples.filter((sample) => sample.kind === "prefill").map((sample) => sample.executor)).size,
    ).toBe(2);
    expect(progress.some((message) => message.includes("Qwen/Qwen3-32B"))).toBe(true);
  });

  it("quick mode measures the first executor only, and refuses an empty request", async () => {
    const { samples } = await measureDeviceProfile(clients, { models: ["openai/gpt-oss-20b"], quick: true });
    expect(
      new Set(samples.filter((sample) => sample.kind !== "transfer").map((sample) => sample.executor)),
    ).toEqual(new Set([executors.addresses[0]]));
    await expect(measureDeviceProfile(clients, { models: [] })).rejects.toThrow(/at least one model/);
    await expect(measureDeviceProfile([], { models: ["m"] })).rejects.toThrow(/at least one executor/);
  });
});

describe("fitStructuredDecode", () => {
  const decode = { stepFixedMs: 2, stepMsPerSequence: 0.5, stepMsPerContextToken: 0.001 };
  const free = (batch: number, context: number) => 2 + batch * (0.5 + 0.001 * context);

  it("adds the grammar's fixed and per-sequence overhead to free decode", () => {
    const samples = [1, 4, 8, 16].map((size) => ({ size, context: 40, ms: free(size, 40) + 1 + 3 * size }));
    const fitted = fitStructuredDecode(decode, samples);
    expect(fitted.stepFixedMs).toBeCloseTo(3, 6);
    expect(fitted.stepMsPerSequence).toBeCloseTo(3.5, 6);
    expect(fitted.stepMsPerContextToken).toBe(decode.stepMsPerContextToken);
  });

  it("is never cheaper than free decode", () => {
    const samples = [1, 8].map((size) => ({ size, context: 40, ms: free(size, 40) / 2 }));
    const fitted = fitStructuredDecode(decode, samples);
    expect(fitted.stepFixedMs).toBeGreaterThanOrEqual(decode.stepFixedMs);
    expect(fitted.stepMsPerSequence).toBeGreaterThanOrEqual(decode.stepMsPerSequence);
  });
});
