import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ExecutionPlan } from "@halo/optimizer";
import { HttpTool } from "@halo/tool-http";
import { createSqlTool } from "@halo/tool-sql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JsonlResultSink, readResultRecords } from "./jsonl-result-sink.js";
import { Processor } from "./processor.js";
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

const sql = createSqlTool(":memory:");
const http = new HttpTool({ allowHosts: [] });
let executors: SimExecutors;
let directory: string;

beforeAll(async () => {
  // Four sequences per engine batch: operators run in several micro-batches.
  executors = await startSimExecutors(2, { maxSequences: 4 });
  directory = await mkdtemp(join(tmpdir(), "halo-runtime-"));
});

afterAll(async () => {
  await executors.close();
  await sql.close();
  await http.close();
  await rm(directory, { recursive: true, force: true });
});

/** An LLM whose answers feed an HTTP report (sleep mode): shows whether tools wait for a barrier. */
const CHAIN_YAML = `
graph:
  name: chain
  nodes:
    - { id: question, type: input, outputs: [text] }
    - id: draft
      type: inference
      model: Qwen/Qwen3-14B
      max_tokens: 12
      system_prompt: Draft an answer.
      inputs: [text]
      outputs: [draft]
    - id: publish
      type: http
      url: http://reports.example.invalid/publish
      params: { draft: "{{ draft }}" }
      sleep_ms: 5
      inputs: [draft]
      outputs: [receipt]
  edges:
    - { from: question, to: draft }
    - { from: draft, to: publish }
`;

describe("pipelining", () => {
  const chain = compileWorkflow(CHAIN_YAML);
  const queries = Array.from({ length: 16 }, (_, index) => ({
    id: `q${index}`,
    context: { text: `text ${index}` },
  }));

  async function runChain(disabled: string[]) {
    const plan = await planFor(chain, queries, executors.addresses.slice(0, 1), "dp", disabled);
    const processor = new Processor({
      workflow: chain,
      plan,
      executors: executors.addresses.slice(0, 1),
      tools: { http },
    });
    const sink = new MemoryResultSink();
    await processor.run(queries, { sink });
    const lastDraftEndMs = Math.max(...sink.records.map((record) => record.operators.draft!.endMs));
    const publishStarts = sink.records.map((record) => record.operators.publish!.startMs);
    return { lastDraftEndMs, publishStarts, records: sink.records };
  }

  it("on: a query's tool starts as soon as its input exists, while other queries still wait for the LLM", async () => {
    const { lastDraftEndMs, publishStarts } = await runChain([]);
    expect(publishStarts.some((startMs) => startMs < lastDraftEndMs)).toBe(true);
  });

  it("off: the tools of an operator wait until every query's inputs are ready", async () => {
    const { lastDraftEndMs, publishStarts, records } = await runChain(["pipelining"]);
    expect(records.every((record) => record.ok)).toBe(true);
    for (const startMs of publishStarts) expect(startMs).toBeGreaterThanOrEqual(lastDraftEndMs);
  });
});

describe("per-query execution (naive)", () => {
  it("keeps at most queryConcurrency queries in flight, each LLM instance its own call", async () => {
    const workflow = compileWorkflow(DIAMOND_YAML);
    const queries = diamondQueries(12, 4);
    const plan = await planFor(workflow, queries, executors.addresses, "naive");
    let inFlight = 0;
    let peak = 0;
    const processor = new Processor({
      workflow,
      plan,
      executors: executors.addresses,
      tools: { sql, http },
      options: {
        queryConcurrency: 3,
        onEvent: (event) => {
          if (event.type === "query-started") peak = Math.max(peak, ++inFlight);
          if (event.type === "query-finished") inFlight -= 1;
        },
      },
    });
    const summary = await processor.run(queries);
    expect(summary.mode).toBe("per-query");
    expect(summary.queries.ok).toBe(12);
    expect(peak).toBe(3);
    // No coalescing across queries: identical questions run again.
    expect(summary.llm.calls).toBe(36);
    expect(summary.tools.calls).toBe(summary.tools.instances);
  });
});

describe("interrupted and resumed", () => {
  it("a run aborted midway and resumed from its results file gives one record per query, as an uninterrupted run", async () => {
    const workflow = compileWorkflow(DIAMOND_YAML);
    const queries = diamondQueries(24);
    const plan = await planFor(workflow, queries, executors.addresses);
    const run = async (path: string, resume: boolean, abortAfter?: number) => {
      const sink = await JsonlResultSink.open(path, { resume });
      const controller = new AbortController();
      let finished = 0;
      const processor = new Processor({
        workflow,
        plan,
        executors: executors.addresses,
        tools: { sql, http },
        options: {
          onEvent: (event) => {
            if (event.type === "query-finished" && ++finished === abortAfter) controller.abort();
          },
        },
      });
      try {
        return await processor.run(queries, { sink, signal: controller.signal });
      } finally {
        await sink.close();
      }
    };
    const reference = join(directory, "reference.jsonl");
    await run(reference, false);
    const interrupted = join(directory, "interrupted.jsonl");
    const first = await run(interrupted, false, 5);
    expect(first.aborted).toBe(true);
    expect(first.queries.unfinished).toBeGreaterThan(0);
    const partial = await readResultRecords(interrupted);
    expect(partial.length).toBeLessThan(24);
    const second = await run(interrupted, true);
    expect(second.queries.skipped).toBe(partial.length);
    expect(second.queries.ok + second.queries.skipped).toBe(24);
    const records = await readResultRecords(interrupted);
    expect(records).toHaveLength(24);
    expect(new Set(records.map((record) => record.id)).size).toBe(24);
    const outputs = (list: QueryResultRecord[]) => new Map(list.map((record) => [record.id, record.outputs]));
    expect(outputs(records)).toEqual(outputs(await readResultRecords(reference)));
  });
});

