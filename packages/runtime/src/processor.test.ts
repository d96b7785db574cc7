import { planBatch } from "@halo/optimizer";
import { H100_SIMULATED_PROFILE } from "@halo/profiles";
import { HttpTool } from "@halo/tool-http";
import { createSqlTool } from "@halo/tool-sql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Processor, ProcessorConfigurationError } from "./processor.js";
import { MemoryResultSink, type QueryResultRecord } from "./result-sink.js";
import type { RuntimeEvent } from "./runtime-events.js";
import {
  compileWorkflow,
  DIAMOND_YAML,
  diamondQueries,
  planFor,
  type SimExecutors,
  startSimExecutors,
} from "./test-fixtures.js";

const workflow = compileWorkflow(DIAMOND_YAML);
let executors: SimExecutors;
const sql = createSqlTool(":memory:");
const http = new HttpTool({ allowHosts: [] });

beforeAll(async () => {
  executors = await startSimExecutors(2);
});

afterAll(async () => {
  await executors.close();
  await sql.close();
  await http.close();
});

async function runBatch(strategy: string, queries = diamondQueries(30, 10), disabled: string[] = []) {
  const plan = await planFor(workflow, queries, executors.addresses, strategy, disabled);
  const events: RuntimeEvent[] = [];
  const processor = new Processor({
    workflow,
    plan,
    executors: executors.addresses,
    tools: { sql, http },
    options: { onEvent: (event) => events.push(event) },
  });
  const sink = new MemoryResultSink();
  const summary = await processor.run(queries, { sink });
  return { summary, records: sink.records, events, plan };
}

function outputsById(records: readonly QueryResultRecord[]): Map<string, unknown> {
  return new Map(records.map((record) => [record.id, record.outputs]));
}

describe("Processor (batched, dp plan)", () => {
  it("runs every query once, with its end outputs and operator timings", async () => {
    const { summary, records, events } = await runBatch("dp");
    expect(summary.mode).toBe("batched");
    expect(summary.queries).toEqual({ total: 30, ok: 30, failed: 0, skipped: 0, unfinished: 0 });
    expect(new Set(records.map((record) => record.id)).size).toBe(30);
    for (const record of records) {
      expect(record.ok).toBe(true);
      expect(Object.keys(record.outputs)).toEqual(["briefing"]);
      expect(Object.keys(record.operators).sort()).toEqual(
        ["join", "market", "params", "pricing", "pricing__sql__figures", "report"].sort(),
      );
      for (const timing of Object.values(record.operators))
        expect(timing.endMs).toBeGreaterThanOrEqual(timing.startMs);
      expect(record.operators.join?.worker).toMatch(/^worker-/);
    }
    expect(events.filter((event) => event.type === "query-finished")).toHaveLength(30);
    expect(events.at(-1)?.type).toBe("run-finished");
  });

  it("coalesces identical requests: LLM and tools run once per distinct request", async () => {
    const { summary, records } = await runBatch("dp", diamondQueries(30, 10));
    // 10 distinct questions × 3 LLM operators.
    expect(summary.llm.instances).toBe(90);
    expect(summary.llm.calls).toBe(30);
    expect(summary.llm.coalesced + summary.llm.cached).toBe(60);
    expect(summary.tools.calls).toBeLessThan(summary.tools.instances);
    const served = records.flatMap((record) =>
      Object.values(record.operators).filter((timing) => timing.coalesced || timing.cached),
    );
    expect(served.length).toBeGreaterThan(0);
    // Identical questions get identical answers.
    const byText = new Map<string, unknown>();
    for (const query of diamondQueries(30, 10)) {
      const outputs = records.find((record) => record.id === query.id)!.outputs;
      const text = String(query.context.user_query);
      if (byText.has(text)) expect(outputs).toEqual(byText.get(text));
      byText.set(text, outputs);
    }
  });

  it("shares static prefixes: tokens served from cache", async () => {
    const { summary } = await runBatch("dp", diamondQueries(20));
    expect(summary.tokens.cached).toBeGreaterThan(0);
    expect(summary.tokens.prefilled).toBe(summary.tokens.prompt - summary.tokens.cached);
  });

  it("gives the same outputs as per-query execution (the naive strategy)", async () => {
    const queries = diamondQueries(24, 24);
    const halo = await runBatch("dp", queries);
    const naive = await runBatch("naive", queries);
    expect(naive.summary.mode).toBe("per-query");
    expect(naive.summary.llm.calls).toBe(naive.summary.llm.instances);
    expect(outputsById(halo.records)).toEqual(outputsById(naive.records));
  });
});

