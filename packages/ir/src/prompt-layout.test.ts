import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { explainPromptLayout, orderInputs, sharingClasses, withPromptLayout } from "./prompt-layout.js";
import type { CompiledWorkflow, LlmOperator } from "./types.js";
import { getOperator } from "./workflow-graph.js";
import { loadWorkflowFile, loadWorkflowText } from "./workflow-loader.js";

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));

function compile(text: string): CompiledWorkflow {
  const loaded = loadWorkflowText(text);
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
  return loaded.workflow;
}

const llm = (workflow: CompiledWorkflow, id: string) => getOperator(workflow, id) as LlmOperator;

/** A question, a processor deriving a year from it, an LLM with a lookup on that year. */
function flow(extra: { graph?: string; node?: string; prompt?: string } = {}): string {
  return `
graph:
  name: layout
${extra.graph ?? ""}
  nodes:
    - { id: question, type: input, outputs: [user_query] }
    - id: params
      type: processor
      processor: regex_param_extractor
      inputs: [user_query]
      outputs: [year]
      patterns: { year: ['(\\d{4})'] }
    - id: draft
      type: inference
      model: m
      inputs: [user_query]
      outputs: [draft]
    - id: answer
      type: inference
      model: m
${extra.node ?? ""}
${extra.prompt ?? ""}
      inputs: [user_query, draft, year]
      outputs: [answer]
      db_queries:
        - { name: totals, sql: "SELECT :y AS y", parameters: { y: "{{ year }}" } }
        - { name: regions, sql: "SELECT 1 AS r" }
  edges:
    - { from: question, to: params }
    - { from: question, to: draft }
    - { from: params, to: answer }
    - { from: draft, to: answer }
`;
}

describe("prompt layout", () => {
  it("classes each input by who provides it", () => {
    const workflow = compile(flow());
    expect(Object.fromEntries(sharingClasses(workflow, "answer"))).toEqual({
      user_query: "query",
      draft: "generated",
      year: "derived",
      totals: "tool-result",
      regions: "constant",
    });
  });

  it("shared-first (the graph default) appends shared inputs before per-query ones", () => {
    const answer = llm(compile(flow()), "answer");
    expect(answer.promptLayout).toBe("shared-first");
    expect(answer.prompt.suffix.text).toBe(
      "regions: {{ regions }}\ntotals: {{ totals }}\nyear: {{ year }}\ndraft: {{ draft }}\nuser_query: {{ user_query }}\n\n### Assistant\n",
    );
    // The inputs themselves keep their declared order; only the prompt's lines move.
    expect(answer.inputs).toEqual(["user_query", "draft", "year", "totals", "regions"]);
  });

  it("declared keeps declared inputs, then tool results — per node or for the whole graph", () => {
    const declared =
      "user_query: {{ user_query }}\ndraft: {{ draft }}\nyear: {{ year }}\ntotals: {{ totals }}\nregions: {{ regions }}\n\n### Assistant\n";
    const perNode = llm(compile(flow({ node: "      prompt_layout: declared" })), "answer");
    expect(perNode.promptLayout).toBe("declared");
    expect(perNode.prompt.suffix.text).toBe(declared);
    const perGraph = compile(flow({ graph: "  prompt_layout: declared" }));
    expect(llm(perGraph, "answer").prompt.suffix.text).toBe(declared);
    // A node's own layout wins over the graph's.
    const mixed = compile(
      flow({ graph: "  prompt_layout: declared", node: "      prompt_layout: shared-first" }),
    );
    expect(llm(mixed, "answer").prompt.suffix.text.startsWith("regions: ")).toBe(true);
  });

  it("never moves what the template places, nor the static prefix", () => {
    const workflow = compile(
      flow({ prompt: '      prompt: "Question: {{ user_query }}. Year {{ year }}."' }),
    );
    const answer = llm(workflow, "answer");
    expect(answer.prompt.staticPrefix.endsWith("### User\nQuestion: ")).toBe(true);
    expect(answer.prompt.suffix.text).toBe(
      "{{ user_query }}. Year {{ year }}.\n\nregions: {{ regions }}\ntotals: {{ totals }}\ndraft: {{ draft }}\n\n### Assistant\n",
    );
    const explanation = explainPromptLayout(workflow, "answer");
    expect(explanation.fixed).toEqual(["user_query", "year"]);
    expect(explanation.appended).toEqual([
      { name: "regions", sharing: "constant" },
      { name: "totals", sharing: "tool-result" },
      { name: "draft", sharing: "generated" },
    ]);
    expect(explanation.reordered).toBe(true);
  });

  it("an override re-lays every operator out, keeping static prefixes; same layout → same workflow", () => {
    const workflow = compile(flow());
    const declared = withPromptLayout(workflow, "declared");
    for (const operator of workflow.operators) {
      if (operator.kind !== "llm") continue;
      const other = llm(declared, operator.id);
      expect(other.promptLayout).toBe("declared");
      expect(other.prompt.staticPrefix).toBe(operator.prompt.staticPrefix);
    }
    expect(llm(declared, "answer").prompt.suffix.text.startsWith("user_query: ")).toBe(true);
    expect(explainPromptLayout(declared, "answer").reordered).toBe(false);
    expect(withPromptLayout(workflow, "shared-first")).toBe(workflow);
    expect(Object.isFrozen(llm(declared, "answer").prompt)).toBe(true);
  });

  it("the ops dialect defaults to declared", async () => {
    const loaded = await loadWorkflowFile(fixture("ops-chain.yaml"));
    if (!loaded.ok) throw new Error("ops-chain.yaml does not compile");
    for (const operator of loaded.workflow.operators)
      if (operator.kind === "llm") expect(operator.promptLayout).toBe("declared");
  });

  it("orders stably by class; unknown names count as per-query", () => {
    const classes = new Map([
      ["a", "query" as const],
      ["b", "tool-result" as const],
      ["c", "tool-result" as const],
    ]);
    expect(orderInputs(["a", "x", "c", "b"], classes, "shared-first")).toEqual(["c", "b", "a", "x"]);
    expect(orderInputs(["a", "x", "c", "b"], classes, "declared")).toEqual(["a", "x", "c", "b"]);
  });

  it("rejects an unknown layout with its path", () => {
    const loaded = loadWorkflowText(flow({ node: "      prompt_layout: sideways" }));
    expect(loaded.ok).toBe(false);
    if (loaded.ok) return;
    expect(loaded.problems.some((problem) => problem.source.path.includes("prompt_layout"))).toBe(true);
  });
});

describe("halo explain's prompt layout", () => {
  it("lists each LLM operator's layout and line order", async () => {
    const { explainWorkflow, renderExplanationText } = await import("./workflow-explanation.js");
    const workflow = compile(flow());
    const text = renderExplanationText(explainWorkflow(workflow, { warnings: [] }));
    expect(text).toContain(
      "  answer: shared-first: regions (constant), totals (tool-result), year (derived), draft (generated), user_query (query)",
    );
    expect(text).toContain("  draft: shared-first (same as declared): user_query (query)");
    const declared = renderExplanationText(
      explainWorkflow(withPromptLayout(workflow, "declared"), { warnings: [] }),
    );
    expect(declared).toContain("  answer: declared: user_query (query), draft (generated), year (derived)");
  });
});
