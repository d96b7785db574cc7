import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { SimEngine } from "@halo/engine-sim";
import { createExecutorServer, type ExecutorServerHandle } from "@halo/executor";
import { type CompiledWorkflow, canonicalJson, loadWorkflowText, type QueryContext } from "@halo/ir";
import { planBatch } from "@halo/optimizer";
import { H100_SIMULATED_PROFILE } from "@halo/profiles";
import { MemoryResultSink, Processor } from "@halo/runtime";
import { HttpTool } from "@halo/tool-http";
import { createSqlTool } from "@halo/tool-sql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChatClient, DuckDbPeerClient, fetchJson } from "./langgraph-clients.js";
import { translateWorkflow, widestStep } from "./langgraph-translator.js";

// The LangGraph peer end to end: a small workflow (SQL, HTTP, two models, a join) translated into a
// StateGraph, run by graph.batch against a real simulated executor's OpenAI endpoint, real DuckDB and a
// real HTTP server; its outputs must equal those of naive (Halo's per-query runtime over gRPC).
const workflowText = (apiUrl: string) => `
graph:
  name: peer-test
  nodes:
    - { id: question, type: input, outputs: [city] }
    - id: describe
      type: inference
      model: Qwen/Qwen3-14B
      max_tokens: 16
      temperature: 0
      inputs: [city]
      outputs: [summary, region]
      system_prompt: |
        Describe the city from its row.
        Respond ONLY with: { "summary": "string", "region": "string" }
      db_queries:
        - name: facts
          sql: SELECT name, population FROM cities WHERE name = :city
          parameters: { city: "{{ city }}" }
          param_types: { city: text }
    - id: weather
      type: http
      url: ${apiUrl}/weather
      method: GET
      params: { city: "{{ city }}" }
      latency_ms: 20
      coalesce: true
      inputs: [city]
      outputs: [forecast]
    - id: advise
      type: inference
      model: Qwen/Qwen3-32B
      max_tokens: 16
      temperature: 0
      inputs: [summary, forecast]
      outputs: [advice]
      system_prompt: |
        Give one travel tip.
        Respond ONLY with: { "advice": "string" }
  edges:
    - { from: question, to: describe }
    - { from: question, to: weather }
    - { from: describe, to: advise }
    - { from: weather, to: advise }
`;

let directory: string;
let databasePath: string;
let api: Server;
let apiUrl: string;
let executor: ExecutorServerHandle;
let workflow: CompiledWorkflow;
let apiRequests = 0;

const QUERIES: QueryContext[] = ["Lyon", "Oslo", "Lyon", "Quito", "Oslo"].map((city, index) => ({
  id: `q${index}`,
  context: { city },
}));

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "halo-langgraph-"));
  databasePath = join(directory, "cities.duckdb");
  const instance = await DuckDBInstance.create(databasePath);
  const connection = await instance.connect();
  await connection.run(
    "CREATE TABLE cities AS SELECT * FROM (VALUES ('Lyon', 522250::BIGINT), ('Oslo', 709037::BIGINT), ('Quito', 2800000::BIGINT)) AS t(name, population)",
  );
  connection.closeSync();
  instance.closeSync();
  api = createServer((request, response) => {
    apiRequests += 1;
    const city = new URL(request.url ?? "/", "http://127.0.0.1").searchParams.get("city");
    response.setHeader("content-type", "application/json");
    response.end(JSON.stringify({ city, forecast: city === "Oslo" ? "snow" : "sun" }));
  });
  await new Promise<void>((resolve) => api.listen(0, "127.0.0.1", resolve));
  apiUrl = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
  const loaded = loadWorkflowText(workflowText(apiUrl), { file: "peer-test.yaml" });
  if (!loaded.ok) throw new Error(`the test workflow does not compile: ${JSON.stringify(loaded.problems)}`);
  workflow = loaded.workflow;
  executor = await createExecutorServer({
    engine: new SimEngine({ profile: H100_SIMULATED_PROFILE, timeScale: 0.001 }),
    openai: {},
  });
}, 300_000);

afterAll(async () => {
  await executor?.close(1_000);
  await new Promise((resolve) => api?.close(resolve));
  await rm(directory, { recursive: true, force: true });
});

