/**
 * One conformance suite for every `ServerStore` (as LangGraph.js runs one
 * checkpointer spec against every backend): the SQLite and PostgreSQL tests
 * call it with their initializer.
 */
import type { QueryResultRecord } from "@halo/runtime";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ServerStore } from "./server-store.js";

/** Creates a fresh, empty store per test and disposes of it (default: `close`). */
export interface StoreInitializer {
  create(): Promise<ServerStore>;
  dispose?(store: ServerStore): Promise<void>;
}

const record = (id: string, ok = true): QueryResultRecord => ({
  id,
  ok,
  outputs: ok ? { answer: `a-${id}` } : {},
  operators: { op: { startMs: 1, endMs: 2 } },
  ...(ok ? {} : { error: { operator: "op", message: "boom" } }),
});

export function describeStoreConformance(name: string, initializer: StoreInitializer): void {
  describe(`ServerStore conformance: ${name}`, () => {
    let store: ServerStore;
    beforeEach(async () => {
      store = await initializer.create();
    });
    afterEach(async () => {
      if (initializer.dispose) await initializer.dispose(store);
      else await store.close();
    });

    it("stores, replaces and lists workflows", async () => {
      await store.putWorkflow({ name: "b", source: "x: 1", format: "yaml", createdAt: 10, updatedAt: 10 });
      await store.putWorkflow({ name: "a", source: "{}", format: "json", createdAt: 11, updatedAt: 11 });
      await store.putWorkflow({ name: "b", source: "x: 2", format: "yaml", createdAt: 12, updatedAt: 12 });
      expect((await store.listWorkflows()).map((workflow) => workflow.name)).toEqual(["a", "b"]);
      const b = await store.getWorkflow("b");
      expect(b).toMatchObject({ source: "x: 2", createdAt: 10, updatedAt: 12, format: "yaml" });
      expect(await store.getWorkflow("missing")).toBeUndefined();
    });

    it("keeps the statistics of each workflow version, the latest winning", async () => {
      expect(await store.getWorkflowStatistics("a", 1)).toBeUndefined();
      await store.putWorkflowStatistics("a", 1, { queries: 2, operators: { x: { kind: "tool", calls: 2 } } });
      await store.putWorkflowStatistics("a", 2, { queries: 5, operators: {} });
      await store.putWorkflowStatistics("a", 1, { queries: 3, operators: { x: { kind: "tool", calls: 3 } } });
      expect(await store.getWorkflowStatistics("a", 1)).toEqual({
        queries: 3,
        operators: { x: { kind: "tool", calls: 3 } },
      });
      expect(await store.getWorkflowStatistics("a", 2)).toEqual({ queries: 5, operators: {} });
      expect(await store.getWorkflowStatistics("b", 1)).toBeUndefined();
    });

    it("walks a batch through its states and keeps each result once", async () => {
      await store.createBatch({
        id: "batch_1",
        workflow: "w",
        inputFormat: "jsonl",
        metadata: { k: "v" },
        createdAt: 100,
      });
      expect(await store.getBatch("batch_1")).toMatchObject({
        status: "validating",
        requestCounts: { total: 0, completed: 0, failed: 0 },
        metadata: { k: "v" },
      });
      await store.appendBatchQueries("batch_1", 0, [
        { id: "q1", context: { x: 1 } },
        { id: "q2", context: { x: 2 } },
      ]);
      await store.appendBatchQueries("batch_1", 2, [{ id: "q3", context: { x: 3 } }]);
      await store.setBatchStatus("batch_1", { status: "in_progress", atSeconds: 101, total: 3 });
      expect(await store.pendingBatchQueries("batch_1", 2)).toEqual([
        { id: "q1", context: { x: 1 } },
        { id: "q2", context: { x: 2 } },
      ]);
      await store.recordBatchResults("batch_1", [record("q2"), record("q1", false)]);
      // A rerun after a crash writes q2 again: the first record stays, counts do not move.
      await store.recordBatchResults("batch_1", [record("q2", false), record("q3")]);
      const batch = await store.getBatch("batch_1");
      expect(batch).toMatchObject({
        status: "in_progress",
        inProgressAt: 101,
        requestCounts: { total: 3, completed: 2, failed: 1 },
      });
      expect(await store.pendingBatchQueries("batch_1", 10)).toEqual([]);
      const results = await store.batchResults("batch_1", -1, 10);
      expect(results.map((result) => [result.seq, result.record.id, result.record.ok])).toEqual([
        [0, "q1", false],
        [1, "q2", true],
        [2, "q3", true],
      ]);
      expect((await store.batchResults("batch_1", 1, 10)).map((result) => result.record.id)).toEqual(["q3"]);
      expect(await store.unfinishedBatches()).toHaveLength(1);
      await store.setBatchStatus("batch_1", { status: "completed", atSeconds: 105 });
      expect(await store.unfinishedBatches()).toHaveLength(0);
      expect(await store.getBatch("batch_1")).toMatchObject({ status: "completed", completedAt: 105 });
    });

    it("rejects a duplicate query id within a batch and deletes a failed upload's queries", async () => {
      await store.createBatch({
        id: "batch_2",
        workflow: "w",
        inputFormat: "csv",
        metadata: {},
        createdAt: 1,
      });
      await store.appendBatchQueries("batch_2", 0, [{ id: "q1", context: {} }]);
      await expect(store.appendBatchQueries("batch_2", 1, [{ id: "q1", context: {} }])).rejects.toThrow();
      await store.deleteBatchQueries("batch_2");
      expect(await store.pendingBatchQueries("batch_2", 10)).toEqual([]);
      await store.setBatchStatus("batch_2", {
        status: "failed",
        atSeconds: 2,
        errors: [{ code: "duplicate-query-id", message: "dup", line: 2 }],
      });
      expect(await store.getBatch("batch_2")).toMatchObject({
        status: "failed",
        failedAt: 2,
        errors: [{ code: "duplicate-query-id", message: "dup", line: 2 }],
      });
    });

    it("lists batches newest first", async () => {
      for (const [id, createdAt] of [
        ["b1", 1],
        ["b3", 3],
        ["b2", 2],
      ] as const) {
        await store.createBatch({ id, workflow: "w", inputFormat: "jsonl", metadata: {}, createdAt });
      }
      expect((await store.listBatches(2)).map((batch) => batch.id)).toEqual(["b3", "b2"]);
      expect(await store.getBatch("nope")).toBeUndefined();
    });

    it("keeps online queries and their first result", async () => {
      expect(
        await store.createOnlineQuery({ id: "o1", workflow: "w", context: { a: 1 }, createdAt: 5 }),
      ).toBe(true);
      expect(
        await store.createOnlineQuery({ id: "o1", workflow: "w", context: { a: 2 }, createdAt: 6 }),
      ).toBe(false);
      expect(await store.createOnlineQuery({ id: "o2", workflow: "w", context: {}, createdAt: 7 })).toBe(
        true,
      );
      expect((await store.unfinishedOnlineQueries()).map((query) => query.id)).toEqual(["o1", "o2"]);
      await store.finishOnlineQuery("o1", record("o1"), 9);
      await store.finishOnlineQuery("o1", record("o1", false), 10);
      expect(await store.getOnlineQuery("o1")).toMatchObject({
        status: "completed",
        context: { a: 1 },
        finishedAt: 9,
        result: { ok: true, outputs: { answer: "a-o1" } },
      });
      expect(await store.getOnlineQuery("o2")).toMatchObject({ status: "queued" });
      expect((await store.unfinishedOnlineQueries()).map((query) => query.id)).toEqual(["o2"]);
      expect(await store.getOnlineQuery("missing")).toBeUndefined();
    });
  });
}
