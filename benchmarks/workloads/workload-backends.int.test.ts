/**
 * Every workload against real backends: generated datasets in DuckDB, the same
 * rows loaded into a real PostgreSQL, the reference data API over HTTP. Each
 * query runs through the workflow operator by operator (`dryRunQuery`): SQL on
 * both databases (same rows required), HTTP through @halo/tool-http (200
 * required), LLM outputs supplied by the test — plausible ones, then hostile
 * ones, since the benchmark's stand-in models write gibberish.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type CompiledWorkflow,
  countTokens,
  instantiateBatch,
  type JsonObject,
  type JsonValue,
  type LlmOperator,
  type QueryContext,
  type SqlToolV1,
} from "@halo/ir";
import { requestKey } from "@halo/ir/internal";
import { HttpTool } from "@halo/tool-http";
import { createSqlTool } from "@halo/tool-sql";
import { createTestSchema, startTestPostgres, type TestPostgres } from "@halo/tool-sql/test";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DataApi, startDataApi } from "../data-api/data-api-server.js";
import { generateDataset } from "../datasets/generate-dataset.js";
import { loadIntoPostgres } from "../datasets/postgres-loader.js";
import { loadWorkload } from "./load-workload.js";
import { withHttpMode } from "./with-http-mode.js";
import { type DryRunHandlers, type DryRunStep, dryRunQuery } from "./workload-dry-run.js";
import { WORKLOADS, type WorkloadDefinition } from "./workload-registry.js";

/** The context size the stand-in models are served with (engine-llamacpp's default). */
const CONTEXT_TOKENS = 2_048;
const QUERIES = 5;
const HOSTILE_QUERIES = 2;

let directory: string;
let dbPath: string;
let server: TestPostgres;
let dropSchema: (() => Promise<void>) | undefined;
let duckdb: SqlToolV1;
let postgres: SqlToolV1;
let api: DataApi;
let http: HttpTool;

beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), "halo-workloads-"));
  dbPath = join(directory, "workloads.duckdb");
  for (const dataset of ["tpch", "imdb", "finewiki"] as const) {
    await generateDataset({ dataset, scale: 0.01, seed: 1, outPath: dbPath });
  }
  server = await startTestPostgres();
  const schema = await createTestSchema(server.url);
  dropSchema = schema.drop;
  await loadIntoPostgres({ dbPath, postgresUrl: schema.url });
  duckdb = createSqlTool(dbPath);
  postgres = createSqlTool(schema.url);
  api = await startDataApi({ dbPath, host: "127.0.0.1", port: 0 });
  http = new HttpTool({ allowHosts: [`127.0.0.1:${api.port}`] });
}, 300_000);

afterAll(async () => {
  await http?.close();
  await api?.close();
  await duckdb?.close();
  await postgres?.close();
  await dropSchema?.();
  await server?.stop();
  rmSync(directory, { recursive: true, force: true });
}, 300_000);

type Rows = readonly Record<string, JsonValue>[];
const rowsOf = (value: JsonValue | undefined): Rows =>
  Array.isArray(value) ? (value as Rows) : ((value as { rows?: Rows } | null)?.rows ?? []);
const text = (value: JsonValue | undefined): string => (typeof value === "string" ? value : "");

/**
 * What a capable model would answer where its text feeds a tool (the title it
 * read, the category or link it chose); elsewhere a short note.
 */
const PLAUSIBLE: Record<string, (inputs: JsonObject) => JsonObject> = {
  "w1/plan_question": (inputs) => {
    const top = rowsOf(inputs["matched_titles"])[0];
    return {
      intent: "crew",
      title: text(top?.["primary_title"]),
      genre: text(top?.["genres"]).split(",")[0] ?? "",
    };
  },
  "w3/classify_topic": (inputs) => ({
    topic: "place",
    main_category: text(rowsOf(inputs["categories"])[0]?.["category"]),
  }),
  // The article's own row comes first (its title contains itself); a model picks one of its links.
  // The first link is mostly the lead's place or genus, which has no article; the second mostly has one.
  "w3/choose_link": (inputs) => {
    const links = rowsOf(inputs["outbound_links"])[0]?.["outbound_links"];
    return { link_title: text(Array.isArray(links) ? links[1] : undefined) };
  },
};

/** `start` padded with words to `maxTokens` tokens: the longest text the operator can produce. */
function padToTokens(start: string, maxTokens: number): string {
  const words = ["zebra", "quartz", "nocturne", "ledger", "meridian", "flux"];
  let value = start;
  for (let index = 0; countTokens(value) < maxTokens; index++) value += ` ${words[index % words.length]}`;
  return value;
}

/** Outputs that feed no tool get the operator's whole token budget, so prompts are measured at their largest. */
function plausibleOutputs(
  workload: WorkloadDefinition,
  operator: LlmOperator,
  inputs: JsonObject,
): JsonObject {
  const answer = PLAUSIBLE[`${workload.id}/${operator.id}`];
  if (answer) return answer(inputs);
  return Object.fromEntries(
    operator.outputs.map((name) => [name, padToTokens(`${name} by ${operator.id}:`, operator.maxTokens)]),
  );
}