async function naiveOutputs(): Promise<Map<string, string>> {
  const workers = [{ id: "worker-0", profile: H100_SIMULATED_PROFILE, address: executor.address }];
  const { plan } = await planBatch({ workflow, queries: QUERIES, workers, strategy: "naive" });
  const sql = createSqlTool(databasePath);
  const http = new HttpTool({ allowHosts: ["127.0.0.1"] });
  const sink = new MemoryResultSink();
  try {
    await new Processor({ workflow, plan, executors: [executor.address], tools: { sql, http } }).run(
      QUERIES,
      {
        sink,
      },
    );
  } finally {
    await sql.close();
    await http.close();
  }
  return new Map(
    sink.records.map((record) => [record.id, canonicalJson({ ok: record.ok, outputs: record.outputs })]),
  );
}

describe("the LangGraph translation of a workflow", () => {
  it("runs with graph.batch against the executor's OpenAI endpoint and answers as naive does", async () => {
    const expected = await naiveOutputs();
    const base = `${executor.openai!.url}/v1`;
    const chat = new ChatClient({
      endpoints: new Map([
        ["Qwen/Qwen3-14B", [base]],
        ["Qwen/Qwen3-32B", [base]],
      ]),
    });
    const sql = new DuckDbPeerClient(databasePath, 2);
    apiRequests = 0;
    try {
      const translated = translateWorkflow(workflow, {
        chat: (request, operator) => chat.chat(request, operator),
        sql: (request) => sql.query(request),
        http: (request, seed) => fetchJson(request, seed),
      });
      // The three distinct cities first, then the repeats: the node cache (not timing) decides which
      // tool calls run. maxConcurrency 2 = the two tool nodes of the widest step.
      expect(widestStep(workflow)).toBe(2);
      const first = [QUERIES[0]!, QUERIES[1]!, QUERIES[3]!];
      const repeats = [QUERIES[2]!, QUERIES[4]!];
      const results = new Map<string, unknown>();
      for (const part of [first, repeats]) {
        const answers = await translated.graph.batch(
          translated.inputsOf(part),
          { maxConcurrency: 2 },
          { returnExceptions: true },
        );
        part.forEach((query, index) => {
          results.set(query.id, answers[index]);
        });
      }
      const records = QUERIES.map((query) => translated.recordOf(query, results.get(query.id)));
      for (const record of records) {
        expect(record.error).toBeUndefined();
        expect(Object.keys(record.outputs)).toEqual(["advice"]);
        expect(canonicalJson({ ok: record.ok, outputs: record.outputs })).toBe(expected.get(record.id));
        // Every LLM node ran; the input node's time is the query's start.
        expect(record.operators["describe"]).toBeDefined();
        expect(record.operators["advise"]).toBeDefined();
        expect(record.endMs!).toBeGreaterThanOrEqual(record.startMs!);
      }
      // Three distinct cities: the node cache serves the repeated SQL and HTTP calls.
      expect(translated.counters.toolCalls).toBe(6);
      expect(apiRequests).toBe(3);
      expect(translated.counters.llmCalls).toBe(10);
      expect(records[2]!.operators["weather"]).toBeUndefined();
      expect(translated.counters.promptTokens).toBeGreaterThan(0);
      expect(chat.requestsTo(base)).toBe(10);
    } finally {
      await sql.close();
    }
  }, 300_000);

  it("records a failed query without failing the batch", async () => {
    const chat = new ChatClient({ endpoints: new Map([["Qwen/Qwen3-14B", [`${executor.openai!.url}/v1`]]]) });
    const sql = new DuckDbPeerClient(databasePath, 1);
    try {
      const translated = translateWorkflow(
        workflow,
        {
          chat: (request, operator) => chat.chat(request, operator),
          sql: (request) => sql.query(request),
          http: (request, seed) => fetchJson(request, seed),
        },
        { cacheTools: false },
      );
      const queries = QUERIES.slice(0, 2);
      const results = await translated.graph.batch(
        translated.inputsOf(queries),
        { maxConcurrency: 2 },
        { returnExceptions: true },
      );
      // No endpoint serves Qwen3-32B: every query fails at `advise`, each with its own record.
      const records = queries.map((query, index) => translated.recordOf(query, results[index]));
      expect(records.map((record) => record.ok)).toEqual([false, false]);
      expect(records[0]!.error).toContain("no endpoint serves Qwen/Qwen3-32B");
      expect(records[0]!.outputs).toEqual({});
    } finally {
      await sql.close();
    }
  }, 300_000);
});
