import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseLlmOutput } from "./prompt-assembly.js";
import { examplePath, fixturePath } from "./test-fixtures.js";
import type {
  CompiledWorkflow,
  HttpOperator,
  LlmOperator,
  Operator,
  ProcessorOperator,
  SqlOperator,
} from "./types.js";
import { compileSpec, type LoadResult, loadWorkflowFile, loadWorkflowText } from "./workflow-loader.js";

function expectOk(result: LoadResult): CompiledWorkflow {
  if (!result.ok)
    throw new Error(
      result.problems.map((problem) => `${problem.source.path}: ${problem.message}`).join("\n"),
    );
  return result.workflow;
}

function byId(workflow: CompiledWorkflow, id: string): Operator {
  const operator = workflow.operators.find((candidate) => candidate.id === id);
  if (!operator) throw new Error(`no operator ${id}`);
  return operator;
}

async function problemsOf(fixture: string): Promise<[string, string][]> {
  const result = await loadWorkflowFile(fixturePath(fixture));
  expect(result.ok).toBe(false);
  return result.ok ? [] : result.problems.map((problem) => [problem.code, problem.source.path]);
}

describe("graph dialect", () => {
  it("compiles every feature of graph-all-features.yaml", async () => {
    const result = await loadWorkflowFile(fixturePath("graph-all-features.yaml"));
    const workflow = expectOk(result);
    expect(result.ok && result.warnings).toEqual([]);
    expect(workflow).toMatchObject({
      irVersion: 1,
      name: "all-features",
      dialect: "graph",
      inputOperator: "question",
      inputFields: ["user_query", "customer_id"],
      endOperators: ["writer"],
    });
    expect(Object.isFrozen(workflow) && Object.isFrozen(workflow.operators[0])).toBe(true);
    // Atomized tools sit right after the parents that supply what they read, not after all of the owner's.
    expect(workflow.levels).toEqual([
      ["audit", "question"],
      ["analyst__sql__nations", "balance", "params"],
      ["analyst__processor__reparsed", "news", "weather"],
      ["analyst__http__rates", "analyst__sql__orders"],
      ["analyst"],
      ["writer"],
    ]);
    expect(workflow.operators.map((operator) => operator.id)).toEqual(workflow.levels.flat());

    const params = byId(workflow, "params") as ProcessorOperator;
    expect(params).toMatchObject({ kind: "processor", processor: "regex_param_extractor", coalesce: true });
    expect(params.source).toMatchObject({ path: "graph.nodes[1]", line: 10 });

    const weather = byId(workflow, "weather") as HttpOperator;
    expect(weather).toMatchObject({
      method: "GET",
      latency: { mode: "padded", meanMs: 250, timeoutMs: 3000 },
      coalesce: false,
    });
    expect(weather.params["limit"]?.text).toBe("5");
    expect((byId(workflow, "news") as HttpOperator).latency).toEqual({ mode: "live", timeoutMs: 30_000 });
    expect((byId(workflow, "news") as HttpOperator).body?.text).toBe('{"region": "{{ extracted.region }}"}');
    expect((byId(workflow, "audit") as HttpOperator).latency).toEqual({ mode: "sleep", ms: 500 });

    const balance = byId(workflow, "balance") as SqlOperator;
    expect(balance).toMatchObject({
      kind: "sql",
      name: "balance_rows",
      coalesce: true,
      parameterTypes: { id: "int" },
    });
    expect(balance.sql).toContain(":id::int AND c_comment NOT LIKE '%%special%%'");

    const analyst = byId(workflow, "analyst") as LlmOperator;
    expect(analyst).toMatchObject({
      model: "Qwen/Qwen3-14B",
      engineHint: "vllm",
      maxTokens: 32,
      temperature: 0,
      topP: 0.9,
      seed: 7,
      coalesce: true,
      inputs: ["user_query", "extracted", "forecast", "orders", "rates", "nations", "reparsed"],
      toolResultInputs: ["orders", "rates", "nations", "reparsed"],
      outputFormat: {
        type: "json",
        fields: ["summary", "risk"],
        schema: {
          type: "object",
          properties: { summary: { type: "string" }, risk: { type: "string" } },
          required: ["summary", "risk"],
          additionalProperties: false,
        },
      },
    });
    expect(analyst.prompt.staticPrefix).toBe(
      '### System\nYou are an analyst.\nRespond ONLY with: { "summary": "string", "risk": "string" }\n\n\n### User\nRegion ',
    );
    expect(analyst.prompt.suffix.text).toBe(
      // shared-first (the graph default): the constant tool result, tool results, the derived forecast, the question.
      "{{ extracted.region }} in {{ extracted.year }}. Rows: {{ orders }}\n\nnations: {{ nations }}\nrates: {{ rates }}\nreparsed: {{ reparsed }}\nforecast: {{ forecast }}\nuser_query: {{ user_query }}\n\n### Assistant\n",
    );

    const orders = byId(workflow, "analyst__sql__orders") as SqlOperator;
    expect(orders).toMatchObject({
      owner: "analyst",
      name: "orders",
      inputs: ["extracted"],
      outputs: ["orders"],
    });
    // Both parents supply "extracted" ("weather" passes its whole scope through, unmapped).
    expect(orders.parents).toEqual(["params", "weather"]);
    expect(orders.source.path).toBe("graph.nodes[6].db_queries[0]");
    expect(byId(workflow, "analyst__sql__nations").inputs).toEqual([]);
    // A tool that reads nothing still runs once per query, right after the input.
    expect(byId(workflow, "analyst__sql__nations").parents).toEqual([workflow.inputOperator]);
    expect(byId(workflow, "analyst__http__rates")).toMatchObject({ latency: { mode: "sleep", ms: 100 } });
    expect(byId(workflow, "analyst__processor__reparsed")).toMatchObject({
      inputs: ["user_query"],
      outputs: ["reparsed"],
    });
    const toolEdge = workflow.edges.find(
      (edge) => edge.from === "params" && edge.to === "analyst__sql__orders",
    );
    expect(toolEdge?.mapping && Object.keys(toolEdge.mapping)).toEqual(["extracted"]);

    const writer = byId(workflow, "writer") as LlmOperator;
    expect(writer).toMatchObject({ temperature: 0.7, coalesce: false, outputFormat: { type: "text" } });
    expect(writer.parents).toEqual(["analyst", "audit", "balance", "news"]);
  });

  it("unrolls a bounded loop into a static DAG", async () => {
    const workflow = expectOk(await loadWorkflowFile(fixturePath("graph-loop.yaml")));
    expect(workflow.levels).toEqual([
      ["topic"],
      ["critique__iter1", "outline"],
      ["revise__iter1"],
      ["critique__iter2"],
      ["revise__iter2"],
      ["critique__iter3"],
      ["revise__iter3"],
      ["publish"],
    ]);
    expect(byId(workflow, "critique__iter1")).toMatchObject({
      loop: { id: "refine", iteration: 1 },
      constantInputs: { draft: "(no draft yet)" },
      parents: ["topic"],
    });
    expect(byId(workflow, "critique__iter2").parents).toEqual(["revise__iter1", "topic"]);
    expect(byId(workflow, "revise__iter3").parents).toEqual(["critique__iter3", "outline", "revise__iter2"]);
    expect(byId(workflow, "revise__iter2").constantInputs).toBeUndefined();
    expect(byId(workflow, "publish").parents).toEqual(["revise__iter3"]);
    expect(workflow.endOperators).toEqual(["publish"]);
  });

  it("compiles the TPC-H example", async () => {
    const workflow = expectOk(await loadWorkflowFile(examplePath("tpch-diamond.yaml")));
    const llms = workflow.operators.filter((operator): operator is LlmOperator => operator.kind === "llm");
    expect(new Set(llms.map((operator) => operator.model))).toEqual(
      new Set(["Qwen/Qwen3-14B", "openai/gpt-oss-20b", "Qwen/Qwen3-32B"]),
    );
    expect(workflow.operators.filter((operator) => operator.kind === "sql")).toHaveLength(5);
    expect(workflow.operators.filter((operator) => operator.kind === "http")).toHaveLength(3);
    expect(llms.every((operator) => operator.maxTokens <= 32)).toBe(true);
  });

  it("warns about unknown fields and mismatched output instructions but compiles", () => {
    const result = loadWorkflowText(
      [
        "graph:",
        "  name: warned",
        "  nodes:",
        "    - {id: q, type: input, outputs: [text], colour: red}",
        "    - id: a",
        "      type: inference",
        "      model: m",
        '      system_prompt: \'Respond ONLY with: { "other": "string" }\'',
        "      inputs: [text]",
        "      outputs: [answer]",
        "      db_queries: [{name: rows, sql: SELECT 1, param_types: {ghost: int}}]",
        "  edges: [{from: q, to: a, mapping: {}}]",
      ].join("\n"),
      { file: "warned.yaml" },
    );
    expect(result.ok).toBe(true);
    expect(
      result.warnings.map((problem) => [problem.code, problem.source.path, problem.source.line]),
    ).toEqual([
      ["unknown-field", "graph.nodes[0].colour", 4],
      ["unknown-field", "graph.nodes[1].db_queries[0].param_types.ghost", 11],
      ["output-mismatch", "graph.nodes[1].system_prompt", 8],
    ]);
    if (result.ok) {
      const answer = byId(result.workflow, "a") as LlmOperator;
      expect(answer.outputFormat.type).toBe("json");
      expect(parseLlmOutput(answer, '{"answer": "yes"}')).toEqual({ answer: "yes" });
      expect(result.workflow.edges[0]?.mapping).toBeNull();
    }
  });

  it("names the workflow after its file when graph.name is absent", () => {
    const result = loadWorkflowText("graph:\n  nodes: [{id: q, type: input, outputs: [x]}]\n", {
      file: "dir/my-flow.yaml",
    });
    expect(expectOk(result)).toMatchObject({ name: "my-flow", endOperators: ["q"] });
  });
});

