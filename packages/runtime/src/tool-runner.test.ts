import type { OperatorRequest, ToolOperator } from "@halo/ir";
import { inputScope, operatorInputs, operatorScope, renderOperatorRequest } from "@halo/ir/internal";
import { createSqlTool } from "@halo/tool-sql";
import { afterAll, describe, expect, it } from "vitest";
import { DEFAULT_RETRY_POLICY } from "./retry-policy.js";
import { compileWorkflow, DIAMOND_YAML } from "./test-fixtures.js";
import { ToolRunner } from "./tool-runner.js";

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
