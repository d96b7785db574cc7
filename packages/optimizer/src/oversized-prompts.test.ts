import { loadWorkflowText } from "@halo/ir";
import { H100_SIMULATED_PROFILE } from "@halo/profiles";
import { describe, expect, it } from "vitest";
import { findOversizedPrompts } from "./oversized-prompts.js";
import { planBatch } from "./plan-batch.js";

// The question reaches the answer's prompt through a tool whose output is only known at run time.
const loaded = loadWorkflowText(
  `
graph:
  name: lookup
  nodes:
    - { id: question, type: input, outputs: [text] }
    - { id: facts, type: http, url: "http://facts.invalid/x", sleep_ms: 1, params: { q: "{{ text }}" }, inputs: [text], outputs: [facts] }
    - { id: answer, type: inference, model: Qwen/Qwen3-32B, max_tokens: 32, system_prompt: Answer., inputs: [text, facts], outputs: [answer] }
  edges:
    - { from: question, to: facts }
    - { from: facts, to: answer }
`,
  { file: "lookup.yaml" },
);
if (!loaded.ok) throw new Error(loaded.problems.map((problem) => problem.message).join("\n"));
const workflow = loaded.workflow;
const workers = [0, 1].map((index) => ({ id: `worker-${index}`, profile: H100_SIMULATED_PROFILE }));

describe("findOversizedPrompts", () => {
  it("names the query, operator and model of a prompt no worker holds, and only that query", () => {
    const queries = [
      { id: "small", context: { text: "what is the capital of France?" } },
      // About 200k tokens: more than the 32k context of the simulated H100's models.
      { id: "huge", context: { text: "word ".repeat(200_000) } },
      // About 40k tokens in 160 KB: within 32 bytes a token, so its tokens are counted.
      { id: "counted", context: { text: "word ".repeat(40_000) } },
      // Long in bytes but within the context: counted, not rejected.
      { id: "long", context: { text: "word ".repeat(5_000) } },
    ];
    const oversized = findOversizedPrompts({ workflow, queries, workers });
    expect(oversized.map((entry) => entry.queryId)).toEqual(["huge", "counted"]);
    expect(oversized[0]).toMatchObject({ operator: "answer", model: "Qwen/Qwen3-32B", maxTokens: 32 });
    expect(oversized[0]!.promptTokens).toBeGreaterThan(32_768);
    expect(oversized[0]!.message).toMatch(/^prompt-too-long: operator "answer": about \d+\+? prompt tokens/);
    expect(oversized[1]!.promptTokens).toBeGreaterThan(32_768);
  }, 300_000);

  it("leaves a batch the planner can plan once the oversized query is set aside", async () => {
    const queries = [
      { id: "huge", context: { text: "x ".repeat(400_000) } },
      { id: "small", context: { text: "hello" } },
    ];
    const rejected = new Set(
      findOversizedPrompts({ workflow, queries, workers }).map((entry) => entry.queryId),
    );
    expect([...rejected]).toEqual(["huge"]);
    const { plan } = await planBatch({
      workflow,
      queries: queries.filter((query) => !rejected.has(query.id)),
      workers,
      strategy: "greedy",
    });
    expect(plan.queryCount).toBe(1);
  }, 300_000);
});
