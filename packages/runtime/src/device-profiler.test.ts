import { SimEngine } from "@halo/engine-sim";
import { createExecutorServer } from "@halo/executor";
import {
  decodeStepMs,
  groundTruthDevice,
  H100_SIMULATED_PROFILE,
  kvCapacityTokens,
  parseDeviceProfile,
  truthStepMs,
} from "@halo/profiles";
import { createExecutorClient, type ExecutorClient } from "@halo/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fitDecodeTable, fitStructuredDecode, measureDeviceProfile } from "./device-profiler.js";
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
      // The engine admits 1,024 sequences: its decode steps are also measured on a grid, which
      // (the replayed profile being linear) reproduces the linear costs at a large batch too.
      expect(measured.decodeTable?.batches.at(-1)).toBeGreaterThanOrEqual(200);
      const wide = decodeStepMs(measured, 200, 200) / step(200, 200, truth.decode);
      expect(wide).toBeGreaterThan(0.8);
      expect(wide).toBeLessThan(1.25);
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

describe("decode grid against a hidden ground truth", () => {
  it("prices large batches as the roofline does, where the linear fit of small batches cannot", async () => {
    const truth = groundTruthDevice("h100");
    const server = await createExecutorServer({
      engine: new SimEngine({ truth, timeScale: 0.0002, noise: 0 }),
    });
    const client = createExecutorClient(server.address);
    try {
      const models = ["Qwen/Qwen3-14B", "openai/gpt-oss-20b"];
      const { profile, samples } = await measureDeviceProfile([client], { models, quick: true });
      expect(() => parseDeviceProfile(profile)).not.toThrow();
      expect(samples.some((sample) => sample.kind === "decode-grid")).toBe(true);
      for (const model of models) {
        const measured = profile.models[model]!;
        const truthModel = truth.models[model]!;
        // Points whose KV fits the device (the planner never batches beyond that).
        const points = (
          [
            [1, 300],
            [64, 600],
            [256, 600],
            [160, 1500],
            [512, 1500],
            [48, 5000],
            [1000, 200],
          ] as const
        ).filter(([batch, context]) => batch * context <= kvCapacityTokens(truth, truthModel));
        expect(points.length).toBeGreaterThanOrEqual(4);
        for (const [batch, context] of points) {
          const actual = truthStepMs(truth, truthModel, {
            decodeSequences: batch,
            decodeContextTokens: batch * context,
            prefillTokens: 0,
            prefillAttentionTokens: 0,
          });
          const ratio = decodeStepMs(measured, batch, context) / actual;
          expect(ratio, `${model} batch ${batch} context ${context}`).toBeGreaterThan(0.85);
          expect(ratio, `${model} batch ${batch} context ${context}`).toBeLessThan(1.15);
        }
      }
      // Without the table, the linear fit of batches ≤ 8 prices 1,000 sequences wrongly: the dense
      // model's as nearly free, the MoE model's (expert reads saturate) as far too dear.
      const truthAt = (model: string) =>
        truthStepMs(truth, truth.models[model]!, {
          decodeSequences: 1000,
          decodeContextTokens: 1000 * 200,
          prefillTokens: 0,
          prefillAttentionTokens: 0,
        });
      const linear = (model: string) =>
        decodeStepMs({ ...profile.models[model]!, decodeTable: undefined }, 1000, 200) / truthAt(model);
      expect(linear("Qwen/Qwen3-14B")).toBeLessThan(0.5);
      expect(linear("openai/gpt-oss-20b")).toBeGreaterThan(1.5);
    } finally {
      client.close();
      await server.close(100);
    }
  });
});

describe("fitDecodeTable", () => {
  const sample = (size: number, column: number, ms: number) => ({ size, column, context: column + 12, ms });

  it("takes the median per point and the mean context per column", () => {
    const table = fitDecodeTable([
      sample(1, 100, 10),
      sample(1, 100, 11),
      sample(1, 100, 30),
      sample(1, 1000, 12),
      sample(4, 100, 14),
      sample(4, 1000, 20),
    ])!;
    expect(table.batches).toEqual([1, 4]);
    expect(table.contexts).toEqual([112, 1012]);
    expect(table.stepMs).toEqual([
      [11, 12],
      [14, 20],
    ]);
  });

  it("fills a point the grid skipped from the row above, scaled by the batch, and never falls with the batch", () => {
    const table = fitDecodeTable([
      sample(1, 100, 10),
      sample(1, 1000, 19),
      sample(4, 100, 9),
      // batch 4 at context 1000 did not fit: 9→ at least 10 (monotone), + 9 ms × 4 of context slope.
    ])!;
    expect(table.stepMs[1]![0]).toBe(10);
    expect(table.stepMs[1]![1]).toBeCloseTo(10 + 9 * 4, 6);
  });

  it("gives no table with a single batch size", () => {
    expect(fitDecodeTable([sample(1, 100, 10), sample(1, 1000, 12)])).toBeUndefined();
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
