import { H100_SIMULATED_PROFILE } from "@halo/profiles";
import { describe, expect, it } from "vitest";
import {
  disabledOptimizationNames,
  disabledOptimizations,
  type PlanningProblem,
  validateProblem,
} from "./planning-problem.js";
import { runStrategy } from "./run-strategy.js";
import { BUILTIN_STRATEGIES, getStrategy } from "./strategy-registry.js";
import { identicalWorkers, randomProblem } from "./test/index.js";
import { planProblems } from "./validate-plan.js";

const base = randomProblem({
  seed: 3,
  queries: 10,
  workers: 2,
  llmOperators: 3,
  modelCount: 1,
  toolOperators: 0,
});

describe("validateProblem", () => {
  it("accepts a good problem", () => {
    expect(() => validateProblem(base)).not.toThrow();
  });

  it("lists every problem: unknown parent, duplicate id, cycle, bad statistics, unknown pool", () => {
    const [first, second] = base.operators;
    const problem: PlanningProblem = {
      ...base,
      operators: [
        { ...first!, parents: ["nowhere", second!.id] },
        { ...second!, parents: [first!.id] },
        {
          id: "t",
          kind: "sql",
          parents: [],
          pool: "gpu",
          statistics: { instances: 0, distinctRequests: 1, latencyMeanMs: -1, latencyP95Ms: 0 },
        },
        {
          id: "t",
          kind: "http",
          parents: [],
          pool: "http",
          statistics: { instances: 1, distinctRequests: 1, latencyMeanMs: 1, latencyP95Ms: 1 },
        },
      ],
    };
    const message = (() => {
      try {
        validateProblem(problem);
        return "";
      } catch (error) {
        return (error as Error).message;
      }
    })();
    expect(message).toContain('unknown parent "nowhere"');
    expect(message).toContain('duplicate operator id "t"');
    expect(message).toContain("dependency cycle");
    expect(message).toContain('unknown pool "gpu"');
    expect(message).toContain("instances must be a positive integer");
    expect(message).toContain("latencyMeanMs must be ≥ 0");
  });

  it("accepts a boolean structuredOutput and names the operator of any other value", () => {
    const [first, ...rest] = base.operators;
    if (first?.kind !== "llm") throw new Error("the random problem starts with an LLM operator");
    const withFlag = (value: unknown): PlanningProblem => ({
      ...base,
      operators: [
        { ...first, statistics: { ...first.statistics, structuredOutput: value as boolean } },
        ...rest,
      ],
    });
    expect(() => validateProblem(withFlag(true))).not.toThrow();
    expect(() => validateProblem(withFlag("yes"))).toThrow(
      `operator "${first.id}": structuredOutput must be a boolean, got yes`,
    );
  });

  it("names the operator and model when no worker lists the model or none can hold it", () => {
    const [first] = base.operators;
    const unknownModel = { ...base, operators: [{ ...first!, model: "acme/mystery" }] };
    expect(() => validateProblem(unknownModel)).toThrow(
      `operator "${first!.id}": no worker profile lists model "acme/mystery"`,
    );
    const small = { ...H100_SIMULATED_PROFILE, memoryBytes: 8 * 1024 ** 3 };
    const tooBig = { ...base, workers: identicalWorkers(2, small) };
    expect(() => validateProblem(tooBig)).toThrow(
      /needs 27\.6 GiB for its weights, more than any worker's memory \(largest 8\.0 GiB\)/,
    );
  });

  it("rejects a problem without workers", async () => {
    await expect(runStrategy({ ...base, workers: [] })).rejects.toThrow("no workers");
  });
});

describe("a worker's models restriction", () => {
  const problem = randomProblem({
    seed: 4,
    queries: 40,
    workers: 3,
    llmOperators: 6,
    modelCount: 3,
    toolOperators: 1,
  });
  const models = [
    ...new Set(problem.operators.flatMap((operator) => (operator.kind === "llm" ? [operator.model] : []))),
  ].sort();
  // Worker i may serve models[i] only (the models an executor holds now, as a server would pass them).
  const restricted: PlanningProblem = {
    ...problem,
    workers: problem.workers.map((worker, index) => ({
      ...worker,
      models: [models[index % models.length]!],
    })),
  };

  it("keeps every strategy's steps of a model on the workers allowed to serve it", async () => {
    expect(models.length).toBe(3);
    for (const { name } of BUILTIN_STRATEGIES) {
      const plan = await runStrategy(restricted, {
        strategy: name,
        timeLimitMs: 3_000,
        maxExpandedStates: 3_000,
      });
      const allowed = new Map(restricted.workers.map((worker) => [worker.id, worker.models!]));
      for (const epoch of plan.epochs) {
        for (const step of epoch.steps)
          expect(allowed.get(step.worker), `${name}: ${step.operator}`).toContain(step.model);
        for (const preload of epoch.preloads)
          expect(allowed.get(preload.worker), name).toContain(preload.model);
      }
      expect(planProblems(plan, restricted), name).toEqual([]);
    }
  });

  it("rejects a model that every worker's restriction leaves out, naming it", () => {
    const none = {
      ...problem,
      workers: problem.workers.map((worker) => ({ ...worker, models: [models[0]!] })),
    };
    expect(() => validateProblem(none)).toThrow(/every worker's `models` leaves it out/);
  });
});

describe("disabled optimizations and the registry", () => {
  it("maps names both ways and rejects unknown ones", () => {
    const disabled = disabledOptimizations(["coalescing", "prefix-sharing"]);
    expect(disabledOptimizationNames(disabled)).toEqual(["prefix-sharing", "coalescing"]);
    expect(() => disabledOptimizations(["speed"])).toThrow('unknown optimization "speed"');
  });

  it("names an unknown strategy and the known ones", () => {
    expect(() => getStrategy("magic")).toThrow(
      /unknown strategy "magic" \(known: dp, milp, greedy, rr-topo, opwise, minswitch, naive\)/,
    );
  });
});
