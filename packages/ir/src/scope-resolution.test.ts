import { describe, expect, it } from "vitest";
import { instantiateBatch } from "./batch-consolidation.js";
import { describeNameSource, nameSources } from "./name-sources.js";
import { inputScope, operatorInputs, operatorScope, renderRequest } from "./operator-execution.js";
import { fixturePath } from "./test-fixtures.js";
import type { CompiledWorkflow, JsonObject, SqlOperator } from "./types.js";
import { getOperator } from "./workflow-graph.js";
import { compileSpec, loadWorkflowFile, loadWorkflowText } from "./workflow-loader.js";

function compiled(spec: unknown): CompiledWorkflow {
  const result = compileSpec(spec);
  if (!result.ok) throw new Error(result.problems.map((problem) => problem.message).join("\n"));
  return result.workflow;
}

function problemsOf(spec: unknown): [string, string][] {
  const result = compileSpec(spec);
  return result.ok ? [] : result.problems.map((problem) => [problem.code, problem.source.path]);
}

/** Runs a workflow's operators in order with a stand-in for every non-input result: `<operator>(<inputs>)`. */
function runByHand(workflow: CompiledWorkflow, context: JsonObject): Map<string, JsonObject> {
  const scopes = new Map<string, JsonObject>();
  for (const operator of workflow.operators) {
    if (operator.kind === "input") {
      scopes.set(operator.id, inputScope(workflow, context));
      continue;
    }
    const inputs = operatorInputs(workflow, operator.id, scopes);
    const outputs: JsonObject = {};
    for (const name of operator.outputs) outputs[name] = `${operator.id}(${JSON.stringify(inputs)})`;
    scopes.set(operator.id, operatorScope(inputs, outputs));
  }
  return scopes;
}

const inference = (id: string, inputs: string[], outputs: string[], extra: object = {}) => ({
  id,
  type: "inference",
  model: "Qwen/Qwen3-14B",
  system_prompt: `${id}.`,
  inputs,
  outputs,
  ...extra,
});