describe("Processor observed statistics", () => {
  it("measures each operator so that they add up to the run's totals, and the next plan uses them", async () => {
    const queries = diamondQueries(24, 12);
    for (const strategy of ["dp", "naive"]) {
      const { summary, events } = await runBatch(strategy, queries);
      const observed = summary.observed!;
      expect(observed).toMatchObject({ statisticsVersion: 1, workflow: workflow.name, queries: 24 });
      const llm = Object.values(observed.operators).filter((figures) => figures.kind === "llm");
      const tools = Object.values(observed.operators).filter((figures) => figures.kind === "tool");
      const sum = (values: readonly number[]) => values.reduce((total, value) => total + value, 0);
      expect(sum(llm.map((figures) => figures.generatedTokens))).toBe(summary.tokens.generated);
      expect(sum(llm.map((figures) => figures.promptTokens))).toBe(summary.tokens.prompt);
      expect(sum(llm.map((figures) => figures.cachedTokens))).toBe(summary.tokens.cached);
      expect(sum(llm.map((figures) => figures.items))).toBe(summary.llm.calls);
      expect(sum(tools.map((figures) => figures.calls))).toBe(summary.tools.calls);
      // Per operator, as the executors reported each batch.
      for (const operator of workflow.operators.filter((candidate) => candidate.kind === "llm")) {
        const batches = events.filter(
          (event) => event.type === "batch-finished" && event.operator === operator.id,
        );
        expect(observed.operators[operator.id]).toEqual({
          kind: "llm",
          items: sum(batches.map((event) => (event.type === "batch-finished" ? event.answeredItems : 0))),
          promptTokens: sum(
            batches.map((event) => (event.type === "batch-finished" ? event.promptTokens : 0)),
          ),
          cachedTokens: sum(
            batches.map((event) => (event.type === "batch-finished" ? event.cachedTokens : 0)),
          ),
          generatedTokens: sum(
            batches.map((event) => (event.type === "batch-finished" ? event.generatedTokens : 0)),
          ),
        });
      }
    }
    // Planned from them, the estimator takes the output lengths and tool times the run measured.
    const { summary } = await runBatch("naive", queries);
    const { estimate } = await planBatch({
      workflow,
      queries,
      workers: executors.addresses.map((address, index) => ({
        id: `worker-${index}`,
        profile: H100_SIMULATED_PROFILE,
        address,
      })),
      observed: summary.observed!,
    });
    for (const operator of estimate.problem.operators) {
      const seen = summary.observed!.operators[operator.id]!;
      if (operator.kind === "llm" && seen.kind === "llm")
        expect(operator.statistics.outputTokens).toBe(
          Math.max(1, Math.round(seen.generatedTokens / seen.items)),
        );
      else if (operator.kind !== "llm" && seen.kind === "tool")
        expect(operator.statistics.latencyMeanMs).toBeCloseTo(seen.busyMs / seen.calls, 6);
      else throw new Error(`operator ${operator.id}: observed as ${seen.kind}`);
    }
  });
});

describe("Processor ablations", () => {
  it("coalescing off: every instance runs", async () => {
    const { summary } = await runBatch("dp", diamondQueries(20, 5), ["coalescing"]);
    expect(summary.llm.calls).toBe(summary.llm.instances);
    expect(summary.tools.calls).toBe(summary.tools.instances);
    expect(summary.queries.ok).toBe(20);
  });

  it("prefix sharing off: no prompt token is served from a shared prefix", async () => {
    const { summary } = await runBatch("dp", diamondQueries(12), ["prefix-sharing"]);
    expect(summary.tokens.cached).toBe(0);
    expect(summary.queries.ok).toBe(12);
  });
});

describe("Processor configuration", () => {
  it("lists every problem: another workflow's plan, missing tools, too few executors", async () => {
    const queries = diamondQueries(4);
    const plan = await planFor(workflow, queries, executors.addresses);
    let error: unknown;
    try {
      new Processor({
        workflow,
        plan: { ...plan, workflow: "other" },
        executors: executors.addresses.slice(0, 1),
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ProcessorConfigurationError);
    const message = (error as Error).message;
    expect(message).toContain('the plan is for workflow "other"');
    expect(message).toContain("no SQL tool");
    expect(message).toContain("no HTTP tool");
    expect(message).toContain("2 workers but 1 executor");
  });

  it("refuses duplicate query ids and an unreachable executor before any work", async () => {
    const queries = diamondQueries(2);
    const plan = await planFor(workflow, queries, executors.addresses);
    const duplicate = new Processor({ workflow, plan, executors: executors.addresses, tools: { sql, http } });
    await expect(duplicate.run([queries[0]!, queries[0]!])).rejects.toThrow(/appears more than once/);
    const unreachable = new Processor({
      workflow,
      plan,
      executors: ["127.0.0.1:1", executors.addresses[1]!],
      tools: { sql, http },
      options: { connectTimeoutMs: 500 },
    });
    await expect(unreachable.run(queries)).rejects.toThrow(/executor 127\.0\.0\.1:1 is not reachable/);
  });
});