/** Two operators on one model with the same system prompt: the second can use the first's prefix KV. */
const TWIN_YAML = `
graph:
  name: twins
  nodes:
    - { id: question, type: input, outputs: [text] }
    - id: first
      type: inference
      model: Qwen/Qwen3-14B
      max_tokens: 8
      system_prompt: ${"You answer questions about orders and shipments with care. ".repeat(20)}
      inputs: [text]
      outputs: [first]
    - id: second
      type: inference
      model: Qwen/Qwen3-14B
      max_tokens: 8
      system_prompt: ${"You answer questions about orders and shipments with care. ".repeat(20)}
      inputs: [text, first]
      outputs: [second]
  edges:
    - { from: question, to: first }
    - { from: first, to: second }
`;

describe("KV migration", () => {
  const twins = compileWorkflow(TWIN_YAML);
  const queries = Array.from({ length: 6 }, (_, index) => ({
    id: `q${index}`,
    context: { text: `question ${index}` },
  }));

  /** The dp plan, rewritten so that `second` runs on the other worker and migrates the prefix from the first. */
  async function migratingPlan(): Promise<ExecutionPlan> {
    const plan = await planFor(twins, queries, executors.addresses);
    const steps = plan.epochs.flatMap((epoch) => epoch.steps);
    const first = steps.find((step) => step.operator === "first")!;
    const second = steps.find((step) => step.operator === "second")!;
    const other = plan.workers.find((worker) => worker.id !== first.worker)!.id;
    return {
      ...plan,
      epochs: [
        { ...plan.epochs[0]!, index: 0, steps: [{ ...first }] },
        {
          ...plan.epochs[0]!,
          index: 1,
          steps: [
            { ...second, worker: other, kv: "migrate", prefixKv: "migrate", migrateFrom: first.worker },
          ],
        },
      ],
    };
  }

  it("moves the prefix KV where the plan says migrate (export → import), counted in events", async () => {
    const plan = await migratingPlan();
    const events: RuntimeEvent[] = [];
    const processor = new Processor({
      workflow: twins,
      plan,
      executors: executors.addresses,
      // The worker planned for `second` would otherwise take `first`'s calls while idle and compute the prefix itself.
      options: { workStealing: false, onEvent: (event) => events.push(event) },
    });
    const summary = await processor.run(queries);
    expect(summary.queries.ok).toBe(6);
    const migrations = events.filter((event) => event.type === "kv-migration");
    expect(migrations).toHaveLength(1);
    expect(migrations[0]).toMatchObject({ operator: "second", ok: true });
    expect((migrations[0] as Extract<RuntimeEvent, { type: "kv-migration" }>).bytes).toBeGreaterThan(0);
    expect(summary.migrations).toMatchObject({ attempted: 1, succeeded: 1 });
    // The imported prefix is not prefilled again on the target.
    const secondBatches = events.filter(
      (event): event is Extract<RuntimeEvent, { type: "batch-finished" }> =>
        event.type === "batch-finished" && event.operator === "second",
    );
    expect(secondBatches.every((event) => event.prefixPrefilledTokens === 0)).toBe(true);
  });

  it("recomputes when migration is disabled", async () => {
    const plan = { ...(await migratingPlan()), disabledOptimizations: ["migration" as const] };
    const events: RuntimeEvent[] = [];
    const processor = new Processor({
      workflow: twins,
      plan,
      executors: executors.addresses,
      options: { onEvent: (event) => events.push(event) },
    });
    const summary = await processor.run(queries);
    expect(summary.queries.ok).toBe(6);
    expect(summary.migrations.attempted).toBe(0);
    expect(events.some((event) => event.type === "kv-migration")).toBe(false);
  });
});

