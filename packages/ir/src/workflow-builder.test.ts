import { describe, expect, it } from "vitest";
import { WorkflowValidationError } from "./problems.js";
import { fixturePath } from "./test-fixtures.js";
import type { CompiledWorkflow } from "./types.js";
import { workflow } from "./workflow-builder.js";
import { loadWorkflowFile } from "./workflow-loader.js";

/** The IR without where it came from (file, paths, lines), to compare dialects. */
function withoutSources(compiled: CompiledWorkflow): unknown {
  return JSON.parse(
    JSON.stringify({ ...compiled, dialect: undefined, source: undefined }, (key, value) =>
      key === "source" ? undefined : value,
    ),
  );
}

function loopWorkflow() {
  return workflow("refine-loop")
    .input("topic", { outputs: ["subject"] })
    .inference("outline", {
      model: "Qwen/Qwen3-14B",
      maxTokens: 16,
      systemPrompt: "Outline the subject.",
      inputs: ["subject"],
      outputs: ["outline"],
    })
    .inference("critique", {
      model: "Qwen/Qwen3-32B",
      maxTokens: 16,
      systemPrompt: "Criticize the draft.",
      inputs: ["subject", "draft"],
      outputs: ["critique"],
    })
    .inference("revise", {
      model: "Qwen/Qwen3-14B",
      maxTokens: 16,
      systemPrompt: "Revise the draft using the critique.",
      inputs: ["outline", "draft", "critique"],
      outputs: ["draft"],
    })
    .inference("publish", {
      model: "openai/gpt-oss-20b",
      maxTokens: 16,
      systemPrompt: "Publish the final draft.",
      inputs: ["draft"],
      outputs: ["article"],
    })
    .edge("topic", "outline")
    .edge("topic", "critique")
    .edge("outline", "revise")
    .edge("critique", "revise")
    .edge("revise", "publish")
    .loop({
      id: "refine",
      body: ["critique", "revise"],
      iterations: 3,
      feedback: [
        { from: "revise", to: "critique", mapping: { draft: "{{ draft }}" } },
        { from: "revise", to: "revise", mapping: { draft: "{{ draft }}" } },
      ],
      initial: { draft: "(no draft yet)" },
    });
}

