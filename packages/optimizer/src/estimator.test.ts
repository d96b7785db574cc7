import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type CompiledWorkflow, loadWorkflowFile, loadWorkflowText } from "@halo/ir";
import { H100_SIMULATED_PROFILE } from "@halo/profiles";
import { describe, expect, it } from "vitest";
import { estimateProblem, syntheticQueries } from "./estimator.js";
import { planBatch } from "./plan-batch.js";
import { BUILTIN_STRATEGIES } from "./strategy-registry.js";
import { identicalWorkers } from "./test/index.js";
import { planProblems } from "./validate-plan.js";

const here = dirname(fileURLToPath(import.meta.url));
const repository = join(here, "..", "..", "..");
const fixtureFiles = [
  ...readdirSync(join(repository, "packages", "ir", "fixtures"))
    .filter((file) => !file.startsWith("invalid-") && file.endsWith(".yaml"))
    .map((file) => join(repository, "packages", "ir", "fixtures", file)),
  join(repository, "examples", "tpch-diamond.yaml"),
];

async function load(path: string): Promise<CompiledWorkflow> {
  const result = await loadWorkflowFile(path);
  if (!result.ok) throw new Error(`${path}: ${result.problems.map((problem) => problem.message).join("; ")}`);
  return result.workflow;
}

/** Compiles a workflow from YAML lines; throws with the problems when it is invalid. */
function compile(lines: readonly string[], file: string): CompiledWorkflow {
  const result = loadWorkflowText(lines.join("\n"), { file });
  if (!result.ok) throw new Error(result.problems.map((problem) => problem.message).join("; "));
  return result.workflow;
}

function inline(model: string, extra: readonly string[] = []): CompiledWorkflow {
  return compile(
    [
      "start_ops: [ask]",
      "end_ops: [ask]",
      "ops:",
      "  ask:",
      `    model: ${model}`,
      ...extra.map((line) => `    ${line}`),
      "    prompt: Answer briefly.",
      "    max_tokens: 64",
      "    input_ops: []",
      "    output_ops: []",
    ],
    "inline.yaml",
  );
}

