import { describe, expect, it } from "vitest";
import { fixturePath } from "./test-fixtures.js";
import { ancestorsOf, descendantsOf, findOperator, incomingEdges, toGraph } from "./workflow-graph.js";
import { loadWorkflowFile } from "./workflow-loader.js";

describe("workflow graph helpers", () => {
  it("builds a graphology graph and walks ancestors and descendants", async () => {
    const result = await loadWorkflowFile(fixturePath("graph-all-features.yaml"));
    if (!result.ok) throw new Error("fixture must compile");
    const workflow = result.workflow;
    const graph = toGraph(workflow);
    expect(graph.order).toBe(workflow.operators.length);
    expect(graph.size).toBe(new Set(workflow.edges.map((edge) => `${edge.from}>${edge.to}`)).size);
    expect(graph.getNodeAttribute("analyst", "operator").kind).toBe("llm");
    expect(graph.getEdgeAttribute("params", "analyst", "edges")).toHaveLength(1);
    expect(ancestorsOf(workflow, "analyst")).toEqual([
      "question",
      "analyst__sql__nations",
      "params",
      "analyst__processor__reparsed",
      "weather",
      "analyst__http__rates",
      "analyst__sql__orders",
    ]);
    expect(descendantsOf(workflow, "balance")).toEqual(["writer"]);
    expect(descendantsOf(workflow, "writer")).toEqual([]);
    expect(incomingEdges(workflow, "question")).toEqual([]);
    expect(incomingEdges(workflow, "writer").map((edge) => edge.from)).toEqual([
      "analyst",
      "news",
      "balance",
      "audit",
    ]);
    expect(findOperator(workflow, "ghost")).toBeUndefined();
    expect(() => ancestorsOf(workflow, "ghost")).toThrow('has no operator "ghost"');
  });
});
