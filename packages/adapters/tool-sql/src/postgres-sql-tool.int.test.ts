import { createServer, type Server, type Socket } from "node:net";
import type { JsonValue } from "@halo/ir";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { describePostgresUrl, PostgresSqlTool } from "./postgres-sql-tool.js";
import { rejection } from "./test-rejection.js";
import { createTestSchema, withClient } from "./testing/postgres-test-server.js";

let url: string;
let dropSchema: () => Promise<void>;
const tools: PostgresSqlTool[] = [];

const query = (
  sql: string,
  parameters: Record<string, JsonValue> = {},
  parameterTypes: Record<string, string> = {},
): { sql: string; parameters: Record<string, JsonValue>; parameterTypes: Record<string, string> } => ({
  sql,
  parameters,
  parameterTypes,
});

function tool(options: Partial<ConstructorParameters<typeof PostgresSqlTool>[0]> = {}): PostgresSqlTool {
  const created = new PostgresSqlTool({ url, ...options });
  tools.push(created);
  return created;
}

beforeAll(async () => {
  const schema = await createTestSchema(inject("postgresUrl"));
  url = schema.url;
  dropSchema = schema.drop;
  await withClient(url, (client) =>
    client.query(`
      CREATE TABLE orders (id integer, customer text, total numeric(12, 2), placed date, year integer);
      INSERT INTO orders VALUES
        (1, 'ada', 10.50, DATE '1994-01-05', 1994),
        (2, 'bob', 20.25, DATE '1994-06-30', 1994),
        (3, 'ada', 7.00, DATE '1995-02-01', 1995);
    `),
  );
});

afterAll(async () => {
  await Promise.all(tools.map((created) => created.close()));
  await dropSchema();
});

