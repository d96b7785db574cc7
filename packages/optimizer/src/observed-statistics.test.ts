import { type CompiledWorkflow, loadWorkflowText } from "@halo/ir";
import { describe, expect, it } from "vitest";
import { estimateProblem } from "./estimator.js";
import { PlanFormatError } from "./execution-plan.js";
import {
  mergeObservedStatistics,
  OBSERVED_STATISTICS_VERSION,
  type ObservedStatistics,
  parseObservedStatistics,
  scaleObservedTimes,
} from "./observed-statistics.js";
import type { LlmOperatorStatistics, ToolOperatorStatistics } from "./planning-problem.js";
import { identicalWorkers } from "./test/index.js";

/** A tool whose result feeds a prompt with a static system prompt: what a run can tell the planner. */
function lookupWorkflow(): CompiledWorkflow {
  const result = loadWorkflowText(
    [
      "graph:",
      "  name: lookup-answer",
      "  nodes:",
      "    - id: question",
      "      type: input",
      "      outputs: [city]",
      "    - id: lookup",
      "      type: http",
      "      url: http://places.example.invalid/city",
      "      params: { city: '{{ city }}' }",
      "      sleep_ms: 10",
      "      inputs: [city]",
      "      outputs: [rows]",
      "    - id: answer",
      "      type: inference",
      "      model: Qwen/Qwen3-14B",
      "      temperature: 0",
      "      system_prompt: You describe places to visit in a city for a travel guide, in two sentences.",
      "      prompt: 'Places: {{ rows }}'",
      "      max_tokens: 200",
      "      inputs: [rows]",
      "      outputs: [answer]",
      "  edges:",
      "    - { from: question, to: lookup }",
      "    - { from: lookup, to: answer }",
    ].join("\n"),
    { file: "lookup-answer.yaml" },
  );
  if (!result.ok) throw new Error(result.problems.map((problem) => problem.message).join("; "));
  return result.workflow;
}

const queries = Array.from({ length: 50 }, (_, index) => ({
  id: `q${index}`,
  context: { city: `city ${index}` },
}));

function observed(
  operators: ObservedStatistics["operators"],
  workflow = "lookup-answer",
): ObservedStatistics {
  return { statisticsVersion: OBSERVED_STATISTICS_VERSION, workflow, queries: 50, operators };
}

function statisticsOf(statistics?: ObservedStatistics) {
  const estimate = estimateProblem({
    workflow: lookupWorkflow(),
    queries,
    workers: identicalWorkers(1),
    ...(statistics ? { observed: statistics } : {}),
  });
  const llm = estimate.problem.operators.find((operator) => operator.id === "answer")!;
  const tool = estimate.problem.operators.find((operator) => operator.id === "lookup")!;
  return {
    llm: llm.statistics as LlmOperatorStatistics,
    tool: tool.statistics as ToolOperatorStatistics,
    warnings: estimate.warnings,
  };
}

