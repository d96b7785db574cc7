import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import type { JsonValue } from "@halo/ir";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DuckDbProcessSqlTool } from "./duckdb-process-sql-tool.js";
import { DuckDbSqlTool } from "./duckdb-sql-tool.js";
import { rejection } from "./test-rejection.js";

let directory: string;
let databasePath: string;

const query = (
  sql: string,
  parameters: Record<string, JsonValue> = {},
  parameterTypes: Record<string, string> = {},
): { sql: string; parameters: Record<string, JsonValue>; parameterTypes: Record<string, string> } => ({
  sql,
  parameters,
  parameterTypes,
});

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "halo-duckdb-test-"));
  databasePath = join(directory, "orders.duckdb");
  const instance = await DuckDBInstance.create(databasePath);
  const connection = await instance.connect();
  await connection.run(`
    CREATE TABLE orders (id INTEGER, customer VARCHAR, total DECIMAL(12, 2), placed DATE, year INTEGER);
    INSERT INTO orders VALUES
      (1, 'ada', 10.50, DATE '1994-01-05', 1994),
      (2, 'bob', 20.25, DATE '1994-06-30', 1994),
      (3, 'ada', 7.00, DATE '1995-02-01', 1995);
  `);
  connection.closeSync();
  instance.closeSync();
});

afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

