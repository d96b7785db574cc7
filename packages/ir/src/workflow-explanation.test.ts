import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { consolidateBatch } from "./batch-consolidation.js";
import {
  explainWorkflow,
  renderExplanationJson,
  renderExplanationMermaid,
  renderExplanationText,
  summaryLine,
} from "./workflow-explanation.js";
import { loadWorkflowFile } from "./workflow-loader.js";

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));

describe("the workflow explanation", () => {
  it("describes operators, models, levels and edges, and renders text, Mermaid and JSON", async () => {
    const loaded = await loadWorkflowFile(fixture("graph-all-features.yaml"));
    expect(loaded.ok).toBe(true);
    if (!loaded.ok) return;
    const workflow = loaded.workflow;
    const fields = Object.fromEntries(workflow.inputFields.map((field) => [field, "region=asia year=1994"]));
    const queries = [
      { id: "q1", context: fields },
      { id: "q2", context: fields },
    ];
    const explanation = explainWorkflow(workflow, {
      warnings: loaded.warnings,
      batch: { queryFile: "queries.jsonl", consolidated: consolidateBatch(workflow, queries) },
    });
    expect(explanation.summary).toBe(summaryLine(workflow));
    expect(explanation.operators.map((operator) => operator.id)).toEqual(
      workflow.operators.map((operator) => operator.id),
    );
    expect(explanation.batch?.queryCount).toBe(2);
    const llm = explanation.operators.find((operator) => operator.kind === "llm");
    expect(llm?.model).toBeDefined();
    expect(llm?.staticPrefixTokens).toBeGreaterThanOrEqual(0);
    const text = renderExplanationText(explanation);
    for (const operator of workflow.operators) expect(text).toContain(operator.id);
    expect(renderExplanationMermaid(explanation)).toMatch(/^(flowchart|graph) /m);
    expect(JSON.parse(renderExplanationJson(explanation))).toMatchObject({
      workflow: { name: workflow.name },
    });
  }, 300_000);
});
