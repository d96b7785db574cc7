import { loadWorkflowText } from "@halo/ir";
import { planBatch } from "@halo/optimizer";
import { H100_SIMULATED_PROFILE } from "@halo/profiles";
import { describe, expect, it } from "vitest";
import { holdsAllModels, replicateModels } from "./static-deployment.js";

const WORKFLOW = `
graph:
  name: three-models
  nodes:
    - { id: question, type: input, outputs: [text] }
    - { id: a, type: inference, model: Qwen/Qwen3-14B, max_tokens: 8, system_prompt: A., inputs: [text], outputs: [a] }
    - { id: b, type: inference, model: openai/gpt-oss-20b, max_tokens: 8, system_prompt: B., inputs: [a], outputs: [b] }
    - { id: c, type: inference, model: Qwen/Qwen3-32B, max_tokens: 8, system_prompt: C., inputs: [b], outputs: [c] }
  edges:
    - { from: question, to: a }
    - { from: a, to: b }
    - { from: b, to: c }
`;

describe("naive's static deployment", () => {
  it("replicates every model on every worker, keeping the operator order", async () => {
    const compiled = loadWorkflowText(WORKFLOW, { file: "three-models.yaml" });
    if (!compiled.ok) throw new Error("the test workflow does not compile");
    const queries = Array.from({ length: 10 }, (_, index) => ({
      id: `q${index}`,
      context: { text: `t${index}` },
    }));
    const workers = [0, 1].map((index) => ({ id: `worker-${index}`, profile: H100_SIMULATED_PROFILE }));
    const { plan } = await planBatch({ workflow: compiled.workflow, queries, workers, strategy: "naive" });
    // Two workers, three models: the naive strategy puts two models on one worker.
    const placed = new Set(
      plan.epochs.flatMap((epoch) => epoch.steps.map((step) => `${step.operator}@${step.worker}`)),
    );
    expect(placed.size).toBe(3);
    const replicated = replicateModels(plan);
    const steps = replicated.epochs.flatMap((epoch) => epoch.steps);
    expect(steps.map((step) => `${step.operator}@${step.worker}`)).toEqual([
      "a@worker-0",
      "a@worker-1",
      "b@worker-0",
      "b@worker-1",
      "c@worker-0",
      "c@worker-1",
    ]);
    for (const operator of ["a", "b", "c"]) {
      const shares = steps.filter((step) => step.operator === operator).map((step) => step.queries);
      expect(shares.reduce((total, share) => total + share, 0)).toBe(10);
    }
    expect(steps.every((step) => step.migrateFrom === undefined)).toBe(true);
  });

  it("replicates only when every model fits an executor's memory at once", () => {
    const models = [
      { name: "small", memoryBytes: 2e9 },
      { name: "large", memoryBytes: 6e9 },
    ];
    expect(holdsAllModels({ memoryBudgetBytes: 8e9, models }, ["small", "large"])).toBe(true);
    expect(holdsAllModels({ memoryBudgetBytes: 7e9, models }, ["small", "large"])).toBe(false);
    expect(holdsAllModels({ memoryBudgetBytes: 8e9, models }, ["small", "missing"])).toBe(false);
  });
});
