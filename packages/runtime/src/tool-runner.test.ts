import type { OperatorRequest, ToolOperator } from "@halo/ir";
import { inputScope, operatorInputs, operatorScope, renderOperatorRequest } from "@halo/ir/internal";
import { createSqlTool } from "@halo/tool-sql";
import { afterAll, describe, expect, it } from "vitest";
import { DEFAULT_RETRY_POLICY } from "./retry-policy.js";
import { compileWorkflow, DIAMOND_YAML } from "./test-fixtures.js";
import { ToolRunner, toolPriorities } from "./tool-runner.js";

const sql = createSqlTool(":memory:");
afterAll(async () => {
  await sql.close();
});

function runner(): ToolRunner {
  return new ToolRunner({
    tools: { sql },
    concurrency: { sql: 2, http: 2 },
    retry: DEFAULT_RETRY_POLICY,
    isTransient: () => false,
    coalescing: true,
    signal: new AbortController().signal,
    nowMs: () => performance.now(),
    publish: () => {},
  });
}

describe("ToolRunner", () => {
  it("hands a processor's outputs to its children as they are, so templates reach the extracted fields", async () => {
    const workflow = compileWorkflow(DIAMOND_YAML);
    const tools = runner();
    const scopes = new Map([
      [workflow.inputOperator, inputScope(workflow, { user_query: "region=europe year=1996" })],
    ]);
    const extractor = workflow.operators.find((operator) => operator.id === "params") as ToolOperator;
    const extractorInputs = operatorInputs(workflow, extractor.id, scopes);
    const extracted = await tools.run(
      extractor,
      renderOperatorRequest(extractor, extractorInputs),
      "params",
      true,
      "seed",
    );
    // One declared output `p`: the extractor's fields, not `{p: {p: …}}`.
    expect(extracted.outputs).toEqual({ p: { year: 1996, region: "EUROPE" } });

    scopes.set(extractor.id, operatorScope(extractorInputs, extracted.outputs));
    const figures = workflow.operators.find(
      (operator) => operator.kind === "sql" && operator.id.startsWith("pricing"),
    ) as ToolOperator;
    const request = renderOperatorRequest(figures, operatorInputs(workflow, figures.id, scopes));
    expect((request as Extract<OperatorRequest, { kind: "sql" }>).parameters).toEqual({
      year: 1996,
      region: "EUROPE",
    });
    const rows = await tools.run(figures, request, "figures", true, "seed");
    expect(rows.outputs).toEqual({ figures: [{ doubled: 3992, region: "EUROPE" }] });
  });
});

describe("toolPriorities", () => {
  it("gives each tool the plan priority of the earliest LLM step it feeds, through other tools", () => {
    const workflow = compileWorkflow(DIAMOND_YAML);
    // params feeds report (→ join), pricing and market; report feeds only join.
    const llm: Record<string, number> = { market: 0, pricing: 1, join: 2 };
    const priorities = toolPriorities(workflow, (operator) => llm[operator] ?? Number.POSITIVE_INFINITY);
    expect(priorities.get("params")).toBe(0);
    expect(priorities.get("report")).toBe(2);
    // The compiler makes `pricing`'s db_queries a SQL operator feeding it.
    expect(priorities.get("pricing__sql__figures")).toBe(1);
    expect([...priorities.keys()].sort()).toEqual(["params", "pricing__sql__figures", "report"]);
    const reordered = toolPriorities(
      workflow,
      (operator) => ({ join: 0, pricing: 3, market: 4 })[operator] ?? 9,
    );
    expect(reordered.get("params")).toBe(0);
    expect(reordered.get("report")).toBe(0);
  });

  it("puts tools that feed no LLM operator last", () => {
    const workflow = compileWorkflow(`
graph:
  name: tail
  nodes:
    - { id: question, type: input, outputs: [q] }
    - id: answer
      type: inference
      model: Qwen/Qwen3-14B
      max_tokens: 8
      system_prompt: Answer.
      inputs: [q]
      outputs: [a]
    - id: post
      type: http
      url: http://sink.example.invalid/post
      params: { a: "{{ a }}" }
      sleep_ms: 1
      inputs: [a]
      outputs: [ack]
  edges:
    - { from: question, to: answer }
    - { from: answer, to: post }
`);
    expect(toolPriorities(workflow, () => 0).get("post")).toBe(Number.POSITIVE_INFINITY);
  });
});
