import { describe, expect, it } from "vitest";
import {
  createSqlTool,
  DuckDbProcessSqlTool,
  DuckDbSqlTool,
  PostgresSqlTool,
  SqlToolError,
} from "./index.js";

describe("createSqlTool", () => {
  it("picks PostgreSQL for postgres:// and postgresql:// URLs", async () => {
    for (const url of [
      "postgres://u:p@localhost:5432/db",
      "postgresql://u@localhost/db",
      "POSTGRES://u@h/db",
    ]) {
      const tool = createSqlTool(url, { poolSize: 2, readOnly: true, threads: 1 });
      expect(tool).toBeInstanceOf(PostgresSqlTool);
      expect(tool.dialect).toBe("postgres");
      await tool.close();
    }
  });

  it("picks DuckDB for file paths and :memory:, in a child process unless asked in process, passing its options", async () => {
    for (const [inProcess, kind] of [
      [false, DuckDbProcessSqlTool],
      [true, DuckDbSqlTool],
    ] as const) {
      const memory = createSqlTool(":memory:", { maxConnections: 1, poolSize: 3, inProcess });
      expect(memory).toBeInstanceOf(kind);
      expect(
        (await memory.doQuery({ sql: "SELECT 40 + :n AS x", parameters: { n: 2 }, parameterTypes: {} })).rows,
      ).toEqual([{ x: 42 }]);
      await memory.close();
    }
    expect(createSqlTool(":memory:")).toBeInstanceOf(DuckDbProcessSqlTool);
    const file = createSqlTool("data/tpch.duckdb");
    expect(file).toMatchObject({ dialect: "duckdb", description: "DuckDB data/tpch.duckdb" });
    await expect(file.doCheck()).rejects.toBeInstanceOf(SqlToolError);
    await file.close();
  });
});
