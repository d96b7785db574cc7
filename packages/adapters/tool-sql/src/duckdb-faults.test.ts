import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { DuckDbSqlTool } from "./duckdb-sql-tool.js";
import { rejection } from "./test-rejection.js";

// Real faults on real DuckDB files: a database file overwritten in place while the tool has it
// open (DuckDB then fails its reads with I/O errors), and statements interrupted mid-run.

let directory: string;
/** The file the tools open; each test writes it afresh from `large`. */
let path: string;
/** 300 000 rows: scans read blocks from the file, not from DuckDB's cache. */
let large: Buffer;
/** The same table with 5 rows: what the file holds after it is overwritten. */
let small: Buffer;

const query = (sql: string) => ({ sql, parameters: {}, parameterTypes: {} });
const SCAN = "SELECT count(*) AS n, sum(x) AS total, max(length(s)) AS width FROM t";

async function databaseFile(file: string, rows: number): Promise<Buffer> {
  const instance = await DuckDBInstance.create(file);
  const connection = await instance.connect();
  await connection.run(`CREATE TABLE t AS SELECT range AS x, md5(range::VARCHAR) AS s FROM range(${rows})`);
  connection.closeSync();
  instance.closeSync();
  return readFile(file);
}

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "halo-duckdb-faults-"));
  large = await databaseFile(join(directory, "large.duckdb"), 300_000);
  small = await databaseFile(join(directory, "small.duckdb"), 5);
  path = join(directory, "data.duckdb");
});

beforeEach(async () => {
  await writeFile(path, large);
});

afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

describe("DuckDbSqlTool when its database goes bad under it", () => {
  it("retries a statement whose file was overwritten in place on the reopened file", async () => {
    const tool = new DuckDbSqlTool({ path, maxConnections: 2, threads: 1 });
    expect((await tool.doQuery(query("SELECT count(*) AS n FROM t"))).rows).toEqual([{ n: 300_000 }]);
    // Same inode, new bytes: the open database reads blocks that are no longer there.
    await writeFile(path, small);
    // Two statements on the two connections, two waiting for one: all end on the reopened file.
    const results = await Promise.all([1, 2, 3, 4].map(() => tool.doQuery(query(SCAN))));
    expect(results.map((result) => result.rows)).toEqual(
      [1, 2, 3, 4].map(() => [{ n: 5, total: 10, width: 32 }]),
    );
    await tool.close();
  });

  it("without retries, fails only that statement, naming the I/O error, and reopens for the next", async () => {
    const tool = new DuckDbSqlTool({ path, threads: 1, retry: { maxAttempts: 1 } });
    await tool.doCheck();
    await writeFile(path, small);
    const error = await rejection(tool.doQuery(query(SCAN)));
    expect(error.code).toBe("connection-lost");
    expect(error.message).toContain(`DuckDB ${path}: the database became unusable during the statement`);
    expect(error.message).toMatch(/IO Error/);
    expect((await tool.doQuery(query(SCAN))).rows).toEqual([{ n: 5, total: 10, width: 32 }]);
    await tool.close();
  });

  it("gives up after the attempts when the file stays unreadable, and fails later calls clearly", async () => {
    const tool = new DuckDbSqlTool({ path, threads: 1, retry: { initialBackoffMs: 1, maxBackoffMs: 2 } });
    await tool.doCheck();
    // Truncated and never written again: neither the open database nor a reopened one can read it.
    await writeFile(path, "");
    const error = await rejection(tool.doQuery(query(SCAN)));
    expect(error.message).toContain(`DuckDB ${path}`);
    expect(["connection-lost", "unreachable"]).toContain(error.code);
    expect(error.message).toMatch(/IO Error|cannot open the database/);
    expect((await rejection(tool.doQuery(query(SCAN)))).code).toBe("unreachable");
    await writeFile(path, small);
    expect((await tool.doQuery(query(SCAN))).rows).toEqual([{ n: 5, total: 10, width: 32 }]);
    await tool.close();
  });

  it("replaces the connection of an interrupted statement, its prepared statements with it", async () => {
    const tool = new DuckDbSqlTool({
      path: ":memory:",
      maxConnections: 1,
      threads: 1,
      statementTimeoutMs: 50,
    });
    // Temporary tables belong to one connection: the marker shows which connection answers.
    await tool.doQuery(query("CREATE TEMPORARY TABLE marker AS SELECT 1 AS one"));
    expect((await tool.doQuery(query("SELECT one FROM marker"))).rows).toEqual([{ one: 1 }]);
    const timedOut = await rejection(
      tool.doQuery(query("SELECT count(*) FROM range(100000000000) t(i) WHERE i % 7 = 3")),
    );
    expect(timedOut.code).toBe("timeout");
    const gone = await rejection(tool.doQuery(query("SELECT one FROM marker")));
    expect(gone.code).toBe("query-failed");
    expect(gone.message).toMatch(/marker/);
    expect((await tool.doQuery(query("SELECT 2 AS two"))).rows).toEqual([{ two: 2 }]);
    await tool.close();
  });
});
