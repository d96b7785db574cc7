import { decodeMs, H100_SIMULATED_PROFILE, kvTransferMs, prefillMs } from "@halo/profiles";
import { describe, expect, it } from "vitest";
import {
  batchKvTokens,
  effectiveBatchSize,
  llmShardCost,
  splitRequests,
  toolBatchMs,
  toolPoolWorkMs,
} from "./cost-model.js";
import { NO_DISABLED_OPTIMIZATIONS } from "./planning-problem.js";

const device = H100_SIMULATED_PROFILE;
const model = device.models["Qwen/Qwen3-14B"]!;
const statistics = {
  instances: 100,
  distinctRequests: 40,
  sharedPrefixTokens: 500,
  prefixKey: "p",
  uniquePromptTokens: 200,
  outputTokens: 50,
};
const cold = {
  modelLoaded: false,
  prefixResident: false,
  inheritedLocalRequests: 0,
  inheritedRemoteRequests: 0,
};
const on = NO_DISABLED_OPTIMIZATIONS;

describe("llmShardCost", () => {
  it("prices JSON-constrained output with the profile's structuredDecode, free output with decode", () => {
    const structuredDecode = { stepFixedMs: 20, stepMsPerSequence: 1, stepMsPerContextToken: 0 };
    const slow = { ...model, structuredDecode };
    const json = { ...statistics, structuredOutput: true };
    const priced = llmShardCost(device, slow, json, 40, cold, 0, on)!;
    expect(priced.decodeMs).toBeCloseTo(decodeMs({ ...model, decode: structuredDecode }, 40, 700, 50), 6);
    expect(priced.decodeMs).toBeGreaterThan(
      llmShardCost(device, slow, statistics, 40, cold, 0, on)!.decodeMs,
    );
    // Without the figure structured output costs what free output costs.
    expect(llmShardCost(device, model, json, 40, cold, 0, on)!.decodeMs).toBeCloseTo(
      llmShardCost(device, model, statistics, 40, cold, 0, on)!.decodeMs,
      9,
    );
  });

  it("adds load, one shared-prefix prefill, per-request unique prefill and batched decode", () => {
    const cost = llmShardCost(device, model, statistics, 40, cold, 0, on)!;
    expect(cost.loadMs).toBe(model.loadMs);
    expect(cost.prefillMs).toBeCloseTo(prefillMs(model, 500) + prefillMs(model, 40 * 200), 6);
    expect(cost.decodeMs).toBeCloseTo(decodeMs(model, 40, 700, 50), 6);
    expect(cost.totalMs).toBeCloseTo(cost.loadMs + cost.prefillMs + cost.decodeMs, 6);
    expect(cost.prefilledTokens).toBe(500 + 40 * 200);
    expect(cost.waves).toBe(1);
  });

  it("reuses a resident prefix, migrates it when cheaper than recomputing, and prefills it per request without sharing", () => {
    const warm = { ...cold, modelLoaded: true };
    const reuse = llmShardCost(device, model, statistics, 40, { ...warm, prefixResident: true }, 0, on)!;
    expect(reuse.prefixKv).toBe("reuse");
    expect(reuse.loadMs).toBe(0);
    const migrateMs = kvTransferMs(device, model, 500);
    const migrate = llmShardCost(
      device,
      model,
      statistics,
      40,
      { ...warm, prefixMigrateMs: migrateMs },
      0,
      on,
    )!;
    expect(migrateMs).toBeLessThan(prefillMs(model, 500));
    expect(migrate.prefixKv).toBe("migrate");
    expect(migrate.migrateMs).toBeCloseTo(migrateMs, 9);
    const noMigration = { ...on, migration: true };
    const recompute = llmShardCost(
      device,
      model,
      statistics,
      40,
      { ...warm, prefixMigrateMs: migrateMs },
      0,
      noMigration,
    )!;
    expect(recompute.prefixKv).toBe("recompute");
    const unshared = llmShardCost(device, model, statistics, 40, warm, 0, { ...on, prefixSharing: true })!;
    expect(unshared.prefilledTokens).toBe(40 * 700);
    expect(reuse.totalMs).toBeLessThan(migrate.totalMs);
    expect(migrate.totalMs).toBeLessThan(recompute.totalMs);
    expect(recompute.totalMs).toBeLessThan(unshared.totalMs);
  });

  it("reuses, migrates or recomputes inherited context", () => {
    const inheriting = { ...statistics, inheritedContext: { from: "parent", tokens: 150 } };
    const warm = { ...cold, modelLoaded: true, prefixResident: true };
    const local = llmShardCost(
      device,
      model,
      inheriting,
      40,
      { ...warm, inheritedLocalRequests: 40 },
      0,
      on,
    )!;
    const remote = llmShardCost(
      device,
      model,
      inheriting,
      40,
      { ...warm, inheritedRemoteRequests: 40 },
      0,
      on,
    )!;
    const none = llmShardCost(device, model, inheriting, 40, warm, 0, on)!;
    expect(local.contextKv).toBe("reuse");
    expect(local.prefilledTokens).toBe(40 * 50);
    expect(remote.contextKv).toBe("migrate");
    expect(remote.migratedTokens).toBe(40 * 150);
    expect(none.contextKv).toBe("recompute");
    expect(local.totalMs).toBeLessThan(remote.totalMs);
    expect(remote.totalMs).toBeLessThan(none.totalMs);
  });

  it("prices an engine behind an HTTP API from its capabilities: no migration, no pinned reuse, no loads", () => {
    const remote = {
      ...device,
      capabilities: { kvTransfer: false, prefixPinning: false, modelLoading: false },
    };
    const inherited = { ...statistics, inheritedContext: { from: "parent", tokens: 150 } };
    const residency = {
      modelLoaded: false,
      prefixResident: true,
      prefixMigrateMs: kvTransferMs(device, model, 500),
      inheritedLocalRequests: 10,
      inheritedRemoteRequests: 30,
    };
    const capable = llmShardCost(device, model, inherited, 40, residency, 0, on)!;
    expect(capable.prefixKv).toBe("reuse");
    expect(capable.loadMs).toBe(model.loadMs);
    const cost = llmShardCost(remote, model, inherited, 40, residency, 0, on)!;
    expect(cost.loadMs).toBe(0);
    expect(cost.migrateMs).toBe(0);
    expect(cost.migratedTokens).toBe(0);
    // The prefix is prefilled once for the step (the server's cache serves the step's other requests).
    expect(cost.prefixKv).toBe("recompute");
    expect(cost.contextKv).toBe("recompute");
    expect(cost.prefilledTokens).toBe(500 + 40 * 200);
    const moved = llmShardCost(
      { ...device, capabilities: { kvTransfer: false, prefixPinning: true, modelLoading: true } },
      model,
      statistics,
      40,
      { ...residency, prefixResident: false },
      0,
      on,
    )!;
    expect(moved.prefixKv).toBe("recompute");
  });

  it("shrinks the batch to what fits in memory, and refuses when not one sequence fits", () => {
    const big = device.models["Qwen/Qwen3-32B"]!;
    const long = { ...statistics, uniquePromptTokens: 20_000, outputTokens: 1_000 };
    const batch = effectiveBatchSize(device, big, long, 0, on);
    expect(batch).toBeGreaterThan(0);
    expect(batch).toBeLessThan(big.maxBatchSequences);
    expect(batch * 21_500 * big.kvBytesPerToken + big.weightsBytes).toBeLessThanOrEqual(device.memoryBytes);
    expect(llmShardCost(device, big, long, 100, cold, device.memoryBytes, on)).toBeUndefined();
  });

  it("holds a shared prefix's KV once for the batch, and not at all when it is already resident", () => {
    const big = device.models["Qwen/Qwen3-32B"]!;
    const shared = { ...statistics, sharedPrefixTokens: 4_000, uniquePromptTokens: 600, outputTokens: 200 };
    const withSharing = effectiveBatchSize(device, big, shared, 0, on);
    const without = effectiveBatchSize(device, big, shared, 0, { ...on, prefixSharing: true });
    const free = device.memoryBytes - big.weightsBytes;
    expect(without).toBe(Math.min(big.maxBatchSequences, Math.floor(free / (4_800 * big.kvBytesPerToken))));
    expect(withSharing).toBe(
      Math.min(
        big.maxBatchSequences,
        Math.floor((free - 4_000 * big.kvBytesPerToken) / (800 * big.kvBytesPerToken)),
      ),
    );
    expect(withSharing).toBeGreaterThan(without);
    expect(effectiveBatchSize(device, big, shared, 0, on, true)).toBeGreaterThanOrEqual(withSharing);
    expect(batchKvTokens(shared, 10, on)).toBe(4_000 + 10 * 800);
    expect(batchKvTokens(shared, 10, { ...on, prefixSharing: true })).toBe(10 * 4_800);
  });

  it("prefills prompt text an earlier request of the batch shares only once, but decodes over the whole prompt", () => {
    const shared = { ...statistics, batchSharedPromptTokens: 100 };
    const plain = llmShardCost(device, model, statistics, 40, cold, 0, on)!;
    const cached = llmShardCost(device, model, shared, 40, cold, 0, on)!;
    expect(plain.prefilledTokens - cached.prefilledTokens).toBe(40 * 100);
    expect(plain.prefillMs - cached.prefillMs).toBeCloseTo(40 * 100 * model.prefill.msPerToken, 6);
    expect(cached.decodeMs).toBeCloseTo(plain.decodeMs, 6);
    // Without prefix sharing, or without the reordering that sends sharing requests together, nothing is cached.
    for (const disabled of [
      { ...on, prefixSharing: true },
      { ...on, prefixReordering: true },
    ]) {
      expect(llmShardCost(device, model, shared, 40, cold, 0, disabled)!.prefilledTokens).toBe(
        llmShardCost(device, model, statistics, 40, cold, 0, disabled)!.prefilledTokens,
      );
    }
  });

  it("without batching runs every request alone", () => {
    const alone = llmShardCost(device, model, statistics, 10, cold, 0, { ...on, batching: true })!;
    expect(alone.decodeMs).toBeCloseTo(10 * decodeMs(model, 1, 700, 50), 6);
    expect(alone.batchSize).toBe(1);
  });
});

describe("tools and splits", () => {
  it("prices pool work and barrier phases", () => {
    const tool = { instances: 100, distinctRequests: 10, latencyMeanMs: 30, latencyP95Ms: 60 };
    expect(toolPoolWorkMs(tool, 4, on)).toBeCloseTo((10 * 30) / 4, 9);
    expect(toolPoolWorkMs(tool, 4, { ...on, coalescing: true })).toBeCloseTo((100 * 30) / 4, 9);
    expect(toolBatchMs(tool, 4, on)).toBe(3 * 30);
  });

  it("splits requests evenly", () => {
    expect(splitRequests(10, 3)).toEqual([4, 3, 3]);
    expect(splitRequests(2, 4)).toEqual([1, 1, 0, 0]);
  });
});
