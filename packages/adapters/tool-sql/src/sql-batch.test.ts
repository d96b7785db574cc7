import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import type { JsonValue, SqlToolOutcome, SqlToolRequest, SqlToolResult, SqlToolV1 } from "@halo/ir";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DuckDbProcessSqlTool } from "./duckdb-process-sql-tool.js";
import { DuckDbSqlTool } from "./duckdb-sql-tool.js";
import {
  batchRequest,
  MAX_SQL_BATCH,
  querySqlBatch,
  splitBatchRows,
  unbatchableReason,
} from "./sql-batch.js";

// A probe time limit no loaded test machine reaches: which path a call takes must not depend on speed.
const SLOW_MACHINE = { probeTimeoutMs: 300_000 };

let directory: string;
let databasePath: string;

const call = (
  sql: string,
  parameters: Record<string, JsonValue>,
  parameterTypes: Record<string, string>,
): SqlToolRequest => ({ sql, parameters, parameterTypes });

// Ties broken by id, a join, a parameter used twice, ORDER BY and LIMIT per call.
const TOP_ORDERS = `
  -- the customer's largest orders of a year, with the customer's total
  SELECT o.id, o.customer, o.total, t.spent, strpos(lower(:needle), lower(o.customer)) > 0 AS named
  FROM orders o
  JOIN (SELECT customer, SUM(total) AS spent FROM orders GROUP BY customer) t ON t.customer = o.customer
  WHERE o.year = :year OR strpos(lower(:needle), lower(o.customer)) > 0
  ORDER BY o.total DESC, o.id
  LIMIT 2;`;
const TYPES = { year: "int", needle: "text" };

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "halo-sql-batch-test-"));
  databasePath = join(directory, "orders.duckdb");
  const instance = await DuckDBInstance.create(databasePath);
  const connection = await instance.connect();
  await connection.run(`
    CREATE TABLE orders AS
      SELECT i AS id, ['ada', 'bob', 'cy', 'dee'][1 + i % 4] AS customer,
             CAST((i * 37) % 101 AS DECIMAL(12, 2)) AS total, 1990 + i % 7 AS year
      FROM range(400) t(i);
  `);
  connection.closeSync();
  instance.closeSync();
});

afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

type QueryOptions = { readonly signal?: AbortSignal } | undefined;

/**
 * A runner of its own in front of `tool` (so the statements' verdicts are one test's alone) that
 * records every statement reaching the database; `batch` replaces the batched ones when given.
 */
function recordingRunner(
  tool: SqlToolV1,
  batch?: (request: SqlToolRequest, options: QueryOptions) => Promise<SqlToolResult>,
) {
  const statements: string[] = [];
  const runner = {
    doQuery(request: SqlToolRequest, options?: { readonly signal?: AbortSignal }) {
      statements.push(request.sql);
      return batch && request.sql.includes("LATERAL")
        ? batch(request, options)
        : tool.doQuery(request, options);
    },
  };
  return { runner, statements, batched: () => statements.map((sql) => sql.includes("LATERAL")) };
}

function lone(tool: SqlToolV1, request: SqlToolRequest): Promise<SqlToolOutcome> {
  return tool.doQuery(request).then(
    (result) => ({ ok: true, result }),
    (error: unknown) => ({ ok: false, error }),
  );
}

/** Outcomes without timings: rows, or the error's code and message. */
function comparable(outcomes: readonly SqlToolOutcome[]) {
  return outcomes.map((outcome) =>
    outcome.ok
      ? { rows: outcome.result.rows, rowCount: outcome.result.rowCount }
      : { code: (outcome.error as { code?: string }).code, message: (outcome.error as Error).message },
  );
}

