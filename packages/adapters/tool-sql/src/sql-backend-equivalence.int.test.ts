/**
 * The same SQL over the same data gives equal JSON on DuckDB and PostgreSQL, for the common
 * types a workflow reads (integers, big integers, decimals, doubles, text, booleans, dates,
 * timestamps, nulls, arrays, JSON) and for declared and undeclared parameters.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import type { JsonValue, SqlToolRequest, SqlToolV1 } from "@halo/ir";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createSqlTool } from "./create-sql-tool.js";
import { querySqlBatch, unbatchableReason } from "./sql-batch.js";
import { createTestSchema, withClient } from "./testing/postgres-test-server.js";

const SETUP_SQL = `
  CREATE TABLE lineitem (
    id integer, quantity bigint, price numeric(12, 2), discount double precision, mode text,
    returned boolean, shipped date, received timestamp, note text
  );
  INSERT INTO lineitem VALUES
    (1, 17, 21168.23, 0.04, 'TRUCK', false, DATE '1996-03-13', TIMESTAMP '1996-03-22 08:30:00', 'fast'),
    (2, 36, 45983.16, 0.09, 'MAIL', true, DATE '1996-04-12', TIMESTAMP '1996-04-20 17:45:30.5', NULL),
    (3, 8, 13309.60, 0.10, 'REG AIR', false, DATE '1996-01-29', TIMESTAMP '1996-01-31 00:00:00', 'it''s 100% done'),
    (4, 9007199254740993, 0.01, 0.0, 'AIR', NULL, DATE '1994-12-31', NULL, 'huge');
`;

const CASES: readonly {
  readonly name: string;
  readonly sql: string;
  readonly parameters?: Record<string, JsonValue>;
  readonly parameterTypes?: Record<string, string>;
}[] = [
  { name: "every column of every row", sql: "SELECT * FROM lineitem ORDER BY id" },
  {
    name: "aggregates: count, sum, avg, min, max",
    sql: "SELECT count(*) AS n, sum(price) AS revenue, avg(discount) AS discount, min(shipped) AS first, max(received) AS last FROM lineitem WHERE id < 4",
  },
  {
    name: "declared parameters coerced from strings",
    sql: "SELECT id, price FROM lineitem WHERE shipped >= :since AND discount BETWEEN :lo AND :hi AND quantity < :qty ORDER BY id",
    parameters: { since: "1996-01-01", lo: "0.05", hi: 0.1, qty: "40" },
    parameterTypes: { since: "date", lo: "numeric", hi: "numeric", qty: "int" },
  },
  {
    name: "casts written in the SQL and a year built with make_date",
    sql: "SELECT mode, shipped FROM lineitem WHERE shipped >= make_date(:year::int, 1, 1) AND shipped < make_date(:year::int + 1, 1, 1) ORDER BY shipped",
    parameters: { year: "1996" },
    parameterTypes: { year: "int" },
  },
  {
    name: "text patterns with %% and string concatenation",
    sql: "SELECT id, note FROM lineitem WHERE note LIKE '%%' || :word || '%%' OR mode LIKE :prefix || '%%' ORDER BY id",
    parameters: { word: "done", prefix: "TR" },
  },
  {
    name: "declared parameters selected back",
    sql: "SELECT :i AS i, :b AS b, :d AS d, :f AS f, :t AS t, :day AS day, :at AS at, :flag AS flag, :nothing AS nothing",
    parameters: {
      i: "42",
      b: "9007199254740993",
      d: "12.5",
      f: "0.25",
      t: 7,
      day: "2001-02-03",
      at: "2001-02-03T04:05:06.789Z",
      flag: "yes",
      nothing: null,
    },
    parameterTypes: {
      i: "int",
      b: "bigint",
      d: "numeric",
      f: "float",
      t: "text",
      day: "date",
      at: "timestamp",
      flag: "bool",
      nothing: "int",
    },
  },
  {
    name: "date arithmetic, arrays and JSON",
    sql: "SELECT DATE '1994-01-01' + INTERVAL '1 day' AS next_day, ARRAY[1, 2, 3] AS ints, ARRAY['x', 'y'] AS texts, '{\"a\": [1, {\"b\": null}]}'::json AS doc, CAST(:doc AS json) AS bound_doc",
    parameters: { doc: { k: [true, 1.5] } },
    parameterTypes: { doc: "json" },
  },
  {
    name: "group by with a having clause and nulls",
    sql: "SELECT returned, count(*) AS n, sum(quantity) AS q FROM lineitem GROUP BY returned HAVING count(*) > :min ORDER BY returned NULLS LAST",
    parameters: { min: 0 },
  },
];

let directory: string;
let duckdb: SqlToolV1;
let postgres: SqlToolV1;
let dropSchema: () => Promise<void>;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "halo-sql-equivalence-"));
  const databasePath = join(directory, "tpch.duckdb");
  const instance = await DuckDBInstance.create(databasePath);
  const connection = await instance.connect();
  await connection.run(SETUP_SQL);
  connection.closeSync();
  instance.closeSync();

  const schema = await createTestSchema(inject("postgresUrl"));
  dropSchema = schema.drop;
  await withClient(schema.url, (client) => client.query(SETUP_SQL));

  duckdb = createSqlTool(databasePath, { threads: 1 });
  postgres = createSqlTool(schema.url, { poolSize: 2 });
  expect([duckdb.dialect, postgres.dialect]).toEqual(["duckdb", "postgres"]);
  await Promise.all([duckdb.doCheck(), postgres.doCheck()]);
});

afterAll(async () => {
  await Promise.all([duckdb?.close(), postgres?.close()]);
  await dropSchema?.();
  await rm(directory, { recursive: true, force: true });
});

describe("DuckDB and PostgreSQL give equal JSON", () => {
  it.each(CASES)("$name", async ({ sql, parameters = {}, parameterTypes = {} }) => {
    const request = { sql, parameters, parameterTypes };
    const [fromDuckDb, fromPostgres] = await Promise.all([
      duckdb.doQuery(request),
      postgres.doQuery(request),
    ]);
    expect(fromDuckDb.rowCount).toBeGreaterThan(0);
    expect(fromDuckDb.rows).toEqual(fromPostgres.rows);
    expect(fromDuckDb.rowCount).toBe(fromPostgres.rowCount);
  });

  it("yields the documented JSON for the first row", async () => {
    const request = {
      sql: "SELECT * FROM lineitem WHERE id IN (2, 4) ORDER BY id",
      parameters: {},
      parameterTypes: {},
    };
    const { rows } = await duckdb.doQuery(request);
    expect(rows).toEqual([
      {
        id: 2,
        quantity: 36,
        price: 45983.16,
        discount: 0.09,
        mode: "MAIL",
        returned: true,
        shipped: "1996-04-12",
        received: "1996-04-20T17:45:30.500Z",
        note: null,
      },
      {
        id: 4,
        quantity: "9007199254740993",
        price: 0.01,
        discount: 0,
        mode: "AIR",
        returned: null,
        shipped: "1994-12-31",
        received: null,
        note: "huge",
      },
    ]);
  });
});

describe("batched, each call gets its lone result on both backends", () => {
  it.each(CASES)("$name", async ({ sql, parameters = {}, parameterTypes = {} }) => {
    const request = { sql, parameters, parameterTypes };
    const requests = Array.from({ length: 16 }, () => request);
    for (const tool of [duckdb, postgres]) {
      const statements: string[] = [];
      const runner = {
        doQuery(each: SqlToolRequest, options?: { readonly signal?: AbortSignal }) {
          statements.push(each.sql);
          return tool.doQuery(each, options);
        },
      };
      const { rows } = await tool.doQuery(request);
      // No probe time limit: which path the calls take must not depend on the speed of the machine.
      const outcomes = await querySqlBatch(runner, requests, { probeTimeoutMs: 300_000 });
      expect(outcomes.map((outcome) => (outcome.ok ? outcome.result.rows : outcome.error))).toEqual(
        requests.map(() => rows),
      );
      // One row per call and declared parameters: 4 calls alone, a probe of 8, a batch of the last 4.
      // Otherwise every call alone.
      const expected = unbatchableReason(requests) === undefined && rows.length <= 1 ? 6 : 16;
      expect(statements).toHaveLength(expected);
    }
  });
});
