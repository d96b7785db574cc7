import { describe, expect, it } from "vitest";
import { sha256OfJson } from "./canonical-json.js";
import {
  inputScope,
  isCoalescable,
  operatorInputs,
  operatorScope,
  prefixKeyOf,
  renderRequest,
  requestKey,
  toolOutputs,
} from "./operator-execution.js";
import { runProcessor } from "./processors/processor-registry.js";
import { fixturePath } from "./test-fixtures.js";
import type { CompiledWorkflow, JsonObject, ProcessorOperator } from "./types.js";
import { getOperator } from "./workflow-graph.js";
import { loadWorkflowFile } from "./workflow-loader.js";

async function load(name: string): Promise<CompiledWorkflow> {
  const result = await loadWorkflowFile(fixturePath(name));
  if (!result.ok) throw new Error(`${name} must compile`);
  return result.workflow;
}

describe("running one query through the IR helpers", () => {
  it("renders inputs along edges, requests, keys and tool outputs", async () => {
    const workflow = await load("graph-all-features.yaml");
    const scopes = new Map<string, JsonObject>();
    scopes.set(
      "question",
      inputScope(workflow, { user_query: "region=europe year=1997", customer_id: 42, extra: 1 }),
    );
    expect(scopes.get("question")).toEqual({ user_query: "region=europe year=1997", customer_id: 42 });

    const paramsInputs = operatorInputs(workflow, "params", scopes);
    expect(paramsInputs).toEqual({ user_query: "region=europe year=1997" });
    const params = getOperator(workflow, "params") as ProcessorOperator;
    const extracted = runProcessor(params, paramsInputs);
    expect(extracted).toEqual({ extracted: { region: "EUROPE", year: 1997 } });
    expect(renderRequest(workflow, "params", paramsInputs)).toEqual({
      kind: "processor",
      processor: "regex_param_extractor",
      config: params.config,
      inputs: { user_query: "region=europe year=1997" },
    });
    scopes.set("params", operatorScope(paramsInputs, extracted));

    const weatherInputs = operatorInputs(workflow, "weather", scopes);
    const weather = renderRequest(workflow, "weather", weatherInputs);
    expect(weather).toEqual({
      kind: "http",
      url: "http://api.example.invalid/weather",
      method: "GET",
      params: { region: "EUROPE", limit: "5" },
      headers: { "x-trace": "q-1997" },
      latency: { mode: "padded", meanMs: 250, timeoutMs: 3000 },
    });
    expect(isCoalescable(getOperator(workflow, "weather"), weather)).toBe(false);
    scopes.set(
      "weather",
      operatorScope(weatherInputs, toolOutputs(getOperator(workflow, "weather"), { temp: 20 })),
    );

    const newsInputs = operatorInputs(workflow, "news", scopes);
    expect(renderRequest(workflow, "news", newsInputs)).toMatchObject({ body: '{"region": "EUROPE"}' });
    const news = toolOutputs(getOperator(workflow, "news"), { headline: "Up", source: "wire", extra: true });
    expect(news).toEqual({ headline: "Up", source: "wire" });
    expect(toolOutputs(getOperator(workflow, "news"), [1, 2])).toEqual({ headline: null, source: null });
    scopes.set("news", operatorScope(newsInputs, news));

    const balanceInputs = operatorInputs(workflow, "balance", scopes);
    const balance = renderRequest(workflow, "balance", balanceInputs);
    expect(balance).toEqual({
      kind: "sql",
      sql: "SELECT c_acctbal FROM customer WHERE c_custkey = :id::int AND c_comment NOT LIKE '%%special%%'",
      parameters: { id: 42 },
      parameterTypes: { id: "int" },
    });
    expect(isCoalescable(getOperator(workflow, "balance"), balance)).toBe(true);
    scopes.set(
      "balance",
      operatorScope(balanceInputs, { balance_rows: [{ c_acctbal: 10.5 }, { c_acctbal: 3 }] }),
    );

    const ordersInputs = operatorInputs(workflow, "analyst__sql__orders", scopes);
    expect(ordersInputs).toEqual({ extracted: { region: "EUROPE", year: 1997 } });
    expect(renderRequest(workflow, "analyst__sql__orders", ordersInputs)).toMatchObject({
      parameters: { region: "EUROPE", year: 1997 },
    });
    scopes.set("analyst__sql__orders", operatorScope(ordersInputs, { orders: [{ o_orderkey: 1 }] }));
    for (const tool of ["analyst__http__rates", "analyst__sql__nations", "analyst__processor__reparsed"]) {
      scopes.set(
        tool,
        operatorScope({}, { [getOperator(workflow, tool).outputs[0] as string]: `${tool} result` }),
      );
    }

    const analystInputs = operatorInputs(workflow, "analyst", scopes);
    expect(Object.keys(analystInputs)).toEqual([
      "user_query",
      "extracted",
      "forecast",
      "orders",
      "rates",
      "nations",
      "reparsed",
    ]);
    const analyst = renderRequest(workflow, "analyst", analystInputs);
    if (analyst.kind !== "llm") throw new Error("expected an LLM request");
    expect(analyst.suffix).toBe(
      'EUROPE in 1997. Rows: [{"o_orderkey":1}]\n\nnations: analyst__sql__nations result\nrates: analyst__http__rates result\nreparsed: analyst__processor__reparsed result\nforecast: {"temp":20}\nuser_query: region=europe year=1997\n\n### Assistant\n',
    );
    expect(analyst).toMatchObject({ model: "Qwen/Qwen3-14B", maxTokens: 32, topP: 0.9, seed: 7 });
    expect(analyst.jsonSchema).toMatchObject({ required: ["summary", "risk"] });
    expect(analyst.prefixKey).toBe(prefixKeyOf("Qwen/Qwen3-14B", analyst.prefix));
    expect(isCoalescable(getOperator(workflow, "analyst"), analyst)).toBe(true);
    scopes.set("analyst", operatorScope(analystInputs, { summary: "s", risk: "low" }));
    scopes.set("audit", { audit: { slept: true } });

    const writerInputs = operatorInputs(workflow, "writer", scopes);
    expect(writerInputs).toEqual({
      summary: "s",
      risk: "low",
      headline: "Up",
      balance_rows: { c_acctbal: 10.5 },
      audit: { slept: true },
    });
    const writer = renderRequest(workflow, "writer", writerInputs);
    expect(isCoalescable(getOperator(workflow, "writer"), writer)).toBe(false);
    expect(writer).not.toHaveProperty("jsonSchema");
  });

  it("applies loop constants, feedback and mapped-over-pass-through precedence", async () => {
    const workflow = await load("graph-loop.yaml");
    const scopes = new Map<string, JsonObject>([
      ["topic", { subject: "tea" }],
      ["outline", { subject: "tea", outline: "o" }],
    ]);
    expect(operatorInputs(workflow, "critique__iter1", scopes)).toEqual({
      subject: "tea",
      draft: "(no draft yet)",
    });
    scopes.set("critique__iter1", { critique: "c1" });
    expect(operatorInputs(workflow, "revise__iter1", scopes)).toEqual({
      outline: "o",
      draft: "(no draft yet)",
      critique: "c1",
    });
    scopes.set("revise__iter1", { outline: "o", draft: "d1", critique: "c1" });
    expect(operatorInputs(workflow, "critique__iter2", scopes)).toEqual({ subject: "tea", draft: "d1" });
    expect(() => operatorInputs(workflow, "publish", scopes)).toThrow(
      'needs the scope of its parent "revise__iter3"',
    );
  });

  it("keys a request by the sha256 of its fields' canonical JSON, the operator's constant parts made once", async () => {
    const workflow = await load("graph-all-features.yaml");
    const sql = renderRequest(workflow, "balance", { customer_id: 7 });
    if (sql.kind !== "sql") throw new Error("expected a SQL request");
    const plain = { kind: "sql", sql: sql.sql, parameters: sql.parameters, types: sql.parameterTypes };
    // Twice: the second key uses the memoized text of the same parameter-types object.
    expect(requestKey(sql)).toBe(sha256OfJson(plain));
    expect(requestKey(sql)).toBe(sha256OfJson(plain));
    const processor = renderRequest(workflow, "params", { user_query: "x" });
    if (processor.kind !== "processor") throw new Error("expected a processor request");
    const plainProcessor = {
      kind: "processor",
      processor: processor.processor,
      config: processor.config,
      inputs: processor.inputs,
    };
    expect(requestKey(processor)).toBe(sha256OfJson(plainProcessor));
    expect(requestKey(processor)).toBe(sha256OfJson(plainProcessor));
    const llm = renderRequest(workflow, "analyst", {
      user_query: "q",
      extracted: { region: "ASIA", year: 1994 },
      forecast: "sun",
      orders: [],
    });
    if (llm.kind !== "llm" || llm.jsonSchema === undefined)
      throw new Error("expected a JSON-output LLM request");
    const { kind, model, prefix, suffix, maxTokens, temperature, topP, seed, jsonSchema } = llm;
    const plainLlm = { kind, model, prefix, suffix, maxTokens, temperature, topP, seed, jsonSchema };
    expect(requestKey(llm)).toBe(sha256OfJson(plainLlm));
    expect(requestKey(llm)).toBe(sha256OfJson(plainLlm));
  });

  it("keys requests canonically and refuses the input operator", async () => {
    const workflow = await load("graph-all-features.yaml");
    const first = renderRequest(workflow, "balance", { customer_id: 7 });
    const second = renderRequest(workflow, "balance", { customer_id: 7 });
    expect(requestKey(first)).toBe(requestKey(second));
    expect(requestKey(first)).toMatch(/^[0-9a-f]{64}$/);
    expect(requestKey(renderRequest(workflow, "balance", { customer_id: 8 }))).not.toBe(requestKey(first));
    const reordered = { ...first, parameterTypes: { id: "int" }, parameters: { id: 7 } };
    expect(requestKey(reordered)).toBe(requestKey(first));
    const http = renderRequest(workflow, "weather", { extracted: { region: "ASIA", year: 1 } });
    const processor = renderRequest(workflow, "params", { user_query: "x" });
    expect(requestKey(http)).not.toBe(requestKey(processor));
    expect(() => renderRequest(workflow, "question", {})).toThrow("has no request");
    expect(() => renderRequest(workflow, "nope", {})).toThrow('has no operator "nope"');
    expect(isCoalescable(getOperator(workflow, "params"), processor)).toBe(true);
  });
});