/** Text that breaks naive SQL or URL building. */
const HOSTILE_TEXT = "O'Brien 100% _x_ \\ :title ::int $1 -- ; DROP TABLE pages; «ünï» 😀 [[Category:";

interface Tally {
  runs: number;
  nonEmpty: number;
}

/** Handlers that run SQL on both databases and HTTP on the data API, counting results per operator. */
function realHandlers(llm: DryRunHandlers["llm"], tally: Map<string, Tally>, label: string): DryRunHandlers {
  const count = (operatorId: string, rows: number) => {
    const entry = tally.get(operatorId) ?? { runs: 0, nonEmpty: 0 };
    entry.runs += 1;
    if (rows > 0) entry.nonEmpty += 1;
    tally.set(operatorId, entry);
  };
  return {
    llm,
    async sql(operatorId, request) {
      const where = `${label} ${operatorId} ${JSON.stringify(request.parameters)}`;
      const fromDuckdb = await duckdb.doQuery(request).catch((error: Error) => {
        throw new Error(`DuckDB: ${where}: ${error.message}`);
      });
      const fromPostgres = await postgres.doQuery(request).catch((error: Error) => {
        throw new Error(`PostgreSQL: ${where}: ${error.message}`);
      });
      // The test cluster uses the C collation, so ordered text compares as in DuckDB.
      expect(fromPostgres.rows, where).toEqual(fromDuckdb.rows);
      count(operatorId, fromDuckdb.rowCount);
      return fromDuckdb.rows as JsonValue;
    },
    async http(operatorId, request) {
      const result = await http.doCall({ ...request, seed: `${label}/${operatorId}` });
      expect(result.status, `${label} ${operatorId}`).toBe(200);
      count(operatorId, rowsOf(result.body).length);
      return result.body;
    },
  };
}

async function prepare(workload: WorkloadDefinition, count: number, seed: number) {
  // Live mode against this test's data API: the same requests, without the 3–6 s padding.
  const workflow = withHttpMode(await loadWorkload(workload), { mode: "live", baseUrl: api.url });
  const queries: QueryContext[] = await workload.generateQueries(count, seed, dbPath);
  return { workflow, queries };
}

const toolIds = (workflow: CompiledWorkflow) =>
  workflow.operators.filter((op) => op.kind === "sql" || op.kind === "http").map((op) => op.id);

describe.each(WORKLOADS)("workload $id ($name) on DuckDB, PostgreSQL and the data API", (workload) => {
  it("runs every tool request of generated queries with the same rows on both databases", async () => {
    const { workflow, queries } = await prepare(workload, QUERIES, 11);
    const known = instantiateBatch(workflow, queries);
    const tally = new Map<string, Tally>();
    const llm: DryRunHandlers["llm"] = (operator, inputs) => plausibleOutputs(workload, operator, inputs);
    const prompts: DryRunStep[] = [];
    for (const query of queries) {
      const steps = await dryRunQuery(workflow, query, realHandlers(llm, tally, query.id));
      prompts.push(...steps.filter((step) => step.request.kind === "llm"));
      // Requests the IR knows before running are exactly the ones executed.
      for (const step of steps) {
        const instance = known.byOperator.get(step.operator)?.find((item) => item.queryId === query.id);
        if (instance?.requestKey !== undefined) expect(requestKey(step.request)).toBe(instance.requestKey);
      }
    }
    for (const id of toolIds(workflow)) {
      expect(tally.get(id)?.runs, id).toBe(QUERIES);
      // Every statement and endpoint finds data for some query: the parameters mean something.
      expect(tally.get(id)?.nonEmpty, `${id} returned no rows for any query`).toBeGreaterThan(0);
    }
    // Real tool results and upstream outputs at their longest still leave room to generate.
    for (const step of prompts) {
      if (step.request.kind !== "llm") continue;
      const tokens = countTokens(step.request.prefix + step.request.suffix);
      expect(
        tokens + step.request.maxTokens,
        `${step.operator}: ${tokens} prompt tokens`,
      ).toBeLessThanOrEqual(CONTEXT_TOKENS);
    }
  });

  it("stays valid when the models write hostile or empty text", async () => {
    const { workflow, queries } = await prepare(workload, HOSTILE_QUERIES, 23);
    const tally = new Map<string, Tally>();
    for (const [index, query] of queries.entries()) {
      const llm: DryRunHandlers["llm"] = (operator) =>
        Object.fromEntries(operator.outputs.map((name) => [name, index === 0 ? HOSTILE_TEXT : ""]));
      await dryRunQuery(workflow, query, realHandlers(llm, tally, `${query.id}-hostile`));
    }
    for (const id of toolIds(workflow)) expect(tally.get(id)?.runs, id).toBe(HOSTILE_QUERIES);
  });
});