// The same calls, errors and options in process and in a child process.
describe.each([
  ["DuckDbSqlTool", DuckDbSqlTool],
  ["DuckDbProcessSqlTool", DuckDbProcessSqlTool],
] as const)("%s", (name, Tool) => {
  it("reports a missing file by its path before any work, without creating it", async () => {
    const missing = join(directory, "missing.duckdb");
    const tool = new Tool({ path: missing, readOnly: false });
    const error = await rejection(tool.doCheck());
    expect(error).toMatchObject({ name: "SqlToolError", code: "not-found" });
    expect(error.message).toContain(missing);
    expect(existsSync(missing)).toBe(false);
    expect((await rejection(tool.doQuery(query("SELECT 1")))).code).toBe("not-found");
    await tool.close();
  });

  it("refuses a directory as the database file", async () => {
    const tool = new Tool({ path: directory });
    expect(await rejection(tool.doCheck())).toMatchObject({
      code: "not-found",
      message: expect.stringContaining("not a file"),
    });
    await tool.close();
  });

  it("binds declared parameters coerced from strings and converts counts and decimals to numbers", async () => {
    const tool = new Tool({ path: databasePath, threads: 1 });
    await tool.doCheck();
    const result = await tool.doQuery(
      query(
        "SELECT customer, count(*) AS orders, sum(total) AS spent FROM orders WHERE year = :year AND placed >= :since GROUP BY customer ORDER BY customer",
        { year: "1994", since: "1994-01-01" },
        { year: "int", since: "date" },
      ),
    );
    expect(result.rows).toEqual([
      { customer: "ada", orders: 1, spent: 10.5 },
      { customer: "bob", orders: 1, spent: 20.25 },
    ]);
    expect(result.rowCount).toBe(2);
    expect(result.elapsedMs).toBeGreaterThanOrEqual(0);
    await tool.close();
  });

  it("honours :p::int casts, reuses a parameter bound once and turns %% into %", async () => {
    const tool = new Tool({ path: databasePath });
    const result = await tool.doQuery(
      query(
        "SELECT id FROM orders WHERE year = :year::int AND (customer LIKE :prefix || '%%' OR :year::int = 0) AND id > :year::int - 2000 ORDER BY id",
        { year: "1995", prefix: "a" },
      ),
    );
    expect(result.rows).toEqual([{ id: 3 }]);
    await tool.close();
  });

  it("prepares a statement without running it, and names what DuckDB cannot run", async () => {
    const tool = new Tool({ path: databasePath });
    try {
      await tool.doPrepare({
        sql: "SELECT :x::int + 1 AS y WHERE 'a' ILIKE '%%' || :q",
        parameterTypes: { x: "int" },
      });
      await expect(
        tool.doPrepare({
          sql: "SELECT to_tsvector('english', 'a b') @@ plainto_tsquery('english', :q)",
          parameterTypes: {},
        }),
      ).rejects.toThrow(/DuckDB .*: Catalog Error: .*@@ does not exist/);
      await expect(
        tool.doPrepare({ sql: "SELECT * FROM no_such_table", parameterTypes: {} }),
      ).rejects.toThrow(/no_such_table does not exist/);
    } finally {
      await tool.close();
    }
  });

  it("opens files read-only by default and read-write on request", async () => {
    const readOnly = new Tool({ path: databasePath });
    const error = await rejection(
      readOnly.doQuery(query("INSERT INTO orders VALUES (9, 'eve', 1, DATE '1996-01-01', 1996)")),
    );
    expect(error.code).toBe("query-failed");
    expect(error.message).toMatch(/read-only/);
    expect(error.message).toContain(databasePath);
    await readOnly.close();

    const copyPath = join(directory, `scratch-${name}.duckdb`);
    const setup = await DuckDBInstance.create(copyPath);
    setup.closeSync();
    const writable = new Tool({ path: copyPath, readOnly: false });
    await writable.doQuery(query("CREATE TABLE notes (body VARCHAR)"));
    await writable.doQuery(
      query("INSERT INTO notes VALUES (:body)", { body: "it's bound, not spliced'; DROP TABLE notes; --" }),
    );
    expect((await writable.doQuery(query("SELECT body FROM notes"))).rows).toEqual([
      { body: "it's bound, not spliced'; DROP TABLE notes; --" },
    ]);
    await writable.close();
  });

  it("refuses several statements in one call", async () => {
    const tool = new Tool({ path: ":memory:" });
    const error = await rejection(tool.doQuery(query("SELECT 1; SELECT 2")));
    expect(error.code).toBe("query-failed");
    expect(error.message).toMatch(/multiple statements/i);
    await tool.close();
  });

  it("fails on a missing or invalid parameter before running anything", async () => {
    const tool = new Tool({ path: join(directory, "never-opened.duckdb") });
    // The file does not exist, so reaching the database would fail differently.
    expect(await rejection(tool.doQuery(query("SELECT :a", {})))).toMatchObject({
      code: "missing-parameter",
      message: expect.stringContaining(":a"),
    });
    expect(await rejection(tool.doQuery(query("SELECT :a", { a: "x" }, { a: "int" })))).toMatchObject({
      code: "invalid-parameter",
      message: expect.stringContaining(":a"),
    });
    await tool.close();
  });

  it("binds undeclared values by their JSON type: integers, doubles, lists and objects", async () => {
    const tool = new Tool({ path: ":memory:" });
    const result = await tool.doQuery(
      query(
        "SELECT :small + 1 AS small, :big AS big, :ratio * 2 AS ratio, list_sum(:ints) AS total, :names AS names, " +
          "list_sum(:doubles) AS doubles, :flags AS flags, json_extract(:object, '$.a') AS a, :mixed AS mixed, :nothing AS nothing",
        {
          small: 41,
          big: 9007199254740991,
          ratio: 1.25,
          ints: [1, 2, null, 3],
          names: ["x", "y"],
          doubles: [0.5, 1],
          flags: [true, false],
          object: { a: 7 },
          mixed: [1, "a"],
          nothing: null,
        },
      ),
    );
    expect(result.rows).toEqual([
      {
        small: 42,
        big: 9007199254740991,
        ratio: 2.5,
        total: 6,
        names: ["x", "y"],
        doubles: 1.5,
        flags: [true, false],
        a: 7,
        mixed: '[1,"a"]',
        nothing: null,
      },
    ]);
    await tool.close();
  });

  it("converts DuckDB types to JSON: big integers, dates, timestamps, nested types, blobs", async () => {
    const tool = new Tool({ path: ":memory:" });
    const [row] = (
      await tool.doQuery(
        query(`SELECT
          9007199254740993::BIGINT AS big, 170141183460469231731687303715884105727::HUGEINT AS huge,
          12.345::DECIMAL(10, 3) AS dec, 0.1::REAL AS real, 'NaN'::DOUBLE AS nan, 'inf'::DOUBLE AS inf,
          DATE '1994-01-05' AS d, TIMESTAMP '1994-01-05 12:34:56.789' AS ts, TIMESTAMP '1969-12-31 23:59:59.9995' AS before_epoch,
          TIMESTAMPTZ '1994-01-05 12:00:00+02' AS tz, 'infinity'::TIMESTAMP AS forever, 'infinity'::DATE AS forever_date,
          TIMESTAMP_S '1994-01-05 00:00:01' AS ts_s, TIMESTAMP_MS '1994-01-05 00:00:00.002' AS ts_ms,
          TIMESTAMP_NS '1994-01-05 00:00:00.000003' AS ts_ns,
          [1, 2] AS list, [[1], [2, 3]] AS nested, {'x': 1, 'y': 'z'} AS struct, MAP {'k': 1} AS text_map,
          MAP {1: 'one'} AS int_map, '{"a": [1, 2]}'::JSON AS json, '\\x01\\xFF'::BLOB AS blob,
          TIME '12:00:00' AS time, INTERVAL 1 DAY AS interval, true AS flag, NULL AS nothing,
          union_value(num := 2) AS choice, 255::UTINYINT AS tiny, array_value(1, 2)::INTEGER[2] AS fixed,
          '00000000-0000-0000-0000-000000000001'::UUID AS id`),
      )
    ).rows;
    expect(row).toEqual({
      big: "9007199254740993",
      huge: "170141183460469231731687303715884105727",
      dec: 12.345,
      real: 0.1,
      nan: "NaN",
      inf: "Infinity",
      d: "1994-01-05",
      ts: "1994-01-05T12:34:56.789Z",
      before_epoch: "1969-12-31T23:59:59.999Z",
      tz: "1994-01-05T10:00:00.000Z",
      forever: "infinity",
      forever_date: "infinity",
      ts_s: "1994-01-05T00:00:01.000Z",
      ts_ms: "1994-01-05T00:00:00.002Z",
      ts_ns: "1994-01-05T00:00:00.000Z",
      list: [1, 2],
      nested: [[1], [2, 3]],
      struct: { x: 1, y: "z" },
      text_map: { k: 1 },
      int_map: [{ key: 1, value: "one" }],
      json: { a: [1, 2] },
      blob: "\\x01ff",
      time: "12:00:00",
      interval: "1 day",
      flag: true,
      nothing: null,
      choice: 2,
      tiny: 255,
      fixed: [1, 2],
      id: "00000000-0000-0000-0000-000000000001",
    });
    await tool.close();
  });

  it("reuses a prepared statement across calls, rebinding every parameter, also after a failed call", async () => {
    const tool = new Tool({ path: databasePath, maxConnections: 1 });
    const sql =
      "SELECT count(*) AS n, min(customer) AS first FROM orders WHERE year = :year AND customer >= :from";
    const run = (year: JsonValue, from: JsonValue) =>
      tool.doQuery(query(sql, { year, from }, { year: "int", from: "text" }));
    expect((await run("1994", "a")).rows).toEqual([{ n: 2, first: "ada" }]);
    expect((await run("1995", "a")).rows).toEqual([{ n: 1, first: "ada" }]);
    expect((await run("1994", "b")).rows).toEqual([{ n: 1, first: "bob" }]);
    // A statement that fails at run time (a cast error) is dropped, not reused broken.
    const failing = "SELECT CAST(:text AS INTEGER) AS value";
    expect(await rejection(tool.doQuery(query(failing, { text: "not a number" })))).toMatchObject({
      code: "query-failed",
    });
    expect((await tool.doQuery(query(failing, { text: "42" }))).rows).toEqual([{ value: 42 }]);
    expect((await run("1995", "z")).rows).toEqual([{ n: 0, first: null }]);
    await tool.close();
  });

  it("keeps every column when names repeat", async () => {
    const tool = new Tool({ path: ":memory:" });
    const result = await tool.doQuery(query("SELECT 1 AS a, 2 AS a, 3 AS a_1"));
    expect(result.rows).toEqual([{ a: 1, a_1: 2, a_1_1: 3 }]);
    await tool.close();
  });

  it("interrupts a statement past the statement timeout", async () => {
    const tool = new Tool({ path: ":memory:", statementTimeoutMs: 50, threads: 1 });
    const error = await rejection(
      tool.doQuery(query("SELECT count(*) FROM range(100000000000) t(i) WHERE i % 7 = 3")),
    );
    expect(error.code).toBe("timeout");
    expect(error.message).toContain("50 ms");
    // The connection is usable again afterwards.
    expect((await tool.doQuery(query("SELECT 1 AS one"))).rows).toEqual([{ one: 1 }]);
    await tool.close();
  });

  it("interrupts a statement when the caller aborts, and refuses an already aborted call", async () => {
    const tool = new Tool({ path: ":memory:", threads: 1 });
    const controller = new AbortController();
    const running = tool.doQuery(query("SELECT count(*) FROM range(100000000000) t(i) WHERE i % 7 = 3"), {
      signal: controller.signal,
    });
    setTimeout(() => controller.abort(), 30);
    expect((await rejection(running)).code).toBe("aborted");
    expect((await rejection(tool.doQuery(query("SELECT 1"), { signal: controller.signal }))).code).toBe(
      "aborted",
    );
    await tool.close();
  });

  it("runs more concurrent queries than connections, queueing the rest", async () => {
    const tool = new Tool({ path: databasePath, maxConnections: 2, threads: 1 });
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, index) =>
        tool.doQuery(query("SELECT count(*) AS n, :index AS i FROM orders", { index })),
      ),
    );
    expect(results.map((result) => result.rows[0])).toEqual(
      Array.from({ length: 8 }, (_, index) => ({ n: 3, i: index })),
    );
    await tool.close();
  });

  it("refuses calls after close and rejects queued callers", async () => {
    const tool = new Tool({ path: ":memory:", maxConnections: 1, threads: 1 });
    await tool.doCheck();
    const slow = tool.doQuery(query("SELECT count(*) AS n FROM range(2000000)"));
    // One macrotask lets the first call take the only connection; the second then has to queue.
    await new Promise((resolve) => setImmediate(resolve));
    const queued = tool.doQuery(query("SELECT 1"));
    const closing = tool.close();
    expect((await rejection(queued)).code).toBe("closed");
    expect((await slow).rows).toEqual([{ n: 2000000 }]);
    await closing;
    expect((await rejection(tool.doQuery(query("SELECT 1")))).code).toBe("closed");
    expect((await rejection(tool.doCheck())).code).toBe("closed");
    await tool.close();
  });

  it("validates its options", () => {
    expect(() => new Tool({ path: " " })).toThrow(/path/);
    expect(() => new Tool({ path: ":memory:", maxConnections: 0 })).toThrow(/maxConnections/);
    expect(() => new Tool({ path: ":memory:", threads: 1.5 })).toThrow(/threads/);
    expect(new Tool({ path: ":memory:" })).toMatchObject({
      specificationVersion: "v1",
      dialect: "duckdb",
    });
  });
});