describe("ops dialect", () => {
  it("maps ops onto an input operator and LLM operators", async () => {
    const workflow = expectOk(await loadWorkflowFile(fixturePath("ops-voting.yaml")));
    expect(workflow).toMatchObject({
      dialect: "ops",
      name: "ops-voting",
      inputOperator: "input",
      inputFields: ["article"],
      dataset: { name: "example/news-articles", config: "default", column: "article" },
      levels: [["input"], ["economy", "politics", "society"], ["verdict"]],
      endOperators: ["verdict"],
    });
    const verdict = byId(workflow, "verdict") as LlmOperator;
    expect(verdict).toMatchObject({
      model: "Qwen/Qwen3-32B",
      maxTokens: 64,
      systemPrompt: "Give a final verdict considering the three judgements above.",
      inputs: ["article", "politics", "economy", "society"],
      outputs: ["verdict"],
      outputFormat: { type: "text" },
    });
    expect(verdict.prompt.staticPrefix).toBe(
      "### System\nGive a final verdict considering the three judgements above.\n\n### User\n",
    );
    expect(verdict.prompt.suffix.text).toBe(
      "article: {{ article }}\npolitics: {{ politics }}\neconomy: {{ economy }}\nsociety: {{ society }}\n\n### Assistant\n",
    );
  });

  it("accepts links given only in output_ops, with a warning", async () => {
    const result = await loadWorkflowFile(fixturePath("ops-chain.yaml"));
    const workflow = expectOk(result);
    expect(workflow.inputFields).toEqual(["text"]);
    expect(byId(workflow, "translate").parents).toEqual(["summarize"]);
    expect(result.warnings.map((problem) => [problem.code, problem.source.path])).toEqual([
      ["inconsistent-ops-links", "ops.summarize.output_ops[0]"],
    ]);
  });
});

