import { spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { RunSummary } from "@halo/runtime";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// A workflow written the way the prototype's templates are (one growing context per query):
// SQL parameters, declared inputs and edge mappings read what an ancestor produced, not what
// the edge's source has. Real processes: the built CLI, local simulated executors, DuckDB.
const BIN = fileURLToPath(new URL("../../dist/bin.js", import.meta.url));
const ROOT = fileURLToPath(new URL("../../../../", import.meta.url));

const WORKFLOW = `
graph:
  name: tpch_ancestor_reads
  description: A keyword planner fans out to two entries; the final answer reads the planner's keyword and the extracted parameters through a mapping and a declared input.
  nodes:
    - id: user_input
      type: input
      outputs: [user_query]

    - id: extract_params
      type: processor
      processor: regex_param_extractor
      coalesce: true
      config:
        regex:
          region: ["(?i)region=(\\\\w+)", "(?i)\\\\b(africa|america|asia|europe|middle east)\\\\b"]
          year: ["(?i)year=(\\\\d{4})", "\\\\b(199\\\\d)\\\\b"]
        enums:
          region: [AFRICA, AMERICA, ASIA, EUROPE, MIDDLE EAST]
        defaults: { region: ASIA, year: 1995 }
        normalize: { numeric_fields: [year] }
      inputs: [user_query]
      outputs: [tpch_params]

    - id: keyword_planner
      type: inference
      engine: vllm
      model: openai/gpt-oss-20b
      max_tokens: 12
      system_prompt: |
        You are the keyword planner. From user_query, pick one search_keyword for nation names.
        Respond ONLY with:
        { "search_keyword": "string" }
      inputs: [user_query]
      outputs: [search_keyword]

    - id: entry_region
      type: inference
      engine: vllm
      model: Qwen/Qwen3-14B
      max_tokens: 12
      system_prompt: |
        Entry A: summarize the nations of the region in region_nations.
        Respond ONLY with:
        { "region_notes": "string" }
      db_queries:
        - name: region_nations
          sql: >
            SELECT n.n_name
            FROM nation AS n JOIN region AS r ON r.r_regionkey = n.n_regionkey
            WHERE r.r_name = :region
            ORDER BY n.n_name;
          parameters:
            region: "{{ tpch_params.region }}"
          param_types:
            region: text
      inputs: [user_query, search_keyword]
      outputs: [region_notes]

    - id: entry_keyword
      type: inference
      engine: vllm
      model: Qwen/Qwen3-32B
      max_tokens: 12
      system_prompt: |
        Entry B: nations whose name contains search_keyword.
        Respond ONLY with:
        { "keyword_notes": "string" }
      db_queries:
        - name: keyword_nations
          sql: >
            SELECT n.n_name FROM nation AS n
            WHERE n.n_name ILIKE '%%' || :keyword || '%%'
            ORDER BY n.n_name LIMIT 5;
          parameters:
            keyword: "{{ search_keyword }}"
          param_types:
            keyword: text
      inputs: [user_query, search_keyword]
      outputs: [keyword_notes]

    - id: hub
      type: inference
      engine: vllm
      model: Qwen/Qwen3-14B
      max_tokens: 12
      system_prompt: |
        Hub: fuse region_notes and keyword_notes for user_query.
        Respond ONLY with:
        { "hub_notes": "string" }
      inputs: [user_query, region_notes, keyword_notes]
      outputs: [hub_notes]

    - id: final_answer
      type: inference
      engine: vllm
      model: openai/gpt-oss-20b
      max_tokens: 16
      system_prompt: |
        Final answer: answer user_query from hub_notes, mentioning search_keyword.
        Respond ONLY with:
        { "final_answer": "string" }
      db_queries:
        - name: year_revenue
          sql: >
            SELECT ROUND(SUM(l_extendedprice * (1 - l_discount)), 2) AS revenue
            FROM lineitem
            WHERE l_shipdate >= make_date(:year, 1, 1) AND l_shipdate < make_date(:year + 1, 1, 1);
          parameters:
            year: "{{ tpch_params.year }}"
          param_types:
            year: int
      inputs: [user_query, search_keyword, tpch_params, hub_notes]
      outputs: [final_answer]

  edges:
    - { from: user_input, to: extract_params, mapping: { user_query: "{{ user_query }}" } }
    - { from: extract_params, to: keyword_planner, mapping: { user_query: "{{ user_query }}" } }
    - from: keyword_planner
      to: entry_region
      mapping: { user_query: "{{ user_query }}", search_keyword: "{{ search_keyword }}" }
    - from: keyword_planner
      to: entry_keyword
      mapping: { user_query: "{{ user_query }}", search_keyword: "{{ search_keyword }}" }
    - { from: entry_region, to: hub, mapping: { region_notes: "{{ region_notes }}" } }
    - { from: entry_keyword, to: hub, mapping: { keyword_notes: "{{ keyword_notes }}" } }
    - from: hub
      to: final_answer
      mapping:
        hub_notes: "{{ hub_notes }}"
        user_query: "{{ user_query }}"
        search_keyword: "{{ search_keyword }}"
`;

const QUERIES = [
  "region=AFRICA year=1992 which nations ship most?",
  "Revenue outlook for Asia in 1995",
  "region=europe year=1997 compare nations",
  "nations of the middle east, year=1994",
  "region=AMERICA year=1996",
  "Revenue outlook for Asia in 1995",
  "europe 1993 summary",
  "region=AFRICA year=1992 which nations ship most?",
];

let directory: string;
let database: string;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "halo-run-scope-"));
  database = join(directory, "tpch.duckdb");
  const generated = halo(["datasets", "gen", "tpch", "--scale", "0.01", "--out", database]);
  expect(generated.status, generated.stderr).toBe(0);
  await writeFile(join(directory, "workflow.yaml"), WORKFLOW);
  await writeFile(
    join(directory, "queries.jsonl"),
    `${QUERIES.map((query, index) => JSON.stringify({ id: `q${index + 1}`, user_query: query })).join("\n")}\n`,
  );
}, 300_000);

afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

function halo(args: readonly string[]) {
  return spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: "utf8", timeout: 300_000 });
}

async function run(strategy: string, workflow = join(directory, "workflow.yaml")) {
  const out = join(directory, `${strategy}.jsonl`);
  const summaryPath = join(directory, `${strategy}-summary.json`);
  const result = halo([
    "run",
    workflow,
    "--queries",
    join(directory, "queries.jsonl"),
    "--engine",
    "sim",
    "--time-scale",
    "0.001",
    "--db",
    database,
    "--strategy",
    strategy,
    "--out",
    out,
    "--summary",
    summaryPath,
  ]);
  const records =
    result.status === 0
      ? (await readFile(out, "utf8"))
          .trim()
          .split("\n")
          .map((line) => JSON.parse(line) as { id: string; ok: boolean; outputs: Record<string, unknown> })
      : [];
  const summary =
    result.status === 0 ? (JSON.parse(await readFile(summaryPath, "utf8")) as RunSummary) : undefined;
  return { result, records, summary };
}

describe("halo run: a prototype-style workflow whose nodes read their ancestors", () => {
  it("validates, and every query ends ok with equal outputs under naive and dp", async () => {
    const validated = halo(["validate", join(directory, "workflow.yaml")]);
    expect(validated.status, validated.stderr).toBe(0);
    const explained = halo(["explain", join(directory, "workflow.yaml")]);
    expect(explained.stdout).toContain(
      "search_keyword ← mapping {{ search_keyword }} on the edge from hub; search_keyword from keyword_planner.search_keyword",
    );
    expect(explained.stdout).toContain("tpch_params ← extract_params.tpch_params (nearest ancestor)");

    const dp = await run("dp");
    expect(dp.result.status, dp.result.stderr).toBe(0);
    const naive = await run("naive");
    expect(naive.result.status, naive.result.stderr).toBe(0);
    expect(dp.records).toHaveLength(QUERIES.length);
    expect(dp.records.every((record) => record.ok)).toBe(true);
    expect(naive.records.every((record) => record.ok)).toBe(true);
    expect(dp.summary?.queries.ok).toBe(QUERIES.length);
    const naiveById = new Map(naive.records.map((record) => [record.id, record.outputs]));
    for (const record of dp.records) expect(record.outputs, record.id).toEqual(naiveById.get(record.id));
    // Identical queries (q1 and q8, q2 and q6) coalesce: their SQL reads the same ancestor values.
    expect(dp.summary?.tools.coalesced).toBeGreaterThan(0);
  });

  it("refuses PostgreSQL-only SQL on a DuckDB --db before any work, naming the node and its YAML path", async () => {
    const postgresOnly = WORKFLOW.replace(
      "WHERE n.n_name ILIKE '%%' || :keyword || '%%'",
      "WHERE to_tsvector('english', n.n_comment) @@ plainto_tsquery('english', :keyword)",
    );
    const path = join(directory, "postgres-only.yaml");
    await writeFile(path, postgresOnly);
    expect(halo(["validate", path]).status).toBe(0);
    const { result } = await run("dp", path);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(
      "(DuckDB) cannot run 1 SQL statement of workflow tpch_ancestor_reads; nothing was run",
    );
    expect(result.stderr).toMatch(
      /node "entry_keyword" at .*postgres-only\.yaml:\d+:\d+ graph\.nodes\[4\]\.db_queries\[0\]/,
    );
    expect(result.stderr).toContain("@@ (full-text match)");
    expect(result.stderr).toContain("--db postgres://");
    expect(result.stderr).not.toContain("starting");
  });

  it("rejects at validate a :param with no value and a name no ancestor produces", async () => {
    const broken = WORKFLOW.replace(
      'region: "{{ tpch_params.region }}"',
      'regionx: "{{ tpch_params.region }}"',
    ).replace('keyword: "{{ search_keyword }}"', 'keyword: "{{ search_keywords }}"');
    const path = join(directory, "broken.yaml");
    await writeFile(path, broken);
    const result = halo(["validate", path]);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(
      /graph\.nodes\[3\]\.db_queries\[0\]\.sql: SQL of "entry_region" uses :region, which has no value in parameters \(parameters: regionx\) \[missing-sql-parameter\]/,
    );
    expect(result.stderr).toMatch(
      /graph\.nodes\[4\]\.db_queries\[0\]\.parameters\.keyword: .*"search_keywords".* \[unbound-variable\]/,
    );
  });
});
