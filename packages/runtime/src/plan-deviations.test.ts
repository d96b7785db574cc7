import type { ExecutionPlan, PlanStep } from "@halo/optimizer";
import { describe, expect, it } from "vitest";
import { PlanDeviationTracker } from "./plan-deviations.js";
import type { RuntimeEvent } from "./runtime-events.js";

function step(operator: string, worker: string, model: string, queries: number): PlanStep {
  const estimate = { loadMs: 0, prefillMs: 1, decodeMs: 1, migrateMs: 0, totalMs: 2, startMs: 0, endMs: 2 };
  return {
    operator,
    worker,
    model,
    queries,
    batchSize: 16,
    waves: 1,
    kv: "recompute",
    prefixKv: "recompute",
    contextKv: "recompute",
    prefilledTokens: 0,
    reusedTokens: 0,
    migratedTokens: 0,
    residentKvBytes: 0,
    batchKvBytes: 0,
    estimate,
  };
}

/** w0: A (a1: 60), then B (b1: 10), w1: A (a1: 40), preloads B in epoch 0, then B (b2: 50). */
const PLAN = {
  planVersion: 1,
  workflow: "wf",
  queryCount: 100,
  strategy: "dp",
  solveMs: 0,
  disabledOptimizations: [],
  workers: [
    { id: "w0", device: "h100", memoryBytes: 1 },
    { id: "w1", device: "h100", memoryBytes: 1 },
  ],
  epochs: [
    {
      index: 0,
      startMs: 0,
      endMs: 1,
      steps: [step("a1", "w0", "A", 60), step("a1", "w1", "A", 40)],
      preloads: [],
    },
    {
      index: 1,
      startMs: 1,
      endMs: 2,
      steps: [step("b1", "w0", "B", 10)],
      preloads: [{ worker: "w1", model: "B", loadMs: 1, startMs: 1, endMs: 2 }],
    },
    { index: 2, startMs: 2, endMs: 3, steps: [step("b2", "w1", "B", 50)], preloads: [] },
  ],
  cpuOperators: [],
  estimatedMakespanMs: 3,
  toolPoolBoundMs: 0,
  lowerBoundMs: 1,
  modelLoads: 4,
  warnings: [],
} satisfies ExecutionPlan;

const load = (
  worker: string,
  model: string,
  reason: "preload" | "switch" | "failover",
  alreadyLoaded = false,
) =>
  ({ type: "model-load", atMs: 0, worker, model, reason, loadMs: 1, alreadyLoaded, unloaded: [] }) as const;

let batches = 0;
function batch(
  operator: string,
  worker: string,
  items: number,
  options: { stolen?: boolean; failedItems?: number; error?: string } = {},
): RuntimeEvent[] {
  batches += 1;
  const batchId = `b${batches}`;
  const common = { atMs: 0, batchId, operator, worker, model: operator.startsWith("a") ? "A" : "B", items };
  return [
    { type: "batch-dispatched", ...common, instances: items, stolen: options.stolen ?? false },
    {
      type: "batch-finished",
      ...common,
      answeredItems: options.error === undefined ? items - (options.failedItems ?? 0) : 0,
      failedItems: options.failedItems ?? 0,
      promptTokens: 0,
      cachedTokens: 0,
      generatedTokens: 0,
      prefixPrefilledTokens: 0,
      wallMs: 1,
      ...(options.error === undefined ? {} : { error: options.error }),
    },
  ];
}

describe("PlanDeviationTracker", () => {
  it("reports nothing off plan for a run that follows it", () => {
    const tracker = new PlanDeviationTracker(PLAN);
    const events: RuntimeEvent[] = [
      load("w0", "A", "preload"),
      load("w1", "A", "preload"),
      ...batch("a1", "w0", 60),
      ...batch("a1", "w1", 40),
      load("w1", "B", "preload"),
      load("w0", "B", "switch"),
      ...batch("b1", "w0", 10),
      ...batch("b2", "w1", 50),
    ];
    for (const event of events) tracker.observe(event);
    expect(tracker.summary()).toEqual({
      stolen: { batches: 0, items: 0 },
      modelLoads: { planned: 1, preload: 3, unplanned: 0 },
      plannedModelLoads: 4,
      preloads: { planned: 1, done: 3 },
      items: { run: 160, planned: 160 },
      offSplitItems: 0,
    });
  });

  it("counts stolen work, items beyond a worker's share, and loads beyond the plan's", () => {
    const tracker = new PlanDeviationTracker(PLAN);
    const events: RuntimeEvent[] = [
      load("w0", "A", "preload"),
      load("w1", "A", "switch"),
      // w0 runs 70 of a1 (10 beyond its 60), w1 30.
      ...batch("a1", "w0", 70),
      ...batch("a1", "w1", 30),
      load("w0", "B", "switch"),
      // w0 steals 20 of b2 (planned on w1 only); one stolen call fails as a whole and is not counted.
      ...batch("b2", "w0", 20, { stolen: true }),
      ...batch("b2", "w0", 5, { stolen: true, error: "deadline" }),
      ...batch("b1", "w0", 10, { failedItems: 2 }),
      // w1 switches back to A and to B again: two loads beyond the plan's.
      load("w1", "B", "switch"),
      load("w1", "A", "failover"),
      load("w1", "B", "switch"),
      load("w1", "B", "switch", true),
      ...batch("b2", "w1", 30),
    ];
    for (const event of events) tracker.observe(event);
    expect(tracker.summary()).toEqual({
      stolen: { batches: 2, items: 20 },
      modelLoads: { planned: 3, preload: 1, unplanned: 2 },
      plannedModelLoads: 4,
      preloads: { planned: 1, done: 1 },
      items: { run: 158, planned: 160 },
      // 10 of a1 beyond w0's 60, 20 of b2 on w0 (planned 0 there).
      offSplitItems: 30,
    });
  });
});