describe("PostgresSqlTool", () => {
  it("connects, binds declared parameters coerced from strings, and converts counts and numerics", async () => {
    const postgres = tool();
    await postgres.doCheck();
    const result = await postgres.doQuery(
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
    expect(postgres).toMatchObject({ specificationVersion: "v1", dialect: "postgres" });
  });

  it("honours :p::int casts, binds a reused parameter once and turns %% into %", async () => {
    const result = await tool().doQuery(
      query(
        "SELECT id FROM orders WHERE year = :year::int AND (customer LIKE :prefix || '%%' OR :year::int = 0) AND id > :year::int - 2000 ORDER BY id",
        { year: "1995", prefix: "a" },
      ),
    );
    expect(result.rows).toEqual([{ id: 3 }]);
  });

  it("binds values, never splices them into the SQL", async () => {
    const hostile = "x'; DROP TABLE orders; --";
    const result = await tool().doQuery(
      query("SELECT :value AS value, count(*) AS n FROM orders", { value: hostile }),
    );
    expect(result.rows).toEqual([{ value: hostile, n: 3 }]);
  });

  it("runs every query in a read-only transaction", async () => {
    const error = await rejection(tool().doQuery(query("CREATE TABLE intruder (id integer)")));
    expect(error.code).toBe("query-failed");
    expect(error.message).toMatch(/read-only transaction/);
    expect(error.message).toContain(describePostgresUrl(url));
  });

  it("refuses several statements in one call, so nothing can escape the transaction", async () => {
    const error = await rejection(
      tool().doQuery(query("SELECT 1; COMMIT; CREATE TABLE intruder (id integer)")),
    );
    expect(error.code).toBe("query-failed");
    expect(error.message).toMatch(/multiple commands/);
    const tables = await withClient(url, (client) =>
      client.query("SELECT count(*)::int AS n FROM pg_tables WHERE tablename = 'intruder'"),
    );
    expect(tables.rows).toEqual([{ n: 0 }]);
  });

  it("stops a statement at the statement timeout", async () => {
    const postgres = tool({ statementTimeoutMs: 100 });
    const error = await rejection(postgres.doQuery(query("SELECT pg_sleep(30)")));
    expect(error.code).toBe("timeout");
    expect(error.message).toContain("100 ms");
    expect((await postgres.doQuery(query("SELECT 1 AS one"))).rows).toEqual([{ one: 1 }]);
  });

  it("answers an abort at once and cancels the statement on the server", async () => {
    const postgres = tool({ applicationName: "halo-abort-test" });
    const controller = new AbortController();
    const running = postgres.doQuery(query("SELECT pg_sleep(30)"), { signal: controller.signal });
    await waitFor(async () => (await sleepingBackends("halo-abort-test")) === 1);
    controller.abort();
    expect((await rejection(running)).code).toBe("aborted");
    await waitFor(async () => (await sleepingBackends("halo-abort-test")) === 0);
    expect((await rejection(postgres.doQuery(query("SELECT 1"), { signal: controller.signal }))).code).toBe(
      "aborted",
    );
  });

  it("fails on a missing or invalid parameter before contacting the server", async () => {
    const unreachable = tool({ url: "postgres://nobody@127.0.0.1:1/none" });
    expect(await rejection(unreachable.doQuery(query("SELECT :a")))).toMatchObject({
      code: "missing-parameter",
    });
    expect(await rejection(unreachable.doQuery(query("SELECT :a", { a: "x" }, { a: "date" })))).toMatchObject(
      {
        code: "invalid-parameter",
        message: expect.stringContaining(":a"),
      },
    );
  });

  it("binds undeclared values by their JSON type: numbers, arrays and objects", async () => {
    const result = await tool().doQuery(
      query(
        "SELECT :small::int + 1 AS small, :ratio::float8 * 2 AS ratio, 2 = ANY(:ints::int[]) AS has_two, " +
          "(:object::json)->>'a' AS a, :nothing::text AS nothing, :flag::boolean AS flag",
        { small: 41, ratio: 1.25, ints: [1, 2, 3], object: { a: "seven" }, nothing: null, flag: true },
      ),
    );
    expect(result.rows).toEqual([
      { small: 42, ratio: 2.5, has_two: true, a: "seven", nothing: null, flag: true },
    ]);
  });

  it("converts PostgreSQL types to JSON: big integers, numerics, dates, timestamps, arrays, json", async () => {
    const [row] = (
      await tool().doQuery(
        query(`SELECT
          9007199254740993::int8 AS big, 12.345::numeric(10, 3) AS dec, 0.1::real AS real,
          'NaN'::float8 AS nan, 'Infinity'::float8 AS inf, DATE '1994-01-05' AS d,
          TIMESTAMP '1994-01-05 12:34:56.789' AS ts, TIMESTAMPTZ '1994-01-05 12:00:00+02' AS tz,
          TIMESTAMP '0050-03-01 00:00:00' AS ancient, 'infinity'::timestamp AS forever, 'infinity'::date AS forever_date,
          TIMESTAMP '1994-01-05 00:00:00.57' AS fraction, TIMESTAMPTZ '1994-01-05 12:00:00+05:30' AS india,
          ARRAY[1, 2] AS list, ARRAY[[1], [2]] AS nested, ARRAY[9007199254740993::int8] AS bigs,
          ARRAY[1.5::numeric, NULL] AS decimals, ARRAY['a', 'b,c'] AS texts, ARRAY[DATE '1994-01-05'] AS dates,
          ARRAY[TIMESTAMP '1994-01-05 01:02:03'] AS stamps, ARRAY[true, false] AS flags,
          '{"a": [1, 2]}'::json AS json, '{"b": 1}'::jsonb AS jsonb, '\\x01ff'::bytea AS blob,
          TIME '12:00:00' AS time, INTERVAL '1 day' AS interval, true AS flag, NULL AS nothing,
          '00000000-0000-0000-0000-000000000001'::uuid AS id, 2::int2 AS small, 'x'::varchar AS v`),
      )
    ).rows;
    expect(row).toEqual({
      big: "9007199254740993",
      dec: 12.345,
      real: 0.1,
      nan: "NaN",
      inf: "Infinity",
      d: "1994-01-05",
      ts: "1994-01-05T12:34:56.789Z",
      tz: "1994-01-05T10:00:00.000Z",
      ancient: "0050-03-01T00:00:00.000Z",
      forever: "infinity",
      forever_date: "infinity",
      fraction: "1994-01-05T00:00:00.570Z",
      india: "1994-01-05T06:30:00.000Z",
      list: [1, 2],
      nested: [[1], [2]],
      bigs: ["9007199254740993"],
      decimals: [1.5, null],
      texts: ["a", "b,c"],
      dates: ["1994-01-05"],
      stamps: ["1994-01-05T01:02:03.000Z"],
      flags: [true, false],
      json: { a: [1, 2] },
      jsonb: { b: 1 },
      blob: "\\x01ff",
      time: "12:00:00",
      interval: "1 day",
      flag: true,
      nothing: null,
      id: "00000000-0000-0000-0000-000000000001",
      small: 2,
      v: "x",
    });
  });

  it("keeps every column when names repeat", async () => {
    const result = await tool().doQuery(query("SELECT 1 AS a, 2 AS a, 3 AS a_1"));
    expect(result.rows).toEqual([{ a: 1, a_1: 2, a_1_1: 3 }]);
  });

  it("runs more concurrent queries than pooled connections", async () => {
    const postgres = tool({ poolSize: 2 });
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, index) =>
        postgres.doQuery(query("SELECT count(*) AS n, :index::int AS i FROM orders", { index })),
      ),
    );
    expect(results.map((result) => result.rows[0])).toEqual(
      Array.from({ length: 8 }, (_, index) => ({ n: 3, i: index })),
    );
  });

  it("refuses calls after close", async () => {
    const postgres = new PostgresSqlTool({ url });
    await postgres.doCheck();
    await postgres.close();
    await postgres.close();
    expect((await rejection(postgres.doQuery(query("SELECT 1")))).code).toBe("closed");
    expect((await rejection(postgres.doCheck())).code).toBe("closed");
  });
});