describe("workflow builder", () => {
  it("produces the same IR as the YAML file", async () => {
    const fromYaml = await loadWorkflowFile(fixturePath("graph-loop.yaml"));
    if (!fromYaml.ok) throw new Error("fixture must load");
    const built = loopWorkflow().validate().compile();
    expect(built.dialect).toBe("builder");
    expect(built.source).toBe("builder");
    expect(built.operators[1]?.source).toEqual({ file: "builder", path: 'inference("critique")' });
    expect(withoutSources(built)).toEqual(withoutSources(fromYaml.workflow));
  });

  it("produces the same IR as graph-all-features.yaml", async () => {
    const fromYaml = await loadWorkflowFile(fixturePath("graph-all-features.yaml"));
    if (!fromYaml.ok) throw new Error("fixture must load");
    const built = workflow("all-features", {
      description:
        "input, processor, http (three latency modes), db, inference with db_queries, tool_calls and a prompt template",
    })
      .input("question", { outputs: ["user_query", "customer_id"] })
      .processor("params", {
        processor: "regex_param_extractor",
        coalesce: true,
        inputs: ["user_query"],
        outputs: ["extracted"],
        config: {
          regex: {
            region: ["(?i)region\\s*=\\s*([a-z ]+?)(?:$|\\s\\w+=)"],
            year: ["(?i)year\\s*=\\s*(\\d{4})"],
          },
          enums: { region: ["ASIA", "EUROPE", "MIDDLE EAST"] },
          defaults: { region: "ASIA", year: 1995 },
          normalize: { numeric_fields: ["year"] },
        },
      })
      .http("weather", {
        url: "http://api.example.invalid/weather",
        method: "get",
        params: { region: "{{ extracted.region }}", limit: 5 },
        headers: { "x-trace": "q-{{ extracted.year }}" },
        latencyMs: 250,
        timeoutS: 3,
        inputs: ["extracted"],
        outputs: ["forecast"],
      })
      .http("news", {
        url: "http://api.example.invalid/news",
        method: "POST",
        body: '{"region": "{{ extracted.region }}"}',
        inputs: ["extracted"],
        outputs: ["headline", "source"],
      })
      .http("audit", { sleepS: 0.5, inputs: [], outputs: ["audit"] })
      .db("balance", {
        sql: "SELECT c_acctbal FROM customer WHERE c_custkey = :id::int AND c_comment NOT LIKE '%%special%%'",
        parameters: { id: "{{ customer_id }}" },
        paramTypes: { id: "int" },
        inputs: ["customer_id"],
        outputs: ["balance_rows"],
      })
      .inference("analyst", {
        engine: "vllm",
        model: "Qwen/Qwen3-14B",
        systemPrompt: 'You are an analyst.\nRespond ONLY with: { "summary": "string", "risk": "string" }\n',
        prompt: "Region {{ extracted.region }} in {{ extracted.year }}. Rows: {{ orders }}",
        maxTokens: 32,
        temperature: 0,
        topP: 0.9,
        seed: 7,
        inputs: ["user_query", "extracted", "forecast"],
        outputs: ["summary", "risk"],
        dbQueries: [
          {
            name: "orders",
            sql: "SELECT o_orderkey FROM orders o JOIN nation n ON n.n_nationkey = o.o_custkey WHERE n.n_name = :region AND EXTRACT(year FROM o_orderdate) = :year",
            parameters: { region: "{{ extracted.region }}", year: "{{ extracted.year }}" },
            paramTypes: { region: "text", year: "int" },
          },
        ],
        toolCalls: [
          {
            name: "rates",
            type: "http",
            url: "http://api.example.invalid/rates",
            params: { year: "{{ extracted.year }}" },
            sleepMs: 100,
          },
          { name: "nations", type: "db", sql: "SELECT n_name FROM nation" },
          {
            name: "reparsed",
            type: "processor",
            processor: "regex_param_extractor",
            inputs: ["user_query"],
            config: { regex: { year: ["(\\d{4})"] } },
          },
        ],
      })
      .inference("writer", {
        model: "openai/gpt-oss-20b",
        temperature: 0.7,
        inputs: ["summary", "risk", "headline", "balance_rows", "audit"],
        outputs: ["report"],
      })
      .edge("question", "params")
      .edge("params", "weather")
      .edge("params", "news", { extracted: "{{ extracted }}" })
      .edge("question", "balance")
      .edge("params", "analyst", { user_query: "{{ user_query }}", extracted: "{{ extracted }}" })
      .edge("weather", "analyst")
      .edge("analyst", "writer")
      .edge("news", "writer", { headline: "{{ headline }}" })
      .edge("balance", "writer", { balance_rows: "{{ balance_rows.0 }}" })
      .edge("audit", "writer")
      .compile();
    expect(withoutSources(built)).toEqual(withoutSources(fromYaml.workflow));
  });

  it("lists every problem at its builder call", () => {
    const builder = workflow("broken")
      .input("q", { outputs: ["text"] })
      .inference("answer", {
        model: "",
        inputs: ["text"],
        outputs: ["a"],
        dbQueries: [{ name: "rows", sql: "SELECT :d", parameters: { d: "{{ params.date }}" } }],
        toolCalls: [{ name: "slow", type: "http", url: "http://x.invalid", latencyMs: 5, sleepMs: 1 }],
      })
      .edge("q", "answer")
      .edge("answer", "q")
      .loop({ id: "l", body: ["ghost"], iterations: 2 });
    expect(builder.problems().map((problem) => [problem.code, problem.source.path])).toEqual([
      ["invalid-value", 'inference("answer").model'],
      ["invalid-latency", 'inference("answer").toolCalls[0].sleepMs'],
      ["edge-into-input", 'edge("answer", "q").to'],
      ["invalid-loop", 'loop("l").body[0]'],
      ["unbound-variable", 'inference("answer").dbQueries[0].parameters.d'],
    ]);
    expect(() => builder.validate()).toThrow(WorkflowValidationError);
    expect(() => builder.compile()).toThrow(/inference\("answer"\)\.dbQueries\[0\]\.parameters\.d/);
    try {
      builder.compile();
    } catch (error) {
      expect((error as WorkflowValidationError).problems).toHaveLength(5);
    }
  });

  it("reports workflow-level problems at workflow(name)", () => {
    const empty = workflow("empty");
    expect(empty.problems().map((problem) => [problem.code, problem.source.path])).toEqual([
      ["missing-input-node", 'workflow("empty").nodes'],
    ]);
    expect(workflow("").problems()[0]?.source.path).toBe('workflow("").name');
    expect(empty.toSpec()).toEqual({ graph: { name: "empty", nodes: [], edges: [] } });
  });
});