describe("events()", () => {
  it("streams the run to a subscriber and ends with the run", async () => {
    const workflow = compileWorkflow(DIAMOND_YAML);
    const queries = diamondQueries(6);
    const plan = await planFor(workflow, queries, executors.addresses);
    const processor = new Processor({ workflow, plan, executors: executors.addresses, tools: { sql, http } });
    const types: string[] = [];
    const listening = (async () => {
      for await (const event of processor.events()) types.push(event.type);
    })();
    const summary = await processor.run(queries);
    await listening;
    expect(types[0]).toBe("run-started");
    expect(types.at(-1)).toBe("run-finished");
    expect(types.filter((type) => type === "query-finished")).toHaveLength(6);
    expect(types).toContain("batch-dispatched");
    expect(types).toContain("model-load");
    expect(summary.queries.ok).toBe(6);
    // Every distinct call ran once, in a batch of some worker; loads are counted against the plan's.
    expect(summary.deviations.items.run).toBe(summary.llm.calls);
    const { planned, preload, unplanned } = summary.deviations.modelLoads;
    expect(planned + preload + unplanned).toBe(summary.modelLoads);
    await expect(processor.run(queries)).rejects.toThrow(/runs once/);
  });
});

/** Two independent branches on two models: `late` waits on a slow tool, `early` is ready at once. */
const BRANCHES_YAML = `
graph:
  name: branches
  nodes:
    - { id: question, type: input, outputs: [text] }
    - id: slow_report
      type: http
      url: http://reports.example.invalid/slow
      params: { text: "{{ text }}" }
      sleep_ms: 400
      inputs: [text]
      outputs: [report]
    - id: late
      type: inference
      model: Qwen/Qwen3-14B
      max_tokens: 4
      system_prompt: Summarize the report.
      inputs: [report]
      outputs: [summary]
    - id: early
      type: inference
      model: Qwen/Qwen3-32B
      max_tokens: 4
      system_prompt: Classify the question.
      inputs: [text]
      outputs: [label]
  edges:
    - { from: question, to: slow_report }
    - { from: slow_report, to: late }
    - { from: question, to: early }
`;

describe("a worker whose planned work waits on a slow tool", () => {
  it("runs a later step of another model that is ready instead of idling until the tool returns", async () => {
    const workflow = compileWorkflow(BRANCHES_YAML);
    const queries = Array.from({ length: 8 }, (_, index) => ({
      id: `q${index}`,
      context: { text: `question ${index}` },
    }));
    const planned = await planFor(workflow, queries, executors.addresses.slice(0, 1));
    // The plan puts `late` first (its model is loaded first), as a plan that expected the tool to be fast would.
    const steps = planned.epochs
      .flatMap((epoch) => epoch.steps)
      .sort((left, right) => Number(right.operator === "late") - Number(left.operator === "late"));
    expect(steps.map((step) => step.operator)).toEqual(["late", "early"]);
    const plan: ExecutionPlan = {
      ...planned,
      epochs: steps.map((step, index) => ({ ...planned.epochs[0]!, index, steps: [step], preloads: [] })),
    };
    const processor = new Processor({
      workflow,
      plan,
      executors: executors.addresses.slice(0, 1),
      tools: { http },
    });
    const sink = new MemoryResultSink();
    await processor.run(queries, { sink });
    expect(sink.records.every((record) => record.ok)).toBe(true);
    const reportsBackMs = Math.min(...sink.records.map((record) => record.operators.slow_report!.endMs));
    const earlyEndMs = Math.max(...sink.records.map((record) => record.operators.early!.endMs));
    expect(earlyEndMs).toBeLessThan(reportsBackMs);
  });
});

describe("preloading", () => {
  async function loadsWith(preloading: boolean | undefined) {
    const fresh = await startSimExecutors(1, { maxSequences: 4 });
    try {
      const workflow = compileWorkflow(BRANCHES_YAML);
      const queries = Array.from({ length: 6 }, (_, index) => ({
        id: `q${index}`,
        context: { text: `question ${index}` },
      }));
      const plan = await planFor(workflow, queries, fresh.addresses);
      const events: RuntimeEvent[] = [];
      const processor = new Processor({
        workflow,
        plan,
        executors: fresh.addresses,
        tools: { http },
        options: {
          ...(preloading === undefined ? {} : { preloading }),
          onEvent: (event) => events.push(event),
        },
      });
      const summary = await processor.run(queries);
      expect(summary.queries.ok).toBe(6);
      const loads = events.filter(
        (event): event is Extract<RuntimeEvent, { type: "model-load" }> =>
          event.type === "model-load" && !event.alreadyLoaded,
      );
      return { loads, summary };
    } finally {
      await fresh.close();
    }
  }

  it("on (default): the first model loads as the run starts, before any call is ready", async () => {
    const { loads, summary } = await loadsWith(undefined);
    expect(loads[0]?.reason).toBe("preload");
    expect(summary.deviations.preloads.done).toBeGreaterThanOrEqual(1);
  });

  it("off: every model is loaded for calls that are ready, never ahead of them", async () => {
    const { loads, summary } = await loadsWith(false);
    // Both models run, so both load; each load's reason records that a call of its step was queued.
    expect(new Set(loads.map((load) => load.model)).size).toBe(2);
    expect(loads.every((load) => load.reason === "switch")).toBe(true);
    expect(summary.deviations.preloads.done).toBe(0);
  });
});