describe("PostgresSqlTool without a server", () => {
  let silent: Server;
  let silentPort: number;
  const sockets = new Set<Socket>();

  beforeAll(async () => {
    // Accepts TCP connections and never answers: the server that hangs instead of refusing.
    silent = createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    silentPort = (silent.address() as { port: number }).port;
  });

  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => silent.close(resolve));
  });

  it("names host:port and redacts the password when the port refuses connections", async () => {
    const refused = new PostgresSqlTool({ url: "postgres://halo:s3cret@127.0.0.1:1/orders" });
    const error = await rejection(refused.doCheck());
    expect(error.code).toBe("unreachable");
    expect(error.message).toContain("halo@127.0.0.1:1/orders");
    expect(error.message).not.toContain("s3cret");
    await refused.close();
  });

  it("gives up after the connection timeout when the server never answers, instead of hanging", async () => {
    const hanging = new PostgresSqlTool({
      url: `postgres://halo:s3cret@127.0.0.1:${silentPort}/orders`,
      connectionTimeoutMs: 300,
    });
    const error = await rejection(hanging.doCheck());
    expect(error.code).toBe("unreachable");
    expect(error.message).toContain(`127.0.0.1:${silentPort}`);
    expect(error.message).toContain("300 ms");
    expect(error.message).not.toContain("s3cret");
    await hanging.close();
  });

  it("validates its options and describes URLs without their password", () => {
    expect(() => new PostgresSqlTool({ url: "not a url" })).toThrow(/not a valid postgres:\/\/ URL/);
    expect(() => new PostgresSqlTool({ url: "postgres://a:secret@h/db", poolSize: 0 })).toThrow(/poolSize/);
    expect(describePostgresUrl("postgresql://u:p%40ss@db.example:6543/app")).toBe("u@db.example:6543/app");
    expect(describePostgresUrl("postgres:///app?host=/var/run/postgresql")).toBe(
      "(default user)@/var/run/postgresql:5432/app",
    );
    expect(describePostgresUrl("postgres://u@h")).toBe("u@h:5432/u");
  });
});

async function sleepingBackends(applicationName: string): Promise<number> {
  const result = await withClient(inject("postgresUrl"), (client) =>
    client.query(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND query LIKE '%pg_sleep%' AND state = 'active'",
      [applicationName],
    ),
  );
  return (result.rows[0] as { n: number }).n;
}

/** Polls `condition` (a real server state, not a duration) until it holds, for at most 10 s. */
async function waitFor(condition: () => Promise<boolean>): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt += 1) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error("condition not reached within 10 s");
}
