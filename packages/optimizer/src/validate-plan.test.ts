import { H100_SIMULATED_PROFILE } from "@halo/profiles";
import { beforeAll, describe, expect, it } from "vitest";
import { type ExecutionPlan, parseExecutionPlan } from "./execution-plan.js";
import { runStrategy } from "./run-strategy.js";
import { workloadShapeProblem } from "./test/index.js";
import { planProblems, validatePlan } from "./validate-plan.js";

const problem = workloadShapeProblem("W2", { queries: 300, workers: 3, seed: 4 });
let plan: ExecutionPlan;

beforeAll(async () => {
  plan = await runStrategy(problem, { strategy: "greedy" });
});

/** A deep copy of the valid plan to break. */
function copy(): ExecutionPlan {
  return structuredClone(plan);
}

describe("validatePlan", () => {
  it("accepts the plans strategies produce, and the JSON round trip", () => {
    expect(planProblems(plan, problem)).toEqual([]);
    const reparsed = parseExecutionPlan(JSON.parse(JSON.stringify(plan)), "plan.json");
    expect(planProblems(reparsed, problem)).toEqual([]);
  });

  it("rejects a plan that misses an LLM operator", () => {
    const broken = copy();
    const removed = broken.epochs[0]!.steps[0]!.operator;
    for (const epoch of broken.epochs) epoch.steps = epoch.steps.filter((step) => step.operator !== removed);
    broken.epochs = broken.epochs.filter((epoch) => epoch.steps.length > 0);
    expect(() => validatePlan(broken, problem)).toThrow(`LLM operator "${removed}" is missing from the plan`);
  });

  it("rejects a plan that repeats an LLM operator in two epochs", () => {
    const broken = copy();
    const step = broken.epochs[0]!.steps[0]!;
    const last = broken.epochs.at(-1)!;
    const freeWorker = broken.workers.find(
      (worker) => !last.steps.some((other) => other.worker === worker.id),
    );
    last.steps.push({ ...step, worker: freeWorker?.id ?? step.worker });
    expect(planProblems(broken, problem).join("\n")).toContain(`operator "${step.operator}" repeats`);
  });

  it("rejects a step placed no later than a parent's", () => {
    const broken = copy();
    const first = broken.epochs[0]!;
    const isLlm = (id: string) =>
      problem.operators.some((operator) => operator.id === id && operator.kind === "llm");
    const later = broken.epochs
      .slice(1)
      .find((epoch) =>
        epoch.steps.some((step) =>
          problem.operators.find((operator) => operator.id === step.operator)!.parents.some(isLlm),
        ),
      )!;
    // Move every step of a later epoch into the first one.
    first.steps.push(...later.steps);
    broken.epochs = broken.epochs.filter((epoch) => epoch !== later);
    expect(planProblems(broken, problem).join("\n")).toContain("breaks a dependency");
  });

  it("rejects an unknown worker and a worker used twice in one epoch", () => {
    const unknown = copy();
    unknown.epochs[0]!.steps[0]!.worker = "gpu-99";
    expect(planProblems(unknown, problem).join("\n")).toContain('unknown worker "gpu-99"');
    const twice = copy();
    const epoch = twice.epochs.find((candidate) => candidate.steps.length > 1) ?? twice.epochs[0]!;
    epoch.steps.push({ ...epoch.steps[0]!, operator: epoch.steps[0]!.operator });
    expect(planProblems(twice, problem).join("\n")).toContain("already runs a step in this epoch");
  });

  it("rejects a preload on a worker busy in the same epoch or an unknown one", () => {
    const broken = copy();
    const step = broken.epochs[0]!.steps[0]!;
    broken.epochs[0]!.preloads.push(
      { worker: step.worker, model: step.model, loadMs: 1, startMs: 0, endMs: 1 },
      { worker: "gpu-99", model: step.model, loadMs: 1, startMs: 0, endMs: 1 },
    );
    const problems = planProblems(broken, problem).join("\n");
    expect(problems).toContain("already runs a step in this epoch");
    expect(problems).toContain("preload of " + step.model + ' on gpu-99: unknown worker "gpu-99"');
  });

  it("rejects a step that overfills a worker's memory", () => {
    const broken = copy();
    const step = broken.epochs[0]!.steps[0]!;
    step.residentKvBytes = H100_SIMULATED_PROFILE.memoryBytes;
    expect(planProblems(broken, problem).join("\n")).toMatch(
      /overfills worker memory: weights .* > 80\.0 GiB/,
    );
  });

  it("rejects a wrong model, requests that do not add up, and missing tools", () => {
    const broken = copy();
    broken.epochs[0]!.steps[0]!.model = "other/model-7B";
    broken.epochs.at(-1)!.steps.at(-1)!.queries += 1;
    broken.cpuOperators.pop();
    const problems = planProblems(broken, problem).join("\n");
    expect(problems).toContain("differs from the operator's model");
    expect(problems).toMatch(/steps run \d+ requests, expected \d+/);
    expect(problems).toContain("is missing from cpuOperators");
  });

  it("parseExecutionPlan names the JSON path of a malformed plan", () => {
    const value = JSON.parse(JSON.stringify(plan));
    value.epochs[0].steps[0].kv = "teleport";
    value.planVersion = 2;
    expect(() => parseExecutionPlan(value, "plan.json")).toThrow(/plan\.json: epochs\[0\]\.steps\[0\]\.kv/);
  });
});