describe("observed statistics", () => {
  it("replace the estimator's defaults: output and prompt tokens, what the cache served, tool call time", () => {
    const cold = statisticsOf();
    // Defaults: half of max_tokens, a 64-token tool result, the declared latency.
    expect(cold.llm.outputTokens).toBe(100);
    expect(cold.tool.latencyMeanMs).toBe(10);
    expect(
      cold.warnings.some((warning) => warning.includes('"answer": prompts depend on run-time outputs')),
    ).toBe(true);
    const prefix = cold.llm.sharedPrefixTokens;
    expect(prefix).toBeGreaterThan(10);

    // 40 items answered: 6,000 prompt tokens (150 each), 2,400 served from cache (60 each), 6,400 generated.
    const warm = statisticsOf(
      observed({
        answer: { kind: "llm", items: 40, promptTokens: 6_000, cachedTokens: 2_400, generatedTokens: 6_400 },
        lookup: { kind: "tool", calls: 50, busyMs: 350 },
      }),
    );
    expect(warm.llm.outputTokens).toBe(160);
    // The engine's count replaces the estimate; the known prefix keeps its count, the guessed rest takes the difference.
    expect(warm.llm.sharedPrefixTokens).toBe(prefix);
    expect(warm.llm.uniquePromptTokens).toBe(150 - prefix);
    // What the cache served beyond the shared prefix, other requests of the batch share.
    expect(warm.llm.batchSharedPromptTokens).toBe(60 - prefix);
    // Prefilled per request, as the run measured: prompt − cached.
    expect(warm.llm.uniquePromptTokens - (warm.llm.batchSharedPromptTokens ?? 0)).toBe(150 - 60);
    // A cache that served less than the estimated prefix per item bounds it (the engine counts the prefix shorter).
    const short = statisticsOf(
      observed({
        answer: { kind: "llm", items: 10, promptTokens: 1_500, cachedTokens: 80, generatedTokens: 10 },
      }),
    );
    expect(short.llm.sharedPrefixTokens).toBe(8);
    expect(short.llm.uniquePromptTokens).toBe(142);
    expect(short.llm.batchSharedPromptTokens).toBeUndefined();
    expect(warm.tool.latencyMeanMs).toBe(7);
    expect(warm.tool.latencyP95Ms).toBeGreaterThan(7);
    // Measured, not guessed: no warning about the template estimate.
    expect(warm.warnings.some((warning) => warning.includes("run-time outputs"))).toBe(false);
  });

  it("keep the defaults of operators they do not cover, and say which of theirs do not match", () => {
    const partial = statisticsOf(
      observed(
        {
          answer: { kind: "tool", calls: 3, busyMs: 3 },
          gone: { kind: "llm", items: 1, promptTokens: 1, cachedTokens: 0, generatedTokens: 1 },
        },
        "another-workflow",
      ),
    );
    expect(partial.llm.outputTokens).toBe(100);
    expect(partial.tool.latencyMeanMs).toBe(10);
    expect(partial.warnings).toContain(
      'observed statistics are of workflow "another-workflow", not "lookup-answer": only operators of the same id and kind are used',
    );
    expect(partial.warnings).toContain(
      "observed statistics name operators this workflow does not have (or of another kind), ignored: answer, gone",
    );
    // An operator that answered nothing keeps the defaults too.
    const empty = statisticsOf(
      observed({ answer: { kind: "llm", items: 0, promptTokens: 0, cachedTokens: 0, generatedTokens: 0 } }),
    );
    expect(empty.llm.outputTokens).toBe(100);
  });

  it("parse from a run summary or alone, and name the file and field of what is wrong", () => {
    const alone = observed({ lookup: { kind: "tool", calls: 2, busyMs: 10 } });
    expect(parseObservedStatistics(alone, "stats.json")).toEqual(alone);
    expect(parseObservedStatistics({ workflow: "lookup-answer", makespanMs: 5, observed: alone })).toEqual(
      alone,
    );
    const bad = { ...alone, operators: { lookup: { kind: "tool", calls: -1, busyMs: 10 } } };
    expect(() => parseObservedStatistics(bad, "stats.json")).toThrow(PlanFormatError);
    expect(() => parseObservedStatistics(bad, "stats.json")).toThrow(/stats\.json: operators\.lookup\.calls/);
    expect(() => parseObservedStatistics({ ...alone, statisticsVersion: 2 }, "stats.json")).toThrow(
      /stats\.json: statisticsVersion/,
    );
    // A run summary without observations (an older runtime) is no statistics file.
    expect(() => parseObservedStatistics({ workflow: "w", makespanMs: 1 }, "summary.json")).toThrow(
      /summary\.json: statisticsVersion/,
    );
  });

  it("scale tool times only (a simulated run's clock into device time)", () => {
    const wall = observed({
      lookup: { kind: "tool", calls: 2, busyMs: 10 },
      answer: { kind: "llm", items: 2, promptTokens: 20, cachedTokens: 0, generatedTokens: 8 },
    });
    expect(scaleObservedTimes(wall, 2).operators).toEqual({
      lookup: { kind: "tool", calls: 2, busyMs: 20 },
      answer: { kind: "llm", items: 2, promptTokens: 20, cachedTokens: 0, generatedTokens: 8 },
    });
  });

  it("add up over runs; an operator that changed kind keeps the later figures", () => {
    const first = observed({
      lookup: { kind: "tool", calls: 2, busyMs: 10 },
      answer: { kind: "llm", items: 2, promptTokens: 20, cachedTokens: 4, generatedTokens: 8 },
      renamed: { kind: "tool", calls: 1, busyMs: 1 },
    });
    const second = {
      ...observed({
        lookup: { kind: "tool", calls: 3, busyMs: 5 },
        answer: { kind: "llm", items: 1, promptTokens: 9, cachedTokens: 0, generatedTokens: 5 },
        renamed: { kind: "llm", items: 1, promptTokens: 3, cachedTokens: 0, generatedTokens: 2 },
      }),
      queries: 7,
    };
    expect(mergeObservedStatistics(first, second)).toEqual({
      ...second,
      queries: 57,
      operators: {
        lookup: { kind: "tool", calls: 5, busyMs: 15 },
        answer: { kind: "llm", items: 3, promptTokens: 29, cachedTokens: 4, generatedTokens: 13 },
        renamed: { kind: "llm", items: 1, promptTokens: 3, cachedTokens: 0, generatedTokens: 2 },
      },
    });
  });
});
