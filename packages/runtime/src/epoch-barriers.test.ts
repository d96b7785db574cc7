import { HttpTool } from "@halo/tool-http";
import { createSqlTool } from "@halo/tool-sql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Processor } from "./processor.js";
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

beforeAll(async () => {
  // Four sequences per engine batch: every operator runs in several micro-batches.
  executors = await startSimExecutors(2, { maxSequences: 4 });
});

afterAll(async () => {
  await executors.close();
  await sql.close();
  await http.close();
});

describe("epoch barriers", () => {
  it("start no call of an epoch before every call of the earlier epochs has finished", async () => {
    const workflow = compileWorkflow(DIAMOND_YAML);
    const queries = diamondQueries(24, 12);
    const plan = await planFor(workflow, queries, executors.addresses, "opwise");
    const epochOf = new Map<string, number>();
    for (const epoch of plan.epochs) for (const step of epoch.steps) epochOf.set(step.operator, epoch.index);
    expect(new Set(epochOf.values()).size).toBe(3);
    const events: RuntimeEvent[] = [];
    const processor = new Processor({
      workflow,
      plan,
      executors: executors.addresses,
      tools: { sql, http },
      options: { epochBarriers: true, onEvent: (event) => events.push(event) },
    });
    const summary = await processor.run(queries);
    expect(summary.queries.ok).toBe(24);
    const dispatched = events.filter((event) => event.type === "batch-dispatched");
    const finished = events.filter((event) => event.type === "batch-finished");
    expect(dispatched.length).toBeGreaterThan(3);
    for (const batch of dispatched) {
      const epoch = epochOf.get(batch.operator)!;
      const earlierEnds = finished
        .filter((other) => epochOf.get(other.operator)! < epoch)
        .map((other) => other.atMs);
      const earlierCount = dispatched.filter((other) => epochOf.get(other.operator)! < epoch).length;
      // Every batch of the earlier epochs had finished when this one was dispatched.
      expect(earlierEnds.filter((atMs) => atMs <= batch.atMs)).toHaveLength(earlierCount);
    }
  });
});