describe("per-query scope: ancestors' outputs", () => {
  it("compiles a prototype-style workflow whose nodes read ancestors through mappings, inputs, SQL and URLs", async () => {
    const result = await loadWorkflowFile(fixturePath("scope-ancestor-reads.yaml"));
    if (!result.ok) throw new Error(JSON.stringify(result.problems));
    const workflow = result.workflow;
    // The mapping on tail → final_answer reads user_query, which tail never had: it comes from the input.
    const tailEdge = workflow.edges.find((edge) => edge.from === "tail" && edge.to === "final_answer");
    expect(tailEdge?.rootSources).toEqual({ user_query: "user_input" });
    // The prompt reads search_keyword, produced two levels up by keyword_picker.
    expect(getOperator(workflow, "final_answer").inputs).toEqual([
      "user_query",
      "tail_notes",
      "search_keyword",
    ]);
    expect(getOperator(workflow, "final_answer").parents).toEqual(["keyword_picker", "tail", "user_input"]);
    // hub declares user_query, which no parent provides: the input operator does.
    expect(nameSources(workflow, "hub").map(describeNameSource)).toEqual([
      "user_query ← input user_input.user_query",
      "people_notes ← mapping {{ people_notes }} on the edge from entry_people",
      "titles ← mapping {{ titles }} on the edge from http_titles",
    ]);
    expect(nameSources(workflow, "final_answer").map(describeNameSource)).toEqual([
      "user_query ← mapping {{ user_query }} on the edge from tail; user_query from user_input.user_query",
      "tail_notes ← mapping {{ tail_notes }} on the edge from tail",
      "search_keyword ← keyword_picker.search_keyword (nearest ancestor)",
    ]);
    // The SQL of entry_people reads search_keyword that its node neither declares nor gets on an edge.
    const sql = getOperator(workflow, "entry_people__sql__people_by_name") as SqlOperator;
    expect(sql.inputs).toEqual(["search_keyword"]);
    expect(sql.parents).toEqual(["keyword_picker", "user_input"]);
  });

  it("renders the values of the nearest producing ancestor at run time", async () => {
    const result = await loadWorkflowFile(fixturePath("scope-ancestor-reads.yaml"));
    if (!result.ok) throw new Error("invalid fixture");
    const workflow = result.workflow;
    const scopes = runByHand(workflow, { user_query: "movies about pirates" });
    const final = operatorInputs(workflow, "final_answer", scopes);
    expect(final["user_query"]).toBe("movies about pirates");
    expect(final["search_keyword"]).toBe(scopes.get("keyword_picker")?.["search_keyword"]);
    const request = renderRequest(workflow, "entry_people__sql__people_by_name", {
      search_keyword: "pirates",
    });
    expect(request).toMatchObject({ kind: "sql", parameters: { keyword: "pirates" } });
    // The URL template is rendered per query, each value percent-encoded as one path segment.
    expect(renderRequest(workflow, "http_titles", { search_keyword: "star wars/2" })).toMatchObject({
      url: "http://127.0.0.1:9/imdb/star%20wars%2F2/titles",
    });
  });

  it("keys each request on exactly the values it reads, so coalescing follows the ancestor's value", async () => {
    const result = await loadWorkflowFile(fixturePath("scope-ancestor-reads.yaml"));
    if (!result.ok) throw new Error("invalid fixture");
    const batch = instantiateBatch(result.workflow, [
      { id: "a", context: { user_query: "films about pirates" } },
      { id: "b", context: { user_query: "tell me about pirates" } },
      { id: "c", context: { user_query: "films about robots" } },
    ]);
    const sql = batch.byOperator.get("entry_people__sql__people_by_name") ?? [];
    expect(sql.map((instance) => instance.request)).toMatchObject([
      { parameters: { keyword: "pirates" } },
      { parameters: { keyword: "pirates" } },
      { parameters: { keyword: "robots" } },
    ]);
    expect(sql[0]?.requestKey).toBe(sql[1]?.requestKey);
    expect(sql[0]?.requestKey).not.toBe(sql[2]?.requestKey);
    const http = batch.byOperator.get("http_titles") ?? [];
    expect(http.map((instance) => (instance.request as { url: string }).url)).toEqual([
      "http://127.0.0.1:9/imdb/pirates/titles",
      "http://127.0.0.1:9/imdb/pirates/titles",
      "http://127.0.0.1:9/imdb/robots/titles",
    ]);
  });

  it("prefers the nearest producer, and of two at the same distance the later one", () => {
    const workflow = compiled({
      graph: {
        nodes: [
          { id: "q", type: "input", outputs: ["text"] },
          inference("first", ["text"], ["draft"]),
          inference("second", ["draft"], ["draft2", "draft"]),
          inference("third", ["draft2"], ["notes"]),
          inference("reader", ["notes", "draft"], ["answer"]),
          inference("shortcut", ["text", "draft"], ["answer2"]),
        ],
        edges: [
          { from: "q", to: "first" },
          { from: "first", to: "second" },
          { from: "second", to: "third", mapping: { draft2: "{{ draft2 }}" } },
          { from: "third", to: "reader", mapping: { notes: "{{ notes }}" } },
          // shortcut has both producers of draft as parents (distance 1): second follows first, so it wins.
          { from: "first", to: "shortcut", mapping: { text: "{{ text }}" } },
          { from: "second", to: "shortcut", mapping: { text: "{{ text }}" } },
        ],
      },
    });
    // reader: second (distance 2) is nearer than first (distance 3).
    expect(nameSources(workflow, "reader")[1]).toEqual({
      name: "draft",
      kind: "ancestor",
      from: "second",
      field: "draft",
    });
    expect(nameSources(workflow, "shortcut")[1]).toMatchObject({ kind: "ancestor", from: "second" });
  });

  it("rejects a tie between two unrelated ancestors, naming both", () => {
    const result = compileSpec({
      graph: {
        nodes: [
          { id: "q", type: "input", outputs: ["text"] },
          inference("left", ["text"], ["summary"]),
          inference("right", ["text"], ["summary"]),
          inference("join", ["text"], ["joined"]),
          inference("reader", ["summary", "joined"], ["answer"]),
        ],
        edges: [
          { from: "q", to: "left" },
          { from: "q", to: "right" },
          { from: "left", to: "join", mapping: { text: "{{ text }}" } },
          { from: "right", to: "join", mapping: {} },
          { from: "join", to: "reader", mapping: { joined: "{{ joined }}" } },
        ],
      },
    });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems.map((problem) => [problem.code, problem.source.path])).toEqual([
      ["ambiguous-ancestor", "graph.nodes[4].inputs[0]"],
    ]);
    expect(result.problems[0]?.message).toContain('"left" and "right"');
    expect(result.problems[0]?.message).toContain("map it on an edge");
  });

  it("resolves a tie named in a mapping the same way, and a mapping settles it", () => {
    const nodes = [
      { id: "q", type: "input", outputs: ["text"] },
      inference("left", ["text"], ["summary"]),
      inference("right", ["text"], ["summary"]),
      inference("join", ["text", "summary"], ["joined"]),
    ];
    const ambiguous = problemsOf({
      graph: {
        nodes,
        edges: [
          { from: "q", to: "left" },
          { from: "q", to: "right" },
          { from: "left", to: "join", mapping: { text: "{{ text }}" } },
          { from: "right", to: "join", mapping: { text: "{{ text }}" } },
        ],
      },
    });
    expect(ambiguous).toEqual([["ambiguous-ancestor", "graph.nodes[3].inputs[1]"]]);
    const settled = compiled({
      graph: {
        nodes,
        edges: [
          { from: "q", to: "left" },
          { from: "q", to: "right" },
          { from: "left", to: "join", mapping: { text: "{{ text }}" } },
          { from: "right", to: "join", mapping: { summary: "{{ summary }}" } },
        ],
      },
    });
    expect(nameSources(settled, "join")[1]).toMatchObject({ kind: "mapping", from: "right" });
  });

  it("accepts a declared input that only an edge mapping gives (a path into another output)", () => {
    const workflow = compiled({
      graph: {
        nodes: [
          { id: "q", type: "input", outputs: ["text"] },
          inference("match", ["text"], ["matches"]),
          {
            id: "lookup",
            type: "http",
            url: "http://127.0.0.1:9/people",
            sleep_ms: 1,
            params: { name: "{{ person }}" },
            inputs: ["person"],
            outputs: ["people"],
          },
          inference("answer", ["person", "people"], ["out"]),
        ],
        edges: [
          { from: "q", to: "match" },
          { from: "match", to: "lookup", mapping: { person: "{{ matches.0.name }}" } },
          // Unmapped: lookup's scope (its mapped input person and its output people) passes through.
          { from: "lookup", to: "answer" },
        ],
      },
    });
    expect(nameSources(workflow, "answer").map(describeNameSource)).toEqual([
      "person ← lookup.person (edge without mapping)",
      "people ← lookup.people (edge without mapping)",
    ]);
  });

  it("gives a node's SQL the value its node's mapping reads from an ancestor", () => {
    const workflow = compiled({
      graph: {
        nodes: [
          { id: "q", type: "input", outputs: ["text"] },
          inference("planner", ["text"], ["keyword"]),
          inference("middle", ["text"], ["notes"]),
          inference("final", ["kw", "notes"], ["answer"], {
            db_queries: [{ name: "rows", sql: "SELECT :k AS k", parameters: { k: "{{ kw }}" } }],
          }),
        ],
        edges: [
          { from: "q", to: "planner" },
          { from: "planner", to: "middle", mapping: { text: "{{ text }}" } },
          { from: "middle", to: "final", mapping: { notes: "{{ notes }}", kw: "{{ keyword }}" } },
        ],
      },
    });
    const tool = getOperator(workflow, "final__sql__rows");
    expect(tool.parents).toEqual(["middle", "planner"]);
    const scopes = runByHand(workflow, { text: "t" });
    expect(operatorInputs(workflow, tool.id, scopes)).toEqual({ kw: scopes.get("planner")?.["keyword"] });
    expect(operatorInputs(workflow, "final", scopes)["kw"]).toBe(scopes.get("planner")?.["keyword"]);
  });

  it("counts only ancestors: a node that merely runs earlier provides nothing", () => {
    const problems = problemsOf({
      graph: {
        nodes: [
          { id: "q", type: "input", outputs: ["text"] },
          inference("side", ["text"], ["secret"]),
          inference("main", ["text", "secret"], ["answer"]),
        ],
        edges: [
          { from: "q", to: "side" },
          { from: "q", to: "main" },
        ],
      },
    });
    expect(problems).toEqual([["unprovided-input", "graph.nodes[2].inputs[1]"]]);
  });

  it("rejects an SQL parameter or URL that reads a name no ancestor produces (never a NULL bound at run time)", () => {
    const result = compileSpec({
      graph: {
        nodes: [
          { id: "q", type: "input", outputs: ["text"] },
          inference("later", ["text"], ["year"]),
          inference("early", ["text"], ["answer"], {
            db_queries: [{ name: "rows", sql: "SELECT :y AS y", parameters: { y: "{{ year }}" } }],
          }),
          { id: "fetch", type: "http", url: "http://127.0.0.1:9/{{ year }}", outputs: ["page"] },
        ],
        edges: [
          { from: "q", to: "early" },
          { from: "early", to: "later" },
          { from: "q", to: "fetch" },
        ],
      },
    });
    expect(result.ok ? [] : result.problems.map((problem) => [problem.code, problem.source.path])).toEqual([
      ["unbound-variable", "graph.nodes[2].db_queries[0].parameters.y"],
      ["unbound-variable", "graph.nodes[3].url"],
    ]);
  });

  it("reads a node's own output of the previous loop iteration before any nearer producer", () => {
    const workflow = compiled({
      graph: {
        nodes: [
          { id: "q", type: "input", outputs: ["text"] },
          inference("critique", ["text", "draft", "notes"], ["notes"]),
          inference("revise", ["notes"], ["draft", "notes_seen"]),
          inference("final", ["draft"], ["answer"]),
        ],
        edges: [
          { from: "q", to: "critique", mapping: { text: "{{ text }}" } },
          { from: "critique", to: "revise", mapping: { notes: "{{ notes }}" } },
          { from: "revise", to: "final", mapping: { draft: "{{ draft }}" } },
        ],
        loops: [
          {
            id: "refine",
            body: ["critique", "revise"],
            iterations: 3,
            feedback: [{ from: "revise", to: "critique", mapping: { draft: "{{ draft }}" } }],
            initial: { draft: "", notes: "(none yet)" },
          },
        ],
      },
    });
    expect(nameSources(workflow, "critique__iter1")[2]).toEqual({
      name: "notes",
      kind: "constant",
      value: "(none yet)",
    });
    expect(nameSources(workflow, "critique__iter3")[2]).toEqual({
      name: "notes",
      kind: "ancestor",
      from: "critique__iter2",
      field: "notes",
    });
    const scopes = runByHand(workflow, { text: "t" });
    expect(operatorInputs(workflow, "critique__iter3", scopes)["notes"]).toBe(
      scopes.get("critique__iter2")?.["notes"],
    );
  });

  it("lets a tool call's declared inputs come from any ancestor", () => {
    const workflow = compiled({
      graph: {
        nodes: [
          { id: "q", type: "input", outputs: ["text"] },
          inference("plan", ["text"], ["topic"]),
          inference("middle", ["text"], ["outline"]),
          inference("write", ["outline"], ["essay"], {
            tool_calls: [
              {
                name: "facts",
                type: "http",
                url: "http://127.0.0.1:9/facts",
                sleep_ms: 1,
                inputs: ["topic"],
                params: { topic: "{{ topic }}" },
              },
            ],
          }),
        ],
        edges: [
          { from: "q", to: "plan" },
          { from: "plan", to: "middle", mapping: { text: "{{ text }}" } },
          { from: "middle", to: "write", mapping: { outline: "{{ outline }}" } },
        ],
      },
    });
    expect(getOperator(workflow, "write__http__facts").parents).toEqual(["plan", "q"]);
  });
});

