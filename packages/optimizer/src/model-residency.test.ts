import type { DeviceProfile } from "@halo/profiles";
import { describe, expect, it } from "vitest";
import type { PlanningProblem } from "./planning-problem.js";
import { NO_DISABLED_OPTIMIZATIONS } from "./planning-problem.js";
import { indexProblem } from "./problem-index.js";
import { runStrategy } from "./run-strategy.js";
import { initialState, keptLoaded, loadedState, residencyAfter } from "./search-state.js";
import { exhaustiveOptimumMs, identicalWorkers, tinyProblems } from "./test/index.js";
import { validatePlan } from "./validate-plan.js";

/** A budget the exact search finishes within on tiny instances. */
const EXACT = { maxGeneratedStates: 500_000, maxExpandedStates: 100_000 };

/** The problem with executors that keep up to `maxLoadedModels` models loaded. */
function keeping(problem: PlanningProblem, maxLoadedModels: number): PlanningProblem {
  return {
    ...problem,
    workers: problem.workers.map((worker) => ({
      ...worker,
      profile: {
        ...worker.profile,
        capabilities: { kvTransfer: true, prefixPinning: true, modelLoading: true, maxLoadedModels },
      } satisfies DeviceProfile,
    })),
  };
}

const llm = (id: string, model: string, parents: string[], instances = 1000, outputTokens = 60) => ({
  id,
  kind: "llm" as const,
  model,
  parents,
  statistics: {
    instances,
    distinctRequests: instances,
    sharedPrefixTokens: 200,
    prefixKey: id,
    uniquePromptTokens: 150,
    outputTokens,
  },
});

/** W5's shape: two light models with little work, one heavy model with most of it, four workers. */
function trident(): PlanningProblem {
  return {
    workflow: "trident",
    queryCount: 1000,
    operators: [
      llm("pricing", "Qwen/Qwen3-14B", []),
      llm("shipping", "openai/gpt-oss-20b", []),
      llm("supplier", "Qwen/Qwen3-32B", [], 1000, 200),
      llm("hub", "Qwen/Qwen3-32B", ["pricing", "shipping", "supplier"], 1000, 200),
      llm("market", "Qwen/Qwen3-14B", ["hub"]),
      llm("risk", "openai/gpt-oss-20b", ["hub"]),
      llm("final", "Qwen/Qwen3-32B", ["market", "risk"], 1000, 150),
    ],
    workers: identicalWorkers(4),
    pools: [],
  };
}

