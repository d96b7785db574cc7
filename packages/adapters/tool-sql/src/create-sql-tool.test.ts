import { describe, expect, it } from "vitest";
import { createSqlTool, DuckDbSqlTool, PostgresSqlTool, SqlToolError } from "./index.js";

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

  it("picks DuckDB for file paths and :memory:, passing its options", async () => {
    const memory = createSqlTool(":memory:", { maxConnections: 1, poolSize: 3 });
    expect(memory).toBeInstanceOf(DuckDbSqlTool);
    expect(
      (await memory.doQuery({ sql: "SELECT 40 + :n AS x", parameters: { n: 2 }, parameterTypes: {} })).rows,
    ).toEqual([{ x: 42 }]);
    await memory.close();
    const file = createSqlTool("data/tpch.duckdb");
    expect(file).toMatchObject({ dialect: "duckdb", description: "DuckDB data/tpch.duckdb" });
    await expect(file.doCheck()).rejects.toBeInstanceOf(SqlToolError);
    await file.close();
  });
});
