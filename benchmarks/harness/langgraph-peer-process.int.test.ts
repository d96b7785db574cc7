import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { SimEngine } from "@halo/engine-sim";
import { createExecutorServer, type ExecutorServerHandle } from "@halo/executor";
import { type CompiledWorkflow, canonicalJson, loadWorkflowText, type QueryContext } from "@halo/ir";
import { planBatch } from "@halo/optimizer";
import { H100_SIMULATED_PROFILE } from "@halo/profiles";
import { MemoryResultSink, Processor } from "@halo/runtime";
import { createSqlTool } from "@halo/tool-sql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runLanggraphPeer } from "./langgraph-peer-process.js";

// The LangGraph peer in its own process (the compiled langgraph-peer-main.js), against a real simulated
// executor's OpenAI endpoint and gRPC API and real DuckDB. Its JSON nodes have so few tokens that every
// reply stops at max_tokens (finish_reason "length"): the peer must take the text as the other systems
// do, not fail the query, and answer exactly as naive (Halo's per-query runtime over gRPC).
const WORKFLOW = `
graph:
  name: peer-process-test
  nodes:
    - { id: question, type: input, outputs: [city] }
    - id: describe
      type: inference
      model: Qwen/Qwen3-14B
      max_tokens: 3
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
    - id: advise
      type: inference
      model: Qwen/Qwen3-32B
      max_tokens: 24
      temperature: 0
      inputs: [summary]
      outputs: [advice]
      system_prompt: |
        Give one travel tip.
        Respond ONLY with: { "advice": "string" }
  edges:
    - { from: question, to: describe }
    - { from: describe, to: advise }
`;

let directory: string;
let databasePath: string;
let executor: ExecutorServerHandle;
let workflow: CompiledWorkflow;

const QUERIES: QueryContext[] = ["Lyon", "Oslo", "Quito", "Lyon"].map((city, index) => ({
  id: `q${index}`,
  context: { city },
}));

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "halo-langgraph-peer-"));
  databasePath = join(directory, "cities.duckdb");
  const instance = await DuckDBInstance.create(databasePath);
  const connection = await instance.connect();
  await connection.run(
    "CREATE TABLE cities AS SELECT * FROM (VALUES ('Lyon', 522250::BIGINT), ('Oslo', 709037::BIGINT), ('Quito', 2800000::BIGINT)) AS t(name, population)",
  );
  connection.closeSync();
  instance.closeSync();
  const loaded = loadWorkflowText(WORKFLOW, { file: "peer-process-test.yaml" });
  if (!loaded.ok) throw new Error(`the test workflow does not compile: ${JSON.stringify(loaded.problems)}`);
  workflow = loaded.workflow;
  executor = await createExecutorServer({
    engine: new SimEngine({ profile: H100_SIMULATED_PROFILE, timeScale: 0.001 }),
    openai: {},
  });
}, 300_000);

afterAll(async () => {
  await executor?.close(1_000);
  await rm(directory, { recursive: true, force: true });
});

async function naiveOutputs(): Promise<Map<string, string>> {
  const workers = [{ id: "worker-0", profile: H100_SIMULATED_PROFILE, address: executor.address }];
  const { plan } = await planBatch({ workflow, queries: QUERIES, workers, strategy: "naive" });
  const sql = createSqlTool(databasePath);
  const sink = new MemoryResultSink();
  try {
    await new Processor({ workflow, plan, executors: [executor.address], tools: { sql } }).run(QUERIES, {
      sink,
    });
  } finally {
    await sql.close();
  }
  return new Map(
    sink.records.map((record) => [record.id, canonicalJson({ ok: record.ok, outputs: record.outputs })]),
  );
}

describe("the LangGraph peer process", () => {
  it("runs the batch in its own process and answers as naive does, also when replies stop at max_tokens", async () => {
    const expected = await naiveOutputs();
    const base = `${executor.openai!.url}/v1`;
    const output = await runLanggraphPeer({
      workflow,
      queries: QUERIES,
      endpoints: new Map([
        ["Qwen/Qwen3-14B", [base]],
        ["Qwen/Qwen3-32B", [base]],
      ]),
      loads: [{ baseUrl: base, address: executor.address, models: ["Qwen/Qwen3-14B", "Qwen/Qwen3-32B"] }],
      sqlTarget: databasePath,
      sqlConnections: 2,
      maxConcurrency: 4,
    });
    expect(output.records.map((record) => record.id)).toEqual(QUERIES.map((query) => query.id));
    for (const record of output.records) {
      expect(record.error).toBeUndefined();
      expect(record.ok).toBe(true);
      expect(canonicalJson({ ok: record.ok, outputs: record.outputs })).toBe(expected.get(record.id));
      expect(record.operators["describe"]).toBeDefined();
    }
    // 3 tokens cannot hold the schema's object: the replies were cut at max_tokens.
    expect(output.counters.completionTokens).toBeGreaterThanOrEqual(QUERIES.length * 3);
    expect(output.counters.llmCalls).toBe(8);
    expect(output.requestsTo[base]).toBe(8);
    // The figures are the peer process's own.
    expect(output.makespanMs).toBeGreaterThan(0);
    expect(output.runtime.cpuMs).toBeGreaterThan(0);
    expect(output.runtime.peakRssBytes).toBeGreaterThan(0);
  }, 300_000);

  it("reports a job it cannot run as an error, and leaves no process behind", async () => {
    await expect(
      runLanggraphPeer({
        workflow,
        queries: QUERIES.slice(0, 1),
        endpoints: new Map(),
        loads: [],
        sqlTarget: join(directory, "missing.duckdb"),
        sqlConnections: 1,
        maxConcurrency: 2,
      }),
    ).rejects.toThrow(/langgraph peer: /);
  }, 300_000);
});
