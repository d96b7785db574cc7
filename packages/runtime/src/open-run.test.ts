import { HttpTool } from "@halo/tool-http";
import { createSqlTool } from "@halo/tool-sql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OpenRunClosedError } from "./open-run.js";
import { Processor } from "./processor.js";
import { MemoryResultSink } from "./result-sink.js";
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

beforeAll(async () => {
  executors = await startSimExecutors(2, { maxSequences: 4 });
});

afterAll(async () => {
  await executors.close();
  await sql.close();
  await http.close();
});

describe("Processor.open", () => {
  const workflow = compileWorkflow(DIAMOND_YAML);

  async function openProcessor() {
    const plan = await planFor(workflow, diamondQueries(8), executors.addresses);
    return new Processor({ workflow, plan, executors: executors.addresses, tools: { sql, http } });
  }

  it("admits queries added before and while it runs, and ends after close when all have finished", async () => {
    const sink = new MemoryResultSink();
    const run = (await openProcessor()).open({ sink });
    const all = diamondQueries(12);
    run.add(all.slice(0, 4));
    // Later adds join while the first ones are in flight.
    await new Promise((resolve) => setTimeout(resolve, 5));
    run.add(all.slice(4, 8));
    run.add(all.slice(8));
    expect(run.admitted).toBe(12);
    run.close();
    const summary = await run.finished;
    expect(summary.queries).toMatchObject({ total: 12, ok: 12, failed: 0, unfinished: 0 });
    expect(sink.records.map((record) => record.id).sort()).toEqual(all.map((query) => query.id).sort());
    expect(() => run.add(diamondQueries(13).slice(12))).toThrow(OpenRunClosedError);
  });

  it("stays open with nothing in flight until close", async () => {
    const sink = new MemoryResultSink();
    const run = (await openProcessor()).open({ sink });
    const queries = diamondQueries(3);
    run.add([queries[0]!]);
    let ended = false;
    void run.finished.then(() => {
      ended = true;
    });
    while (sink.records.length < 1) await new Promise((resolve) => setTimeout(resolve, 5));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(ended).toBe(false);
    expect(run.open).toBe(true);
    run.add(queries.slice(1));
    run.close();
    const summary = await run.finished;
    expect(summary.queries.ok).toBe(3);
  });

  it("coalesces identical calls across adds", async () => {
    const sink = new MemoryResultSink();
    const run = (await openProcessor()).open({ sink });
    // Two distinct texts, added one at a time: every call after the first of its text is shared.
    const queries = diamondQueries(8, 2);
    for (const query of queries) run.add([query]);
    run.close();
    const summary = await run.finished;
    expect(summary.queries.ok).toBe(8);
    // 3 LLM operators × 2 distinct texts need 6 calls; the other 18 instances are coalesced or reused.
    expect(summary.llm.calls).toBe(6);
    expect(summary.llm.coalesced + summary.llm.cached).toBe(18);
    const outputs = new Map<string, string>();
    for (const record of sink.records) {
      const text = queries.find((query) => query.id === record.id)!.context.user_query as string;
      const output = JSON.stringify(record.outputs);
      expect(outputs.get(text) ?? output).toBe(output);
      outputs.set(text, output);
    }
  });

  it("refuses a query id it has already admitted", async () => {
    const run = (await openProcessor()).open();
    const [query] = diamondQueries(1);
    run.add([query!]);
    expect(() => run.add([query!])).toThrow(/already admitted/);
    run.close();
    expect((await run.finished).queries.ok).toBe(1);
  });
});
