import type { ExecutionPlan } from "@halo/optimizer";
import { describe, expect, it } from "vitest";
import { bindToResidency } from "./residency-binding.js";

/** A plan with one step per worker on the given models (the rest of the plan does not matter here). */
function planOn(models: readonly string[], devices?: readonly string[]): ExecutionPlan {
  return {
    workers: models.map((_, index) => ({
      id: `worker-${index}`,
      device: devices?.[index] ?? "H100",
      memoryBytes: 80e9,
      address: `127.0.0.1:${5000 + index}`,
    })),
    epochs: [
      {
        index: 0,
        steps: models.map((model, index) => ({ operator: `op${index}`, model, worker: `worker-${index}` })),
      },
    ],
  } as unknown as ExecutionPlan;
}

const resident = (entries: [string, string[]][]) =>
  new Map(entries.map(([address, models]) => [address, new Set(models)]));

describe("bindToResidency", () => {
  it("moves plan workers onto the executors that hold their models", () => {
    // The executors hold a class-4 plan's placement; the class-16 plan swaps workers 1 and 2.
    const plan = planOn(["14B", "32B", "oss", "32B"]);
    const bound = bindToResidency(
      plan,
      resident([
        ["127.0.0.1:5000", ["14B"]],
        ["127.0.0.1:5001", ["oss"]],
        ["127.0.0.1:5002", ["32B"]],
        ["127.0.0.1:5003", ["32B"]],
      ]),
    );
    expect(bound.workers.map((worker) => worker.address)).toEqual([
      "127.0.0.1:5000",
      "127.0.0.1:5002",
      "127.0.0.1:5001",
      "127.0.0.1:5003",
    ]);
    expect(bound.epochs).toBe(plan.epochs);
  });

  it("keeps the plan when nothing is loaded, it already fits, or the workers differ", () => {
    const plan = planOn(["14B", "32B"]);
    expect(bindToResidency(plan, resident([]))).toBe(plan);
    const fits = resident([
      ["127.0.0.1:5000", ["14B"]],
      ["127.0.0.1:5001", ["32B"]],
    ]);
    expect(bindToResidency(plan, fits)).toBe(plan);
    const mixed = planOn(["14B", "32B"], ["H100", "A100"]);
    const swapped = resident([
      ["127.0.0.1:5000", ["32B"]],
      ["127.0.0.1:5001", ["14B"]],
    ]);
    expect(bindToResidency(mixed, swapped)).toBe(mixed);
    expect(bindToResidency(plan, swapped).workers.map((worker) => worker.address)).toEqual([
      "127.0.0.1:5001",
      "127.0.0.1:5000",
    ]);
  });
});