describe("executors that keep several models loaded", () => {
  it("keep the most recently used models within the count and the memory, unloading the oldest first", () => {
    const index = indexProblem(keeping(trident(), 2));
    const empty = initialState(index).workers[0]!;
    const light = loadedState(index, 0, empty, "Qwen/Qwen3-14B");
    expect(light.resident).toEqual([]);
    const both = loadedState(index, 0, light, "openai/gpt-oss-20b");
    expect(both.resident).toEqual(["Qwen/Qwen3-14B"]);
    expect(both.residentWeightsBytes).toBe(index.workerModels[0]!.get("Qwen/Qwen3-14B")!.weightsBytes);
    // Back to the 14B model: gpt-oss stays, as the most recently used of the others.
    expect(residencyAfter(index, 0, both, "Qwen/Qwen3-14B").resident).toEqual(["openai/gpt-oss-20b"]);
    // The 32B model fits beside gpt-oss on an 80 GiB device, not beside both: the older 14B goes.
    expect(loadedState(index, 0, both, "Qwen/Qwen3-32B").resident).toEqual(["openai/gpt-oss-20b"]);
    // One model per executor (the default): nothing stays.
    const single = indexProblem(trident());
    expect(keptLoaded(single, 0, ["Qwen/Qwen3-14B"], "openai/gpt-oss-20b")).toEqual([]);
    // A count limit of 2 unloads the oldest of three that would fit.
    expect(keptLoaded(index, 0, ["a", "b"], "c")).toEqual(["b"]);
  });

  it("dp equals the exhaustive optimum; switching back without a load beats one model per executor", async () => {
    let better = 0;
    for (const problem of tinyProblems(18, 500)) {
      const several = keeping(problem, 3);
      const optimum = exhaustiveOptimumMs(indexProblem(several), NO_DISABLED_OPTIMIZATIONS);
      const plan = await runStrategy(several, { strategy: "dp", ...EXACT });
      expect(plan.search?.proven, problem.workflow).toBe(true);
      expect(plan.estimatedMakespanMs, problem.workflow).toBeCloseTo(optimum, 3);
      const one = await runStrategy(problem, { strategy: "dp", ...EXACT });
      if (plan.estimatedMakespanMs < one.estimatedMakespanMs - 1) better += 1;
    }
    // Instances with more models than workers gain: a switch back costs no load. (It can also lose a
    // little: the executor unloads only what does not fit, so a kept model narrows the KV of the next.)
    expect(better).toBeGreaterThan(0);
  });

  it("let a worker go back to a light model without a load, so the heavy model keeps more workers", async () => {
    const one = await runStrategy(trident(), { strategy: "dp" });
    const plan = await runStrategy(keeping(trident(), 2), { strategy: "dp" });
    expect(() => validatePlan(plan, keeping(trident(), 2))).not.toThrow();
    // Some worker goes back to a model it ran before without loading it again.
    const previousModel = new Map<string, string>();
    const seen = new Map<string, Set<string>>();
    let switchedBackFree = 0;
    for (const step of plan.epochs
      .flatMap((epoch) => epoch.steps)
      .sort((a, b) => a.estimate.startMs - b.estimate.startMs)) {
      const models = seen.get(step.worker) ?? new Set<string>();
      if (previousModel.get(step.worker) !== step.model && models.has(step.model)) {
        expect(step.estimate.loadMs).toBe(0);
        switchedBackFree += 1;
      }
      models.add(step.model);
      seen.set(step.worker, models);
      previousModel.set(step.worker, step.model);
    }
    expect(switchedBackFree).toBeGreaterThan(0);
    expect(plan.estimatedMakespanMs).toBeLessThan(one.estimatedMakespanMs);
  });

  it("the MILP keeps to the combinatorial bound there, and says why", async () => {
    const problem = keeping(tinyProblems(3, 500)[1]!, 2);
    const plan = await runStrategy(problem, { strategy: "milp", timeLimitMs: 2_000 });
    expect(plan.warnings.join("\n")).toContain("keep several models loaded");
    expect(plan.lowerBoundMs).toBeLessThanOrEqual(plan.estimatedMakespanMs + 1e-6);
  });

  it("naive deploys two light models on one executor when that lightens the busiest", async () => {
    const hostsOf = async (problem: PlanningProblem) => {
      const plan = await runStrategy(problem, { strategy: "naive" });
      const hosts = new Map<string, Set<string>>();
      for (const step of plan.epochs.flatMap((epoch) => epoch.steps))
        hosts.set(step.model, (hosts.get(step.model) ?? new Set()).add(step.worker));
      return hosts;
    };
    const one = await hostsOf(trident());
    expect(one.get("Qwen/Qwen3-32B")!.size).toBe(2);
    const two = await hostsOf(keeping(trident(), 2));
    expect(two.get("Qwen/Qwen3-32B")!.size).toBe(3);
    expect(two.get("Qwen/Qwen3-14B")).toEqual(two.get("openai/gpt-oss-20b"));
    expect(two.get("Qwen/Qwen3-14B")!.size).toBe(1);
    // Two workers for three models: the heavy one alone, the light ones together (they fit).
    const pair = await hostsOf(keeping({ ...trident(), workers: identicalWorkers(2) }, 2));
    expect(pair.get("Qwen/Qwen3-14B")).toEqual(pair.get("openai/gpt-oss-20b"));
    expect([...pair.get("Qwen/Qwen3-32B")!]).not.toEqual([...pair.get("Qwen/Qwen3-14B")!]);
  });
});