describe("static checks of the prototype's fields", () => {
  it("requires a value for every :param of a statement, at the statement's YAML path", () => {
    const problems = problemsOf({
      graph: {
        nodes: [
          { id: "q", type: "input", outputs: ["text"] },
          inference("a", ["text"], ["out"], {
            db_queries: [
              {
                name: "rows",
                // ':not_a_param' in a string, a comment and a cast are not parameters.
                sql: "SELECT ':not_a_param', x::int FROM t -- :nor_this\nWHERE a = :a AND b = :b",
                parameters: { a: "{{ text }}" },
              },
            ],
          }),
        ],
        edges: [{ from: "q", to: "a" }],
      },
    });
    expect(problems).toEqual([["missing-sql-parameter", "graph.nodes[1].db_queries[0].sql"]]);
  });

  it("rejects a URL whose host is templated or that is not http(s), as run would", () => {
    const node = (url: string, extra: object = {}) => ({
      id: "h",
      type: "http",
      url,
      outputs: ["o"],
      ...extra,
    });
    const spec = (url: string, extra?: object) => ({
      graph: {
        nodes: [{ id: "q", type: "input", outputs: ["host"] }, node(url, extra)],
        edges: [{ from: "q", to: "h" }],
      },
    });
    expect(problemsOf(spec("http://{{ host }}/x"))).toEqual([["invalid-url", "graph.nodes[1].url"]]);
    expect(problemsOf(spec("http://{{ host }}/x", { sleep_ms: 1 }))).toEqual([
      ["invalid-url", "graph.nodes[1].url"],
    ]);
    expect(problemsOf(spec("ftp://example.invalid/x"))).toEqual([["invalid-value", "graph.nodes[1].url"]]);
    expect(problemsOf(spec("http://127.0.0.1:9/{{ host }}?a=1"))).toEqual([]);
  });

  it("keeps quantization and dtype on the LLM operator (model sizing reads them)", () => {
    const workflow = compiled({
      graph: {
        nodes: [
          { id: "q", type: "input", outputs: ["text"] },
          inference("big", ["text"], ["out"], { quantization: "awq", dtype: "float16" }),
        ],
        edges: [{ from: "q", to: "big" }],
      },
    });
    expect(getOperator(workflow, "big")).toMatchObject({ quantization: "awq", dtype: "float16" });
  });

  it("ops dialect: keeps quantization, and warns about {placeholders} nothing fills", async () => {
    const result = await loadWorkflowText(
      [
        "dataset: example/news",
        "column: article",
        "start_ops: [judge]",
        "end_ops: [verdict]",
        "ops:",
        "  judge:",
        "    model: meta-llama/Llama-3.1-8B-Instruct",
        '    prompt: "Judge {article} for {audience}. Answer in JSON like { \\"a\\": 1 }."',
        "    input_ops: []",
        "    output_ops: [verdict]",
        "  verdict:",
        "    model: kosbu/Llama-3.3-70B-Instruct-AWQ",
        "    quantization: awq",
        "    dtype: float16",
        "    prompt: Give a verdict.",
        "    input_ops: [judge]",
      ].join("\n"),
      { file: "voting.yaml" },
    );
    if (!result.ok) throw new Error(JSON.stringify(result.problems));
    expect(getOperator(result.workflow, "verdict")).toMatchObject({ quantization: "awq", dtype: "float16" });
    expect(result.warnings.map((warning) => [warning.code, warning.source.path])).toEqual([
      ["unfilled-placeholder", "ops.judge.prompt"],
    ]);
    expect(result.warnings[0]?.message).toContain("{article}, {audience}");
  });
});
