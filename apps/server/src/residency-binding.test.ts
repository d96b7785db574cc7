import type { ExecutionPlan } from "@halo/optimizer";
import { H100_SIMULATED_PROFILE } from "@halo/profiles";
import { describe, expect, it } from "vitest";
import { bindToResidency, restrictToResidency } from "./residency-binding.js";

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

describe("restrictToResidency", () => {
  const workers = [0, 1, 2, 3].map((index) => ({
    id: `worker-${index}`,
    address: `127.0.0.1:${5000 + index}`,
    profile: H100_SIMULATED_PROFILE,
  }));

  it("restricts holders to the workflow's models they hold plus those nobody holds", () => {
    const restriction = restrictToResidency(
      workers,
      ["8B", "32B", "20B", "8B"],
      resident([
        ["127.0.0.1:5000", ["8B", "other-workflow"]],
        ["127.0.0.1:5001", ["32B"]],
        ["127.0.0.1:5002", ["other-workflow"]],
      ]),
    );
    expect(restriction.workers.map((worker) => worker.models)).toEqual([
      ["8B", "20B"],
      ["32B", "20B"],
      undefined,
      undefined,
    ]);
    expect(restriction.key).toBe("worker-0=8B,20B;worker-1=32B,20B;worker-2=*;worker-3=*");
  });

  it("restricts nothing while no executor holds a model of the workflow", () => {
    const restriction = restrictToResidency(workers, ["8B"], resident([["127.0.0.1:5000", ["32B"]]]));
    expect(restriction.key).toBe("");
    expect(restriction.workers).toBe(workers);
  });
});
