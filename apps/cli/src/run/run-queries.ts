/**
 * Queries of `halo run`: `.jsonl` and `.csv` through `@halo/ir`, `.parquet`
 * read with DuckDB (each row as a JSON record) and checked the same way.
 */
import { access } from "node:fs/promises";
import { extname } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { type CompiledWorkflow, parseQueries, type QueryContext } from "@halo/ir";
import { InvalidInputError } from "../cli-error.js";
import { loadQueriesOrFail } from "../workflow-input.js";

/** Loads and checks the queries; every problem is invalid input naming the file. */
export async function loadRunQueries(
  path: string,
  workflow: CompiledWorkflow,
): Promise<readonly QueryContext[]> {
  if (extname(path).toLowerCase() !== ".parquet") return loadQueriesOrFail(path, workflow);
  try {
    await access(path);
  } catch {
    throw new InvalidInputError(`--queries: no such file: ${path}`);
  }
  let lines: string[];
  const instance = await DuckDBInstance.create(":memory:");
  try {
    const connection = await instance.connect();
    try {
      const literal = `'${path.replaceAll("'", "''")}'`;
      const reader = await connection.runAndReadAll(
        `SELECT CAST(to_json(t) AS VARCHAR) FROM read_parquet(${literal}) AS t`,
      );
      lines = reader.getRows().map((row) => String(row[0]));
    } finally {
      connection.closeSync();
    }
  } catch (error) {
    throw new InvalidInputError(`--queries: cannot read Parquet file ${path}: ${(error as Error).message}`);
  } finally {
    instance.closeSync();
  }
  const result = parseQueries(lines.join("\n"), { workflow, format: "jsonl", file: path });
  if (!result.ok) {
    throw new InvalidInputError(
      `query file ${path} has ${result.problems.length} problem(s):\n${result.problems.map((problem) => `  ${problem.message}`).join("\n")}`,
    );
  }
  return result.queries;
}