describe("batched SQL statements", () => {
  it("knows what cannot run as one query", () => {
    const ok = [
      call(TOP_ORDERS, { year: 1991, needle: "x" }, TYPES),
      call(TOP_ORDERS, { year: 1992, needle: "y" }, TYPES),
    ];
    expect(unbatchableReason(ok)).toBeUndefined();
    expect(unbatchableReason(ok.slice(0, 1))).toBe("fewer than two calls");
    expect(unbatchableReason([ok[0]!, call("SELECT :year", { year: 1 }, { year: "int" })])).toContain(
      "different statements",
    );
    expect(
      unbatchableReason([
        ok[0]!,
        call(TOP_ORDERS, { year: 1, needle: "a" }, { year: "bigint", needle: "text" }),
      ]),
    ).toContain("different parameter types");
    const untyped = call("SELECT :a AS a", { a: 1 }, {});
    expect(unbatchableReason([untyped, untyped])).toContain("without a declared type: a");
    const update = call("UPDATE orders SET total = :t", { t: 1 }, { t: "numeric" });
    expect(unbatchableReason([update, update])).toBe("not a single SELECT statement");
    const two = call("SELECT :a AS a; SELECT 2", { a: 1 }, { a: "int" });
    expect(unbatchableReason([two, two])).toBe("not a single SELECT statement");
    const constant = call("SELECT 1 AS one", {}, {});
    expect(unbatchableReason([constant, constant])).toBe("the statement has no parameters");
    expect(unbatchableReason([ok[0]!, call(TOP_ORDERS, { year: 1 }, TYPES)])).toBe(
      "a call lacks a parameter value",
    );
  });

  it("numbers each call and splits the rows back without the batch's columns", () => {
    const request = batchRequest([
      call(TOP_ORDERS, { year: 1991, needle: "x" }, TYPES),
      call(TOP_ORDERS, { year: 1992, needle: "y" }, TYPES),
    ]);
    expect(request.parameters).toEqual({ b0_year: 1991, b0_needle: "x", b1_year: 1992, b1_needle: "y" });
    expect(request.parameterTypes).toEqual({
      b0_year: "int",
      b0_needle: "text",
      b1_year: "int",
      b1_needle: "text",
    });
    expect(request.sql).toContain("LATERAL");
    expect(request.sql).not.toContain(";");
    const split = splitBatchRows(
      {
        rows: [
          { halo_batch_index__: 1, a: "x" },
          { halo_batch_index__: 1, a: "y" },
        ],
        rowCount: 2,
        elapsedMs: 3,
      },
      3,
    );
    expect(split.map((result) => result.rows)).toEqual([[], [{ a: "x" }, { a: "y" }], []]);
  });
});

describe.each([
  ["DuckDbSqlTool", DuckDbSqlTool],
  ["DuckDbProcessSqlTool", DuckDbProcessSqlTool],
] as const)("%s.doQueryBatch", (_name, Tool) => {
  it("gives every call exactly its lone result: rows, order, duplicates, and more calls than one batch holds", async () => {
    const tool = new Tool({ path: databasePath });
    try {
      const requests = Array.from({ length: MAX_SQL_BATCH + 44 }, (_, index) =>
        call(
          TOP_ORDERS,
          { year: 1990 + (index % 9), needle: ["ada", "Bob and Cy", "nobody"][index % 3]! },
          TYPES,
        ),
      );
      const batched = await tool.doQueryBatch(requests);
      const alone = await Promise.all(requests.map((request) => lone(tool, request)));
      expect(comparable(batched)).toEqual(comparable(alone));
      // Some calls get no rows (years 1997 and 1998 have none, nobody is named), others two.
      expect(batched.some((outcome) => outcome.ok && outcome.result.rowCount === 0)).toBe(true);
      expect(batched.some((outcome) => outcome.ok && outcome.result.rowCount === 2)).toBe(true);
    } finally {
      await tool.close();
    }
  });

  it("fails only the call with a bad value, with the error it gets alone", async () => {
    const tool = new Tool({ path: databasePath });
    try {
      const requests = [
        call(TOP_ORDERS, { year: 1991, needle: "ada" }, TYPES),
        call(TOP_ORDERS, { year: "nineteen", needle: "ada" }, TYPES),
        call(TOP_ORDERS, { year: 1993, needle: "bob" }, TYPES),
      ];
      const batched = await tool.doQueryBatch(requests);
      expect(comparable(batched)).toEqual(
        comparable(await Promise.all(requests.map((request) => lone(tool, request)))),
      );
      expect(batched.map((outcome) => outcome.ok)).toEqual([true, false, true]);
      expect((batched[1] as { error: { code: string } }).error.code).toBe("invalid-parameter");
    } finally {
      await tool.close();
    }
  });

  it("runs call by call what the database refuses batched, and each call fails as it would alone", async () => {
    const tool = new Tool({ path: databasePath });
    try {
      // Fails in the database for one value only: the batch fails, then each call runs alone.
      const cast = "SELECT CAST(:text AS INTEGER) + 1 AS next";
      const requests = ["1", "x", "3"].map((text) => call(cast, { text }, { text: "text" }));
      const batched = await tool.doQueryBatch(requests);
      expect(batched.map((outcome) => outcome.ok)).toEqual([true, false, true]);
      expect((batched[1] as { error: { code: string } }).error.code).toBe("query-failed");
      expect(comparable(batched)).toEqual(
        comparable(await Promise.all(requests.map((request) => lone(tool, request)))),
      );
      // Statements that are not batched at all come back the same way.
      const untyped = [call("SELECT :a AS a", { a: 1 }, {}), call("SELECT :a AS a", { a: "two" }, {})];
      expect(comparable(await tool.doQueryBatch(untyped))).toEqual([
        { rows: [{ a: 1 }], rowCount: 1 },
        { rows: [{ a: "two" }], rowCount: 1 },
      ]);
    } finally {
      await tool.close();
    }
  });

  it("fails every call not yet run when the caller aborts", async () => {
    const tool = new Tool({ path: databasePath });
    try {
      const controller = new AbortController();
      controller.abort();
      const requests = [
        call(TOP_ORDERS, { year: 1991, needle: "a" }, TYPES),
        call(TOP_ORDERS, { year: 1992, needle: "b" }, TYPES),
      ];
      const outcomes = await tool.doQueryBatch(requests, { signal: controller.signal });
      expect(outcomes.map((outcome) => outcome.ok)).toEqual([false, false]);
      expect((outcomes[0] as { error: { code: string } }).error.code).toBe("aborted");
    } finally {
      await tool.close();
    }
  });
});