describe("estimateProblem", () => {
  it("plans every IR fixture and the example with every strategy", async () => {
    expect(fixtureFiles.length).toBeGreaterThanOrEqual(4);
    for (const file of fixtureFiles) {
      const workflow = await load(file);
      const queries = syntheticQueries(workflow, 40);
      for (const strategy of BUILTIN_STRATEGIES) {
        const { plan, estimate } = await planBatch({
          workflow,
          queries,
          workers: identicalWorkers(2),
          strategy: strategy.name,
          timeLimitMs: 3_000,
        });
        expect(planProblems(plan, estimate.problem), `${file} ${strategy.name}`).toEqual([]);
        const llmCount = workflow.operators.filter((operator) => operator.kind === "llm").length;
        expect(
          plan.epochs.flatMap((epoch) => epoch.steps.map((step) => step.operator)).length,
        ).toBeGreaterThanOrEqual(llmCount);
      }
    }
  });

  it("measures tokens and coalescing: identical contexts coalesce, static prefixes are shared", async () => {
    const workflow = await load(join(repository, "examples", "tpch-diamond.yaml"));
    const same = Array.from({ length: 30 }, (_, index) => ({
      id: `q${index}`,
      context: Object.fromEntries(workflow.inputFields.map((field) => [field, "region=ASIA year=1994"])),
    }));
    const { problem } = estimateProblem({ workflow, queries: same, workers: identicalWorkers(1) });
    const tools = problem.operators.filter((operator) => operator.kind !== "llm");
    expect(tools.some((operator) => operator.statistics.distinctRequests === 1)).toBe(true);
    for (const operator of problem.operators) {
      if (operator.kind !== "llm") continue;
      expect(operator.statistics.instances).toBe(30);
      expect(operator.statistics.sharedPrefixTokens).toBeGreaterThan(0);
      expect(operator.statistics.prefixKey).toMatch(/^[0-9a-f]{64}$/);
    }
  });

  it("counts requests known only at run time once per distinct query context when every ancestor coalesces", () => {
    const chain = (temperature: number) =>
      compile(
        [
          "start_ops: [summarize]",
          "end_ops: [translate]",
          "ops:",
          "  summarize:",
          "    model: Qwen/Qwen3-14B",
          `    temperature: ${temperature}`,
          "    prompt: Summarize.",
          "    output_ops: [translate]",
          "  translate:",
          "    model: Qwen/Qwen3-14B",
          "    prompt: Translate the summary to French.",
        ],
        "chain.yaml",
      );
    // 30 queries, 3 distinct texts: the runtime makes 3 calls of each operator.
    const queries = Array.from({ length: 30 }, (_, index) => ({
      id: `q${index}`,
      context: { text: `article ${index % 3}` },
    }));
    const distinct = (temperature: number) => {
      const { problem, consolidation } = estimateProblem({
        workflow: chain(temperature),
        queries,
        workers: identicalWorkers(1),
      });
      const unknown = consolidation.operators.find(
        (entry) => entry.operator === "translate",
      )!.unknownRequests;
      return {
        unknown,
        ...Object.fromEntries(
          problem.operators.map((operator) => [operator.id, operator.statistics.distinctRequests]),
        ),
      };
    };
    expect(distinct(0)).toEqual({ unknown: 30, summarize: 3, translate: 3 });
    // A sampled parent gives each query its own output: its children cannot coalesce.
    expect(distinct(0.7)).toEqual({ unknown: 30, summarize: 30, translate: 30 });
  });

  it("measures what run-time prompts share beyond the static prefix: the same tool result leads many prompts", () => {
    const workflow = (coalesce: boolean) =>
      compile(
        [
          "graph:",
          "  name: shared-report",
          "  nodes:",
          "    - id: question",
          "      type: input",
          "      outputs: [region, user_query]",
          "    - id: report",
          "      type: http",
          "      url: http://reports.example.invalid/region",
          "      params: { region: '{{ region }}' }",
          "      sleep_ms: 10",
          `      coalesce: ${coalesce}`,
          "      inputs: [region]",
          "      outputs: [report]",
          "    - id: answer",
          "      type: inference",
          "      model: Qwen/Qwen3-14B",
          "      temperature: 0",
          "      system_prompt: You answer questions about a regional report.",
          "      prompt: 'Report: {{ report }} Question: {{ user_query }}'",
          "      max_tokens: 16",
          "      inputs: [report, user_query]",
          "      outputs: [answer]",
          "    - id: summarize",
          "      type: inference",
          "      model: Qwen/Qwen3-14B",
          "      temperature: 0",
          "      prompt: 'Summarize: {{ report }}'",
          "      max_tokens: 16",
          "      inputs: [report]",
          "      outputs: [summary]",
          "  edges:",
          "    - { from: question, to: report }",
          "    - { from: question, to: answer }",
          "    - { from: report, to: answer }",
          "    - { from: report, to: summarize }",
        ],
        "shared-report.yaml",
      );
    // 30 distinct questions over 3 regions: each region's report leads 10 prompts.
    const queries = Array.from({ length: 30 }, (_, index) => ({
      id: `q${index}`,
      context: { region: `region ${index % 3}`, user_query: `question number ${index}` },
    }));
    const statisticsOf = (coalesce: boolean, id = "answer") => {
      const { problem } = estimateProblem({
        workflow: workflow(coalesce),
        queries,
        workers: identicalWorkers(1),
      });
      const operator = problem.operators.find((candidate) => candidate.id === id)!;
      if (operator.kind !== "llm") throw new Error(`${id} is an LLM operator`);
      return operator.statistics;
    };
    // `summarize` reads only the report: one call per region at run time, although every query differs.
    expect(statisticsOf(true, "summarize").distinctRequests).toBe(3);
    expect(statisticsOf(false, "summarize").distinctRequests).toBe(30);
    const shared = statisticsOf(true);
    expect(shared.distinctRequests).toBe(30);
    // The report (a tool result, 64 tokens by default) and the text before it: 27 of 30 prompts find them cached.
    expect(shared.batchSharedPromptTokens).toBeGreaterThan(0.9 * 64 * 0.9);
    expect(shared.batchSharedPromptTokens).toBeLessThan(shared.uniquePromptTokens);
    // Without coalescing each call returns its own report: only the leading literal text is shared.
    const apart = statisticsOf(false);
    expect(apart.batchSharedPromptTokens ?? 0).toBeLessThan(8);
    expect(apart.uniquePromptTokens).toBe(shared.uniquePromptTokens);
  });

  it("derives a profile for a model with a parameter count in its name, with a warning", () => {
    const workflow = inline("acme/tiny-chat-7B");
    const { problem, warnings } = estimateProblem({
      workflow,
      queries: syntheticQueries(workflow, 3),
      workers: identicalWorkers(1),
    });
    expect(warnings.join("\n")).toContain('model "acme/tiny-chat-7B" (operator "ask") has no profile');
    expect(problem.workers[0]!.profile.models["acme/tiny-chat-7B"]!.parameterCount).toBe(7e9);
  });

  it("names the model and operator when a model has neither a profile nor a parameter count", () => {
    const workflow = inline("acme/mystery-chat");
    expect(() =>
      estimateProblem({ workflow, queries: syntheticQueries(workflow, 3), workers: identicalWorkers(1) }),
    ).toThrow(/operator "ask": model "acme\/mystery-chat" has no profile on worker "w0"/);
  });

  it("sizes a quantized model by its quantization: a 70B AWQ model plans on an 80 GiB worker", async () => {
    const gib = 2 ** 30;
    const plan = async (workflow: CompiledWorkflow) =>
      planBatch({
        workflow,
        queries: syntheticQueries(workflow, 4),
        workers: identicalWorkers(1),
        strategy: "dp",
      });
    // The prototype's multi_voting_5m spelling: quantization and dtype on the op.
    const awq = inline("acme/Llama-3.3-70B-Instruct", ["quantization: awq", "dtype: float16"]);
    const planned = await plan(awq);
    const weights =
      planned.estimate.problem.workers[0]!.profile.models["acme/Llama-3.3-70B-Instruct"]!.weightsBytes;
    expect(weights / gib).toBeGreaterThan(30);
    expect(weights / gib).toBeLessThan(45);
    expect(planProblems(planned.plan, planned.estimate.problem)).toEqual([]);
    // The same model at 16 bits (dtype only, or nothing said) needs about 130 GiB: no 80 GiB worker holds it.
    await expect(plan(inline("acme/Llama-3.3-70B-Instruct", ["dtype: bf16"]))).rejects.toThrow(
      /needs 1[23][0-9]\.[0-9] GiB for its weights, more than any worker.s memory/,
    );
    await expect(plan(inline("acme/Llama-3.3-70B-Instruct"))).rejects.toThrow(
      /needs 1[23][0-9]\.[0-9] GiB for its weights, more than any worker.s memory/,
    );
    // A hub name that says AWQ is sized as AWQ (as the simulated engine derives it from the name too).
    const named = await plan(inline("kosbu/Llama-3.3-70B-Instruct-AWQ"));
    expect(planProblems(named.plan, named.estimate.problem)).toEqual([]);
  });

  it("warns about a quantization model sizing does not know", () => {
    const workflow = inline("acme/tiny-chat-7B", ["quantization: mystery4"]);
    const { warnings } = estimateProblem({
      workflow,
      queries: syntheticQueries(workflow, 3),
      workers: identicalWorkers(1),
    });
    expect(warnings.join("\n")).toContain('quantization "mystery4" is not one model sizing knows');
  });

  it("marks JSON-constrained operators as structured output and prices them with structuredDecode", async () => {
    const workflow = await load(join(repository, "packages", "ir", "fixtures", "graph-all-features.yaml"));
    const llm = workflow.operators.filter((operator) => operator.kind === "llm");
    const json = llm.filter((operator) => operator.outputFormat.type === "json");
    expect(json.length).toBeGreaterThan(0);
    const queries = syntheticQueries(workflow, 8);
    const free = estimateProblem({ workflow, queries, workers: identicalWorkers(1) });
    for (const operator of free.problem.operators) {
      if (operator.kind !== "llm") continue;
      const isJson = json.some((candidate) => candidate.id === operator.id);
      expect(operator.statistics.structuredOutput, operator.id).toBe(isJson ? true : undefined);
    }
    // A profile whose structured decode steps cost twice the free ones plans a longer batch.
    const slower = {
      ...H100_SIMULATED_PROFILE,
      models: Object.fromEntries(
        Object.entries(H100_SIMULATED_PROFILE.models).map(([name, model]) => [
          name,
          {
            ...model,
            structuredDecode: {
              stepFixedMs: model.decode.stepFixedMs * 2,
              stepMsPerSequence: model.decode.stepMsPerSequence * 2,
              stepMsPerContextToken: model.decode.stepMsPerContextToken * 2,
            },
          },
        ]),
      ),
    };
    const plan = (profile: typeof H100_SIMULATED_PROFILE) =>
      planBatch({ workflow, queries, workers: identicalWorkers(1, profile), strategy: "dp" });
    const [plain, structured] = [await plan(H100_SIMULATED_PROFILE), await plan(slower)];
    expect(structured.plan.estimatedMakespanMs).toBeGreaterThan(plain.plan.estimatedMakespanMs);
    expect(planProblems(structured.plan, structured.estimate.problem)).toEqual([]);
  });

  it("rejects an empty batch and no workers", () => {
    const workflow = inline("acme/tiny-chat-7B");
    expect(() => estimateProblem({ workflow, queries: [], workers: identicalWorkers(1) })).toThrow(
      "no queries",
    );
    expect(() => estimateProblem({ workflow, queries: syntheticQueries(workflow, 1), workers: [] })).toThrow(
      "no workers",
    );
  });

  it("prices no inherited context: a child sharing its parent's model, system prompt and prompt start still prefills it", () => {
    const result = loadWorkflowText(
      `
graph:
  name: inherit
  nodes:
    - { id: question, type: input, outputs: [text] }
    - id: first
      type: inference
      model: Qwen/Qwen3-14B
      max_tokens: 32
      system_prompt: You are a careful analyst.
      inputs: [text]
      outputs: [notes]
    - id: second
      type: inference
      model: Qwen/Qwen3-14B
      max_tokens: 32
      system_prompt: You are a careful analyst.
      inputs: [text]
      outputs: [answer]
  edges:
    - { from: question, to: first }
    - { from: first, to: second }
`,
      { file: "inherit.yaml" },
    );
    if (!result.ok) throw new Error(result.problems.map((problem) => problem.message).join("; "));
    const { problem } = estimateProblem({
      workflow: result.workflow,
      queries: syntheticQueries(result.workflow, 4),
      workers: identicalWorkers(1),
    });
    for (const operator of problem.operators) {
      if (operator.kind === "llm") expect(operator.statistics.inheritedContext).toBeUndefined();
    }
  });
});
