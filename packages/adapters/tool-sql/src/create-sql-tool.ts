/**
 * Picks the SQL tool for a target string, as the CLI and deployment config give it:
 * a `postgres://` / `postgresql://` URL → PostgreSQL, anything else → a DuckDB file (or `:memory:`).
 */
import type { SqlToolV1 } from "@halo/ir";
import { DuckDbProcessSqlTool, type DuckDbProcessSqlToolOptions } from "./duckdb-process-sql-tool.js";
import { DuckDbSqlTool } from "./duckdb-sql-tool.js";
import { PostgresSqlTool, type PostgresSqlToolOptions } from "./postgres-sql-tool.js";

/** Options for whichever backend the target selects; each backend reads only its own. */
export type CreateSqlToolOptions = Omit<DuckDbProcessSqlToolOptions, "path"> &
  Omit<PostgresSqlToolOptions, "url"> & {
    /**
     * DuckDB: run the database in this process (`DuckDbSqlTool`) instead of a child process
     * (`DuckDbProcessSqlTool`, the default: the database's work stays off the caller's event loop).
     */
    readonly inProcess?: boolean;
  };

const POSTGRES_URL = /^postgres(ql)?:\/\//i;

/** The SQL tool for `target`: a PostgreSQL URL or a DuckDB database path / `:memory:`. */
export function createSqlTool(target: string, options: CreateSqlToolOptions = {}): SqlToolV1 {
  if (POSTGRES_URL.test(target)) {
    const {
      readOnly: _readOnly,
      threads: _threads,
      maxConnections: _maxConnections,
      inProcess: _inProcess,
      startTimeoutMs: _start,
      watchdogGraceMs: _grace,
      ...postgres
    } = options;
    return new PostgresSqlTool({ ...postgres, url: target });
  }
  const {
    poolSize: _poolSize,
    connectionTimeoutMs: _connect,
    idleTimeoutMs: _idle,
    applicationName: _name,
    inProcess,
    startTimeoutMs,
    watchdogGraceMs,
    ...duckdb
  } = options;
  if (inProcess) return new DuckDbSqlTool({ ...duckdb, path: target });
  return new DuckDbProcessSqlTool({
    ...duckdb,
    path: target,
    ...(startTimeoutMs === undefined ? {} : { startTimeoutMs }),
    ...(watchdogGraceMs === undefined ? {} : { watchdogGraceMs }),
  });
}