it("batches statements whose calls give one row each, after a few calls alone and a probe", async () => {
  const tool = new DuckDbSqlTool({ path: databasePath });
  const { runner, statements, batched } = recordingRunner(tool);
  try {
    const perYear =
      "SELECT count(*) AS n, max(total) AS top, min(id) AS first FROM orders WHERE year = :year";
    const years = Array.from({ length: MAX_SQL_BATCH + 20 }, (_, index) =>
      call(perYear, { year: 1985 + (index % 15) }, { year: "int" }),
    );
    const outcomes = await querySqlBatch(runner, years, SLOW_MACHINE);
    expect(comparable(outcomes)).toEqual(
      comparable(await Promise.all(years.map((request) => lone(tool, request)))),
    );
    // Four calls alone (one row each), a probe of 8, then batches of up to 256.
    expect(batched()).toEqual([false, false, false, false, true, true, true]);
    statements.length = 0;
    // Calls handed over one at a time (an idle pool) count toward the four as well.
    const another = "SELECT max(total) AS top FROM orders WHERE year = :year";
    for (const year of [1990, 1991, 1992, 1993])
      await querySqlBatch(runner, [call(another, { year }, { year: "int" })], SLOW_MACHINE);
    const later = [1994, 1995, 1996].map((year) => call(another, { year }, { year: "int" }));
    expect((await querySqlBatch(runner, later, SLOW_MACHINE)).every((outcome) => outcome.ok)).toBe(true);
    expect(batched()).toEqual([false, false, false, false, true]);
    statements.length = 0;
    // Two rows for the first call: no batch is tried, now or later.
    const top = Array.from({ length: 12 }, (_, index) =>
      call(TOP_ORDERS, { year: 1990 + index, needle: "-" }, TYPES),
    );
    expect(comparable(await querySqlBatch(runner, top, SLOW_MACHINE))).toEqual(
      comparable(await Promise.all(top.map((request) => lone(tool, request)))),
    );
    await querySqlBatch(runner, top, SLOW_MACHINE);
    expect(batched().some(Boolean)).toBe(false);
    statements.length = 0;
    // A statement the database fails batched (one bad value in the probe) runs call by call from then on.
    const cast = "SELECT CAST(:text AS INTEGER) AS n";
    const casts = (texts: string[]) => texts.map((text) => call(cast, { text }, { text: "text" }));
    await querySqlBatch(runner, casts(["1", "2", "3", "4"]), SLOW_MACHINE);
    const mixed = await querySqlBatch(runner, casts(["5", "x", "7"]), SLOW_MACHINE);
    expect(mixed.map((outcome) => outcome.ok)).toEqual([true, false, true]);
    expect(
      (await querySqlBatch(runner, casts(["8", "9"]), SLOW_MACHINE)).every((outcome) => outcome.ok),
    ).toBe(true);
    expect(batched()).toEqual([false, false, false, false, true, false, false, false, false, false]);
  } finally {
    await tool.close();
  }
});

it("stops a probe that runs past its limit and runs the statement call by call from then on", async () => {
  const tool = new DuckDbSqlTool({ path: databasePath });
  // A batch that never finishes on its own: only the probe's limit ends it.
  const { runner, statements } = recordingRunner(
    tool,
    (_request, options) =>
      new Promise<never>((_, reject) =>
        options?.signal?.addEventListener("abort", () =>
          reject(Object.assign(new Error("aborted"), { code: "aborted" })),
        ),
      ),
  );
  try {
    const perYear = "SELECT count(*) AS n FROM orders WHERE year = :year";
    const requests = Array.from({ length: 20 }, (_, index) =>
      call(perYear, { year: 1990 + (index % 7) }, { year: "int" }),
    );
    const outcomes = await querySqlBatch(runner, requests, { probeTimeoutMs: 20 });
    expect(comparable(outcomes)).toEqual(
      comparable(await Promise.all(requests.map((request) => lone(tool, request)))),
    );
    // Four alone, the probe (stopped), then all 16 alone; and no probe again.
    expect(statements.map((sql) => sql.includes("LATERAL"))).toEqual([
      ...Array(4).fill(false),
      true,
      ...Array(16).fill(false),
    ]);
    statements.length = 0;
    await querySqlBatch(runner, requests.slice(0, 3), { probeTimeoutMs: 20 });
    expect(statements.some((sql) => sql.includes("LATERAL"))).toBe(false);
  } finally {
    await tool.close();
  }
});