describe("invalid workflows: every problem with its path", () => {
  it.each<[string, [string, string][]]>([
    // Reported at the edge that closes the cycle (the last of its edges in the spec).
    ["invalid-cycle.yaml", [["cycle", "graph.edges[3]"]]],
    ["invalid-dangling-edge.yaml", [["dangling-edge", "graph.edges[1].to"]]],
    ["invalid-duplicate-id.yaml", [["duplicate-id", "graph.nodes[2].id"]]],
    ["invalid-unknown-type.yaml", [["unknown-node-type", "graph.nodes[1].type"]]],
    ["invalid-unknown-processor.yaml", [["unknown-processor", "graph.nodes[1].processor"]]],
    [
      "invalid-unbound-variable.yaml",
      [
        ["unbound-variable", "graph.nodes[1].prompt"],
        ["unbound-variable", "graph.nodes[1].db_queries[0].parameters.date"],
        ["unbound-variable", "graph.edges[0].mapping.q"],
      ],
    ],
    ["invalid-missing-model.yaml", [["missing-model", "graph.nodes[1].model"]]],
    [
      "invalid-bad-regex.yaml",
      [
        ["invalid-regex", "graph.nodes[1].config.regex.year[0]"],
        ["invalid-regex", "graph.nodes[1].config.regex.region[0]"],
      ],
    ],
    [
      "invalid-bad-latency.yaml",
      [
        ["invalid-latency", "graph.nodes[1].sleep_ms"],
        ["invalid-latency", "graph.nodes[2].url"],
        ["invalid-latency", "graph.nodes[3].timeout_ms"],
        ["invalid-latency", "graph.nodes[4].latency_ms"],
      ],
    ],
    [
      "invalid-wrong-types.yaml",
      [
        ["invalid-value", "graph.nodes[0].outputs"],
        ["invalid-value", "graph.nodes[1].max_tokens"],
        ["invalid-value", "graph.nodes[1].temperature"],
        ["invalid-value", "graph.edges[0].mapping"],
      ],
    ],
    ["invalid-no-input.yaml", [["missing-input-node", "graph.nodes"]]],
    ["invalid-two-inputs.yaml", [["multiple-input-nodes", "graph.nodes[1]"]]],
    ["invalid-unprovided-input.yaml", [["unprovided-input", "graph.nodes[1].inputs[1]"]]],
    [
      "invalid-loop.yaml",
      [
        ["invalid-value", "graph.loops[0].iterations"],
        ["invalid-loop", "graph.loops[0].body[1]"],
        ["invalid-loop", "graph.loops[0].body[2]"],
        ["invalid-loop", "graph.loops[1].feedback[0].to"],
      ],
    ],
    ["invalid-loop-initial.yaml", [["unprovided-input", "graph.nodes[1].inputs[1]"]]],
    [
      "invalid-many-problems.yaml",
      [
        ["missing-model", "graph.nodes[1].model"],
        ["unknown-node-type", "graph.nodes[2].type"],
        ["unknown-processor", "graph.nodes[3].processor"],
        ["dangling-edge", "graph.edges[3].to"],
        // Reads are checked once every node is known (a name no node produces).
        ["unbound-variable", "graph.nodes[4].prompt"],
      ],
    ],
    [
      "invalid-ops.yaml",
      [
        ["missing-model", "ops.second.model"],
        ["dangling-edge", "start_ops[1]"],
        ["dangling-edge", "ops.second.input_ops[1]"],
      ],
    ],
    ["invalid-ops-cycle.yaml", [["cycle", "ops.second.input_ops[0]"]]],
    ["invalid-not-a-workflow.yaml", [["unknown-dialect", "(document)"]]],
  ])("%s", async (fixture, expected) => {
    expect(await problemsOf(fixture)).toEqual(expected);
  });

  it("prints the cycle", async () => {
    const result = await loadWorkflowFile(fixturePath("invalid-cycle.yaml"));
    expect(result.ok ? "" : result.problems[0]?.message).toBe(
      "cycle: a → b → c → a (closed by the edge c → a)",
    );
    expect(result.ok ? undefined : result.problems[0]?.source.line).toBe(13);
  });

  it("reports YAML syntax errors with lines", () => {
    const result = loadWorkflowText("graph:\n  name: broken\n  nodes: [\n    - id: a\n", {
      file: "broken.yaml",
    });
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.problems[0]).toMatchObject({
        code: "yaml-syntax",
        source: { file: "broken.yaml", line: 4 },
      });
    }
    const duplicateKeys = loadWorkflowText("graph:\n  name: a\n  name: b\n");
    expect(duplicateKeys.ok ? "" : duplicateKeys.problems[0]?.message).toContain("Map keys must be unique");
  });

  it("reports a missing file as a problem", async () => {
    const result = await loadWorkflowFile(fixturePath("no-such-file.yaml"));
    expect(result.ok ? "" : result.problems[0]?.code).toBe("file-not-found");
  });

  it("rejects documents that are not mappings and nodes that are not nodes", () => {
    expect(compileSpec(null).ok).toBe(false);
    expect(compileSpec([1, 2]).ok).toBe(false);
    const result = compileSpec({ graph: { nodes: [42, { id: "x" }, { type: "input", outputs: ["q"] }] } });
    expect(result.ok ? [] : result.problems.map((problem) => [problem.code, problem.source.path])).toEqual([
      ["invalid-value", "graph.nodes[0]"],
      ["missing-field", "graph.nodes[1].type"],
      ["missing-field", "graph.nodes[2].id"],
    ]);
  });

  it("checks names, edges into the input, duplicate edges and mapping targets", () => {
    const result = compileSpec({
      graph: {
        nodes: [
          { id: "q", type: "input", inputs: ["x"], outputs: ["text", "text"] },
          {
            id: "a",
            type: "inference",
            model: "m",
            inputs: ["text"],
            outputs: ["out"],
            db_queries: [
              { name: "rows", sql: "SELECT 1" },
              { name: "rows", sql: "SELECT 2" },
              { name: "text", sql: "SELECT 3" },
            ],
            tool_calls: [
              "not a call",
              { name: "t" },
              { name: "t2", type: "ftp" },
              {
                name: "t3",
                type: "db",
                sql: "SELECT :x",
                parameters: { x: "{{ nope }}" },
                inputs: ["ghost"],
              },
              { name: "t4", type: "processor", processor: "nope" },
              { name: "t5", type: "http", url: "not a url" },
              { name: "t6", type: "http", sleep_ms: 1, params: { p: "{{ bad | filter }}" } },
            ],
          },
          { id: "db", type: "db", sql: "SELECT 1", outputs: ["one", "two"] },
        ],
        edges: [
          { from: "a", to: "q" },
          { from: "q", to: "a", mapping: { text: "{{ text }}", extra: "{{ text }}" } },
          { from: "q", to: "a" },
        ],
      },
    });
    expect(result.ok ? [] : result.problems.map((problem) => [problem.code, problem.source.path])).toEqual([
      ["duplicate-name", "graph.nodes[0].outputs[1]"],
      ["invalid-value", "graph.nodes[0].inputs"],
      ["duplicate-name", "graph.nodes[1].db_queries[1].name"],
      ["duplicate-name", "graph.nodes[1].db_queries[2].name"],
      ["invalid-value", "graph.nodes[1].tool_calls[0]"],
      ["missing-field", "graph.nodes[1].tool_calls[1].type"],
      ["unknown-node-type", "graph.nodes[1].tool_calls[2].type"],
      ["unbound-variable", "graph.nodes[1].tool_calls[3].parameters.x"],
      ["unknown-processor", "graph.nodes[1].tool_calls[4].processor"],
      ["invalid-value", "graph.nodes[1].tool_calls[5].url"],
      ["invalid-template", "graph.nodes[1].tool_calls[6].params.p"],
      ["invalid-value", "graph.nodes[2].outputs"],
      ["edge-into-input", "graph.edges[0].to"],
      ["duplicate-edge", "graph.edges[2]"],
      // A tool call's declared input may come from any ancestor, but no node produces "ghost".
      ["unbound-variable", "graph.nodes[1].tool_calls[3].inputs[0]"],
    ]);
  });

  it("rejects mapping targets the child does not declare", () => {
    const result = compileSpec({
      graph: {
        nodes: [
          { id: "q", type: "input", outputs: ["text"] },
          { id: "a", type: "inference", model: "m", inputs: ["text"], outputs: ["out"] },
        ],
        edges: [
          { from: "q", to: "a", mapping: { text: "{{ text }}", extra: "{{ text }}", other: "{{ 1x }}" } },
        ],
      },
    });
    expect(result.ok ? [] : result.problems.map((problem) => [problem.code, problem.source.path])).toEqual([
      ["unknown-mapping-target", "graph.edges[0].mapping.extra"],
      ["unknown-mapping-target", "graph.edges[0].mapping.other"],
    ]);
  });

  it("turns a failing processor config check into a problem", async () => {
    const { processorRegistry } = await import("./processors/processor-registry.js");
    processorRegistry.register("exploding_config", {
      run: () => ({}),
      validateConfig: () => {
        throw new Error("boom");
      },
    });
    const result = compileSpec({
      graph: {
        nodes: [
          { id: "q", type: "input", outputs: ["text"] },
          { id: "p", type: "processor", processor: "exploding_config", inputs: ["text"], outputs: ["r"] },
        ],
        edges: [{ from: "q", to: "p" }],
      },
    });
    expect(result.ok ? [] : result.problems.map((problem) => [problem.code, problem.message])).toEqual([
      ["invalid-config", 'processor "exploding_config" rejected its config: boom'],
    ]);
  });

  it("loads the example from text identically to the file", async () => {
    const text = readFileSync(examplePath("tpch-diamond.yaml"), "utf8");
    const fromText = expectOk(loadWorkflowText(text, { file: examplePath("tpch-diamond.yaml") }));
    const fromFile = expectOk(await loadWorkflowFile(examplePath("tpch-diamond.yaml")));
    expect(fromText).toEqual(fromFile);
  });
});
