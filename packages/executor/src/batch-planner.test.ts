import { describe, expect, it } from "vitest";
import { estimateItemTokens, isBatchFull, planBatch, type QueuedCallView } from "./batch-planner.js";
import type { GenerateItem } from "./engine-v1.js";

const item = (id: string, prompt = "p".repeat(30), maxTokens = 10): GenerateItem => ({
  id,
  prompt,
  maxTokens,
  temperature: 0,
  topP: 1,
  seed: 0,
});

const call = (groupKey: string, ids: string[], next = 0, prefixText = ""): QueuedCallView => ({
  groupKey,
  prefixText,
  items: ids.map((id) => item(id)),
  next,
});

const wide = { maxSequences: 100, maxBatchTokens: 100_000 };

describe("planBatch", () => {
  it("merges calls of the head's group in arrival order and skips other groups", () => {
    const calls = [call("m\u0000", ["a"]), call("other\u0000", ["b"]), call("m\u0000", ["c", "d"])];
    expect(planBatch(calls, wide)).toEqual([
      { callIndex: 0, start: 0, end: 1 },
      { callIndex: 2, start: 0, end: 2 },
    ]);
  });

  it("starts at the oldest call with work left", () => {
    const calls = [call("m\u0000", ["a"], 1), call("x\u0000", ["b"])];
    expect(planBatch(calls, wide)).toEqual([{ callIndex: 1, start: 0, end: 1 }]);
  });

  it("stops at the sequence limit, cutting a call", () => {
    const calls = [call("m\u0000", ["a", "b"]), call("m\u0000", ["c", "d"])];
    expect(planBatch(calls, { ...wide, maxSequences: 3 })).toEqual([
      { callIndex: 0, start: 0, end: 2 },
      { callIndex: 1, start: 0, end: 1 },
    ]);
    expect(isBatchFull(calls, { ...wide, maxSequences: 3 })).toBe(true);
    expect(isBatchFull(calls, wide)).toBe(false);
  });

  it("stops at the token limit but always takes one item", () => {
    const perItem = estimateItemTokens("", item("a"));
    expect(perItem).toBe(10 + 10);
    const calls = [call("m\u0000", ["a", "b", "c"])];
    expect(planBatch(calls, { ...wide, maxBatchTokens: 2 * perItem })).toEqual([
      { callIndex: 0, start: 0, end: 2 },
    ]);
    expect(planBatch(calls, { ...wide, maxBatchTokens: 1 })).toEqual([{ callIndex: 0, start: 0, end: 1 }]);
  });

  it("counts the shared prefix for every item", () => {
    expect(estimateItemTokens("x".repeat(300), item("a"))).toBe(100 + 10 + 10);
  });

  it("keeps calls whose item ids collide out of the batch", () => {
    const calls = [call("m\u0000", ["a", "b"]), call("m\u0000", ["b"]), call("m\u0000", ["c"])];
    expect(planBatch(calls, wide)).toEqual([
      { callIndex: 0, start: 0, end: 2 },
      { callIndex: 2, start: 0, end: 1 },
    ]);
  });

  it("plans nothing when no call has work", () => {
    expect(planBatch([call("m\u0000", ["a"], 1)], wide)).toEqual([]);
  });
});
