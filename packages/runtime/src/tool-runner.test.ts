import type {
  JsonValue,
  OperatorRequest,
  SqlToolOutcome,
  SqlToolRequest,
  SqlToolV1,
  ToolOperator,
} from "@halo/ir";
import { inputScope, operatorInputs, operatorScope, renderOperatorRequest } from "@halo/ir/internal";
import { createSqlTool } from "@halo/tool-sql";
import { afterAll, describe, expect, it } from "vitest";
import { DEFAULT_RETRY_POLICY } from "./retry-policy.js";
import { compileWorkflow, DIAMOND_YAML } from "./test-fixtures.js";
import { ToolRunner, type ToolRunnerOptions, toolPriorities } from "./tool-runner.js";

const sql = createSqlTool(":memory:");
afterAll(async () => {
  await sql.close();
});

function runner(
  options: Partial<Pick<ToolRunnerOptions, "tools" | "sqlBatching" | "isTransient" | "concurrency">> = {},
): ToolRunner {
  return new ToolRunner({
    tools: { sql },
    concurrency: { sql: 2, http: 2 },
    retry: { ...DEFAULT_RETRY_POLICY, initialBackoffMs: 1 },
    isTransient: () => false,
    coalescing: true,
    ...options,
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

describe("ToolRunner with SQL batching", () => {
  const workflow = compileWorkflow(DIAMOND_YAML);
  const figures = workflow.operators.find(
    (operator) => operator.kind === "sql" && operator.id.startsWith("pricing"),
  ) as ToolOperator;
  const request = (year: JsonValue): Extract<OperatorRequest, { kind: "sql" }> => ({
    kind: "sql",
    sql: "SELECT :year * 2 AS doubled, upper(:region) AS region",
    parameters: { year, region: "europe" },
    parameterTypes: { year: "int", region: "text" },
  });
  /** The test's SQL tool, counting what reaches it; `outcome` may replace a batch's outcome. */
  function countingTool(outcome?: (request: SqlToolRequest, attempt: number) => SqlToolOutcome | undefined) {
    const counts = { queries: 0, batches: 0, batchSizes: [] as number[] };
    const attempts = new Map<string, number>();
    const tool: SqlToolV1 = {
      specificationVersion: "v1",
      dialect: "duckdb",
      doCheck: () => sql.doCheck(),
      async doQuery(each, options) {
        counts.queries += 1;
        return sql.doQuery(each, options);
      },
      async doQueryBatch(requests, options) {
        counts.batches += 1;
        counts.batchSizes.push(requests.length);
        const real = await sql.doQueryBatch!(requests, options);
        return real.map((each, index) => {
          const key = JSON.stringify(requests[index]!.parameters);
          const attempt = (attempts.get(key) ?? 0) + 1;
          attempts.set(key, attempt);
          return outcome?.(requests[index]!, attempt) ?? each;
        });
      },
      close: async () => {},
    };
    return { tool, counts };
  }

  it("runs the calls that wait for a slot as one batch, each with its own rows", async () => {
    const { tool, counts } = countingTool();
    const tools = runner({ tools: { sql: tool }, sqlBatching: true, concurrency: { sql: 1, http: 1 } });
    const years = Array.from({ length: 40 }, (_, index) => 1990 + index);
    const outcomes = await Promise.all(
      years.map((year) => tools.run(figures, request(year), `k${year}`, true, "seed")),
    );
    expect(outcomes.map((outcome) => outcome.outputs)).toEqual(
      years.map((year) => ({ figures: [{ doubled: year * 2, region: "EUROPE" }] })),
    );
    // The first call may start alone; the others piled up behind it and ran together.
    expect(counts.batches).toBeLessThanOrEqual(2);
    expect(Math.max(...counts.batchSizes)).toBeGreaterThanOrEqual(39);
    expect(tools.figures.sqlBatches).toBeGreaterThanOrEqual(1);
    expect(tools.figures.calls).toBe(40);
  });

  it("fails only the call with a bad value, and retries a call that failed transiently alone", async () => {
    const transient = Object.assign(new Error("connection lost"), { transient: true });
    const { tool, counts } = countingTool((each, attempt) =>
      each.parameters["year"] === 2001 && attempt === 1 ? { ok: false, error: transient } : undefined,
    );
    const tools = runner({
      tools: { sql: tool },
      sqlBatching: true,
      concurrency: { sql: 1, http: 1 },
      isTransient: (error) => (error as { transient?: boolean }).transient === true,
    });
    const settled = await Promise.allSettled(
      [2000, 2001, "MMII", 2003].map((year) => tools.run(figures, request(year), `k${year}`, true, "seed")),
    );
    expect(settled.map((each) => each.status)).toEqual(["fulfilled", "fulfilled", "rejected", "fulfilled"]);
    expect((settled[2] as PromiseRejectedResult).reason).toMatchObject({ code: "invalid-parameter" });
    expect((settled[1] as PromiseFulfilledResult<{ outputs: unknown }>).value.outputs).toEqual({
      figures: [{ doubled: 4002, region: "EUROPE" }],
    });
    // The transient failure ran again alone, through doQuery.
    expect(tools.figures.retries).toBeGreaterThanOrEqual(1);
    expect(counts.queries).toBeGreaterThanOrEqual(1);
  });

  it("calls doQuery alone when batching is off", async () => {
    const { tool, counts } = countingTool();
    const tools = runner({ tools: { sql: tool }, sqlBatching: false, concurrency: { sql: 1, http: 1 } });
    await Promise.all([1, 2, 3].map((year) => tools.run(figures, request(year), `k${year}`, true, "seed")));
    expect(counts).toMatchObject({ batches: 0, queries: 3 });
    expect(tools.figures.sqlBatches).toBe(0);
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
