import { describe, expect, it } from "vitest";
import { PlanSchedule } from "./plan-schedule.js";
import { compileWorkflow, DIAMOND_YAML, diamondQueries, planFor } from "./test-fixtures.js";

const workflow = compileWorkflow(DIAMOND_YAML);
const addresses = ["127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3"];

describe("PlanSchedule", () => {
  it("lists each worker's steps in plan order and each operator's workers", async () => {
    const plan = await planFor(workflow, diamondQueries(20), addresses);
    const schedule = new PlanSchedule(plan);
    const all = plan.workers.flatMap((worker) => schedule.stepsOf(worker.id));
    expect(new Set(all.map((step) => step.operator))).toEqual(new Set(["pricing", "market", "join"]));
    for (const worker of plan.workers) {
      const priorities = schedule.stepsOf(worker.id).map((step) => step.priority);
      expect(priorities).toEqual([...priorities].sort((left, right) => left - right));
    }
    for (const step of all) expect(schedule.workersOf(step.operator).has(step.worker)).toBe(true);
    // The join runs after both analysts in every plan.
    expect(schedule.priorityOf("join")).toBeGreaterThan(schedule.priorityOf("pricing"));
    expect(schedule.priorityOf("join")).toBeGreaterThan(schedule.priorityOf("market"));
    expect(schedule.operators().at(-1)).toBe("join");
  });

  it("moves a lost worker's steps: to a worker holding the model first, keeping plan priority", () => {
    const schedule = new PlanSchedule({
      planVersion: 1,
      workflow: "w",
      queryCount: 1,
      strategy: "test",
      solveMs: 0,
      disabledOptimizations: [],
      workers: ["a", "b", "c"].map((id) => ({ id, device: "d", memoryBytes: 1 })),
      epochs: [
        {
          index: 0,
          startMs: 0,
          endMs: 1,
          steps: [step("x", "a", "m1"), step("y", "b", "m2"), step("z", "c", "m3")],
          preloads: [],
        },
        {
          index: 1,
          startMs: 1,
          endMs: 2,
          steps: [step("w", "a", "m2"), step("x2", "c", "m3")],
          preloads: [],
        },
      ],
      cpuOperators: [],
      estimatedMakespanMs: 2,
      toolPoolBoundMs: 0,
      lowerBoundMs: 1,
      modelLoads: 3,
      warnings: [],
    });
    const moves = schedule.reassign("a", [
      { id: "b", currentModel: "m2" },
      { id: "c", currentModel: "m1" },
    ]);
    expect(moves).toEqual([
      { operator: "x", to: "c" },
      { operator: "w", to: "b" },
    ]);
    expect(schedule.stepsOf("a")).toEqual([]);
    expect(schedule.stepsOf("c").map((entry) => entry.operator)).toEqual(["x", "z", "x2"]);
    expect(schedule.stepsOf("b").map((entry) => entry.operator)).toEqual(["y", "w"]);
    expect(schedule.stepFor("c", "x")).toMatchObject({ reassignedFrom: "a", prefixKv: "recompute" });
    expect([...schedule.workersOf("x")]).toEqual(["c"]);
    // An operator still planned on a live worker stays there.
    expect(schedule.reassign("b", [{ id: "c", currentModel: "m3" }])).toEqual([
      { operator: "y", to: "c" },
      { operator: "w", to: "c" },
    ]);
  });
});

describe("PlanSchedule.estimatedCallMs", () => {
  it("prices a call from the plan's estimate of one engine batch (a wave), the longest over the operator's steps", () => {
    const slow = {
      ...step("x", "a", "m1"),
      waves: 2,
      estimate: { ...step("x", "a", "m1").estimate, prefillMs: 400, decodeMs: 3_600 },
    };
    const fast = {
      ...step("x", "b", "m1"),
      estimate: { ...step("x", "b", "m1").estimate, prefillMs: 100, decodeMs: 900 },
    };
    const schedule = new PlanSchedule({
      planVersion: 1,
      workflow: "w",
      queryCount: 16,
      strategy: "test",
      solveMs: 0,
      disabledOptimizations: [],
      workers: ["a", "b"].map((id) => ({ id, device: "d", memoryBytes: 1 })),
      epochs: [{ index: 0, startMs: 0, endMs: 1, steps: [slow, fast], preloads: [] }],
      cpuOperators: [],
      estimatedMakespanMs: 1,
      toolPoolBoundMs: 0,
      lowerBoundMs: 0,
      modelLoads: 0,
      warnings: [],
    });
    // Step "a": 4,000 ms over 2 waves of 8 sequences = 2,000 ms a wave (longer than "b"'s 1,000 ms).
    expect(schedule.estimatedCallMs("x", 1)).toBe(2_000);
    expect(schedule.estimatedCallMs("x", 8)).toBe(2_000);
    expect(schedule.estimatedCallMs("x", 9)).toBe(4_000);
    expect(schedule.estimatedCallMs("unplanned", 4)).toBe(0);
  });
});

function step(operator: string, worker: string, model: string) {
  return {
    operator,
    worker,
    model,
    queries: 1,
    batchSize: 8,
    waves: 1,
    kv: "recompute" as const,
    prefixKv: "recompute" as const,
    contextKv: "recompute" as const,
    prefilledTokens: 1,
    reusedTokens: 0,
    migratedTokens: 0,
    residentKvBytes: 0,
    batchKvBytes: 0,
    estimate: { loadMs: 0, prefillMs: 0, decodeMs: 0, migrateMs: 0, totalMs: 1, startMs: 0, endMs: 1 },
  };
}
