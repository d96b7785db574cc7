/**
 * Evidence behind the estimator pricing no inherited-context KV (issue 14):
 * a child can extend its parent's KV only when its prompt starts with the
 * parent's prompt — the same model and the same system prompt (the static
 * prefix, which opens every prompt). In W1–W6 no LLM parent→child pair
 * shares both, so no child prompt begins with its parent's, on any worker.
 * A workload that adds such a pair fails this test: then the runtime
 * (executors keeping finished sequences' KV) and the estimator must be revisited.
 */
import type { CompiledWorkflow, LlmOperator } from "@halo/ir";
import { describe, expect, it } from "vitest";
import { loadWorkload } from "./load-workload.js";
import { WORKLOADS } from "./workload-registry.js";

interface LlmEdge {
  readonly parent: LlmOperator;
  readonly child: LlmOperator;
}

function llmEdges(workflow: CompiledWorkflow): LlmEdge[] {
  const byId = new Map(workflow.operators.map((operator) => [operator.id, operator]));
  const edges: LlmEdge[] = [];
  for (const child of workflow.operators) {
    if (child.kind !== "llm") continue;
    for (const parentId of child.parents) {
      const parent = byId.get(parentId);
      if (parent?.kind === "llm") edges.push({ parent, child });
    }
  }
  return edges;
}

describe("inherited context in W1–W6", () => {
  it("no LLM parent→child pair shares model and system prompt: no child's KV can extend its parent's", async () => {
    let sameModel = 0;
    for (const workload of WORKLOADS) {
      const workflow = await loadWorkload(workload);
      const edges = llmEdges(workflow);
      expect(edges.length, workload.id).toBeGreaterThan(0);
      for (const { parent, child } of edges) {
        if (parent.model !== child.model) continue;
        sameModel += 1;
        expect(
          child.prompt.staticPrefix,
          `${workload.id}: ${parent.id} → ${child.id} share ${child.model} and their system prompt`,
        ).not.toBe(parent.prompt.staticPrefix);
        // Not even a common start beyond the chat template's opening: the prompts diverge in the system prompt.
        expect(child.prompt.staticPrefix.startsWith(parent.prompt.staticPrefix)).toBe(false);
      }
    }
    // Same-model pairs exist (W1–W6 have a dozen): a different system prompt is what rules reuse out.
    expect(sameModel).toBeGreaterThan(0);
  });
});
